//! Alerts on both backends: detections tied to discovered and imported assets, raised
//! for life-sustaining ones, one alert per kind|subject|peer across batches, reopened
//! when a resolved one recurs, worked by analysts (audited, the chain intact), listed
//! through filters, raised for a pump that changes class, many peers tied at once,
//! routed traffic tied by address (not to the gateway), and nothing of a batch left
//! behind when it fails.

use pumpguard_model::{
    AlertEvidence, AlertFact, AlertKind, AlertStatus, AssetKind, AssetPatch, Criticality,
    Detection, Endpoint, Evidence, Field, FlowRecord, MacAddr, Severity, Sighting,
};
use pumpguard_store::{AlertFilter, AssetFilter, AuditVerdict, FlowFilter, Store, StoreError};
use pumpguard_testkit::TestDb;

fn t(s: &str) -> jiff::Timestamp {
    s.parse().expect("time")
}

fn mac(s: &str) -> MacAddr {
    s.parse().expect("mac")
}

fn end(ip: Option<&str>, m: Option<&str>) -> Endpoint {
    Endpoint {
        ip: ip.map(|i| i.parse().expect("ip")),
        mac: m.map(mac),
    }
}

fn sighting(m: &str, ip: &str, kind: AssetKind, when: &str) -> Sighting {
    Sighting {
        mac: Some(mac(m)),
        ips: vec![ip.parse().expect("ip")],
        hostname: Some("SPACECOM-2".into()),
        kind: Some(kind),
        vendor: None,
        model: None,
        firmware: None,
        serial: None,
        first_seen: t(when),
        last_seen: t(when),
        evidence: vec![Evidence {
            field: Field::Kind,
            value: kind.as_str().into(),
            source: "dhcp.vendor_class".into(),
            confidence: 80,
            first_seen: t(when),
            last_seen: t(when),
            count: 1,
        }],
    }
}

fn flow(client: (&str, u16), server: (&str, u16), when: &str) -> FlowRecord {
    FlowRecord {
        proto: "tcp".into(),
        client_ip: client.0.parse().expect("ip"),
        client_port: client.1,
        server_ip: server.0.parse().expect("ip"),
        server_port: server.1,
        client_mac: None,
        server_mac: None,
        vlan: None,
        app: "telnet".into(),
        packets_to_server: 10,
        packets_to_client: 8,
        bytes_to_server: 900,
        bytes_to_client: 700,
        first_seen: t(when),
        last_seen: t(when),
        sessions: 1,
        tcp_state: "closed".into(),
    }
}

/// A telnet session from `peer` into `subject`.
fn telnet(subject: Endpoint, peer: Option<Endpoint>, when: &str, flows: &[&str]) -> Detection {
    Detection {
        kind: AlertKind::CleartextManagementToPump,
        severity: Severity::Medium,
        subject,
        peer,
        proto: "telnet".into(),
        port: Some(23),
        first_seen: t(when),
        last_seen: t(when),
        count: 1,
        evidence: AlertEvidence {
            flows: flows.iter().map(|f| (*f).to_owned()).collect(),
            flow_ids: vec![],
            facts: vec![AlertFact {
                name: "telnet.banner".into(),
                value: "SpaceCom".into(),
            }],
            sentence: format!("telnet into a pump at {when}"),
        },
        action: "Disable telnet on the pump.".into(),
    }
}

/// An imported life-sustaining pump known by address only.
async fn import_pump(store: &Store) {
    let patch = AssetPatch {
        kind: Some(AssetKind::InfusionPump),
        criticality: Some(Criticality::LifeSustaining),
        ips: Some(vec!["10.20.0.5".parse().expect("ip")]),
        ..AssetPatch::new("PUMP-1".parse().expect("id"))
    };
    store
        .import_assets("test", "inv.csv", &[patch])
        .await
        .expect("import");
}

fn intact(v: AuditVerdict, name: &str) -> u64 {
    match v {
        AuditVerdict::Intact(s) => s.entries,
        AuditVerdict::Broken(b) => panic!("{name}: chain broken: {b}"),
    }
}

async fn actions(store: &Store, id: i64) -> Vec<String> {
    store
        .audit_for_object(&format!("alert:{id}"))
        .await
        .expect("audit")
        .into_iter()
        .map(|e| e.action)
        .collect()
}

