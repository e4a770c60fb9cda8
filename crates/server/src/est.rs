//! EST (RFC 7030) for the device CA: `/.well-known/est/cacerts`, `simpleenroll` (HTTP
//! Basic with an enrollment user), `simplereenroll` (mutual TLS with the device's
//! current certificate, same subject) and `csrattrs`. Requests are base64 DER PKCS#10;
//! answers are base64 DER: certs-only CMS for certificates, `CsrAttrs` for attributes.
//! Enrollment needs TLS (the password and the device's identity travel in it).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use pumpguard_pki::IssueOptions;
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::authority::{self, AuthorityError, Csr};
use crate::tls::{ClientCert, Tls};

/// How EST issues.
#[derive(Debug, Clone)]
pub struct EstSettings {
    /// Days an enrolled certificate is valid.
    pub validity_days: i64,
    /// Where the CRL is published, written into each certificate.
    pub crl_url: Option<String>,
}

pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/.well-known/est/cacerts", get(cacerts))
        .route("/.well-known/est/simpleenroll", post(simpleenroll))
        .route("/.well-known/est/simplereenroll", post(simplereenroll))
        .route("/.well-known/est/csrattrs", get(csrattrs))
}

/// An EST error: a status and one line of text (RFC 7030 §4.2.3 allows text/plain).
#[derive(Debug)]
pub(crate) struct EstError(StatusCode, String);

impl IntoResponse for EstError {
    fn into_response(self) -> Response {
        let mut r = (self.0, format!("{}\n", self.1)).into_response();
        if self.0 == StatusCode::UNAUTHORIZED {
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"pumpguard EST\", charset=\"UTF-8\""),
            );
        }
        r
    }
}

impl From<AuthorityError> for EstError {
    fn from(e: AuthorityError) -> Self {
        match e {
            AuthorityError::Refused(m) => EstError(StatusCode::BAD_REQUEST, m),
            AuthorityError::Store(s) if s.is_bad_input() => {
                EstError(StatusCode::BAD_REQUEST, s.to_string())
            }
            other => EstError(StatusCode::INTERNAL_SERVER_ERROR, other.to_string()),
        }
    }
}

fn unavailable() -> EstError {
    EstError(
        StatusCode::SERVICE_UNAVAILABLE,
        "the CA is sealed: start `pumpguard serve` with the CA passphrase to enroll".into(),
    )
}

/// Base64 in lines of 64 characters, as PEM and `openssl base64` write it.
pub(crate) fn base64_lines(der: &[u8]) -> String {
    let text = STANDARD.encode(der);
    let mut out = String::with_capacity(text.len() + text.len() / 64 + 1);
    for chunk in text.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out
}

fn pkcs7_response(der: &[u8]) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                "application/pkcs7-mime; smime-type=certs-only",
            ),
            (
                header::HeaderName::from_static("content-transfer-encoding"),
                "base64",
            ),
        ],
        base64_lines(der),
    )
        .into_response()
}

async fn cacerts(State(state): State<Arc<AppState>>) -> Result<Response, EstError> {
    let ca = authority::ca_record(&state.store).await?;
    let certs = pumpguard_pki::est::pem_blocks(
        &format!("{}{}", ca.issuing_cert, ca.root_cert),
        "CERTIFICATE",
    )
    .map_err(AuthorityError::from)?;
    let p7 = pumpguard_pki::est::certs_only(&certs).map_err(AuthorityError::from)?;
    Ok(pkcs7_response(&p7))
}

async fn csrattrs(State(state): State<Arc<AppState>>) -> Result<Response, EstError> {
    let ca = authority::ca_record(&state.store).await?;
    let alg = ca
        .algorithm
        .parse()
        .map_err(|e: String| EstError(StatusCode::INTERNAL_SERVER_ERROR, e))?;
    let der = pumpguard_pki::est::csr_attrs(alg).map_err(AuthorityError::from)?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/csrattrs"),
            (
                header::HeaderName::from_static("content-transfer-encoding"),
                "base64",
            ),
        ],
        base64_lines(&der),
    )
        .into_response())
}

