//! Rows as the database returns them, and their conversion to and from the domain.
//! Only types both backends decode natively (TEXT, BIGINT) cross this boundary.

use pumpguard_audit::Entry;
use pumpguard_model::{Asset, time};

use crate::{Dialect, Result, StoreError};

/// Column list of `assets`, in [`AssetRow`] order.
pub(crate) const ASSET_COLUMNS: &str = "asset_id, kind, vendor, model, firmware, serial, mac, \
     ips, hostname, location, zone, criticality, lifecycle, first_seen, last_seen, source";
pub(crate) const ASSET_COLUMN_COUNT: usize = 16;

/// The `SET` list of an upsert into `assets`: every column but the key.
pub(crate) const ASSET_UPSERT_SET: &str = "kind = excluded.kind, vendor = excluded.vendor, \
    model = excluded.model, firmware = excluded.firmware, serial = excluded.serial, \
    mac = excluded.mac, ips = excluded.ips, hostname = excluded.hostname, \
    location = excluded.location, zone = excluded.zone, criticality = excluded.criticality, \
    lifecycle = excluded.lifecycle, first_seen = excluded.first_seen, \
    last_seen = excluded.last_seen, source = excluded.source";

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

/// The audit detail of `asset.create`: `{"asset": {…}, "origin": "…"}` with the asset's
/// known fields. Written straight to canonical JSON (RFC 8785) for speed: members are
/// declared in sorted key order, absent fields are left out, and there are no floats,
/// so serde_json's compact output is already canonical (checked by a test).
pub(crate) fn create_detail(a: &Asset, origin: &str) -> String {
    #[derive(serde::Serialize)]
    struct CreateDetail<'a> {
        asset: Record<'a>,
        origin: &'a str,
    }
    #[derive(serde::Serialize)]
    struct Record<'a> {
        asset_id: &'a str,
        criticality: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        firmware: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        first_seen: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        hostname: Option<&'a str>,
        #[serde(skip_serializing_if = "<[_]>::is_empty")]
        ips: &'a [std::net::IpAddr],
        kind: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        last_seen: Option<String>,
        lifecycle: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        location: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        mac: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        model: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        serial: Option<&'a str>,
        source: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        vendor: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        zone: Option<&'a str>,
    }
    let detail = CreateDetail {
        asset: Record {
            asset_id: a.asset_id.as_str(),
            criticality: a.criticality.as_str(),
            firmware: a.firmware.as_deref(),
            first_seen: a.first_seen.map(time::rfc3339),
            hostname: a.hostname.as_deref(),
            ips: &a.ips,
            kind: a.kind.as_str(),
            last_seen: a.last_seen.map(time::rfc3339),
            lifecycle: a.lifecycle.as_str(),
            location: a.location.as_deref(),
            mac: a.mac.map(|m| m.to_string()),
            model: a.model.as_deref(),
            serial: a.serial.as_deref(),
            source: a.source.as_str(),
            vendor: a.vendor.as_deref(),
            zone: a.zone.as_deref(),
        },
        origin,
    };
    // Serialising borrowed strings and integers into a String cannot fail.
    serde_json::to_string(&detail).unwrap_or_default()
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

/// `($1, $2, …), (…)` for `rows` rows of `cols` columns: a multi-row VALUES list, so
/// bulk writes take one statement per chunk.
///
/// SQLite gets anonymous `?` instead: sqlx's SQLite driver asks
/// `sqlite3_bind_parameter_name` for every bind, which walks the statement's list of
/// named parameters, so `$N` names make a statement of n binds cost O(n²) (measured:
/// 500-row chunks imported 2,800 rows/s with `$N`).
pub(crate) fn values_placeholders(dialect: Dialect, rows: usize, cols: usize) -> String {
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
            match dialect {
                Dialect::Sqlite => s.push('?'),
                Dialect::Postgres => {
                    s.push('$');
                    s.push_str(&n.to_string());
                }
            }
        }
        s.push(')');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    use proptest::prelude::*;
    use pumpguard_model::{AssetKind, AssetPatch, Source};

    proptest! {
        #[test]
        fn create_detail_is_canonical_json(
            vendor in proptest::option::of("[ -~\u{e9}\u{20ac}\u{1f600}\n\t\"\\\\]{0,12}"),
            zone in proptest::option::of("[a-z_]{1,8}"),
            mac in proptest::option::of(any::<[u8; 6]>()),
            ips in proptest::collection::vec(any::<std::net::Ipv4Addr>(), 0..3),
            seen in proptest::option::of(0i64..4_000_000_000_000_000),
        ) {
            let patch = AssetPatch {
                kind: Some(AssetKind::InfusionPump),
                vendor: Some(vendor),
                zone: Some(zone),
                mac: Some(mac.map(pumpguard_model::MacAddr)),
                ips: Some(ips.into_iter().map(Into::into).collect()),
                ..AssetPatch::new("P-1".parse().expect("id"))
            };
            let mut a = patch.apply(None, Source::Imported).expect("applies");
            a.first_seen = seen.and_then(time::from_micros);
            let text = create_detail(&a, "inv\"entory.csv");
            let v: serde_json::Value = serde_json::from_str(&text).expect("json");
            let mut canonical = Vec::new();
            pumpguard_audit::canonical::write(&v, &mut canonical);
            prop_assert_eq!(String::from_utf8(canonical).expect("utf8"), text);
        }
    }

    #[test]
    fn placeholders() {
        assert_eq!(
            values_placeholders(Dialect::Postgres, 2, 2),
            "($1, $2), ($3, $4)"
        );
        assert_eq!(values_placeholders(Dialect::Sqlite, 2, 2), "(?, ?), (?, ?)");
    }
}
