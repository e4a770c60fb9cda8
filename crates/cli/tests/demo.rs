//! `pumpguard demo` end to end: what it prepares, read back with peers we did not write
//! where we can (sqlite3 on its database, the simulator's truth, CISA's own advisory
//! files) and with `pumpguard vuln match`; a second run in the same directory starts
//! afresh; the console it serves answers.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const PASSWORD: &str = "demo-admin-password-1";

/// The advisories `pumpguard demo` bundles (`crates/cli/demo/`).
const BUNDLED: [&str; 7] = [
    "icsma-17-250-02a.json",
    "icsma-20-170-04.json",
    "icsma-20-296-02.json",
    "icsma-21-294-01.json",
    "icsma-21-355-01.json",
    "icsma-22-251-01.json",
    "icsma-23-194-01.json",
];

fn pumpguard() -> assert_cmd::Command {
    let mut c = assert_cmd::Command::cargo_bin("pumpguard").expect("binary");
    c.env_remove("PUMPGUARD_DB")
        .env("PUMPGUARD_ACTOR", "test:demo");
    c
}

fn ok(out: Output) -> Output {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `pumpguard demo --no-serve --pumps 12 --seed 3` in `cwd` with `more` arguments.
fn demo(cwd: &Path, more: &[&str]) -> Output {
    ok(pumpguard()
        .current_dir(cwd)
        .args(["demo", "--no-serve", "--pumps", "12", "--seed", "3"])
        .args(more)
        .output()
        .expect("runs"))
}

/// The value of the `name: value` line of the demo's standard output.
fn line<'a>(stdout: &'a str, name: &str) -> &'a str {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name}: ")))
        .unwrap_or_else(|| panic!("no '{name}:' line in\n{stdout}"))
}

/// Rows of a query by sqlite3 (columns separated by `|`).
fn sqlite(db: &Path, sql: &str) -> Vec<Vec<String>> {
    let out = Command::new("sqlite3")
        .arg(db)
        .arg(sql)
        .output()
        .expect("sqlite3 is installed (.ci/run installs it)");
    assert!(
        out.status.success(),
        "{sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.split('|').map(str::to_owned).collect())
        .collect()
}

fn count(db: &Path, sql: &str) -> usize {
    sqlite(db, sql)[0][0].parse().expect("a count")
}

/// The asset ids of the inventory's rows, sorted.
fn pump_ids_of(inventory: &[Vec<&str>]) -> Vec<String> {
    let mut ids: Vec<String> = inventory.iter().map(|r| r[0].to_owned()).collect();
    ids.sort();
    ids
}

fn bundled(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("demo")
        .join(name)
}

/// The CVE ids of CISA's advisories, read from the shared copies.
fn advisory_cves() -> BTreeMap<String, BTreeSet<String>> {
    let dir = pumpguard_testkit::shared_data().join("csaf/cisa-icsma");
    BUNDLED
        .iter()
        .map(|name| {
            let doc: Value =
                serde_json::from_slice(&std::fs::read(dir.join(name)).expect("shared advisory"))
                    .expect("JSON");
            let id = doc["document"]["tracking"]["id"]
                .as_str()
                .expect("tracking id")
                .to_uppercase();
            let cves = doc["vulnerabilities"]
                .as_array()
                .expect("vulnerabilities")
                .iter()
                .filter_map(|v| v["cve"].as_str().map(str::to_owned))
                .collect();
            (id, cves)
        })
        .collect()
}

#[test]
fn the_bundled_advisories_are_cisas_files_byte_for_byte() {
    let dir = pumpguard_testkit::shared_data().join("csaf/cisa-icsma");
    let mut on_disk: Vec<String> = std::fs::read_dir(bundled(""))
        .expect("crates/cli/demo")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("icsma-"))
        .collect();
    on_disk.sort();
    assert_eq!(on_disk, BUNDLED);
    for name in BUNDLED {
        assert!(
            std::fs::read(bundled(name)).expect("bundled")
                == std::fs::read(dir.join(name)).expect("shared"),
            "{name} differs from the shared copy of CISA's file"
        );
        let readme = std::fs::read_to_string(bundled("README.md")).expect("README");
        assert!(readme.contains(name), "demo/README.md names {name}");
    }
}

