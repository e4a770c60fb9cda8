//! `/api/v1/alerts`: the detectors' alerts, filtered and paged in the database, and
//! worked by people (acknowledge, resolve), each change audited by the store as
//! `alert.ack` / `alert.resolve` with the caller as actor and the note.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use pumpguard_model::{AlertKind, AlertStatus, Severity};
use pumpguard_store::AlertFilter;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::assets::{Body, Params, fetch_limit, paging, param, text};
use super::audit::AuditEntryDoc;
use super::{ApiError, ErrorBody, Page};
use crate::AppState;
use crate::auth::{Allowed, need};

pub(crate) fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(list_alerts))
        .routes(routes!(get_alert))
        .routes(routes!(ack_alert))
        .routes(routes!(resolve_alert))
}

/// One end of what an alert is about.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Endpoint)]
pub(crate) struct EndpointDoc {
    pub ip: Option<String>,
    pub mac: Option<String>,
}

/// A decoded fact backing an alert.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = AlertFact)]
pub(crate) struct AlertFactDoc {
    pub name: String,
    pub value: String,
}

/// What backs an alert.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = AlertEvidence)]
pub(crate) struct AlertEvidenceDoc {
    /// Flow keys (`proto lo_ip lo_port hi_ip hi_port`).
    pub flows: Vec<String>,
    /// The stored flows' ids, in the same order.
    pub flow_ids: Vec<i64>,
    pub facts: Vec<AlertFactDoc>,
    /// What happened, in a sentence.
    pub sentence: String,
}

/// A stored alert (what `pumpguard alerts list --format json` writes).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Alert)]
pub(crate) struct AlertDoc {
    pub id: i64,
    /// What a detector found (`pump_pivot`, `cleartext_hl7_phi`, `policy_violation`…).
    pub kind: String,
    /// info, low, medium, high or critical.
    pub severity: String,
    /// open, acknowledged or resolved.
    pub status: String,
    /// The inventory asset the alert is about.
    pub asset_id: Option<String>,
    /// The peer's asset.
    pub peer_asset_id: Option<String>,
    pub subject: EndpointDoc,
    pub peer: Option<EndpointDoc>,
    pub proto: String,
    pub port: Option<u16>,
    #[schema(value_type = String, format = DateTime)]
    pub first_seen: String,
    #[schema(value_type = String, format = DateTime)]
    pub last_seen: String,
    /// Occurrences.
    pub count: u64,
    pub evidence: AlertEvidenceDoc,
    /// What to do about it.
    pub action: String,
}

/// One alert and its audit history (oldest first).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AlertDetail {
    #[schema(value_type = AlertDoc)]
    pub alert: pumpguard_model::Alert,
    #[schema(value_type = Vec<AuditEntryDoc>)]
    pub history: Vec<pumpguard_audit::Entry>,
}

/// Query of `GET /api/v1/alerts`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct AlertQuery {
    /// open, acknowledged or resolved.
    pub status: Option<String>,
    /// At least this severe: info, low, medium, high or critical.
    pub severity: Option<String>,
    /// The alert kind (`pump_pivot`, `policy_violation`…).
    pub kind: Option<String>,
    /// About this asset, as subject or peer.
    pub asset: Option<String>,
    /// Last seen at or after this instant (RFC 3339).
    pub since: Option<String>,
    /// At most this many alerts (1–1000, default 100).
    pub limit: Option<String>,
    /// Skip this many first.
    pub offset: Option<String>,
}

impl AlertQuery {
    /// The store's filter, without paging.
    pub(crate) fn filter(&self) -> Result<AlertFilter, ApiError> {
        Ok(AlertFilter {
            since: param("since", &self.since)?,
            min_severity: param::<Severity>("severity", &self.severity)?,
            status: param::<AlertStatus>("status", &self.status)?,
            kind: param::<AlertKind>("kind", &self.kind)?,
            asset_id: text(&self.asset),
            limit: None,
            offset: 0,
        })
    }
}

/// Alerts, most severe first, then most recently seen; filtered and paged in the
/// database.
#[utoipa::path(
    get,
    path = "/api/v1/alerts",
    tag = "alerts",
    params(AlertQuery),
    security(("bearer" = ["read"]), ("session" = ["read"])),
    responses(
        (status = 200, description = "A page of alerts", body = Page<AlertDoc>),
        (status = 400, description = "A bad query value", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
    )
)]
async fn list_alerts(
    State(state): State<Arc<AppState>>,
    _who: Allowed<need::Read>,
    Params(q): Params<AlertQuery>,
) -> Result<Json<Page<pumpguard_model::Alert>>, ApiError> {
    let paging = paging(&q.limit, &q.offset)?;
    let filter = AlertFilter {
        limit: Some(fetch_limit(&paging)?),
        offset: paging.offset(),
        ..q.filter()?
    };
    let alerts = state.store.list_alerts(&filter).await?;
    Ok(Json(paging.page_fetched(alerts)?))
}

