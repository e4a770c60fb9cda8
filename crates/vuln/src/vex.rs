//! VEX out: what the matcher and triage decided, per model and firmware (the unit a
//! hospital triages), as a CSAF 2.0 `csaf_vex` document, a CycloneDX 1.5 BOM with
//! `vulnerabilities`, or an OpenVEX 0.2.0 document. `needs_review` is written as
//! `under_investigation`: VEX has no word for "we could not decide".

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use pumpguard_model::{Asset, time};
use serde_json::{Value, json};

use crate::matcher::{Finding, FindingStatus};

/// The output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VexOut {
    Csaf,
    CycloneDx,
    OpenVex,
}

/// One product: a model at a firmware, as the inventory names it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct ModelKey {
    vendor: String,
    model: String,
    firmware: Option<String>,
}

impl ModelKey {
    fn label(&self) -> String {
        let mut s = format!("{} {}", self.vendor, self.model);
        if let Some(f) = &self.firmware {
            s.push_str(&format!(" firmware {f}"));
        }
        s
    }

    /// A stable identifier: `pkg:generic/VENDOR/MODEL@FIRMWARE` (purl syntax,
    /// percent-encoded), used as product id in all three formats.
    fn purl(&self) -> String {
        let enc = |s: &str| -> String {
            s.bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' | b'_' | b'~' => {
                        (b as char).to_string()
                    }
                    _ => format!("%{b:02X}"),
                })
                .collect()
        };
        let mut p = format!("pkg:generic/{}/{}", enc(&self.vendor), enc(&self.model));
        if let Some(f) = &self.firmware {
            p.push('@');
            p.push_str(&enc(f));
        }
        p
    }
}

/// What one model/firmware's finding for one CVE says.
#[derive(Debug, Clone)]
struct Statement {
    status: &'static str,
    justification: Option<String>,
    detail: String,
    action: Option<String>,
}

fn vex_status(s: FindingStatus) -> &'static str {
    match s {
        FindingStatus::Affected => "affected",
        FindingStatus::NotAffected => "not_affected",
        FindingStatus::Fixed => "fixed",
        FindingStatus::UnderInvestigation | FindingStatus::NeedsReview => "under_investigation",
    }
}

/// Findings folded to one statement per (model at firmware, CVE). Assets of a group share
/// their decision (see the matcher), so the first finding speaks for the group.
fn statements(
    findings: &[Finding],
    assets: &[Asset],
) -> BTreeMap<String, BTreeMap<ModelKey, Statement>> {
    let by_id: BTreeMap<&str, &Asset> = assets.iter().map(|a| (a.asset_id.as_str(), a)).collect();
    let mut out: BTreeMap<String, BTreeMap<ModelKey, Statement>> = BTreeMap::new();
    for f in findings {
        let Some(a) = by_id.get(f.asset_id.as_str()) else {
            continue;
        };
        let Some(model) = &a.model else {
            continue;
        };
        let key = ModelKey {
            vendor: a.vendor.clone().unwrap_or_else(|| "unknown".into()),
            model: model.clone(),
            firmware: a.firmware.clone(),
        };
        out.entry(f.cve.to_string())
            .or_default()
            .entry(key)
            .or_insert_with(|| Statement {
                status: vex_status(f.status),
                justification: f.justification.as_deref().map(str::to_owned),
                detail: f.reason.to_string(),
                action: f.remediation.as_deref().map(str::to_owned),
            });
    }
    out
}

/// The VEX document for the findings.
pub fn export(
    findings: &[Finding],
    assets: &[Asset],
    format: VexOut,
    author: &str,
    now: Timestamp,
) -> Value {
    let st = statements(findings, assets);
    match format {
        VexOut::OpenVex => openvex(&st, author, now),
        VexOut::CycloneDx => cyclonedx(&st, now),
        VexOut::Csaf => csaf(&st, author, now),
    }
}

fn uuid_urn() -> String {
    format!("urn:uuid:{}", uuid::Uuid::now_v7())
}

