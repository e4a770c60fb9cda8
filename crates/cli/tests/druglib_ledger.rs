//! The drug-library ledger end to end, on each backend: a simulated ward's pump servers
//! report each pump's library version in IHE PCD-10 infusion events; `sense` keeps them
//! per (pump, version) and `druglib ledger` lists them, checked against a third party —
//! tshark extracts the HL7 port's TCP payloads and python `hl7` parses the OBX
//! `184517^MDC_PUMP_DRUG_LIBRARY_VERSION` values and the pumps their OBX-18 names — and
//! against the simulator's truth (each pump reports its family's library). Approving
//! the ward's library (`druglib approve`, audited, idempotent) makes the pumps that run
//! it approved, raises `druglib_unknown_version` on the others (none while nothing is
//! approved) and answers LIB-02. A library that does not verify is refused with exit 2
//! and nothing stored.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use common::*;
use pumpguard_sim::profiles::PROFILES;
use serde_json::Value;

/// Prints `[{"device": EUI-64, "version": V, "count": N}]` for the PCD messages on TCP
/// port 2575 of a capture: tshark reassembles nothing, so each direction of each TCP
/// stream is put together here from its segments in sequence order (retransmissions
/// once), split into MLLP frames and parsed by python `hl7`.
const ORACLE: &str = r#"
import collections, json, subprocess, sys
import hl7

out = subprocess.run(
    ["tshark", "-r", sys.argv[1], "-Y", "tcp.port == 2575 && tcp.len > 0", "-T", "fields",
     "-e", "tcp.stream", "-e", "tcp.srcport", "-e", "tcp.seq", "-e", "tcp.payload"],
    capture_output=True, text=True, check=True).stdout
streams = collections.defaultdict(dict)
for line in out.splitlines():
    stream, port, seq, payload = line.split("\t")
    streams[(stream, port)][int(seq)] = bytes.fromhex(payload.replace(":", ""))
reports = collections.Counter()
for segments in streams.values():
    data = b"".join(segments[s] for s in sorted(segments))
    for frame in data.split(b"\x0b")[1:]:
        body = frame.split(b"\x1c")[0].decode("utf-8")
        if not body.startswith("MSH"):
            continue
        message = hl7.parse(body)
        obx = [s for s in message if str(s[0]) == "OBX"]
        def device(segment):
            if len(segment) <= 18 or not str(segment[18]):
                return None
            parts = str(segment[18]).split("~")[0].split("^")
            return parts[2] if len(parts) > 2 and parts[2] else parts[0]
        for s in obx:
            if str(s[3]).split("^")[0] != "184517":
                continue
            named = device(s) or next((d for d in map(device, obx) if d), None)
            reports[(named, str(s[5]).split("^")[0])] += 1
print(json.dumps([{"device": d, "version": v, "count": n} for (d, v), n in sorted(reports.items())]))
"#;

const ICU_VERSION: &str = "ICU-2026.11.1";

fn tool(program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program} is installed (.ci/run installs it): {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn p(dir: &Path, name: &str) -> String {
    dir.join(name).to_str().expect("utf-8").to_owned()
}

/// The MAC an EUI-64 was built from (`OUI FFFE NIC`), as `aa:bb:cc:dd:ee:ff`.
fn mac_of(eui: &str) -> String {
    let hex = eui.to_ascii_lowercase();
    assert_eq!(&hex[6..10], "fffe", "{eui} is a MAC's EUI-64");
    let b = format!("{}{}", &hex[..6], &hex[10..]);
    (0..6)
        .map(|i| &b[2 * i..2 * i + 2])
        .collect::<Vec<_>>()
        .join(":")
}

/// The ledger as JSON rows by asset id.
fn ledger(db: &TestDb) -> BTreeMap<String, Value> {
    let rows = stdout_json(&ok(db, &["druglib", "ledger", "--format", "json"]));
    rows.as_array()
        .expect("array")
        .iter()
        .map(|r| {
            (
                r["asset_id"].as_str().expect("asset_id").to_owned(),
                r.clone(),
            )
        })
        .collect()
}

fn unknown_version_alerts(db: &TestDb) -> Vec<Value> {
    let alerts = stdout_json(&ok(
        db,
        &[
            "alerts",
            "list",
            "--kind",
            "druglib_unknown_version",
            "--format",
            "json",
        ],
    ));
    alerts.as_array().expect("array").clone()
}

fn lib02(db: &TestDb) -> Value {
    let evidence = stdout_json(&ok(db, &["assess", "evidence", "--format", "json"]));
    evidence
        .as_array()
        .expect("array")
        .iter()
        .find(|e| e["question_id"] == "LIB-02")
        .expect("LIB-02 has a rule")
        .clone()
}

/// `druglib.approve` entries of the audit trail, as (object, detail).
fn approvals_audited(db: &TestDb) -> Vec<(String, Value)> {
    let out = ok(db, &["audit", "export", "--format", "jsonl"]);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| e["action"] == "druglib.approve")
        .map(|e| {
            (
                e["object"].as_str().unwrap_or_default().to_owned(),
                e["detail"].clone(),
            )
        })
        .collect()
}

