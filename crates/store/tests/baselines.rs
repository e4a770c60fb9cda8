//! Baselines on both backends: versions that only grow, the newest, one version and
//! the list agreeing with each other and with what was saved, one audited
//! `baseline.learn` per version with the chain intact, a reversed window refused with
//! nothing written, and a corrupt body named by table and version.

use pumpguard_model::{Baseline, DeviceBaseline, MacAddr, ModelBaseline, PeerService};
use pumpguard_store::{AuditVerdict, Store, StoreError};
use pumpguard_testkit::TestDb;

fn t(s: &str) -> jiff::Timestamp {
    s.parse().expect("time")
}

/// A baseline of one pump talking HL7 to its server, learned over `from`..`until`.
fn baseline(from: &str, until: &str, pumps: usize) -> Baseline {
    let model = "Baxter Spectrum IQ".to_owned();
    let peer = PeerService {
        ip: "10.30.0.10".parse().expect("ip"),
        port: 2575,
        proto: "tcp".into(),
        app: "hl7".into(),
    };
    let devices = (0..pumps)
        .map(|i| DeviceBaseline {
            mac: Some(MacAddr([0x00, 0x1a, 0x01, 0, 0, i as u8])),
            ip: Some(format!("10.20.0.{}", i + 5).parse().expect("ip")),
            model: Some(model.clone()),
            peers: vec![peer.clone()],
            listens: vec![80],
            hourly_bytes: (0..24).map(|h| h * 1000).collect(),
            hours_seen: 3,
        })
        .collect();
    Baseline {
        learned_from: t(from),
        learned_until: t(until),
        devices,
        models: vec![ModelBaseline {
            model,
            peers: vec![peer],
            devices: pumps as u32,
        }],
    }
}

fn intact(v: AuditVerdict, name: &str) -> u64 {
    match v {
        AuditVerdict::Intact(s) => s.entries,
        AuditVerdict::Broken(b) => panic!("{name}: chain broken: {b}"),
    }
}

#[tokio::test]
async fn versions_are_saved_listed_and_audited_on_each_backend() {
    for db in TestDb::all("versions_are_saved_listed_and_audited_on_each_backend").await {
        let store = Store::open(&db.url).await.expect("open");
        let name = store.backend_name();
        assert!(store.latest_baseline().await.expect("latest").is_none());
        assert!(store.list_baselines().await.expect("list").is_empty());
        assert!(store.get_baseline(1).await.expect("get").is_none());

        let first = baseline("2026-11-01T08:00:00Z", "2026-11-01T09:00:00Z", 2);
        let second = baseline("2026-11-02T08:00:00Z", "2026-11-02T10:00:00Z", 3);
        let v1 = store
            .save_baseline("test", "sense:ward.pcapng", &first)
            .await
            .expect("save");
        let v2 = store
            .save_baseline("test", "sense:interface:eth1", &second)
            .await
            .expect("save");
        assert!(v2 > v1, "{name}: versions grow ({v1}, {v2})");

        let (info, body) = store.latest_baseline().await.expect("latest").expect("one");
        assert_eq!(info.version, v2, "{name}");
        assert_eq!(body, second, "{name}: the body comes back as saved");
        assert_eq!(
            (info.devices, info.models, info.origin.as_str()),
            (3, 1, "sense:interface:eth1")
        );
        assert_eq!(info.learned_from, second.learned_from);
        assert_eq!(info.learned_until, second.learned_until);

        let (old, body) = store.get_baseline(v1).await.expect("get").expect("v1");
        assert_eq!(body, first, "{name}");
        assert_eq!((old.version, old.devices), (v1, 2));
        assert!(old.created <= info.created);

        let list = store.list_baselines().await.expect("list");
        assert_eq!(
            list,
            vec![info.clone(), old.clone()],
            "{name}: newest first"
        );

        // One audited entry per version, stamped when the version was created.
        for (v, b, origin, created) in [
            (v1, &first, "sense:ward.pcapng", old.created),
            (v2, &second, "sense:interface:eth1", info.created),
        ] {
            let history = store
                .audit_for_object(&format!("baseline:{v}"))
                .await
                .expect("audit");
            assert_eq!(history.len(), 1, "{name}: {history:?}");
            let e = &history[0];
            assert_eq!(
                (e.action.as_str(), e.actor.as_str()),
                ("baseline.learn", "test")
            );
            assert_eq!(e.time, created, "{name}");
            assert_eq!(e.detail["devices"], b.devices.len());
            assert_eq!(e.detail["models"], 1);
            assert_eq!(e.detail["origin"], origin);
            assert_eq!(
                e.detail["learned_from"],
                pumpguard_model::time::rfc3339(b.learned_from)
            );
            assert_eq!(
                e.detail["learned_until"],
                pumpguard_model::time::rfc3339(b.learned_until)
            );
        }
        assert_eq!(intact(store.audit_verify().await.expect("verify"), name), 2);

        // A window that ends before it starts is refused before anything is written.
        let reversed = baseline("2026-11-03T10:00:00Z", "2026-11-03T08:00:00Z", 1);
        let err = store
            .save_baseline("test", "sense:x", &reversed)
            .await
            .expect_err("reversed window");
        assert!(matches!(err, StoreError::Invalid(_)), "{name}: {err}");
        assert_eq!(store.list_baselines().await.expect("list").len(), 2);
        assert_eq!(intact(store.audit_verify().await.expect("verify"), name), 2);

        // An empty baseline (nothing learned about anyone) is still a version.
        let empty = baseline("2026-11-04T08:00:00Z", "2026-11-04T08:00:00Z", 0);
        let v3 = store
            .save_baseline("test", "sense:quiet.pcap", &empty)
            .await
            .expect("save empty");
        assert!(v3 > v2);
        let (info, body) = store.get_baseline(v3).await.expect("get").expect("v3");
        assert_eq!((info.devices, body), (0, empty));
        store.close().await;
    }
}

