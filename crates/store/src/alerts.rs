//! Alerts: the sensor's detections tied to inventory assets, one row per (kind, subject,
//! peer) that a recurrence adds to, and worked by analysts (open → acknowledged →
//! resolved; a resolved alert that recurs opens again). The rules for folding a
//! recurrence into a stored alert live here; the SQL lives in `ops.rs`.

use pumpguard_model::time::Timestamp;
use pumpguard_model::{
    Alert, AlertEvidence, AlertFact, AlertKind, AlertStatus, Asset, AssetKind, Detection, Endpoint,
    Evidence, MAX_EVIDENCE_FLOWS, Severity,
};

use crate::assets::dispatch;
use crate::backend::{postgres, sqlite};
use crate::{Backend, Result, Store, StoreError};

/// One audit entry to append: what happened, to what, and the facts.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRecord {
    pub action: String,
    pub object: String,
    pub detail: serde_json::Value,
}

/// Which alerts to list; `None` fields do not filter.
#[derive(Debug, Clone, Default)]
pub struct AlertFilter {
    /// Alerts last seen at or after this instant.
    pub since: Option<Timestamp>,
    /// Alerts at least this severe.
    pub min_severity: Option<Severity>,
    pub status: Option<AlertStatus>,
    pub kind: Option<AlertKind>,
    /// Alerts about this asset, as their subject or their peer.
    pub asset_id: Option<String>,
    pub limit: Option<u64>,
    pub offset: u64,
}

/// Facts kept as evidence per alert.
pub(crate) const MAX_FACTS: usize = 32;

/// A severity's rank as the `severity_rank` column holds it: 0 (info) to 4 (critical).
pub(crate) fn severity_rank(s: Severity) -> usize {
    Severity::ALL.iter().position(|x| *x == s).unwrap_or(0)
}

/// What an analyst's status change is called in the audit trail.
pub(crate) fn status_action(to: AlertStatus) -> &'static str {
    match to {
        AlertStatus::Open => "alert.reopen",
        AlertStatus::Acknowledged => "alert.ack",
        AlertStatus::Resolved => "alert.resolve",
    }
}

/// One end as a dedup key names it: its asset id, else its address, else its MAC
/// (empty when there is no end).
pub(crate) fn end_key(asset_id: Option<&str>, end: Option<&Endpoint>) -> String {
    if let Some(id) = asset_id {
        return id.to_owned();
    }
    match end {
        Some(Endpoint { ip: Some(ip), .. }) => ip.to_string(),
        Some(Endpoint { mac: Some(mac), .. }) => mac.to_string(),
        _ => String::new(),
    }
}

/// `kind|subject|peer`: alerts with the same key are one alert.
pub(crate) fn dedup_key(a: &Alert) -> String {
    format!(
        "{}|{}|{}",
        a.kind,
        end_key(a.asset_id.as_deref(), Some(&a.subject)),
        end_key(a.peer_asset_id.as_deref(), a.peer.as_ref())
    )
}

/// Refuses detections no alert can be made of, before the transaction starts.
pub(crate) fn check_detections(detections: &[Detection]) -> Result<()> {
    for (index, d) in detections.iter().enumerate() {
        let why = if d.subject.ip.is_none() && d.subject.mac.is_none() {
            "its subject has neither an address nor a MAC"
        } else if d.last_seen < d.first_seen {
            "it was last seen before it was first seen"
        } else if i64::try_from(d.count).is_err() {
            "its count does not fit a 64-bit signed integer"
        } else {
            continue;
        };
        return Err(StoreError::Rejected {
            index,
            why: format!("detection {} ({}): {why}", index + 1, d.kind),
        });
    }
    Ok(())
}

/// The alert a detection makes, given the assets its ends are (`subject`: the id and
/// criticality; `peer`: the id). New alerts are open; flow ids are the store's to fill.
pub(crate) fn from_detection(
    d: &Detection,
    subject: Option<(String, pumpguard_model::Criticality)>,
    peer: Option<String>,
) -> Alert {
    let criticality = subject.as_ref().map(|(_, c)| *c);
    // Through the union, so that a detection's own repeats and excess are dropped too.
    let mut evidence = AlertEvidence::default();
    merge_evidence(&mut evidence, &d.evidence, true);
    Alert {
        id: 0,
        kind: d.kind,
        severity: d.severity.for_asset(criticality),
        status: AlertStatus::Open,
        asset_id: subject.map(|(id, _)| id),
        peer_asset_id: peer,
        subject: d.subject.clone(),
        peer: d.peer.clone(),
        proto: d.proto.clone(),
        port: d.port,
        first_seen: d.first_seen,
        last_seen: d.last_seen,
        count: d.count,
        evidence,
        action: d.action.clone(),
    }
}