#[test]
fn the_demo_prepares_a_ward_and_a_second_run_starts_afresh() {
    let dir = tempfile::tempdir().expect("tempdir");
    let work = dir.path().join("demo");
    let out = demo(
        dir.path(),
        &[
            "--dir",
            work.to_str().expect("utf-8"),
            "--admin-password",
            PASSWORD,
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let db = work.join("pumpguard-demo.db");
    assert_eq!(line(&stdout, "console"), "http://127.0.0.1:8080/");
    assert_eq!(line(&stdout, "user"), "admin");
    assert_eq!(line(&stdout, "password"), PASSWORD);
    assert_eq!(line(&stdout, "db"), format!("sqlite://{}", db.display()));
    let stderr = String::from_utf8_lossy(&out.stderr);
    for step in ["simulating 12 pumps", "sensing", "assessing"] {
        assert!(stderr.contains(step), "progress names '{step}': {stderr}");
    }

    // Every device of the simulator's truth is one asset: two devices that share a MAC
    // (the cloned-MAC scenario) are one to a MAC-keyed inventory.
    let truth: Value = serde_json::from_slice(
        &std::fs::read(work.join("pumpguard-demo.truth.json")).expect("truth"),
    )
    .expect("truth JSON");
    assert_eq!(truth["seed"], 3);
    let devices: BTreeSet<String> = truth["devices"]
        .as_array()
        .expect("devices")
        .iter()
        .map(|d| {
            d["mac"]
                .as_str()
                .or(d["ip"].as_str())
                .expect("mac or ip")
                .to_owned()
        })
        .collect();
    assert_eq!(count(&db, "SELECT count(*) FROM assets"), devices.len());

    // The inventory's pumps are imported and linked to what the sensor saw (one asset a
    // MAC, seen on the wire); the pumps it leaves out are discovered.
    let csv =
        std::fs::read_to_string(work.join("pumpguard-demo-inventory.csv")).expect("inventory");
    let mut rows = csv.lines();
    assert_eq!(
        rows.next(),
        Some("asset_id,kind,vendor,model,firmware,serial,mac,ip,location,zone,criticality")
    );
    let inventory: Vec<Vec<&str>> = rows.map(|r| r.split(',').collect()).collect();
    let pumps = truth["pumps"].as_u64().expect("pumps") as usize;
    assert_eq!(pumps, 12);
    assert!(
        inventory.len() < pumps && inventory.len() * 10 >= pumps * 7,
        "about 80 % of the pumps: {}",
        inventory.len()
    );
    for row in &inventory {
        let (id, mac) = (row[0], row[6]);
        let stored = sqlite(
            &db,
            &format!(
                "SELECT asset_id, source, last_seen IS NOT NULL, hostname IS NOT NULL FROM assets WHERE mac = '{mac}'"
            ),
        );
        assert_eq!(
            stored,
            vec![vec![
                id.to_owned(),
                "imported".into(),
                "1".into(),
                "1".into()
            ]],
            "{mac}"
        );
    }
    assert_eq!(
        count(&db, "SELECT count(*) FROM assets WHERE source = 'imported'"),
        inventory.len()
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM assets WHERE kind = 'infusion_pump' AND source = 'discovered'"
        ),
        pumps - inventory.len()
    );

    // Alerts of many kinds, the policy's among them: what the scenarios did, not what
    // pumps normally do (to their servers, to DNS, NTP and syslog).
    let kinds: BTreeSet<String> = sqlite(&db, "SELECT DISTINCT kind FROM alerts")
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
    for kind in [
        "policy_violation",
        "cleartext_management_to_pump",
        "pump_pivot",
        "pump_to_internet",
        "pcd03_over_hard_limit",
        "weak_tls_version",
    ] {
        assert!(kinds.contains(kind), "{kind} in {kinds:?}");
    }
    let violations = sqlite(
        &db,
        "SELECT subject_ip, peer_ip, port FROM alerts WHERE kind = 'policy_violation'",
    );
    let laptop = "10.20.9.66";
    assert!(violations.iter().any(|v| v[0] == laptop), "{violations:?}");
    assert!(
        violations.iter().any(|v| v[1] == "203.0.113.45"),
        "exfiltration to the internet: {violations:?}"
    );
    assert!(
        !violations
            .iter()
            .any(|v| v[0].starts_with("10.20.1.") && v[1].starts_with("10.30.0.")),
        "pumps talking to pump servers is allowed: {violations:?}"
    );
    assert!(
        !violations
            .iter()
            .any(|v| v[0].starts_with("10.20.1.") && v[1].starts_with("10.10.0.")),
        "pumps using DNS, NTP and syslog is allowed: {violations:?}"
    );

    // The advisories, a baseline and the assessment's evidence are stored.
    let cves = advisory_cves();
    let documents: BTreeSet<String> = sqlite(&db, "SELECT upper(id) FROM vuln_documents")
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
    assert_eq!(documents, cves.keys().cloned().collect::<BTreeSet<_>>());
    assert_eq!(count(&db, "SELECT count(*) FROM baselines"), 1);
    assert!(count(&db, "SELECT count(*) FROM assessment_evidence") > 5);
    assert!(work.join("pumpguard-demo-report.html").is_file());

    // The device CA: two thirds (rounded) of the inventoried pumps hold a certificate,
    // the first in asset id order; none of the pumps only the sensor found does.
    let certified = (2 * inventory.len() + 1) / 3;
    assert!(certified >= 2 && certified < inventory.len(), "{certified}");
    assert_eq!(
        count(&db, "SELECT count(*) FROM pki_certificates"),
        certified
    );
    assert_eq!(
        sqlite(
            &db,
            "SELECT reason FROM pki_certificates WHERE revoked IS NOT NULL"
        ),
        vec![vec!["key-compromise".to_owned()]]
    );
    let subjects: Vec<String> = sqlite(
        &db,
        "SELECT common_name FROM pki_certificates ORDER BY common_name",
    )
    .into_iter()
    .map(|r| r[0].clone())
    .collect();
    let imported: BTreeSet<String> =
        sqlite(&db, "SELECT asset_id FROM assets WHERE source = 'imported'")
            .into_iter()
            .map(|r| r[0].clone())
            .collect();
    assert!(
        subjects.iter().all(|cn| imported.contains(cn)),
        "{subjects:?} are inventoried pumps: {imported:?}"
    );
    let mut first: Vec<String> = pump_ids_of(&inventory);
    first.truncate(certified);
    assert_eq!(subjects, first, "one certificate a pump, by asset id");
    assert!(
        stderr.contains(&format!(
            "device CA: {certified} pump certificates (1 expiring, 1 revoked)"
        )),
        "{stderr}"
    );
    let out = ok(pumpguard()
        .arg("--db")
        .arg(format!("sqlite://{}", db.display()))
        .args(["pki", "list", "--format", "json"])
        .output()
        .expect("runs"));
    let listed: Vec<Value> = serde_json::from_slice(&out.stdout).expect("certificates JSON");
    assert_eq!(listed.len(), certified);
    let states: BTreeMap<&str, usize> = listed.iter().fold(BTreeMap::new(), |mut m, c| {
        *m.entry(c["state"].as_str().expect("state")).or_default() += 1;
        m
    });
    assert_eq!(
        states,
        BTreeMap::from([("expiring", 1), ("revoked", 1), ("valid", certified - 2)]),
        "{listed:?}"
    );
    assert!(
        listed
            .iter()
            .all(|c| c["profile"] == "pump" && c["pem"].is_null()),
        "{listed:?}"
    );
    // `pki check`'s alert for the expiring one, on its pump.
    let expiring = listed
        .iter()
        .find(|c| c["state"] == "expiring")
        .and_then(|c| c["common_name"].as_str())
        .expect("the expiring certificate's subject");
    assert_eq!(
        sqlite(
            &db,
            "SELECT asset_id FROM alerts WHERE kind = 'certificate_expiring'"
        ),
        vec![vec![expiring.to_owned()]]
    );
    // openssl reads a certificate as stored: issued by the demo's CA to its pump.
    let (cn, pem) = (
        &sqlite(
            &db,
            "SELECT common_name FROM pki_certificates ORDER BY serial LIMIT 1",
        )[0][0],
        sqlite(
            &db,
            "SELECT pem FROM pki_certificates ORDER BY serial LIMIT 1",
        )
        .into_iter()
        .map(|r| r.join("|") + "\n")
        .collect::<String>(),
    );
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----\n"), "{pem}");
    let mut openssl = Command::new("openssl")
        .args(["x509", "-noout", "-subject"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("openssl is installed");
    openssl
        .stdin
        .take()
        .expect("stdin")
        .write_all(pem.as_bytes())
        .expect("PEM to openssl");
    let parsed = ok(openssl.wait_with_output().expect("openssl runs"));
    let subject = String::from_utf8_lossy(&parsed.stdout);
    assert!(
        subject.contains("Demo Hospital") && subject.contains(cn.as_str()),
        "{subject}"
    );
    // The passphrase sealing the CA's keys, for `serve --tls` and EST: the owner's only.
    let passphrase_file = work.join("pumpguard-demo-ca-passphrase.txt");
    let passphrase = std::fs::read_to_string(&passphrase_file).expect("passphrase file");
    assert_eq!(passphrase.trim_end().len(), 20, "{passphrase}");
    assert_eq!(
        std::fs::metadata(&passphrase_file)
            .expect("metadata")
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
    assert!(
        stdout.contains(&passphrase_file.display().to_string()),
        "{stdout}"
    );
    // The assessment's evidence now answers whether pumps hold certificates: some do.
    assert_eq!(
        sqlite(
            &db,
            "SELECT answer FROM assessment_evidence WHERE question_id = 'CRED-01'"
        ),
        vec![vec!["partial".to_owned()]]
    );

    // `vuln match`: inventoried pumps affected by real CVEs of the bundled advisories.
    let out = ok(pumpguard()
        .arg("--db")
        .arg(format!("sqlite://{}", db.display()))
        .args(["vuln", "match", "--status", "affected", "--format", "json"])
        .output()
        .expect("runs"));
    let findings: Vec<Value> = serde_json::from_slice(&out.stdout).expect("findings JSON");
    let pump_ids: BTreeSet<&str> = inventory.iter().map(|r| r[0]).collect();
    let mut advisories = BTreeSet::new();
    let mut affected = BTreeSet::new();
    for f in &findings {
        let (asset, cve, advisory) = (
            f["asset_id"].as_str().expect("asset"),
            f["cve"].as_str().expect("cve"),
            f["advisory"].as_str().expect("advisory").to_uppercase(),
        );
        assert!(pump_ids.contains(asset), "{f}");
        assert!(
            cves.get(&advisory).is_some_and(|c| c.contains(cve)),
            "{cve} is in {advisory}: {f}"
        );
        advisories.insert(advisory);
        affected.insert(asset);
    }
    assert!(advisories.len() >= 3, "{advisories:?}");
    assert!(affected.len() >= 4, "{affected:?}");
    let audit_entries = count(&db, "SELECT count(*) FROM audit_log");

    // Again, in the directory itself (the default --dir) and with a generated password:
    // the database is made anew, not added to.
    let out = demo(&work, &[]);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let password = line(&stdout, "password");
    assert_eq!(password.len(), 20, "{password}");
    assert!(password.chars().all(|c| c.is_ascii_alphanumeric()));
    assert_eq!(line(&stdout, "db"), "sqlite://./pumpguard-demo.db");
    assert_eq!(count(&db, "SELECT count(*) FROM baselines"), 1);
    assert_eq!(count(&db, "SELECT count(*) FROM audit_log"), audit_entries);
    assert_eq!(count(&db, "SELECT count(*) FROM assets"), devices.len());
    ok(pumpguard()
        .arg("--db")
        .arg(format!("sqlite://{}", db.display()))
        .args(["audit", "verify"])
        .output()
        .expect("runs"));
}

#[test]
fn a_busy_address_fails_before_any_work() {
    let dir = tempfile::tempdir().expect("tempdir");
    let busy = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = busy.local_addr().expect("addr").to_string();
    let out = pumpguard()
        .args(["demo", "--dir"])
        .arg(dir.path())
        .args(["--listen", &addr])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("cannot listen on {addr}")),
        "{stderr}"
    );
    assert!(!dir.path().join("pumpguard-demo.db").exists());
}

/// A child process killed when dropped (also when the test panics).
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_demo_serves_what_it_prepared() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let addr = format!("127.0.0.1:{port}");
    let log = std::fs::File::create(dir.path().join("stderr.log")).expect("log");
    let mut child = Running(
        Command::new(assert_cmd::cargo::cargo_bin("pumpguard"))
            .env_remove("PUMPGUARD_DB")
            .env_remove("PUMPGUARD_CA_PASSPHRASE")
            .env("PUMPGUARD_ACTOR", "test:demo")
            .args(["demo", "--pumps", "6", "--seed", "5", "--listen", &addr])
            .arg("--dir")
            .arg(dir.path())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("starts"),
    );
    let stdout = child.0.stdout.take().expect("stdout");
    let mut printed = String::new();
    for l in BufReader::new(stdout).lines() {
        let l = l.expect("a line");
        printed.push_str(&l);
        printed.push('\n');
        if l.starts_with("db: ") {
            break;
        }
    }
    assert_eq!(line(&printed, "console"), format!("http://{addr}/"));
    // The server binds once the demo has printed where it will be.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut stream = loop {
        match TcpStream::connect(&addr) {
            Ok(s) => break s,
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(e) => panic!(
                "the demo does not serve on {addr}: {e}\n{}",
                std::fs::read_to_string(dir.path().join("stderr.log")).unwrap_or_default()
            ),
        }
    };
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    stream
        .write_all(b"GET /pki/ca.pem HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .expect("request");
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    assert!(response.starts_with("HTTP/1.1 "), "{response}");
}
