//! Vulnerabilities: the fleet's findings grouped by vendor, model and firmware, with
//! CVSS, KEV, EPSS and the priority the matcher gives, and a triage form per CVE and
//! group (as `pumpguard vuln triage`: one decision per model, or per model and
//! firmware, that every unit of it follows).

use std::collections::BTreeMap;
use std::sync::Arc;

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use pumpguard_model::{Asset, TriageDecision, VEX_JUSTIFICATIONS, VexStatus, time};
use pumpguard_vuln::matcher::{Finding, FindingStatus};
use serde::Deserialize;

use super::{Console, Fail, Layout, Opt, PageResult, back_with_done, or_dash, render, see_other};
use crate::AppState;
use crate::auth::{Permission, need};
use crate::cache::Fleet;

/// The fleet's vulnerability findings (the inventory matched against the imported
/// intelligence with the built-in vendor aliases), from the server's cache.
pub(crate) async fn findings(state: &AppState) -> Result<Arc<Fleet>, Fail> {
    crate::cache::findings(state).await.map_err(|e| {
        let crate::api::ApiError(status, why) = e;
        Fail::new(status, "Something went wrong", why)
    })
}

/// A CVE's page at the NVD, for ids that are CVEs.
fn nvd(cve: &str) -> Option<String> {
    let ok = cve.starts_with("CVE-")
        && cve.len() <= 20
        && cve[4..].chars().all(|c| c.is_ascii_digit() || c == '-');
    ok.then(|| format!("https://nvd.nist.gov/vuln/detail/{cve}"))
}

/// The colour class of a finding's status.
fn status_class(s: FindingStatus) -> &'static str {
    match s {
        FindingStatus::Affected => "no",
        FindingStatus::NeedsReview | FindingStatus::UnderInvestigation => "partial",
        FindingStatus::Fixed | FindingStatus::NotAffected => "yes",
    }
}

/// The severity class of a CVSS base score (CVSS v3 bands).
pub(crate) fn score_class(score: Option<f64>) -> &'static str {
    match score {
        Some(s) if s >= 9.0 => "critical",
        Some(s) if s >= 7.0 => "high",
        Some(s) if s >= 4.0 => "medium",
        Some(s) if s > 0.0 => "low",
        _ => "info",
    }
}

/// One finding as a row shows it.
#[derive(Debug, Clone)]
pub(crate) struct FindingRow {
    pub cve: String,
    pub nvd: Option<String>,
    pub status: &'static str,
    pub status_class: &'static str,
    pub score: String,
    pub score_class: &'static str,
    pub kev: bool,
    pub epss: String,
    pub priority: String,
    pub advisory: String,
    pub reason: String,
    pub remediation: String,
}

impl FindingRow {
    pub fn of(f: &Finding) -> FindingRow {
        FindingRow {
            cve: f.cve.to_string(),
            nvd: nvd(&f.cve),
            status: f.status.as_str(),
            status_class: status_class(f.status),
            score: f.score.map(|s| format!("{s:.1}")).unwrap_or_default(),
            score_class: score_class(f.score),
            kev: f.kev,
            epss: f.epss.map(|e| format!("{e:.3}")).unwrap_or_default(),
            priority: format!("{:.1}", f.priority.value),
            advisory: f.advisory.to_string(),
            reason: f.reason.to_string(),
            remediation: f.remediation.as_deref().unwrap_or("").to_owned(),
        }
    }
}

/// One CVE in one group.
struct CveRow {
    f: FindingRow,
    units: usize,
    /// Unique on the page, for the form's ids.
    key: String,
    decision: Option<String>,
}

