//! Sensors: the remote sensors the central store accepts messages from, each with its
//! status (the API's rule, [`crate::api::sensors::status`]), last contact, lag and what
//! it sent; without any, how to add one.

use std::sync::Arc;

use askama::Template;
use axum::extract::State;
use pumpguard_model::time;
use pumpguard_store::SensorRecord;

use super::{Console, Layout, PageResult, render, when};
use crate::AppState;
use crate::api::sensors::{SensorStatus, seconds_since_contact, status};

/// One sensor as its row shows it.
struct Row {
    name: String,
    status: &'static str,
    status_class: &'static str,
    /// `12 s ago`, `4 min ago`…; empty before the first message.
    ago: String,
    /// The absolute time of the last contact; empty before the first message.
    contact: String,
    lag: String,
    messages: i64,
    observations: i64,
    last_run: String,
}

#[derive(Template)]
#[template(path = "sensors.html")]
struct SensorsPage {
    l: Layout,
    rows: Vec<Row>,
    summary: String,
}

/// How long ago, in the largest whole unit: `12 s ago`, `4 min ago`, `3 h ago`, `2 d ago`.
pub(crate) fn ago(seconds: i64) -> String {
    let s = seconds.max(0);
    match s {
        0..60 => format!("{s} s ago"),
        60..3600 => format!("{} min ago", s / 60),
        3600..86_400 => format!("{} h ago", s / 3600),
        _ => format!("{} d ago", s / 86_400),
    }
}

/// A lag in milliseconds under a second, else in seconds (one decimal under a minute).
pub(crate) fn lag(ms: i64) -> String {
    match ms.unsigned_abs() {
        0..1000 => format!("{ms} ms"),
        1000..60_000 => format!("{:.1} s", ms as f64 / 1000.0),
        _ => format!("{} s", ms / 1000),
    }
}

/// The badge class of a status (the console's shared badge colours).
fn status_class(s: SensorStatus) -> &'static str {
    match s {
        SensorStatus::Ok => "yes",
        SensorStatus::Lagging => "partial",
        SensorStatus::Silent => "no",
        SensorStatus::Never => "unknown",
    }
}

fn row(s: &SensorRecord, now: time::Timestamp) -> Row {
    let st = status(s, now);
    Row {
        name: s.name.clone(),
        status: st.as_str(),
        status_class: status_class(st),
        ago: seconds_since_contact(s, now).map(ago).unwrap_or_default(),
        contact: s.last_contact.map(when).unwrap_or_default(),
        lag: s.lag_ms.map(lag).unwrap_or_else(|| "—".into()),
        messages: s.messages,
        observations: s.observations,
        last_run: s.last_run.clone().unwrap_or_else(|| "—".into()),
    }
}

/// GET `/sensors`.
pub(super) async fn page(State(state): State<Arc<AppState>>, who: Console) -> PageResult {
    let sensors = state.store.sensors().await?;
    let now = time::now();
    let rows: Vec<Row> = sensors.iter().map(|s| row(s, now)).collect();
    let count = |want: SensorStatus| sensors.iter().filter(|s| status(s, now) == want).count();
    let summary = format!(
        "{} sensors: {} ok, {} lagging, {} silent, {} never heard from.",
        rows.len(),
        count(SensorStatus::Ok),
        count(SensorStatus::Lagging),
        count(SensorStatus::Silent),
        count(SensorStatus::Never),
    );
    let page = SensorsPage {
        l: Layout::new(&who, "sensors", "Sensors"),
        rows,
        summary,
    };
    Ok(render(&page))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_times_and_lags() {
        assert_eq!(ago(-3), "0 s ago");
        assert_eq!(ago(59), "59 s ago");
        assert_eq!(ago(60), "1 min ago");
        assert_eq!(ago(3599), "59 min ago");
        assert_eq!(ago(7200), "2 h ago");
        assert_eq!(ago(2 * 86_400 + 5), "2 d ago");
        assert_eq!(lag(0), "0 ms");
        assert_eq!(lag(999), "999 ms");
        assert_eq!(lag(1500), "1.5 s");
        assert_eq!(lag(-250), "-250 ms");
        assert_eq!(lag(125_000), "125 s");
    }
}
