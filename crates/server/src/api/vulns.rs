//! `/api/v1/vulnerabilities`, `/api/v1/findings` and `/api/v1/triage`: the imported
//! vulnerability intelligence, the fleet's findings (from the server's cache, at most
//! 30 s old: see [`crate::cache`]), grouped by model, and triage decisions per model and
//! firmware (as `pumpguard vuln triage`, audited `vuln.triage`).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use pumpguard_model::{TriageDecision, VEX_JUSTIFICATIONS, VexStatus};
use pumpguard_vuln::matcher::{Finding, FindingStatus};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::assets::{Body, Params, paging, param, text};
use super::{ApiError, ErrorBody, Page};
use crate::AppState;
use crate::auth::{Allowed, need};

pub(crate) fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(list_vulnerabilities))
        .routes(routes!(list_findings))
        .routes(routes!(findings_by_model))
        .routes(routes!(triage))
}

/// A CVSS base score and the document it came from.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = SourcedScore)]
pub(crate) struct SourcedScoreDoc {
    pub source: String,
    pub score: Option<f64>,
    pub severity: Option<String>,
    pub vector: Option<String>,
}

/// A CISA Known Exploited Vulnerabilities catalog entry.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = KevEntry)]
pub(crate) struct KevEntryDoc {
    pub cve: String,
    pub vendor: String,
    pub product: String,
    pub name: Option<String>,
    /// YYYY-MM-DD.
    pub date_added: String,
    pub due_date: Option<String>,
    pub required_action: Option<String>,
    /// Known or Unknown.
    pub known_ransomware: Option<String>,
}

/// A FIRST EPSS score.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = EpssScore)]
pub(crate) struct EpssScoreDoc {
    pub cve: String,
    /// Probability of exploitation in the next 30 days, 0–1.
    pub epss: f64,
    pub percentile: f64,
    /// YYYY-MM-DD of the score file.
    pub date: Option<String>,
}

/// One imported vulnerability with every source's score, KEV and EPSS (what
/// `pumpguard vuln list --format json` writes).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Vulnerability)]
pub(crate) struct VulnerabilityDoc {
    /// The CVE (or the advisory's own id for a vulnerability without one).
    pub cve: String,
    pub title: Option<String>,
    /// The highest base score any source gives.
    pub score: Option<f64>,
    pub severity: Option<String>,
    pub scores: Vec<SourcedScoreDoc>,
    /// The documents that name it.
    pub sources: Vec<String>,
    pub kev: Option<KevEntryDoc>,
    pub epss: Option<EpssScoreDoc>,
}

/// A finding's priority, `value = cvss × kev × epss × exposure × criticality`, and each
/// factor.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Priority)]
pub(crate) struct PriorityDoc {
    pub value: f64,
    pub cvss: f64,
    pub kev: f64,
    pub epss: f64,
    pub exposure: f64,
    pub criticality: f64,
    /// Why the exposure factor is what it is.
    pub exposure_reason: String,
}

/// One asset and one vulnerability, as the matcher decided (what `pumpguard vuln match
/// --format json` writes).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Finding)]
pub(crate) struct FindingDoc {
    pub asset_id: String,
    pub cve: String,
    /// The document that decided.
    pub advisory: String,
    /// affected, needs_review, under_investigation, fixed or not_affected.
    pub status: String,
    pub score: Option<f64>,
    pub severity: Option<String>,
    pub vector: Option<String>,
    pub reason: String,
    /// low, medium or high.
    pub confidence: String,
    /// For not_affected: the VEX justification.
    pub justification: Option<String>,
    pub remediation: Option<String>,
    /// Other documents that name this CVE for this asset.
    pub also: Vec<String>,
    pub kev: bool,
    pub epss: Option<f64>,
    pub priority: PriorityDoc,
}

/// Query of `GET /api/v1/vulnerabilities`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct VulnQuery {
    /// At least this base score (0–10).
    pub min_score: Option<String>,
    /// true: only CISA KEV entries.
    pub kev: Option<String>,
    /// At most this many (1–1000, default 100).
    pub limit: Option<String>,
    /// Skip this many first.
    pub offset: Option<String>,
}