/// Folds a recurrence `new` into `into` (same key): counts add, the span widens, the
/// severity is the higher, evidence is the union (first flows and facts kept, up to
/// their caps), and the newer of the two (by last seen) gives the sentence, action,
/// protocol, port and endpoints. The status is left to the caller.
pub(crate) fn add_recurrence(into: &mut Alert, new: &Alert) {
    let newer = new.last_seen >= into.last_seen;
    into.count = into.count.saturating_add(new.count);
    into.first_seen = into.first_seen.min(new.first_seen);
    into.last_seen = into.last_seen.max(new.last_seen);
    into.severity = into.severity.max(new.severity);
    merge_evidence(&mut into.evidence, &new.evidence, newer);
    if into.asset_id.is_none() {
        into.asset_id.clone_from(&new.asset_id);
    }
    if into.peer_asset_id.is_none() {
        into.peer_asset_id.clone_from(&new.peer_asset_id);
    }
    merge_endpoint(&mut into.subject, &new.subject, newer);
    match (&mut into.peer, &new.peer) {
        (Some(old), Some(p)) => merge_endpoint(old, p, newer),
        (None, Some(p)) => into.peer = Some(p.clone()),
        _ => {}
    }
    if newer {
        if !new.action.is_empty() {
            into.action.clone_from(&new.action);
        }
        into.proto.clone_from(&new.proto);
        into.port = new.port.or(into.port);
    }
}

/// Takes the newer endpoint's parts, or fills the older one's gaps.
fn merge_endpoint(into: &mut Endpoint, new: &Endpoint, newer: bool) {
    if newer {
        into.ip = new.ip.or(into.ip);
        into.mac = new.mac.or(into.mac);
    } else {
        into.ip = into.ip.or(new.ip);
        into.mac = into.mac.or(new.mac);
    }
}

/// Unions evidence: flows and facts (by name and value) keep the first ones up to their
/// caps; the sentence is the newer one's.
fn merge_evidence(into: &mut AlertEvidence, new: &AlertEvidence, newer: bool) {
    for f in &new.flows {
        if into.flows.len() >= MAX_EVIDENCE_FLOWS {
            break;
        }
        if !into.flows.contains(f) {
            into.flows.push(f.clone());
        }
    }
    for f in &new.facts {
        if into.facts.len() >= MAX_FACTS {
            break;
        }
        if !into.facts.contains(f) {
            into.facts.push(f.clone());
        }
    }
    if newer && !new.sentence.is_empty() {
        into.sentence.clone_from(&new.sentence);
    }
}

/// `a` or `an` before a kind's name.
fn article(word: &str) -> &'static str {
    match word.chars().next() {
        Some('a' | 'e' | 'i' | 'o' | 'u') => "an",
        _ => "a",
    }
}

/// The alert on an asset whose kind changed from a specific one (not `other`), or
/// `None` when it did not. `evidence` is what the batch saw about the asset's kind.
pub(crate) fn class_change(before: &Asset, after: &Asset, evidence: &[&Evidence]) -> Option<Alert> {
    if before.kind == after.kind || before.kind == AssetKind::Other {
        return None;
    }
    let (from, to) = (before.kind.as_str(), after.kind.as_str());
    let mut backing: Vec<&Evidence> = evidence
        .iter()
        .copied()
        .filter(|e| e.field == pumpguard_model::Field::Kind && e.value == to)
        .collect();
    backing.sort_by(|a, b| {
        b.confidence
            .cmp(&a.confidence)
            .then_with(|| a.source.cmp(&b.source))
    });
    let said: Vec<String> = backing
        .iter()
        .take(4)
        .map(|e| format!("{} at {} %", e.source, e.confidence))
        .collect();
    let said = if said.is_empty() {
        "the sensor's classification".to_owned()
    } else {
        said.join(", ")
    };
    let name = match after.hostname.as_deref() {
        Some(h) if h != after.asset_id.as_str() => format!("{} ({h})", after.asset_id),
        _ => after.asset_id.to_string(),
    };
    let base = if before.kind == AssetKind::InfusionPump {
        Severity::High
    } else {
        Severity::Medium
    };
    // The asset may have taken the new kind's default criticality: the one it had
    // counts as much.
    let severity = base
        .for_asset(Some(before.criticality))
        .max(base.for_asset(Some(after.criticality)));
    let mut facts = vec![
        AlertFact {
            name: "from_kind".into(),
            value: from.into(),
        },
        AlertFact {
            name: "to_kind".into(),
            value: to.into(),
        },
    ];
    facts.extend(backing.iter().take(4).map(|e| AlertFact {
        name: e.source.clone(),
        value: e.value.clone(),
    }));
    let when = after.last_seen.unwrap_or_else(pumpguard_model::time::now);
    let proto = backing.first().map_or("identity", |e| {
        e.source.split('.').next().unwrap_or("identity")
    });
    Some(Alert {
        id: 0,
        kind: AlertKind::DeviceClassChange,
        severity,
        status: AlertStatus::Open,
        asset_id: Some(after.asset_id.to_string()),
        peer_asset_id: None,
        subject: Endpoint {
            ip: after.ip(),
            mac: after.mac,
        },
        peer: None,
        proto: proto.to_owned(),
        port: None,
        first_seen: when,
        last_seen: when,
        count: 1,
        evidence: AlertEvidence {
            flows: Vec::new(),
            flow_ids: Vec::new(),
            facts,
            sentence: format!(
                "{name} was {} {from} and now looks like {} {to} (evidence: {said})",
                article(from),
                article(to)
            ),
        },
        action: "Check the device physically; a pump that changes class may have been \
                 replaced or compromised."
            .into(),
    })
}

