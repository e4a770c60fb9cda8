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

fn get(file: &Path, paths: &[String]) -> Result<(), Fail> {
    let parsed: Vec<TerserPath> = paths
        .iter()
        .map(|p| p.parse())
        .collect::<Result<_, _>>()
        .map_err(|e| Fail::input(format!("{e}")))?;
    let data = read_input(file)?;
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    for m in messages(file, &data)? {
        let mut line = String::new();
        for (i, p) in parsed.iter().enumerate() {
            if i > 0 {
                line.push('\t');
            }
            push_escaped(&mut line, &m.get(p));
        }
        line.push('\n');
        out.write_all(line.as_bytes())?;
    }
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
