//! The store on both backends: inventory round trips, all-or-nothing imports and the
//! audit chain against tampering done behind the store's back.

use pumpguard_audit::read_export;
use pumpguard_model::{AssetKind, AssetPatch, Criticality, Lifecycle, MacAddr};
use pumpguard_store::{AssetFilter, AuditVerdict, Store, StoreError};
use pumpguard_testkit::TestDb;

fn pump(id: &str, mac: &str) -> AssetPatch {
    AssetPatch {
        kind: Some(AssetKind::InfusionPump),
        vendor: Some(Some("B. Braun".into())),
        mac: Some(Some(mac.parse().expect("mac"))),
        ips: Some(vec!["10.20.0.5".parse().expect("ip")]),
        ..AssetPatch::new(id.parse().expect("id"))
    }
}

fn fleet(n: usize) -> Vec<AssetPatch> {
    (0..n)
        .map(|i| {
            pump(
                &format!("PUMP-{i:04}"),
                &format!("00:12:21:00:{:02x}:{:02x}", i / 256, i % 256),
            )
        })
        .collect()
}

fn intact(v: AuditVerdict) -> u64 {
    match v {
        AuditVerdict::Intact(s) => s.entries,
        AuditVerdict::Broken(b) => panic!("chain broken: {b}"),
    }
}

fn broken_at(v: AuditVerdict) -> u64 {
    match v {
        AuditVerdict::Intact(s) => panic!("tampering not detected: {s}"),
        AuditVerdict::Broken(b) => b.seq,
    }
}

#[tokio::test]
async fn inventory_round_trip_on_each_backend() {
    for db in TestDb::all("inventory_round_trip_on_each_backend").await {
        let store = Store::open(&db.url).await.expect("open");
        let s = store
            .import_assets("test", "a.csv", &fleet(3))
            .await
            .expect("import");
        assert_eq!(
            (s.created, s.updated, s.unchanged),
            (3, 0, 0),
            "{}",
            store.backend_name()
        );
        // 3 creates + 1 import record.
        assert_eq!(s.audit_head.seq, 4);

        // Re-import: one changed, two unchanged; nothing else moves.
        let mut again = fleet(3);
        again[1].criticality = Some(Criticality::LifeSustaining);
        again[1].location = Some(Some("ICU-3 bed 4".into()));
        let s = store
            .import_assets("test", "b.csv", &again)
            .await
            .expect("re-import");
        assert_eq!((s.created, s.updated, s.unchanged), (0, 1, 2));

        let all = store
            .list_assets(&AssetFilter::default())
            .await
            .expect("list");
        assert_eq!(all.len(), 3);
        let p1 = store
            .get_asset("PUMP-0001")
            .await
            .expect("get")
            .expect("exists");
        assert_eq!(p1.criticality, Criticality::LifeSustaining);
        assert_eq!(p1.location.as_deref(), Some("ICU-3 bed 4"));
        assert_eq!(p1.mac.expect("mac").to_string(), "00:12:21:00:00:01");
        assert_eq!(
            p1.ips,
            vec!["10.20.0.5".parse::<std::net::IpAddr>().expect("ip")]
        );
        assert!(store.get_asset("nope").await.expect("get").is_none());

        let history = store
            .audit_for_object("asset:PUMP-0001")
            .await
            .expect("history");
        assert_eq!(history.len(), 2);
        assert_eq!(history[1].action, "asset.update");
        assert_eq!(
            history[1].detail["changes"]["criticality"]["to"],
            "life_sustaining"
        );

        let retired = store
            .set_lifecycle("test", "PUMP-0002", Lifecycle::Retired, Some("stolen"))
            .await
            .expect("retire");
        assert_eq!(retired.asset.lifecycle, Lifecycle::Retired);
        assert_eq!(retired.from, Lifecycle::InService);
        let err = store
            .set_lifecycle("test", "PUMP-0002", Lifecycle::InService, None)
            .await
            .unwrap_err();
        assert!(err.is_bad_input(), "{err}");
        let err = store
            .set_lifecycle("test", "nope", Lifecycle::Retired, None)
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::NotFound(_)), "{err}");

        let in_service = AssetFilter {
            lifecycle: Some(Lifecycle::InService),
            ..Default::default()
        };
        assert_eq!(store.list_assets(&in_service).await.expect("list").len(), 2);
        let by_mac = AssetFilter {
            mac: Some("00:12:21:00:00:02".parse::<MacAddr>().expect("mac")),
            ..Default::default()
        };
        assert_eq!(
            store.list_assets(&by_mac).await.expect("list")[0]
                .asset_id
                .as_str(),
            "PUMP-0002"
        );
        let page = AssetFilter {
            limit: Some(1),
            offset: 1,
            ..Default::default()
        };
        assert_eq!(
            store.list_assets(&page).await.expect("list")[0]
                .asset_id
                .as_str(),
            "PUMP-0001"
        );
        let skip = AssetFilter {
            offset: 2,
            ..Default::default()
        };
        assert_eq!(store.list_assets(&skip).await.expect("list").len(), 1);

        assert_eq!(intact(store.audit_verify().await.expect("verify")), 7);
        store.close().await;
    }
}

