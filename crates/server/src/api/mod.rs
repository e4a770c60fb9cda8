//! The REST API under `/api/v1`, and its OpenAPI 3.1 document (`/api/openapi.json`,
//! Swagger UI at `/api/docs`). Every route is registered through utoipa-axum's
//! [`OpenApiRouter`] from a handler annotated with `#[utoipa::path]`, so the document
//! lists exactly the routes served. Each operation's security requirement names, as its
//! scope, the [`Permission`](crate::auth::Permission) the handler's
//! [`Allowed`](crate::auth::Allowed) extractor enforces.
//!
//! Conventions: JSON in and out; errors are `{error}` with a 4xx/5xx status; every list
//! is a [`Page`] `{items, next}`, where `next` is the `offset` of the following page or
//! null at the end.

pub mod alerts;
pub mod assess;
pub mod assets;
pub mod audit;
pub mod auth;
pub mod flows;
pub mod pki;
pub mod policy;
pub mod reports;
pub mod sensors;
pub mod vulns;

use std::sync::Arc;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use pumpguard_store::StoreError;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::openapi::OpenApi as Document;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{IntoParams, Modify, OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;

use crate::AppState;
use crate::auth::{AuthError, SESSION_COOKIE};

/// The document's frame: title, version, tags and security schemes; the paths come from
/// the routes.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "pumpguard",
        description = "Security for the wireless infusion-pump ecosystem of a hospital (NIST SP 1800-8): inventory, monitoring, vulnerabilities, risk, segmentation, device PKI and audit. Authenticate with POST /api/v1/auth/login and send the token as `Authorization: Bearer …`. Each operation's security scope names the permission it needs."
    ),
    modifiers(&SecuritySchemes),
    tags(
        (name = "auth", description = "Login, tokens and sessions"),
        (name = "users", description = "Console and API users (admin)"),
        (name = "assets", description = "The inventory: assets, their lifecycle, and what hangs off each"),
        (name = "alerts", description = "The detectors' alerts, acknowledged and resolved by people"),
        (name = "flows", description = "What talked to what, as the sensors recorded it"),
        (name = "sensors", description = "The remote sensors that send what they sense over NATS, and how each is doing"),
        (name = "vulnerabilities", description = "Imported vulnerability intelligence, the fleet's findings and triage"),
        (name = "assessment", description = "The risk assessment: questions, answers and the SP 800-30 register"),
        (name = "reports", description = "The risk assessment report (HTML, JSON, Markdown, XLSX)"),
        (name = "policy", description = "The segmentation policy and its violations"),
        (name = "pki", description = "The device CA's certificates and their revocation"),
        (name = "audit", description = "The hash-chained audit trail and its verification"),
    )
)]
struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut Document) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("A token from POST /api/v1/auth/login"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                SESSION_COOKIE,
                "The console's session cookie; writes also need the X-CSRF-Token header",
            ))),
        );
    }
}

/// Every API route with the document.
pub fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(auth::routes())
        .merge(assets::routes())
        .merge(alerts::routes())
        .merge(flows::routes())
        .merge(sensors::routes())
        .merge(vulns::routes())
        .merge(assess::routes())
        .merge(reports::routes())
        .merge(policy::routes())
        .merge(pki::routes())
        .merge(audit::routes())
}

/// The API's router and its OpenAPI document.
pub fn router_and_document() -> (axum::Router<Arc<AppState>>, Document) {
    routes().split_for_parts()
}

/// An API error: a status and `{error}`.
#[derive(Debug)]
pub struct ApiError(pub StatusCode, pub String);

/// The body of every error answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// One line saying what went wrong.
    pub error: String,
}

impl ApiError {
    pub fn bad_request(why: impl Into<String>) -> ApiError {
        ApiError(StatusCode::BAD_REQUEST, why.into())
    }
    pub fn not_found(why: impl Into<String>) -> ApiError {
        ApiError(StatusCode::NOT_FOUND, why.into())
    }
    pub fn internal(why: impl std::fmt::Display) -> ApiError {
        ApiError(StatusCode::INTERNAL_SERVER_ERROR, why.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(json!({ "error": self.1 }))).into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match &e {
            StoreError::NotFound(_) => ApiError(StatusCode::NOT_FOUND, e.to_string()),
            e if e.is_bad_input() => ApiError(StatusCode::BAD_REQUEST, e.to_string()),
            e => ApiError::internal(e),
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> ApiError {
        match e {
            AuthError::Anonymous(m) => ApiError(StatusCode::UNAUTHORIZED, m.into()),
            AuthError::Forbidden(m) => ApiError(StatusCode::FORBIDDEN, m),
            AuthError::TooMany(_) => ApiError(
                StatusCode::TOO_MANY_REQUESTS,
                "too many login attempts".into(),
            ),
            AuthError::Internal(m) => ApiError(StatusCode::INTERNAL_SERVER_ERROR, m),
        }
    }
}

/// One page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// The `offset` of the next page; null when this is the last.
    pub next: Option<u64>,
}

/// Paging of a list: `limit` (1–1000, default 100) items from `offset`.
#[derive(Debug, Clone, Copy, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Paging {
    /// At most this many items (1–1000, default 100).
    pub limit: Option<u32>,
    /// Skip this many items first.
    pub offset: Option<u64>,
}

/// Largest page.
pub const MAX_LIMIT: u32 = 1000;

impl Paging {
    /// The limit, checked.
    pub fn limit(&self) -> Result<u32, ApiError> {
        match self.limit {
            None => Ok(100),
            Some(n @ 1..=MAX_LIMIT) => Ok(n),
            Some(n) => Err(ApiError::bad_request(format!(
                "limit {n} is out of range 1–{MAX_LIMIT}"
            ))),
        }
    }

    pub fn offset(&self) -> u64 {
        self.offset.unwrap_or(0)
    }

    /// Pages an in-memory list.
    pub fn page<T>(&self, all: Vec<T>) -> Result<Page<T>, ApiError> {
        let limit = self.limit()? as usize;
        let offset = usize::try_from(self.offset()).unwrap_or(usize::MAX);
        let total = all.len();
        let items: Vec<T> = all.into_iter().skip(offset).take(limit).collect();
        let end = offset.saturating_add(items.len());
        Ok(Page {
            next: (end < total).then_some(end as u64),
            items,
        })
    }

    /// A page whose items were fetched with `limit + 1` from the store: the extra one
    /// only says there is more.
    pub fn page_fetched<T>(&self, mut fetched: Vec<T>) -> Result<Page<T>, ApiError> {
        let limit = self.limit()? as usize;
        let more = fetched.len() > limit;
        fetched.truncate(limit);
        Ok(Page {
            next: more.then(|| self.offset() + limit as u64),
            items: fetched,
        })
    }
}
