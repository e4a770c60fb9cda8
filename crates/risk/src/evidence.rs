//! Evidence rules: questions pre-answered from what pumpguard itself holds (the
//! inventory, the sensor's flows and alerts, the audit chain, vulnerability matches,
//! device certificates, drug-library reports). Each rule answers one question and cites
//! the records that decided it.
//!
//! Missing data means `unknown`, never `yes`. A rule answers `yes` only on positive
//! evidence (an intact chain, certificates present, traffic observed with no
//! counter-example where traffic is what the question asks about), and `no` on a
//! counter-example it can cite. Where passive observation cannot prove a control (a
//! service not seen is not a service disabled), the rule says `unknown` with what it saw.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;

use pumpguard_model::{
    Alert, AlertKind, AlertStatus, Asset, AssetKind, FlowRecord, Lifecycle, is_internet,
};
use serde::{Deserialize, Serialize};

use crate::bank::Bank;
use crate::register::Answer;

/// Records a rule cites at most, per answer (the summary gives the full count).
pub const MAX_CITATIONS: usize = 20;

/// A record that backs an evidence answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Citation {
    /// `flow`, `alert`, `asset`, `audit`, `vulnerability`, `certificate` or
    /// `drug_library`.
    pub kind: String,
    /// How to find it again: a flow key as `flows list` shows it, an alert id, an asset
    /// id, a CVE with its asset.
    pub id: String,
    pub detail: String,
}

/// What a rule found: a sentence and the records behind it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    pub rule: String,
    pub summary: String,
    pub citations: Vec<Citation>,
}

/// A question pre-answered by a rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceAnswer {
    pub question_id: String,
    pub answer: Answer,
    pub evidence: Evidence,
}

/// The audit chain as `audit verify` found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditFacts {
    pub entries: u64,
    /// Where and why the chain breaks, if it does.
    pub broken: Option<String>,
}

/// An open vulnerability finding on an asset (affected, not triaged away).
#[derive(Debug, Clone, PartialEq)]
pub struct OpenVulnerability {
    pub asset_id: String,
    pub cve: String,
    pub score: Option<f64>,
    pub kev: bool,
}

/// What vulnerability intelligence pumpguard holds.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct VulnFacts {
    /// Advisories (and other documents) imported.
    pub documents: usize,
    /// Affected findings with CVSS ≥ 9.0 or in CISA KEV.
    pub open_critical: Vec<OpenVulnerability>,
}

/// Device certificates per pump, from the device PKI.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CertificateFacts {
    /// Pump asset id → whether it holds a valid (unexpired, unrevoked) certificate.
    pub pumps: BTreeMap<String, bool>,
}

/// A drug library a pump (or pump server) reported, with whether its hash is approved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrugLibraryReport {
    pub asset_id: String,
    pub library: String,
    pub hash: String,
    pub approved: bool,
}

/// Everything the rules read. A field that is `None` (or empty) is data pumpguard does
/// not hold, and the rules reading it answer `unknown`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Facts<'a> {
    pub assets: &'a [Asset],
    /// The flows the sensor stored (none: nothing was sensed).
    pub flows: &'a [FlowRecord],
    pub alerts: &'a [Alert],
    pub audit: Option<&'a AuditFacts>,
    pub vulns: Option<&'a VulnFacts>,
    pub certificates: Option<&'a CertificateFacts>,
    pub drug_libraries: Option<&'a [DrugLibraryReport]>,
}

/// The rule names a question's `evidence` may give.
pub const RULES: [&str; 10] = [
    "inventory_coverage",
    "unknown_devices_on_pump_segment",
    "pump_certificates",
    "segmentation_violations",
    "pumps_talking_to_internet",
    "cleartext_management_on_pumps",
    "hl7_cleartext_phi",
    "drug_library_unknown_hash",
    "audit_chain_intact",
    "open_critical_vulnerabilities",
];

/// Runs every question's rule over `facts`, in the bank's order.
pub fn evaluate(bank: &Bank, facts: &Facts<'_>) -> Vec<EvidenceAnswer> {
    let view = View::new(facts);
    bank.questions
        .iter()
        .filter_map(|q| {
            let rule = q.evidence.as_deref()?;
            let (answer, summary, citations) = view.rule(rule)?;
            Some(EvidenceAnswer {
                question_id: q.id.clone(),
                answer,
                evidence: Evidence {
                    rule: rule.to_owned(),
                    summary,
                    citations,
                },
            })
        })
        .collect()
}

type Outcome = (Answer, String, Vec<Citation>);

