//! Who is calling and what they may do: local users (argon2id) with one role each,
//! bearer tokens for the API and cookie sessions for the console (both kept in the store
//! as the SHA-256 of their secret, expiring and revocable), the role → permission table,
//! CSRF protection for cookie-authenticated writes, login rate limiting, and the security
//! headers every answer carries.
//!
//! Handlers state what they need in their signature: [`Allowed<N>`] (an extractor) answers
//! 401 to an anonymous caller and 403 to a role without `N`'s permission before the body
//! is read, so a refusal never depends on what was sent.

use std::collections::HashMap;
use std::marker::PhantomData;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Json;
use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use pumpguard_model::time::{self, Timestamp};
use pumpguard_store::{AuditRecord, TokenRecord};
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::AppState;

/// The console's session cookie.
pub const SESSION_COOKIE: &str = "pumpguard_session";
/// The header a cookie-authenticated script sends its CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// The form field a console form sends its CSRF token in.
pub const CSRF_FIELD: &str = "csrf";

/// A user's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything, including users.
    Admin,
    /// Security analyst: triages alerts and vulnerabilities, answers the assessment.
    Analyst,
    /// Clinical engineer: triages alerts, manages the pumps' lifecycle.
    Biomed,
    /// Reads only.
    Viewer,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Admin, Role::Analyst, Role::Biomed, Role::Viewer];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Analyst => "analyst",
            Role::Biomed => "biomed",
            Role::Viewer => "viewer",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// The role → permission table.
    pub fn can(self, p: Permission) -> bool {
        use Permission::*;
        match self {
            Role::Admin => true,
            Role::Analyst => matches!(p, Read | TriageAlerts | TriageVulns | Assess),
            Role::Biomed => matches!(p, Read | TriageAlerts | ManageAssets),
            Role::Viewer => p == Read,
        }
    }
}

/// What a route needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// Read anything (every role).
    Read,
    /// Acknowledge and resolve alerts.
    TriageAlerts,
    /// Record vulnerability triage decisions.
    TriageVulns,
    /// Change an asset's lifecycle.
    ManageAssets,
    /// Answer the risk-assessment questionnaire.
    Assess,
    /// Revoke certificates.
    ManagePki,
    /// Add, change and remove users.
    ManageUsers,
}

impl Permission {
    pub const ALL: [Permission; 7] = [
        Permission::Read,
        Permission::TriageAlerts,
        Permission::TriageVulns,
        Permission::ManageAssets,
        Permission::Assess,
        Permission::ManagePki,
        Permission::ManageUsers,
    ];

    /// The name the OpenAPI document uses as the security requirement's scope.
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::Read => "read",
            Permission::TriageAlerts => "triage_alerts",
            Permission::TriageVulns => "triage_vulns",
            Permission::ManageAssets => "manage_assets",
            Permission::Assess => "assess",
            Permission::ManagePki => "manage_pki",
            Permission::ManageUsers => "manage_users",
        }
    }

    pub fn parse(s: &str) -> Option<Permission> {
        Permission::ALL.into_iter().find(|p| p.as_str() == s)
    }

    /// The roles that have it.
    pub fn roles(self) -> Vec<Role> {
        Role::ALL.into_iter().filter(|r| r.can(self)).collect()
    }
}

/// Type-level permissions for [`Allowed`].
pub mod need {
    use super::Permission;

    /// A permission as a type.
    pub trait Need: Send + Sync + 'static {
        const PERMISSION: Permission;
    }

    macro_rules! needs {
        ($($name:ident),*) => {$(
            #[derive(Debug)]
            pub struct $name;
            impl Need for $name {
                const PERMISSION: Permission = Permission::$name;
            }
        )*};
    }
    needs!(
        Read,
        TriageAlerts,
        TriageVulns,
        ManageAssets,
        Assess,
        ManagePki,
        ManageUsers
    );
}

/// How the caller proved who they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    Bearer,
    Cookie,
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user: String,
    pub role: Role,
    /// The public id of the token or session used.
    pub token_id: String,
    pub via: Via,
    /// The session's CSRF token (empty for a bearer token).
    pub csrf: String,
    pub expires: Timestamp,
}

impl Principal {
    /// The actor the audit trail names.
    pub fn actor(&self) -> String {
        format!("user:{}", self.user)
    }