impl Store {
    /// Alerts matching `filter`, most severe first, then most recently seen, then by id.
    pub async fn list_alerts(&self, filter: &AlertFilter) -> Result<Vec<Alert>> {
        dispatch!(self, list_alerts(filter))
    }

    /// Raises alerts that are not from the wire (a certificate about to expire, a
    /// blocked infusion order…), already tied to their assets: one per
    /// `kind|subject|peer` like the sensor's, a recurrence adding to the stored one and
    /// opening it again if it was resolved; new ones audited `alert.raise` with `origin`.
    pub async fn raise_alerts(
        &self,
        actor: &str,
        origin: &str,
        alerts: Vec<Alert>,
    ) -> Result<crate::SenseSummary> {
        dispatch!(self, raise_alerts(actor, origin, alerts))
    }

    /// Appends audit entries and raises alerts (as [`Store::raise_alerts`]) in one
    /// transaction: what the gateway does with each order it blocks.
    pub async fn record_events(
        &self,
        actor: &str,
        origin: &str,
        records: &[AuditRecord],
        alerts: Vec<Alert>,
    ) -> Result<crate::SenseSummary> {
        dispatch!(self, record_events(actor, origin, records, alerts))
    }

    pub async fn get_alert(&self, id: i64) -> Result<Option<Alert>> {
        dispatch!(self, get_alert(id))
    }

    /// Moves an alert to `status`, audited as `alert.ack`, `alert.resolve` or
    /// `alert.reopen` with the states from and to; staying put writes nothing. An
    /// unknown id is [`StoreError::NotFound`].
    pub async fn set_alert_status(
        &self,
        actor: &str,
        id: i64,
        status: AlertStatus,
    ) -> Result<Alert> {
        dispatch!(self, set_alert_status(actor, id, status, None))
    }