#[tokio::test]
async fn a_rejected_import_leaves_the_store_as_it_was() {
    for db in TestDb::all("a_rejected_import_leaves_the_store_as_it_was").await {
        let store = Store::open(&db.url).await.expect("open");
        store
            .import_assets("test", "a.csv", &fleet(2))
            .await
            .expect("import");
        let before = store
            .list_assets(&AssetFilter::default())
            .await
            .expect("list");
        let head_before = intact(store.audit_verify().await.expect("verify"));

        // Item 9,999 of 10,000 revives a retired asset: refused, nothing written.
        store
            .set_lifecycle("test", "PUMP-0001", Lifecycle::Retired, None)
            .await
            .expect("retire");
        let mut big = fleet(10_000);
        big[1].lifecycle = Some(Lifecycle::InService);
        big.swap(1, 9_998);
        let err = store
            .import_assets("test", "big.csv", &big)
            .await
            .unwrap_err();
        assert!(
            matches!(err, StoreError::Rejected { index: 9_998, .. }),
            "{err}"
        );

        let mut dup = fleet(3);
        dup[2].asset_id = "PUMP-0000".parse().expect("id");
        let err = store
            .import_assets("test", "dup.csv", &dup)
            .await
            .unwrap_err();
        assert!(
            matches!(err, StoreError::Rejected { index: 2, .. }),
            "{err}"
        );

        let mut same_mac = fleet(3);
        same_mac[2].mac = same_mac[0].mac;
        let err = store
            .import_assets("test", "mac.csv", &same_mac)
            .await
            .unwrap_err();
        assert!(
            matches!(err, StoreError::Rejected { index: 2, .. }),
            "{err}"
        );

        let after = store
            .list_assets(&AssetFilter::default())
            .await
            .expect("list");
        assert_eq!(after.len(), before.len());
        assert_eq!(
            intact(store.audit_verify().await.expect("verify")),
            head_before + 1
        );
        store.close().await;
    }
}

#[tokio::test]
async fn tampering_with_audit_rows_is_caught_and_named() {
    for db in TestDb::all("tampering_with_audit_rows_is_caught_and_named").await {
        // Each case starts from a fresh chain of 6 entries (5 creates + import).
        let cases: &[(&str, u64)] = &[
            ("UPDATE audit_log SET actor = 'mallory' WHERE seq = 2", 2),
            ("UPDATE audit_log SET detail = '{}' WHERE seq = 4", 4),
            ("UPDATE audit_log SET detail = 'not json' WHERE seq = 3", 3),
            ("UPDATE audit_log SET time = time + 1 WHERE seq = 5", 5),
            ("DELETE FROM audit_log WHERE seq = 3", 3),
            ("DELETE FROM audit_log WHERE seq = 6", 6),
            ("DELETE FROM audit_log WHERE seq >= 5", 5),
            ("UPDATE audit_log SET seq = seq + 100 WHERE seq = 6", 6),
            ("UPDATE audit_head SET seq = 5", 6),
            ("DELETE FROM audit_head", 7),
        ];
        for (sql, seq) in cases {
            let fresh = if db.is_postgres() {
                TestDb::postgres(&pumpguard_testkit::pg_url("tampering").expect("pg")).await
            } else {
                TestDb::sqlite()
            };
            let store = Store::open(&fresh.url).await.expect("open");
            store
                .import_assets("test", "a.csv", &fleet(5))
                .await
                .expect("import");
            assert_eq!(intact(store.audit_verify().await.expect("verify")), 6);
            assert!(fresh.execute(sql).await > 0, "{sql} changed nothing");
            let got = broken_at(store.audit_verify().await.expect("verify"));
            assert_eq!(got, *seq, "{sql} on {}", store.backend_name());

            // The export of a tampered store does not verify either.
            let mut out = Vec::new();
            let verdict = store.audit_export(&mut out).await.expect("export");
            assert!(matches!(verdict, AuditVerdict::Broken(_)));
            assert!(
                read_export(out.as_slice()).is_err(),
                "{sql}: export verified"
            );
            store.close().await;
        }
    }
}

#[tokio::test]
async fn an_untouched_export_verifies_without_the_database() {
    for db in TestDb::all("an_untouched_export_verifies_without_the_database").await {
        let store = Store::open(&db.url).await.expect("open");
        store
            .import_assets("test", "a.csv", &fleet(20))
            .await
            .expect("import");
        store
            .set_lifecycle(
                "test",
                "PUMP-0003",
                Lifecycle::Quarantined,
                Some("beaconing"),
            )
            .await
            .expect("quarantine");
        let mut out = Vec::new();
        assert_eq!(
            intact(store.audit_export(&mut out).await.expect("export")),
            22
        );
        let summary = read_export(out.as_slice()).expect("export verifies");
        assert_eq!(summary.entries, 22);
        store.close().await;
    }
}