    pub fn can(&self, p: Permission) -> bool {
        self.role.can(p)
    }
}

/// A caller with permission `N`: anonymous → 401, wrong role → 403.
#[derive(Debug)]
pub struct Allowed<N> {
    pub principal: Principal,
    _need: PhantomData<N>,
}

impl<N> std::ops::Deref for Allowed<N> {
    type Target = Principal;
    fn deref(&self) -> &Principal {
        &self.principal
    }
}

/// Why a request was refused: 401, 403, 429 or a store failure, as JSON `{error}`.
#[derive(Debug)]
pub enum AuthError {
    Anonymous(&'static str),
    Forbidden(String),
    TooMany(Duration),
    Internal(String),
}

impl IntoResponse for AuthError {
    fn into_response(self) -> Response {
        match self {
            AuthError::Anonymous(why) => {
                let mut r =
                    (StatusCode::UNAUTHORIZED, Json(json!({ "error": why }))).into_response();
                r.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"pumpguard\""),
                );
                r
            }
            AuthError::Forbidden(why) => {
                (StatusCode::FORBIDDEN, Json(json!({ "error": why }))).into_response()
            }
            AuthError::TooMany(wait) => {
                let mut r = (
                    StatusCode::TOO_MANY_REQUESTS,
                    Json(json!({ "error": "too many login attempts; wait and try again" })),
                )
                    .into_response();
                if let Ok(v) = HeaderValue::from_str(&wait.as_secs().max(1).to_string()) {
                    r.headers_mut().insert(header::RETRY_AFTER, v);
                }
                r
            }
            AuthError::Internal(why) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                Json(json!({ "error": why })),
            )
                .into_response(),
        }
    }
}

impl FromRequestParts<Arc<AppState>> for Principal {
    type Rejection = AuthError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        if let Some(p) = parts.extensions.get::<Principal>() {
            return Ok(p.clone());
        }
        let (secret, via) = credential(&parts.headers).ok_or(AuthError::Anonymous(
            "authentication required: a bearer token (POST /api/v1/auth/login) or a console session",
        ))?;
        let principal = state.auth.resolve(state, &secret, via).await?;
        parts.extensions.insert(principal.clone());
        Ok(principal)
    }
}

impl<N: need::Need> FromRequestParts<Arc<AppState>> for Allowed<N> {
    type Rejection = AuthError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let principal = Principal::from_request_parts(parts, state).await?;
        if !principal.can(N::PERMISSION) {
            return Err(AuthError::Forbidden(format!(
                "role '{}' may not {}",
                principal.role.as_str(),
                N::PERMISSION.as_str().replace('_', " ")
            )));
        }
        Ok(Allowed {
            principal,
            _need: PhantomData,
        })
    }
}

/// The secret a request carries: `Authorization: Bearer …` first, else the session
/// cookie.
fn credential(headers: &HeaderMap) -> Option<(String, Via)> {
    if let Some(v) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let (scheme, token) = v.split_once(' ')?;
        return scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| (token.trim().to_owned(), Via::Bearer));
    }
    session_cookie(headers).map(|s| (s, Via::Cookie))
}

/// The session cookie's value, if the request has one.
pub fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == SESSION_COOKIE)
        .map(|(_, v)| v.to_owned())
}

