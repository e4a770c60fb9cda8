//! Rows as the database returns them, and their conversion to and from the domain.
//! Only types both backends decode natively (TEXT, BIGINT) cross this boundary.

use pumpguard_audit::Entry;
use pumpguard_model::{Asset, time};

use crate::{Result, StoreError};

/// Column list of `assets`, in [`AssetRow`] order.
pub(crate) const ASSET_COLUMNS: &str = "asset_id, kind, vendor, model, firmware, serial, mac, \
     ips, hostname, location, zone, criticality, lifecycle, first_seen, last_seen, source";
pub(crate) const ASSET_COLUMN_COUNT: usize = 16;

pub(crate) type AssetRow = (
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
    String,
    Option<i64>,
    Option<i64>,
    String,
);

fn corrupt(why: String) -> StoreError {
    StoreError::Corrupt {
        table: "assets",
        why,
    }
}

pub(crate) fn asset_from_row(r: AssetRow) -> Result<Asset> {
    let id = r.0.clone();
    let bad = |field: &str, e: String| corrupt(format!("asset '{id}' {field}: {e}"));
    let micros = |field: &str, v: Option<i64>| {
        v.map(|us| {
            time::from_micros(us).ok_or_else(|| bad(field, format!("time {us} out of range")))
        })
        .transpose()
    };
    Ok(Asset {
        asset_id: r.0.parse().map_err(|e| bad("asset_id", e))?,
        kind: r
            .1
            .parse()
            .map_err(|e: pumpguard_model::ParseEnumError| bad("kind", e.to_string()))?,
        vendor: r.2,
        model: r.3,
        firmware: r.4,
        serial: r.5,
        mac: r
            .6
            .map(|m| m.parse())
            .transpose()
            .map_err(|e: pumpguard_model::MacParseError| bad("mac", e.to_string()))?,
        ips: serde_json::from_str(&r.7).map_err(|e| bad("ips", e.to_string()))?,
        hostname: r.8,
        location: r.9,
        zone: r.10,
        criticality: r
            .11
            .parse()
            .map_err(|e: pumpguard_model::ParseEnumError| bad("criticality", e.to_string()))?,
        lifecycle: r
            .12
            .parse()
            .map_err(|e: pumpguard_model::ParseEnumError| bad("lifecycle", e.to_string()))?,
        first_seen: micros("first_seen", r.13)?,
        last_seen: micros("last_seen", r.14)?,
        source: r
            .15
            .parse()
            .map_err(|e: pumpguard_model::ParseEnumError| bad("source", e.to_string()))?,
    })
}

/// Column list of `audit_log`, in [`EntryRow`] order.
pub(crate) const ENTRY_COLUMNS: &str = "seq, time, actor, action, object, detail, prev_hash, hash";
pub(crate) const ENTRY_COLUMN_COUNT: usize = 8;

pub(crate) type EntryRow = (i64, i64, String, String, String, String, String, String);

/// Decodes an audit row; `Err` carries the seq and why, for the verifier to report.
pub(crate) fn entry_from_row(r: EntryRow) -> Result<Entry, (u64, String)> {
    let seq = u64::try_from(r.0).map_err(|_| (0, format!("negative seq {}", r.0)))?;
    let time = time::from_micros(r.1)
        .ok_or((seq, format!("record altered: time {} out of range", r.1)))?;
    let detail = serde_json::from_str(&r.5)
        .map_err(|e| (seq, format!("record altered: detail is not JSON ({e})")))?;
    Ok(Entry {
        seq,
        time,
        actor: r.2,
        action: r.3,
        object: r.4,
        detail,
        prev_hash: r.6,
        hash: r.7,
    })
}

/// `($1, $2, …), (…)` for `rows` rows of `cols` columns: a multi-row VALUES list that
/// both backends accept, so bulk writes take one statement per chunk.
pub(crate) fn values_placeholders(rows: usize, cols: usize) -> String {
    let mut s = String::with_capacity(rows * cols * 5);
    let mut n = 0;
    for r in 0..rows {
        if r > 0 {
            s.push_str(", ");
        }
        s.push('(');
        for c in 0..cols {
            if c > 0 {
                s.push_str(", ");
            }
            n += 1;
            s.push('$');
            s.push_str(&n.to_string());
        }
        s.push(')');
    }
    s
}

#[cfg(test)]
mod tests {
    #[test]
    fn placeholders() {
        assert_eq!(super::values_placeholders(2, 2), "($1, $2), ($3, $4)");
    }
}
