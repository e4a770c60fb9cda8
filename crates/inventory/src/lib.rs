//! Inventory files: the CSV a hospital exports from its CMMS or procurement lists, read
//! into [`AssetPatch`]es with errors that name the line, and the CSV/JSON pumpguard
//! writes back out (a CSV export re-imports unchanged).
//!
//! This crate parses and formats; it does not store. Whether a row creates or updates
//! an asset is the store's business.

use std::io::{Read, Write};
use std::net::IpAddr;

use pumpguard_model::{Asset, AssetId, AssetPatch, MacAddr};

/// Columns an import understands. `asset_id` and `kind` are required; the others may
/// be left out, and a column left out leaves that field of existing assets alone.
pub const IMPORT_COLUMNS: &[&str] = &[
    "asset_id",
    "kind",
    "vendor",
    "model",
    "firmware",
    "serial",
    "mac",
    "ip",
    "location",
    "zone",
    "criticality",
    "hostname",
    "lifecycle",
];

/// Columns of a CSV export, in order: the import header of the issue first, then the
/// optional columns, so an export re-imports as is.
pub const EXPORT_COLUMNS: &[&str] = IMPORT_COLUMNS;

/// Longest free-text value accepted (vendor, model, location, …).
pub const MAX_TEXT: usize = 256;

/// A bad inventory file; `line` is 1-based (the header is line 1).
#[derive(Debug, thiserror::Error)]
#[error("{line}: {why}")]
pub struct CsvError {
    pub line: u64,
    pub why: String,
}

/// One data row: the line it starts on and what it says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvRow {
    pub line: u64,
    pub patch: AssetPatch,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Column {
    AssetId,
    Kind,
    Vendor,
    Model,
    Firmware,
    Serial,
    Mac,
    Ip,
    Location,
    Zone,
    Criticality,
    Hostname,
    Lifecycle,
}

impl Column {
    fn from_header(name: &str) -> Option<Column> {
        Some(match name {
            "asset_id" => Column::AssetId,
            "kind" => Column::Kind,
            "vendor" => Column::Vendor,
            "model" => Column::Model,
            "firmware" => Column::Firmware,
            "serial" => Column::Serial,
            "mac" => Column::Mac,
            "ip" | "ips" => Column::Ip,
            "location" => Column::Location,
            "zone" => Column::Zone,
            "criticality" => Column::Criticality,
            "hostname" => Column::Hostname,
            "lifecycle" => Column::Lifecycle,
            _ => return None,
        })
    }
}

/// Reads an inventory CSV. Fields may be quoted (RFC 4180); surrounding whitespace is
/// trimmed; a UTF-8 byte-order mark is ignored; header names are case-insensitive.
/// `ip` may hold several addresses separated by `;`, `|` or spaces (primary first).
pub fn read_csv<R: Read>(input: R) -> Result<Vec<CsvRow>, CsvError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(input);
    let mut records = reader.byte_records();
    let header = match records.next() {
        None => {
            return Err(CsvError {
                line: 1,
                why: "empty file: expected a header line".into(),
            });
        }
        Some(r) => r.map_err(|e| csv_error(&e, 1))?,
    };
    let columns = parse_header(&header)?;
    let mut rows = Vec::new();
    for record in records {
        let record = record.map_err(|e| csv_error(&e, 0))?;
        let line = record.position().map_or(0, |p| p.line());
        if record.len() == 1 && record.get(0).is_some_and(|f| f.trim_ascii().is_empty()) {
            continue;
        }
        if record.len() != columns.len() {
            return Err(CsvError {
                line,
                why: format!(
                    "{} fields, but the header has {} columns",
                    record.len(),
                    columns.len()
                ),
            });
        }
        rows.push(CsvRow {
            line,
            patch: parse_row(&columns, &record, line)?,
        });
    }
    Ok(rows)
}

fn csv_error(e: &csv::Error, fallback_line: u64) -> CsvError {
    let line = e.position().map_or(fallback_line, |p| p.line());
    let why = match e.kind() {
        csv::ErrorKind::Io(io) => format!("read failed: {io}"),
        other => format!("malformed CSV: {other:?}"),
    };
    CsvError { line, why }
}

fn parse_header(header: &csv::ByteRecord) -> Result<Vec<Column>, CsvError> {
    let bad = |why: String| CsvError { line: 1, why };
    let mut columns = Vec::with_capacity(header.len());
    for (i, raw) in header.iter().enumerate() {
        let mut raw = raw;
        if i == 0 {
            raw = raw.strip_prefix(b"\xef\xbb\xbf").unwrap_or(raw);
        }
        let name = std::str::from_utf8(raw)
            .map_err(|_| bad("header is not UTF-8".into()))?
            .trim()
            .to_ascii_lowercase();
        let col = Column::from_header(&name).ok_or_else(|| {
            bad(format!(
                "unknown column '{name}' (expected: {})",
                IMPORT_COLUMNS.join(",")
            ))
        })?;
        if columns.contains(&col) {
            return Err(bad(format!("column '{name}' appears twice")));
        }
        columns.push(col);
    }
    for (col, name) in [(Column::AssetId, "asset_id"), (Column::Kind, "kind")] {
        if !columns.contains(&col) {
            return Err(bad(format!("missing required column '{name}'")));
        }
    }
    Ok(columns)
}

