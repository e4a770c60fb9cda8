//! The web console: server-rendered pages (askama templates under `templates/`), one
//! stylesheet and a tiny script under `/static/` (no build step, no inline script or
//! style, as the CSP demands), and charts drawn on the server as SVG ([`charts`]).
//!
//! Every page is a GET that needs [`Permission::Read`]; an anonymous visitor is sent to
//! `/login?next=…` ([`Console`] is the extractor that does it). Forms POST (urlencoded,
//! carrying the session's CSRF token as the `csrf` field, which [`crate::auth::csrf_guard`]
//! checks before the handler runs), need the permission their handler names, and answer
//! 303 back to a page (Post/Redirect/Get) with a `done` code the page turns into a
//! notice; a refusal is a page with its status (403, 400, 404, 409).
//!
//! One module per page group: [`login`], [`overview`], [`assets`], [`alerts`],
//! [`vulns`], [`assessment`], [`policy`], [`pki`], [`sensors`], [`audit`], [`users`].

mod alerts;
mod assessment;
mod assets;
mod audit;
pub mod charts;
mod login;
mod overview;
mod pki;
mod policy;
mod sensors;
mod users;
mod vulns;

use std::marker::PhantomData;
use std::sync::{Arc, LazyLock};

use askama::Template;
use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use pumpguard_model::time::Timestamp;
use pumpguard_store::StoreError;
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::auth::{AuthError, Permission, Principal, need};

pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/", get(overview::page))
        .route("/login", get(login::form).post(login::submit))
        .route("/logout", post(login::logout))
        .route("/static/console.css", get(css))
        .route("/static/console.js", get(js))
        .route("/static/favicon.svg", get(favicon))
        .route("/favicon.ico", get(favicon))
        .route("/assets", get(assets::list))
        .route("/assets/{id}", get(assets::detail))
        .route("/assets/{id}/lifecycle", post(assets::lifecycle))
        .route("/alerts", get(alerts::list))
        .route("/alerts/{id}", get(alerts::detail))
        .route("/alerts/{id}/status", post(alerts::set_status))
        .route("/vulnerabilities", get(vulns::page))
        .route("/vulnerabilities/triage", post(vulns::triage))
        .route("/assessment", get(assessment::page))
        .route("/assessment/answer", post(assessment::answer))
        .route("/assessment/register", get(assessment::register))
        .route("/assessment/report.html", get(assessment::report_html))
        .route("/assessment/report.xlsx", get(assessment::report_xlsx))
        .route("/assessment/report.json", get(assessment::report_json))
        .route("/assessment/report.md", get(assessment::report_md))
        .route("/policy", get(policy::page))
        .route("/pki", get(pki::page))
        .route("/pki/revoke", post(pki::revoke))
        .route("/sensors", get(sensors::page))
        .route("/audit", get(audit::page))
        .route("/users", get(users::page))
        .route("/users/add", post(users::add))
        .route("/users/role", post(users::role))
        .route("/users/remove", post(users::remove))
}

// ---------------------------------------------------------------------------------------
// Static files

const CSS: &str = include_str!("../../static/console.css");
const JS: &str = include_str!("../../static/console.js");
const FAVICON: &str = include_str!("../../static/favicon.svg");

/// A short hash of the static files, put in their URLs so that a browser may keep them
/// for a year and still fetches a changed one.
static ASSET_VERSION: LazyLock<String> = LazyLock::new(|| {
    let mut h = Sha256::new();
    h.update(CSS.as_bytes());
    h.update(JS.as_bytes());
    h.finalize()
        .iter()
        .take(6)
        .map(|b| format!("{b:02x}"))
        .collect()
});

fn static_file(body: &'static str, content_type: &'static str) -> Response {
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    r
}

async fn css() -> Response {
    static_file(CSS, "text/css; charset=utf-8")
}

async fn js() -> Response {
    static_file(JS, "text/javascript; charset=utf-8")
}

async fn favicon() -> Response {
    static_file(FAVICON, "image/svg+xml")
}

// ---------------------------------------------------------------------------------------
// Who is looking

/// A console visitor with permission `N` (by default, read). Anonymous (or an expired
/// session): 303 to the login page, which comes back here afterwards; a role without
/// `N`: a 403 page.
pub(crate) struct Console<N = need::Read> {
    pub principal: Principal,
    _need: PhantomData<N>,
}