/// Lower-case hex SHA-256 of a token secret: what the store keeps.
pub fn secret_hash(secret: &str) -> String {
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `n` random bytes from the OS, base64url.
fn random_text(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// How long tokens and sessions live, and whether cookies are `Secure`.
#[derive(Debug, Clone)]
pub struct AuthSettings {
    pub token_hours: i64,
    pub session_hours: i64,
    /// Set under TLS: the session cookie is then `Secure` and answers carry HSTS.
    pub tls: bool,
}

impl Default for AuthSettings {
    fn default() -> Self {
        AuthSettings {
            token_hours: 12,
            session_hours: 8,
            tls: false,
        }
    }
}

/// How long a verified token is believed without asking the store again. A token
/// revoked through this server is dropped at once; one revoked by another process
/// stops working within this time.
const TOKEN_CACHE_TTL: Duration = Duration::from_secs(5);

/// Login attempts allowed per window, per client address and per user name.
const LOGIN_ATTEMPTS_PER_ADDRESS: u32 = 20;
const LOGIN_FAILURES_PER_USER: u32 = 5;
const LOGIN_WINDOW: Duration = Duration::from_secs(300);

/// The server's authentication state: settings, the token cache and the login limiter.
#[derive(Debug, Default)]
pub struct Auth {
    pub settings: AuthSettings,
    cache: Mutex<HashMap<String, (Principal, Instant)>>,
    attempts: Mutex<HashMap<String, (u32, Instant)>>,
    /// A hash to verify against when the user does not exist, so that an unknown name
    /// takes as long as a wrong password.
    decoy: std::sync::OnceLock<String>,
}

impl Auth {
    pub fn new(settings: AuthSettings) -> Auth {
        Auth {
            settings,
            ..Auth::default()
        }
    }

    async fn resolve(
        &self,
        state: &AppState,
        secret: &str,
        via: Via,
    ) -> Result<Principal, AuthError> {
        let hash = secret_hash(secret);
        let now = time::now();
        let cached = {
            let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
            cache.get(&hash).cloned()
        };
        let principal = match cached {
            Some((p, at)) if at.elapsed() < TOKEN_CACHE_TTL => p,
            _ => {
                let found = state
                    .store
                    .token_lookup(&hash)
                    .await
                    .map_err(|e| AuthError::Internal(e.to_string()))?;
                let Some((token, user)) = found else {
                    self.forget_hash(&hash);
                    return Err(AuthError::Anonymous("unknown or revoked token"));
                };
                let role = Role::parse(&user.role).ok_or_else(|| {
                    AuthError::Internal(format!("user '{}' has an unknown role", user.name))
                })?;
                let p = Principal {
                    user: user.name,
                    role,
                    token_id: token.id,
                    via: if token.kind == "session" {
                        Via::Cookie
                    } else {
                        Via::Bearer
                    },
                    csrf: token.csrf,
                    expires: token.expires,
                };
                let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
                if cache.len() > 100_000 {
                    cache.retain(|_, (_, at)| at.elapsed() < TOKEN_CACHE_TTL);
                }
                cache.insert(hash, (p.clone(), Instant::now()));
                p
            }
        };
        if principal.expires <= now {
            return Err(AuthError::Anonymous("the token or session has expired"));
        }
        // A session secret is only good as a cookie, an API token only as a bearer:
        // a leaked cookie cannot be replayed from a script without the CSRF token
        // and a bearer token never rides along with a browser's requests.
        if principal.via != via {
            return Err(AuthError::Anonymous("this credential is not valid here"));
        }
        Ok(principal)
    }

    fn forget_hash(&self, hash: &str) {
        self.cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(hash);
    }

    /// Drops a revoked token from the cache.
    pub fn forget(&self, token_id: &str) {
        self.cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|_, (p, _)| p.token_id != token_id);
    }

    /// Drops every cached token of a user (role or password changed, user removed).
    pub fn forget_user(&self, user: &str) {
        self.cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|_, (p, _)| p.user != user);
    }

    /// Counts an attempt under `key`; refuses past `limit` within the window.
    fn limit(&self, key: String, limit: u32, count: bool) -> Result<(), AuthError> {
        let mut attempts = self.attempts.lock().unwrap_or_else(|p| p.into_inner());
        if attempts.len() > 100_000 {
            attempts.retain(|_, (_, since)| since.elapsed() < LOGIN_WINDOW);
        }
        let entry = attempts.entry(key).or_insert((0, Instant::now()));
        if entry.1.elapsed() >= LOGIN_WINDOW {
            *entry = (0, Instant::now());
        }
        if entry.0 >= limit {
            return Err(AuthError::TooMany(
                LOGIN_WINDOW.saturating_sub(entry.1.elapsed()),
            ));
        }
        if count {
            entry.0 += 1;
        }
        Ok(())
    }

    fn clear(&self, key: &str) {
        self.attempts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key);
    }

    fn decoy(&self) -> String {
        self.decoy
            .get_or_init(|| crate::passwords::hash("decoy password").unwrap_or_default())
            .clone()
    }
}

/// What a login asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginKind {
    /// A bearer token for the API.
    Api,
    /// A console session (cookie).
    Session,
}

/// A successful login: the secret to hand to the client (once), and its record.
#[derive(Debug)]
pub struct Issued {
    pub secret: String,
    pub token: TokenRecord,
    pub role: Role,
}

