//! Matching vulnerability intelligence to the fleet: which CVEs apply to which assets,
//! why, how sure, and how urgent.
//!
//! Hospitals triage per model and firmware, not per unit, so assets are grouped by
//! (vendor, model, firmware) and each group is matched once:
//! - advisory products by vendor (aliases), product name ([`names::product_match`]) and
//!   version constraint ([`version::Constraint::check`]);
//! - NVD records by evaluating their CPE configurations (NISTIR 7696) against the
//!   group's hardware and firmware;
//! - SBOMs whose subject is the group's product, then their components by purl or CPE
//!   against advisory products and NVD configurations.
//!
//! Sources can disagree. Per asset and CVE one finding is kept, decided in this order: an
//! analyst's triage for the model (and firmware); a VEX-style `not_affected` or `fixed`
//! statement that matched with at least medium confidence; `affected`; `needs_review`;
//! `under_investigation`. Nothing undecidable is dropped: it is `needs_review` with the
//! reason. Every finding carries its priority ([`Priority`]).

use std::collections::HashMap;
use std::sync::Arc;

use pumpguard_model::{
    Advisory, Asset, Confidence, CvssScore, EpssScore, KevEntry, Product, Sbom, TriageDecision,
    VexStatus, VulnFormat, Vulnerability,
};
use serde::Serialize;

use crate::cpe::{self, CpeName, Truth};
pub use crate::exposure::Exposure;
use crate::names::VendorAliases;
use crate::version::{self, Constraint, Verdict};

/// What a finding says about an asset and a CVE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingStatus {
    Affected,
    NeedsReview,
    UnderInvestigation,
    Fixed,
    NotAffected,
}

impl FindingStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            FindingStatus::Affected => "affected",
            FindingStatus::NeedsReview => "needs_review",
            FindingStatus::UnderInvestigation => "under_investigation",
            FindingStatus::Fixed => "fixed",
            FindingStatus::NotAffected => "not_affected",
        }
    }

    fn from_vex(s: VexStatus) -> FindingStatus {
        match s {
            VexStatus::Affected => FindingStatus::Affected,
            VexStatus::NotAffected => FindingStatus::NotAffected,
            VexStatus::Fixed => FindingStatus::Fixed,
            VexStatus::UnderInvestigation => FindingStatus::UnderInvestigation,
        }
    }

    /// Which of two candidate findings decides (lower wins): statements that clear a
    /// device win over `affected` only when they matched well (see the module doc).
    fn rank(self, confidence: Confidence) -> u8 {
        match self {
            FindingStatus::NotAffected | FindingStatus::Fixed
                if confidence >= Confidence::Medium =>
            {
                0
            }
            FindingStatus::Affected => 1,
            FindingStatus::NeedsReview => 2,
            FindingStatus::UnderInvestigation => 3,
            FindingStatus::NotAffected | FindingStatus::Fixed => 4,
        }
    }
}

/// The urgency of a finding and every factor in it:
/// `value = cvss × kev × epss × exposure × criticality`, where
/// - `cvss` is the base score (5.0 when no source scores it);
/// - `kev` is 2 when CISA lists the CVE as known exploited, else 1;
/// - `epss` is 1 + 2 × the EPSS probability (1 without one);
/// - `exposure` is what the network says (see [`Exposure`]);
/// - `criticality` is 1.5 life-sustaining, 1.25 high, 1 medium, 0.75 low.
///
/// Findings that are not `affected` or `needs_review` get 0.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Priority {
    pub value: f64,
    pub cvss: f64,
    pub kev: f64,
    pub epss: f64,
    pub exposure: f64,
    pub criticality: f64,
    /// Why the exposure factor is what it is.
    pub exposure_reason: Arc<str>,
}

/// One asset and one CVE.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub asset_id: String,
    /// The CVE (or the advisory's own id for a vulnerability without one).
    pub cve: Arc<str>,
    /// The document that decided.
    pub advisory: Arc<str>,
    pub status: FindingStatus,
    pub score: Option<f64>,
    pub severity: Option<Arc<str>>,
    pub vector: Option<Arc<str>>,
    /// Shared by every asset of one model and firmware (one decision per group).
    pub reason: Arc<str>,
    pub confidence: Confidence,
    /// For `not_affected`: the VEX justification.
    pub justification: Option<Arc<str>>,
    /// What the deciding document says to do.
    pub remediation: Option<Arc<str>>,
    /// Other documents that name this CVE for this asset.
    pub also: Arc<[String]>,
    pub kev: bool,
    pub epss: Option<f64>,
    pub priority: Priority,
}

/// Everything the matcher reads besides the assets.
#[derive(Debug, Default)]
pub struct Intel<'a> {
    pub advisories: &'a [Advisory],
    pub sboms: &'a [Sbom],
    pub kev: &'a [KevEntry],
    pub epss: &'a [EpssScore],
    pub triage: &'a [TriageDecision],
    /// Per asset id, when the sensor has seen it; otherwise [`Exposure::from_zone`].
    pub exposure: HashMap<String, Exposure>,
}

