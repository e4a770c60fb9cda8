//! Measures our parser against the `hl7-parser` crate on one file of messages (see
//! `bench/hl7.sh`): both parse every message and read MSH-10, PID-3 and OBX-5. Prints MB/s
//! for each and the ratio. This is the measurement behind writing our own parser.

#![allow(clippy::print_stdout, clippy::unwrap_used)]

use std::time::Instant;

use pumpguard_hl7::{Path, parse_messages};

fn ours(data: &[u8], paths: &[Path]) -> usize {
    let mut total = 0;
    for m in parse_messages(data) {
        let m = m.unwrap();
        for p in paths {
            total += m.get(p).len();
        }
    }
    total
}

fn theirs(text: &str, queries: &[&str]) -> usize {
    let mut total = 0;
    let mut start = 0;
    let bytes = text.as_bytes();
    while start < bytes.len() {
        let end = text[start + 1..]
            .find("\rMSH|")
            .map_or(text.len(), |k| start + 1 + k + 1);
        let m = hl7_parser::parse_message_with_lenient_newlines(&text[start..end]).unwrap();
        for q in queries {
            if let Some(v) = m.query(*q) {
                total += v.raw_value().len();
            }
        }
        start = end;
    }
    total
}

fn best<F: FnMut() -> usize>(mut f: F) -> (f64, usize) {
    let mut best = f64::MAX;
    let mut out = 0;
    for _ in 0..3 {
        let t = Instant::now();
        out = f();
        best = best.min(t.elapsed().as_secs_f64());
    }
    (best, out)
}

fn main() {
    let file = std::env::args()
        .nth(1)
        .expect("usage: compare_hl7_parser FILE");
    let data = std::fs::read(&file).unwrap();
    let text = std::str::from_utf8(&data).unwrap();
    let paths: Vec<Path> = ["MSH-10", "PID-3", "OBX-5"]
        .iter()
        .map(|p| p.parse().unwrap())
        .collect();
    let (t_ours, n_ours) = best(|| ours(&data, &paths));
    let (t_theirs, n_theirs) = best(|| theirs(text, &["MSH.10", "PID.3", "OBX.5"]));
    let mb = data.len() as f64 / 1e6;
    println!(
        "in-process, {mb:.0} MB: pumpguard-hl7 {:.0} MB/s | hl7-parser {:.0} MB/s | ratio {:.1} (value bytes {n_ours} / {n_theirs})",
        mb / t_ours,
        mb / t_theirs,
        t_theirs / t_ours
    );
}
