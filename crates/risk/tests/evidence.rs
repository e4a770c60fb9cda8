//! The evidence rules on hand-made facts: missing data is unknown, never yes; a
//! counter-example gives no and is cited; positive evidence gives yes; a person's
//! answer overrides the evidence and both are kept.

use std::collections::BTreeMap;
use std::net::IpAddr;

use pumpguard_model::time::Timestamp;
use pumpguard_model::{
    Alert, AlertEvidence, AlertKind, AlertStatus, Asset, AssetKind, Endpoint, FlowRecord, Severity,
    Source,
};
use pumpguard_risk::answers::{AnswerSource, HumanAnswer};
use pumpguard_risk::evidence::{AuditFacts, CertificateFacts, OpenVulnerability, VulnFacts};
use pumpguard_risk::{Answer, Bank, EvidenceAnswer, Facts, evaluate, merge};

fn t(s: &str) -> Timestamp {
    s.parse().expect("time")
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("ip")
}

fn asset(id: &str, kind: AssetKind, addr: &str, zone: Option<&str>) -> Asset {
    let mut a = Asset::new(id.parse().expect("id"), kind, Source::Imported);
    a.ips = vec![ip(addr)];
    a.zone = zone.map(str::to_owned);
    a
}

fn complete_pump(id: &str, addr: &str) -> Asset {
    let mut a = asset(id, AssetKind::InfusionPump, addr, Some("pumps"));
    a.model = Some("Plum 360".into());
    a.firmware = Some("15.10".into());
    a.serial = Some(format!("SN-{id}"));
    a.location = Some("ICU".into());
    a
}

fn flow(app: &str, client: &str, server: &str, port: u16) -> FlowRecord {
    FlowRecord {
        proto: "tcp".into(),
        client_ip: ip(client),
        client_port: 50000,
        server_ip: ip(server),
        server_port: port,
        client_mac: None,
        server_mac: None,
        vlan: None,
        app: app.into(),
        packets_to_server: 10,
        packets_to_client: 8,
        bytes_to_server: 900,
        bytes_to_client: 700,
        first_seen: t("2026-12-01T08:00:00Z"),
        last_seen: t("2026-12-01T08:05:00Z"),
        sessions: 1,
        tcp_state: "closed".into(),
    }
}

fn alert(id: i64, kind: AlertKind, status: AlertStatus) -> Alert {
    Alert {
        id,
        kind,
        severity: Severity::High,
        status,
        asset_id: Some("PUMP-1".into()),
        peer_asset_id: None,
        subject: Endpoint::default(),
        peer: None,
        proto: "tcp".into(),
        port: None,
        first_seen: t("2026-12-01T08:00:00Z"),
        last_seen: t("2026-12-01T08:00:00Z"),
        count: 1,
        evidence: AlertEvidence {
            sentence: format!("{kind} seen"),
            ..AlertEvidence::default()
        },
        action: "look".into(),
    }
}

fn by_question(answers: &[EvidenceAnswer]) -> BTreeMap<&str, &EvidenceAnswer> {
    answers
        .iter()
        .map(|a| (a.question_id.as_str(), a))
        .collect()
}

#[test]
fn with_no_data_every_rule_says_unknown() {
    let bank = Bank::builtin().expect("bank");
    let answers = evaluate(&bank, &Facts::default());
    let with_rules = bank
        .questions
        .iter()
        .filter(|q| q.evidence.is_some())
        .count();
    assert_eq!(answers.len(), with_rules);
    assert!(with_rules >= 10);
    for a in &answers {
        assert_eq!(
            a.answer,
            Answer::Unknown,
            "{}: {}",
            a.question_id,
            a.evidence.summary
        );
        assert!(!a.evidence.summary.is_empty());
    }
}