fn openvex(
    st: &BTreeMap<String, BTreeMap<ModelKey, Statement>>,
    author: &str,
    now: Timestamp,
) -> Value {
    let mut statements = Vec::new();
    for (cve, products) in st {
        for (key, s) in products {
            let mut o = json!({
                "vulnerability": { "name": cve },
                "products": [ { "@id": key.purl() } ],
                "status": s.status,
            });
            if s.status == "not_affected" {
                match &s.justification {
                    Some(j) => o["justification"] = json!(j),
                    None => o["impact_statement"] = json!(s.detail),
                }
            }
            if s.status == "affected" {
                o["action_statement"] = json!(s.action.clone().unwrap_or_else(|| {
                    "No fix is known to pumpguard: isolate the device per the segmentation policy and ask the manufacturer".into()
                }));
            }
            o["status_notes"] = json!(s.detail);
            statements.push(o);
        }
    }
    json!({
        "@context": "https://openvex.dev/ns/v0.2.0",
        "@id": uuid_urn(),
        "author": author,
        "timestamp": time::rfc3339(now),
        "version": 1,
        "statements": statements,
    })
}

/// VEX justifications in CycloneDX's vocabulary.
fn cyclonedx_justification(j: &str) -> Option<&'static str> {
    Some(match j {
        "component_not_present" | "vulnerable_code_not_present" => "code_not_present",
        "vulnerable_code_not_in_execute_path" => "code_not_reachable",
        "vulnerable_code_cannot_be_controlled_by_adversary" => "protected_by_mitigating_control",
        "inline_mitigations_already_exist" => "protected_at_runtime",
        _ => return None,
    })
}

fn cyclonedx(st: &BTreeMap<String, BTreeMap<ModelKey, Statement>>, now: Timestamp) -> Value {
    let keys: BTreeSet<&ModelKey> = st.values().flat_map(|p| p.keys()).collect();
    let components: Vec<Value> = keys
        .iter()
        .map(|k| {
            let mut c = json!({
                "type": "device",
                "bom-ref": k.purl(),
                // CycloneDX 1.5 has no `manufacturer` on components (1.6 added it).
                "supplier": { "name": k.vendor },
                "name": k.model,
                "purl": k.purl(),
            });
            if let Some(f) = &k.firmware {
                c["version"] = json!(f);
            }
            c
        })
        .collect();
    let mut vulnerabilities = Vec::new();
    for (cve, products) in st {
        // CycloneDX has one analysis per vulnerability entry: one entry per statement.
        for (key, s) in products {
            let state = match s.status {
                "affected" => "exploitable",
                "not_affected" => "not_affected",
                "fixed" => "resolved",
                _ => "in_triage",
            };
            let mut analysis = json!({ "state": state, "detail": s.detail });
            if let Some(j) = s.justification.as_deref().and_then(cyclonedx_justification) {
                analysis["justification"] = json!(j);
            }
            if s.status == "affected" && s.action.is_some() {
                analysis["response"] = json!(["update"]);
            }
            let mut v = json!({
                "id": cve,
                "analysis": analysis,
                "affects": [ { "ref": key.purl() } ],
            });
            if cve.starts_with("CVE-") {
                v["source"] = json!({ "name": "NVD", "url": format!("https://nvd.nist.gov/vuln/detail/{cve}") });
            }
            if let Some(a) = &s.action {
                v["recommendation"] = json!(a);
            }
            vulnerabilities.push(v);
        }
    }
    json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": uuid_urn(),
        "version": 1,
        "metadata": {
            "timestamp": time::rfc3339(now),
            "tools": { "components": [ { "type": "application", "name": "pumpguard", "version": env!("CARGO_PKG_VERSION") } ] },
        },
        "components": components,
        "vulnerabilities": vulnerabilities,
    })
}