const TELNET_FLOW: &str = "tcp 10.20.0.5 23 10.99.0.1 50000";

#[tokio::test]
async fn detections_become_alerts_on_each_backend() {
    for db in TestDb::all("detections_become_alerts_on_each_backend").await {
        let store = Store::open(&db.url).await.expect("open");
        let name = store.backend_name();
        import_pump(&store).await;

        // One batch: a pump discovered by MAC, a telnet session into the imported pump
        // (known by address) and one into the discovered pump (known by its MAC, at an
        // address it does not hold) from the imported one.
        let sightings = vec![sighting(
            "00:12:21:00:00:02",
            "10.20.0.6",
            AssetKind::InfusionPump,
            "2026-11-01T08:00:00Z",
        )];
        let flows = vec![flow(
            ("10.99.0.1", 50000),
            ("10.20.0.5", 23),
            "2026-11-01T08:00:00Z",
        )];
        let detections = vec![
            telnet(
                end(Some("10.20.0.5"), None),
                Some(end(Some("10.99.0.1"), None)),
                "2026-11-01T08:00:00Z",
                &[TELNET_FLOW, "tcp 10.20.0.5 23 10.99.0.1 50001"],
            ),
            telnet(
                end(Some("10.20.0.99"), Some("00:12:21:00:00:02")),
                Some(end(Some("10.20.0.5"), None)),
                "2026-11-01T08:00:01Z",
                &[],
            ),
        ];
        let r = store
            .record_sense("sensor", "a.pcap", &sightings, &flows, &detections)
            .await
            .expect("sense");
        assert_eq!((r.alerts_raised, r.alerts_updated), (2, 0), "{name}");

        let alerts = store
            .list_alerts(&AlertFilter::default())
            .await
            .expect("list");
        assert_eq!(alerts.len(), 2, "{name}");
        // Most severe first: the life-sustaining pump's alert was raised a step.
        let into_pump1 = &alerts[0];
        assert_eq!(into_pump1.asset_id.as_deref(), Some("PUMP-1"), "{name}");
        assert_eq!(into_pump1.peer_asset_id, None, "{name}");
        assert_eq!(into_pump1.severity, Severity::High, "{name}");
        assert_eq!(into_pump1.status, AlertStatus::Open, "{name}");
        assert_eq!(into_pump1.port, Some(23));
        assert_eq!(into_pump1.peer, Some(end(Some("10.99.0.1"), None)));
        let stored_flow = store
            .list_flows(&FlowFilter::default())
            .await
            .expect("flows");
        assert_eq!(stored_flow.len(), 1);
        assert_eq!(
            into_pump1.evidence.flow_ids.len(),
            1,
            "{name}: only the stored flow has an id"
        );
        assert_eq!(into_pump1.evidence.flows.len(), 2);
        let into_pump2 = &alerts[1];
        assert_eq!(
            into_pump2.asset_id.as_deref(),
            Some("mac-001221000002"),
            "{name}: tied by MAC to the asset the same batch discovered"
        );
        assert_eq!(into_pump2.peer_asset_id.as_deref(), Some("PUMP-1"));
        assert_eq!(into_pump2.severity, Severity::Medium, "{name}");
        assert_eq!(
            store.get_alert(into_pump1.id).await.expect("get").as_ref(),
            Some(into_pump1)
        );
        assert_eq!(store.get_alert(999_999).await.expect("get"), None);

        let raise = store
            .audit_for_object(&format!("alert:{}", into_pump1.id))
            .await
            .expect("audit");
        assert_eq!(raise.len(), 1, "{name}");
        assert_eq!(raise[0].action, "alert.raise");
        assert_eq!(
            raise[0].detail,
            serde_json::json!({
                "kind": "cleartext_management_to_pump",
                "severity": "high",
                "asset_id": "PUMP-1",
                "peer": "10.99.0.1",
                "sentence": "telnet into a pump at 2026-11-01T08:00:00Z",
                "origin": "a.pcap",
            })
        );

        // The same session an hour later: the alert counts it, nothing is audited.
        let again = vec![telnet(
            end(Some("10.20.0.5"), None),
            Some(end(Some("10.99.0.1"), None)),
            "2026-11-01T09:00:00Z",
            &[TELNET_FLOW, "tcp 10.20.0.5 23 10.99.0.1 50002"],
        )];
        let r = store
            .record_sense("sensor", "b.pcap", &[], &[], &again)
            .await
            .expect("sense");
        assert_eq!((r.alerts_raised, r.alerts_updated), (0, 1), "{name}");
        let a = store
            .get_alert(into_pump1.id)
            .await
            .expect("get")
            .expect("alert");
        assert_eq!(a.count, 2, "{name}");
        assert_eq!(
            (a.first_seen, a.last_seen),
            (t("2026-11-01T08:00:00Z"), t("2026-11-01T09:00:00Z"))
        );
        assert_eq!(a.evidence.flows.len(), 3, "{name}: flows unioned");
        assert_eq!(a.evidence.facts.len(), 1, "{name}: facts unioned");
        assert_eq!(
            a.evidence.sentence,
            "telnet into a pump at 2026-11-01T09:00:00Z"
        );
        assert_eq!(
            store
                .list_alerts(&AlertFilter::default())
                .await
                .expect("list")
                .len(),
            2,
            "{name}: one row per kind|subject|peer"
        );
        assert_eq!(actions(&store, a.id).await, ["alert.raise"], "{name}");

        // Analysts work it: each move audited once, staying put writes nothing.
        let entries = intact(store.audit_verify().await.expect("verify"), name);
        let acked = store
            .set_alert_status("analyst", a.id, AlertStatus::Acknowledged)
            .await
            .expect("ack");
        assert_eq!(acked.status, AlertStatus::Acknowledged);
        store
            .set_alert_status("analyst", a.id, AlertStatus::Acknowledged)
            .await
            .expect("ack again");
        store
            .set_alert_status("analyst", a.id, AlertStatus::Resolved)
            .await
            .expect("resolve");
        assert_eq!(
            intact(store.audit_verify().await.expect("verify"), name),
            entries + 2
        );
        let history = store
            .audit_for_object(&format!("alert:{}", a.id))
            .await
            .expect("audit");
        assert_eq!(history[1].action, "alert.ack");
        assert_eq!(history[1].actor, "analyst");
        assert_eq!(
            history[1].detail,
            serde_json::json!({"from": "open", "to": "acknowledged"})
        );
        assert_eq!(history[2].action, "alert.resolve");
        let err = store
            .set_alert_status("analyst", 424_242, AlertStatus::Resolved)
            .await
            .expect_err("unknown id");
        assert!(
            matches!(&err, StoreError::NotFound(what) if what == "alert 424242"),
            "{name}: {err}"
        );
        assert!(err.is_bad_input());

        // It comes back after it was resolved: open again, and audited as such.
        let r = store
            .record_sense("sensor", "c.pcap", &[], &[], &again)
            .await
            .expect("sense");
        assert_eq!((r.alerts_raised, r.alerts_updated), (0, 1), "{name}");
        let a = store.get_alert(a.id).await.expect("get").expect("alert");
        assert_eq!((a.status, a.count), (AlertStatus::Open, 3), "{name}");
        assert_eq!(
            actions(&store, a.id).await,
            ["alert.raise", "alert.ack", "alert.resolve", "alert.reopen"],
            "{name}"
        );
        let reopen = store
            .audit_for_object(&format!("alert:{}", a.id))
            .await
            .expect("audit")
            .pop()
            .expect("entry");
        assert_eq!(reopen.detail["from"], "resolved");
        assert_eq!(reopen.detail["origin"], "c.pcap");
        intact(store.audit_verify().await.expect("verify"), name);
    }
}

