//! What relying parties fetch without credentials: the CA chain (`/pki/ca.pem`) and
//! the CRL (`/pki/crl` in DER, as certificates' distribution points name it, and
//! `/pki/crl.pem`). The server signs a new CRL (audited `pki.crl`) when the store's
//! revocations differ from the last one's, or when half its validity has passed.

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::AppState;
use crate::authority::{self, AuthorityError};

/// How the served CRL is made.
#[derive(Debug, Clone)]
pub struct CrlSettings {
    /// Hours from a CRL's signing to its next update.
    pub hours: i64,
}

/// The CRL last signed, and the revocations it lists.
#[derive(Debug, Clone)]
pub(crate) struct SignedCrl {
    revoked: Vec<String>,
    signed: Instant,
    pem: String,
    der: Vec<u8>,
}

pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/pki/ca.pem", get(ca_pem))
        .route("/pki/crl", get(crl_der))
        .route("/pki/crl.pem", get(crl_pem))
}

fn failure(e: AuthorityError) -> Response {
    let status = match &e {
        AuthorityError::Refused(_) => StatusCode::NOT_FOUND,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    (status, format!("{e}\n")).into_response()
}

async fn ca_pem(State(state): State<Arc<AppState>>) -> Response {
    match authority::ca_record(&state.store).await {
        Ok(ca) => (
            [(header::CONTENT_TYPE, "application/x-pem-file")],
            format!("{}{}", ca.issuing_cert, ca.root_cert),
        )
            .into_response(),
        Err(e) => failure(e),
    }
}

/// The current CRL, signing a new one first when needed.
pub(crate) async fn current(state: &AppState) -> Result<SignedCrl, Response> {
    let revoked = state
        .store
        .pki_revoked_serials()
        .await
        .map_err(|e| failure(e.into()))?;
    let mut cache = state.crl_cache.lock().await;
    let half_life =
        std::time::Duration::from_secs(u64::try_from(state.crl.hours.max(1)).unwrap_or(1) * 1800);
    if let Some(c) = cache.as_ref()
        && c.revoked == revoked
        && c.signed.elapsed() < half_life
    {
        return Ok(c.clone());
    }
    let Some((ca, _)) = state.ca.as_ref() else {
        return Err((
            StatusCode::SERVICE_UNAVAILABLE,
            "the CA is sealed: start `pumpguard serve` with the CA passphrase to sign CRLs\n",
        )
            .into_response());
    };
    let (_, _, pem) = authority::sign_crl(&state.store, ca, &state.actor, state.crl.hours)
        .await
        .map_err(failure)?;
    let der = pumpguard_pki::est::pem_blocks(&pem, "X509 CRL")
        .ok()
        .and_then(|mut v| v.pop())
        .ok_or_else(|| failure(AuthorityError::Internal("the CRL is not PEM".into())))?;
    let signed = SignedCrl {
        revoked,
        signed: Instant::now(),
        pem,
        der,
    };
    *cache = Some(signed.clone());
    Ok(signed)
}

async fn crl_der(State(state): State<Arc<AppState>>) -> Response {
    match current(&state).await {
        Ok(c) => ([(header::CONTENT_TYPE, "application/pkix-crl")], c.der).into_response(),
        Err(r) => r,
    }
}

async fn crl_pem(State(state): State<Arc<AppState>>) -> Response {
    match current(&state).await {
        Ok(c) => ([(header::CONTENT_TYPE, "application/x-pem-file")], c.pem).into_response(),
        Err(r) => r,
    }
}