/// The request's PKCS#10: base64 DER (whitespace allowed), or PEM for lenient clients.
fn request_der(body: &[u8]) -> Result<Vec<u8>, EstError> {
    let bad = |why: &str| {
        EstError(
            StatusCode::BAD_REQUEST,
            format!("the body is not a base64 DER PKCS#10 request: {why}"),
        )
    };
    let text = std::str::from_utf8(body).map_err(|_| bad("not text"))?;
    if text.trim_start().starts_with("-----BEGIN") {
        let label = if text.contains("BEGIN NEW CERTIFICATE REQUEST") {
            "NEW CERTIFICATE REQUEST"
        } else {
            "CERTIFICATE REQUEST"
        };
        return pumpguard_pki::est::pem_blocks(text, label)
            .ok()
            .and_then(|mut v| (!v.is_empty()).then(|| v.swap_remove(0)))
            .ok_or_else(|| bad("unreadable PEM"));
    }
    let clean: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    if clean.is_empty() {
        return Err(bad("it is empty"));
    }
    STANDARD.decode(clean).map_err(|e| bad(&e.to_string()))
}

fn require_tls(tls: Option<&Tls>) -> Result<(), EstError> {
    if tls.is_none() {
        return Err(EstError(
            StatusCode::FORBIDDEN,
            "EST enrollment needs HTTPS: start `pumpguard serve --tls`".into(),
        ));
    }
    Ok(())
}

/// Verified Basic credentials for a few minutes, so that a device enrolling in a burst
/// does not pay argon2 on every request. Keyed by user; holds the stored hash it was
/// checked against (a password change misses) and SHA-256 of the password.
#[derive(Debug, Default)]
pub(crate) struct CredentialCache(Mutex<HashMap<String, Verified>>);

/// A verified credential: the stored hash, SHA-256 of the password, when.
type Verified = (String, [u8; 32], Instant);

const CREDENTIALS_TTL: Duration = Duration::from_secs(300);

impl CredentialCache {
    fn hit(&self, user: &str, phc: &str, password: &str) -> bool {
        let digest: [u8; 32] = Sha256::digest(password.as_bytes()).into();
        let Ok(map) = self.0.lock() else {
            return false;
        };
        map.get(user)
            .is_some_and(|(h, d, at)| h == phc && *d == digest && at.elapsed() < CREDENTIALS_TTL)
    }

    fn remember(&self, user: &str, phc: &str, password: &str) {
        let digest: [u8; 32] = Sha256::digest(password.as_bytes()).into();
        if let Ok(mut map) = self.0.lock() {
            map.insert(user.to_owned(), (phc.to_owned(), digest, Instant::now()));
        }
    }
}

/// The enrollment user of the request's Basic credentials, or 401.
async fn basic_user(state: &AppState, headers: &HeaderMap) -> Result<String, EstError> {
    let denied = |why: &str| EstError(StatusCode::UNAUTHORIZED, why.to_owned());
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| denied("enrollment needs HTTP Basic credentials of an EST user"))?;
    let encoded = value
        .strip_prefix("Basic ")
        .ok_or_else(|| denied("only Basic authentication is accepted"))?;
    let decoded = STANDARD
        .decode(encoded.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| denied("malformed Basic credentials"))?;
    let (user, password) = decoded
        .split_once(':')
        .ok_or_else(|| denied("malformed Basic credentials"))?;
    let Some(stored) = state
        .store
        .est_user(user)
        .await
        .map_err(AuthorityError::from)?
    else {
        // Spend the same time as a wrong password, so that names cannot be probed.
        let _ = tokio::task::spawn_blocking(|| crate::passwords::hash("x")).await;
        return Err(denied("wrong EST user or password"));
    };
    if state.credentials.hit(user, &stored.password_hash, password) {
        return Ok(user.to_owned());
    }
    let (phc, pw) = (stored.password_hash.clone(), password.to_owned());
    let ok = tokio::task::spawn_blocking(move || crate::passwords::verify(&pw, &phc))
        .await
        .unwrap_or(false);
    if !ok {
        return Err(denied("wrong EST user or password"));
    }
    state
        .credentials
        .remember(user, &stored.password_hash, password);
    Ok(user.to_owned())
}