#[test]
fn telnet_into_a_pump_is_a_cited_no() {
    let bank = Bank::builtin().expect("bank");
    let assets = [
        complete_pump("PUMP-1", "10.20.0.5"),
        asset(
            "LAPTOP",
            AssetKind::Workstation,
            "10.20.0.99",
            Some("pumps"),
        ),
    ];
    let flows = [
        flow("telnet", "10.20.0.99", "10.20.0.5", 23),
        flow("tls", "10.20.0.5", "10.30.0.10", 443),
    ];
    let facts = Facts {
        assets: &assets,
        flows: &flows,
        ..Facts::default()
    };
    let answers = evaluate(&bank, &facts);
    let a = by_question(&answers);
    let seg05 = a["SEG-05"];
    assert_eq!(seg05.answer, Answer::No);
    assert_eq!(seg05.evidence.rule, "cleartext_management_on_pumps");
    assert_eq!(seg05.evidence.citations.len(), 1);
    let c = &seg05.evidence.citations[0];
    assert_eq!(c.kind, "flow");
    assert_eq!(c.id, flows[0].key());
    assert!(
        c.detail.contains("telnet 10.20.0.99:50000 → 10.20.0.5:23"),
        "{}",
        c.detail
    );
    // The laptop shares the pumps' zone: segmentation is breached.
    assert_eq!(a["SEG-01"].answer, Answer::No);
    assert_eq!(a["SEG-01"].evidence.citations[0].id, "LAPTOP");
    // No internet address in the pump flows.
    assert_eq!(a["SEG-03"].answer, Answer::Yes);
    // Without Telnet, passive sensing cannot prove the service is off.
    let quiet = Facts {
        assets: &assets,
        flows: &flows[1..],
        ..Facts::default()
    };
    let seg05 = evaluate(&bank, &quiet)
        .into_iter()
        .find(|a| a.question_id == "SEG-05")
        .expect("SEG-05");
    assert_eq!(seg05.answer, Answer::Unknown);
    assert!(
        seg05.evidence.summary.contains("1 flows of 1 pumps"),
        "{}",
        seg05.evidence.summary
    );
}

#[test]
fn internet_hl7_inventory_audit_certificates_and_vulnerabilities() {
    let bank = Bank::builtin().expect("bank");
    let mut half = complete_pump("PUMP-2", "10.20.0.6");
    half.serial = None;
    let assets = [
        complete_pump("PUMP-1", "10.20.0.5"),
        half,
        asset("PS", AssetKind::PumpServer, "10.30.0.10", Some("servers")),
        asset("EHR", AssetKind::Ehr, "10.40.0.10", Some("ehr")),
    ];
    let flows = [
        flow("tls", "10.20.0.5", "93.184.216.34", 443),
        flow("hl7", "10.30.0.10", "10.40.0.10", 6661),
    ];
    let audit = AuditFacts {
        entries: 12,
        broken: None,
    };
    let certs = CertificateFacts {
        pumps: BTreeMap::from([("PUMP-1".to_owned(), true)]),
    };
    let vulns = VulnFacts {
        documents: 3,
        open_critical: vec![OpenVulnerability {
            asset_id: "PUMP-1".into(),
            cve: "CVE-2019-10959".into(),
            score: Some(10.0),
            kev: false,
        }],
    };
    let facts = Facts {
        assets: &assets,
        flows: &flows,
        audit: Some(&audit),
        certificates: Some(&certs),
        vulns: Some(&vulns),
        ..Facts::default()
    };
    let answers = evaluate(&bank, &facts);
    let a = by_question(&answers);
    assert_eq!(a["SEG-03"].answer, Answer::No);
    assert_eq!(a["SEG-03"].evidence.citations[0].id, flows[0].key());
    assert_eq!(a["ENC-03"].answer, Answer::No);
    assert_eq!(a["ENC-03"].evidence.citations[0].id, flows[1].key());
    assert_eq!(
        a["INV-01"].answer,
        Answer::Partial,
        "{}",
        a["INV-01"].evidence.summary
    );
    assert_eq!(a["INV-01"].evidence.citations[0].detail, "no serial");
    assert_eq!(a["LOG-03"].answer, Answer::Yes);
    assert_eq!(a["CRED-01"].answer, Answer::Partial);
    assert_eq!(a["CRED-01"].evidence.citations[0].id, "PUMP-2");
    assert_eq!(a["VULN-01"].answer, Answer::Partial);
    assert_eq!(
        a["VULN-01"].evidence.citations[0].id,
        "CVE-2019-10959 PUMP-1"
    );
    // Pump traffic seen, no new device left uninvestigated: the segment is watched.
    assert_eq!(a["INV-03"].answer, Answer::Yes);
    // Traffic between servers only says nothing about the pump segment.
    let servers_only = Facts {
        flows: &flows[1..],
        ..facts
    };
    let inv03 = evaluate(&bank, &servers_only)
        .into_iter()
        .find(|a| a.question_id == "INV-03")
        .expect("INV-03");
    assert_eq!(inv03.answer, Answer::Unknown, "{}", inv03.evidence.summary);

    let broken = AuditFacts {
        entries: 12,
        broken: Some("entry 7: hash mismatch".into()),
    };
    let none_open = VulnFacts {
        documents: 3,
        open_critical: vec![],
    };
    let alerts = [
        alert(1, AlertKind::NewDeviceOnPumpSegment, AlertStatus::Open),
        alert(2, AlertKind::PumpPivot, AlertStatus::Acknowledged),
    ];
    let facts = Facts {
        audit: Some(&broken),
        vulns: Some(&none_open),
        alerts: &alerts,
        ..facts
    };
    let a2 = evaluate(&bank, &facts);
    let a = by_question(&a2);
    assert_eq!(a["LOG-03"].answer, Answer::No);
    assert!(a["LOG-03"].evidence.summary.contains("entry 7"));
    assert_eq!(a["VULN-01"].answer, Answer::Yes);
    assert_eq!(a["INV-03"].answer, Answer::Partial);
    assert_eq!(a["INV-03"].evidence.citations[0].id, "1");
    assert_eq!(a["SEG-01"].answer, Answer::No);
    assert_eq!(a["SEG-01"].evidence.citations[0].id, "2");

    // A segmentation-policy violation counts when a pump is at one end.
    let mut violation = alert(3, AlertKind::PolicyViolation, AlertStatus::Open);
    violation.asset_id = Some("LAPTOP-9".into());
    violation.peer_asset_id = Some("PUMP-2".into());
    let mut elsewhere = alert(4, AlertKind::PolicyViolation, AlertStatus::Open);
    elsewhere.asset_id = Some("PS".into());
    elsewhere.peer_asset_id = Some("EHR".into());
    let alerts = [violation, elsewhere];
    let facts = Facts {
        alerts: &alerts,
        ..facts
    };
    let a3 = evaluate(&bank, &facts);
    let seg01 = a3
        .iter()
        .find(|a| a.question_id == "SEG-01")
        .expect("SEG-01");
    assert_eq!(seg01.answer, Answer::No);
    let ids: Vec<&str> = seg01
        .evidence
        .citations
        .iter()
        .map(|c| c.id.as_str())
        .collect();
    assert_eq!(ids, ["3"]);
}

