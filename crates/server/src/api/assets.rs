//! `/api/v1/assets`: the inventory, paged in the database, one asset with the evidence
//! behind its identity and its audit history, its lifecycle, and what hangs off it
//! (flows, alerts, vulnerability findings, certificates).
//!
//! Also the request helpers the API's modules share: `Params` (query strings) and
//! `Body` (JSON bodies) answer a bad value with a 400 `{error}` naming it, where
//! axum's own extractors answer in plain text.

use std::collections::BTreeMap;
use std::fmt::Display;
use std::str::FromStr;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, RawQuery, Request, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use pumpguard_model::{AssetKind, Criticality, Lifecycle, MacAddr, Source};
use pumpguard_store::{AlertFilter, AssetFilter, AssetSearch, FlowFilter};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::alerts::AlertDoc;
use super::audit::AuditEntryDoc;
use super::flows::FlowDoc;
use super::pki::{Certificate, certificate};
use super::vulns::FindingDoc;
use super::{ApiError, ErrorBody, Page, Paging};
use crate::AppState;
use crate::auth::{Allowed, need};

pub(crate) fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(list_assets))
        .routes(routes!(get_asset, patch_asset))
        .routes(routes!(asset_flows))
        .routes(routes!(asset_alerts))
        .routes(routes!(asset_vulnerabilities))
        .routes(routes!(asset_certificates))
}

// ---- Shared request helpers ----------------------------------------------------------

/// A query string read into `T`; a value that does not read is a 400 `{error}`.
#[derive(Debug)]
pub(crate) struct Params<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Params<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        Query::<T>::try_from_uri(&parts.uri)
            .map(|Query(t)| Params(t))
            .map_err(|e| ApiError::bad_request(one_line(&e.body_text())))
    }
}

/// Largest JSON body the API reads.
const MAX_BODY: usize = 1 << 20;

/// A JSON body read into `T` (an empty body reads as `{}`); one that does not read is a
/// 400 `{error}`, one that is not JSON a 415.
#[derive(Debug)]
pub(crate) struct Body<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, _: &S) -> Result<Self, ApiError> {
        let json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                let v = v.split(';').next().unwrap_or_default().trim();
                v.eq_ignore_ascii_case("application/json")
                    || v.to_ascii_lowercase().ends_with("+json")
            });
        let bytes = axum::body::to_bytes(req.into_body(), MAX_BODY)
            .await
            .map_err(|_| {
                ApiError(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!("the body is larger than {MAX_BODY} bytes"),
                )
            })?;
        let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
            b"{}"
        } else if json == Some(true) {
            &bytes
        } else {
            return Err(ApiError(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "send the body as Content-Type: application/json".into(),
            ));
        };
        serde_json::from_slice(bytes)
            .map(Body)
            .map_err(|e| ApiError::bad_request(format!("body: {e}")))
    }
}

/// A message on one line.
pub(crate) fn one_line(text: &str) -> String {
    text.replace(['\n', '\r'], " ")
}

/// Parses query parameter `name`, when given (an empty value counts as absent).
pub(crate) fn param<T>(name: &str, value: &Option<String>) -> Result<Option<T>, ApiError>
where
    T: FromStr,
    T::Err: Display,
{
    match value.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => v
            .parse()
            .map(Some)
            .map_err(|e| ApiError::bad_request(format!("{name}: {e}"))),
    }
}

/// A text parameter, when given and not empty.
pub(crate) fn text(value: &Option<String>) -> Option<String> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// `limit` and `offset`, checked (limit 1–1000, default 100).
pub(crate) fn paging(limit: &Option<String>, offset: &Option<String>) -> Result<Paging, ApiError> {
    let p = Paging {
        limit: param::<u32>("limit", limit)?,
        offset: param::<u64>("offset", offset)?,
    };
    p.limit()?;
    Ok(p)
}

/// The `limit` to ask the store for: one more than the page, to know whether another
/// follows (see [`Paging::page_fetched`]).
pub(crate) fn fetch_limit(p: &Paging) -> Result<u64, ApiError> {
    Ok(u64::from(p.limit()?) + 1)
}

// ---- Schemas ----------------------------------------------------------------------------

