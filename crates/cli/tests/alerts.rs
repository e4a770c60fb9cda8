//! `pumpguard alerts …` end to end, on SQLite and on PostgreSQL: alerts stored through
//! the store API (as `sense` stores them), then listed as JSON and CSV (read back by
//! Python's csv module), shown, acknowledged and resolved by the binary.

mod common;

use common::*;
use pumpguard_model::time::Timestamp;
use pumpguard_model::{
    AlertEvidence, AlertFact, AlertKind, AssetKind, AssetPatch, Criticality, Detection, Endpoint,
    Severity,
};
use pumpguard_store::Store;

fn t(s: &str) -> Timestamp {
    s.parse().expect("time")
}

fn detection(kind: AlertKind, subject: &str, peer: &str, when: &str) -> Detection {
    let end = |ip: &str| Endpoint {
        ip: Some(ip.parse().expect("ip")),
        mac: None,
    };
    Detection {
        kind,
        severity: Severity::Medium,
        subject: end(subject),
        peer: Some(end(peer)),
        proto: "telnet".into(),
        port: Some(23),
        first_seen: t(when),
        last_seen: t(when),
        count: 3,
        evidence: AlertEvidence {
            flows: vec![format!("tcp {subject} 23 {peer} 50000")],
            flow_ids: vec![],
            facts: vec![AlertFact {
                name: "telnet.banner".into(),
                value: "SpaceCom, v2".into(),
            }],
            sentence: format!("{peer} opened telnet, in cleartext, to {subject}"),
        },
        action: "Disable telnet on the pump; manage it over the vendor's TLS channel.".into(),
    }
}

/// A life-sustaining pump, and two alerts: telnet into it, weak TLS on a server.
fn seed(db: &TestDb) {
    rt().block_on(async {
        let store = Store::open(&db.url).await.expect("open");
        let pump = AssetPatch {
            kind: Some(AssetKind::InfusionPump),
            criticality: Some(Criticality::LifeSustaining),
            ips: Some(vec!["10.20.0.5".parse().expect("ip")]),
            ..AssetPatch::new("PUMP-1".parse().expect("id"))
        };
        store
            .import_assets("test", "inv.csv", &[pump])
            .await
            .expect("import");
        let mut weak = detection(
            AlertKind::WeakTlsVersion,
            "10.30.0.10",
            "10.20.0.6",
            "2026-11-02T08:00:00Z",
        );
        weak.severity = Severity::Low;
        weak.proto = "tls".into();
        weak.port = Some(443);
        let detections = [
            detection(
                AlertKind::CleartextManagementToPump,
                "10.20.0.5",
                "10.99.0.1",
                "2026-11-01T08:00:00Z",
            ),
            weak,
        ];
        let r = store
            .record_sense("sensor", "ward.pcap", &[], &[], &detections)
            .await
            .expect("sense");
        assert_eq!(r.alerts_raised, 2);
        store.close().await;
    });
}

fn python_csv(bytes: &[u8]) -> serde_json::Value {
    let py = std::process::Command::new("python3")
        .args([
            "-c",
            "import csv,sys,json; print(json.dumps(list(csv.DictReader(sys.stdin))))",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().expect("stdin").write_all(bytes)?;
            c.wait_with_output()
        })
        .expect("python3");
    serde_json::from_slice(&py.stdout).expect("python json")
}