/// A group's verdict on one CVE from one document, before merging.
#[derive(Debug, Clone)]
struct Candidate<'a> {
    cve: String,
    advisory: &'a Advisory,
    vulnerability: &'a Vulnerability,
    status: FindingStatus,
    reason: String,
    confidence: Confidence,
    justification: Option<String>,
    product_id: Option<&'a str>,
}

/// What assets of one group share.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct GroupKey {
    vendor: Option<String>,
    model: String,
    firmware: Option<String>,
}

/// Products of all advisories, by canonical vendor, with their parsed constraints.
struct Index<'a> {
    by_vendor: HashMap<String, Vec<(usize, usize)>>,
    /// Advisories with at least one product without a vendor: checked by name alone.
    no_vendor: Vec<(usize, usize)>,
    constraints: Vec<Vec<Constraint>>,
    /// NVD records (advisory index) by canonical CPE vendor.
    nvd_by_vendor: HashMap<String, Vec<usize>>,
    advisories: &'a [Advisory],
}

fn vendor_key(aliases: &VendorAliases, vendor: &str) -> String {
    match aliases.canonical(vendor) {
        Some(c) => c.to_owned(),
        None => vendor
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .collect::<Vec<_>>()
            .join(" "),
    }
}

impl<'a> Index<'a> {
    fn new(advisories: &'a [Advisory], aliases: &VendorAliases) -> Index<'a> {
        let mut by_vendor: HashMap<String, Vec<(usize, usize)>> = HashMap::new();
        let mut no_vendor = Vec::new();
        let mut nvd_by_vendor: HashMap<String, Vec<usize>> = HashMap::new();
        let mut constraints = Vec::with_capacity(advisories.len());
        for (a, adv) in advisories.iter().enumerate() {
            let mut parsed = Vec::with_capacity(adv.products.len());
            for (p, product) in adv.products.iter().enumerate() {
                parsed.push(match &product.version {
                    Some(text) => version::parse(text, product.version_is_range),
                    None => version::parse("vers:all/*", true),
                });
                match &product.vendor {
                    Some(v) => by_vendor
                        .entry(vendor_key(aliases, v))
                        .or_default()
                        .push((a, p)),
                    None => no_vendor.push((a, p)),
                }
            }
            constraints.push(parsed);
            if adv.format == VulnFormat::Nvd {
                let mut vendors: Vec<String> = adv
                    .vulnerabilities
                    .iter()
                    .flat_map(|v| &v.configurations)
                    .flat_map(|c| &c.nodes)
                    .flat_map(|n| &n.matches)
                    .filter_map(|m| CpeName::parse(&m.criteria).ok())
                    .filter_map(|n| n.vendor.value().map(|v| vendor_key(aliases, v)))
                    .collect();
                vendors.sort();
                vendors.dedup();
                for v in vendors {
                    nvd_by_vendor.entry(v).or_default().push(a);
                }
            }
        }
        Index {
            by_vendor,
            no_vendor,
            constraints,
            nvd_by_vendor,
            advisories,
        }
    }
}

/// The score of a vulnerability for a product: the newest CVSS version's, preferring
/// scores given for that product.
fn score_for<'v>(v: &'v Vulnerability, product_id: Option<&str>) -> Option<&'v CvssScore> {
    let rank = |s: &CvssScore| {
        let version = s.version_rank();
        let for_product = match product_id {
            Some(p) => s.product_ids.is_empty() || s.product_ids.iter().any(|x| x == p),
            None => true,
        };
        (for_product, version)
    };
    v.scores
        .iter()
        .max_by(|a, b| rank(a).cmp(&rank(b)).then(a.score.total_cmp(&b.score)))
}

fn remediation_for(v: &Vulnerability, product_id: Option<&str>) -> Option<String> {
    let applies = |ids: &[String]| match product_id {
        Some(p) => ids.is_empty() || ids.iter().any(|x| x == p),
        None => true,
    };
    let order = |c: &str| match c {
        "vendor_fix" => 0,
        "mitigation" => 1,
        "workaround" => 2,
        _ => 3,
    };
    v.remediations
        .iter()
        .filter(|r| applies(&r.product_ids))
        .min_by_key(|r| order(&r.category))
        .map(|r| {
            let mut text = format!("{}: {}", r.category, r.details.trim());
            if let Some(url) = &r.url {
                text.push_str(&format!(" ({url})"));
            }
            text
        })
}

fn vuln_key(v: &Vulnerability) -> String {
    v.cve.clone().unwrap_or_else(|| v.id.clone())
}

fn product_text(p: &Product) -> String {
    match &p.version {
        Some(v) => format!("{} {}", p.name, v),
        None => p.name.clone(),
    }
}

/// Whether product `p` of the advisory is another device that comes with the asset's:
/// its name is the name of a product of the same advisory that names the asset's model
/// exactly (High), plus more words. CISA writes the Alaris GS pump used with the Gateway
/// Workstation as "Alaris Gateway Workstation Alaris GS", version "2.3.6 and below":
/// those are the pump's versions, not the workstation's firmware.
fn names_a_companion(
    adv: &Advisory,
    p: usize,
    vendor: &str,
    model: &str,
    aliases: &VendorAliases,
) -> bool {
    let words = |s: &str| -> std::collections::BTreeSet<String> {
        s.split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .collect()
    };
    let this = words(&adv.products[p].name);
    adv.products.iter().any(|other| {
        let base = words(&other.name);
        base.len() < this.len()
            && base.is_subset(&this)
            && aliases
                .product_match(vendor, model, &other.name)
                .is_some_and(|m| m.confidence == Confidence::High)
    })
}