/// An inventory asset (what `pumpguard assets list --format json` writes).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Asset)]
pub(crate) struct AssetDoc {
    pub asset_id: String,
    /// infusion_pump, pump_server, ehr, alarm_manager, workstation, network or other.
    pub kind: String,
    pub vendor: Option<String>,
    pub model: Option<String>,
    pub firmware: Option<String>,
    pub serial: Option<String>,
    /// Lower-case, colon-separated.
    pub mac: Option<String>,
    /// The primary address (the first of `ips`).
    pub ip: Option<String>,
    pub ips: Vec<String>,
    pub hostname: Option<String>,
    pub location: Option<String>,
    /// Network zone (see the segmentation policy).
    pub zone: Option<String>,
    /// life_sustaining, high, medium or low.
    pub criticality: String,
    /// procured, in_service, quarantined or retired.
    pub lifecycle: String,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub first_seen: Option<String>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_seen: Option<String>,
    /// imported or discovered.
    pub source: String,
}

/// One fact the sensor concluded about a device, with how sure and how often.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Evidence)]
pub(crate) struct EvidenceDoc {
    /// The identity field it supports (vendor, model, hostname, kind, …).
    pub field: String,
    pub value: String,
    /// Where it was seen (`dhcp.option12`, `oui`, `hl7.msh3`…).
    pub source: String,
    /// 0–100.
    pub confidence: u8,
    #[schema(value_type = String, format = DateTime)]
    pub first_seen: String,
    #[schema(value_type = String, format = DateTime)]
    pub last_seen: String,
    pub count: u64,
}

/// One asset, the evidence behind its identity, and its audit history (oldest first).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AssetDetail {
    #[schema(value_type = AssetDoc)]
    pub asset: pumpguard_model::Asset,
    #[schema(value_type = Vec<EvidenceDoc>)]
    pub evidence: Vec<pumpguard_model::Evidence>,
    #[schema(value_type = Vec<AuditEntryDoc>)]
    pub history: Vec<pumpguard_audit::Entry>,
}

/// Query of `GET /api/v1/assets`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct AssetQuery {
    /// infusion_pump, pump_server, ehr, alarm_manager, workstation, network or other.
    pub kind: Option<String>,
    /// The zone, exactly.
    pub zone: Option<String>,
    /// procured, in_service, quarantined or retired.
    pub lifecycle: Option<String>,
    /// life_sustaining, high, medium or low.
    pub criticality: Option<String>,
    /// The vendor, ignoring case.
    pub vendor: Option<String>,
    /// The model, ignoring case.
    pub model: Option<String>,
    /// Text anywhere in the id, vendor, model, firmware, serial, MAC, addresses, host
    /// name, location or zone, ignoring case.
    pub q: Option<String>,
    /// imported or discovered.
    pub source: Option<String>,
    /// The MAC address, in any common form.
    pub mac: Option<String>,
    /// At most this many assets (1–1000, default 100).
    pub limit: Option<String>,
    /// Skip this many first.
    pub offset: Option<String>,
}

// ---- Handlers ---------------------------------------------------------------------------

/// The inventory, by asset id, filtered and paged in the database.
#[utoipa::path(
    get,
    path = "/api/v1/assets",
    tag = "assets",
    params(AssetQuery),
    security(("bearer" = ["read"]), ("session" = ["read"])),
    responses(
        (status = 200, description = "A page of assets", body = Page<AssetDoc>),
        (status = 400, description = "A bad query value", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
    )
)]
async fn list_assets(
    State(state): State<Arc<AppState>>,
    _who: Allowed<need::Read>,
    RawQuery(raw): RawQuery,
    Params(q): Params<AssetQuery>,
) -> Result<Response, ApiError> {
    let paging = paging(&q.limit, &q.offset)?;
    let filter = AssetFilter {
        kind: param::<AssetKind>("kind", &q.kind)?,
        lifecycle: param::<Lifecycle>("lifecycle", &q.lifecycle)?,
        criticality: param::<Criticality>("criticality", &q.criticality)?,
        source: param::<Source>("source", &q.source)?,
        zone: text(&q.zone),
        mac: param::<MacAddr>("mac", &q.mac)?,
        limit: Some(fetch_limit(&paging)?),
        offset: paging.offset(),
    };
    let search = AssetSearch {
        vendor: text(&q.vendor),
        model: text(&q.model),
        text: text(&q.q),
    };
    // The hottest read (dashboards and integrations poll it): identical queries within
    // a second share one database read and one serialisation (crate::cache).
    let body = state
        .cache
        .page(format!("assets?{}", raw.unwrap_or_default()), || async {
            let assets = state.store.search_assets(&filter, &search).await?;
            let page = paging.page_fetched(assets)?;
            serde_json::to_vec(&page)
                .map(Bytes::from)
                .map_err(ApiError::internal)
        })
        .await?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

async fn asset_or_404(state: &AppState, id: &str) -> Result<pumpguard_model::Asset, ApiError> {
    state
        .store
        .get_asset(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("asset '{id}' not found")))
}