#[test]
fn a_person_overrides_the_evidence_and_both_are_kept() {
    let bank = Bank::builtin().expect("bank");
    let assets = [complete_pump("PUMP-1", "10.20.0.5")];
    let flows = [flow("telnet", "10.20.0.99", "10.20.0.5", 23)];
    let facts = Facts {
        assets: &assets,
        flows: &flows,
        ..Facts::default()
    };
    let evidence = evaluate(&bank, &facts);
    let human = BTreeMap::from([(
        "SEG-05".to_owned(),
        HumanAnswer {
            answer: Answer::Yes,
            note: Some("Telnet disabled on every pump on 2026-12-02".into()),
            actor: "biomed".into(),
            answered: t("2026-12-02T09:00:00Z"),
        },
    )]);
    let answered = merge(&bank, &human, &evidence);
    assert_eq!(answered.len(), bank.questions.len());
    let seg05 = answered
        .iter()
        .find(|a| a.question_id == "SEG-05")
        .expect("SEG-05");
    assert_eq!(seg05.answer, Answer::Yes);
    assert_eq!(seg05.source, AnswerSource::Human);
    let kept = seg05.evidence.as_ref().expect("evidence kept");
    assert_eq!(kept.answer, Answer::No);
    assert!(seg05.disputed());
    // Evidence answers where no one did; unknown evidence leaves the question unknown.
    let seg03 = answered
        .iter()
        .find(|a| a.question_id == "SEG-03")
        .expect("SEG-03");
    assert_eq!(
        (seg03.answer, seg03.source),
        (Answer::Yes, AnswerSource::Evidence)
    );
    let cred = answered
        .iter()
        .find(|a| a.question_id == "CRED-01")
        .expect("CRED-01");
    assert_eq!(
        (cred.answer, cred.source),
        (Answer::Unknown, AnswerSource::None)
    );
    assert!(cred.evidence.is_some());
}