#[test]
fn list_show_ack_resolve_on_each_backend() {
    let dbs = rt().block_on(TestDb::all("list_show_ack_resolve_on_each_backend"));
    for db in &dbs {
        seed(db);
        assert_eq!(count_rows(db, "alerts"), 2);

        let list = stdout_json(&ok(db, &["alerts", "list", "--format", "json"]));
        let list = list.as_array().expect("array");
        assert_eq!(list.len(), 2);
        let pump = &list[0];
        assert_eq!(pump["kind"], "cleartext_management_to_pump");
        assert_eq!(
            pump["severity"], "high",
            "raised for a life-sustaining pump"
        );
        assert_eq!(pump["status"], "open");
        assert_eq!(pump["asset_id"], "PUMP-1");
        assert_eq!(pump["count"], 3);
        let id = pump["id"].as_i64().expect("id").to_string();
        let weak_id = list[1]["id"].as_i64().expect("id").to_string();

        // CSV parses back with Python's csv module, commas in text and all.
        let rows = python_csv(&ok(db, &["alerts", "list", "--format", "csv"]).stdout);
        assert_eq!(rows.as_array().expect("rows").len(), 2);
        assert_eq!(rows[0]["id"], id.as_str());
        assert_eq!(rows[0]["subject_ip"], "10.20.0.5");
        assert_eq!(rows[0]["peer_ip"], "10.99.0.1");
        assert_eq!(rows[0]["port"], "23");
        assert_eq!(
            rows[0]["sentence"],
            "10.99.0.1 opened telnet, in cleartext, to 10.20.0.5"
        );
        assert_eq!(rows[1]["severity"], "low");

        let filtered = |args: &[&str]| {
            let mut all = vec!["alerts", "list", "--format", "json"];
            all.extend_from_slice(args);
            stdout_json(&ok(db, &all))
                .as_array()
                .expect("array")
                .iter()
                .map(|a| a["id"].as_i64().expect("id").to_string())
                .collect::<Vec<String>>()
        };
        assert_eq!(filtered(&["--severity", "medium"]), [id.as_str()]);
        assert_eq!(
            filtered(&["--since", "2026-11-01T12:00:00Z"]),
            [weak_id.as_str()]
        );
        assert_eq!(
            filtered(&["--kind", "weak_tls_version"]),
            [weak_id.as_str()]
        );
        assert_eq!(filtered(&["--asset", "PUMP-1"]), [id.as_str()]);
        assert_eq!(
            filtered(&["--limit", "1", "--offset", "1"]),
            [weak_id.as_str()]
        );
        let table = ok(db, &["alerts", "list", "--format", "table"]);
        assert!(String::from_utf8_lossy(&table.stdout).contains("2 alert(s)"));

        let show = stdout_json(&ok(db, &["alerts", "show", &id, "--format", "json"]));
        assert_eq!(
            show["alert"]["evidence"]["facts"][0]["value"],
            "SpaceCom, v2"
        );
        assert_eq!(show["alert"]["evidence"]["flow_ids"], serde_json::json!([]));
        assert_eq!(show["history"][0]["action"], "alert.raise");
        let text = ok(db, &["alerts", "show", &id, "--format", "table"]);
        let text = String::from_utf8_lossy(&text.stdout);
        for part in [
            "telnet.banner",
            "tcp 10.20.0.5 23 10.99.0.1 50000",
            "Disable telnet on the pump",
            "alert.raise",
            "raised (high): 10.99.0.1 opened telnet",
        ] {
            assert!(text.contains(part), "{part} missing from:\n{text}");
        }

        let out = ok(db, &["alerts", "ack", &id]);
        assert!(
            stderr(&out).contains("open -> acknowledged"),
            "{}",
            stderr(&out)
        );
        let out = ok(db, &["alerts", "ack", &id]);
        assert!(stderr(&out).contains("already acknowledged"));
        assert_eq!(filtered(&["--status", "acknowledged"]), [id.as_str()]);
        ok(db, &["alerts", "resolve", &id]);
        assert_eq!(filtered(&["--status", "resolved"]), [id.as_str()]);
        let show = stdout_json(&ok(db, &["alerts", "show", &id, "--format", "json"]));
        let actions: Vec<&str> = show["history"]
            .as_array()
            .expect("history")
            .iter()
            .map(|e| e["action"].as_str().expect("action"))
            .collect();
        assert_eq!(actions, ["alert.raise", "alert.ack", "alert.resolve"]);
        ok(db, &["audit", "verify"]);

        // Unknown ids and bad values are the caller's mistake: exit 2, one line.
        for args in [
            ["alerts", "ack", "999999"],
            ["alerts", "resolve", "999999"],
            ["alerts", "show", "999999"],
        ] {
            let out = run(db, &args);
            assert_eq!(out.status.code(), Some(2), "{args:?}");
            let err = stderr(&out);
            assert!(err.starts_with("error: "), "{err}");
            assert!(err.contains("alert 999999 not found"), "{err}");
            assert_eq!(err.lines().count(), 1, "{err}");
        }
        let out = run(db, &["alerts", "list", "--since", "yesterday"]);
        assert_eq!(out.status.code(), Some(2));
        assert_eq!(count_rows(db, "alerts"), 2);
    }
}