/// Checks a user name and password, rate-limited per address and per name; every
/// success (`auth.login`, with the token issued) and failure (`auth.login_failed`) is
/// audited. A wrong name and a wrong password get the same answer.
pub async fn login(
    state: &AppState,
    username: &str,
    password: &str,
    kind: LoginKind,
    peer: Option<IpAddr>,
    label: &str,
) -> Result<Issued, AuthError> {
    let auth = &state.auth;
    let address = peer
        .map(|p| p.to_string())
        .unwrap_or_else(|| "unknown".into());
    let user_key = format!("user:{username}");
    auth.limit(format!("addr:{address}"), LOGIN_ATTEMPTS_PER_ADDRESS, true)?;
    auth.limit(user_key.clone(), LOGIN_FAILURES_PER_USER, false)?;
    let user = state
        .store
        .user(username)
        .await
        .map_err(|e| AuthError::Internal(e.to_string()))?;
    let phc = user
        .as_ref()
        .map(|u| u.password_hash.clone())
        .unwrap_or_else(|| auth.decoy());
    let given = password.to_owned();
    let good = tokio::task::spawn_blocking(move || crate::passwords::verify(&given, &phc))
        .await
        .unwrap_or(false);
    let role = user.as_ref().and_then(|u| Role::parse(&u.role));
    let (Some(user), true, Some(role)) = (user, good, role) else {
        let _ = auth.limit(user_key, LOGIN_FAILURES_PER_USER, true);
        state.metrics.login_failed();
        let record = AuditRecord {
            action: "auth.login_failed".into(),
            object: format!("user:{username}"),
            detail: json!({ "address": address, "kind": kind_name(kind) }),
        };
        state
            .store
            .record_events(
                &format!("anonymous@{address}"),
                "auth",
                &[record],
                Vec::new(),
            )
            .await
            .map_err(|e| AuthError::Internal(e.to_string()))?;
        return Err(AuthError::Anonymous("wrong user name or password"));
    };
    auth.clear(&user_key);
    let now = time::now();
    let hours = match kind {
        LoginKind::Api => auth.settings.token_hours,
        LoginKind::Session => auth.settings.session_hours,
    };
    let expires = now
        .checked_add(jiff::SignedDuration::from_hours(hours))
        .map_err(|e| AuthError::Internal(e.to_string()))?;
    let secret = format!(
        "{}{}",
        match kind {
            LoginKind::Api => "pgt_",
            LoginKind::Session => "pgs_",
        },
        random_text(32)
    );
    let token = TokenRecord {
        id: uuid::Uuid::now_v7().to_string(),
        secret_hash: secret_hash(&secret),
        username: user.name.clone(),
        kind: kind_name(kind).into(),
        label: label.chars().take(100).collect(),
        csrf: match kind {
            LoginKind::Api => String::new(),
            LoginKind::Session => random_text(24),
        },
        created: now,
        expires,
        revoked: None,
    };
    state
        .store
        .token_issue(
            &format!("user:{}", user.name),
            &token,
            json!({ "address": address }),
        )
        .await
        .map_err(|e| AuthError::Internal(e.to_string()))?;
    Ok(Issued {
        secret,
        token,
        role,
    })
}

fn kind_name(kind: LoginKind) -> &'static str {
    match kind {
        LoginKind::Api => "api",
        LoginKind::Session => "session",
    }
}

/// The client's address, when the listener recorded it.
pub fn peer(parts_extensions: &axum::http::Extensions) -> Option<IpAddr> {
    parts_extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
}

/// The `Set-Cookie` value that starts a console session.
pub fn session_cookie_header(secret: &str, settings: &AuthSettings) -> String {
    format!(
        "{SESSION_COOKIE}={secret}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
        settings.session_hours * 3600,
        if settings.tls { "; Secure" } else { "" }
    )
}

/// The `Set-Cookie` value that ends one.
pub fn clear_cookie_header(settings: &AuthSettings) -> String {
    format!(
        "{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{}",
        if settings.tls { "; Secure" } else { "" }
    )
}

/// Revokes a token or session (audited `auth.revoke`) and forgets it at once.
pub async fn revoke(
    state: &AppState,
    actor: &str,
    token_id: &str,
) -> Result<(), pumpguard_store::StoreError> {
    state.store.token_revoke(actor, token_id).await?;
    state.auth.forget(token_id);
    Ok(())
}