/// Matches one group against advisory products.
fn match_products<'a>(
    key: &GroupKey,
    index: &Index<'a>,
    aliases: &VendorAliases,
    out: &mut Vec<Candidate<'a>>,
) {
    let mut candidates: Vec<(usize, usize)> = Vec::new();
    if let Some(vendor) = &key.vendor
        && let Some(list) = index.by_vendor.get(&vendor_key(aliases, vendor))
    {
        candidates.extend(list);
    }
    candidates.extend(&index.no_vendor);
    for (a, p) in candidates {
        let adv = &index.advisories[a];
        if adv.format == VulnFormat::Nvd
            && adv
                .vulnerabilities
                .iter()
                .any(|v| !v.configurations.is_empty())
        {
            continue; // its configurations decide (match_nvd)
        }
        let product = &adv.products[p];
        let vendor = key.vendor.as_deref().unwrap_or("");
        let Some(name) = aliases
            .product_match(vendor, &key.model, &product.name)
            .or_else(|| {
                product
                    .full_name
                    .as_deref()
                    .and_then(|f| aliases.product_match(vendor, &key.model, f))
            })
        else {
            continue;
        };
        if name.confidence < Confidence::High
            && names_a_companion(adv, p, vendor, &key.model, aliases)
        {
            continue;
        }
        let verdict = index.constraints[a][p].check(key.firmware.as_deref());
        let (in_scope, confidence, why) = match &verdict {
            Verdict::Affected { reason, confidence } => (
                Some(true),
                (*confidence).min(name.confidence),
                reason.as_str(),
            ),
            Verdict::NotAffected { .. } => (Some(false), Confidence::High, verdict.reason()),
            Verdict::NeedsReview { reason } => (None, Confidence::Low, reason.as_str()),
        };
        if in_scope == Some(false) {
            continue;
        }
        let vendor_note = if product.vendor.is_none() {
            " (the advisory names no vendor)"
        } else {
            ""
        };
        let weak_name = name.confidence == Confidence::Low;
        push_statuses(out, adv, product, in_scope, weak_name, confidence, |said| {
            format!(
                "{} says {said} for {}: model '{}' {}; {}{vendor_note}",
                adv.id,
                product_text(product),
                key.model,
                name.reason,
                why
            )
        });
    }
}

/// Matches one group against NVD configurations: the group is its hardware (the model)
/// and its firmware (the model's firmware at `firmware`).
fn match_nvd<'a>(
    key: &GroupKey,
    index: &Index<'a>,
    aliases: &VendorAliases,
    out: &mut Vec<Candidate<'a>>,
) {
    let Some(vendor) = &key.vendor else {
        return;
    };
    let Some(list) = index.nvd_by_vendor.get(&vendor_key(aliases, vendor)) else {
        return;
    };
    for &a in list {
        let adv = &index.advisories[a];
        for v in adv
            .vulnerabilities
            .iter()
            .filter(|v| !v.configurations.is_empty())
        {
            let best_name = std::cell::Cell::new(None::<Confidence>);
            let present = |m: &pumpguard_model::CpeMatch| -> Truth {
                let Ok(name) = CpeName::parse(&m.criteria) else {
                    return Truth::Unknown;
                };
                let (Some(cv), Some(cp)) = (name.vendor.value(), name.product.value()) else {
                    return Truth::Unknown;
                };
                if !aliases.same_vendor(vendor, cv) {
                    return Truth::False;
                }
                let Some(nm) = aliases.cpe_name_match(vendor, &key.model, cv, cp) else {
                    return Truth::False;
                };
                if m.vulnerable {
                    best_name.set(Some(
                        best_name
                            .get()
                            .map_or(nm.confidence, |c| c.max(nm.confidence)),
                    ));
                }
                if name.part.value() == Some("h") {
                    return Truth::True;
                }
                match &key.firmware {
                    Some(fw) => cpe::version_in_bounds(m, fw, version::compare),
                    None => Truth::Unknown,
                }
            };
            let truth = cpe::applies(&v.configurations, present);
            let name_conf = best_name.get().unwrap_or(Confidence::Low);
            let (status, confidence, why) = match truth {
                Truth::False => continue,
                Truth::True if name_conf >= Confidence::Medium => (
                    FindingStatus::Affected,
                    name_conf,
                    "its CPE configuration holds",
                ),
                Truth::True => (
                    FindingStatus::NeedsReview,
                    Confidence::Low,
                    "its CPE configuration holds, on a weak name match",
                ),
                Truth::Unknown => (
                    FindingStatus::NeedsReview,
                    Confidence::Low,
                    "its CPE configuration cannot be decided (firmware unknown or not comparable)",
                ),
            };
            out.push(Candidate {
                cve: vuln_key(v),
                advisory: adv,
                vulnerability: v,
                status,
                reason: format!(
                    "NVD {} for {} '{}' firmware {}: {why}",
                    adv.id,
                    vendor,
                    key.model,
                    key.firmware.as_deref().unwrap_or("unknown")
                ),
                confidence,
                justification: None,
                product_id: None,
            });
        }
    }
}

