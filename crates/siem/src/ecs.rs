//! Elastic Common Schema: an alert as one JSON document, objects nested the ECS way
//! (`{"event": {"kind": "alert"}}`), written one per line.
//!
//! Field choices, checked against ECS 8.17:
//! - `@timestamp`, `event.end`: `last_seen`; `event.start`: `first_seen` (RFC 3339, µs).
//! - `event.kind` `alert`; `event.category` `network` and `intrusion_detection`, whose
//!   expected `event.type` they share is `info`.
//! - `event.id`: the alert id (a keyword, so text). `event.severity`: the CEF number
//!   ([`severity_number`]), and `log.level` the severity's name (ECS puts a source's
//!   textual severity there).
//! - `rule.name`: the kind; `message`: the sentence.
//! - `destination.*` is the subject and `source.*` the peer, as in CEF; MACs in the
//!   RFC 7042 form ECS asks for (`00-1A-01-2B-3C-4D`).
//! - `network.transport` for `tcp`, `udp`…, otherwise `network.protocol` (both lower
//!   case, as ECS requires).
//! - `host.id`: the subject's asset id. ECS's host is "the host on which the event
//!   happened", which for an alert about a pump is the pump; the sensor that saw it is
//!   the `observer` (`observer.type` `ids`). Both asset ids are in `related.hosts`.
//! - What ECS has no field for goes under `pumpguard.*` (ECS keeps custom fields out of
//!   its names this way): `status`, `count`, `action`, `asset_id`, `peer_asset_id`,
//!   `flows` (keys) and `facts` (`{name, value}` objects, in order).

use pumpguard_model::{Alert, Endpoint, MacAddr, time::rfc3339};
use serde_json::{Map, Value, json};

use crate::cef::{DEVICE_PRODUCT, DEVICE_VENDOR, DEVICE_VERSION, severity_number};

/// The ECS version the fields were checked against.
pub const ECS_VERSION: &str = "8.17.0";

const TRANSPORTS: &[&str] = &["tcp", "udp", "icmp", "ipv6-icmp", "sctp"];

/// The alert as an ECS document. Serialised with `serde_json` (compact), it holds no
/// line break, so documents can be written one per line.
pub fn ecs(alert: &Alert) -> Value {
    let mut doc = Map::new();
    doc.insert("@timestamp".into(), rfc3339(alert.last_seen).into());
    doc.insert("ecs".into(), json!({ "version": ECS_VERSION }));
    doc.insert(
        "event".into(),
        json!({
            "kind": "alert",
            "category": ["network", "intrusion_detection"],
            "type": ["info"],
            "id": alert.id.to_string(),
            "severity": severity_number(alert.severity),
            "start": rfc3339(alert.first_seen),
            "end": rfc3339(alert.last_seen),
        }),
    );
    doc.insert("log".into(), json!({ "level": alert.severity.as_str() }));
    doc.insert("rule".into(), json!({ "name": alert.kind.as_str() }));
    doc.insert("message".into(), alert.evidence.sentence.clone().into());
    doc.insert(
        "observer".into(),
        json!({
            "vendor": DEVICE_VENDOR,
            "product": DEVICE_PRODUCT,
            "version": DEVICE_VERSION,
            "type": "ids",
        }),
    );

    let mut destination = end(&alert.subject);
    if let Some(port) = alert.port {
        destination.insert("port".into(), port.into());
    }
    if !destination.is_empty() {
        doc.insert("destination".into(), destination.into());
    }
    if let Some(peer) = alert.peer.as_ref().map(end).filter(|p| !p.is_empty()) {
        doc.insert("source".into(), peer.into());
    }
    if !alert.proto.is_empty() {
        let proto = alert.proto.to_lowercase();
        let key = if TRANSPORTS.contains(&proto.as_str()) {
            "transport"
        } else {
            "protocol"
        };
        doc.insert("network".into(), json!({ key: proto }));
    }
    if let Some(asset) = &alert.asset_id {
        doc.insert("host".into(), json!({ "id": asset }));
    }
    let hosts: Vec<&String> = alert
        .asset_id
        .iter()
        .chain(alert.peer_asset_id.iter())
        .collect();
    if !hosts.is_empty() {
        doc.insert("related".into(), json!({ "hosts": hosts }));
    }

    let facts: Vec<Value> = alert
        .evidence
        .facts
        .iter()
        .map(|f| json!({ "name": f.name, "value": f.value }))
        .collect();
    let mut own = Map::new();
    own.insert("status".into(), alert.status.as_str().into());
    own.insert("count".into(), alert.count.into());
    own.insert("action".into(), alert.action.clone().into());
    if let Some(asset) = &alert.asset_id {
        own.insert("asset_id".into(), asset.clone().into());
    }
    if let Some(asset) = &alert.peer_asset_id {
        own.insert("peer_asset_id".into(), asset.clone().into());
    }
    own.insert("flows".into(), alert.evidence.flows.clone().into());
    own.insert("facts".into(), facts.into());
    doc.insert("pumpguard".into(), own.into());
    Value::Object(doc)
}

