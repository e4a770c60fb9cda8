//! `/api/v1/sensors`: the remote sensors the central store accepts messages from (as
//! `pumpguard sensors list`), with their last contact, lag and what they sent, and a
//! status read from those ([`status`], which the console's Sensors page shares).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use pumpguard_model::time::Timestamp;
use pumpguard_store::SensorRecord;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::assets::{Params, paging};
use super::{ApiError, ErrorBody, Page};
use crate::AppState;
use crate::auth::{Allowed, need};

pub(crate) fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new().routes(routes!(list_sensors))
}

/// A sensor whose last message came longer ago than this (seconds) is silent.
pub const SILENT_AFTER_SECONDS: i64 = 5 * 60;

/// A sensor whose last message took longer than this (milliseconds) from being sent to
/// being ingested is lagging.
pub const LAGGING_AFTER_MS: i64 = 60_000;

/// How a sensor is doing, from its last contact and lag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SensorStatus {
    /// Nothing ingested from it yet.
    Never,
    /// Its last message was ingested more than 5 minutes ago.
    Silent,
    /// Its last message took more than 60 s from being sent to being ingested.
    Lagging,
    /// Heard from within 5 minutes, with a lag of 60 s or less.
    Ok,
}

impl SensorStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SensorStatus::Never => "never",
            SensorStatus::Silent => "silent",
            SensorStatus::Lagging => "lagging",
            SensorStatus::Ok => "ok",
        }
    }
}

/// Whole seconds from a sensor's last contact to `now` (0 when the contact's clock is
/// ahead); `None` before its first message.
pub fn seconds_since_contact(s: &SensorRecord, now: Timestamp) -> Option<i64> {
    s.last_contact
        .map(|t| (now.as_second() - t.as_second()).max(0))
}

/// A sensor's status at `now`: never (no contact yet), silent (last contact more than
/// [`SILENT_AFTER_SECONDS`] ago), lagging (lag over [`LAGGING_AFTER_MS`]), else ok.
pub fn status(s: &SensorRecord, now: Timestamp) -> SensorStatus {
    match seconds_since_contact(s, now) {
        None => SensorStatus::Never,
        Some(age) if age > SILENT_AFTER_SECONDS => SensorStatus::Silent,
        _ if s.lag_ms.is_some_and(|lag| lag > LAGGING_AFTER_MS) => SensorStatus::Lagging,
        _ => SensorStatus::Ok,
    }
}

/// A remote sensor (what `pumpguard sensors list --format json` says of it, with its
/// status).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Sensor)]
pub(crate) struct SensorDoc {
    /// 1–64 of a-z, 0-9, `-` and `_`.
    pub name: String,
    #[schema(value_type = String, format = DateTime)]
    pub created: Timestamp,
    /// When its newest message was ingested.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_contact: Option<Timestamp>,
    /// When the sensor sent that message (by its clock).
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_sent: Option<Timestamp>,
    /// Ingest time minus send time of that message, in milliseconds.
    pub lag_ms: Option<i64>,
    /// Messages ingested (duplicates not counted).
    pub messages: i64,
    /// Pieces of evidence, flows, detections and drug-library reports in them.
    pub observations: i64,
    /// The sensor process's run id, from its newest message.
    pub last_run: Option<String>,
    /// never (no contact yet), silent (last contact more than 5 minutes ago), lagging
    /// (lag over 60 s) or ok.
    pub status: SensorStatus,
    /// Whole seconds since its last contact; null before its first message.
    pub seconds_since_contact: Option<i64>,
}

impl SensorDoc {
    pub(crate) fn of(s: SensorRecord, now: Timestamp) -> SensorDoc {
        SensorDoc {
            status: status(&s, now),
            seconds_since_contact: seconds_since_contact(&s, now),
            name: s.name,
            created: s.created,
            last_contact: s.last_contact,
            last_sent: s.last_sent,
            lag_ms: s.lag_ms,
            messages: s.messages,
            observations: s.observations,
            last_run: s.last_run,
        }
    }
}

/// Query of `GET /api/v1/sensors`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct SensorQuery {
    /// At most this many (1–1000, default 100).
    pub limit: Option<String>,
    /// Skip this many first.
    pub offset: Option<String>,
}

/// The remote sensors, by name, with their status.
#[utoipa::path(
    get,
    path = "/api/v1/sensors",
    tag = "sensors",
    params(SensorQuery),
    security(("bearer" = ["read"]), ("session" = ["read"])),
    responses(
        (status = 200, description = "A page of sensors", body = Page<SensorDoc>),
        (status = 400, description = "A bad query value", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
    )
)]
async fn list_sensors(
    State(state): State<Arc<AppState>>,
    _who: Allowed<need::Read>,
    Params(q): Params<SensorQuery>,
) -> Result<Json<Page<SensorDoc>>, ApiError> {
    let paging = paging(&q.limit, &q.offset)?;
    let now = pumpguard_model::time::now();
    let sensors: Vec<SensorDoc> = state
        .store
        .sensors()
        .await?
        .into_iter()
        .map(|s| SensorDoc::of(s, now))
        .collect();
    Ok(Json(paging.page(sensors)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sensor(contact_ago: Option<i64>, lag_ms: Option<i64>, now: Timestamp) -> SensorRecord {
        SensorRecord {
            name: "s1".into(),
            created: now,
            nats_password_hash: String::new(),
            last_contact: contact_ago.map(|s| now - jiff::SignedDuration::from_secs(s)),
            last_sent: None,
            lag_ms,
            messages: 0,
            observations: 0,
            last_run: None,
        }
    }

    #[test]
    fn status_rule() {
        let now = pumpguard_model::time::now();
        let cases = [
            (None, None, SensorStatus::Never),
            (None, Some(90_000), SensorStatus::Never),
            (Some(0), Some(5), SensorStatus::Ok),
            (Some(300), Some(60_000), SensorStatus::Ok),
            (Some(301), Some(5), SensorStatus::Silent),
            (Some(3600), Some(90_000), SensorStatus::Silent),
            (Some(10), Some(60_001), SensorStatus::Lagging),
            (Some(-30), None, SensorStatus::Ok),
        ];
        for (ago, lag, want) in cases {
            assert_eq!(status(&sensor(ago, lag, now), now), want, "{ago:?} {lag:?}");
        }
        assert_eq!(
            seconds_since_contact(&sensor(Some(-30), None, now), now),
            Some(0)
        );
        assert_eq!(
            seconds_since_contact(&sensor(Some(42), None, now), now),
            Some(42)
        );
        assert_eq!(seconds_since_contact(&sensor(None, None, now), now), None);
    }
}
