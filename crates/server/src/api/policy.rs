//! `/api/v1/policy`: the segmentation policy `serve --policy` was given, and the
//! `policy_violation` alerts with the zones of both ends under it.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use pumpguard_model::{AlertKind, AlertStatus};
use pumpguard_store::AlertFilter;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::alerts::AlertDoc;
use super::assets::{Params, fetch_limit, paging, param};
use super::{ApiError, ErrorBody, Page};
use crate::AppState;
use crate::auth::{Allowed, need};

pub(crate) fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(get_policy))
        .routes(routes!(violations))
}

/// The policy in force, or a 404 that says how to load one.
fn policy(state: &AppState) -> Result<&pumpguard_policy::Policy, ApiError> {
    state.policy.as_deref().ok_or_else(|| {
        ApiError::not_found(
            "no segmentation policy is loaded: start the server with `pumpguard serve --policy FILE`",
        )
    })
}

/// A network zone.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Zone)]
pub(crate) struct ZoneDoc {
    pub name: String,
    pub vlan: Option<u16>,
    /// Address ranges (CIDR); absent when none.
    pub cidrs: Option<Vec<String>>,
    /// Inventory kinds in the zone wherever they are; absent when none.
    pub kinds: Option<Vec<String>>,
    /// Inventory models in the zone wherever they are; absent when none.
    pub models: Option<Vec<String>>,
}

/// Connections `from` one zone may open `to` another, for these services.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Conduit)]
pub(crate) struct ConduitDoc {
    pub from: String,
    pub to: String,
    /// `tcp/2575`, `udp/53`, `icmp`…
    pub services: Vec<String>,
    /// Whether each allowed connection is logged (absent: not).
    pub log: Option<bool>,
}

/// A segmentation policy (zones, conduits, the default for the rest).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Policy)]
pub(crate) struct PolicyDoc {
    pub zones: Vec<ZoneDoc>,
    pub conduits: Vec<ConduitDoc>,
    /// deny or allow.
    pub default: String,
}

/// The segmentation policy in force.
#[utoipa::path(
    get,
    path = "/api/v1/policy",
    tag = "policy",
    security(("bearer" = ["read"]), ("session" = ["read"])),
    responses(
        (status = 200, description = "The policy", body = PolicyDoc),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 404, description = "The server was started without a policy", body = ErrorBody),
    )
)]
async fn get_policy(
    State(state): State<Arc<AppState>>,
    _who: Allowed<need::Read>,
) -> Result<Json<pumpguard_policy::Policy>, ApiError> {
    Ok(Json(policy(&state)?.clone()))
}

/// A policy violation: the alert, and the zones of its ends under the policy in force.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Violation {
    #[schema(value_type = AlertDoc)]
    pub alert: pumpguard_model::Alert,
    /// The zone of the end that opened the connection (null without a policy, or
    /// outside every zone).
    pub client_zone: Option<String>,
    /// The zone of the other end.
    pub server_zone: Option<String>,
}

/// Query of `GET /api/v1/policy/violations`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ViolationQuery {
    /// open, acknowledged or resolved.
    pub status: Option<String>,
    /// At most this many (1–1000, default 100).
    pub limit: Option<String>,
    /// Skip this many first.
    pub offset: Option<String>,
}

/// The `policy_violation` alerts (denied connections the sensor saw), most severe and
/// most recent first; with the zones of both ends when a policy is loaded.
#[utoipa::path(
    get,
    path = "/api/v1/policy/violations",
    tag = "policy",
    params(ViolationQuery),
    security(("bearer" = ["read"]), ("session" = ["read"])),
    responses(
        (status = 200, description = "A page of violations", body = Page<Violation>),
        (status = 400, description = "A bad query value", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
    )
)]
async fn violations(
    State(state): State<Arc<AppState>>,
    _who: Allowed<need::Read>,
    Params(q): Params<ViolationQuery>,
) -> Result<Json<Page<Violation>>, ApiError> {
    let paging = paging(&q.limit, &q.offset)?;
    let filter = AlertFilter {
        kind: Some(AlertKind::PolicyViolation),
        status: param::<AlertStatus>("status", &q.status)?,
        limit: Some(fetch_limit(&paging)?),
        offset: paging.offset(),
        ..AlertFilter::default()
    };
    let page = paging.page_fetched(state.store.list_alerts(&filter).await?)?;
    // Zones by range need no inventory; zones by kind or model need the assets at the
    // ends, which the alerts name.
    let mut assets = BTreeMap::new();
    if state.policy.is_some() {
        for a in &page.items {
            for id in [&a.asset_id, &a.peer_asset_id].into_iter().flatten() {
                if !assets.contains_key(id)
                    && let Some(asset) = state.store.get_asset(id).await?
                {
                    assets.insert(id.clone(), asset);
                }
            }
        }
    }
    let assets: Vec<pumpguard_model::Asset> = assets.into_values().collect();
    let zoning = state
        .policy
        .as_deref()
        .map(|p| pumpguard_policy::eval::Zoning::new(p, &assets));
    let zone = |ip: Option<std::net::IpAddr>| -> Option<String> {
        Some(zoning.as_ref()?.zone_name(ip?)?.to_owned())
    };
    let items = page
        .items
        .into_iter()
        .map(|alert| Violation {
            client_zone: zone(alert.subject.ip),
            server_zone: zone(alert.peer.as_ref().and_then(|p| p.ip)),
            alert,
        })
        .collect();
    Ok(Json(Page {
        items,
        next: page.next,
    }))
}
