//! The audit trail, newest first and paged in the database, filterable by actor, action
//! and object, with the chain's verification (the whole chain is checked on every visit,
//! against the stored head).

use std::sync::Arc;

use askama::Template;
use axum::extract::{Query, State};
use pumpguard_model::time::Timestamp;
use pumpguard_store::{AuditFilter, AuditVerdict};
use serde::Deserialize;
use serde_json::Value;

use super::{Console, Fail, Layout, PageResult, Pager, page_number, query, render, when};
use crate::AppState;

const PER_PAGE: usize = 50;

/// One audit entry as the console reads it (the export's line, without the hashes'
/// verification, which the store's walk did).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Line {
    pub seq: u64,
    pub time: String,
    pub actor: String,
    pub action: String,
    pub object: String,
    pub detail: Value,
    #[serde(default)]
    pub hash: String,
}

impl Line {
    /// The time as the console shows it.
    pub fn when(&self) -> String {
        self.time
            .parse::<Timestamp>()
            .map(when)
            .unwrap_or_else(|_| self.time.clone())
    }
}

/// An entry's detail as one line of text: `key: value` pairs, nested values as JSON.
pub(crate) fn detail_text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::Object(m) if m.is_empty() => String::new(),
        Value::Object(m) => m
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => format!("{k}: {s}"),
                other => format!("{k}: {other}"),
            })
            .collect::<Vec<_>>()
            .join("; "),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The entries about one object (`asset:PUMP-1`), oldest first.
pub(crate) async fn for_object(state: &AppState, object: &str) -> Result<Vec<Line>, Fail> {
    lines(&state.store.audit_for_object(object).await?)
}

/// Audit entries as the console reads them.
fn lines(entries: &[impl serde::Serialize]) -> Result<Vec<Line>, Fail> {
    entries
        .iter()
        .map(|e| {
            serde_json::to_value(e)
                .and_then(serde_json::from_value::<Line>)
                .map_err(|err| Fail::internal(format!("audit entry: {err}")))
        })
        .collect()
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct AuditQuery {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    object: String,
    #[serde(default)]
    page: String,
}

struct Row {
    seq: u64,
    time: String,
    actor: String,
    action: String,
    object: String,
    object_href: Option<String>,
    detail: String,
    hash: String,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    l: Layout,
    intact: bool,
    verdict: String,
    actor: String,
    action: String,
    object: String,
    rows: Vec<Row>,
    pager: Pager,
}

/// Where an audited object has a page of its own.
fn object_href(object: &str) -> Option<String> {
    let (kind, id) = object.split_once(':')?;
    match kind {
        "asset" => Some(super::asset_href(id)),
        "alert" => id.parse::<i64>().ok().map(|n| format!("/alerts/{n}")),
        _ => None,
    }
}

/// GET `/audit`.
pub(super) async fn page(
    State(state): State<Arc<AppState>>,
    who: Console,
    Query(q): Query<AuditQuery>,
) -> PageResult {
    let (actor, action, object) = (q.actor.trim(), q.action.trim(), q.object.trim());
    let some = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    let page = page_number(&q.page);
    let filter = AuditFilter {
        object: some(object),
        actor: some(actor),
        action: some(action),
        // One more than a page, to know whether there is a next one.
        limit: Some(PER_PAGE as u64 + 1),
        offset: ((page - 1) * PER_PAGE) as u64,
    };
    let (verdict, entries) = tokio::try_join!(
        state.store.audit_verify(),
        state.store.audit_entries(&filter)
    )?;
    let (intact, total, verdict) = match verdict {
        AuditVerdict::Intact(s) => (
            true,
            Some(s.entries),
            format!(
                "The chain is intact: {} entries, each linked to the one before by its SHA-256 hash, up to the recorded head (seq {}).",
                s.entries, s.head.seq
            ),
        ),
        AuditVerdict::Broken(b) => (
            false,
            None,
            format!(
                "The chain is broken at entry {}: {}. Entries from there on cannot be trusted.",
                b.seq, b.why
            ),
        ),
    };
    let mut entries = lines(&entries)?;
    let more = entries.len() > PER_PAGE;
    entries.truncate(PER_PAGE);
    let params = [("actor", actor), ("action", action), ("object", object)];
    let link = |n: usize| {
        let mut p = params.to_vec();
        let n = n.to_string();
        p.push(("page", &n));
        format!("/audit?{}", query(&p))
    };
    let filtered = params.iter().any(|(_, v)| !v.is_empty());
    let pager = match total {
        Some(t) if !filtered => Pager::new(
            page,
            PER_PAGE,
            usize::try_from(t).unwrap_or(usize::MAX),
            link,
        ),
        _ => Pager {
            page,
            pages: 0,
            total: 0,
            prev: (page > 1).then(|| link(page - 1)),
            next: more.then(|| link(page + 1)),
        },
    };
    let rows = entries
        .iter()
        .map(|l| Row {
            seq: l.seq,
            time: l.when(),
            actor: l.actor.clone(),
            action: l.action.clone(),
            object: l.object.clone(),
            object_href: object_href(&l.object),
            detail: detail_text(&l.detail),
            hash: l.hash.chars().take(12).collect(),
        })
        .collect();
    let page = AuditPage {
        l: Layout::new(&who, "audit", "Audit trail"),
        intact,
        verdict,
        actor: actor.to_owned(),
        action: action.to_owned(),
        object: object.to_owned(),
        rows,
        pager,
    };
    Ok(render(&page))
}