fn csaf(
    st: &BTreeMap<String, BTreeMap<ModelKey, Statement>>,
    author: &str,
    now: Timestamp,
) -> Value {
    // Product ids CSAFPID-n in model order; the tree is vendor > product_name > version.
    let keys: Vec<&ModelKey> = st
        .values()
        .flat_map(|p| p.keys())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let id_of = |k: &ModelKey| -> String {
        let n = keys.iter().position(|x| *x == k).unwrap_or(0) + 1;
        format!("CSAFPID-{n:04}")
    };
    let mut vendors: BTreeMap<&str, BTreeMap<&str, Vec<&ModelKey>>> = BTreeMap::new();
    for k in &keys {
        vendors
            .entry(k.vendor.as_str())
            .or_default()
            .entry(k.model.as_str())
            .or_default()
            .push(k);
    }
    let branches: Vec<Value> = vendors
        .iter()
        .map(|(vendor, models)| {
            let models: Vec<Value> = models
                .iter()
                .map(|(model, ks)| {
                    let versions: Vec<Value> = ks
                        .iter()
                        .map(|k| {
                            json!({
                                "category": "product_version",
                                "name": k.firmware.clone().unwrap_or_else(|| "unknown".into()),
                                "product": {
                                    "name": k.label(),
                                    "product_id": id_of(k),
                                    "product_identification_helper": { "purl": k.purl() },
                                },
                            })
                        })
                        .collect();
                    json!({ "category": "product_name", "name": model, "branches": versions })
                })
                .collect();
            json!({ "category": "vendor", "name": vendor, "branches": models })
        })
        .collect();
    let mut vulnerabilities = Vec::new();
    for (cve, products) in st {
        let mut status: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        let mut flags: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut threats = Vec::new();
        let mut remediations = Vec::new();
        for (key, s) in products {
            let id = id_of(key);
            let bucket = match s.status {
                "affected" => "known_affected",
                "not_affected" => "known_not_affected",
                "fixed" => "fixed",
                _ => "under_investigation",
            };
            status.entry(bucket).or_default().push(id.clone());
            if s.status == "not_affected" {
                match &s.justification {
                    Some(j) => flags.entry(j.clone()).or_default().push(id.clone()),
                    None => threats.push(json!({
                        "category": "impact",
                        "details": s.detail,
                        "product_ids": [id.clone()],
                    })),
                }
            }
            if s.status == "affected" {
                let (category, details) = match &s.action {
                    Some(a) => ("vendor_fix", a.clone()),
                    None => (
                        "mitigation",
                        "No fix is known to pumpguard: isolate the device per the segmentation policy and ask the manufacturer".to_owned(),
                    ),
                };
                remediations.push(json!({
                    "category": category,
                    "details": details,
                    "product_ids": [id.clone()],
                }));
            }
        }
        let mut v = json!({ "product_status": status });
        if cve.starts_with("CVE-") {
            v["cve"] = json!(cve);
        } else {
            v["ids"] = json!([{ "system_name": "pumpguard", "text": cve }]);
        }
        v["notes"] = json!([{
            "category": "description",
            "text": format!("Status of {cve} for the models and firmware in this inventory, as pumpguard matched and analysts triaged it."),
            "title": "pumpguard assessment",
        }]);
        if !flags.is_empty() {
            v["flags"] = json!(
                flags
                    .into_iter()
                    .map(|(label, ids)| json!({ "label": label, "product_ids": ids }))
                    .collect::<Vec<_>>()
            );
        }
        if !threats.is_empty() {
            v["threats"] = json!(threats);
        }
        if !remediations.is_empty() {
            v["remediations"] = json!(remediations);
        }
        vulnerabilities.push(v);
    }
    let stamp = time::rfc3339(now);
    json!({
        "document": {
            "category": "csaf_vex",
            "csaf_version": "2.0",
            "publisher": {
                "category": "user",
                "name": author,
                "namespace": "https://pumpguard.invalid",
            },
            "title": "pumpguard VEX for the inventory",
            "notes": [{
                "category": "summary",
                "text": "Exploitability of known vulnerabilities for each device model and firmware in the hospital's inventory.",
                "title": "Summary",
            }],
            "tracking": {
                "current_release_date": stamp,
                "id": format!("pumpguard-vex-{}", now.as_second()),
                "initial_release_date": stamp,
                "revision_history": [{ "date": stamp, "number": "1", "summary": "Exported by pumpguard." }],
                "status": "final",
                "version": "1",
                "generator": { "engine": { "name": "pumpguard", "version": env!("CARGO_PKG_VERSION") } },
            },
        },
        "product_tree": { "branches": branches },
        "vulnerabilities": vulnerabilities,
    })
}