async fn enroll(
    state: &AppState,
    actor: &str,
    csr: &[u8],
    profile: &str,
) -> Result<Response, EstError> {
    let (ca, _) = state.ca.as_ref().ok_or_else(unavailable)?;
    let now = authority::odt(pumpguard_model::time::now())?;
    let out = authority::issue(
        &state.store,
        ca,
        actor,
        Csr::Der(csr),
        profile,
        &IssueOptions {
            profile: profile
                .parse()
                .map_err(|e: String| EstError(StatusCode::INTERNAL_SERVER_ERROR, e))?,
            validity_days: state.est.validity_days,
            now,
            uris: Vec::new(),
            dns_names: Vec::new(),
            crl_url: state.est.crl_url.as_deref(),
        },
    )
    .await?;
    let der = pumpguard_pki::est::pem_blocks(&out.issued.pem, "CERTIFICATE")
        .map_err(AuthorityError::from)?;
    let p7 = pumpguard_pki::est::certs_only(&der).map_err(AuthorityError::from)?;
    Ok(pkcs7_response(&p7))
}

async fn simpleenroll(
    State(state): State<Arc<AppState>>,
    tls: Option<axum::Extension<Tls>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, EstError> {
    require_tls(tls.as_deref())?;
    let user = basic_user(&state, &headers).await?;
    let csr = request_der(&body)?;
    enroll(&state, &format!("est:{user}"), &csr, "pump").await
}

async fn simplereenroll(
    State(state): State<Arc<AppState>>,
    tls: Option<axum::Extension<Tls>>,
    client: Option<axum::Extension<ClientCert>>,
    body: Bytes,
) -> Result<Response, EstError> {
    require_tls(tls.as_deref())?;
    let forbidden = |why: String| EstError(StatusCode::FORBIDDEN, why);
    let cert = client.and_then(|c| c.0.0.clone()).ok_or_else(|| {
        forbidden("re-enrollment needs the device's current certificate (mutual TLS)".into())
    })?;
    let (serial, subject) = crate::tls::serial_and_cn(&cert)
        .map_err(|e| forbidden(format!("the client certificate: {e}")))?;
    let record = state
        .store
        .pki_certificate(&serial)
        .await
        .map_err(AuthorityError::from)?
        .ok_or_else(|| forbidden(format!("certificate {serial} was not issued by this CA")))?;
    if let Some(at) = record.revoked {
        return Err(forbidden(format!(
            "certificate {serial} was revoked at {}",
            pumpguard_model::time::rfc3339(at)
        )));
    }
    let csr = request_der(&body)?;
    let requested = pumpguard_pki::csr_common_name(&csr).map_err(AuthorityError::from)?;
    if requested != subject {
        return Err(EstError(
            StatusCode::BAD_REQUEST,
            format!(
                "the request's subject '{requested}' is not the certificate's '{subject}' (re-enrollment keeps the subject)"
            ),
        ));
    }
    enroll(&state, &format!("est:{subject}"), &csr, &record.profile).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_decode_from_base64_with_line_breaks_or_pem() {
        let der = vec![0x30, 0x03, 0x02, 0x01, 0x05];
        let b64 = base64_lines(&der);
        assert_eq!(request_der(b64.as_bytes()).expect("decodes"), der);
        assert_eq!(
            request_der(format!(" {}\r\n", b64.trim()).as_bytes()).expect("decodes"),
            der
        );
        let pem = format!(
            "-----BEGIN CERTIFICATE REQUEST-----\n{b64}-----END CERTIFICATE REQUEST-----\n"
        );
        assert_eq!(request_der(pem.as_bytes()).expect("decodes"), der);
        assert_eq!(
            request_der(b"").map_err(|e| e.0).err(),
            Some(StatusCode::BAD_REQUEST)
        );
        assert_eq!(
            request_der(b"!!notbase64").map_err(|e| e.0).err(),
            Some(StatusCode::BAD_REQUEST)
        );
    }

    #[test]
    fn base64_lines_are_64_wide() {
        let text = base64_lines(&[7u8; 100]);
        assert!(text.lines().all(|l| l.len() <= 64));
        assert_eq!(text.lines().count(), 3);
    }
}