#[tokio::test]
async fn a_corrupt_body_names_the_table_and_version_on_each_backend() {
    for db in TestDb::all("a_corrupt_body_names_the_table_and_version_on_each_backend").await {
        let store = Store::open(&db.url).await.expect("open");
        let name = store.backend_name();
        let b = baseline("2026-11-01T08:00:00Z", "2026-11-01T09:00:00Z", 1);
        let v1 = store.save_baseline("test", "a", &b).await.expect("save");
        let v2 = store.save_baseline("test", "b", &b).await.expect("save");
        let sql = format!("UPDATE baselines SET body = '{{\"devices\": 7}}' WHERE version = {v2}");
        assert_eq!(db.execute(&sql).await, 1);

        for err in [
            store
                .latest_baseline()
                .await
                .expect_err("latest is corrupt"),
            store.get_baseline(v2).await.expect_err("v2 is corrupt"),
        ] {
            assert!(
                matches!(
                    err,
                    StoreError::Corrupt {
                        table: "baselines",
                        ..
                    }
                ),
                "{name}: {err}"
            );
            assert!(
                err.to_string()
                    .starts_with(&format!("corrupt row in baselines: baseline {v2}: body: ")),
                "{name}: {err}"
            );
            assert!(!err.is_bad_input());
        }
        // The other version and the list (which reads no body) are unharmed.
        assert_eq!(
            store.get_baseline(v1).await.expect("v1").expect("v1").1,
            b,
            "{name}"
        );
        assert_eq!(store.list_baselines().await.expect("list").len(), 2);

        // A window column emptied behind pumpguard's back is corrupt too.
        let sql = format!("UPDATE baselines SET learned_until = NULL WHERE version = {v1}");
        assert_eq!(db.execute(&sql).await, 1);
        let err = store.list_baselines().await.expect_err("list is corrupt");
        assert_eq!(
            err.to_string(),
            format!("corrupt row in baselines: baseline {v1}: learned_until is missing"),
            "{name}"
        );
        store.close().await;
    }
}