fn end(e: &Endpoint) -> Map<String, Value> {
    let mut m = Map::new();
    if let Some(ip) = e.ip {
        m.insert("ip".into(), ip.to_string().into());
    }
    if let Some(mac) = e.mac {
        m.insert("mac".into(), rfc7042(mac).into());
    }
    m
}

/// `00-1A-01-2B-3C-4D`: upper-case hex octets joined by hyphens.
fn rfc7042(mac: MacAddr) -> String {
    let o = mac.0;
    format!(
        "{:02X}-{:02X}-{:02X}-{:02X}-{:02X}-{:02X}",
        o[0], o[1], o[2], o[3], o[4], o[5]
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_alerts::{alert, arb_alert};
    use proptest::prelude::*;

    #[test]
    fn fields_have_their_ecs_names_and_nesting() {
        let v = ecs(&alert());
        let expected = json!({
            "@timestamp": "2026-11-30T00:53:20.123456Z",
            "ecs": { "version": ECS_VERSION },
            "event": {
                "kind": "alert",
                "category": ["network", "intrusion_detection"],
                "type": ["info"],
                "id": "42",
                "severity": 10,
                "start": "2026-11-30T00:36:40.000000Z",
                "end": "2026-11-30T00:53:20.123456Z",
            },
            "log": { "level": "critical" },
            "rule": { "name": "cleartext_management_to_pump" },
            "message": "Telnet into pump | PCA-3 ward=4 C:\\ok\nline two",
            "observer": {
                "vendor": "pumpguard",
                "product": "pumpguard",
                "version": DEVICE_VERSION,
                "type": "ids",
            },
            "destination": { "ip": "10.20.1.17", "mac": "00-1A-01-2B-3C-4D", "port": 23 },
            "source": { "ip": "10.20.0.5", "mac": "00-1A-01-00-00-09" },
            "network": { "protocol": "telnet" },
            "host": { "id": "PUMP-0017" },
            "related": { "hosts": ["PUMP-0017", "WS-1"] },
            "pumpguard": {
                "status": "open",
                "count": 7,
                "action": "Disable Telnet on the pump",
                "asset_id": "PUMP-0017",
                "peer_asset_id": "WS-1",
                "flows": [
                    "tcp 10.20.0.5 50000 10.20.1.17 23",
                    "tcp 10.20.0.5 50001 10.20.1.17 23",
                ],
                "facts": [
                    { "name": "user", "value": "admin" },
                    { "name": "banner", "value": "PCA;3" },
                ],
            },
        });
        assert_eq!(v, expected);
    }

    #[test]
    fn absent_ends_leave_no_empty_objects() {
        let mut a = alert();
        a.peer = None;
        a.subject = Endpoint::default();
        a.port = None;
        a.asset_id = None;
        a.peer_asset_id = None;
        a.proto = "UDP".into();
        let v = ecs(&a);
        for absent in ["source", "destination", "host", "related"] {
            assert!(v.get(absent).is_none(), "{absent}");
        }
        assert_eq!(v["network"], json!({ "transport": "udp" }));
    }

    proptest! {
        #[test]
        fn one_document_per_line_with_the_texts_intact(a in arb_alert()) {
            let line = serde_json::to_string(&ecs(&a)).expect("serialises");
            prop_assert!(!line.contains('\n'));
            let v: Value = serde_json::from_str(&line).expect("parses");
            prop_assert_eq!(v["message"].as_str(), Some(a.evidence.sentence.as_str()));
            prop_assert_eq!(v["pumpguard"]["action"].as_str(), Some(a.action.as_str()));
            let id = a.id.to_string();
            prop_assert_eq!(v["event"]["id"].as_str(), Some(id.as_str()));
            prop_assert_eq!(v["pumpguard"]["count"].as_u64(), Some(a.count));
        }
    }
}