impl<N> std::ops::Deref for Console<N> {
    type Target = Principal;
    fn deref(&self) -> &Principal {
        &self.principal
    }
}

impl<N: need::Need> FromRequestParts<Arc<AppState>> for Console<N> {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        match Principal::from_request_parts(parts, state).await {
            Ok(principal) if principal.can(N::PERMISSION) => Ok(Console {
                principal,
                _need: PhantomData,
            }),
            Ok(principal) => Err(forbidden(&principal, N::PERMISSION)),
            Err(AuthError::Anonymous(_)) => {
                // Back to the page after login: this one for a GET, the page the form
                // was on (the Referer's path, when it is ours) for a POST.
                let next = if parts.method == axum::http::Method::GET {
                    parts
                        .uri
                        .path_and_query()
                        .map(|p| p.as_str().to_owned())
                        .unwrap_or_else(|| "/".into())
                } else {
                    "/".into()
                };
                let next = login::safe_next(Some(&next)).unwrap_or("/");
                let location = if next == "/" {
                    "/login".to_owned()
                } else {
                    format!("/login?{}", query(&[("next", next)]))
                };
                Err(see_other(&location))
            }
            Err(AuthError::Internal(why)) => Err(Fail::internal(why).into_response()),
            Err(other) => Err(other.into_response()),
        }
    }
}

/// The page a role without `permission` sees.
fn forbidden(principal: &Principal, permission: Permission) -> Response {
    let page = ErrorPage {
        l: Layout::new(principal, "", "Not allowed"),
        heading: "Not allowed".into(),
        message: format!(
            "Your role ({}) may not {}. Ask an administrator if you need to.",
            principal.role.as_str(),
            permission.as_str().replace('_', " ")
        ),
    };
    (StatusCode::FORBIDDEN, render(&page)).into_response()
}

// ---------------------------------------------------------------------------------------
// Layout

/// What the page frame shows: the title, the current section, who is signed in and the
/// CSRF token every form carries.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    pub title: String,
    /// The nav entry of this page (`overview`, `assets`, …; empty for none).
    pub section: &'static str,
    /// Empty on the login page and anonymous error pages: no nav then.
    pub user: String,
    pub role: &'static str,
    pub csrf: String,
    pub admin: bool,
    /// A confirmation after a form was sent.
    pub notice: Option<&'static str>,
    pub version: &'static str,
}

/// One entry of the main navigation.
#[derive(Debug, Clone)]
pub(crate) struct NavItem {
    pub href: &'static str,
    pub label: &'static str,
    pub current: bool,
}

const NAV: [(&str, &str, &str); 9] = [
    ("overview", "/", "Overview"),
    ("assets", "/assets", "Assets"),
    ("alerts", "/alerts", "Alerts"),
    ("vulnerabilities", "/vulnerabilities", "Vulnerabilities"),
    ("assessment", "/assessment", "Risk assessment"),
    ("policy", "/policy", "Policy"),
    ("pki", "/pki", "PKI"),
    ("sensors", "/sensors", "Sensors"),
    ("audit", "/audit", "Audit"),
];

impl Layout {
    pub fn new(p: &Principal, section: &'static str, title: impl Into<String>) -> Layout {
        Layout {
            title: title.into(),
            section,
            user: p.user.clone(),
            role: p.role.as_str(),
            csrf: p.csrf.clone(),
            admin: p.can(Permission::ManageUsers),
            notice: None,
            version: ASSET_VERSION.as_str(),
        }
    }

    /// The frame of a page nobody is signed in to.
    pub fn anonymous(title: impl Into<String>) -> Layout {
        Layout {
            title: title.into(),
            section: "",
            user: String::new(),
            role: "",
            csrf: String::new(),
            admin: false,
            notice: None,
            version: ASSET_VERSION.as_str(),
        }
    }

    /// Shows the confirmation a `done` code names (unknown codes show nothing: the text
    /// is ours, never the query's).
    pub fn done(mut self, code: Option<&str>) -> Layout {
        self.notice = code.and_then(notice);
        self
    }