/// Assets of one vendor, model and firmware.
struct Group {
    title: String,
    id: String,
    model: String,
    firmware: String,
    units: usize,
    rows: Vec<CveRow>,
    can_triage: bool,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct VulnQuery {
    #[serde(default)]
    status: String,
    #[serde(default)]
    q: String,
    #[serde(default)]
    kev: String,
    #[serde(default)]
    done: Option<String>,
}

#[derive(Template)]
#[template(path = "vulns.html")]
struct VulnsPage {
    l: Layout,
    statuses: Vec<Opt>,
    q: String,
    kev: bool,
    groups: Vec<Group>,
    summary: String,
    known: usize,
    triage: bool,
    triage_statuses: Vec<Opt>,
    justifications: Vec<Opt>,
    back: String,
}

const STATUSES: [FindingStatus; 5] = [
    FindingStatus::Affected,
    FindingStatus::NeedsReview,
    FindingStatus::UnderInvestigation,
    FindingStatus::Fixed,
    FindingStatus::NotAffected,
];

/// GET `/vulnerabilities`.
pub(super) async fn page(
    State(state): State<Arc<AppState>>,
    who: Console,
    Query(q): Query<VulnQuery>,
) -> PageResult {
    let fleet = findings(&state).await?;
    let (listing, decisions) =
        tokio::try_join!(state.store.list_vulns(), state.store.list_triage())?;
    let status = q.status.trim();
    if !status.is_empty() && !STATUSES.iter().any(|s| s.as_str() == status) {
        return Err(Fail::bad(format!("'{status}' is not a finding status")));
    }
    let needle = q.q.trim().to_lowercase();
    let kev_only = !q.kev.is_empty();
    let by_id: BTreeMap<&str, &Asset> = fleet
        .assets
        .iter()
        .map(|a| (a.asset_id.as_str(), a))
        .collect();
    // (vendor, model, firmware) → CVE → findings.
    type Key = (String, String, String);
    let mut groups: BTreeMap<Key, BTreeMap<String, Vec<&Finding>>> = BTreeMap::new();
    let mut units: BTreeMap<Key, std::collections::BTreeSet<&str>> = BTreeMap::new();
    let mut shown = 0usize;
    for f in &fleet.findings {
        let Some(a) = by_id.get(f.asset_id.as_str()) else {
            continue;
        };
        if !status.is_empty() && f.status.as_str() != status {
            continue;
        }
        if kev_only && !f.kev {
            continue;
        }
        let key = (
            a.vendor.clone().unwrap_or_default(),
            a.model.clone().unwrap_or_default(),
            a.firmware.clone().unwrap_or_default(),
        );
        if !needle.is_empty() {
            let hay =
                format!("{} {} {} {} {}", key.0, key.1, key.2, f.cve, f.asset_id).to_lowercase();
            if !hay.contains(&needle) {
                continue;
            }
        }
        shown += 1;
        units.entry(key.clone()).or_default().insert(&f.asset_id);
        groups
            .entry(key)
            .or_default()
            .entry(f.cve.to_string())
            .or_default()
            .push(f);
    }
    let decision_for = |model: &str, firmware: &str, cve: &str| -> Option<String> {
        // A decision for this firmware wins over one for the whole model.
        let mut ds: Vec<&TriageDecision> = decisions
            .iter()
            .filter(|d| d.model.eq_ignore_ascii_case(model) && d.cve.eq_ignore_ascii_case(cve))
            .filter(|d| d.firmware.as_deref().is_none_or(|fw| fw == firmware))
            .collect();
        ds.sort_by_key(|d| d.firmware.is_none());
        ds.first().map(|d| {
            format!(
                "{}{} by {} on {}{}",
                d.status.as_str().replace('_', " "),
                d.justification
                    .as_deref()
                    .map(|j| format!(" ({})", j.replace('_', " ")))
                    .unwrap_or_default(),
                d.actor,
                super::when(d.decided),
                match &d.firmware {
                    Some(fw) => format!(", for firmware {fw}"),
                    None => ", for every firmware".into(),
                }
            )
        })
    };
    let mut out = Vec::new();
    for (i, ((vendor, model, firmware), cves)) in groups.into_iter().enumerate() {
        let n_units = units
            .get(&(vendor.clone(), model.clone(), firmware.clone()))
            .map_or(0, |s| s.len());
        let mut rows: Vec<CveRow> = cves
            .into_iter()
            .enumerate()
            .map(|(j, (cve, fs))| {
                // The group's row: the highest priority of its units.
                let top = fs
                    .iter()
                    .copied()
                    .max_by(|a, b| a.priority.value.total_cmp(&b.priority.value))
                    .unwrap_or(fs[0]);
                CveRow {
                    f: FindingRow::of(top),
                    units: fs.len(),
                    key: format!("g{i}-{j}"),
                    decision: decision_for(&model, &firmware, &cve),
                }
            })
            .collect();
        rows.sort_by(|a, b| {
            let p = |r: &CveRow| r.f.priority.parse::<f64>().unwrap_or(0.0);
            p(b).total_cmp(&p(a)).then(a.f.cve.cmp(&b.f.cve))
        });
        out.push(Group {
            title: format!(
                "{} {} — firmware {}",
                or_dash(Some(&vendor)),
                or_dash(Some(&model)),
                or_dash(Some(&firmware))
            ),
            id: format!("g{i}"),
            can_triage: !model.is_empty(),
            model,
            firmware,
            units: n_units,
            rows,
        });
    }
    let affected = fleet
        .findings
        .iter()
        .filter(|f| f.status == FindingStatus::Affected)
        .count();
    let summary = format!(
        "{} finding(s) in all, {affected} affected; {shown} shown in {} group(s).",
        fleet.findings.len(),
        out.len()
    );
    let back = {
        let mut p = vec![("status", status), ("q", q.q.trim())];
        if kev_only {
            p.push(("kev", "1"));
        }
        let qs = super::query(&p);
        if qs.is_empty() {
            "/vulnerabilities".to_owned()
        } else {
            format!("/vulnerabilities?{qs}")
        }
    };
    let page = VulnsPage {
        l: Layout::new(&who, "vulnerabilities", "Vulnerabilities").done(q.done.as_deref()),
        statuses: Opt::list(
            STATUSES.iter().map(|s| s.as_str()),
            status,
            Some("any status"),
        ),
        q: q.q.trim().to_owned(),
        kev: kev_only,
        groups: out,
        summary,
        known: listing.len(),
        triage: who.can(Permission::TriageVulns),
        triage_statuses: VexStatus::ALL
            .iter()
            .map(|s| Opt::new(s.as_str(), s.as_str().replace('_', " "), false))
            .collect(),
        justifications: std::iter::once(Opt::new("", "none (not for not affected)", true))
            .chain(
                VEX_JUSTIFICATIONS
                    .iter()
                    .map(|j| Opt::new(*j, j.replace('_', " "), false)),
            )
            .collect(),
        back,
    };
    Ok(render(&page))
}

#[derive(Debug, Deserialize)]
pub(super) struct TriageForm {
    model: String,
    #[serde(default)]
    firmware: String,
    /// `firmware` (this firmware only) or `model` (every firmware of the model).
    #[serde(default)]
    scope: String,
    cve: String,
    status: String,
    #[serde(default)]
    justification: String,
    #[serde(default)]
    statement: String,
    #[serde(default)]
    back: String,
}

/// POST `/vulnerabilities/triage`.
pub(super) async fn triage(
    State(state): State<Arc<AppState>>,
    who: Console<need::TriageVulns>,
    Form(f): Form<TriageForm>,
) -> PageResult {
    let model = f.model.trim();
    let cve = f.cve.trim().to_uppercase();
    if model.is_empty() || model.len() > 200 {
        return Err(Fail::bad("A triage decision needs the model it is about."));
    }
    if cve.is_empty() || cve.len() > 100 || cve.chars().any(char::is_whitespace) {
        return Err(Fail::bad("A triage decision needs the CVE it is about."));
    }
    let status: VexStatus = f
        .status
        .parse()
        .map_err(|e| Fail::bad(format!("status: {e}")))?;
    let justification = f.justification.trim();
    let justification = match (status, justification) {
        (VexStatus::NotAffected, "") => {
            return Err(Fail::bad(
                "'Not affected' needs a justification (why the vulnerability cannot be exploited here).",
            ));
        }
        (_, "") => None,
        (_, j) if VEX_JUSTIFICATIONS.contains(&j) => Some(j.to_owned()),
        (_, j) => return Err(Fail::bad(format!("'{j}' is not a VEX justification"))),
    };
    let statement = f.statement.trim();
    if statement.chars().count() > 2000 {
        return Err(Fail::bad("The statement is longer than 2000 characters."));
    }
    let firmware = f.firmware.trim();
    let firmware = (f.scope != "model" && !firmware.is_empty()).then(|| firmware.to_owned());
    let decision = TriageDecision {
        model: model.to_owned(),
        firmware,
        cve,
        status,
        justification,
        statement: (!statement.is_empty()).then(|| statement.to_owned()),
        decided: time::now(),
        actor: who.actor(),
    };
    state.store.set_triage(&who.actor(), &decision).await?;
    // The findings follow the decision at once.
    state.cache.invalidate();
    Ok(see_other(&back_with_done(
        &f.back,
        "/vulnerabilities",
        "triaged",
    )))
}
