//! PKI: the device CA in short, which pumps hold a valid certificate, every certificate
//! it issued with its state, and a revoke form.

use std::sync::Arc;

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use pumpguard_model::time::{self, Timestamp};
use pumpguard_store::{AssetFilter, CertRecord};
use serde::Deserialize;

use super::{
    Console, Fail, Layout, Opt, PageResult, Pager, asset_href, back_with_done, page_number, query,
    render, see_other, when,
};
use crate::AppState;
use crate::auth::{Permission, need};

const PER_PAGE: usize = 50;

/// RFC 5280 reasons as `pumpguard_pki::parse_reason` names them.
const REASONS: [&str; 8] = [
    "unspecified",
    "key-compromise",
    "ca-compromise",
    "affiliation-changed",
    "superseded",
    "cessation-of-operation",
    "certificate-hold",
    "privilege-withdrawn",
];

/// A certificate's state at `now`.
pub(crate) fn cert_state(c: &CertRecord, now: Timestamp) -> &'static str {
    if c.revoked.is_some() {
        "revoked"
    } else if now >= c.not_after {
        "expired"
    } else if now < c.not_before {
        "not yet valid"
    } else {
        "valid"
    }
}

/// One certificate as a row shows it.
#[derive(Debug, Clone)]
pub(crate) struct CertRow {
    pub serial: String,
    pub common_name: String,
    pub subject_href: Option<String>,
    pub profile: String,
    pub state: &'static str,
    pub state_class: &'static str,
    pub not_before: String,
    pub not_after: String,
    pub revocation: String,
    pub revocable: bool,
}

impl CertRow {
    pub fn of(c: &CertRecord, now: Timestamp) -> CertRow {
        let state = cert_state(c, now);
        CertRow {
            serial: c.serial.clone(),
            common_name: c.common_name.clone(),
            subject_href: (c.profile == "pump").then(|| asset_href(&c.common_name)),
            profile: c.profile.clone(),
            state,
            state_class: match state {
                "valid" => "yes",
                "revoked" | "expired" => "no",
                _ => "partial",
            },
            not_before: when(c.not_before),
            not_after: when(c.not_after),
            revocation: match (&c.revoked, &c.reason) {
                (Some(t), Some(r)) => format!("{} ({r})", when(*t)),
                (Some(t), None) => when(*t),
                _ => String::new(),
            },
            revocable: c.revoked.is_none(),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct PkiQuery {
    #[serde(default)]
    state: String,
    #[serde(default)]
    q: String,
    #[serde(default)]
    page: String,
    #[serde(default)]
    done: Option<String>,
}

struct CaView {
    name: String,
    algorithm: String,
    created: String,
    crl_number: i64,
}

#[derive(Template)]
#[template(path = "pki.html")]
struct PkiPage {
    l: Layout,
    ca: Option<CaView>,
    serving: bool,
    covered: usize,
    pumps: usize,
    uncovered: Vec<(String, String)>,
    coverage_chart: String,
    states: Vec<Opt>,
    q: String,
    rows: Vec<CertRow>,
    pager: Pager,
    manage: bool,
    reasons: Vec<Opt>,
    back: String,
    summary: String,
}

const STATES: [&str; 4] = ["valid", "expired", "revoked", "not yet valid"];

/// GET `/pki`.
pub(super) async fn page(
    State(state): State<Arc<AppState>>,
    who: Console,
    Query(q): Query<PkiQuery>,
) -> PageResult {
    let filter = AssetFilter::default();
    let (ca, certs, assets) = tokio::try_join!(
        state.store.pki_ca(),
        state.store.pki_certificates(),
        state.store.list_assets(&filter),
    )?;
    let now = time::now();
    let coverage = pumpguard_store::pump_certificate_coverage(&certs, &assets, now);
    let covered = coverage.values().filter(|v| **v).count();
    let uncovered: Vec<(String, String)> = coverage
        .iter()
        .filter(|(_, v)| !**v)
        .take(20)
        .map(|(id, _)| (id.clone(), asset_href(id)))
        .collect();
    let coverage_chart = super::charts::donut(
        "pki-coverage",
        "Pumps with a valid certificate",
        "pumps",
        &[
            super::charts::Datum::new("with a valid certificate", covered as u64, "good"),
            super::charts::Datum::new("without one", (coverage.len() - covered) as u64, "bad"),
        ],
    );
    let wanted = q.state.trim();
    if !wanted.is_empty() && !STATES.contains(&wanted) {
        return Err(Fail::bad(format!("'{wanted}' is not a certificate state")));
    }
    let needle = q.q.trim().to_lowercase();
    let kept: Vec<&CertRecord> = certs
        .iter()
        .filter(|c| wanted.is_empty() || cert_state(c, now) == wanted)
        .filter(|c| {
            needle.is_empty()
                || c.common_name.to_lowercase().contains(&needle)
                || c.serial.contains(&needle)
        })
        .collect();
    let params = [("state", wanted), ("q", q.q.trim())];
    let pager = Pager::new(page_number(&q.page), PER_PAGE, kept.len(), |n| {
        let mut p = params.to_vec();
        let n = n.to_string();
        p.push(("page", &n));
        format!("/pki?{}", query(&p))
    });
    let back = {
        let mut p = params.to_vec();
        let n = pager.page.to_string();
        p.push(("page", &n));
        format!("/pki?{}", query(&p))
    };
    let rows = kept[pager.range(PER_PAGE)]
        .iter()
        .map(|c| CertRow::of(c, now))
        .collect();
    let page = PkiPage {
        l: Layout::new(&who, "pki", "PKI").done(q.done.as_deref()),
        ca: ca.map(|c| CaView {
            name: c.name,
            algorithm: c.algorithm,
            created: when(c.created),
            crl_number: c.crl_number,
        }),
        serving: state.ca.is_some(),
        covered,
        pumps: coverage.len(),
        uncovered,
        coverage_chart,
        states: Opt::list(STATES, wanted, Some("any state")),
        q: q.q.trim().to_owned(),
        summary: format!("{} of {} certificates match.", kept.len(), certs.len()),
        rows,
        pager,
        manage: who.can(Permission::ManagePki),
        reasons: REASONS
            .iter()
            .map(|r| Opt::new(*r, r.replace('-', " "), *r == "unspecified"))
            .collect(),
        back,
    };
    Ok(render(&page))
}

#[derive(Debug, Deserialize)]
pub(super) struct RevokeForm {
    serial: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    back: String,
}

/// POST `/pki/revoke`.
pub(super) async fn revoke(
    State(state): State<Arc<AppState>>,
    who: Console<need::ManagePki>,
    Form(f): Form<RevokeForm>,
) -> PageResult {
    let serial = f.serial.trim().to_lowercase();
    if serial.is_empty() || serial.len() > 64 || !serial.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(Fail::bad("A certificate serial is hexadecimal."));
    }
    let reason = if f.reason.trim().is_empty() {
        "unspecified"
    } else {
        f.reason.trim()
    };
    pumpguard_pki::parse_reason(reason).map_err(|e| Fail::bad(e.to_string()))?;
    state
        .store
        .pki_revoke(&who.actor(), &serial, reason, time::now())
        .await?;
    Ok(see_other(&back_with_done(&f.back, "/pki", "revoked")))
}
