//! Baselines: what the sensor learned devices and device models normally do, stored
//! whole (the model's `Baseline` as JSON) as numbered versions that only ever grow.
//! Saving one is audited as `baseline.learn`; the newest is the one detectors use, older
//! ones stay to explain what changed. Row decoding and the audit detail live here; the
//! SQL lives in `ops.rs`.

use pumpguard_model::{Baseline, BaselineInfo, time};
use serde_json::{Value, json};

use crate::assets::dispatch;
use crate::backend::{postgres, sqlite};
use crate::{Backend, Result, Store, StoreError};

/// Column list of `baselines` without the body, in [`InfoRow`] order.
pub(crate) const INFO_COLUMNS: &str =
    "version, created, learned_from, learned_until, devices, models, origin";

pub(crate) type InfoRow = (
    i64,
    i64,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    String,
);

/// Refuses a baseline that cannot be stored as it says, before the transaction starts.
pub(crate) fn check(b: &Baseline) -> Result<()> {
    if b.learned_until < b.learned_from {
        return Err(StoreError::Invalid(format!(
            "baseline learned until {} before it was learned from {}",
            time::rfc3339(b.learned_until),
            time::rfc3339(b.learned_from)
        )));
    }
    Ok(())
}

/// The counts stored beside the body.
pub(crate) fn counts(b: &Baseline) -> Result<(i64, i64)> {
    let n = |len: usize| {
        i64::try_from(len).map_err(|_| StoreError::Invalid("baseline too large".into()))
    };
    Ok((n(b.devices.len())?, n(b.models.len())?))
}

/// The detail of `baseline.learn`: what was learned, over which window, from what.
pub(crate) fn learn_detail(b: &Baseline, origin: &str) -> Value {
    json!({
        "devices": b.devices.len(),
        "models": b.models.len(),
        "learned_from": time::rfc3339(b.learned_from),
        "learned_until": time::rfc3339(b.learned_until),
        "origin": origin,
    })
}

fn corrupt(version: i64, why: String) -> StoreError {
    StoreError::Corrupt {
        table: "baselines",
        why: format!("baseline {version}: {why}"),
    }
}

pub(crate) fn info_from_row(r: InfoRow) -> Result<BaselineInfo> {
    let version = r.0;
    let t = |what: &str, us: Option<i64>| {
        let us = us.ok_or_else(|| corrupt(version, format!("{what} is missing")))?;
        time::from_micros(us)
            .ok_or_else(|| corrupt(version, format!("{what}: time {us} out of range")))
    };
    let n = |what: &str, v: Option<i64>| {
        let v = v.ok_or_else(|| corrupt(version, format!("{what} is missing")))?;
        u64::try_from(v).map_err(|_| corrupt(version, format!("{what}: negative count {v}")))
    };
    Ok(BaselineInfo {
        version,
        created: t("created", Some(r.1))?,
        learned_from: t("learned_from", r.2)?,
        learned_until: t("learned_until", r.3)?,
        devices: n("devices", r.4)?,
        models: n("models", r.5)?,
        origin: r.6,
    })
}

pub(crate) fn body_from_text(version: i64, body: &str) -> Result<Baseline> {
    serde_json::from_str(body).map_err(|e| corrupt(version, format!("body: {e}")))
}

impl Store {
    /// Stores `baseline` as a new version (one more than any before it) and audits it as
    /// `baseline.learn` on `baseline:<version>` with its counts, window and `origin`,
    /// in one transaction. A window that ends before it starts is `Invalid`.
    pub async fn save_baseline(
        &self,
        actor: &str,
        origin: &str,
        baseline: &Baseline,
    ) -> Result<i64> {
        dispatch!(self, save_baseline(actor, origin, baseline))
    }

    /// The newest stored baseline, if any.
    pub async fn latest_baseline(&self) -> Result<Option<(BaselineInfo, Baseline)>> {
        dispatch!(self, load_baseline(None))
    }

    /// One stored baseline version, if it exists.
    pub async fn get_baseline(&self, version: i64) -> Result<Option<(BaselineInfo, Baseline)>> {
        dispatch!(self, load_baseline(Some(version)))
    }

    /// Every stored version without its body, newest first.
    pub async fn list_baselines(&self) -> Result<Vec<BaselineInfo>> {
        dispatch!(self, list_baselines())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn baseline(from: &str, until: &str) -> Baseline {
        Baseline {
            learned_from: from.parse().expect("time"),
            learned_until: until.parse().expect("time"),
            devices: vec![],
            models: vec![],
        }
    }

    #[test]
    fn a_window_must_not_end_before_it_starts() {
        assert!(check(&baseline("2026-11-01T08:00:00Z", "2026-11-01T09:00:00Z")).is_ok());
        assert!(check(&baseline("2026-11-01T08:00:00Z", "2026-11-01T08:00:00Z")).is_ok());
        let err =
            check(&baseline("2026-11-01T09:00:00Z", "2026-11-01T08:00:00Z")).expect_err("reversed");
        assert!(err.is_bad_input(), "{err}");
    }

    #[test]
    fn rows_with_holes_are_corrupt_and_say_which_version() {
        let row: InfoRow = (3, 0, None, Some(0), Some(1), Some(0), "sense:a".into());
        let err = info_from_row(row).expect_err("missing learned_from");
        assert_eq!(
            err.to_string(),
            "corrupt row in baselines: baseline 3: learned_from is missing"
        );
        let row: InfoRow = (4, 0, Some(0), Some(0), Some(-1), Some(0), "sense:a".into());
        assert!(info_from_row(row).is_err());
        let err = body_from_text(5, "{").expect_err("not JSON");
        assert!(
            err.to_string()
                .starts_with("corrupt row in baselines: baseline 5: body: "),
            "{err}"
        );
    }
}