    /// [`Store::set_alert_status`] with the analyst's note in the audit entry's detail.
    pub async fn set_alert_status_noted(
        &self,
        actor: &str,
        id: i64,
        status: AlertStatus,
        note: Option<&str>,
    ) -> Result<Alert> {
        dispatch!(self, set_alert_status(actor, id, status, note))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pumpguard_model::{Criticality, Source};

    fn t(s: &str) -> Timestamp {
        s.parse().expect("time")
    }

    fn alert(kind: AlertKind, when: &str) -> Alert {
        Alert {
            id: 0,
            kind,
            severity: Severity::Medium,
            status: AlertStatus::Open,
            asset_id: Some("PUMP-1".into()),
            peer_asset_id: None,
            subject: Endpoint {
                ip: Some("10.20.0.5".parse().expect("ip")),
                mac: None,
            },
            peer: Some(Endpoint {
                ip: Some("10.99.0.1".parse().expect("ip")),
                mac: None,
            }),
            proto: "telnet".into(),
            port: Some(23),
            first_seen: t(when),
            last_seen: t(when),
            count: 2,
            evidence: AlertEvidence {
                flows: vec!["tcp a".into()],
                flow_ids: vec![],
                facts: vec![AlertFact {
                    name: "user".into(),
                    value: "admin".into(),
                }],
                sentence: format!("seen {when}"),
            },
            action: "act".into(),
        }
    }

    #[test]
    fn ranks_follow_the_migration() {
        let ranks: Vec<usize> = Severity::ALL.iter().map(|s| severity_rank(*s)).collect();
        assert_eq!(ranks, [0, 1, 2, 3, 4]);
        assert_eq!(severity_rank(Severity::Critical), 4);
    }

    #[test]
    fn keys_name_assets_else_addresses_else_macs() {
        let mut a = alert(AlertKind::CleartextManagementToPump, "2026-11-01T08:00:00Z");
        assert_eq!(
            dedup_key(&a),
            "cleartext_management_to_pump|PUMP-1|10.99.0.1"
        );
        a.asset_id = None;
        a.peer_asset_id = Some("WS-7".into());
        assert_eq!(dedup_key(&a), "cleartext_management_to_pump|10.20.0.5|WS-7");
        a.subject.ip = None;
        a.subject.mac = Some("00:12:21:00:00:01".parse().expect("mac"));
        a.peer = None;
        a.peer_asset_id = None;
        assert_eq!(
            dedup_key(&a),
            "cleartext_management_to_pump|00:12:21:00:00:01|"
        );
    }

    #[test]
    fn recurrences_add_up_and_the_newer_speaks() {
        let mut stored = alert(AlertKind::Dos, "2026-11-01T09:00:00Z");
        let mut older = alert(AlertKind::Dos, "2026-11-01T08:00:00Z");
        older.severity = Severity::High;
        older.evidence.flows = vec!["tcp b".into(), "tcp a".into()];
        older.evidence.facts.push(AlertFact {
            name: "user".into(),
            value: "root".into(),
        });
        add_recurrence(&mut stored, &older);
        assert_eq!(stored.count, 4);
        assert_eq!(stored.first_seen, t("2026-11-01T08:00:00Z"));
        assert_eq!(stored.last_seen, t("2026-11-01T09:00:00Z"));
        assert_eq!(stored.severity, Severity::High);
        assert_eq!(stored.evidence.flows, ["tcp a", "tcp b"]);
        assert_eq!(stored.evidence.facts.len(), 2);
        assert_eq!(stored.evidence.sentence, "seen 2026-11-01T09:00:00Z");

        let mut newer = alert(AlertKind::Dos, "2026-11-01T10:00:00Z");
        newer.evidence.flows = (0..40).map(|i| format!("udp {i}")).collect();
        newer.evidence.facts = (0..40)
            .map(|i| AlertFact {
                name: "n".into(),
                value: i.to_string(),
            })
            .collect();
        newer.action = "newer".into();
        add_recurrence(&mut stored, &newer);
        assert_eq!(stored.evidence.flows.len(), MAX_EVIDENCE_FLOWS);
        assert_eq!(stored.evidence.flows[..2], ["tcp a", "tcp b"]);
        assert_eq!(stored.evidence.facts.len(), MAX_FACTS);
        assert_eq!(stored.evidence.sentence, "seen 2026-11-01T10:00:00Z");
        assert_eq!(stored.action, "newer");
    }

    #[test]
    fn a_pump_that_becomes_a_workstation_is_an_alert() {
        let mut pump = Asset::new(
            "mac-001221000002".parse().expect("id"),
            AssetKind::InfusionPump,
            Source::Discovered,
        );
        pump.hostname = Some("SPACECOM-2".into());
        pump.last_seen = Some(t("2026-11-01T08:00:00Z"));
        let mut ws = pump.clone();
        ws.kind = AssetKind::Workstation;
        ws.criticality = Criticality::Medium;
        let e = Evidence {
            field: pumpguard_model::Field::Kind,
            value: "workstation".into(),
            source: "dhcp.vendor_class".into(),
            confidence: 80,
            first_seen: t("2026-11-01T08:00:00Z"),
            last_seen: t("2026-11-01T08:00:00Z"),
            count: 1,
        };
        let a = class_change(&pump, &ws, &[&e]).expect("alert");
        assert_eq!(a.kind, AlertKind::DeviceClassChange);
        assert_eq!(a.severity, Severity::High);
        assert_eq!(a.proto, "dhcp");
        assert_eq!(
            a.evidence.sentence,
            "mac-001221000002 (SPACECOM-2) was an infusion_pump and now looks like a \
             workstation (evidence: dhcp.vendor_class at 80 %)"
        );
        assert_eq!(a.evidence.facts[0].value, "infusion_pump");
        assert_eq!(a.evidence.facts[1].value, "workstation");

        pump.criticality = Criticality::LifeSustaining;
        let a = class_change(&pump, &ws, &[]).expect("alert");
        assert_eq!(a.severity, Severity::Critical);

        let mut other = pump.clone();
        other.kind = AssetKind::Other;
        assert!(class_change(&other, &ws, &[]).is_none());
        let mut server = ws.clone();
        server.kind = AssetKind::PumpServer;
        assert_eq!(
            class_change(&ws, &server, &[]).expect("alert").severity,
            Severity::Medium
        );
    }
}