/// The part of a purl that names a package: `pkg:type/namespace/name`, without version,
/// qualifiers or subpath.
fn purl_package(purl: &str) -> Option<&str> {
    let rest = purl.strip_prefix("pkg:")?;
    let end = rest.find(['@', '?', '#']).unwrap_or(rest.len());
    Some(&purl[..4 + end])
}

fn purl_version(purl: &str) -> Option<&str> {
    let at = purl.find('@')?;
    let rest = &purl[at + 1..];
    let end = rest.find(['?', '#']).unwrap_or(rest.len());
    Some(&rest[..end])
}

/// Matches the SBOMs whose subject is the group's product: their components against
/// advisory products (purl) and NVD configurations (CPE).
fn match_sboms<'a>(
    key: &GroupKey,
    sboms: &'a [Sbom],
    index: &Index<'a>,
    aliases: &VendorAliases,
    out: &mut Vec<Candidate<'a>>,
) {
    for sbom in sboms {
        let Some(subject) = &sbom.subject else {
            continue;
        };
        if let (Some(sv), Some(gv)) = (&subject.supplier, &key.vendor)
            && !aliases.same_vendor(sv, gv)
        {
            continue;
        }
        let Some(name) = aliases.product_match(
            key.vendor.as_deref().unwrap_or(""),
            &key.model,
            &subject.name,
        ) else {
            continue;
        };
        let version_ok = match (&subject.version, &key.firmware) {
            (None, _) => None,
            (Some(sv), Some(fw)) => {
                Some(version::compare(sv, fw) == Some(std::cmp::Ordering::Equal))
            }
            (Some(_), None) => None,
        };
        if version_ok == Some(false) {
            continue;
        }
        for component in &sbom.components {
            let label = match &component.version {
                Some(v) => format!("{} {v}", component.name),
                None => component.name.clone(),
            };
            let base = format!("SBOM {} of {} lists {label}", sbom.id, subject.name);
            // Advisory products that name the same package.
            if let Some(pkg) = component.purl.as_deref().and_then(purl_package) {
                for (a, adv) in index.advisories.iter().enumerate() {
                    for (p, product) in adv.products.iter().enumerate() {
                        let Some(pp) = product.purl.as_deref() else {
                            continue;
                        };
                        if purl_package(pp) != Some(pkg) {
                            continue;
                        }
                        let cv = component
                            .version
                            .as_deref()
                            .or_else(|| component.purl.as_deref().and_then(purl_version));
                        let verdict = match purl_version(pp) {
                            // A product purl with a version names that version only.
                            Some(v) if product.version.is_none() => match cv {
                                Some(c)
                                    if version::compare(c, v)
                                        == Some(std::cmp::Ordering::Equal) =>
                                {
                                    Verdict::Affected {
                                        reason: format!("version {c} is {v}"),
                                        confidence: Confidence::High,
                                    }
                                }
                                Some(c) => Verdict::NotAffected {
                                    reason: format!("version {c} is not {v}"),
                                },
                                None => Verdict::NeedsReview {
                                    reason: "the component has no version".into(),
                                },
                            },
                            _ => index.constraints[a][p].check(cv),
                        };
                        push_component(
                            out,
                            adv,
                            product,
                            &verdict,
                            &base,
                            name.confidence,
                            version_ok,
                        );
                    }
                }
            }
            // NVD configurations on the component's CPE.
            if let Some(cpe_text) = &component.cpe
                && let Ok(ccpe) = CpeName::parse(cpe_text)
                && let (Some(cv), Some(cp)) = (ccpe.vendor.value(), ccpe.product.value())
            {
                let Some(list) = index.nvd_by_vendor.get(&vendor_key(aliases, cv)) else {
                    continue;
                };
                let version = component
                    .version
                    .clone()
                    .or_else(|| ccpe.version.value().map(str::to_owned));
                for &a in list {
                    let adv = &index.advisories[a];
                    for v in &adv.vulnerabilities {
                        let present = |m: &pumpguard_model::CpeMatch| -> Truth {
                            let Ok(n) = CpeName::parse(&m.criteria) else {
                                return Truth::Unknown;
                            };
                            if n.vendor.value() != Some(cv) || n.product.value() != Some(cp) {
                                return Truth::False;
                            }
                            match &version {
                                Some(ver) => cpe::version_in_bounds(m, ver, version::compare),
                                None => Truth::Unknown,
                            }
                        };
                        let (status, confidence, why) = match cpe::applies(
                            &v.configurations,
                            present,
                        ) {
                            Truth::False => continue,
                            Truth::True if version_ok == Some(true) => (
                                FindingStatus::Affected,
                                Confidence::High,
                                "its CPE configuration holds",
                            ),
                            Truth::True => (
                                FindingStatus::Affected,
                                Confidence::Medium.min(name.confidence),
                                "its CPE configuration holds (the SBOM's product version is not checked against the firmware)",
                            ),
                            Truth::Unknown => (
                                FindingStatus::NeedsReview,
                                Confidence::Low,
                                "its CPE configuration cannot be decided",
                            ),
                        };
                        out.push(Candidate {
                            cve: vuln_key(v),
                            advisory: adv,
                            vulnerability: v,
                            status,
                            reason: format!("{base} ({cpe_text}); NVD {}: {why}", adv.id),
                            confidence,
                            justification: None,
                            product_id: None,
                        });
                    }
                }
            }
        }
    }
}

