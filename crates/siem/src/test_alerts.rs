//! Alerts for the unit tests: one fixed, and a proptest strategy over arbitrary texts.

use std::net::IpAddr;

use jiff::Timestamp;
use proptest::prelude::*;
use pumpguard_model::{
    Alert, AlertEvidence, AlertFact, AlertKind, AlertStatus, Endpoint, MacAddr, Severity,
};

fn at(us: i64) -> Timestamp {
    Timestamp::from_microsecond(us).expect("in range")
}

#[allow(clippy::needless_update)]
fn evidence(flows: Vec<String>, facts: Vec<AlertFact>, sentence: String) -> AlertEvidence {
    AlertEvidence {
        flows,
        facts,
        sentence,
        ..AlertEvidence::default()
    }
}

/// Telnet into a pump, with every field set and texts that need escaping.
pub(crate) fn alert() -> Alert {
    Alert {
        id: 42,
        kind: AlertKind::CleartextManagementToPump,
        severity: Severity::Critical,
        status: AlertStatus::Open,
        asset_id: Some("PUMP-0017".into()),
        peer_asset_id: Some("WS-1".into()),
        subject: Endpoint {
            ip: Some("10.20.1.17".parse().expect("ip")),
            mac: Some("00:1a:01:2b:3c:4d".parse().expect("mac")),
        },
        peer: Some(Endpoint {
            ip: Some("10.20.0.5".parse().expect("ip")),
            mac: Some("00:1a:01:00:00:09".parse().expect("mac")),
        }),
        proto: "telnet".into(),
        port: Some(23),
        first_seen: at(1_795_999_000_000_000),
        last_seen: at(1_796_000_000_123_456),
        count: 7,
        evidence: evidence(
            vec![
                "tcp 10.20.0.5 50000 10.20.1.17 23".into(),
                "tcp 10.20.0.5 50001 10.20.1.17 23".into(),
            ],
            vec![
                AlertFact {
                    name: "user".into(),
                    value: "admin".into(),
                },
                AlertFact {
                    name: "banner".into(),
                    value: "PCA;3".into(),
                },
            ],
            "Telnet into pump | PCA-3 ward=4 C:\\ok\nline two".into(),
        ),
        action: "Disable Telnet on the pump".into(),
    }
}

/// What an alert reads back as from CEF: times in whole milliseconds, a peer with
/// neither address as no peer.
pub(crate) fn comparable(a: &Alert) -> Alert {
    let ms = |t: Timestamp| Timestamp::from_millisecond(t.as_millisecond()).expect("in range");
    let mut a = a.clone();
    a.first_seen = ms(a.first_seen);
    a.last_seen = ms(a.last_seen);
    if a.peer == Some(Endpoint::default()) {
        a.peer = None;
    }
    a
}

/// Texts with what CEF must escape (`|`, `=`, `\`, line breaks), list separators,
/// spaces before `key=`-like words, unicode, and anything else.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z =|;\\\\\r\n\té€😀]{0,24}",
        " ?[a-z]{1,3}=[a-z ]{0,4}",
        any::<String>(),
    ]
}

fn endpoint() -> impl Strategy<Value = Endpoint> {
    (
        proptest::option::of(any::<IpAddr>()),
        proptest::option::of(any::<[u8; 6]>().prop_map(MacAddr)),
    )
        .prop_map(|(ip, mac)| Endpoint { ip, mac })
}

fn kind() -> impl Strategy<Value = AlertKind> {
    proptest::sample::select(AlertKind::ALL)
}

fn severity() -> impl Strategy<Value = Severity> {
    proptest::sample::select(Severity::ALL)
}

fn status() -> impl Strategy<Value = AlertStatus> {
    proptest::sample::select(AlertStatus::ALL)
}

fn time() -> impl Strategy<Value = Timestamp> {
    // 2000-01-01 to 2100-01-01.
    (946_684_800_000_000i64..4_102_444_800_000_000).prop_map(at)
}

pub(crate) fn arb_alert() -> impl Strategy<Value = Alert> {
    let ids = (
        any::<i64>(),
        kind(),
        severity(),
        status(),
        proptest::option::of(text()),
        proptest::option::of(text()),
    );
    let ends = (
        endpoint(),
        proptest::option::of(endpoint()),
        prop_oneof![Just("tcp".to_owned()), Just("udp".to_owned()), text()],
        proptest::option::of(any::<u16>()),
        time(),
        time(),
        any::<u64>(),
    );
    let facts = proptest::collection::vec(
        (text(), text()).prop_map(|(name, value)| AlertFact { name, value }),
        0..4,
    );
    let rest = (
        proptest::collection::vec(text(), 0..4),
        facts,
        text(),
        text(),
    );
    (ids, ends, rest).prop_map(
        |(
            (id, kind, severity, status, asset_id, peer_asset_id),
            (subject, peer, proto, port, first_seen, last_seen, count),
            (flows, facts, sentence, action),
        )| Alert {
            id,
            kind,
            severity,
            status,
            asset_id,
            peer_asset_id,
            subject,
            peer,
            proto,
            port,
            first_seen,
            last_seen,
            count,
            evidence: evidence(flows, facts, sentence),
            action,
        },
    )
}