/// The imported vulnerabilities, by CVE, with their scores, KEV and EPSS.
#[utoipa::path(
    get,
    path = "/api/v1/vulnerabilities",
    tag = "vulnerabilities",
    params(VulnQuery),
    security(("bearer" = ["read"]), ("session" = ["read"])),
    responses(
        (status = 200, description = "A page of vulnerabilities", body = Page<VulnerabilityDoc>),
        (status = 400, description = "A bad query value", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
    )
)]
async fn list_vulnerabilities(
    State(state): State<Arc<AppState>>,
    _who: Allowed<need::Read>,
    Params(q): Params<VulnQuery>,
) -> Result<Json<Page<pumpguard_model::VulnListing>>, ApiError> {
    let paging = paging(&q.limit, &q.offset)?;
    let min_score = param::<f64>("min_score", &q.min_score)?;
    let kev_only = param::<bool>("kev", &q.kev)?.unwrap_or(false);
    let list: Vec<_> = state
        .store
        .list_vulns()
        .await?
        .into_iter()
        .filter(|l| min_score.is_none_or(|m| l.score.is_some_and(|s| s >= m)))
        .filter(|l| !kev_only || l.kev.is_some())
        .collect();
    Ok(Json(paging.page(list)?))
}

const STATUSES: [FindingStatus; 5] = [
    FindingStatus::Affected,
    FindingStatus::NeedsReview,
    FindingStatus::UnderInvestigation,
    FindingStatus::Fixed,
    FindingStatus::NotAffected,
];

/// A finding status by name.
fn finding_status(value: &Option<String>) -> Result<Option<FindingStatus>, ApiError> {
    let Some(s) = text(value) else {
        return Ok(None);
    };
    STATUSES
        .into_iter()
        .find(|f| f.as_str() == s)
        .map(Some)
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "status: '{s}' is not a finding status (affected, needs_review, under_investigation, fixed, not_affected)"
            ))
        })
}

/// Query of `GET /api/v1/findings`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct FindingQuery {
    /// This asset's findings.
    pub asset: Option<String>,
    /// This CVE's findings (ignoring case).
    pub cve: Option<String>,
    /// affected, needs_review, under_investigation, fixed or not_affected.
    pub status: Option<String>,
    /// At least this priority.
    pub min_priority: Option<String>,
    /// true: only CISA KEV entries.
    pub kev: Option<String>,
    /// `asset` (by asset id, then CVE; the default) or `priority` (highest first).
    pub sort: Option<String>,
    /// At most this many (1–1000, default 100).
    pub limit: Option<String>,
    /// Skip this many first.
    pub offset: Option<String>,
}

/// The fleet's vulnerability findings: the inventory matched against the imported
/// advisories, SBOMs, KEV, EPSS and triage (at most 30 s old).
#[utoipa::path(
    get,
    path = "/api/v1/findings",
    tag = "vulnerabilities",
    params(FindingQuery),
    security(("bearer" = ["read"]), ("session" = ["read"])),
    responses(
        (status = 200, description = "A page of findings", body = Page<FindingDoc>),
        (status = 400, description = "A bad query value", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
    )
)]
async fn list_findings(
    State(state): State<Arc<AppState>>,
    _who: Allowed<need::Read>,
    Params(q): Params<FindingQuery>,
) -> Result<Json<Page<Finding>>, ApiError> {
    let paging = paging(&q.limit, &q.offset)?;
    let status = finding_status(&q.status)?;
    let min_priority = param::<f64>("min_priority", &q.min_priority)?;
    let kev_only = param::<bool>("kev", &q.kev)?.unwrap_or(false);
    let by_priority = match text(&q.sort).as_deref() {
        None | Some("asset") => false,
        Some("priority") => true,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "sort: '{other}' is not asset or priority"
            )));
        }
    };
    let (asset, cve) = (text(&q.asset), text(&q.cve));
    let fleet = crate::cache::findings(&state).await?;
    let mut kept: Vec<&Finding> = fleet
        .findings
        .iter()
        .filter(|f| status.is_none_or(|s| f.status == s))
        .filter(|f| asset.as_deref().is_none_or(|a| f.asset_id == a))
        .filter(|f| cve.as_deref().is_none_or(|c| f.cve.eq_ignore_ascii_case(c)))
        .filter(|f| min_priority.is_none_or(|m| f.priority.value >= m))
        .filter(|f| !kev_only || f.kev)
        .collect();
    if by_priority {
        kept.sort_by(|a, b| b.priority.value.total_cmp(&a.priority.value));
    }
    let page = paging.page(kept)?;
    Ok(Json(Page {
        items: page.items.into_iter().cloned().collect(),
        next: page.next,
    }))
}