#[tokio::test]
async fn filters_and_order_on_each_backend() {
    for db in TestDb::all("filters_and_order_on_each_backend").await {
        let store = Store::open(&db.url).await.expect("open");
        let name = store.backend_name();
        import_pump(&store).await;
        let mut weak = telnet(
            end(Some("10.30.0.10"), None),
            None,
            "2026-11-02T08:00:00Z",
            &[],
        );
        weak.kind = AlertKind::WeakTlsVersion;
        weak.severity = Severity::Low;
        let mut dos = weak.clone();
        dos.kind = AlertKind::Dos;
        dos.severity = Severity::Critical;
        dos.first_seen = t("2026-11-01T07:00:00Z");
        dos.last_seen = t("2026-11-01T07:00:00Z");
        let detections = vec![
            telnet(
                end(Some("10.20.0.5"), None),
                Some(end(Some("10.99.0.1"), None)),
                "2026-11-01T08:00:00Z",
                &[],
            ),
            weak,
            dos,
            telnet(
                end(Some("10.20.0.77"), None),
                Some(end(Some("10.20.0.5"), None)),
                "2026-11-03T08:00:00Z",
                &[],
            ),
        ];
        store
            .record_sense("sensor", "a.pcap", &[], &[], &detections)
            .await
            .expect("sense");
        let list = |f: AlertFilter| {
            let store = store.clone();
            async move {
                store
                    .list_alerts(&f)
                    .await
                    .expect("list")
                    .into_iter()
                    .map(|a| a.kind.as_str().to_owned() + "@" + &a.last_seen.to_string())
                    .collect::<Vec<String>>()
            }
        };
        assert_eq!(
            list(AlertFilter::default()).await,
            [
                "dos@2026-11-01T07:00:00Z",
                "cleartext_management_to_pump@2026-11-01T08:00:00Z",
                "cleartext_management_to_pump@2026-11-03T08:00:00Z",
                "weak_tls_version@2026-11-02T08:00:00Z",
            ],
            "{name}: severity, then newest"
        );
        let all = store
            .list_alerts(&AlertFilter::default())
            .await
            .expect("list");
        assert_eq!(all[1].severity, Severity::High, "{name}: life-sustaining");
        assert_eq!(all[2].severity, Severity::Medium, "{name}");
        assert_eq!(
            list(AlertFilter {
                min_severity: Some(Severity::High),
                ..AlertFilter::default()
            })
            .await
            .len(),
            2,
            "{name}"
        );
        assert_eq!(
            list(AlertFilter {
                since: Some(t("2026-11-02T00:00:00Z")),
                ..AlertFilter::default()
            })
            .await,
            [
                "cleartext_management_to_pump@2026-11-03T08:00:00Z",
                "weak_tls_version@2026-11-02T08:00:00Z",
            ],
            "{name}"
        );
        assert_eq!(
            list(AlertFilter {
                kind: Some(AlertKind::WeakTlsVersion),
                ..AlertFilter::default()
            })
            .await,
            ["weak_tls_version@2026-11-02T08:00:00Z"],
            "{name}"
        );
        assert_eq!(
            list(AlertFilter {
                asset_id: Some("PUMP-1".into()),
                ..AlertFilter::default()
            })
            .await
            .len(),
            2,
            "{name}: as subject and as peer"
        );
        store
            .set_alert_status("analyst", all[0].id, AlertStatus::Acknowledged)
            .await
            .expect("ack");
        assert_eq!(
            list(AlertFilter {
                status: Some(AlertStatus::Open),
                ..AlertFilter::default()
            })
            .await
            .len(),
            3,
            "{name}"
        );
        assert_eq!(
            list(AlertFilter {
                limit: Some(2),
                offset: 1,
                ..AlertFilter::default()
            })
            .await,
            [
                "cleartext_management_to_pump@2026-11-01T08:00:00Z",
                "cleartext_management_to_pump@2026-11-03T08:00:00Z",
            ],
            "{name}"
        );
        assert_eq!(
            list(AlertFilter {
                offset: 3,
                ..AlertFilter::default()
            })
            .await
            .len(),
            1,
            "{name}"
        );
    }
}