/// A library whose version is `version` (one entry).
fn library(name: &str, version: &str, care_area: &str) -> String {
    format!(
        "name: {name}\nversion: \"{version}\"\ncare_area: {care_area}\nentries:\n  - drug: Normal Saline\n    dose_unit: mL/h\n    hard_max: 999\n"
    )
}

/// The SHA-256 `druglib show` reports for a signed library.
fn sha256_of(dir: &Path, signed: &str) -> String {
    let out = assert_cmd::Command::cargo_bin("pumpguard")
        .expect("binary")
        .current_dir(dir)
        .args(["druglib", "show", signed, "--format", "json"])
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", stderr(&out));
    stdout_json(&out)["sha256"]
        .as_str()
        .expect("sha256")
        .to_owned()
}

#[test]
fn ledger_matches_tshark_python_hl7_and_the_simulator_and_approval_decides_alerts_and_lib02() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let pcap = d.join("ward.pcapng");
    // Seed 5: all five pump families, two Spectrum pumps among the six (they report
    // the ward library's own version, ICU-2026.11.1).
    let truth = sim(&pcap, &["--pumps", "6", "--minutes", "10", "--seed", "5"]);
    let pcap = pcap.to_str().expect("utf-8");

    // The third party: (device, version, count) from the wire.
    let script = p(d, "oracle.py");
    std::fs::write(&script, ORACLE).expect("write oracle");
    let oracle: Vec<Value> =
        serde_json::from_str(&tool("python3", &[&script, pcap])).expect("oracle JSON");
    let mut wire: BTreeMap<String, (String, u64)> = BTreeMap::new();
    for r in &oracle {
        let mac = mac_of(r["device"].as_str().expect("every report names its pump"));
        let prev = wire.insert(
            mac.clone(),
            (
                r["version"].as_str().expect("version").to_owned(),
                r["count"].as_u64().expect("count"),
            ),
        );
        assert!(prev.is_none(), "{mac} reported two versions: {oracle:?}");
    }
    // The simulator's truth agrees: each pump reports its family's library.
    let pumps: Vec<&Value> = truth["devices"]
        .as_array()
        .expect("devices")
        .iter()
        .filter(|d| d["kind"] == "infusion_pump")
        .collect();
    assert_eq!(pumps.len(), 6);
    assert_eq!(wire.len(), 6, "every pump reported: {oracle:?}");
    let mut families = BTreeSet::new();
    for pump in &pumps {
        let mac = pump["mac"].as_str().expect("mac");
        let family = pump["family"].as_str().expect("family");
        families.insert(family);
        let profile = PROFILES
            .iter()
            .find(|p| p.family == family)
            .expect("profile");
        assert_eq!(wire[mac].0, profile.druglib_version, "{mac} ({family})");
    }
    assert_eq!(families.len(), 5, "all five families: {families:?}");
    let approved_pumps = wire.values().filter(|(v, _)| v == ICU_VERSION).count();
    assert_eq!(approved_pumps, 2);

    let dbs = rt().block_on(TestDb::all(
        "ledger_matches_tshark_python_hl7_and_the_simulator_and_approval_decides_alerts_and_lib02",
    ));
    for db in &dbs {
        // Nothing approved: the ledger is kept, but nothing is known to be unapproved.
        ok(db, &["sense", "--pcap", pcap, "--format", "json"]);
        let rows = ledger(db);
        assert_eq!(rows.len(), 6, "{rows:?}");
        assert!(rows.values().all(|r| r["approved"] == false), "{rows:?}");
        assert!(unknown_version_alerts(db).is_empty());
        assert_eq!(lib02(db)["answer"], "unknown");

        // The pharmacy approves the ward's ICU library (care area ICU, version
        // 2026.11.1): the Spectrum pumps' `ICU-2026.11.1` is it.
        let key = p(d, &format!("pharmacy-{}.key", db.backend()));
        ok(db, &["druglib", "keygen", "--out", &key]);
        let icu = p(d, &format!("icu-{}.cose", db.backend()));
        let yaml = p(d, "ward.druglib.yaml");
        ok(
            db,
            &[
                "druglib",
                "sign",
                "--key",
                &key,
                "--library",
                &yaml,
                "--out",
                &icu,
            ],
        );
        let sha = sha256_of(d, &icu);
        let pubkey = format!("{key}.pub");
        let first = stderr(&ok(db, &["druglib", "approve", &icu, "--pubkey", &pubkey]));
        assert!(
            first.contains("approved library") && first.contains(&sha),
            "{first}"
        );
        let again = stderr(&ok(db, &["druglib", "approve", &icu, "--pubkey", &pubkey]));
        assert!(again.contains("approved already"), "{again}");
        assert_eq!(count_rows(db, "druglib_approved"), 1);
        let audited = approvals_audited(db);
        assert_eq!(audited.len(), 1, "re-approving is a no-op: {audited:?}");
        assert_eq!(audited[0].0, format!("druglib:{sha}"));
        assert_eq!(audited[0].1["version"], "2026.11.1");
        assert_eq!(audited[0].1["care_area"], "ICU");

        // The ledger: the pumps (tied to their assets by MAC) with the versions and
        // counts the wire shows, approved exactly when they run the approved library.
        let assets = stdout_json(&ok(
            db,
            &[
                "assets",
                "list",
                "--kind",
                "infusion_pump",
                "--format",
                "json",
            ],
        ));
        let asset_of: BTreeMap<String, String> = assets
            .as_array()
            .expect("assets")
            .iter()
            .map(|a| {
                (
                    a["mac"].as_str().expect("mac").to_owned(),
                    a["asset_id"].as_str().expect("id").to_owned(),
                )
            })
            .collect();
        let rows = ledger(db);
        assert_eq!(rows.len(), 6);
        for (mac, (version, count)) in &wire {
            let id = &asset_of[mac];
            let row = &rows[id];
            assert_eq!(row["version"], version.as_str(), "{row}");
            assert_eq!(row["count"], *count, "{row}");
            let approved = version == ICU_VERSION;
            assert_eq!(row["approved"], approved, "{row}");
            assert_eq!(
                row["library_sha256"],
                if approved {
                    Value::from(sha.as_str())
                } else {
                    Value::Null
                },
                "{row}"
            );
            assert!(row["first_seen"].as_str() <= row["last_seen"].as_str());
            assert!(row["reporter"].is_string(), "{row}");
        }
        let csv =
            String::from_utf8_lossy(&ok(db, &["druglib", "ledger", "--format", "csv"]).stdout)
                .into_owned();
        assert!(
            csv.starts_with("asset_id,version,care_area,approved,count,first_seen,last_seen"),
            "{csv}"
        );
        assert_eq!(csv.lines().count(), 7);

        // Reports sensed now that a library is approved raise one alert per pump that
        // runs another version, with the version among its facts.
        ok(db, &["sense", "--pcap", pcap, "--format", "json"]);
        let alerts = unknown_version_alerts(db);
        let alerted: BTreeSet<&str> = alerts
            .iter()
            .map(|a| a["asset_id"].as_str().expect("tied to the pump"))
            .collect();
        let unapproved: BTreeSet<&str> = wire
            .iter()
            .filter(|(_, (v, _))| v != ICU_VERSION)
            .map(|(mac, _)| asset_of[mac].as_str())
            .collect();
        assert_eq!(alerted, unapproved, "{alerts:#?}");
        for a in &alerts {
            let mac = a["subject"]["mac"].as_str().expect("subject MAC");
            let facts = a["evidence"]["facts"].as_array().expect("facts");
            assert!(
                facts
                    .iter()
                    .any(|f| f["name"] == "version" && f["value"] == wire[mac].0.as_str()),
                "{a}"
            );
            assert!(
                !a["evidence"]["flow_ids"]
                    .as_array()
                    .expect("ids")
                    .is_empty()
            );
        }
        // The second capture adds to the counts.
        let rows = ledger(db);
        for (mac, (_, count)) in &wire {
            assert_eq!(rows[&asset_of[mac]]["count"], 2 * count);
        }

        // LIB-02 is answered: no, citing the pumps with unknown versions.
        let lib = lib02(db);
        assert_eq!(lib["answer"], "no", "{lib}");
        let cited: BTreeSet<&str> = lib["evidence"]["citations"]
            .as_array()
            .expect("citations")
            .iter()
            .map(|c| c["id"].as_str().expect("id"))
            .collect();
        assert_eq!(cited, unapproved, "{lib}");

        // Once every family's library is approved (their versions as the pumps report
        // them), the ledger says so and LIB-02 is yes.
        for (i, v) in wire
            .values()
            .map(|(v, _)| v.clone())
            .filter(|v| v != ICU_VERSION)
            .collect::<BTreeSet<_>>()
            .iter()
            .enumerate()
        {
            let file = p(d, &format!("lib{i}-{}.yaml", db.backend()));
            std::fs::write(&file, library(&format!("Vendor {i}"), v, "ICU")).expect("write");
            let signed = p(d, &format!("lib{i}-{}.cose", db.backend()));
            ok(
                db,
                &[
                    "druglib",
                    "sign",
                    "--key",
                    &key,
                    "--library",
                    &file,
                    "--out",
                    &signed,
                ],
            );
            ok(db, &["druglib", "approve", &signed, "--pubkey", &pubkey]);
        }
        assert!(ledger(db).values().all(|r| r["approved"] == true));
        assert_eq!(lib02(db)["answer"], "yes");
        ok(db, &["audit", "verify"]);
    }
}