/// The findings of one vendor, model and firmware.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ModelFindings {
    pub vendor: Option<String>,
    pub model: Option<String>,
    pub firmware: Option<String>,
    /// Assets of this group with a finding.
    pub assets: usize,
    /// Findings (asset × vulnerability).
    pub findings: usize,
    /// Distinct vulnerabilities.
    pub cves: usize,
    /// Findings per status.
    pub by_status: BTreeMap<String, usize>,
    /// Distinct vulnerabilities in CISA's KEV catalog.
    pub kev: usize,
    /// The highest priority of its findings.
    pub max_priority: f64,
    /// The highest base score of its findings.
    pub max_score: Option<f64>,
}

/// Query of `GET /api/v1/findings/by-model`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ByModelQuery {
    /// Count only findings of this status: affected, needs_review, under_investigation,
    /// fixed or not_affected.
    pub status: Option<String>,
    /// At most this many groups (1–1000, default 100).
    pub limit: Option<String>,
    /// Skip this many first.
    pub offset: Option<String>,
}

/// The findings grouped by vendor, model and firmware, with counts; highest priority
/// first.
#[utoipa::path(
    get,
    path = "/api/v1/findings/by-model",
    tag = "vulnerabilities",
    params(ByModelQuery),
    security(("bearer" = ["read"]), ("session" = ["read"])),
    responses(
        (status = 200, description = "A page of groups", body = Page<ModelFindings>),
        (status = 400, description = "A bad query value", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
    )
)]
async fn findings_by_model(
    State(state): State<Arc<AppState>>,
    _who: Allowed<need::Read>,
    Params(q): Params<ByModelQuery>,
) -> Result<Json<Page<ModelFindings>>, ApiError> {
    let paging = paging(&q.limit, &q.offset)?;
    let status = finding_status(&q.status)?;
    let fleet = crate::cache::findings(&state).await?;
    let assets: BTreeMap<&str, &pumpguard_model::Asset> = fleet
        .assets
        .iter()
        .map(|a| (a.asset_id.as_str(), a))
        .collect();
    type Key<'a> = (Option<&'a str>, Option<&'a str>, Option<&'a str>);
    #[derive(Default)]
    struct Group<'a> {
        assets: BTreeSet<&'a str>,
        cves: BTreeSet<&'a str>,
        kev: BTreeSet<&'a str>,
        findings: usize,
        by_status: BTreeMap<String, usize>,
        max_priority: f64,
        max_score: Option<f64>,
    }
    let mut groups: BTreeMap<Key<'_>, Group<'_>> = BTreeMap::new();
    for f in fleet
        .findings
        .iter()
        .filter(|f| status.is_none_or(|s| f.status == s))
    {
        let a = assets.get(f.asset_id.as_str());
        let key = (
            a.and_then(|a| a.vendor.as_deref()),
            a.and_then(|a| a.model.as_deref()),
            a.and_then(|a| a.firmware.as_deref()),
        );
        let g = groups.entry(key).or_default();
        g.assets.insert(&f.asset_id);
        g.cves.insert(&f.cve);
        if f.kev {
            g.kev.insert(&f.cve);
        }
        g.findings += 1;
        *g.by_status.entry(f.status.as_str().to_owned()).or_default() += 1;
        g.max_priority = g.max_priority.max(f.priority.value);
        g.max_score = match (g.max_score, f.score) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
    }
    let mut out: Vec<ModelFindings> = groups
        .into_iter()
        .map(|((vendor, model, firmware), g)| ModelFindings {
            vendor: vendor.map(str::to_owned),
            model: model.map(str::to_owned),
            firmware: firmware.map(str::to_owned),
            assets: g.assets.len(),
            findings: g.findings,
            cves: g.cves.len(),
            by_status: g.by_status,
            kev: g.kev.len(),
            max_priority: g.max_priority,
            max_score: g.max_score,
        })
        .collect();
    out.sort_by(|a, b| b.max_priority.total_cmp(&a.max_priority));
    Ok(Json(paging.page(out)?))
}