#[tokio::test]
async fn a_pump_that_turns_into_a_workstation_raises_an_alert_on_each_backend() {
    for db in TestDb::all("a_pump_that_turns_into_a_workstation_raises_an_alert").await {
        let store = Store::open(&db.url).await.expect("open");
        let name = store.backend_name();
        let m = "00:12:21:00:00:02";
        store
            .record_sense(
                "sensor",
                "a.pcap",
                &[sighting(
                    m,
                    "10.20.0.6",
                    AssetKind::InfusionPump,
                    "2026-11-01T08:00:00Z",
                )],
                &[],
                &[],
            )
            .await
            .expect("sense");
        let r = store
            .record_sense(
                "sensor",
                "b.pcap",
                &[sighting(
                    m,
                    "10.20.0.6",
                    AssetKind::Workstation,
                    "2026-11-01T09:00:00Z",
                )],
                &[],
                &[],
            )
            .await
            .expect("sense");
        assert_eq!(r.alerts_raised, 1, "{name}");
        let alerts = store
            .list_alerts(&AlertFilter::default())
            .await
            .expect("list");
        assert_eq!(alerts.len(), 1, "{name}");
        let a = &alerts[0];
        assert_eq!(a.kind, AlertKind::DeviceClassChange);
        assert_eq!(a.severity, Severity::High, "{name}: it was a pump");
        assert_eq!(a.asset_id.as_deref(), Some("mac-001221000002"));
        assert_eq!(a.subject, end(Some("10.20.0.6"), Some(m)));
        assert_eq!(
            a.evidence.sentence,
            "mac-001221000002 (SPACECOM-2) was an infusion_pump and now looks like a \
             workstation (evidence: dhcp.vendor_class at 80 %)"
        );
        assert!(a.action.starts_with("Check the device physically"));
        let facts: Vec<(&str, &str)> = a
            .evidence
            .facts
            .iter()
            .map(|f| (f.name.as_str(), f.value.as_str()))
            .collect();
        assert_eq!(
            facts[..2],
            [("from_kind", "infusion_pump"), ("to_kind", "workstation")]
        );
        assert_eq!(actions(&store, a.id).await, ["alert.raise"]);
        let asset = store
            .audit_for_object("asset:mac-001221000002")
            .await
            .expect("audit");
        assert!(asset.iter().any(|e| e.action == "asset.class_change"));

        // From `other` to a kind is learning, not a change of class.
        let m3 = "00:12:21:00:00:03";
        for (kind, when) in [
            (AssetKind::Other, "2026-11-01T08:00:00Z"),
            (AssetKind::Workstation, "2026-11-01T09:00:00Z"),
        ] {
            store
                .record_sense(
                    "sensor",
                    "c.pcap",
                    &[sighting(m3, "10.20.0.7", kind, when)],
                    &[],
                    &[],
                )
                .await
                .expect("sense");
        }
        assert_eq!(
            store
                .list_alerts(&AlertFilter::default())
                .await
                .expect("list")
                .len(),
            1,
            "{name}"
        );
        intact(store.audit_verify().await.expect("verify"), name);
    }
}