fn push_component<'a>(
    out: &mut Vec<Candidate<'a>>,
    adv: &'a Advisory,
    product: &'a Product,
    verdict: &Verdict,
    base: &str,
    subject_confidence: Confidence,
    version_ok: Option<bool>,
) {
    let (in_scope, confidence) = match verdict {
        Verdict::Affected { confidence, .. } => (Some(true), *confidence),
        Verdict::NotAffected { .. } => return,
        Verdict::NeedsReview { .. } => (None, Confidence::Low),
    };
    let confidence = match version_ok {
        Some(true) => confidence.min(subject_confidence),
        _ => confidence.min(subject_confidence).min(Confidence::Medium),
    };
    push_statuses(out, adv, product, in_scope, false, confidence, |said| {
        format!(
            "{base}; {} says {said} for {}: {}",
            adv.id,
            product_text(product),
            verdict.reason()
        )
    });
}

/// One candidate per vulnerability that gives `product` a status. `in_scope` is what the
/// version check said (`None`: undecidable). Only `affected` needs certainty to stand:
/// undecidable or weakly named, it becomes `needs_review`; a clearing statement that
/// cannot be placed is no finding at all.
fn push_statuses<'a>(
    out: &mut Vec<Candidate<'a>>,
    adv: &'a Advisory,
    product: &'a Product,
    in_scope: Option<bool>,
    weak_name: bool,
    confidence: Confidence,
    reason: impl Fn(VexStatus) -> String,
) {
    for v in &adv.vulnerabilities {
        for s in v
            .statuses
            .iter()
            .filter(|s| s.product_id == product.product_id)
        {
            let said = FindingStatus::from_vex(s.status);
            let status = match in_scope {
                None if said == FindingStatus::Affected => FindingStatus::NeedsReview,
                None => continue,
                Some(_) if weak_name => FindingStatus::NeedsReview,
                Some(_) => said,
            };
            out.push(Candidate {
                cve: vuln_key(v),
                advisory: adv,
                vulnerability: v,
                status,
                reason: reason(s.status),
                confidence,
                justification: s.justification.clone(),
                product_id: Some(&product.product_id),
            });
        }
    }
}

fn criticality_factor(asset: &Asset) -> f64 {
    use pumpguard_model::Criticality;
    match asset.criticality {
        Criticality::LifeSustaining => 1.5,
        Criticality::High => 1.25,
        Criticality::Medium => 1.0,
        Criticality::Low => 0.75,
    }
}

fn triage_for<'t>(
    triage: &'t [TriageDecision],
    key: &GroupKey,
    cve: &str,
) -> Option<&'t TriageDecision> {
    let same = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
    let for_model = |d: &&TriageDecision| d.cve == cve && same(&d.model, &key.model);
    triage
        .iter()
        .filter(for_model)
        .find(|d| match (&d.firmware, &key.firmware) {
            (Some(a), Some(b)) => a == b,
            _ => false,
        })
        .or_else(|| {
            triage
                .iter()
                .filter(for_model)
                .find(|d| d.firmware.is_none())
        })
}

