//! `pumpguard cvss VECTOR...` / `--stdin`: one `VECTOR<TAB>SCORE<TAB>SEVERITY` line per
//! vector. A vector that does not parse prints an error line naming it, and the command
//! exits 2 after scoring the others.

use std::io::{self, BufRead, Write};

use crate::args::CvssArgs;
use crate::fail::Fail;

#[allow(clippy::print_stderr)]
pub fn run(args: &CvssArgs) -> Result<(), Fail> {
    let stdin_lines: Vec<String>;
    let vectors: Vec<&str> = if args.stdin {
        stdin_lines = io::stdin()
            .lock()
            .lines()
            .collect::<Result<_, _>>()
            .map_err(|e| Fail::input(format!("standard input: {e}")))?;
        stdin_lines
            .iter()
            .map(|l| l.trim())
            .filter(|l| !l.is_empty())
            .collect()
    } else {
        args.vectors.iter().map(String::as_str).collect()
    };
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let mut bad = 0usize;
    for (n, v) in vectors.iter().enumerate() {
        match pumpguard_vuln::cvss::score(v) {
            Ok(s) => {
                let line = format!(
                    "{v}\t{:.1}\t{}\n",
                    s.score,
                    s.severity.as_deref().unwrap_or("")
                );
                if let Err(e) = out.write_all(line.as_bytes()) {
                    return broken_pipe_ok(e);
                }
            }
            Err(e) => {
                bad += 1;
                let _ = out.flush();
                let place = if args.stdin {
                    format!("standard input line {}: ", n + 1)
                } else {
                    String::new()
                };
                eprintln!("error: {place}{v}: {e}");
            }
        }
    }
    if let Err(e) = out.flush() {
        return broken_pipe_ok(e);
    }
    if bad > 0 {
        return Err(Fail::input(format!(
            "{bad} of {} vector(s) did not parse",
            vectors.len()
        )));
    }
    Ok(())
}

fn broken_pipe_ok(e: io::Error) -> Result<(), Fail> {
    if e.kind() == io::ErrorKind::BrokenPipe {
        Ok(())
    } else {
        Err(e.into())
    }
}
