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

/// `pumpguard --db URL pki ARGS…` with the CA passphrase in `PUMPGUARD_CA_PASSPHRASE`.
pub fn pki_with(db: &TestDb, passphrase: &str, args: &[&str]) -> Output {
    Command::cargo_bin("pumpguard")
        .expect("binary")
        .env_remove("PUMPGUARD_DB")
        .env("PUMPGUARD_ACTOR", "test:e2e")
        .env("PUMPGUARD_CA_PASSPHRASE", passphrase)
        .arg("--db")
        .arg(&db.url)
        .arg("pki")
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

/// A running `pumpguard serve`, killed when dropped. Its stderr after the banner is
/// kept for assertions that need the server's own words.
pub struct Served {
    child: std::process::Child,
    /// `http(s)://127.0.0.1:PORT`.
    pub base: String,
    log: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Served {
    /// Starts `pumpguard --db URL serve --listen 127.0.0.1:0 ARGS…` with `envs` and
    /// waits (up to 60 s) for the banner that names its address.
    pub fn start(db: &TestDb, args: &[&str], envs: &[(&str, &str)]) -> Served {
        use std::io::BufRead;
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("pumpguard"));
        cmd.env_remove("PUMPGUARD_DB")
            .env_remove("PUMPGUARD_CA_PASSPHRASE")
            .env("PUMPGUARD_ACTOR", "test:serve")
            .arg("--db")
            .arg(&db.url)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped());
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("pumpguard serve starts");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = std::sync::mpsc::channel();
        let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let keep = log.clone();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                if let Some(rest) = line.split("serving on ").nth(1) {
                    let base = rest.split_whitespace().next().unwrap_or_default();
                    let _ = tx.send(Ok(base.to_owned()));
                }
                if let Ok(mut l) = keep.lock() {
                    l.push_str(&line);
                    l.push('\n');
                }
            }
            let _ = tx.send(Err(()));
        });
        match rx.recv_timeout(std::time::Duration::from_secs(60)) {
            Ok(Ok(base)) => Served { child, base, log },
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "pumpguard serve did not start: {}",
                    log.lock().map(|l| l.clone()).unwrap_or_default()
                );
            }
        }
    }

    /// What the server has written to stderr so far.
    pub fn log(&self) -> String {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Sends SIGTERM and waits; true when it exited with success.
    pub fn stop(mut self) -> bool {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        self.child.wait().map(|s| s.success()).unwrap_or(false)
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
