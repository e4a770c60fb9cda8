//! A policy held against observed flows: every flow between zones gets a verdict, and
//! the denied ones are grouped into violations (one per client, server and service)
//! with their counts and the flow keys that show them.

use std::collections::BTreeMap;
use std::net::IpAddr;

use pumpguard_model::time::Timestamp;
use pumpguard_model::{
    AlertEvidence, AlertFact, AlertKind, Detection, Endpoint, FlowRecord, MAX_EVIDENCE_FLOWS,
    Severity,
};
use serde::Serialize;

use crate::eval::{Verdict, Zoning, service_name};

/// Flow keys kept per violation.
pub const MAX_FLOW_KEYS: usize = 16;

/// Connections the policy denies, from one client to one server for one service.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Violation {
    pub client_ip: IpAddr,
    pub client_zone: Option<String>,
    pub client_asset: Option<String>,
    pub server_ip: IpAddr,
    pub server_zone: Option<String>,
    pub server_asset: Option<String>,
    /// `tcp/23`, `udp/161`, `icmp`.
    pub service: String,
    /// Flows (5-tuples) and the connections they carried.
    pub flows: u64,
    pub sessions: u64,
    pub packets: u64,
    pub bytes: u64,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    /// The flows' keys as `flows list` shows them (at most [`MAX_FLOW_KEYS`]).
    pub flow_keys: Vec<String>,
}

/// The verdicts on a set of flows.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CheckReport {
    pub flows: u64,
    /// Broadcast, multicast and link-local flows: never routed, not judged.
    pub not_routed: u64,
    pub same_zone: u64,
    pub allowed: u64,
    pub default_allowed: u64,
    pub denied: u64,
    /// Allowed flows per conduit index.
    pub per_conduit: BTreeMap<usize, u64>,
    pub violations: Vec<Violation>,
}

/// Whether traffic to or from this address stays on its link.
pub fn is_link_local(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_broadcast() || v4.is_multicast() || v4.is_unspecified() || v4.is_link_local()
        }
        IpAddr::V6(v6) => {
            v6.is_multicast() || v6.is_unspecified() || (v6.segments()[0] & 0xffc0) == 0xfe80
        }
    }
}

/// Judges every flow; violations come worst first (most connections), then by address.
pub fn check(zoning: &Zoning<'_>, flows: &[FlowRecord]) -> CheckReport {
    let mut report = CheckReport::default();
    let mut groups: BTreeMap<(IpAddr, IpAddr, String), Violation> = BTreeMap::new();
    for f in flows {
        report.flows += 1;
        if is_link_local(f.client_ip) || is_link_local(f.server_ip) {
            report.not_routed += 1;
            continue;
        }
        match zoning.evaluate(&f.proto, f.client_ip, f.server_ip, f.server_port) {
            Verdict::SameZone => report.same_zone += 1,
            Verdict::Allowed { conduit } => {
                report.allowed += 1;
                *report.per_conduit.entry(conduit).or_default() += 1;
            }
            Verdict::DefaultAllowed => report.default_allowed += 1,
            Verdict::Denied => {
                report.denied += 1;
                let service = service_name(&f.proto, f.server_port);
                let v = groups
                    .entry((f.client_ip, f.server_ip, service.clone()))
                    .or_insert_with(|| Violation {
                        client_ip: f.client_ip,
                        client_zone: zoning.zone_name(f.client_ip).map(str::to_owned),
                        client_asset: zoning.asset_at(f.client_ip).map(|a| a.asset_id.to_string()),
                        server_ip: f.server_ip,
                        server_zone: zoning.zone_name(f.server_ip).map(str::to_owned),
                        server_asset: zoning.asset_at(f.server_ip).map(|a| a.asset_id.to_string()),
                        service,
                        flows: 0,
                        sessions: 0,
                        packets: 0,
                        bytes: 0,
                        first_seen: f.first_seen,
                        last_seen: f.last_seen,
                        flow_keys: Vec::new(),
                    });
                v.flows += 1;
                v.sessions += f.sessions;
                v.packets += f.packets_to_server + f.packets_to_client;
                v.bytes += f.bytes_to_server + f.bytes_to_client;
                v.first_seen = v.first_seen.min(f.first_seen);
                v.last_seen = v.last_seen.max(f.last_seen);
                if v.flow_keys.len() < MAX_FLOW_KEYS {
                    v.flow_keys.push(f.key());
                }
            }
        }
    }
    let mut violations: Vec<Violation> = groups.into_values().collect();
    violations.sort_by(|a, b| {
        b.sessions
            .cmp(&a.sessions)
            .then(a.client_ip.cmp(&b.client_ip))
            .then(a.server_ip.cmp(&b.server_ip))
            .then(a.service.cmp(&b.service))
    });
    report.violations = violations;
    report
}

/// The sensor's `policy_violation` detections for the denied flows: one per client,
/// server and service, about the client (the device that opened the connection).
pub fn detections(zoning: &Zoning<'_>, flows: &[FlowRecord]) -> Vec<Detection> {
    check(zoning, flows)
        .violations
        .into_iter()
        .map(|v| {
            let zone = |z: &Option<String>| z.clone().unwrap_or_else(|| "no zone".into());
            let (client_zone, server_zone) = (zone(&v.client_zone), zone(&v.server_zone));
            let (proto, port) = match v.service.split_once('/') {
                Some((p, port)) => (p.to_owned(), port.parse().ok()),
                None => (v.service.clone(), None),
            };
            let fact = |name: &str, value: String| AlertFact {
                name: name.into(),
                value,
            };
            Detection {
                kind: AlertKind::PolicyViolation,
                severity: Severity::Medium,
                subject: Endpoint {
                    ip: Some(v.client_ip),
                    mac: None,
                },
                peer: Some(Endpoint {
                    ip: Some(v.server_ip),
                    mac: None,
                }),
                proto,
                port,
                first_seen: v.first_seen,
                last_seen: v.last_seen,
                count: v.sessions.max(1),
                evidence: AlertEvidence {
                    flows: v.flow_keys.iter().take(MAX_EVIDENCE_FLOWS).cloned().collect(),
                    flow_ids: Vec::new(),
                    facts: vec![
                        fact("policy.client_zone", client_zone.clone()),
                        fact("policy.server_zone", server_zone.clone()),
                        fact("policy.service", v.service.clone()),
                    ],
                    sentence: format!(
                        "{} ({client_zone}) opened {} to {} ({server_zone}); no conduit allows it",
                        v.client_ip, v.service, v.server_ip
                    ),
                },
                action: format!(
                    "Block {} from {client_zone} to {server_zone} at the firewall, or add a conduit if the flow is needed.",
                    v.service
                ),
            }
        })
        .collect()
}
