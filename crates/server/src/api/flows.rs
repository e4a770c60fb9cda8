//! `/api/v1/flows`: the flows the sensors recorded (one per normalised 5-tuple, counters
//! added up), filtered as `pumpguard flows list` filters and paged in the database.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use pumpguard_store::FlowFilter;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::assets::{Params, fetch_limit, paging, param, text};
use super::{ApiError, ErrorBody, Page};
use crate::AppState;
use crate::auth::{Allowed, need};

pub(crate) fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new().routes(routes!(list_flows))
}

/// One bidirectional IP 5-tuple (what `pumpguard flows list --format json` writes); the
/// client opened it.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Flow)]
pub(crate) struct FlowDoc {
    /// tcp, udp, icmp, icmpv6 or the IP protocol number.
    pub proto: String,
    pub client_ip: String,
    pub client_port: u16,
    pub server_ip: String,
    pub server_port: u16,
    pub client_mac: Option<String>,
    pub server_mac: Option<String>,
    pub vlan: Option<u16>,
    /// The application protocol found by content (`hl7`, `tls`, `dhcp`…; `unknown`).
    pub app: String,
    pub packets_to_server: u64,
    pub packets_to_client: u64,
    /// IP bytes, headers included.
    pub bytes_to_server: u64,
    pub bytes_to_client: u64,
    #[schema(value_type = String, format = DateTime)]
    pub first_seen: String,
    #[schema(value_type = String, format = DateTime)]
    pub last_seen: String,
    /// TCP connections (or UDP/ICMP activity periods) it carried.
    pub sessions: u64,
    /// The last TCP state seen (`established`, `closed`, `reset`…; `none` otherwise).
    pub tcp_state: String,
}

/// Query of `GET /api/v1/flows`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct FlowQuery {
    /// This address at either end.
    pub ip: Option<String>,
    /// The application protocol (`hl7`, `tls`…).
    pub app: Option<String>,
    /// The transport (`tcp`, `udp`…).
    pub proto: Option<String>,
    /// At most this many flows (1–1000, default 100).
    pub limit: Option<String>,
    /// Skip this many first.
    pub offset: Option<String>,
}

/// Flows, by first seen then key.
#[utoipa::path(
    get,
    path = "/api/v1/flows",
    tag = "flows",
    params(FlowQuery),
    security(("bearer" = ["read"]), ("session" = ["read"])),
    responses(
        (status = 200, description = "A page of flows", body = Page<FlowDoc>),
        (status = 400, description = "A bad query value", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
    )
)]
async fn list_flows(
    State(state): State<Arc<AppState>>,
    _who: Allowed<need::Read>,
    Params(q): Params<FlowQuery>,
) -> Result<Json<Page<pumpguard_model::FlowRecord>>, ApiError> {
    let paging = paging(&q.limit, &q.offset)?;
    let filter = FlowFilter {
        ip: param("ip", &q.ip)?,
        app: text(&q.app),
        proto: text(&q.proto),
        limit: Some(fetch_limit(&paging)?),
        offset: paging.offset(),
    };
    let flows = state.store.list_flows(&filter).await?;
    Ok(Json(paging.page_fetched(flows)?))
}