fn parse_row(
    columns: &[Column],
    record: &csv::ByteRecord,
    line: u64,
) -> Result<AssetPatch, CsvError> {
    let bad = |why: String| CsvError { line, why };
    // asset_id first: every other message can then name it.
    let id_pos = columns
        .iter()
        .position(|c| *c == Column::AssetId)
        .unwrap_or(0);
    let id_text = field_text(record.get(id_pos).unwrap_or_default())
        .map_err(|e| bad(format!("asset_id: {e}")))?;
    let asset_id: AssetId = id_text.parse().map_err(bad)?;
    let mut patch = AssetPatch::new(asset_id);
    for (col, raw) in columns.iter().zip(record.iter()) {
        let name = header_name(*col);
        let value = field_text(raw).map_err(|e| bad(format!("{name}: {e}")))?;
        let text = || -> Result<Option<String>, CsvError> {
            if value.chars().count() > MAX_TEXT {
                return Err(bad(format!("{name} is longer than {MAX_TEXT} characters")));
            }
            Ok((!value.is_empty()).then(|| value.to_owned()))
        };
        match col {
            Column::AssetId => {}
            Column::Kind => {
                if value.is_empty() {
                    return Err(bad("kind is empty".into()));
                }
                patch.kind = Some(value.parse().map_err(|e| bad(format!("{e}")))?);
            }
            Column::Vendor => patch.vendor = Some(text()?),
            Column::Model => patch.model = Some(text()?),
            Column::Firmware => patch.firmware = Some(text()?),
            Column::Serial => patch.serial = Some(text()?),
            Column::Hostname => patch.hostname = Some(text()?),
            Column::Location => patch.location = Some(text()?),
            Column::Zone => patch.zone = Some(text()?),
            Column::Mac => {
                patch.mac = Some(if value.is_empty() {
                    None
                } else {
                    let mac: MacAddr = value.parse().map_err(|e| bad(format!("{e}")))?;
                    if mac.is_multicast() {
                        return Err(bad(format!("MAC {mac} is a group address, not a device")));
                    }
                    Some(mac)
                });
            }
            Column::Ip => patch.ips = Some(parse_ips(value).map_err(bad)?),
            Column::Criticality => {
                patch.criticality = (!value.is_empty())
                    .then(|| value.parse())
                    .transpose()
                    .map_err(|e| bad(format!("{e}")))?;
            }
            Column::Lifecycle => {
                patch.lifecycle = (!value.is_empty())
                    .then(|| value.parse())
                    .transpose()
                    .map_err(|e| bad(format!("{e}")))?;
            }
        }
    }
    Ok(patch)
}

fn header_name(col: Column) -> &'static str {
    match col {
        Column::AssetId => "asset_id",
        Column::Kind => "kind",
        Column::Vendor => "vendor",
        Column::Model => "model",
        Column::Firmware => "firmware",
        Column::Serial => "serial",
        Column::Mac => "mac",
        Column::Ip => "ip",
        Column::Location => "location",
        Column::Zone => "zone",
        Column::Criticality => "criticality",
        Column::Hostname => "hostname",
        Column::Lifecycle => "lifecycle",
    }
}

/// A field as trimmed UTF-8 text without control characters.
fn field_text(raw: &[u8]) -> Result<&str, String> {
    let s = std::str::from_utf8(raw)
        .map_err(|_| "not UTF-8 text".to_owned())?
        .trim();
    if s.chars().any(char::is_control) {
        return Err("contains a control character".into());
    }
    Ok(s)
}

fn parse_ips(value: &str) -> Result<Vec<IpAddr>, String> {
    let mut ips: Vec<IpAddr> = Vec::new();
    for part in value.split([';', '|', ' ']).filter(|p| !p.is_empty()) {
        let ip: IpAddr = part
            .parse()
            .map_err(|_| format!("invalid IP address '{part}'"))?;
        if !ips.contains(&ip) {
            ips.push(ip);
        }
    }
    Ok(ips)
}

/// Writes assets as CSV with [`EXPORT_COLUMNS`].
pub fn write_csv<W: Write>(out: W, assets: &[Asset]) -> Result<(), csv::Error> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(EXPORT_COLUMNS)?;
    for a in assets {
        let opt = |v: &Option<String>| v.clone().unwrap_or_default();
        let ips: Vec<String> = a.ips.iter().map(IpAddr::to_string).collect();
        w.write_record([
            a.asset_id.to_string(),
            a.kind.to_string(),
            opt(&a.vendor),
            opt(&a.model),
            opt(&a.firmware),
            opt(&a.serial),
            a.mac.map(|m| m.to_string()).unwrap_or_default(),
            ips.join(";"),
            opt(&a.location),
            opt(&a.zone),
            a.criticality.to_string(),
            opt(&a.hostname),
            a.lifecycle.to_string(),
        ])?;
    }
    w.flush()?;
    Ok(())
}

/// Writes assets as a JSON array (see `Asset`'s JSON form).
pub fn write_json<W: Write>(mut out: W, assets: &[Asset]) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut out, assets)?;
    out.write_all(b"\n")
}

#[cfg(test)]
mod tests;
