//! Running the real binary against throwaway databases.

#![allow(dead_code)]

use std::path::Path;
use std::process::Output;

use assert_cmd::Command;
pub use pumpguard_testkit::TestDb;

pub const HEADER: &str =
    "asset_id,kind,vendor,model,firmware,serial,mac,ip,location,zone,criticality";

/// `pumpguard --db URL ARGS…`, run to completion.
pub fn run(db: &TestDb, args: &[&str]) -> Output {
    Command::cargo_bin("pumpguard")
        .expect("binary")
        .env_remove("PUMPGUARD_DB")
        .env("PUMPGUARD_ACTOR", "test:e2e")
        .arg("--db")
        .arg(&db.url)
        .args(args)
        .output()
        .expect("runs")
}

pub fn ok(db: &TestDb, args: &[&str]) -> Output {
    let out = run(db, args);
    assert!(
        out.status.success(),
        "pumpguard {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

pub fn stdout_json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).expect("stdout is JSON")
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write");
    p.display().to_string()
}

/// Counts rows with the database's own client (sqlite3 or psql), not through pumpguard.
pub fn count_rows(db: &TestDb, table: &str) -> u64 {
    let sql = format!("SELECT count(*) FROM {table}");
    let out = match db.sqlite_path() {
        Some(path) => std::process::Command::new("sqlite3")
            .arg(path)
            .arg(&sql)
            .output()
            .expect("sqlite3 is installed (.ci/run installs it)"),
        None => std::process::Command::new("psql")
            .args(["-Atq", &db.url, "-c", &sql])
            .output()
            .expect("psql is installed"),
    };
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("a count")
}

pub fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().expect("runtime")
}

/// `pumpguard sim --out OUT ARGS…`; the ground truth it writes beside the capture.
pub fn sim(out: &Path, args: &[&str]) -> serde_json::Value {
    let run = Command::cargo_bin("pumpguard")
        .expect("binary")
        .arg("sim")
        .arg("--out")
        .arg(out)
        .args(args)
        .output()
        .expect("runs");
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let truth = out.with_extension("truth.json");
    serde_json::from_slice(&std::fs::read(truth).expect("truth file")).expect("truth JSON")
}
