//! Baselines end to end: `sense --learn` on a clean ward stores version 1 (audited),
//! `baselines list|show` read it back, and sensing the same ward under attack compares
//! with version 1, so the pivot alert explains itself ("never spoke to … before").
//! Without `--learn`, a store with no baseline learns the first minutes on its own.

mod common;

use common::sim;
use serde_json::Value;

fn pumpguard(db: &std::path::Path) -> assert_cmd::Command {
    let mut c = assert_cmd::Command::cargo_bin("pumpguard").expect("binary");
    c.env_remove("PUMPGUARD_DB")
        .env("PUMPGUARD_ACTOR", "test:baselines")
        .arg("--db")
        .arg(format!("sqlite://{}", db.display()));
    c
}

fn json(cmd: &mut assert_cmd::Command) -> Value {
    let out = cmd.output().expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON")
}

fn ward(dir: &std::path::Path, name: &str, scenario: &str) -> (std::path::PathBuf, Value) {
    let file = dir.join(name);
    let truth = sim(
        &file,
        &[
            "--pumps",
            "20",
            "--minutes",
            "30",
            "--seed",
            "3",
            "--scenario",
            scenario,
        ],
    );
    (file, truth)
}

#[test]
fn a_learned_baseline_is_stored_shown_and_explains_the_pivot() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("baselines.db");
    let (clean, _) = ward(dir.path(), "clean.pcapng", "none");
    let learned = json(
        pumpguard(&db)
            .args(["sense", "--learn", "--format", "json", "--pcap"])
            .arg(&clean),
    );
    assert_eq!(learned["baseline_saved"], 1, "{learned}");
    assert!(learned["baseline_used"].is_null(), "{learned}");

    let list = json(pumpguard(&db).args(["baselines", "list", "--format", "json"]));
    let list = list.as_array().expect("a list");
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["version"], 1);
    assert!(
        list[0]["devices"].as_u64().expect("devices") >= 20,
        "{list:?}"
    );
    assert_eq!(
        list[0]["origin"].as_str(),
        Some(format!("sense:{}", clean.display()).as_str())
    );

    let shown = json(pumpguard(&db).args(["baselines", "show", "1", "--format", "json"]));
    let devices = shown["devices"].as_array().expect("devices");
    assert_eq!(devices.len() as u64, list[0]["devices"].as_u64().unwrap());
    // Every pump of the ward talks to a server it has a peer entry for.
    let with_peers = devices
        .iter()
        .filter(|d| d["peers"].as_array().is_some_and(|p| !p.is_empty()))
        .count();
    assert!(with_peers >= 20, "{with_peers} devices with peers");
    let history = shown["history"].as_array().expect("history");
    assert_eq!(history.len(), 1, "{history:?}");
    assert_eq!(history[0]["action"], "baseline.learn");
    assert_eq!(history[0]["actor"], "test:baselines");

    // One device, by address: only it, and only its model.
    let ip = devices
        .iter()
        .find_map(|d| d["ip"].as_str().filter(|_| d["model"].is_string()))
        .expect("a device with an address and a model");
    let one = json(pumpguard(&db).args(["baselines", "show", "--device", ip, "--format", "json"]));
    let one_devices = one["devices"].as_array().expect("devices");
    assert_eq!(one_devices.len(), 1, "{one}");
    assert_eq!(one_devices[0]["ip"], ip);
    assert!(
        one["models"]
            .as_array()
            .expect("models")
            .iter()
            .all(|m| m["model"] == one_devices[0]["model"]),
        "{one}"
    );

    // The same ward under attack, compared with version 1 (and nothing new learned).
    let (attacked, truth) = ward(dir.path(), "attacked.pcapng", "all");
    let report = json(
        pumpguard(&db)
            .args(["sense", "--format", "json", "--pcap"])
            .arg(&attacked),
    );
    assert_eq!(report["baseline_used"], 1, "{report}");
    assert!(report["baseline_saved"].is_null(), "{report}");
    let pivot = truth["scenarios"]
        .as_array()
        .expect("scenarios")
        .iter()
        .find(|s| s["name"] == "pump_pivot_to_ehr")
        .expect("the pivot scenario");
    let alerts = json(pumpguard(&db).args(["alerts", "list", "--format", "json"]));
    let sentences: Vec<&str> = alerts
        .as_array()
        .expect("alerts")
        .iter()
        .filter(|a| a["kind"] == "pump_pivot")
        .filter_map(|a| a["evidence"]["sentence"].as_str())
        .collect();
    let attacker = pivot["attacker"]["ip"].as_str().expect("attacker ip");
    assert!(
        sentences
            .iter()
            .any(|s| s.contains("never spoke to") && s.contains(attacker)),
        "pivot sentences: {sentences:#?}"
    );
    let volume = alerts
        .as_array()
        .expect("alerts")
        .iter()
        .filter(|a| a["kind"] == "volume_anomaly")
        .count();
    assert!(
        volume >= 1,
        "the exfiltration is far above the pump's hours"
    );
}

#[test]
fn without_a_stored_baseline_the_first_minutes_are_learned() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("auto.db");
    let (clean, _) = ward(dir.path(), "clean.pcapng", "none");
    let first = json(
        pumpguard(&db)
            .args([
                "sense",
                "--learn-minutes",
                "10",
                "--format",
                "json",
                "--pcap",
            ])
            .arg(&clean),
    );
    assert_eq!(first["baseline_saved"], 1, "{first}");
    let shown = json(pumpguard(&db).args(["baselines", "show", "--format", "json"]));
    let from: jiff::Timestamp = shown["baseline"]["learned_from"]
        .as_str()
        .expect("from")
        .parse()
        .expect("time");
    let until: jiff::Timestamp = shown["baseline"]["learned_until"]
        .as_str()
        .expect("until")
        .parse()
        .expect("time");
    let window = until.as_second() - from.as_second();
    assert!((540..=600).contains(&window), "window of {window} s");

    // Now one is stored: the next run uses it and learns nothing.
    let second = json(
        pumpguard(&db)
            .args(["sense", "--format", "json", "--pcap"])
            .arg(&clean),
    );
    assert_eq!(second["baseline_used"], 1, "{second}");
    assert!(second["baseline_saved"].is_null(), "{second}");

    // --learn-minutes 0 on an empty store: nothing learned, nothing saved.
    let db0 = dir.path().join("none.db");
    let none = json(
        pumpguard(&db0)
            .args([
                "sense",
                "--learn-minutes",
                "0",
                "--format",
                "json",
                "--pcap",
            ])
            .arg(&clean),
    );
    assert!(none["baseline_saved"].is_null(), "{none}");
    assert!(none["baseline_used"].is_null(), "{none}");
    let empty = pumpguard(&db0)
        .args(["baselines", "show"])
        .output()
        .expect("runs");
    assert!(!empty.status.success());
    assert!(
        String::from_utf8_lossy(&empty.stderr).contains("no baseline is stored yet"),
        "{}",
        String::from_utf8_lossy(&empty.stderr)
    );
}