/// Every finding for every asset, most urgent first.
pub fn match_fleet(assets: &[Asset], intel: &Intel<'_>, aliases: &VendorAliases) -> Vec<Finding> {
    let index = Index::new(intel.advisories, aliases);
    let kev: HashMap<&str, &KevEntry> = intel.kev.iter().map(|k| (k.cve.as_str(), k)).collect();
    let epss: HashMap<&str, &EpssScore> = intel.epss.iter().map(|e| (e.cve.as_str(), e)).collect();

    // Each asset's place in asset-id order, for the final ordering.
    let mut by_id: Vec<usize> = (0..assets.len()).collect();
    by_id.sort_unstable_by(|&a, &b| assets[a].asset_id.cmp(&assets[b].asset_id));
    let mut asset_rank = vec![0u32; assets.len()];
    for (rank, &i) in by_id.iter().enumerate() {
        asset_rank[i] = u32::try_from(rank).unwrap_or(u32::MAX);
    }

    let mut groups: HashMap<GroupKey, Vec<usize>> = HashMap::new();
    for (i, asset) in assets.iter().enumerate() {
        let Some(model) = asset.model.as_deref().filter(|m| !m.trim().is_empty()) else {
            continue;
        };
        groups
            .entry(GroupKey {
                vendor: asset.vendor.clone(),
                model: model.to_owned(),
                firmware: asset.firmware.clone(),
            })
            .or_default()
            .push(i);
    }

    // Per group: its members, and one decision per CVE (in CVE order) written as the
    // finding every member gets, less what is the member's own.
    let mut decided: Vec<(Vec<Member<'_>>, Vec<Finding>)> = Vec::with_capacity(groups.len());
    for (key, assets_of) in &groups {
        // Each asset's exposure once, shared by its findings.
        let members: Vec<Member<'_>> = assets_of
            .iter()
            .map(|&index| {
                let asset = &assets[index];
                let e = intel
                    .exposure
                    .get(asset.asset_id.as_str())
                    .cloned()
                    .unwrap_or_else(|| Exposure::from_zone(asset));
                Member {
                    index,
                    asset,
                    exposure: e.factor,
                    exposure_reason: Arc::from(e.reason),
                }
            })
            .collect();
        let mut candidates = Vec::new();
        match_products(key, &index, aliases, &mut candidates);
        match_nvd(key, &index, aliases, &mut candidates);
        match_sboms(key, intel.sboms, &index, aliases, &mut candidates);
        // One decision per CVE.
        let mut by_cve: HashMap<String, Vec<Candidate<'_>>> = HashMap::new();
        for c in candidates {
            by_cve.entry(c.cve.clone()).or_default().push(c);
        }
        let mut by_cve: Vec<(String, Vec<Candidate<'_>>)> = by_cve.into_iter().collect();
        by_cve.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let mut decisions = Vec::with_capacity(by_cve.len());
        for (cve, mut cs) in by_cve {
            cs.sort_by(|a, b| {
                a.status
                    .rank(a.confidence)
                    .cmp(&b.status.rank(b.confidence))
                    .then(b.confidence.cmp(&a.confidence))
                    .then(a.advisory.id.cmp(&b.advisory.id))
            });
            let decided = &cs[0];
            let mut also: Vec<String> = cs[1..]
                .iter()
                .map(|c| c.advisory.id.clone())
                .filter(|id| *id != decided.advisory.id)
                .collect();
            also.sort();
            also.dedup();
            let best_score = cs
                .iter()
                .filter_map(|c| score_for(c.vulnerability, c.product_id))
                .max_by(|a, b| a.score.total_cmp(&b.score));
            let (mut status, mut reason, mut confidence, mut justification) = (
                decided.status,
                decided.reason.clone(),
                decided.confidence,
                decided.justification.clone(),
            );
            if let Some(d) = triage_for(intel.triage, key, &cve) {
                status = FindingStatus::from_vex(d.status);
                reason = format!(
                    "triaged {} by {} on {} for {}{}{}; before: {reason}",
                    d.status,
                    d.actor,
                    pumpguard_model::time::rfc3339(d.decided),
                    d.model,
                    d.firmware
                        .as_deref()
                        .map(|f| format!(" firmware {f}"))
                        .unwrap_or_default(),
                    d.statement
                        .as_deref()
                        .map(|s| format!(" ({s})"))
                        .unwrap_or_default(),
                );
                confidence = Confidence::High;
                justification = d.justification.clone();
            }
            let remediation: Option<Arc<str>> =
                remediation_for(decided.vulnerability, decided.product_id).map(Arc::from);
            let kev_hit = kev.contains_key(cve.as_str());
            let epss_p = epss.get(cve.as_str()).map(|e| e.epss);
            let cve: Arc<str> = Arc::from(cve);
            let advisory: Arc<str> = Arc::from(decided.advisory.id.as_str());
            let reason: Arc<str> = Arc::from(reason);
            let justification: Option<Arc<str>> = justification.map(Arc::from);
            let also: Arc<[String]> = Arc::from(also);
            let severity: Option<Arc<str>> = best_score
                .and_then(|s| s.severity.as_deref())
                .map(Arc::from);
            let vector: Option<Arc<str>> = best_score.map(|s| Arc::from(s.vector.as_str()));
            decisions.push(Finding {
                asset_id: String::new(),
                cve,
                advisory,
                status,
                score: best_score.map(|s| s.score),
                severity,
                vector,
                reason,
                confidence,
                justification,
                remediation,
                also,
                kev: kev_hit,
                epss: epss_p,
                priority: Priority {
                    value: 0.0,
                    cvss: best_score.map_or(5.0, |s| s.score),
                    kev: if kev_hit { 2.0 } else { 1.0 },
                    epss: 1.0 + 2.0 * epss_p.unwrap_or(0.0),
                    exposure: 1.0,
                    criticality: 1.0,
                    exposure_reason: Arc::from(""),
                },
            });
        }
        decided.push((members, decisions));
    }

    // Most urgent first, then by asset and CVE. A finding is some 250 bytes, and sorting
    // 564,000 of them spent the matcher's time moving memory; so the order is found on
    // integer keys first, and each finding is written once, in place. A decision's place
    // in its group orders CVEs right because all of an asset's findings are of one group.
    let total: usize = decided.iter().map(|(m, d)| m.len() * d.len()).sum();
    let mut order: Vec<(u64, u32, u32, u32, u32)> = Vec::with_capacity(total);
    for (g, (members, decisions)) in decided.iter().enumerate() {
        for (m, member) in members.iter().enumerate() {
            for (d, decision) in decisions.iter().enumerate() {
                let value = priority(decision, member).value;
                order.push((
                    !total_order(value),
                    asset_rank[member.index],
                    ordinal(d),
                    ordinal(g),
                    ordinal(m),
                ));
            }
        }
    }
    order.sort_unstable();
    let mut findings = Vec::with_capacity(total);
    for (_, _, d, g, m) in order {
        let (members, decisions) = &decided[g as usize];
        let (decision, member) = (&decisions[d as usize], &members[m as usize]);
        findings.push(Finding {
            asset_id: member.asset.asset_id.as_str().to_owned(),
            priority: priority(decision, member),
            ..decision.clone()
        });
    }
    findings
}

/// An asset of a group, with what its findings share.
struct Member<'a> {
    /// Its place in the assets matched.
    index: usize,
    asset: &'a Asset,
    exposure: f64,
    exposure_reason: Arc<str>,
}

/// A decision's priority for one member.
fn priority(decision: &Finding, member: &Member<'_>) -> Priority {
    let p = &decision.priority;
    let criticality = criticality_factor(member.asset);
    let urgent = matches!(
        decision.status,
        FindingStatus::Affected | FindingStatus::NeedsReview
    );
    let value = if urgent {
        (p.cvss * p.kev * p.epss * member.exposure * criticality * 100.0).round() / 100.0
    } else {
        0.0
    };
    Priority {
        value,
        cvss: p.cvss,
        kev: p.kev,
        epss: p.epss,
        exposure: member.exposure,
        criticality,
        exposure_reason: member.exposure_reason.clone(),
    }
}

fn ordinal(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}

/// A key whose unsigned order is `f64::total_cmp`'s.
fn total_order(v: f64) -> u64 {
    let bits = v.to_bits();
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | 1 << 63
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pumpguard_model::{
        AssetId, AssetKind, Component, CpeConfiguration, CpeMatch, CpeNode, CpeOperator,
        ProductStatus, Source,
    };

    fn asset(id: &str, vendor: &str, model: &str, firmware: Option<&str>) -> Asset {
        let mut a = Asset::new(
            id.parse::<AssetId>().expect("id"),
            AssetKind::InfusionPump,
            Source::Imported,
        );
        a.vendor = Some(vendor.into());
        a.model = Some(model.into());
        a.firmware = firmware.map(str::to_owned);
        a
    }

    fn vuln(
        cve: &str,
        statuses: Vec<ProductStatus>,
        configs: Vec<CpeConfiguration>,
    ) -> Vulnerability {
        Vulnerability {
            id: cve.into(),
            cve: Some(cve.into()),
            title: None,
            description: None,
            cwes: vec![],
            scores: vec![CvssScore {
                version: "3.1".into(),
                vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H".into(),
                score: 9.8,
                severity: Some("Critical".into()),
                source: None,
                product_ids: vec![],
            }],
            statuses,
            remediations: vec![],
            configurations: configs,
            published: None,
        }
    }

    fn doc(
        id: &str,
        format: VulnFormat,
        products: Vec<Product>,
        vulns: Vec<Vulnerability>,
    ) -> Advisory {
        Advisory {
            id: id.into(),
            format,
            publisher: None,
            title: None,
            revision: None,
            published: None,
            updated: None,
            url: None,
            products,
            vulnerabilities: vulns,
        }
    }

    fn product(
        id: &str,
        vendor: Option<&str>,
        name: &str,
        version: Option<&str>,
        purl: Option<&str>,
    ) -> Product {
        Product {
            product_id: id.into(),
            vendor: vendor.map(str::to_owned),
            name: name.into(),
            version: version.map(str::to_owned),
            version_is_range: false,
            full_name: None,
            cpe: None,
            purl: purl.map(str::to_owned),
            relationship: None,
        }
    }

    fn status(id: &str, s: VexStatus, justification: Option<&str>) -> ProductStatus {
        ProductStatus {
            product_id: id.into(),
            status: s,
            justification: justification.map(str::to_owned),
            statement: None,
        }
    }

    /// NVD: OpenSSL before 1.0.2l.
    fn openssl_nvd() -> Advisory {
        let config = CpeConfiguration {
            operator: CpeOperator::Or,
            negate: false,
            nodes: vec![CpeNode {
                operator: CpeOperator::Or,
                negate: false,
                matches: vec![CpeMatch {
                    vulnerable: true,
                    criteria: "cpe:2.3:a:openssl:openssl:*:*:*:*:*:*:*:*".into(),
                    version_start_including: None,
                    version_start_excluding: None,
                    version_end_including: None,
                    version_end_excluding: Some("1.0.2l".into()),
                }],
            }],
        };
        doc(
            "CVE-2017-3735",
            VulnFormat::Nvd,
            vec![],
            vec![vuln("CVE-2017-3735", vec![], vec![config])],
        )
    }

    fn pump_sbom() -> Sbom {
        Sbom {
            id: "urn:uuid:1".into(),
            format: VulnFormat::CycloneDx,
            subject: Some(Component {
                reference: None,
                supplier: Some("Becton Dickinson".into()),
                name: "Alaris PC Unit 8015".into(),
                version: Some("12.1".into()),
                purl: None,
                cpe: None,
            }),
            components: vec![Component {
                reference: Some("ssl".into()),
                supplier: None,
                name: "openssl".into(),
                version: Some("1.0.2k".into()),
                purl: Some("pkg:generic/openssl@1.0.2k".into()),
                cpe: Some("cpe:2.3:a:openssl:openssl:1.0.2k:*:*:*:*:*:*:*".into()),
            }],
        }
    }

    #[test]
    fn sbom_components_bring_their_cves_to_the_device_they_describe() {
        let assets = [
            asset("p-121", "BD", "Alaris PC Unit 8015", Some("12.1")),
            asset("p-122", "BD", "Alaris PC Unit 8015", Some("12.2")),
        ];
        let advisories = [openssl_nvd()];
        let sboms = [pump_sbom()];
        let intel = Intel {
            advisories: &advisories,
            sboms: &sboms,
            ..Intel::default()
        };
        let f = match_fleet(&assets, &intel, &VendorAliases::default());
        assert_eq!(f.len(), 1, "{f:#?}");
        assert_eq!(
            (f[0].asset_id.as_str(), &*f[0].cve),
            ("p-121", "CVE-2017-3735")
        );
        assert_eq!(f[0].status, FindingStatus::Affected);
        assert_eq!(f[0].confidence, Confidence::High, "{}", f[0].reason);
        assert!(f[0].reason.contains("SBOM urn:uuid:1"), "{}", f[0].reason);
        // 9.8 × 1 × 1 × 1.2 (no zone) × 1.25 (a pump's default: high).
        assert_eq!(f[0].priority.value, 14.7);
    }

    #[test]
    fn a_well_matched_vex_statement_clears_and_triage_decides() {
        let assets = [asset("p-121", "BD", "Alaris PC Unit 8015", Some("12.1"))];
        let vex = doc(
            "vendor-vex-1",
            VulnFormat::OpenVex,
            vec![product(
                "pkg:generic/openssl@1.0.2k",
                None,
                "openssl",
                None,
                Some("pkg:generic/openssl@1.0.2k"),
            )],
            vec![vuln(
                "CVE-2017-3735",
                vec![status(
                    "pkg:generic/openssl@1.0.2k",
                    VexStatus::NotAffected,
                    Some("vulnerable_code_not_in_execute_path"),
                )],
                vec![],
            )],
        );
        let advisories = [openssl_nvd(), vex];
        let sboms = [pump_sbom()];
        let mut intel = Intel {
            advisories: &advisories,
            sboms: &sboms,
            ..Intel::default()
        };
        let f = match_fleet(&assets, &intel, &VendorAliases::default());
        assert_eq!(f.len(), 1, "{f:#?}");
        assert_eq!(f[0].status, FindingStatus::NotAffected, "{}", f[0].reason);
        assert_eq!(&*f[0].advisory, "vendor-vex-1");
        assert_eq!(&*f[0].also, ["CVE-2017-3735".to_owned()]);
        assert_eq!(
            f[0].justification.as_deref(),
            Some("vulnerable_code_not_in_execute_path")
        );
        assert_eq!(f[0].priority.value, 0.0);

        // The analyst disagrees for this firmware: triage wins.
        let triage = [TriageDecision {
            model: "alaris pc unit 8015".into(),
            firmware: Some("12.1".into()),
            cve: "CVE-2017-3735".into(),
            status: VexStatus::Affected,
            justification: None,
            statement: Some("reachable from the web console".into()),
            decided: jiff::Timestamp::UNIX_EPOCH,
            actor: "alice".into(),
        }];
        intel.triage = &triage;
        let f = match_fleet(&assets, &intel, &VendorAliases::default());
        assert_eq!(f[0].status, FindingStatus::Affected);
        assert!(
            f[0].reason.starts_with("triaged affected by alice"),
            "{}",
            f[0].reason
        );
        assert!(f[0].priority.value > 0.0);
    }

    #[test]
    fn what_cannot_be_decided_is_kept_for_review() {
        let advisories = [doc(
            "ICSMA-X",
            VulnFormat::Csaf,
            vec![product(
                "P1",
                Some("Smiths Medical"),
                "Medfusion 4000",
                Some("<= 1.6"),
                None,
            )],
            vec![vuln(
                "CVE-2017-12725",
                vec![status("P1", VexStatus::Affected, None)],
                vec![],
            )],
        )];
        let assets = [
            asset("unknown-fw", "Smiths Medical", "Medfusion 4000", None),
            asset(
                "other-line",
                "Smiths Medical",
                "Medfusion 4000",
                Some("L81"),
            ),
            asset("above", "Smiths Medical", "Medfusion 4000", Some("1.7")),
            asset(
                "other-model",
                "Smiths Medical",
                "Medfusion 3500",
                Some("1.5"),
            ),
        ];
        let intel = Intel {
            advisories: &advisories,
            ..Intel::default()
        };
        let f = match_fleet(&assets, &intel, &VendorAliases::default());
        let by: BTreeMap<&str, &Finding> = f.iter().map(|x| (x.asset_id.as_str(), x)).collect();
        assert_eq!(by.len(), 2, "{f:#?}");
        assert_eq!(by["unknown-fw"].status, FindingStatus::NeedsReview);
        assert_eq!(by["unknown-fw"].confidence, Confidence::Low);
        assert_eq!(
            by["other-line"].status,
            FindingStatus::NeedsReview,
            "{}",
            by["other-line"].reason
        );
    }

    use std::collections::BTreeMap;
}
