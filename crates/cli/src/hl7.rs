//! `pumpguard hl7 …`: terser reads and profile validation of HL7 files and MLLP captures.

use std::io::{BufWriter, Read, Write};
use std::path::Path;

use pumpguard_hl7::mllp::{self, Block};
use pumpguard_hl7::validate::{Severity, Validator};
use pumpguard_hl7::{Message, Path as TerserPath, parse_messages};

use crate::args::{Hl7Cmd, ProblemFormat};
use crate::fail::Fail;

pub fn run(cmd: Hl7Cmd) -> Result<(), Fail> {
    match cmd {
        Hl7Cmd::Get { file, paths } => get(&file, &paths),
        Hl7Cmd::Validate { files, format } => validate_files(&files, format),
    }
}

fn read_input(file: &Path) -> Result<Vec<u8>, Fail> {
    let mut data = Vec::new();
    let read = if file.as_os_str() == "-" {
        std::io::stdin().read_to_end(&mut data).map(|_| ())
    } else {
        std::fs::File::open(file)
            .and_then(|mut f| f.read_to_end(&mut data))
            .map(|_| ())
    };
    read.map_err(|e| Fail::input(format!("{}: {e}", file.display())))?;
    Ok(data)
}

/// The HL7 payloads of an input: the whole buffer, or each MLLP message block (commit
/// acknowledgement blocks carry no message and are skipped), with their offsets.
fn payloads<'a>(file: &Path, data: &'a [u8]) -> Result<Vec<(usize, &'a [u8])>, Fail> {
    if !mllp::is_framed(data) {
        return Ok(vec![(0, data)]);
    }
    let mut out = Vec::new();
    for frame in mllp::frames(data) {
        match frame {
            Ok((offset, Block::Message(m))) => out.push((offset, m)),
            Ok(_) => {}
            Err(e) => return Err(Fail::input(format!("{}: {e}", file.display()))),
        }
    }
    Ok(out)
}

/// Every message of the input; a parse error names FILE:LINE:COL.
fn messages<'a>(file: &Path, data: &'a [u8]) -> Result<Vec<Message<'a>>, Fail> {
    let mut out = Vec::new();
    for (base, payload) in payloads(file, data)? {
        for m in parse_messages(payload) {
            let m = m.map_err(|e| {
                let (line, col) = pumpguard_hl7::message::line_col(data, base + e.offset);
                Fail::input(format!("{}:{line}:{col}: {}", file.display(), e.kind))
            })?;
            out.push(m);
        }
    }
    Ok(out)
}

/// Calls `f` for every message of `file`. Plain HL7 is read and parsed a chunk at a time,
/// cut before the last message that starts in the chunk, so memory is bounded by the
/// largest message rather than the file (and a 100 MB file is not first copied and
/// faulted into one buffer: that was a third of `hl7 get`'s time). MLLP-framed input is
/// read whole.
fn for_each_message(
    file: &Path,
    mut f: impl FnMut(&Message<'_>) -> Result<(), Fail>,
) -> Result<(), Fail> {
    const CHUNK: u64 = 1 << 20;
    let io = |e: std::io::Error| Fail::input(format!("{}: {e}", file.display()));
    let mut reader: Box<dyn Read> = if file.as_os_str() == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        Box::new(std::fs::File::open(file).map_err(io)?)
    };
    let mut buf = Vec::with_capacity(2 * CHUNK as usize);
    let mut lines_before = 0;
    let mut first = true;
    loop {
        let read = reader
            .by_ref()
            .take(CHUNK)
            .read_to_end(&mut buf)
            .map_err(io)?;
        let eof = read == 0;
        if first {
            first = false;
            if mllp::is_framed(&buf) {
                reader.read_to_end(&mut buf).map_err(io)?;
                for m in messages(file, &buf)? {
                    f(&m)?;
                }
                return Ok(());
            }
        }
        let split = if eof {
            buf.len()
        } else {
            match last_message_start(&buf) {
                Some(at) => at,
                None => continue,
            }
        };
        let part = &buf[..split];
        for m in parse_messages(part) {
            let m = m.map_err(|e| {
                let (line, col) = pumpguard_hl7::message::line_col(part, e.offset);
                let line = lines_before + line;
                Fail::input(format!("{}:{line}:{col}: {}", file.display(), e.kind))
            })?;
            f(&m)?;
        }
        if eof {
            return Ok(());
        }
        lines_before += pumpguard_hl7::message::line_col(part, split).0 - 1;
        buf.drain(..split);
    }
}

/// Where the last message that starts after the first byte of `buf` begins.
fn last_message_start(buf: &[u8]) -> Option<usize> {
    // Backwards over line ends: the last message is usually a few hundred bytes from the
    // end (memmem::rfind, with no vectorised reverse search, cost a quarter of the time).
    memchr::memrchr2_iter(b'\r', b'\n', buf)
        .find(|&i| buf.get(i + 1..i + 4) == Some(b"MSH"))
        .map(|i| i + 1)
}

fn get(file: &Path, paths: &[String]) -> Result<(), Fail> {
    let parsed: Vec<TerserPath> = paths
        .iter()
        .map(|p| p.parse())
        .collect::<Result<_, _>>()
        .map_err(|e| Fail::input(format!("{e}")))?;
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut line = String::new();
    for_each_message(file, |m| {
        line.clear();
        for (i, p) in parsed.iter().enumerate() {
            if i > 0 {
                line.push('\t');
            }
            push_escaped(&mut line, &m.get(p));
        }
        line.push('\n');
        out.write_all(line.as_bytes())?;
        Ok(())
    })?;
    out.flush()?;
    Ok(())
}

/// Appends `value` with tab, CR, LF and backslash written as `\t \r \n \\`.
fn push_escaped(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\n' => out.push_str("\\n"),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
}

fn validate_files(files: &[std::path::PathBuf], format: ProblemFormat) -> Result<(), Fail> {
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut errors = 0usize;
    let mut json = Vec::new();
    for file in files {
        let data = read_input(file)?;
        // One validator per file: the frames of an MLLP capture are one conversation.
        let mut validator = Validator::default();
        for (base, payload) in payloads(file, &data)? {
            let before = validator.problems.len();
            validator.check(payload);
            let line_base = pumpguard_hl7::message::line_col(&data, base).0 - 1;
            for p in &mut validator.problems[before..] {
                p.line += line_base;
            }
        }
        for p in validator.problems {
            errors += usize::from(p.severity == Severity::Error);
            match format {
                ProblemFormat::Text => writeln!(
                    out,
                    "{}:{}: message {}: {}: {}: {}",
                    file.display(),
                    p.line,
                    p.message,
                    p.path,
                    p.severity,
                    p.text
                )?,
                ProblemFormat::Json => json.push(serde_json::json!({
                    "file": file.display().to_string(),
                    "line": p.line,
                    "message": p.message,
                    "path": p.path,
                    "severity": p.severity.to_string(),
                    "text": p.text,
                })),
            }
        }
    }
    if format == ProblemFormat::Json {
        serde_json::to_writer_pretty(&mut out, &json).map_err(|e| Fail::runtime(e.to_string()))?;
        writeln!(out)?;
    }
    out.flush()?;
    if errors > 0 {
        return Err(Fail::input(format!("{errors} error(s) found")));
    }
    Ok(())
}
