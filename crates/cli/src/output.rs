//! Where output goes and what it looks like: tables on a terminal, JSON/CSV for
//! programs, files written whole or not at all.

use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::Path;

use comfy_table::{ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};
use pumpguard_audit::Entry;
use pumpguard_model::{Asset, time};

use crate::args::ListFormat;
use crate::fail::Fail;

/// The list format when none is chosen: a table for a person, JSON for a program.
pub fn list_format(chosen: Option<ListFormat>) -> ListFormat {
    chosen.unwrap_or(if io::stdout().is_terminal() {
        ListFormat::Table
    } else {
        ListFormat::Json
    })
}

/// Writes to `path` (via a temporary file renamed into place, so a failure leaves no
/// partial file) or to standard output when `path` is `None` or `-`.
pub fn write_to(
    path: Option<&Path>,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<(), Fail> {
    match path {
        Some(p) if p != Path::new("-") => {
            let dir = match p.parent() {
                Some(d) if !d.as_os_str().is_empty() => d,
                _ => Path::new("."),
            };
            let mut tmp = tempfile::NamedTempFile::new_in(dir)
                .map_err(|e| Fail::input(format!("{}: cannot write: {e}", p.display())))?;
            {
                let mut w = BufWriter::new(tmp.as_file_mut());
                write(&mut w).and_then(|()| w.flush())?;
            }
            tmp.as_file().sync_all()?;
            tmp.persist(p).map_err(|e| {
                Fail::runtime(format!("{}: cannot write: {}", p.display(), e.error))
            })?;
            Ok(())
        }
        _ => {
            let stdout = io::stdout();
            let mut w = BufWriter::new(stdout.lock());
            match write(&mut w).and_then(|()| w.flush()) {
                // A reader that went away (`| head`) is not a failure of ours.
                Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
                other => Ok(other?),
            }
        }
    }
}

pub fn table() -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic);
    t
}

fn opt(v: &Option<String>) -> String {
    v.clone().unwrap_or_default()
}

pub fn assets_table(assets: &[Asset]) -> String {
    let mut t = table();
    t.set_header([
        "asset_id",
        "kind",
        "vendor",
        "model",
        "firmware",
        "mac",
        "ip",
        "location",
        "zone",
        "criticality",
        "lifecycle",
    ]);
    for a in assets {
        t.add_row([
            a.asset_id.to_string(),
            a.kind.to_string(),
            opt(&a.vendor),
            opt(&a.model),
            opt(&a.firmware),
            a.mac.map(|m| m.to_string()).unwrap_or_default(),
            a.ip().map(|ip| ip.to_string()).unwrap_or_default(),
            opt(&a.location),
            opt(&a.zone),
            a.criticality.to_string(),
            a.lifecycle.to_string(),
        ]);
    }
    format!("{t}\n{} asset(s)\n", assets.len())
}

pub fn asset_detail(a: &Asset, history: &[Entry]) -> String {
    let mut t = table();
    let ts = |v: &Option<time::Timestamp>| v.map(time::rfc3339).unwrap_or_default();
    let ips: Vec<String> = a.ips.iter().map(ToString::to_string).collect();
    for (k, v) in [
        ("asset_id", a.asset_id.to_string()),
        ("kind", a.kind.to_string()),
        ("vendor", opt(&a.vendor)),
        ("model", opt(&a.model)),
        ("firmware", opt(&a.firmware)),
        ("serial", opt(&a.serial)),
        ("mac", a.mac.map(|m| m.to_string()).unwrap_or_default()),
        ("ips", ips.join(", ")),
        ("hostname", opt(&a.hostname)),
        ("location", opt(&a.location)),
        ("zone", opt(&a.zone)),
        ("criticality", a.criticality.to_string()),
        ("lifecycle", a.lifecycle.to_string()),
        ("first_seen", ts(&a.first_seen)),
        ("last_seen", ts(&a.last_seen)),
        ("source", a.source.to_string()),
    ] {
        t.add_row([k.to_owned(), v]);
    }
    format!("{t}\nhistory:\n{}\n", history_table(history))
}

/// An object's audit entries, one line each.
pub fn history_table(history: &[Entry]) -> Table {
    let mut h = table();
    h.set_header(["seq", "time", "actor", "action", "detail"]);
    for e in history {
        h.add_row([
            e.seq.to_string(),
            time::rfc3339(e.time),
            e.actor.clone(),
            e.action.clone(),
            summarise(&e.detail),
        ]);
    }
    h
}