#[tokio::test]
async fn a_failed_batch_leaves_nothing_on_each_backend() {
    for db in TestDb::all("a_failed_batch_leaves_nothing_on_each_backend").await {
        let store = Store::open(&db.url).await.expect("open");
        let name = store.backend_name();
        import_pump(&store).await;
        let entries = intact(store.audit_verify().await.expect("verify"), name);
        let sightings = vec![sighting(
            "00:12:21:00:00:02",
            "10.20.0.6",
            AssetKind::InfusionPump,
            "2026-11-01T08:00:00Z",
        )];
        let flows = vec![flow(
            ("10.99.0.1", 50000),
            ("10.20.0.5", 23),
            "2026-11-01T08:00:00Z",
        )];
        let good = telnet(
            end(Some("10.20.0.5"), None),
            None,
            "2026-11-01T08:00:00Z",
            &[TELNET_FLOW],
        );
        let nowhere = telnet(end(None, None), None, "2026-11-01T08:00:00Z", &[]);
        let err = store
            .record_sense(
                "sensor",
                "a.pcap",
                &sightings,
                &flows,
                &[good.clone(), nowhere],
            )
            .await
            .expect_err("refused");
        assert!(
            matches!(&err, StoreError::Rejected { index: 1, .. }),
            "{name}: {err}"
        );
        assert!(err.to_string().contains("detection 2"), "{err}");

        // A failure while the alerts are written (a trigger refuses them) undoes the
        // assets and flows written before them in the same transaction.
        let refuse = if db.is_postgres() {
            "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN RAISE EXCEPTION 'alerts refused'; END $$; \
             CREATE TRIGGER refuse BEFORE INSERT ON alerts FOR EACH ROW EXECUTE FUNCTION refuse();"
        } else {
            "CREATE TRIGGER refuse BEFORE INSERT ON alerts \
             BEGIN SELECT RAISE(ABORT, 'alerts refused'); END;"
        };
        db.execute(refuse).await;
        let err = store
            .record_sense("sensor", "a.pcap", &sightings, &flows, &[good])
            .await
            .expect_err("refused by the trigger");
        assert!(err.to_string().contains("alerts refused"), "{name}: {err}");

        let assets = store
            .list_assets(&AssetFilter::default())
            .await
            .expect("list");
        assert_eq!(assets.len(), 1, "{name}: only the imported pump");
        assert!(
            store
                .list_flows(&FlowFilter::default())
                .await
                .expect("flows")
                .is_empty(),
            "{name}"
        );
        assert!(
            store
                .list_alerts(&AlertFilter::default())
                .await
                .expect("alerts")
                .is_empty()
        );
        assert_eq!(
            intact(store.audit_verify().await.expect("verify"), name),
            entries,
            "{name}"
        );
    }
}