    pub fn nav(&self) -> Vec<NavItem> {
        let mut items: Vec<NavItem> = NAV
            .iter()
            .map(|(key, href, label)| NavItem {
                href,
                label,
                current: *key == self.section,
            })
            .collect();
        if self.admin {
            items.push(NavItem {
                href: "/users",
                label: "Users",
                current: self.section == "users",
            });
        }
        items
    }
}

/// The confirmation for a `done` code.
fn notice(code: &str) -> Option<&'static str> {
    Some(match code {
        "acknowledged" => "The alert was acknowledged.",
        "resolved" => "The alert was resolved.",
        "reopened" => "The alert was reopened.",
        "unchanged" => "Nothing changed: it was already in that state.",
        "lifecycle" => "The asset's lifecycle was changed.",
        "triaged" => {
            "The triage decision was recorded; it applies to every unit of the model (and firmware)."
        }
        "answered" => "The answer was recorded.",
        "revoked" => {
            "The certificate was revoked. Sign a new CRL for relying parties (it is re-signed on request)."
        }
        "user_added" => "The user was added.",
        "role_changed" => "The user's role was changed; their sessions follow within seconds.",
        "user_removed" => "The user was removed, with their sessions and tokens.",
        _ => return None,
    })
}

// ---------------------------------------------------------------------------------------
// Answers

/// A page, or its rendering error as a 500.
pub(crate) fn render<T: Template>(page: &T) -> Response {
    match page.render() {
        Ok(html) => html_page(html),
        Err(e) => Fail::internal(format!("rendering the page: {e}")).into_response(),
    }
}

/// An HTML answer with the console's referrer policy. `same-origin` rather than the
/// server's default `no-referrer`: under `no-referrer` a browser sends `Origin: null`
/// with a form POST, which the CSRF guard's origin check refuses, while `same-origin`
/// still tells other sites nothing.
fn html_page(html: String) -> Response {
    let mut r = Html(html).into_response();
    r.headers_mut().insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    r
}

/// 303 See Other to `location` (a path of ours).
pub(crate) fn see_other(location: &str) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

/// A urlencoded query string of `pairs` (empty values left out).
pub(crate) fn query(pairs: &[(&str, &str)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs.iter().filter(|(_, v)| !v.is_empty()) {
        s.append_pair(k, v);
    }
    s.finish()
}

/// An error page.
#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    l: Layout,
    heading: String,
    message: String,
}

/// Why a page or form failed, shown as a page with its status.
#[derive(Debug)]
pub(crate) struct Fail {
    status: StatusCode,
    heading: &'static str,
    message: String,
}

impl Fail {
    pub fn new(status: StatusCode, heading: &'static str, message: impl Into<String>) -> Fail {
        Fail {
            status,
            heading,
            message: message.into(),
        }
    }

    pub fn bad(message: impl Into<String>) -> Fail {
        Fail::new(StatusCode::BAD_REQUEST, "Not done", message)
    }

    pub fn not_found(message: impl Into<String>) -> Fail {
        Fail::new(StatusCode::NOT_FOUND, "Not found", message)
    }

    pub fn internal(message: impl Into<String>) -> Fail {
        Fail::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Something went wrong",
            message,
        )
    }
}

impl From<StoreError> for Fail {
    fn from(e: StoreError) -> Fail {
        match e {
            StoreError::NotFound(_) => Fail::not_found(e.to_string()),
            e if e.is_bad_input() => Fail::new(StatusCode::CONFLICT, "Not done", e.to_string()),
            e => Fail::internal(e.to_string()),
        }
    }
}

impl From<pumpguard_analysis::AnalysisError> for Fail {
    fn from(e: pumpguard_analysis::AnalysisError) -> Fail {
        match e {
            pumpguard_analysis::AnalysisError::Store(s) => s.into(),
            other => Fail::internal(other.to_string()),
        }
    }
}

impl From<AuthError> for Fail {
    fn from(e: AuthError) -> Fail {
        match e {
            AuthError::Forbidden(why) => Fail::new(StatusCode::FORBIDDEN, "Not allowed", why),
            AuthError::Internal(why) => Fail::internal(why),
            AuthError::Anonymous(why) => Fail::new(StatusCode::UNAUTHORIZED, "Not signed in", why),
            AuthError::TooMany(_) => Fail::new(
                StatusCode::TOO_MANY_REQUESTS,
                "Too many attempts",
                "Wait a few minutes and try again.",
            ),
        }
    }
}

