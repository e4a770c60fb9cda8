//! `pumpguard policy …` on simulated wards: a policy learned from a clean ward allows
//! all of its traffic (zero violations) and flags the attack scenarios that cross
//! zones; faults in a policy file name the file and line; `diff` says what changes.

mod common;

use std::collections::BTreeSet;

use common::*;
use serde_json::Value;

fn ward(dir: &std::path::Path, name: &str, scenario: &str) -> (String, Value) {
    let pcap = dir.join(format!("{name}.pcapng"));
    let truth = sim(
        &pcap,
        &[
            "--pumps",
            "12",
            "--minutes",
            "6",
            "--seed",
            "11",
            "--scenario",
            scenario,
        ],
    );
    (pcap.to_str().expect("utf-8").to_owned(), truth)
}

#[test]
fn a_learned_policy_allows_clean_traffic_and_flags_crossing_attacks() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (clean, _) = ward(dir.path(), "clean", "none");
    let db = TestDb::sqlite();
    ok(&db, &["sense", "--pcap", &clean, "--format", "json"]);
    let learned = dir.path().join("learned.yaml");
    let learned = learned.to_str().expect("utf-8");
    ok(&db, &["policy", "learn", "--out", learned]);
    let text = std::fs::read_to_string(learned).expect("learned policy");
    assert!(text.contains("infusion_pump"), "{text}");
    assert!(text.contains("default: deny"), "{text}");

    // It compiles for each target; nft itself accepts the ruleset (checked in a user and
    // network namespace of its own, so the host's ruleset is never touched).
    let nft = dir.path().join("learned.nft");
    let nft = nft.to_str().expect("utf-8");
    ok(
        &db,
        &[
            "policy", "compile", "--policy", learned, "--target", "nftables", "--out", nft,
        ],
    );
    let checked = std::process::Command::new("unshare")
        .args(["-rn", "nft", "-c", "-f", nft])
        .output()
        .expect("unshare and nft are installed (.ci/run installs nftables)");
    assert!(
        checked.status.success(),
        "nft -c refused {nft}: {}",
        String::from_utf8_lossy(&checked.stderr)
    );
    let acl = dir.path().join("learned.ios");
    ok(
        &db,
        &[
            "policy",
            "compile",
            "--policy",
            learned,
            "--target",
            "cisco-acl",
            "--out",
            acl.to_str().expect("utf-8"),
        ],
    );
    let ios = std::fs::read_to_string(&acl).expect("acl");
    assert!(ios.contains("ip access-list extended PG-INFUSION"), "{ios}");
    let mud = dir.path().join("mud");
    ok(
        &db,
        &[
            "policy",
            "compile",
            "--policy",
            learned,
            "--target",
            "mud",
            "--out",
            mud.to_str().expect("utf-8"),
        ],
    );
    let pump_mud: Value = serde_json::from_slice(
        &std::fs::read(mud.join("infusion_pump.json")).expect("pump MUD file"),
    )
    .expect("JSON");
    assert!(
        pump_mud["ietf-mud:mud"]["mud-url"]
            .as_str()
            .is_some_and(|u| u.ends_with("/infusion_pump.json"))
    );

    // The traffic it learned from passes: stored flows, and the capture sensed again.
    let stored = stdout_json(&ok(
        &db,
        &["policy", "check", "--policy", learned, "--format", "json"],
    ));
    assert_eq!(stored["violations"], serde_json::json!([]), "{stored}");
    assert!(stored["allowed"].as_u64().expect("allowed") > 0, "{stored}");
    let again = stdout_json(&ok(
        &db,
        &[
            "policy", "check", "--policy", learned, "--pcap", &clean, "--format", "json",
        ],
    ));
    assert_eq!(again["violations"], serde_json::json!([]), "{again}");
    assert_eq!(again["flows"], stored["flows"]);

    // The same ward under attack: the crossings are flagged, and only attack traffic is.
    let (attacked, truth) = ward(dir.path(), "attacked", "all");
    let report = stdout_json(&ok(
        &db,
        &[
            "policy", "check", "--policy", learned, "--pcap", &attacked, "--format", "json",
        ],
    ));
    let violations = report["violations"].as_array().expect("violations");
    let flagged: BTreeSet<(String, String)> = violations
        .iter()
        .map(|v| {
            (
                v["client_ip"].as_str().expect("ip").to_owned(),
                v["server_ip"].as_str().expect("ip").to_owned(),
            )
        })
        .collect();
    let scenarios = truth["scenarios"].as_array().expect("scenarios");
    let attackers: BTreeSet<&str> = scenarios
        .iter()
        .flat_map(|s| [s["attacker"]["ip"].as_str(), s["target"]["ip"].as_str()])
        .flatten()
        .collect();
    for (client, server) in &flagged {
        assert!(
            attackers.contains(client.as_str()) || attackers.contains(server.as_str()),
            "{client} -> {server} is flagged but no scenario involves it: {report}"
        );
    }
    for name in ["pump_pivot_to_ehr", "exfiltration_to_internet"] {
        let s = scenarios
            .iter()
            .find(|s| s["name"] == name)
            .expect("scenario played");
        let pair = (
            s["attacker"]["ip"].as_str().expect("ip").to_owned(),
            s["target"]["ip"].as_str().expect("ip").to_owned(),
        );
        assert!(
            flagged.contains(&pair),
            "{name} {pair:?} not flagged: {flagged:?}"
        );
    }
    let pivot = violations
        .iter()
        .find(|v| v["client_zone"] == "infusion_pump")
        .expect("a pump crossing");
    assert!(!pivot["flow_keys"].as_array().expect("keys").is_empty());

    // The sensor, given the policy, raises a policy_violation alert per violation.
    let db2 = TestDb::sqlite();
    ok(&db2, &["sense", "--pcap", &clean, "--format", "json"]);
    ok(
        &db2,
        &[
            "sense", "--pcap", &attacked, "--policy", learned, "--format", "json",
        ],
    );
    let alerts = stdout_json(&ok(
        &db2,
        &[
            "alerts",
            "list",
            "--kind",
            "policy_violation",
            "--format",
            "json",
        ],
    ));
    let alerts = alerts.as_array().expect("alerts");
    // Alerts are one per kind, subject and peer: one per client and server pair.
    assert_eq!(alerts.len(), flagged.len(), "{alerts:?}");
    let exfil = alerts
        .iter()
        .find(|a| {
            a["peer"]["ip"] == "203.0.113.45"
                || a["evidence"]["sentence"]
                    .as_str()
                    .is_some_and(|s| s.contains("no zone"))
        })
        .expect("the exfiltration is an alert");
    assert!(
        !exfil["evidence"]["flows"]
            .as_array()
            .expect("flows")
            .is_empty()
    );
    // A bad policy stops sense before it reads anything.
    let bad = write(dir.path(), "bad.yaml", "zones: []\n");
    let out = run(&db2, &["sense", "--pcap", &clean, "--policy", &bad]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn policy_faults_name_the_file_and_line_and_diff_says_what_changes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = TestDb::sqlite();
    let base = "\
zones:
  - name: pumps
    vlan: 120
    cidrs: [10.20.0.0/16]
  - name: pump_servers
    vlan: 130
    cidrs: [10.30.0.0/24]
conduits:
  - from: pumps
    to: pump_servers
    services: [tcp/8443, udp/123]
default: deny
";
    let bad = write(
        dir.path(),
        "bad.yaml",
        &base.replace("to: pump_servers", "to: ehr"),
    );
    let out = run(&db, &["policy", "check", "--policy", &bad]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out).trim(),
        format!("error: {bad}:10: unknown zone 'ehr'")
    );

    let old = write(dir.path(), "old.yaml", base);
    let new = write(
        dir.path(),
        "new.yaml",
        &base
            .replace("tcp/8443, udp/123", "tcp/8443, tcp/22")
            .replace("10.30.0.0/24", "10.30.0.0/23"),
    );
    let d = stdout_json(&ok(
        &db,
        &["policy", "diff", &old, &new, "--format", "json"],
    ));
    assert_eq!(d["conduits"][0]["opened"], serde_json::json!(["tcp/22"]));
    assert_eq!(d["conduits"][0]["closed"], serde_json::json!(["udp/123"]));
    assert_eq!(d["zones_changed"][0]["field"], "cidrs");
    let same = stdout_json(&ok(
        &db,
        &["policy", "diff", &old, &old, "--format", "json"],
    ));
    assert_eq!(same["conduits"], serde_json::json!([]));
    assert_eq!(same["zones_changed"], serde_json::json!([]));
}