/// A short line for a detail object: changed fields, a status or lifecycle move, or
/// what a raised alert says.
fn summarise(detail: &serde_json::Value) -> String {
    if let Some(changes) = detail.get("changes").and_then(|c| c.as_object()) {
        let parts: Vec<String> = changes
            .iter()
            .map(|(k, v)| format!("{k}: {} -> {}", v["from"], v["to"]))
            .collect();
        return parts.join("; ");
    }
    if let (Some(from), Some(to)) = (detail.get("from"), detail.get("to")) {
        let text = |v: &serde_json::Value| v.as_str().map_or_else(|| v.to_string(), str::to_owned);
        let reason = detail.get("reason").and_then(|r| r.as_str()).unwrap_or("");
        return format!("{} -> {} {reason}", text(from), text(to))
            .trim_end()
            .to_owned();
    }
    if let Some(sentence) = detail.get("sentence").and_then(|s| s.as_str()) {
        let severity = detail
            .get("severity")
            .and_then(|s| s.as_str())
            .unwrap_or("");
        return format!("raised ({severity}): {sentence}");
    }
    if let Some(origin) = detail.get("origin").and_then(|o| o.as_str()) {
        return format!("created from {origin}");
    }
    detail.to_string()
}

/// What the sensor saw behind an asset's identity fields.
pub fn evidence_table(evidence: &[pumpguard_model::Evidence]) -> String {
    if evidence.is_empty() {
        return String::new();
    }
    let mut t = table();
    t.set_header([
        "field",
        "value",
        "source",
        "confidence",
        "count",
        "first_seen",
        "last_seen",
    ]);
    for e in evidence {
        t.add_row([
            e.field.to_string(),
            e.value.clone(),
            e.source.clone(),
            e.confidence.to_string(),
            e.count.to_string(),
            pumpguard_model::time::rfc3339(e.first_seen),
            pumpguard_model::time::rfc3339(e.last_seen),
        ]);
    }
    format!("\nevidence:\n{t}\n")
}

/// Writes `items` as a pretty-printed JSON array, byte for byte what
/// `serde_json::to_writer_pretty` writes, with the serialising spread over the cores:
/// a fleet's `vuln match` is over half a gigabyte of JSON, and one core writes it in
/// seconds. Slices are serialised as arrays of their own, in waves of one per core,
/// and their elements spliced into the one array (memory: one wave of text).
pub fn write_json_array<T: serde::Serialize + Sync>(
    w: &mut dyn Write,
    items: &[T],
) -> io::Result<()> {
    const SLICE: usize = 4096;
    if items.len() <= SLICE {
        return serde_json::to_writer_pretty(&mut *w, items).map_err(io::Error::from);
    }
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    w.write_all(b"[\n")?;
    let mut first = true;
    for wave in items.chunks(SLICE * workers) {
        let texts: Vec<io::Result<Vec<u8>>> = std::thread::scope(|s| {
            let handles: Vec<_> = wave
                .chunks(SLICE)
                .map(|slice| {
                    s.spawn(move || serde_json::to_vec_pretty(slice).map_err(io::Error::from))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err(io::Error::other("a JSON writer thread panicked")))
                })
                .collect()
        });
        for text in texts {
            let text = text?;
            // `[\n  …elements…\n]`: keep the elements, already indented for the array.
            let inner = text
                .strip_prefix(b"[\n")
                .and_then(|t| t.strip_suffix(b"\n]"))
                .ok_or_else(|| io::Error::other("a JSON array slice is not an array"))?;
            if !first {
                w.write_all(b",\n")?;
            }
            w.write_all(inner)?;
            first = false;
        }
    }
    w.write_all(b"\n]")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The spliced array is byte for byte serde_json's, around every slice boundary.
    #[test]
    fn parallel_json_arrays_are_serde_jsons() {
        for n in [0, 1, 4095, 4096, 4097, 8192, 20_001] {
            let items: Vec<serde_json::Value> = (0..n)
                .map(|i| serde_json::json!({ "i": i, "s": format!("x{i}"), "a": [i, 0.5] }))
                .collect();
            let mut ours = Vec::new();
            write_json_array(&mut ours, &items).expect("write");
            let theirs = serde_json::to_vec_pretty(&items).expect("serde_json");
            assert!(ours == theirs, "{n} items differ");
        }
    }
}