async fn alert_or_404(state: &AppState, id: i64) -> Result<pumpguard_model::Alert, ApiError> {
    state
        .store
        .get_alert(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("alert {id} not found")))
}

fn alert_id(text: &str) -> Result<i64, ApiError> {
    text.parse()
        .map_err(|_| ApiError::bad_request(format!("id: '{text}' is not an alert id")))
}

/// One alert, with its audit history.
#[utoipa::path(
    get,
    path = "/api/v1/alerts/{id}",
    tag = "alerts",
    params(("id" = i64, Path, description = "The alert id")),
    security(("bearer" = ["read"]), ("session" = ["read"])),
    responses(
        (status = 200, description = "The alert", body = AlertDetail),
        (status = 400, description = "Not an alert id", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 404, description = "No such alert", body = ErrorBody),
    )
)]
async fn get_alert(
    State(state): State<Arc<AppState>>,
    _who: Allowed<need::Read>,
    Path(id): Path<String>,
) -> Result<Json<AlertDetail>, ApiError> {
    let id = alert_id(&id)?;
    let alert = alert_or_404(&state, id).await?;
    let history = state.store.audit_for_object(&format!("alert:{id}")).await?;
    Ok(Json(AlertDetail { alert, history }))
}

/// A note for the audit trail.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub(crate) struct NoteRequest {
    /// Why (kept in the audit entry).
    #[serde(default)]
    pub note: Option<String>,
}

async fn move_alert(
    state: &AppState,
    actor: &str,
    id: &str,
    to: AlertStatus,
    note: Option<String>,
) -> Result<Json<pumpguard_model::Alert>, ApiError> {
    let id = alert_id(id)?;
    let note = note.as_deref().map(str::trim).filter(|n| !n.is_empty());
    let alert = state
        .store
        .set_alert_status_noted(actor, id, to, note)
        .await?;
    Ok(Json(alert))
}

/// Acknowledges an alert (audited `alert.ack` with the note; an acknowledged alert
/// stays put).
#[utoipa::path(
    post,
    path = "/api/v1/alerts/{id}/ack",
    tag = "alerts",
    params(("id" = i64, Path, description = "The alert id")),
    request_body(content = Option<NoteRequest>, description = "Optional: a note for the audit trail"),
    security(("bearer" = ["triage_alerts"]), ("session" = ["triage_alerts"])),
    responses(
        (status = 200, description = "The alert, acknowledged", body = AlertDoc),
        (status = 400, description = "Not an alert id, or a bad body", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 404, description = "No such alert", body = ErrorBody),
    )
)]
async fn ack_alert(
    State(state): State<Arc<AppState>>,
    who: Allowed<need::TriageAlerts>,
    Path(id): Path<String>,
    Body(req): Body<NoteRequest>,
) -> Result<Json<pumpguard_model::Alert>, ApiError> {
    move_alert(
        &state,
        &who.actor(),
        &id,
        AlertStatus::Acknowledged,
        req.note,
    )
    .await
}

/// Resolves an alert (audited `alert.resolve` with the note; if it recurs, it opens
/// again).
#[utoipa::path(
    post,
    path = "/api/v1/alerts/{id}/resolve",
    tag = "alerts",
    params(("id" = i64, Path, description = "The alert id")),
    request_body(content = Option<NoteRequest>, description = "Optional: a note for the audit trail"),
    security(("bearer" = ["triage_alerts"]), ("session" = ["triage_alerts"])),
    responses(
        (status = 200, description = "The alert, resolved", body = AlertDoc),
        (status = 400, description = "Not an alert id, or a bad body", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 404, description = "No such alert", body = ErrorBody),
    )
)]
async fn resolve_alert(
    State(state): State<Arc<AppState>>,
    who: Allowed<need::TriageAlerts>,
    Path(id): Path<String>,
    Body(req): Body<NoteRequest>,
) -> Result<Json<pumpguard_model::Alert>, ApiError> {
    move_alert(&state, &who.actor(), &id, AlertStatus::Resolved, req.note).await
}