/// One asset, with the evidence behind its identity and its audit history.
#[utoipa::path(
    get,
    path = "/api/v1/assets/{id}",
    tag = "assets",
    params(("id" = String, Path, description = "The asset id")),
    security(("bearer" = ["read"]), ("session" = ["read"])),
    responses(
        (status = 200, description = "The asset", body = AssetDetail),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 404, description = "No such asset", body = ErrorBody),
    )
)]
async fn get_asset(
    State(state): State<Arc<AppState>>,
    _who: Allowed<need::Read>,
    Path(id): Path<String>,
) -> Result<Json<AssetDetail>, ApiError> {
    let asset = asset_or_404(&state, &id).await?;
    let object = format!("asset:{id}");
    let (evidence, history) = tokio::try_join!(
        state.store.asset_evidence(&id),
        state.store.audit_for_object(&object),
    )?;
    Ok(Json(AssetDetail {
        asset,
        evidence,
        history,
    }))
}

/// A lifecycle change.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct LifecycleRequest {
    /// procured, in_service, quarantined or retired (retired is final).
    pub lifecycle: String,
    /// Why, for the audit trail.
    #[serde(default)]
    pub reason: Option<String>,
}

/// What a lifecycle change did.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct LifecycleAnswer {
    /// The state before.
    pub from: String,
    /// Whether the state moved (staying put writes nothing).
    pub changed: bool,
    #[schema(value_type = AssetDoc)]
    pub asset: pumpguard_model::Asset,
    /// Certificates revoked because the asset was retired (serials, hex): sign a new CRL.
    pub revoked: Vec<String>,
}

/// Moves an asset to another lifecycle state, audited `asset.lifecycle` with the reason
/// (as `pumpguard assets lifecycle`). Retiring it revokes its certificates
/// (`cessation-of-operation`) in the same transaction.
#[utoipa::path(
    patch,
    path = "/api/v1/assets/{id}",
    tag = "assets",
    params(("id" = String, Path, description = "The asset id")),
    request_body = LifecycleRequest,
    security(("bearer" = ["manage_assets"]), ("session" = ["manage_assets"])),
    responses(
        (status = 200, description = "Changed (or already there)", body = LifecycleAnswer),
        (status = 400, description = "A bad state, or a transition the lifecycle does not allow", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 404, description = "No such asset", body = ErrorBody),
    )
)]
async fn patch_asset(
    State(state): State<Arc<AppState>>,
    who: Allowed<need::ManageAssets>,
    Path(id): Path<String>,
    Body(req): Body<LifecycleRequest>,
) -> Result<Json<LifecycleAnswer>, ApiError> {
    let to: Lifecycle = req
        .lifecycle
        .parse()
        .map_err(|e| ApiError::bad_request(format!("lifecycle: {e}")))?;
    let reason = req
        .reason
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty());
    let change = state
        .store
        .set_lifecycle(&who.actor(), &id, to, reason)
        .await?;
    Ok(Json(LifecycleAnswer {
        from: change.from.as_str().to_owned(),
        changed: change.changed(),
        asset: change.asset,
        revoked: change.revoked,
    }))
}

/// Paging only.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct PageQuery {
    /// At most this many items (1–1000, default 100).
    pub limit: Option<String>,
    /// Skip this many first.
    pub offset: Option<String>,
}