#[test]
fn approve_with_the_wrong_key_exits_2_and_stores_nothing() {
    let dbs = rt().block_on(TestDb::all(
        "approve_with_the_wrong_key_exits_2_and_stores_nothing",
    ));
    for db in &dbs {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        let (pharmacy, other) = (p(d, "pharmacy.key"), p(d, "other.key"));
        ok(db, &["druglib", "keygen", "--out", &pharmacy]);
        ok(db, &["druglib", "keygen", "--out", &other]);
        let yaml = p(d, "icu.yaml");
        std::fs::write(&yaml, library("ICU Adult", "2026.11.1", "ICU")).expect("write");
        let signed = p(d, "icu.cose");
        ok(
            db,
            &[
                "druglib",
                "sign",
                "--key",
                &pharmacy,
                "--library",
                &yaml,
                "--out",
                &signed,
            ],
        );
        let out = run(
            db,
            &[
                "druglib",
                "approve",
                &signed,
                "--pubkey",
                &format!("{other}.pub"),
            ],
        );
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.starts_with("error: "), "{err}");
        if let Some(path) = db.sqlite_path() {
            assert!(!path.exists(), "a refused approval creates no database");
        }
        // Nothing approved, nothing audited; the right key then approves it once.
        assert_eq!(
            stdout_json(&ok(db, &["druglib", "ledger", "--format", "json"])),
            Value::Array(vec![])
        );
        assert_eq!(count_rows(db, "druglib_approved"), 0);
        assert!(approvals_audited(db).is_empty());
        ok(
            db,
            &[
                "druglib",
                "approve",
                &signed,
                "--pubkey",
                &format!("{pharmacy}.pub"),
            ],
        );
        assert_eq!(count_rows(db, "druglib_approved"), 1);
        assert_eq!(approvals_audited(db).len(), 1);
    }
}

/// A backend name for file names (one temporary directory serves both).
trait Backend {
    fn backend(&self) -> &'static str;
}

impl Backend for TestDb {
    fn backend(&self) -> &'static str {
        if self.is_postgres() { "pg" } else { "sqlite" }
    }
}
