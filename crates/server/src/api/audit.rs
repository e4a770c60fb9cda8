//! `/api/v1/audit`: the audit trail, newest first and paged in the database, and its
//! verification (as `pumpguard audit verify`: the hash chain checked against the stored
//! head, naming the first broken entry).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use pumpguard_store::{AuditFilter, AuditVerdict};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::assets::{Params, fetch_limit, paging, text};
use super::{ApiError, ErrorBody, Page};
use crate::AppState;
use crate::auth::{Allowed, need};

pub(crate) use pumpguard_audit::Entry;

pub(crate) fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(list_entries))
        .routes(routes!(verify))
}

/// One entry of the hash-chained audit trail.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = AuditEntry)]
pub(crate) struct AuditEntryDoc {
    /// 1, 2, 3, … without gaps.
    pub seq: u64,
    #[schema(value_type = String, format = DateTime)]
    pub time: String,
    /// Who made the change (`user:alice`, `cli:bob`, `sensor:ward-3`…).
    pub actor: String,
    /// What was done (`asset.lifecycle`, `alert.ack`…).
    pub action: String,
    /// What it was done to (`asset:PUMP-0001`, `alert:7`…).
    pub object: String,
    /// Facts of the change.
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
    /// Hex SHA-256 of the previous entry.
    pub prev_hash: String,
    /// Hex SHA-256 of this entry's canonical JSON without `hash`.
    pub hash: String,
}

/// Query of `GET /api/v1/audit`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct AuditQuery {
    /// Entries about this object (`asset:PUMP-0001`, `alert:7`, `certificate:SERIAL`…).
    pub object: Option<String>,
    /// Entries by this actor (`user:alice`…).
    pub actor: Option<String>,
    /// Entries of this action (`alert.ack`…).
    pub action: Option<String>,
    /// At most this many (1–1000, default 100).
    pub limit: Option<String>,
    /// Skip this many first.
    pub offset: Option<String>,
}

/// Audit entries, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/audit",
    tag = "audit",
    params(AuditQuery),
    security(("bearer" = ["read"]), ("session" = ["read"])),
    responses(
        (status = 200, description = "A page of entries", body = Page<AuditEntryDoc>),
        (status = 400, description = "A bad query value", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
    )
)]
async fn list_entries(
    State(state): State<Arc<AppState>>,
    _who: Allowed<need::Read>,
    Params(q): Params<AuditQuery>,
) -> Result<Json<Page<Entry>>, ApiError> {
    let paging = paging(&q.limit, &q.offset)?;
    let filter = AuditFilter {
        object: text(&q.object),
        actor: text(&q.actor),
        action: text(&q.action),
        limit: Some(fetch_limit(&paging)?),
        offset: paging.offset(),
    };
    let entries = state.store.audit_entries(&filter).await?;
    Ok(Json(paging.page_fetched(entries)?))
}

/// The first entry that cannot be trusted.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AuditBreak {
    pub seq: u64,
    pub why: String,
}

/// The chain's last entry.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AuditHead {
    pub seq: u64,
    pub hash: String,
}

/// Whether the audit chain is intact.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AuditVerification {
    pub ok: bool,
    /// Entries checked (intact chains).
    pub entries: Option<u64>,
    /// The head the chain ends at (intact chains).
    pub head: Option<AuditHead>,
    /// The first broken entry (broken chains).
    pub broken: Option<AuditBreak>,
}

/// Verifies the whole chain and its recorded head (as `pumpguard audit verify`): `ok`,
/// or the first broken entry and why.
#[utoipa::path(
    get,
    path = "/api/v1/audit/verify",
    tag = "audit",
    security(("bearer" = ["read"]), ("session" = ["read"])),
    responses(
        (status = 200, description = "The verdict (a broken chain is a 200 with ok false)", body = AuditVerification),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
    )
)]
async fn verify(
    State(state): State<Arc<AppState>>,
    _who: Allowed<need::Read>,
) -> Result<Json<AuditVerification>, ApiError> {
    Ok(Json(match state.store.audit_verify().await? {
        AuditVerdict::Intact(s) => AuditVerification {
            ok: true,
            entries: Some(s.entries),
            head: Some(AuditHead {
                seq: s.head.seq,
                hash: s.head.hash,
            }),
            broken: None,
        },
        AuditVerdict::Broken(b) => AuditVerification {
            ok: false,
            entries: None,
            head: None,
            broken: Some(AuditBreak {
                seq: b.seq,
                why: b.why,
            }),
        },
    }))
}