/// The facts with the indexes the rules share.
struct View<'a> {
    facts: &'a Facts<'a>,
    /// Pumps in service (or procured): the fleet the questions are about.
    pumps: Vec<&'a Asset>,
    /// Every address of every asset → the asset.
    by_ip: HashMap<IpAddr, &'a Asset>,
}

fn cite(kind: &str, id: impl Into<String>, detail: impl Into<String>) -> Citation {
    Citation {
        kind: kind.to_owned(),
        id: id.into(),
        detail: detail.into(),
    }
}

fn unknown(summary: impl Into<String>) -> Outcome {
    (Answer::Unknown, summary.into(), Vec::new())
}

fn capped(mut citations: Vec<Citation>) -> Vec<Citation> {
    citations.truncate(MAX_CITATIONS);
    citations
}

fn is_pump(a: &Asset) -> bool {
    a.kind == AssetKind::InfusionPump && a.lifecycle != Lifecycle::Retired
}

fn flow_detail(f: &FlowRecord) -> String {
    format!(
        "{} {}:{} → {}:{} ({}), {} packets, {} to {}",
        f.app,
        f.client_ip,
        f.client_port,
        f.server_ip,
        f.server_port,
        f.proto,
        f.packets_to_server + f.packets_to_client,
        pumpguard_model::time::rfc3339(f.first_seen),
        pumpguard_model::time::rfc3339(f.last_seen),
    )
}

fn alert_citation(a: &Alert) -> Citation {
    cite(
        "alert",
        a.id.to_string(),
        format!(
            "{} ({}, {}): {}",
            a.kind, a.severity, a.status, a.evidence.sentence
        ),
    )
}

fn percent(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        (1000.0 * part as f64 / whole as f64).round() / 10.0
    }
}