#[tokio::test]
async fn many_peers_are_tied_in_few_lookups_on_each_backend() {
    for db in TestDb::all("many_peers_are_tied_in_few_lookups_on_each_backend").await {
        let store = Store::open(&db.url).await.expect("open");
        let name = store.backend_name();
        import_pump(&store).await;
        // 150 scans from distinct addresses, the imported pump's among them (past the
        // first lookup's 64), each with its flow key twice.
        let detections: Vec<Detection> = (0..150)
            .map(|i| {
                let peer = if i == 100 {
                    "10.20.0.5".to_owned()
                } else {
                    format!("10.77.{}.{}", i / 200, i % 200 + 1)
                };
                let key = format!("tcp 10.30.0.10 443 {peer} 40000");
                let mut d = telnet(
                    end(Some("10.30.0.10"), None),
                    Some(end(Some(&peer), None)),
                    "2026-11-01T08:00:00Z",
                    &[&key, &key],
                );
                d.kind = AlertKind::WeakTlsCipher;
                d
            })
            .collect();
        let r = store
            .record_sense("sensor", "a.pcap", &[], &[], &detections)
            .await
            .expect("sense");
        assert_eq!(r.alerts_raised, 150, "{name}");
        let from_pump = store
            .list_alerts(&AlertFilter {
                asset_id: Some("PUMP-1".into()),
                ..AlertFilter::default()
            })
            .await
            .expect("list");
        assert_eq!(from_pump.len(), 1, "{name}");
        assert_eq!(from_pump[0].peer_asset_id.as_deref(), Some("PUMP-1"));
        assert_eq!(
            from_pump[0].asset_id, None,
            "{name}: 10.30.0.10 is no asset"
        );
        assert_eq!(
            from_pump[0].evidence.flows.len(),
            1,
            "{name}: repeats dropped"
        );
    }
}

#[tokio::test]
async fn routed_traffic_is_tied_by_address_on_each_backend() {
    for db in TestDb::all("routed_traffic_is_tied_by_address_on_each_backend").await {
        let store = Store::open(&db.url).await.expect("open");
        let name = store.backend_name();
        let server = AssetPatch {
            kind: Some(AssetKind::PumpServer),
            ips: Some(vec!["10.30.0.11".parse().expect("ip")]),
            ..AssetPatch::new("SRV-1".parse().expect("id"))
        };
        store
            .import_assets("test", "inv.csv", &[server])
            .await
            .expect("import");
        // The pump VLAN's gateway: frames from other subnets carry its MAC.
        let gw = "00:00:0c:07:ac:78";
        let router = sighting(gw, "10.20.0.1", AssetKind::Network, "2026-11-01T08:00:00Z");
        let mut flood = telnet(
            end(Some("10.30.0.11"), Some(gw)),
            Some(end(Some("203.0.113.45"), Some(gw))),
            "2026-11-01T08:00:00Z",
            &[],
        );
        flood.kind = AlertKind::Dos;
        let mut at_gateway = flood.clone();
        at_gateway.subject = end(Some("10.20.0.1"), Some(gw));
        at_gateway.peer = None;
        store
            .record_sense("sensor", "a.pcap", &[router], &[], &[flood, at_gateway])
            .await
            .expect("sense");
        let alerts = store
            .list_alerts(&AlertFilter::default())
            .await
            .expect("list");
        let ids: Vec<(Option<&str>, Option<&str>)> = alerts
            .iter()
            .map(|a| (a.asset_id.as_deref(), a.peer_asset_id.as_deref()))
            .collect();
        assert_eq!(
            ids,
            [(Some("SRV-1"), None), (Some("mac-00000c07ac78"), None)],
            "{name}"
        );
    }
}