/// A triage decision: a CVE's status for every unit of a model (and firmware).
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct TriageRequest {
    /// The model, as the inventory names it.
    pub model: String,
    /// The firmware; without it, the decision holds for every firmware of the model.
    #[serde(default)]
    pub firmware: Option<String>,
    pub cve: String,
    /// affected, not_affected, fixed or under_investigation.
    pub status: String,
    /// For not_affected: component_not_present, vulnerable_code_not_present,
    /// vulnerable_code_cannot_be_controlled_by_adversary,
    /// vulnerable_code_not_in_execute_path or inline_mitigations_already_exist.
    #[serde(default)]
    pub justification: Option<String>,
    /// Impact or action statement.
    #[serde(default)]
    pub note: Option<String>,
}

/// A recorded triage decision.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = TriageDecision)]
pub(crate) struct TriageDecisionDoc {
    pub model: String,
    pub firmware: Option<String>,
    pub cve: String,
    pub status: String,
    pub justification: Option<String>,
    pub statement: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub decided: String,
    pub actor: String,
}

/// What a triage decision did.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TriageAnswer {
    #[schema(value_type = TriageDecisionDoc)]
    pub decision: TriageDecision,
    /// Inventory assets of the model (and firmware) it applies to.
    pub applies_to: usize,
}

/// Records a triage decision (as `pumpguard vuln triage`; audited `vuln.triage`). The
/// next findings reflect it.
#[utoipa::path(
    post,
    path = "/api/v1/triage",
    tag = "vulnerabilities",
    request_body = TriageRequest,
    security(("bearer" = ["triage_vulns"]), ("session" = ["triage_vulns"])),
    responses(
        (status = 200, description = "Recorded", body = TriageAnswer),
        (status = 400, description = "A bad status, justification or missing field", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
    )
)]
async fn triage(
    State(state): State<Arc<AppState>>,
    who: Allowed<need::TriageVulns>,
    Body(req): Body<TriageRequest>,
) -> Result<Json<TriageAnswer>, ApiError> {
    let model = req.model.trim().to_owned();
    let cve = req.cve.trim().to_uppercase();
    if model.is_empty() {
        return Err(ApiError::bad_request("model: give the model"));
    }
    if cve.is_empty() {
        return Err(ApiError::bad_request("cve: give the CVE"));
    }
    let status: VexStatus = req
        .status
        .parse()
        .map_err(|e| ApiError::bad_request(format!("status: {e}")))?;
    let justification = text(&req.justification);
    if let Some(j) = &justification
        && !VEX_JUSTIFICATIONS.contains(&j.as_str())
    {
        return Err(ApiError::bad_request(format!(
            "justification: '{j}' is not one of {}",
            VEX_JUSTIFICATIONS.join(", ")
        )));
    }
    let actor = who.actor();
    let decision = TriageDecision {
        model,
        firmware: text(&req.firmware),
        cve,
        status,
        justification,
        statement: text(&req.note),
        decided: pumpguard_model::time::now(),
        actor: actor.clone(),
    };
    state.store.set_triage(&actor, &decision).await?;
    state.cache.invalidate();
    let units = state
        .store
        .search_assets(
            &pumpguard_store::AssetFilter::default(),
            &pumpguard_store::AssetSearch {
                model: Some(decision.model.clone()),
                ..Default::default()
            },
        )
        .await?
        .iter()
        .filter(|a| {
            decision
                .firmware
                .as_ref()
                .is_none_or(|f| a.firmware.as_ref() == Some(f))
        })
        .count();
    Ok(Json(TriageAnswer {
        decision,
        applies_to: units,
    }))
}