impl<'a> View<'a> {
    fn new(facts: &'a Facts<'a>) -> View<'a> {
        let mut by_ip = HashMap::new();
        for a in facts.assets {
            for ip in &a.ips {
                by_ip.insert(*ip, a);
            }
        }
        View {
            facts,
            pumps: facts.assets.iter().filter(|a| is_pump(a)).collect(),
            by_ip,
        }
    }

    fn rule(&self, name: &str) -> Option<Outcome> {
        Some(match name {
            "inventory_coverage" => self.inventory_coverage(),
            "unknown_devices_on_pump_segment" => self.unknown_devices(),
            "pump_certificates" => self.pump_certificates(),
            "segmentation_violations" => self.segmentation(),
            "pumps_talking_to_internet" => self.internet(),
            "cleartext_management_on_pumps" => self.cleartext_management(),
            "hl7_cleartext_phi" => self.hl7_cleartext(),
            "drug_library_unknown_hash" => self.drug_libraries(),
            "audit_chain_intact" => self.audit(),
            "open_critical_vulnerabilities" => self.vulnerabilities(),
            _ => return None,
        })
    }

    fn pump_at(&self, ip: IpAddr) -> Option<&'a Asset> {
        self.by_ip.get(&ip).copied().filter(|a| is_pump(a))
    }

    /// Flows with a pump at one end or the other.
    fn pump_flows(&self) -> impl Iterator<Item = &'a FlowRecord> + '_ {
        self.facts
            .flows
            .iter()
            .filter(|f| self.pump_at(f.client_ip).is_some() || self.pump_at(f.server_ip).is_some())
    }

    /// The sensor's window over the pumps, for summaries: "N flows of M pumps".
    fn observed(&self) -> (usize, usize) {
        let mut pumps = BTreeSet::new();
        let mut flows = 0;
        for f in self.pump_flows() {
            flows += 1;
            for ip in [f.client_ip, f.server_ip] {
                if let Some(p) = self.pump_at(ip) {
                    pumps.insert(p.asset_id.as_str());
                }
            }
        }
        (flows, pumps.len())
    }

    fn open_alerts(&self, kinds: &[AlertKind]) -> Vec<&'a Alert> {
        self.facts
            .alerts
            .iter()
            .filter(|a| kinds.contains(&a.kind) && a.status != AlertStatus::Resolved)
            .collect()
    }

    /// INV-01: every pump with model, firmware, serial, location and address.
    fn inventory_coverage(&self) -> Outcome {
        if self.pumps.is_empty() {
            return unknown("the inventory holds no infusion pumps");
        }
        let mut incomplete = Vec::new();
        for p in &self.pumps {
            let missing: Vec<&str> = [
                ("model", p.model.is_none()),
                ("firmware", p.firmware.is_none()),
                ("serial", p.serial.is_none()),
                ("location", p.location.is_none()),
                ("address", p.ips.is_empty()),
            ]
            .into_iter()
            .filter_map(|(name, gap)| gap.then_some(name))
            .collect();
            if !missing.is_empty() {
                incomplete.push(cite(
                    "asset",
                    p.asset_id.as_str(),
                    format!("no {}", missing.join(", no ")),
                ));
            }
        }
        let total = self.pumps.len();
        let complete = total - incomplete.len();
        let share = percent(complete, total);
        let answer = if share >= 95.0 {
            Answer::Yes
        } else if share >= 50.0 {
            Answer::Partial
        } else {
            Answer::No
        };
        let summary = format!(
            "{complete} of {total} pumps ({share}%) have model, firmware, serial, location and address in the inventory"
        );
        (answer, summary, capped(incomplete))
    }

    /// INV-03: the sensor watches the pump segment and new devices get investigated.
    fn unknown_devices(&self) -> Outcome {
        if self.observed().0 == 0 {
            return unknown("the sensor has seen no pump traffic, so not the pump segment");
        }
        let open: Vec<&Alert> = self
            .facts
            .alerts
            .iter()
            .filter(|a| {
                a.kind == AlertKind::NewDeviceOnPumpSegment && a.status == AlertStatus::Open
            })
            .collect();
        let first = self.facts.flows.iter().map(|f| f.first_seen).min();
        let last = self.facts.flows.iter().map(|f| f.last_seen).max();
        let window = match (first, last) {
            (Some(a), Some(b)) => format!(
                "from {} to {}",
                pumpguard_model::time::rfc3339(a),
                pumpguard_model::time::rfc3339(b)
            ),
            _ => String::new(),
        };
        if open.is_empty() {
            let seen = self
                .facts
                .alerts
                .iter()
                .filter(|a| a.kind == AlertKind::NewDeviceOnPumpSegment)
                .count();
            (
                Answer::Yes,
                format!(
                    "the sensor watched the network {window}; {seen} new device(s) on the pump segment, none left uninvestigated"
                ),
                Vec::new(),
            )
        } else {
            let citations = open.iter().map(|a| alert_citation(a)).collect();
            (
                Answer::Partial,
                format!(
                    "the sensor watched the network {window} and detected {} new device(s) on the pump segment that nobody has acknowledged",
                    open.len()
                ),
                capped(citations),
            )
        }
    }

    /// CRED-01: a valid certificate per pump, from the device PKI.
    fn pump_certificates(&self) -> Outcome {
        let Some(certs) = self.facts.certificates else {
            return unknown("pumpguard holds no device certificates to check the pumps against");
        };
        if self.pumps.is_empty() {
            return unknown("the inventory holds no infusion pumps");
        }
        let without: Vec<Citation> = self
            .pumps
            .iter()
            .filter(|p| {
                !certs
                    .pumps
                    .get(p.asset_id.as_str())
                    .copied()
                    .unwrap_or(false)
            })
            .map(|p| cite("asset", p.asset_id.as_str(), "no valid device certificate"))
            .collect();
        let total = self.pumps.len();
        let with = total - without.len();
        let answer = if without.is_empty() {
            Answer::Yes
        } else if with > 0 {
            Answer::Partial
        } else {
            Answer::No
        };
        (
            answer,
            format!(
                "{with} of {total} pumps ({}%) hold a valid device certificate",
                percent(with, total)
            ),
            capped(without),
        )
    }

    /// SEG-01: pumps on a segment of their own. Counter-examples: a device that is not a
    /// pump (or network gear) in a zone pumps are in; a pump talking to hosts that are
    /// not its servers (`pump_pivot`); a segmentation-policy violation to or from a pump
    /// (`policy_violation`).
    fn segmentation(&self) -> Outcome {
        let pump_zones: BTreeSet<&str> = self
            .pumps
            .iter()
            .filter_map(|p| p.zone.as_deref())
            .collect();
        let mut citations: Vec<Citation> = self
            .facts
            .assets
            .iter()
            .filter(|a| {
                !is_pump(a)
                    && a.kind != AssetKind::Network
                    && a.lifecycle != Lifecycle::Retired
                    && a.zone.as_deref().is_some_and(|z| pump_zones.contains(z))
            })
            .map(|a| {
                cite(
                    "asset",
                    a.asset_id.as_str(),
                    format!(
                        "a {} in pump zone '{}'",
                        a.kind,
                        a.zone.as_deref().unwrap_or_default()
                    ),
                )
            })
            .collect();
        // Pumps reaching beyond their servers, and segmentation-policy violations with a
        // pump at either end.
        let pumps: BTreeSet<&str> = self.pumps.iter().map(|p| p.asset_id.as_str()).collect();
        let involves_pump = |a: &Alert| {
            [&a.asset_id, &a.peer_asset_id]
                .into_iter()
                .flatten()
                .any(|id| pumps.contains(id.as_str()))
        };
        let crossings = self
            .open_alerts(&[AlertKind::PumpPivot, AlertKind::PolicyViolation])
            .into_iter()
            .filter(|a| a.kind == AlertKind::PumpPivot || involves_pump(a));
        citations.extend(crossings.map(alert_citation));
        if !citations.is_empty() {
            let n = citations.len();
            return (
                Answer::No,
                format!(
                    "{n} breach(es) of the pump segment: devices sharing it or pumps reaching beyond their servers"
                ),
                capped(citations),
            );
        }
        if pump_zones.is_empty() {
            return unknown(
                "no pump has a zone in the inventory and no pump was seen reaching beyond its servers",
            );
        }
        let zoned = self.pumps.iter().filter(|p| p.zone.is_some()).count();
        let total = self.pumps.len();
        let answer = if zoned == total {
            Answer::Yes
        } else {
            Answer::Partial
        };
        (
            answer,
            format!(
                "{zoned} of {total} pumps are in pump-only zones ({}); no other device shares them and no pump reached beyond its servers",
                pump_zones.into_iter().collect::<Vec<_>>().join(", ")
            ),
            Vec::new(),
        )
    }

    /// SEG-03: no pump traffic with internet addresses.
    fn internet(&self) -> Outcome {
        let (flows, pumps) = self.observed();
        if flows == 0 {
            return unknown("the sensor has seen no pump traffic");
        }
        let mut citations: Vec<Citation> = self
            .pump_flows()
            .filter(|f| is_internet(f.client_ip) || is_internet(f.server_ip))
            .map(|f| cite("flow", f.key(), flow_detail(f)))
            .collect();
        let n = citations.len();
        citations.extend(
            self.open_alerts(&[AlertKind::PumpToInternet])
                .iter()
                .map(|a| alert_citation(a)),
        );
        if citations.is_empty() {
            (
                Answer::Yes,
                format!("{flows} flows of {pumps} pumps observed; none with an internet address"),
                Vec::new(),
            )
        } else {
            (
                Answer::No,
                format!("{n} of {flows} pump flows reach internet addresses"),
                capped(citations),
            )
        }
    }

    /// SEG-05: Telnet, FTP or HTTP into a pump, or a cleartext-management alert on one.
    fn cleartext_management(&self) -> Outcome {
        let (flows, pumps) = self.observed();
        let cleartext: Vec<&FlowRecord> = self
            .facts
            .flows
            .iter()
            .filter(|f| {
                matches!(f.app.as_str(), "telnet" | "ftp" | "http")
                    && self.pump_at(f.server_ip).is_some()
            })
            .collect();
        let mut citations: Vec<Citation> = cleartext
            .iter()
            .map(|f| cite("flow", f.key(), flow_detail(f)))
            .collect();
        let n = citations.len();
        citations.extend(
            self.open_alerts(&[
                AlertKind::CleartextManagementToPump,
                AlertKind::FtpUploadToPump,
            ])
            .iter()
            .map(|a| alert_citation(a)),
        );
        if !citations.is_empty() {
            let services: BTreeSet<&str> = cleartext.iter().map(|f| f.app.as_str()).collect();
            let services = if services.is_empty() {
                "cleartext management".to_owned()
            } else {
                services.into_iter().collect::<Vec<_>>().join(", ")
            };
            return (
                Answer::No,
                format!("{services} into pumps seen on the wire: {n} flow(s)"),
                capped(citations),
            );
        }
        if flows == 0 {
            return unknown("the sensor has seen no pump traffic");
        }
        unknown(format!(
            "no Telnet, FTP or HTTP into pumps in {flows} flows of {pumps} pumps; passive observation cannot show a service is disabled"
        ))
    }

    /// ENC-03: HL7 between servers in cleartext (MLLP without TLS).
    fn hl7_cleartext(&self) -> Outcome {
        let mut citations: Vec<Citation> = self
            .facts
            .flows
            .iter()
            .filter(|f| f.app == "hl7")
            .map(|f| cite("flow", f.key(), flow_detail(f)))
            .collect();
        let n = citations.len();
        let phi = self.open_alerts(&[AlertKind::CleartextHl7Phi]);
        citations.extend(phi.iter().map(|a| alert_citation(a)));
        if !citations.is_empty() {
            let with_phi = if phi.is_empty() {
                String::new()
            } else {
                format!(", {} alert(s) of patient identifiers in them", phi.len())
            };
            return (
                Answer::No,
                format!("{n} HL7 flow(s) in cleartext{with_phi}"),
                capped(citations),
            );
        }
        let kind_at = |ip: IpAddr| self.by_ip.get(&ip).map(|a| a.kind);
        let interfaces = self
            .facts
            .flows
            .iter()
            .filter(|f| {
                let kinds = [kind_at(f.client_ip), kind_at(f.server_ip)];
                kinds.contains(&Some(AssetKind::PumpServer))
                    && kinds.contains(&Some(AssetKind::Ehr))
            })
            .collect::<Vec<_>>();
        if interfaces.is_empty() {
            return unknown("the sensor has seen no traffic between the pump server and the EHR");
        }
        let encrypted = interfaces.iter().filter(|f| f.app == "tls").count();
        if encrypted == interfaces.len() {
            (
                Answer::Yes,
                format!(
                    "all {encrypted} flow(s) between the pump server and the EHR are TLS; no cleartext HL7 seen"
                ),
                Vec::new(),
            )
        } else {
            let citations = interfaces
                .iter()
                .filter(|f| f.app != "tls")
                .map(|f| cite("flow", f.key(), flow_detail(f)))
                .collect();
            (
                Answer::Partial,
                format!(
                    "{encrypted} of {} flow(s) between the pump server and the EHR are TLS; the others carry something else, not HL7 the sensor could read",
                    interfaces.len()
                ),
                capped(citations),
            )
        }
    }

    /// LIB-02: every reported drug library has an approved hash.
    fn drug_libraries(&self) -> Outcome {
        let Some(reports) = self.facts.drug_libraries.filter(|r| !r.is_empty()) else {
            return unknown("no pump or pump server has reported its drug library to pumpguard");
        };
        let unknown_hashes: Vec<Citation> = reports
            .iter()
            .filter(|r| !r.approved)
            .map(|r| {
                cite(
                    "drug_library",
                    r.asset_id.as_str(),
                    format!(
                        "{} with hash {} is not an approved version",
                        r.library, r.hash
                    ),
                )
            })
            .collect();
        if unknown_hashes.is_empty() {
            (
                Answer::Yes,
                format!(
                    "all {} reported drug libraries have approved hashes",
                    reports.len()
                ),
                Vec::new(),
            )
        } else {
            (
                Answer::No,
                format!(
                    "{} of {} reported drug libraries have unknown hashes",
                    unknown_hashes.len(),
                    reports.len()
                ),
                capped(unknown_hashes),
            )
        }
    }

    /// LOG-03: the audit hash chain verifies.
    fn audit(&self) -> Outcome {
        let Some(audit) = self.facts.audit else {
            return unknown("the audit chain was not verified");
        };
        match &audit.broken {
            Some(why) => (
                Answer::No,
                format!("the audit chain does not verify: {why}"),
                vec![cite("audit", "chain", why.as_str())],
            ),
            None if audit.entries == 0 => unknown("the audit trail is empty"),
            // No entry count in the evidence: storing the evidence appends entries, and
            // an answer that changed with every evaluation would be audited every time.
            None => (
                Answer::Yes,
                "the audit hash chain verifies from its first entry to its head; retention is the hospital's to attest".into(),
                vec![cite("audit", "chain", "intact")],
            ),
        }
    }

    /// VULN-01: advisories imported and matched; critical or KEV findings left open
    /// make it partial.
    fn vulnerabilities(&self) -> Outcome {
        let Some(v) = self.facts.vulns.filter(|v| v.documents > 0) else {
            return unknown("no advisory has been imported");
        };
        if v.open_critical.is_empty() {
            return (
                Answer::Yes,
                format!(
                    "{} advisories imported and matched against the inventory; no critical or known-exploited finding is open",
                    v.documents
                ),
                Vec::new(),
            );
        }
        let cves: BTreeSet<&str> = v.open_critical.iter().map(|o| o.cve.as_str()).collect();
        let assets: BTreeSet<&str> = v
            .open_critical
            .iter()
            .map(|o| o.asset_id.as_str())
            .collect();
        let citations = v
            .open_critical
            .iter()
            .map(|o| {
                let score = o.score.map(|s| format!("CVSS {s:.1}")).unwrap_or_default();
                let kev = if o.kev { ", in CISA KEV" } else { "" };
                cite(
                    "vulnerability",
                    format!("{} {}", o.cve, o.asset_id),
                    format!("{score}{kev}, affected, not triaged"),
                )
            })
            .collect();
        (
            Answer::Partial,
            format!(
                "{} advisories imported and matched; {} critical or known-exploited CVE(s) open on {} asset(s)",
                v.documents,
                cves.len(),
                assets.len()
            ),
            capped(citations),
        )
    }
}
