//! Alerts: the list with its filters and the triage workflow (acknowledge, resolve,
//! reopen, each with an optional note), and one alert with its evidence and history.
//!
//! The store moves an alert's status (audited `alert.ack`, `alert.resolve`,
//! `alert.reopen`, with the note given in the entry's detail); a note sent without a
//! change of status is audited on its own as `alert.note`, so the alert's history shows
//! who said what.

use std::sync::Arc;

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use pumpguard_model::{Alert, AlertKind, AlertStatus, Endpoint, Severity};
use pumpguard_store::{AlertFilter, AuditRecord};
use serde::Deserialize;
use serde_json::json;

use super::{
    Console, DoneQuery, Fail, Layout, Opt, PageResult, Pager, asset_href, back_with_done,
    page_number, query, render, see_other, when,
};
use crate::AppState;
use crate::auth::{Permission, need};

/// Alerts a list page shows.
const PER_PAGE: usize = 50;
/// The longest note kept.
const MAX_NOTE: usize = 2000;

/// One alert as a table row shows it.
#[derive(Debug, Clone)]
pub(crate) struct AlertRow {
    pub id: i64,
    pub href: String,
    pub kind: String,
    pub severity: &'static str,
    pub status: &'static str,
    pub asset: String,
    pub asset_href: Option<String>,
    pub peer: String,
    pub sentence: String,
    pub first_seen: String,
    pub last_seen: String,
    pub count: u64,
}

/// An endpoint as text: its address, else its MAC.
pub(crate) fn endpoint(e: &Endpoint) -> String {
    match (e.ip, e.mac) {
        (Some(ip), _) => ip.to_string(),
        (None, Some(mac)) => mac.to_string(),
        (None, None) => String::new(),
    }
}

impl AlertRow {
    pub fn of(a: &Alert) -> AlertRow {
        AlertRow {
            id: a.id,
            href: format!("/alerts/{}", a.id),
            kind: a.kind.as_str().replace('_', " "),
            severity: a.severity.as_str(),
            status: a.status.as_str(),
            asset: a.asset_id.clone().unwrap_or_else(|| endpoint(&a.subject)),
            asset_href: a.asset_id.as_deref().map(asset_href),
            peer: a
                .peer_asset_id
                .clone()
                .or_else(|| a.peer.as_ref().map(endpoint))
                .unwrap_or_default(),
            sentence: a.evidence.sentence.clone(),
            first_seen: when(a.first_seen),
            last_seen: when(a.last_seen),
            count: a.count,
        }
    }

    pub fn can_ack(&self) -> bool {
        self.status == "open"
    }

    pub fn can_resolve(&self) -> bool {
        self.status != "resolved"
    }