/// Largest form body the CSRF check reads.
const MAX_FORM: usize = 1 << 20;

/// CSRF protection for cookie-authenticated writes: a request that changes something
/// (not GET/HEAD/OPTIONS), carries the session cookie and no `Authorization` header must
/// carry the session's CSRF token, in the `X-CSRF-Token` header or as the form field
/// `csrf` of a urlencoded body. Any write with an `Origin` header must come from this
/// server (this covers the login form, which has no session yet).
pub async fn csrf_guard(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let method = request.method().clone();
    if matches!(method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(request).await;
    }
    if let Some(origin) = request.headers().get(header::ORIGIN) {
        let host = request
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or_default();
        let origin = origin.to_str().unwrap_or_default();
        let origin_host = origin.split_once("://").map(|(_, h)| h).unwrap_or_default();
        if origin_host != host {
            return AuthError::Forbidden(format!("cross-origin request from {origin}"))
                .into_response();
        }
    }
    if request.headers().contains_key(header::AUTHORIZATION) {
        return next.run(request).await;
    }
    let Some(secret) = session_cookie(request.headers()) else {
        return next.run(request).await;
    };
    let principal = match state.auth.resolve(&state, &secret, Via::Cookie).await {
        Ok(p) => p,
        // Let the handler's own extractor answer (401, or a redirect to the login page).
        Err(_) => return next.run(request).await,
    };
    let header_token = request
        .headers()
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let is_form = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let (token, request) = match (header_token, is_form) {
        (Some(t), _) => (Some(t), request),
        (None, true) => {
            let (parts, body) = request.into_parts();
            let Ok(bytes) = axum::body::to_bytes(body, MAX_FORM).await else {
                return (StatusCode::PAYLOAD_TOO_LARGE, "form too large\n").into_response();
            };
            let token = form_urlencoded::parse(&bytes)
                .find(|(k, _)| k == CSRF_FIELD)
                .map(|(_, v)| v.into_owned());
            (token, Request::from_parts(parts, Body::from(bytes)))
        }
        (None, false) => (None, request),
    };
    let good = token.is_some_and(|t| constant_time_eq(t.as_bytes(), principal.csrf.as_bytes()));
    if !good || principal.csrf.is_empty() {
        return AuthError::Forbidden("missing or wrong CSRF token".into()).into_response();
    }
    next.run(request).await
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The Content-Security-Policy of every page: nothing from elsewhere, no inline script,
/// no framing.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
/// Swagger UI's bundle sets styles inline.
const CSP_DOCS: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Sets the security headers on every answer.
pub async fn security_headers(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let docs = request.uri().path().starts_with("/api/docs");
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    let set = |h: &mut HeaderMap, name: header::HeaderName, value: &'static str| {
        h.entry(name).or_insert(HeaderValue::from_static(value));
    };
    set(
        h,
        header::CONTENT_SECURITY_POLICY,
        if docs { CSP_DOCS } else { CSP },
    );
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(h, header::X_FRAME_OPTIONS, "DENY");
    set(h, header::REFERRER_POLICY, "no-referrer");
    set(h, header::CACHE_CONTROL, "no-store");
    if state.auth.settings.tls {
        set(
            h,
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=31536000; includeSubDomains",
        );
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_and_permissions() {
        assert!(Role::Admin.can(Permission::ManageUsers));
        assert!(!Role::Analyst.can(Permission::ManageUsers));
        assert!(Role::Viewer.can(Permission::Read));
        for p in Permission::ALL {
            if p != Permission::Read {
                assert!(!Role::Viewer.can(p), "viewer reads only: {p:?}");
            }
            assert!(Role::Admin.can(p));
            assert_eq!(Permission::parse(p.as_str()), Some(p));
        }
        assert!(Role::Biomed.can(Permission::ManageAssets));
        assert!(!Role::Analyst.can(Permission::ManageAssets));
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
    }

    #[test]
    fn credentials_from_headers() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=b; pumpguard_session=pgs_x"),
        );
        assert_eq!(credential(&h), Some(("pgs_x".into(), Via::Cookie)));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer pgt_y"),
        );
        assert_eq!(credential(&h), Some(("pgt_y".into(), Via::Bearer)));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic eDp5"),
        );
        assert_eq!(credential(&h), None);
    }

    #[test]
    fn compares_in_constant_time() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
