//! What the sensor writes, on both backends: discovered assets, imported assets linked
//! (not duplicated), evidence counts that add up across batches, flows aggregated by
//! 5-tuple whichever way round a batch saw them, and the audit chain intact.

use pumpguard_model::{
    AssetKind, AssetPatch, Evidence, Field, FlowRecord, MacAddr, Sighting, Source,
};
use pumpguard_store::{AssetFilter, AuditVerdict, FlowFilter, Store};
use pumpguard_testkit::TestDb;

fn t(s: &str) -> jiff::Timestamp {
    s.parse().expect("time")
}

fn sighting(mac: Option<&str>, ip: &str, hostname: Option<&str>, when: &str) -> Sighting {
    Sighting {
        mac: mac.map(|m| m.parse::<MacAddr>().expect("mac")),
        ips: vec![ip.parse().expect("ip")],
        hostname: hostname.map(str::to_owned),
        kind: Some(AssetKind::InfusionPump),
        vendor: Some("B. Braun".into()),
        model: None,
        firmware: Some("686E.U".into()),
        serial: None,
        first_seen: t(when),
        last_seen: t(when),
        evidence: vec![Evidence {
            field: Field::Hostname,
            value: hostname.unwrap_or("x").into(),
            source: "dhcp.option12".into(),
            confidence: 90,
            first_seen: t(when),
            last_seen: t(when),
            count: 2,
        }],
    }
}

fn flow(client: (&str, u16), server: (&str, u16), packets: (u64, u64), when: &str) -> FlowRecord {
    FlowRecord {
        proto: "tcp".into(),
        client_ip: client.0.parse().expect("ip"),
        client_port: client.1,
        server_ip: server.0.parse().expect("ip"),
        server_port: server.1,
        client_mac: None,
        server_mac: None,
        vlan: Some(120),
        app: "unknown".into(),
        packets_to_server: packets.0,
        packets_to_client: packets.1,
        bytes_to_server: packets.0 * 100,
        bytes_to_client: packets.1 * 100,
        first_seen: t(when),
        last_seen: t(when),
        sessions: 1,
        tcp_state: "closed".into(),
    }
}

#[tokio::test]
async fn sightings_and_flows_on_each_backend() {
    for db in TestDb::all("sightings_and_flows_on_each_backend").await {
        let store = Store::open(&db.url).await.expect("open");
        let name = store.backend_name();
        // An imported pump, known by its MAC.
        let patch = AssetPatch {
            kind: Some(AssetKind::InfusionPump),
            vendor: Some(Some("B. Braun Melsungen".into())),
            mac: Some(Some("00:12:21:00:00:01".parse().expect("mac"))),
            ..AssetPatch::new("PUMP-1".parse().expect("id"))
        };
        store
            .import_assets("test", "inv.csv", &[patch])
            .await
            .expect("import");

        let s1 = vec![
            sighting(
                Some("00:12:21:00:00:01"),
                "10.20.0.5",
                Some("SPACECOM-1"),
                "2026-11-01T08:00:00Z",
            ),
            sighting(
                Some("00:12:21:00:00:02"),
                "10.20.0.6",
                Some("SPACECOM-2"),
                "2026-11-01T08:00:01Z",
            ),
            Sighting {
                mac: None,
                kind: Some(AssetKind::Ehr),
                vendor: None,
                firmware: None,
                ..sighting(None, "10.40.0.10", None, "2026-11-01T08:00:02Z")
            },
        ];
        let flows1 = vec![
            flow(
                ("10.20.0.5", 40000),
                ("10.30.0.10", 4001),
                (5, 4),
                "2026-11-01T08:00:00Z",
            ),
            flow(
                ("10.20.0.5", 40000),
                ("10.30.0.10", 4001),
                (1, 1),
                "2026-11-01T08:00:03Z",
            ),
        ];
        let r = store
            .record_sense("sensor", "a.pcap", &s1, &flows1, &[])
            .await
            .expect("sense");
        assert_eq!(
            (r.assets_created, r.assets_updated, r.flows),
            (2, 1, 1),
            "{name}"
        );

        let assets = store
            .list_assets(&AssetFilter::default())
            .await
            .expect("list");
        assert_eq!(
            assets.len(),
            3,
            "{name}: linked, not duplicated: {assets:?}"
        );
        let p1 = assets
            .iter()
            .find(|a| a.asset_id.as_str() == "PUMP-1")
            .expect("PUMP-1");
        assert_eq!(
            p1.vendor.as_deref(),
            Some("B. Braun Melsungen"),
            "{name}: inventory wins"
        );
        assert_eq!(
            p1.hostname.as_deref(),
            Some("SPACECOM-1"),
            "{name}: gaps filled"
        );
        assert_eq!(p1.source, Source::Imported);
        let p2 = assets
            .iter()
            .find(|a| a.asset_id.as_str() == "mac-001221000002")
            .expect("p2");
        assert_eq!(
            (p2.source, p2.kind),
            (Source::Discovered, AssetKind::InfusionPump)
        );
        assert!(
            assets
                .iter()
                .any(|a| a.asset_id.as_str() == "ip-10.40.0.10" && a.kind == AssetKind::Ehr)
        );

        // The second batch sees the flow the other way round, and the same facts again.
        let flows2 = vec![flow(
            ("10.30.0.10", 4001),
            ("10.20.0.5", 40000),
            (3, 7),
            "2026-11-01T09:00:00Z",
        )];
        let mut s2 = vec![sighting(
            Some("00:12:21:00:00:02"),
            "10.20.0.6",
            Some("SPACECOM-2"),
            "2026-11-01T09:00:00Z",
        )];
        s2[0].kind = Some(AssetKind::Workstation);
        let r = store
            .record_sense("sensor", "b.pcap", &s2, &flows2, &[])
            .await
            .expect("sense");
        assert_eq!((r.assets_created, r.assets_updated), (0, 1), "{name}");
        let flows = store
            .list_flows(&FlowFilter::default())
            .await
            .expect("flows");
        assert_eq!(flows.len(), 1, "{name}");
        let f = &flows[0];
        assert_eq!(f.client_ip.to_string(), "10.20.0.5");
        assert_eq!(
            (f.packets_to_server, f.packets_to_client, f.sessions),
            (6 + 7, 5 + 3, 3),
            "{name}"
        );
        assert_eq!(f.last_seen, t("2026-11-01T09:00:00Z"));
        let ev = store
            .asset_evidence("mac-001221000002")
            .await
            .expect("evidence");
        assert_eq!(ev.len(), 1);
        assert_eq!(ev[0].count, 4, "{name}: counts add up across batches");

        // The kind change is an event of its own; the chain holds.
        let history = store
            .audit_for_object("asset:mac-001221000002")
            .await
            .expect("audit");
        let actions: Vec<&str> = history.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(
            actions,
            ["asset.discover", "asset.observe", "asset.class_change"],
            "{name}"
        );
        match store.audit_verify().await.expect("verify") {
            AuditVerdict::Intact(_) => {}
            AuditVerdict::Broken(b) => panic!("{name}: {b}"),
        }

        // A batch that repeats only times writes no audit entry.
        let before = store
            .audit_for_object("asset:mac-001221000002")
            .await
            .expect("audit")
            .len();
        store
            .record_sense("sensor", "c.pcap", &s2, &[], &[])
            .await
            .expect("sense");
        let after = store
            .audit_for_object("asset:mac-001221000002")
            .await
            .expect("audit")
            .len();
        assert_eq!(before, after, "{name}");
    }
}
