//! `/api/v1/certificates`: the certificates the device CA issued, with their state
//! (valid, expiring within 30 days, expired, revoked, as `pumpguard pki list` says), and
//! revocation (as `pumpguard pki revoke`, audited `pki.revoke`; `/pki/crl` publishes it).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use pumpguard_model::time::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::assets::{Body, Params, paging, text};
use super::{ApiError, ErrorBody, Page};
use crate::AppState;
use crate::auth::{Allowed, need};

pub(crate) fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(list_certificates))
        .routes(routes!(get_certificate))
        .routes(routes!(revoke_certificate))
}

/// Days before expiry from which a certificate counts as expiring.
const EXPIRING_DAYS: i64 = 30;

/// An issued certificate and its state.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Certificate {
    /// Lower-case hex.
    pub serial: String,
    pub common_name: String,
    /// pump or server.
    pub profile: String,
    #[schema(value_type = String, format = DateTime)]
    pub not_before: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub not_after: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub issued: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub revoked: Option<Timestamp>,
    /// The RFC 5280 revocation reason.
    pub reason: Option<String>,
    /// valid, expiring (within 30 days), expired or revoked.
    pub state: String,
    /// The certificate, PEM (on `GET /api/v1/certificates/{serial}` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pem: Option<String>,
}

/// A certificate's state at `now`: revoked, expired, expiring or valid.
pub(crate) fn state_at(c: &pumpguard_store::CertRecord, now: Timestamp) -> &'static str {
    if c.revoked.is_some() {
        "revoked"
    } else if c.not_after <= now {
        "expired"
    } else if c.not_after.as_second() <= now.as_second() + EXPIRING_DAYS * 86_400 {
        "expiring"
    } else {
        "valid"
    }
}

/// The API's view of a stored certificate (without its PEM).
pub(crate) fn certificate(c: pumpguard_store::CertRecord, now: Timestamp) -> Certificate {
    Certificate {
        state: state_at(&c, now).to_owned(),
        serial: c.serial,
        common_name: c.common_name,
        profile: c.profile,
        not_before: c.not_before,
        not_after: c.not_after,
        issued: c.issued,
        revoked: c.revoked,
        reason: c.reason,
        pem: None,
    }
}

/// Query of `GET /api/v1/certificates`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct CertificateQuery {
    /// valid, expiring, expired or revoked.
    pub state: Option<String>,
    /// pump or server.
    pub profile: Option<String>,
    /// This common name (an asset id for pump certificates).
    pub common_name: Option<String>,
    /// At most this many (1–1000, default 100).
    pub limit: Option<String>,
    /// Skip this many first.
    pub offset: Option<String>,
}

/// The issued certificates, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/certificates",
    tag = "pki",
    params(CertificateQuery),
    security(("bearer" = ["read"]), ("session" = ["read"])),
    responses(
        (status = 200, description = "A page of certificates", body = Page<Certificate>),
        (status = 400, description = "A bad query value", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
    )
)]
async fn list_certificates(
    State(state): State<Arc<AppState>>,
    _who: Allowed<need::Read>,
    Params(q): Params<CertificateQuery>,
) -> Result<Json<Page<Certificate>>, ApiError> {
    let paging = paging(&q.limit, &q.offset)?;
    let want_state = text(&q.state);
    if let Some(s) = &want_state
        && !["valid", "expiring", "expired", "revoked"].contains(&s.as_str())
    {
        return Err(ApiError::bad_request(format!(
            "state: '{s}' is not valid, expiring, expired or revoked"
        )));
    }
    let profile = text(&q.profile);
    if let Some(p) = &profile
        && !["pump", "server"].contains(&p.as_str())
    {
        return Err(ApiError::bad_request(format!(
            "profile: '{p}' is not pump or server"
        )));
    }
    let common_name = text(&q.common_name);
    let now = pumpguard_model::time::now();
    let certs: Vec<Certificate> = state
        .store
        .pki_certificates()
        .await?
        .into_iter()
        .filter(|c| profile.as_deref().is_none_or(|p| c.profile == p))
        .filter(|c| common_name.as_deref().is_none_or(|n| c.common_name == n))
        .filter(|c| want_state.as_deref().is_none_or(|s| state_at(c, now) == s))
        .map(|c| certificate(c, now))
        .collect();
    Ok(Json(paging.page(certs)?))
}

/// A serial as the store keys it (lower-case hex), from any common form.
fn serial(text: &str) -> Result<String, ApiError> {
    pumpguard_pki::parse_serial(text)
        .map(|s| pumpguard_pki::serial_hex(&s))
        .map_err(|e| ApiError::bad_request(format!("serial: {e}")))
}

/// One certificate, with its PEM.
#[utoipa::path(
    get,
    path = "/api/v1/certificates/{serial}",
    tag = "pki",
    params(("serial" = String, Path, description = "The serial, hex (colons allowed)")),
    security(("bearer" = ["read"]), ("session" = ["read"])),
    responses(
        (status = 200, description = "The certificate", body = Certificate),
        (status = 400, description = "Not a serial", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 404, description = "No such certificate", body = ErrorBody),
    )
)]
async fn get_certificate(
    State(state): State<Arc<AppState>>,
    _who: Allowed<need::Read>,
    Path(text): Path<String>,
) -> Result<Json<Certificate>, ApiError> {
    let serial = serial(&text)?;
    let c = state
        .store
        .pki_certificate(&serial)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("certificate {serial} not found")))?;
    let pem = c.pem.clone();
    Ok(Json(Certificate {
        pem: Some(pem),
        ..certificate(c, pumpguard_model::time::now())
    }))
}

/// Why a certificate is revoked.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct RevokeRequest {
    /// unspecified, key-compromise, ca-compromise, affiliation-changed, superseded,
    /// cessation-of-operation, certificate-hold or privilege-withdrawn.
    pub reason: String,
}

/// Revokes a certificate (as `pumpguard pki revoke`; audited `pki.revoke`). The server
/// publishes the revocation in the next CRL it signs.
#[utoipa::path(
    post,
    path = "/api/v1/certificates/{serial}/revoke",
    tag = "pki",
    params(("serial" = String, Path, description = "The serial, hex (colons allowed)")),
    request_body = RevokeRequest,
    security(("bearer" = ["manage_pki"]), ("session" = ["manage_pki"])),
    responses(
        (status = 200, description = "Revoked", body = Certificate),
        (status = 400, description = "Not a serial or a reason, or revoked already", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 404, description = "No such certificate", body = ErrorBody),
    )
)]
async fn revoke_certificate(
    State(state): State<Arc<AppState>>,
    who: Allowed<need::ManagePki>,
    Path(text): Path<String>,
    Body(req): Body<RevokeRequest>,
) -> Result<Json<Certificate>, ApiError> {
    let serial = serial(&text)?;
    let reason = req.reason.trim();
    pumpguard_pki::parse_reason(reason)
        .map_err(|e| ApiError::bad_request(format!("reason: {e}")))?;
    let now = pumpguard_model::time::now();
    let c = state
        .store
        .pki_revoke(&who.actor(), &serial, reason, now)
        .await?;
    Ok(Json(certificate(c, now)))
}
