//! `pumpguard cvss --stdin` against every vector/score table in the shared data (RedHat's
//! and FIRST's calculators, CISA's advisories), and against python `cvss` (a separate
//! implementation) for scores and ratings on a sample of each table. Bad vectors: an
//! error line naming each, the good ones still scored, exit 2.

use std::io::Write;
use std::process::{Command, Stdio};

fn tables() -> Vec<std::path::PathBuf> {
    let dir = pumpguard_testkit::shared_data().join("cvss");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "csv"))
        .collect();
    files.sort();
    assert!(files.len() >= 14, "{files:?}");
    files
}

/// Runs `pumpguard cvss --stdin` on the vectors; returns (status, stdout, stderr).
fn score(vectors: &str) -> (std::process::ExitStatus, String, String) {
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("pumpguard"))
        .args(["cvss", "--stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs");
    let mut stdin = child.stdin.take().expect("stdin");
    let input = vectors.to_owned();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().expect("output");
    writer.join().expect("writer").expect("write");
    (
        out.status,
        String::from_utf8(out.stdout).expect("utf8"),
        String::from_utf8(out.stderr).expect("utf8"),
    )
}

fn rating(score: f64) -> &'static str {
    match score {
        s if s <= 0.0 => "None",
        s if s < 4.0 => "Low",
        s if s < 7.0 => "Medium",
        s if s < 9.0 => "High",
        _ => "Critical",
    }
}

#[test]
fn every_shared_table_scores_exactly() {
    let mut total = 0;
    for file in tables() {
        let mut rows = csv::Reader::from_path(&file).expect("csv");
        let expected: Vec<(String, String)> = rows
            .records()
            .map(|r| {
                let r = r.expect("row");
                (r[0].to_owned(), r[1].to_owned())
            })
            .collect();
        let input: String = expected.iter().map(|(v, _)| format!("{v}\n")).collect();
        let (status, stdout, stderr) = score(&input);
        assert!(status.success(), "{}: {stderr}", file.display());
        let lines: Vec<&str> = stdout.lines().collect();
        assert_eq!(lines.len(), expected.len(), "{}", file.display());
        let mut wrong = Vec::new();
        for ((vector, want), line) in expected.iter().zip(&lines) {
            let fields: Vec<&str> = line.split('\t').collect();
            let want: f64 = want.parse().expect("score");
            let rated = if vector.starts_with("CVSS:") {
                rating(want)
            } else {
                ""
            };
            let expected_line = format!("{vector}\t{want:.1}\t{rated}");
            if fields.len() != 3 || *line != expected_line {
                wrong.push(format!("{line} (expected {expected_line})"));
            }
        }
        println!(
            "{}: {} vectors, {} wrong",
            file.display(),
            expected.len(),
            wrong.len()
        );
        assert!(
            wrong.is_empty(),
            "{}: {:#?}",
            file.display(),
            &wrong[..wrong.len().min(10)]
        );
        total += expected.len();
    }
    assert!(total > 110_000, "{total} vectors");
}

/// python `cvss` scores a sample of every table (every 50th row) and rates it; our lines
/// must say the same.
#[test]
fn python_cvss_agrees_on_scores_and_ratings() {
    let mut sample = Vec::new();
    for file in tables() {
        let mut rows = csv::Reader::from_path(&file).expect("csv");
        sample.extend(
            rows.records()
                .step_by(50)
                .map(|r| r.expect("row")[0].to_owned()),
        );
    }
    let input: String = sample.iter().map(|v| format!("{v}\n")).collect();
    let (status, ours, stderr) = score(&input);
    assert!(status.success(), "{stderr}");
    let script = r#"
import sys
from cvss import CVSS2, CVSS3, CVSS4
for line in sys.stdin:
    v = line.strip()
    if v.startswith("CVSS:4.0/"):
        c = CVSS4(v)
        print(f"{v}\t{c.base_score:.1f}\t{c.severity}")
    elif v.startswith("CVSS:3"):
        c = CVSS3(v)
        print(f"{v}\t{c.base_score:.1f}\t{c.severities()[0]}")
    else:
        c = CVSS2(v)
        print(f"{v}\t{c.base_score:.1f}\t")
"#;
    let mut py = Command::new("python3")
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs (with pip cvss: .ci/run installs it)");
    let mut stdin = py.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = py.wait_with_output().expect("python output");
    writer.join().expect("writer").expect("write");
    assert!(
        out.status.success(),
        "python cvss failed (is pip `cvss` installed?): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let theirs = String::from_utf8(out.stdout).expect("utf8");
    let differ: Vec<(&str, &str)> = ours
        .lines()
        .zip(theirs.lines())
        .filter(|(a, b)| a != b)
        .collect();
    println!("{} vectors compared with python cvss", sample.len());
    assert_eq!(ours.lines().count(), sample.len());
    assert!(differ.is_empty(), "{:#?}", &differ[..differ.len().min(10)]);
}

#[test]
fn bad_vectors_are_named_and_the_rest_still_scored() {
    let out = assert_cmd::Command::cargo_bin("pumpguard")
        .expect("binary")
        .args([
            "cvss",
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
            "CVSS:3.1/AV:Q/AC:L",
            "AV:N/AC:L/Au:N/C:C/I:C/A:C",
        ])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        stdout,
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H\t9.8\tCritical\nAV:N/AC:L/Au:N/C:C/I:C/A:C\t10.0\t\n"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{stderr}");
    assert!(
        lines[0].starts_with("error: CVSS:3.1/AV:Q/AC:L: "),
        "{stderr}"
    );
    assert_eq!(lines[1], "error: 1 of 3 vector(s) did not parse");

    let (status, _, stderr) = score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H\n\nnonsense\n");
    assert_eq!(status.code(), Some(2));
    assert!(
        stderr.starts_with("error: standard input line 2: nonsense: "),
        "{stderr}"
    );
}