impl IntoResponse for Fail {
    fn into_response(self) -> Response {
        let page = ErrorPage {
            l: Layout::anonymous(self.heading),
            heading: self.heading.into(),
            message: self.message,
        };
        // Rendered by hand if the template itself fails, so that an error always shows.
        let body = page.render().unwrap_or_else(|e| {
            format!(
                "<!DOCTYPE html><html lang=\"en\"><head><title>Error</title></head><body><h1>Error</h1><p>{}</p></body></html>",
                charts::esc(&e.to_string())
            )
        });
        (self.status, html_page(body)).into_response()
    }
}

pub(crate) type PageResult = Result<Response, Fail>;

// ---------------------------------------------------------------------------------------
// Formatting helpers for the page modules

/// `2025-01-31 14:05:09 UTC`.
pub(crate) fn when(t: Timestamp) -> String {
    t.strftime("%Y-%m-%d %H:%M:%S UTC").to_string()
}

pub(crate) fn when_opt(t: Option<Timestamp>) -> String {
    t.map(when).unwrap_or_default()
}

/// A value or an em dash for nothing.
pub(crate) fn or_dash(s: Option<&str>) -> String {
    match s {
        Some(s) if !s.is_empty() => s.to_owned(),
        _ => "—".into(),
    }
}

/// A `<select>` option.
#[derive(Debug, Clone)]
pub(crate) struct Opt {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

impl Opt {
    pub fn new(value: impl Into<String>, label: impl Into<String>, selected: bool) -> Opt {
        Opt {
            value: value.into(),
            label: label.into(),
            selected,
        }
    }

    /// Options for every value, the one equal to `current` selected, with an "any"
    /// option first when `any` names it.
    pub fn list<'a>(
        values: impl IntoIterator<Item = &'a str>,
        current: &str,
        any: Option<&str>,
    ) -> Vec<Opt> {
        let mut out = Vec::new();
        if let Some(any) = any {
            out.push(Opt::new("", any, current.is_empty()));
        }
        out.extend(
            values
                .into_iter()
                .map(|v| Opt::new(v, v.replace('_', " "), v == current)),
        );
        out
    }
}

/// Where a list is: the page shown, how many pages, and links to the neighbours.
#[derive(Debug, Clone, Default)]
pub(crate) struct Pager {
    pub page: usize,
    pub pages: usize,
    pub total: usize,
    pub prev: Option<String>,
    pub next: Option<String>,
}

impl Pager {
    /// Page `page` (1-based) of `total` items, `per` a page; `link(n)` is page n's URL.
    pub fn new(page: usize, per: usize, total: usize, link: impl Fn(usize) -> String) -> Pager {
        let pages = total.div_ceil(per).max(1);
        let page = page.clamp(1, pages);
        Pager {
            page,
            pages,
            total,
            prev: (page > 1).then(|| link(page - 1)),
            next: (page < pages).then(|| link(page + 1)),
        }
    }

    /// The slice of `items` on this page.
    pub fn range(&self, per: usize) -> std::ops::Range<usize> {
        let start = (self.page - 1) * per;
        start.min(self.total)..(start + per).min(self.total)
    }
}

/// A positive page number from the query (1 when absent or not a number).
pub(crate) fn page_number(s: &str) -> usize {
    s.parse::<usize>().ok().filter(|n| *n > 0).unwrap_or(1)
}

/// `s` percent-encoded as one path segment (only unreserved characters stay).
pub(crate) fn seg(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The console page of an asset.
pub(crate) fn asset_href(id: &str) -> String {
    format!("/assets/{}", seg(id))
}

/// Where a form goes back to: `back` when it is a page of ours (else `default`), with
/// `done=code` in place of any `done` it had.
pub(crate) fn back_with_done(back: &str, default: &str, code: &str) -> String {
    let target = login::safe_next(Some(back)).unwrap_or(default);
    let (path, q) = target.split_once('?').unwrap_or((target, ""));
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in form_urlencoded::parse(q.as_bytes()).filter(|(k, _)| k != "done") {
        s.append_pair(&k, &v);
    }
    s.append_pair("done", code);
    format!("{path}?{}", s.finish())
}

/// The query of a page that only shows a confirmation.
#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct DoneQuery {
    #[serde(default)]
    pub done: Option<String>,
}