/// The flows the asset's addresses took part in, by first seen.
#[utoipa::path(
    get,
    path = "/api/v1/assets/{id}/flows",
    tag = "assets",
    params(("id" = String, Path, description = "The asset id"), PageQuery),
    security(("bearer" = ["read"]), ("session" = ["read"])),
    responses(
        (status = 200, description = "A page of flows", body = Page<FlowDoc>),
        (status = 400, description = "A bad query value", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 404, description = "No such asset", body = ErrorBody),
    )
)]
async fn asset_flows(
    State(state): State<Arc<AppState>>,
    _who: Allowed<need::Read>,
    Path(id): Path<String>,
    Params(q): Params<PageQuery>,
) -> Result<Json<Page<pumpguard_model::FlowRecord>>, ApiError> {
    let paging = paging(&q.limit, &q.offset)?;
    let asset = asset_or_404(&state, &id).await?;
    if let [ip] = asset.ips[..] {
        let flows = state
            .store
            .list_flows(&FlowFilter {
                ip: Some(ip),
                limit: Some(fetch_limit(&paging)?),
                offset: paging.offset(),
                ..FlowFilter::default()
            })
            .await?;
        return Ok(Json(paging.page_fetched(flows)?));
    }
    // Several addresses: every flow of each, once.
    let mut by_key = BTreeMap::new();
    for ip in &asset.ips {
        let flows = state
            .store
            .list_flows(&FlowFilter {
                ip: Some(*ip),
                ..FlowFilter::default()
            })
            .await?;
        for f in flows {
            by_key.insert((f.first_seen, f.key()), f);
        }
    }
    Ok(Json(paging.page(by_key.into_values().collect())?))
}

/// The alerts about the asset (as subject or peer), most severe first.
#[utoipa::path(
    get,
    path = "/api/v1/assets/{id}/alerts",
    tag = "assets",
    params(("id" = String, Path, description = "The asset id"), PageQuery),
    security(("bearer" = ["read"]), ("session" = ["read"])),
    responses(
        (status = 200, description = "A page of alerts", body = Page<AlertDoc>),
        (status = 400, description = "A bad query value", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 404, description = "No such asset", body = ErrorBody),
    )
)]
async fn asset_alerts(
    State(state): State<Arc<AppState>>,
    _who: Allowed<need::Read>,
    Path(id): Path<String>,
    Params(q): Params<PageQuery>,
) -> Result<Json<Page<pumpguard_model::Alert>>, ApiError> {
    let paging = paging(&q.limit, &q.offset)?;
    asset_or_404(&state, &id).await?;
    let alerts = state
        .store
        .list_alerts(&AlertFilter {
            asset_id: Some(id),
            limit: Some(fetch_limit(&paging)?),
            offset: paging.offset(),
            ..AlertFilter::default()
        })
        .await?;
    Ok(Json(paging.page_fetched(alerts)?))
}

/// The asset's vulnerability findings (from the fleet match, at most 30 s old), by CVE.
#[utoipa::path(
    get,
    path = "/api/v1/assets/{id}/vulnerabilities",
    tag = "assets",
    params(("id" = String, Path, description = "The asset id"), PageQuery),
    security(("bearer" = ["read"]), ("session" = ["read"])),
    responses(
        (status = 200, description = "A page of findings", body = Page<FindingDoc>),
        (status = 400, description = "A bad query value", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 404, description = "No such asset", body = ErrorBody),
    )
)]
async fn asset_vulnerabilities(
    State(state): State<Arc<AppState>>,
    _who: Allowed<need::Read>,
    Path(id): Path<String>,
    Params(q): Params<PageQuery>,
) -> Result<Json<Page<pumpguard_vuln::matcher::Finding>>, ApiError> {
    let paging = paging(&q.limit, &q.offset)?;
    asset_or_404(&state, &id).await?;
    let fleet = crate::cache::findings(&state).await?;
    let mine: Vec<_> = fleet
        .findings
        .iter()
        .filter(|f| f.asset_id == id)
        .cloned()
        .collect();
    Ok(Json(paging.page(mine)?))
}

/// The certificates issued to the asset (its id as common name), newest first.
#[utoipa::path(
    get,
    path = "/api/v1/assets/{id}/certificates",
    tag = "assets",
    params(("id" = String, Path, description = "The asset id"), PageQuery),
    security(("bearer" = ["read"]), ("session" = ["read"])),
    responses(
        (status = 200, description = "A page of certificates", body = Page<Certificate>),
        (status = 400, description = "A bad query value", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 404, description = "No such asset", body = ErrorBody),
    )
)]
async fn asset_certificates(
    State(state): State<Arc<AppState>>,
    _who: Allowed<need::Read>,
    Path(id): Path<String>,
    Params(q): Params<PageQuery>,
) -> Result<Json<Page<Certificate>>, ApiError> {
    let paging = paging(&q.limit, &q.offset)?;
    asset_or_404(&state, &id).await?;
    let now = pumpguard_model::time::now();
    let certs: Vec<Certificate> = state
        .store
        .pki_certificates()
        .await?
        .into_iter()
        .filter(|c| c.common_name == id)
        .map(|c| certificate(c, now))
        .collect();
    Ok(Json(paging.page(certs)?))
}
