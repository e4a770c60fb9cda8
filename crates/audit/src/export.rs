//! The JSON Lines export: one entry per line in seq order, then one trailer line
//! `{"audit_head":{"seq":N,"hash":"…"}}` that anchors the end, so a file whose newest
//! lines were cut off does not pass as a shorter intact chain.

use std::io::{self, BufRead, Write};

use serde_json::{Map, Value};

use crate::chain::{Entry, Head, Summary, Verifier};

/// Why an export does not verify; `line` is 1-based.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("{line}: {why}")]
    Malformed { line: u64, why: String },
    #[error("{line}: {brk}")]
    Broken { line: u64, brk: crate::Break },
    #[error("{line}: export has no audit_head trailer (file truncated?)")]
    NoTrailer { line: u64 },
    #[error("{0}")]
    Io(#[from] io::Error),
}

impl ExportError {
    /// The seq of the first untrustworthy record, when the chain itself is broken.
    pub fn broken_seq(&self) -> Option<u64> {
        match self {
            ExportError::Broken { brk, .. } => Some(brk.seq),
            _ => None,
        }
    }
}

/// Streams an export: call [`ExportWriter::entry`] for each entry in seq order, then
/// [`ExportWriter::finish`].
#[derive(Debug)]
pub struct ExportWriter<W: Write> {
    out: W,
}

/// Starts an export on `out`.
pub fn write_export<W: Write>(out: W) -> ExportWriter<W> {
    ExportWriter { out }
}

impl<W: Write> ExportWriter<W> {
    pub fn entry(&mut self, e: &Entry) -> io::Result<()> {
        serde_json::to_writer(&mut self.out, e)?;
        self.out.write_all(b"\n")
    }

    /// Ends an export of a chain whose head record is lost: no trailer, so the file
    /// will not verify, as the chain it copies does not.
    pub fn finish_unanchored(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }

    /// Writes the trailer and flushes.
    pub fn finish(mut self, head: &Head) -> io::Result<W> {
        serde_json::to_writer(&mut self.out, &serde_json::json!({ "audit_head": head }))?;
        self.out.write_all(b"\n")?;
        self.out.flush()?;
        Ok(self.out)
    }
}

/// Verifies an export read from `input`, without a database.
pub fn read_export<R: BufRead>(input: R) -> Result<Summary, ExportError> {
    let mut verifier = Verifier::new();
    let mut trailer: Option<(u64, Head)> = None;
    let mut lineno = 0u64;
    for line in input.lines() {
        let line = line?;
        lineno += 1;
        if line.trim().is_empty() {
            continue;
        }
        if let Some((tline, _)) = trailer {
            return Err(ExportError::Malformed {
                line: lineno,
                why: format!("content after the audit_head trailer on line {tline}"),
            });
        }
        let malformed = |why: String| ExportError::Malformed { line: lineno, why };
        let value: Value =
            serde_json::from_str(&line).map_err(|e| malformed(format!("not JSON: {e}")))?;
        let Value::Object(map) = value else {
            return Err(malformed("not a JSON object".into()));
        };
        if let Some(head) = map.get("audit_head") {
            let head: Head = serde_json::from_value(head.clone())
                .map_err(|e| malformed(format!("bad audit_head trailer: {e}")))?;
            trailer = Some((lineno, head));
            continue;
        }
        let seq = check_shape(&map).map_err(malformed)?;
        verifier
            .push_raw(seq, &map)
            .map_err(|brk| ExportError::Broken { line: lineno, brk })?;
    }
    let Some((tline, head)) = trailer else {
        return Err(ExportError::NoTrailer { line: lineno + 1 });
    };
    verifier
        .finish(Some(&head))
        .map_err(|brk| ExportError::Broken { line: tline, brk })
}

/// An export line must be a well-formed entry (right fields, right types); returns its seq.
fn check_shape(map: &Map<String, Value>) -> Result<u64, String> {
    let seq = map
        .get("seq")
        .and_then(Value::as_u64)
        .ok_or("record has no numeric seq")?;
    serde_json::from_value::<Entry>(Value::Object(map.clone()))
        .map_err(|e| format!("seq {seq}: not an audit entry: {e}"))?;
    Ok(seq)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pumpguard_model::time;
    use serde_json::json;

    fn export(n: u64) -> String {
        let mut w = write_export(Vec::new());
        let mut head = Head::genesis();
        for i in 0..n {
            let t = time::from_micros(1_796_000_000_000_000 + i as i64).expect("time");
            let e = Entry::next(
                &head,
                t,
                "cli:t",
                "asset.create",
                format!("asset:{i}"),
                json!({"n": i}),
            );
            w.entry(&e).expect("write");
            head = e.head();
        }
        String::from_utf8(w.finish(&head).expect("finish")).expect("utf8")
    }

    fn check(text: &str) -> Result<Summary, ExportError> {
        read_export(text.as_bytes())
    }

    #[test]
    fn untouched_export_verifies() {
        assert_eq!(check(&export(4)).expect("intact").entries, 4);
        assert_eq!(check(&export(0)).expect("empty").entries, 0);
    }

    #[test]
    fn edits_deletions_and_truncation_name_the_record() {
        let text = export(4);
        let lines: Vec<&str> = text.lines().collect();

        let edited = text.replace(r#""object":"asset:2""#, r#""object":"asset:9""#);
        assert_eq!(check(&edited).unwrap_err().broken_seq(), Some(3));

        // Whitespace inside a line changes nothing that is hashed.
        let spaced = text.replacen(r#""actor":"cli:t""#, r#""actor": "cli:t""#, 1);
        assert!(check(&spaced).is_ok());

        let mut without_2 = lines.clone();
        without_2.remove(1);
        assert_eq!(
            check(&without_2.join("\n")).unwrap_err().broken_seq(),
            Some(2)
        );

        let mut without_last = lines.clone();
        without_last.remove(3);
        assert_eq!(
            check(&without_last.join("\n")).unwrap_err().broken_seq(),
            Some(4)
        );

        let no_trailer = lines[..4].join("\n");
        assert!(matches!(
            check(&no_trailer),
            Err(ExportError::NoTrailer { .. })
        ));

        let extra_field = text.replacen(r#""seq":1,"#, r#""seq":1,"note":"x","#, 1);
        let err = check(&extra_field).unwrap_err();
        assert!(
            matches!(err, ExportError::Malformed { line: 1, .. }),
            "{err}"
        );

        let garbage = text.replacen(r#"{"seq":2"#, r#"{"seq":2,"#, 1);
        assert!(matches!(
            check(&garbage),
            Err(ExportError::Malformed { line: 2, .. })
        ));
    }
}