    pub fn can_reopen(&self) -> bool {
        self.status != "open"
    }
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct ListQuery {
    #[serde(default)]
    status: String,
    #[serde(default)]
    severity: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    asset: String,
    #[serde(default)]
    page: String,
    #[serde(default)]
    done: Option<String>,
}

#[derive(Template)]
#[template(path = "alerts.html")]
struct AlertsPage {
    l: Layout,
    statuses: Vec<Opt>,
    severities: Vec<Opt>,
    kinds: Vec<Opt>,
    asset: String,
    alerts: Vec<AlertRow>,
    pager: Pager,
    triage: bool,
    back: String,
    summary: String,
}

/// GET `/alerts`.
pub(super) async fn list(
    State(state): State<Arc<AppState>>,
    who: Console,
    Query(q): Query<ListQuery>,
) -> PageResult {
    let status = parse_opt::<AlertStatus>(&q.status, "status")?;
    let severity = parse_opt::<Severity>(&q.severity, "severity")?;
    let kind = parse_opt::<AlertKind>(&q.kind, "alert kind")?;
    let asset = q.asset.trim();
    let filter = AlertFilter {
        status,
        min_severity: severity,
        kind,
        asset_id: (!asset.is_empty()).then(|| asset.to_owned()),
        ..AlertFilter::default()
    };
    let all = state.store.list_alerts(&filter).await?;
    let params = [
        ("status", q.status.as_str()),
        ("severity", q.severity.as_str()),
        ("kind", q.kind.as_str()),
        ("asset", asset),
    ];
    let link = |n: usize| {
        let mut p = params.to_vec();
        let n = n.to_string();
        p.push(("page", &n));
        format!("/alerts?{}", query(&p))
    };
    let pager = Pager::new(page_number(&q.page), PER_PAGE, all.len(), link);
    let alerts: Vec<AlertRow> = all[pager.range(PER_PAGE)]
        .iter()
        .map(AlertRow::of)
        .collect();
    let back = {
        let mut p = params.to_vec();
        let n = pager.page.to_string();
        p.push(("page", &n));
        format!("/alerts?{}", query(&p))
    };
    let open = all.iter().filter(|a| a.status == AlertStatus::Open).count();
    let page = AlertsPage {
        l: Layout::new(&who, "alerts", "Alerts").done(q.done.as_deref()),
        statuses: Opt::list(
            AlertStatus::ALL.iter().map(|s| s.as_str()),
            &q.status,
            Some("any status"),
        ),
        severities: Opt::list(
            Severity::ALL.iter().rev().map(|s| s.as_str()),
            &q.severity,
            Some("any severity"),
        ),
        kinds: Opt::list(
            AlertKind::ALL.iter().map(|k| k.as_str()),
            &q.kind,
            Some("any kind"),
        ),
        asset: asset.to_owned(),
        summary: format!(
            "{} alert{} match ({open} open).",
            all.len(),
            if all.len() == 1 { "" } else { "s" }
        ),
        alerts,
        pager,
        triage: who.can(Permission::TriageAlerts),
        back,
    };
    Ok(render(&page))
}

/// A query value parsed, or `None` when empty.
fn parse_opt<T: std::str::FromStr>(s: &str, what: &str) -> Result<Option<T>, Fail>
where
    T::Err: std::fmt::Display,
{
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    s.parse()
        .map(Some)
        .map_err(|e| Fail::bad(format!("{what}: {e}")))
}

/// One fact of an alert's evidence.
#[derive(Debug, Clone)]
struct Fact {
    name: String,
    value: String,
}

/// One entry of an object's history.
#[derive(Debug, Clone)]
pub(crate) struct HistoryRow {
    pub seq: u64,
    pub time: String,
    pub actor: String,
    pub action: String,
    pub detail: String,
}

impl HistoryRow {
    pub fn of(e: &super::audit::Line) -> HistoryRow {
        HistoryRow {
            seq: e.seq,
            time: e.when(),
            actor: e.actor.clone(),
            action: e.action.clone(),
            detail: super::audit::detail_text(&e.detail),
        }
    }
}

#[derive(Template)]
#[template(path = "alert.html")]
struct AlertPage {
    l: Layout,
    a: AlertRow,
    proto: String,
    port: String,
    subject: String,
    peer_endpoint: String,
    action: String,
    facts: Vec<Fact>,
    flows: Vec<String>,
    history: Vec<HistoryRow>,
    triage: bool,
    back: String,
}

/// GET `/alerts/{id}`.
pub(super) async fn detail(
    State(state): State<Arc<AppState>>,
    who: Console,
    Path(id): Path<String>,
    Query(q): Query<DoneQuery>,
) -> PageResult {
    let id: i64 = id
        .parse()
        .map_err(|_| Fail::not_found(format!("alert '{id}'")))?;
    let a = state
        .store
        .get_alert(id)
        .await?
        .ok_or_else(|| Fail::not_found(format!("alert {id}")))?;
    let history = super::audit::for_object(&state, &format!("alert:{id}")).await?;
    let row = AlertRow::of(&a);
    let page = AlertPage {
        l: Layout::new(&who, "alerts", format!("Alert {id}")).done(q.done.as_deref()),
        back: row.href.clone(),
        a: row,
        proto: a.proto.clone(),
        port: a.port.map(|p| p.to_string()).unwrap_or_default(),
        subject: endpoint(&a.subject),
        peer_endpoint: a.peer.as_ref().map(endpoint).unwrap_or_default(),
        action: a.action.clone(),
        facts: a
            .evidence
            .facts
            .iter()
            .map(|f| Fact {
                name: f.name.clone(),
                value: f.value.clone(),
            })
            .collect(),
        flows: a.evidence.flows.clone(),
        history: history.iter().rev().map(HistoryRow::of).collect(),
        triage: who.can(Permission::TriageAlerts),
    };
    Ok(render(&page))
}

#[derive(Debug, Deserialize)]
pub(super) struct StatusForm {
    status: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    back: String,
}

/// POST `/alerts/{id}/status`: acknowledge, resolve or reopen, with an optional note.
pub(super) async fn set_status(
    State(state): State<Arc<AppState>>,
    who: Console<need::TriageAlerts>,
    Path(id): Path<String>,
    Form(f): Form<StatusForm>,
) -> PageResult {
    let id: i64 = id
        .parse()
        .map_err(|_| Fail::not_found(format!("alert '{id}'")))?;
    let status: AlertStatus = f
        .status
        .parse()
        .map_err(|e| Fail::bad(format!("status: {e}")))?;
    let note = f.note.trim();
    if note.chars().count() > MAX_NOTE {
        return Err(Fail::bad(format!(
            "The note is longer than {MAX_NOTE} characters."
        )));
    }
    let before = state
        .store
        .get_alert(id)
        .await?
        .ok_or_else(|| Fail::not_found(format!("alert {id}")))?;
    let actor = who.actor();
    let note = (!note.is_empty()).then_some(note);
    if before.status != status {
        // The note goes into the status change's own audit entry.
        state
            .store
            .set_alert_status_noted(&actor, id, status, note)
            .await?;
    } else if let Some(note) = note {
        // Staying put writes nothing: a note alone is an entry of its own.
        let record = AuditRecord {
            action: "alert.note".into(),
            object: format!("alert:{id}"),
            detail: json!({ "note": note, "status": status.as_str() }),
        };
        state
            .store
            .record_events(&actor, "console", &[record], Vec::new())
            .await?;
    }
    let code = if before.status == status {
        "unchanged"
    } else {
        match status {
            AlertStatus::Open => "reopened",
            AlertStatus::Acknowledged => "acknowledged",
            AlertStatus::Resolved => "resolved",
        }
    };
    Ok(see_other(&back_with_done(
        &f.back,
        &format!("/alerts/{id}"),
        code,
    )))
}
