//! Detection end to end: a simulated ward with every attack scenario, sensed with the
//! ward's drug library and a syslog receiver; the stored alerts name each scenario's
//! asset with its expected kinds, and what the receiver got parses back (CEF) into
//! the same alerts. `alerts export` writes the same CEF and ECS lines.

mod common;

use std::collections::BTreeSet;
use std::net::UdpSocket;
use std::time::Duration;

use common::sim;
use serde_json::Value;

fn pumpguard(db: &std::path::Path) -> assert_cmd::Command {
    let mut c = assert_cmd::Command::cargo_bin("pumpguard").expect("binary");
    c.env_remove("PUMPGUARD_DB")
        .env("PUMPGUARD_ACTOR", "test:detect")
        .arg("--db")
        .arg(format!("sqlite://{}", db.display()));
    c
}

fn ok(out: std::process::Output) -> Vec<u8> {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[test]
fn scenarios_become_stored_alerts_and_reach_a_syslog_receiver() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ward = dir.path().join("ward.pcapng");
    let truth = sim(
        &ward,
        &[
            "--pumps",
            "20",
            "--minutes",
            "30",
            "--seed",
            "3",
            "--scenario",
            "all",
        ],
    );
    let db = dir.path().join("detect.db");
    let receiver = UdpSocket::bind("127.0.0.1:0").expect("bind");
    receiver
        .set_read_timeout(Some(Duration::from_millis(500)))
        .expect("timeout");
    let url = format!("udp://{}", receiver.local_addr().expect("addr"));
    let report: Value = serde_json::from_slice(&ok(pumpguard(&db)
        .args([
            "sense",
            "--format",
            "json",
            "--syslog",
            &url,
            "--drug-library",
        ])
        .arg(dir.path().join("ward.druglib.yaml"))
        .arg("--pcap")
        .arg(&ward)
        .output()
        .expect("runs")))
    .expect("report");
    let raised = report["alerts_raised"].as_u64().expect("alerts_raised");
    assert!(raised > 0, "{report}");
    assert_eq!(
        report["alerts_forwarded"].as_u64(),
        Some(raised),
        "{report}"
    );

    let alerts: Vec<Value> = serde_json::from_slice(&ok(pumpguard(&db)
        .args(["alerts", "list", "--format", "json"])
        .output()
        .expect("runs")))
    .expect("alerts JSON");
    assert_eq!(alerts.len() as u64, raised);
    let assets: Vec<Value> = serde_json::from_slice(&ok(pumpguard(&db)
        .args(["assets", "list", "--format", "json"])
        .output()
        .expect("runs")))
    .expect("assets JSON");
    // The asset id of an address or MAC, as the inventory has it.
    let asset_of = |ip: &str, mac: Option<&str>| -> Option<String> {
        assets
            .iter()
            .find(|a| {
                mac.is_some_and(|m| a["mac"].as_str() == Some(m))
                    || a["ips"]
                        .as_array()
                        .is_some_and(|l| l.iter().any(|x| x.as_str() == Some(ip)))
            })
            .and_then(|a| a["asset_id"].as_str().map(str::to_owned))
    };
    let mut missing = Vec::new();
    for s in truth["scenarios"].as_array().expect("scenarios") {
        let mut kinds: Vec<&str> = vec![s["expected_alert"].as_str().expect("kind")];
        if let Some(more) = s["also_expected_alerts"].as_array() {
            kinds.extend(more.iter().filter_map(Value::as_str));
        }
        let ends: BTreeSet<Option<String>> = ["attacker", "target"]
            .iter()
            .map(|p| asset_of(s[p]["ip"].as_str().unwrap_or(""), s[p]["mac"].as_str()))
            .collect();
        for kind in kinds {
            let found = alerts.iter().any(|a| {
                a["kind"] == kind
                    && (ends.contains(&a["asset_id"].as_str().map(str::to_owned))
                        || ends.contains(&a["peer_asset_id"].as_str().map(str::to_owned)))
            });
            if !found {
                missing.push(format!("{}: {kind} on {ends:?}", s["name"]));
            }
        }
    }
    assert!(missing.is_empty(), "{missing:#?}");

    // What the syslog receiver got: RFC 5424 frames whose message is CEF.
    let mut received = Vec::new();
    let mut buf = vec![0u8; 65_536];
    while let Ok(n) = receiver.recv(&mut buf) {
        received.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
    assert_eq!(received.len() as u64, raised);
    let mut ids = BTreeSet::new();
    for frame in &received {
        assert!(frame.starts_with('<'), "{frame}");
        let at = frame.find("CEF:0|").expect("a CEF message");
        let cef = pumpguard_siem::parse_cef(&frame[at..]).expect("CEF parses");
        let alert = cef.to_alert().expect("back to an alert");
        let stored = alerts
            .iter()
            .find(|a| a["id"].as_i64() == Some(alert.id))
            .expect("a stored alert");
        assert_eq!(stored["kind"].as_str(), Some(alert.kind.as_str()));
        assert_eq!(stored["severity"].as_str(), Some(alert.severity.as_str()));
        assert_eq!(stored["asset_id"].as_str(), alert.asset_id.as_deref());
        ids.insert(alert.id);
    }
    assert_eq!(ids.len(), received.len(), "each alert once");

    // `alerts export`: one CEF line or one ECS object per alert.
    let cef = String::from_utf8(ok(pumpguard(&db)
        .args(["alerts", "export", "--format", "cef"])
        .output()
        .expect("runs")))
    .expect("utf-8");
    assert_eq!(cef.lines().count(), alerts.len());
    for line in cef.lines() {
        pumpguard_siem::parse_cef(line).expect("exported CEF parses");
    }
    let ecs = String::from_utf8(ok(pumpguard(&db)
        .args([
            "alerts",
            "export",
            "--format",
            "ecs",
            "--severity",
            "critical",
        ])
        .output()
        .expect("runs")))
    .expect("utf-8");
    let critical = alerts
        .iter()
        .filter(|a| a["severity"] == "critical")
        .count();
    assert!(critical >= 5, "{critical} critical alerts");
    assert_eq!(ecs.lines().count(), critical);
    for line in ecs.lines() {
        let v: Value = serde_json::from_str(line).expect("ECS line is JSON");
        assert_eq!(v["event"]["kind"], "alert", "{v}");
    }
}

#[test]
fn a_bad_syslog_url_stops_sense_before_reading() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("x.db");
    let out = pumpguard(&db)
        .args([
            "sense",
            "--syslog",
            "smtp://127.0.0.1:25",
            "--pcap",
            "/nonexistent.pcap",
        ])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("error: ") && err.contains("smtp://127.0.0.1:25"),
        "{err}"
    );
}
