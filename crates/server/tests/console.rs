//! The web console, driven through the whole router (CSRF guard and security headers
//! included) over a temporary SQLite store: login and logout, every page, the forms and
//! who may send them, and what the pages are made of (well-formed, labelled, no inline
//! script or style).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use pumpguard_model::{
    Alert, AlertEvidence, AlertFact, AlertKind, AlertStatus, AssetKind, AssetPatch, Endpoint,
    Lifecycle, Severity, time,
};
use pumpguard_server::AppState;
use pumpguard_server::distribution::CrlSettings;
use pumpguard_server::est::EstSettings;
use pumpguard_store::{CertRecord, Store};
use tower::ServiceExt;

const PASSWORD: &str = "correct horse battery staple";
const HOST: &str = "pumpguard.test";

struct Env {
    _dir: tempfile::TempDir,
    state: Arc<AppState>,
    router: Router,
}

fn pump(id: &str, vendor: &str, model: &str, firmware: &str, ip: &str) -> AssetPatch {
    let mut p = AssetPatch::new(id.parse().expect("asset id"));
    p.kind = Some(AssetKind::InfusionPump);
    p.vendor = Some(Some(vendor.into()));
    p.model = Some(Some(model.into()));
    p.firmware = Some(Some(firmware.into()));
    p.ips = Some(vec![ip.parse().expect("ip")]);
    p.zone = Some(Some("pumps".into()));
    p.location = Some(Some("Ward 3".into()));
    p
}

fn alert(kind: AlertKind, severity: Severity, asset: &str, ip: &str, peer: &str) -> Alert {
    let now = time::now();
    Alert {
        id: 0,
        kind,
        severity,
        status: AlertStatus::Open,
        asset_id: Some(asset.into()),
        peer_asset_id: None,
        subject: Endpoint {
            ip: Some(ip.parse().expect("ip")),
            mac: None,
        },
        peer: Some(Endpoint {
            ip: Some(peer.parse().expect("ip")),
            mac: None,
        }),
        proto: "telnet".into(),
        port: Some(23),
        first_seen: now,
        last_seen: now,
        count: 3,
        evidence: AlertEvidence {
            flows: vec![format!("tcp {peer}:40000 > {ip}:23")],
            flow_ids: vec![],
            facts: vec![AlertFact {
                name: "user".into(),
                value: "<admin>".into(),
            }],
            sentence: format!("{peer} opened telnet to {asset} <script>alert(1)</script>"),
        },
        action: "Block telnet at the firewall.".into(),
    }
}

/// A store with three assets (two pumps), two alerts, an advisory for one pump, a CA
/// with one certificate, and one user per role.
async fn env() -> Env {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("console.db").display());
    let store = Store::open(&url).await.expect("store");
    let mut server = AssetPatch::new("SRV-1".parse().expect("id"));
    server.kind = Some(AssetKind::PumpServer);
    server.ips = Some(vec!["10.30.0.5".parse().expect("ip")]);
    store
        .import_assets(
            "test",
            "test",
            &[
                pump(
                    "PUMP-1",
                    "Smiths Medical",
                    "Medfusion 4000",
                    "1.6",
                    "10.20.0.11",
                ),
                pump(
                    "PUMP-2",
                    "Baxter",
                    "Sigma Spectrum",
                    "8.00.01",
                    "10.20.0.12",
                ),
                server,
            ],
        )
        .await
        .expect("assets");
    store
        .raise_alerts(
            "test",
            "test",
            vec![
                alert(
                    AlertKind::CleartextManagementToPump,
                    Severity::High,
                    "PUMP-1",
                    "10.20.0.11",
                    "10.99.0.7",
                ),
                alert(
                    AlertKind::PolicyViolation,
                    Severity::Medium,
                    "PUMP-2",
                    "10.20.0.12",
                    "10.99.0.8",
                ),
            ],
        )
        .await
        .expect("alerts");
    let advisory =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../cli/demo/icsma-17-250-02a.json");
    let bytes = std::fs::read(&advisory).expect("advisory");
    let imports = pumpguard_vuln::read_with(&bytes, "icsma-17-250-02a.json", Default::default())
        .expect("read advisory");
    let items: Vec<_> = imports
        .into_iter()
        .map(|i| ("icsma-17-250-02a.json".to_owned(), i))
        .collect();
    store.import_vuln("test", &items).await.expect("import");
    let now = time::now();
    store
        .pki_record_issued(
            "test",
            &CertRecord {
                serial: "0a1b2c3d".into(),
                common_name: "PUMP-1".into(),
                profile: "pump".into(),
                not_before: now,
                not_after: now
                    .checked_add(jiff::SignedDuration::from_hours(24 * 365))
                    .expect("time"),
                pem: String::new(),
                issued: now,
                revoked: None,
                reason: None,
            },
        )
        .await
        .expect("certificate");
    let phc = pumpguard_server::passwords::hash(PASSWORD).expect("hash");
    for (name, role) in [
        ("ada", "admin"),
        ("ana", "analyst"),
        ("bea", "biomed"),
        ("vic", "viewer"),
    ] {
        store
            .user_add("test", name, &phc, role)
            .await
            .expect("user");
    }
    let state = Arc::new(AppState::new(
        store,
        None,
        "server".into(),
        EstSettings {
            validity_days: 365,
            crl_url: None,
        },
        CrlSettings { hours: 24 },
    ));
    Env {
        _dir: dir,
        router: pumpguard_server::router(state.clone()),
        state,
    }
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Answer {
    fn location(&self) -> &str {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

async fn send(env: &Env, req: Request<Body>) -> Answer {
    let r = env.router.clone().oneshot(req).await.expect("answer");
    let status = r.status();
    let headers = r.headers().clone();
    let bytes = axum::body::to_bytes(r.into_body(), 50 << 20)
        .await
        .expect("body");
    Answer {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

fn get(path: &str, cookie: Option<&str>) -> Request<Body> {
    let mut b = Request::get(path).header(header::HOST, HOST);
    if let Some(c) = cookie {
        b = b.header(header::COOKIE, c);
    }
    b.body(Body::empty()).expect("request")
}

fn form(path: &str, cookie: Option<&str>, fields: &[(&str, &str)]) -> Request<Body> {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in fields {
        s.append_pair(k, v);
    }
    let mut b = Request::post(path)
        .header(header::HOST, HOST)
        .header(header::ORIGIN, format!("http://{HOST}"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(c) = cookie {
        b = b.header(header::COOKIE, c);
    }
    b.body(Body::from(s.finish())).expect("request")
}

/// A signed-in session: the cookie to send and the CSRF token its forms carry.
struct Session {
    cookie: String,
    csrf: String,
}

async fn login(env: &Env, user: &str) -> Session {
    let a = send(
        env,
        form(
            "/login",
            None,
            &[("username", user), ("password", PASSWORD), ("next", "")],
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    let set = a
        .headers
        .get(header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .expect("a session cookie");
    let cookie = set.split(';').next().expect("cookie").to_owned();
    let page = send(env, get("/", Some(&cookie))).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let csrf = hidden(&page.body, "csrf").expect("a CSRF token in the page's forms");
    Session { cookie, csrf }
}

/// The value of the first hidden input named `name`.
fn hidden(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_owned())
}

const VOID: [&str; 14] = [
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
    "track", "wbr",
];

/// Checks that a page is well-formed enough for a browser not to guess: every element
/// closed in order (void elements and `/>` aside), no inline script or style, unique ids,
/// every visible form control labelled, and exactly one `<h1>`. Returns the h1's text.
fn check_page(path: &str, html: &str) -> String {
    assert!(html.starts_with("<!DOCTYPE html>"), "{path}: no doctype");
    assert!(
        !html.contains(" style="),
        "{path}: an inline style attribute"
    );
    assert!(!html.contains("<style"), "{path}: an inline style element");
    assert!(!html.contains("javascript:"), "{path}: a javascript: URL");
    let mut stack: Vec<String> = Vec::new();
    let mut ids = BTreeSet::new();
    let mut label_for = BTreeSet::new();
    let mut controls = Vec::new();
    let mut h1s = Vec::new();
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        let after = &rest[open + 1..];
        if after.starts_with("!--") {
            let end = after.find("-->").expect("comment end");
            rest = &after[end + 3..];
            continue;
        }
        let end = after
            .find('>')
            .unwrap_or_else(|| panic!("{path}: unterminated tag"));
        let tag = &after[..end];
        rest = &after[end + 1..];
        if tag.starts_with('!') {
            continue;
        }
        if let Some(name) = tag.strip_prefix('/') {
            let name = name.trim().to_ascii_lowercase();
            let top = stack.pop();
            assert_eq!(
                top.as_deref(),
                Some(name.as_str()),
                "{path}: </{name}> closes {top:?}"
            );
            continue;
        }
        let name: String = tag
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        assert!(!name.is_empty(), "{path}: a stray '<' (unescaped text?)");
        let attrs = attributes(tag);
        if let Some(id) = attrs.get("id") {
            assert!(ids.insert(id.clone()), "{path}: duplicate id '{id}'");
        }
        if name == "label"
            && let Some(f) = attrs.get("for")
        {
            label_for.insert(f.clone());
        }
        if name == "script" {
            assert!(attrs.contains_key("src"), "{path}: an inline script");
            assert!(
                rest.starts_with("</script>"),
                "{path}: a script element with a body"
            );
        }
        if matches!(name.as_str(), "input" | "select" | "textarea") {
            let kind = attrs.get("type").map_or("text", String::as_str);
            if !matches!(kind, "hidden" | "submit" | "button" | "checkbox") {
                controls.push(attrs.get("id").cloned().unwrap_or_default());
            }
        }
        if name == "h1" {
            let end = rest.find("</h1>").expect("h1 end");
            h1s.push(strip_tags(&rest[..end]));
        }
        let self_closing = tag.ends_with('/');
        if !VOID.contains(&name.as_str()) && !self_closing {
            stack.push(name);
        }
    }
    assert!(stack.is_empty(), "{path}: unclosed elements {stack:?}");
    for id in controls {
        assert!(
            !id.is_empty() && label_for.contains(&id),
            "{path}: a form control without a label (id '{id}')"
        );
    }
    assert_eq!(h1s.len(), 1, "{path}: h1s {h1s:?}");
    h1s.remove(0)
}

fn attributes(tag: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut rest = tag;
    while let Some(eq) = rest.find("=\"") {
        let name = rest[..eq]
            .rsplit(|c: char| c.is_whitespace())
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        let value_start = eq + 2;
        let Some(len) = rest[value_start..].find('"') else {
            break;
        };
        out.insert(name, rest[value_start..value_start + len].to_owned());
        rest = &rest[value_start + len + 1..];
    }
    out
}

fn strip_tags(s: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.trim().to_owned()
}

async fn first_alert_id(env: &Env, kind: AlertKind) -> i64 {
    env.state
        .store
        .list_alerts(&pumpguard_store::AlertFilter {
            kind: Some(kind),
            ..Default::default()
        })
        .await
        .expect("alerts")[0]
        .id
}

#[tokio::test]
async fn anonymous_visitors_are_sent_to_the_login_form() {
    let env = env().await;
    let a = send(&env, get("/", None)).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    assert_eq!(a.location(), "/login");
    let a = send(&env, get("/alerts?status=open", None)).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    assert_eq!(a.location(), "/login?next=%2Falerts%3Fstatus%3Dopen");
    // An unknown session is as good as none.
    let a = send(&env, get("/assets", Some("pumpguard_session=pgs_nonsense"))).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    // A form sent without a session goes to the login too.
    let a = send(&env, form("/pki/revoke", None, &[("serial", "0a1b2c3d")])).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    assert!(a.location().starts_with("/login"));

    let a = send(&env, get("/login?next=%2Falerts", None)).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(check_page("/login", &a.body), "Sign in");
    assert!(a.body.contains(r#"<label for="username">"#));
    assert!(a.body.contains(r#"<label for="password">"#));
    assert!(a.body.contains(r#"name="next" value="/alerts""#));
    assert!(
        !a.body.contains("aria-label=\"Main\""),
        "no nav before login"
    );
    let h = &a.headers;
    assert!(
        h.get(header::CONTENT_SECURITY_POLICY)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("script-src 'self'"))
    );
}

#[tokio::test]
async fn login_sets_a_strict_http_only_cookie_and_logout_ends_it() {
    let env = env().await;
    let a = send(
        &env,
        form(
            "/login",
            None,
            &[
                ("username", "ana"),
                ("password", PASSWORD),
                ("next", "/alerts?status=open"),
            ],
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    assert_eq!(a.location(), "/alerts?status=open");
    let set = a.headers[header::SET_COOKIE].to_str().expect("cookie");
    assert!(set.starts_with("pumpguard_session=pgs_"), "{set}");
    assert!(set.contains("HttpOnly"), "{set}");
    assert!(set.contains("SameSite=Strict"), "{set}");
    assert!(set.contains("Path=/"), "{set}");
    assert!(!set.contains("Secure"), "not under TLS: {set}");
    let cookie = set.split(';').next().expect("cookie").to_owned();

    // Signed in: the login page moves on.
    let a = send(&env, get("/login", Some(&cookie))).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    assert_eq!(a.location(), "/");

    // Only a path of ours is a place to go back to.
    for next in [
        "//evil.example/",
        "https://evil.example/",
        "/\\evil",
        "/login",
    ] {
        let a = send(
            &env,
            form(
                "/login",
                None,
                &[("username", "vic"), ("password", PASSWORD), ("next", next)],
            ),
        )
        .await;
        assert_eq!(a.status, StatusCode::SEE_OTHER);
        assert_eq!(a.location(), "/", "next={next}");
    }

    let a = send(
        &env,
        form(
            "/login",
            None,
            &[("username", "ana"), ("password", "wrong password!")],
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert!(a.body.contains("Wrong user name or password."));
    assert!(a.headers.get(header::SET_COOKIE).is_none());
    assert_eq!(check_page("/login (failed)", &a.body), "Sign in");

    // A login form posted from another site is refused.
    let mut req = form(
        "/login",
        None,
        &[("username", "ana"), ("password", PASSWORD)],
    );
    req.headers_mut().insert(
        header::ORIGIN,
        "https://evil.example".parse().expect("origin"),
    );
    assert_eq!(send(&env, req).await.status, StatusCode::FORBIDDEN);

    // Logging out needs the CSRF token, revokes the session and clears the cookie.
    let page = send(&env, get("/", Some(&cookie))).await;
    let csrf = hidden(&page.body, "csrf").expect("csrf");
    let a = send(&env, form("/logout", Some(&cookie), &[])).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "logout without the token");
    let a = send(&env, form("/logout", Some(&cookie), &[("csrf", &csrf)])).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    assert_eq!(a.location(), "/login");
    let cleared = a.headers[header::SET_COOKIE].to_str().expect("cookie");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    let a = send(&env, get("/", Some(&cookie))).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "the session is over");
}

#[tokio::test]
async fn too_many_failed_logins_get_a_429_page() {
    let env = env().await;
    let mut last = StatusCode::OK;
    for _ in 0..7 {
        let a = send(
            &env,
            form(
                "/login",
                None,
                &[("username", "bea"), ("password", "not the password")],
            ),
        )
        .await;
        last = a.status;
        if a.status == StatusCode::TOO_MANY_REQUESTS {
            assert!(a.body.contains("Too many login attempts"), "{}", a.body);
            assert!(a.headers.contains_key(header::RETRY_AFTER));
            assert_eq!(check_page("/login (429)", &a.body), "Sign in");
            break;
        }
    }
    assert_eq!(last, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn every_page_answers_with_its_heading() {
    let env = env().await;
    let s = login(&env, "ada").await;
    let alert = first_alert_id(&env, AlertKind::CleartextManagementToPump).await;
    let alert_path = format!("/alerts/{alert}");
    let pages: Vec<(&str, &str)> = vec![
        ("/", "Overview"),
        ("/assets", "Assets"),
        (
            "/assets?kind=infusion_pump&zone=pumps&q=medfusion",
            "Assets",
        ),
        ("/assets/PUMP-1", "Asset PUMP-1"),
        ("/alerts", "Alerts"),
        ("/alerts?status=open&severity=high", "Alerts"),
        (&alert_path, "Alert"),
        ("/vulnerabilities", "Vulnerabilities"),
        ("/assessment", "Risk assessment"),
        ("/assessment/register", "Risk register"),
        ("/policy", "Policy"),
        ("/pki", "PKI"),
        ("/sensors", "Sensors"),
        ("/audit", "Audit trail"),
        ("/users", "Users"),
    ];
    for (path, h1) in pages {
        let a = send(&env, get(path, Some(&s.cookie))).await;
        assert_eq!(a.status, StatusCode::OK, "{path}: {}", a.body);
        let ct = a.headers[header::CONTENT_TYPE].to_str().expect("type");
        assert!(ct.starts_with("text/html"), "{path}: {ct}");
        // Same-origin referrers: a browser then sends its real Origin with the forms'
        // POSTs (under no-referrer it sends `Origin: null`, which the CSRF guard refuses).
        assert_eq!(a.headers[header::REFERRER_POLICY], "same-origin", "{path}");
        let heading = check_page(path, &a.body);
        assert!(heading.starts_with(h1), "{path}: h1 '{heading}'");
        // The frame: nav links named after their pages, the user, the logout form.
        for link in [
            ">Overview</a>",
            ">Assets</a>",
            ">Alerts</a>",
            ">Vulnerabilities</a>",
            ">Risk assessment</a>",
            ">Policy</a>",
            ">PKI</a>",
            ">Sensors</a>",
            ">Audit</a>",
            ">Users</a>",
        ] {
            assert!(a.body.contains(link), "{path}: nav {link}");
        }
        assert!(a.body.contains("<strong>ada</strong> (admin)"), "{path}");
        assert!(a.body.contains(r#"action="/logout""#), "{path}");
        assert!(a.body.contains(r#"aria-current="page""#) || path.starts_with("/users"));
        // Text from the store is escaped.
        assert!(
            !a.body.contains("<script>alert(1)"),
            "{path}: unescaped text"
        );
    }

    // What the pages show.
    let overview = send(&env, get("/", Some(&s.cookie))).await.body;
    assert!(overview.contains("Pumps by vendor"));
    assert!(overview.contains("<svg class=\"chart bars\""));
    assert!(overview.contains("Smiths Medical"));
    assert!(
        overview.contains("1 / 2"),
        "certificate coverage: one of two pumps"
    );
    let asset = send(&env, get("/assets/PUMP-1", Some(&s.cookie)))
        .await
        .body;
    assert!(asset.contains("0a1b2c3d"), "its certificate");
    assert!(asset.contains("cleartext management to pump"), "its alert");
    assert!(!asset.contains("<admin>"), "escaped");
    let vulns = send(&env, get("/vulnerabilities", Some(&s.cookie)))
        .await
        .body;
    assert!(vulns.contains("Medfusion 4000"), "the advisory's findings");
    assert!(vulns.contains("CVE-2017-"), "{vulns}");
    let filtered = send(&env, get("/assets?vendor=Baxter", Some(&s.cookie)))
        .await
        .body;
    assert!(filtered.contains("PUMP-2") && !filtered.contains(">PUMP-1<"));
    let missing = send(&env, get("/assets/NOPE", Some(&s.cookie))).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    check_page("/assets/NOPE", &missing.body);
    let audit = send(&env, get("/audit", Some(&s.cookie))).await.body;
    assert!(audit.contains("The chain is intact"));

    // Static files: our own, typed, cached for long.
    let css = send(&env, get("/static/console.css", None)).await;
    assert_eq!(css.status, StatusCode::OK);
    assert!(
        css.headers[header::CONTENT_TYPE]
            .to_str()
            .expect("t")
            .starts_with("text/css")
    );
    assert!(
        css.headers[header::CACHE_CONTROL]
            .to_str()
            .expect("c")
            .contains("max-age=31536000")
    );
    let js = send(&env, get("/static/console.js", None)).await;
    assert!(
        js.headers[header::CONTENT_TYPE]
            .to_str()
            .expect("t")
            .starts_with("text/javascript")
    );
}

#[tokio::test]
async fn reports_download() {
    let env = env().await;
    let s = login(&env, "vic").await;
    for (ext, ty) in [
        ("json", "application/json"),
        ("md", "text/markdown"),
        ("html", "text/html"),
        ("xlsx", "application/vnd.openxmlformats"),
    ] {
        let a = send(
            &env,
            get(&format!("/assessment/report.{ext}"), Some(&s.cookie)),
        )
        .await;
        assert_eq!(a.status, StatusCode::OK, "{ext}");
        assert!(
            a.headers[header::CONTENT_TYPE]
                .to_str()
                .expect("type")
                .starts_with(ty),
            "{ext}"
        );
        let d = a.headers[header::CONTENT_DISPOSITION].to_str().expect("cd");
        assert!(
            d.starts_with("attachment; filename=\"pumpguard-assessment-"),
            "{d}"
        );
        assert!(d.ends_with(&format!(".{ext}\"")), "{d}");
    }
}

#[tokio::test]
async fn forms_need_the_csrf_token_and_the_permission() {
    let env = env().await;
    let alert = first_alert_id(&env, AlertKind::CleartextManagementToPump).await;
    let action = format!("/alerts/{alert}/status");
    let bea = login(&env, "bea").await;

    // Without the token, or with another one: refused before anything changes.
    let a = send(
        &env,
        form(&action, Some(&bea.cookie), &[("status", "acknowledged")]),
    )
    .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    let a = send(
        &env,
        form(
            &action,
            Some(&bea.cookie),
            &[("status", "acknowledged"), ("csrf", "forged")],
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    let stored = env
        .state
        .store
        .get_alert(alert)
        .await
        .expect("get")
        .expect("alert");
    assert_eq!(stored.status, AlertStatus::Open);

    // With it: done, with the note in the alert's history, and back to the list.
    let a = send(
        &env,
        form(
            &action,
            Some(&bea.cookie),
            &[
                ("csrf", &bea.csrf),
                ("status", "acknowledged"),
                ("note", "Called the ward; looking into it."),
                ("back", "/alerts?status=open&done=resolved"),
            ],
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    assert_eq!(a.location(), "/alerts?status=open&done=acknowledged");
    let stored = env
        .state
        .store
        .get_alert(alert)
        .await
        .expect("get")
        .expect("alert");
    assert_eq!(stored.status, AlertStatus::Acknowledged);
    let history = env
        .state
        .store
        .audit_for_object(&format!("alert:{alert}"))
        .await
        .expect("history");
    assert!(history.iter().any(|e| e.action == "alert.ack"
        && e.actor == "user:bea"
        && e.detail["note"] == "Called the ward; looking into it."));
    let page = send(
        &env,
        get("/alerts?status=open&done=acknowledged", Some(&bea.cookie)),
    )
    .await;
    assert!(page.body.contains("The alert was acknowledged."));
    let detail = send(&env, get(&format!("/alerts/{alert}"), Some(&bea.cookie))).await;
    assert!(detail.body.contains("Called the ward; looking into it."));
    let audit = send(&env, get("/audit?action=alert.ack", Some(&bea.cookie))).await;
    assert_eq!(audit.status, StatusCode::OK);
    check_page("/audit?action=alert.ack", &audit.body);
    assert!(audit.body.contains("Called the ward; looking into it."));
    assert!(
        !audit.body.contains("asset.create"),
        "only the acknowledgements"
    );

    // A note without a change of status is kept on its own.
    let a = send(
        &env,
        form(
            &action,
            Some(&bea.cookie),
            &[
                ("csrf", &bea.csrf),
                ("status", "acknowledged"),
                ("note", "Still looking."),
            ],
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    assert_eq!(a.location(), format!("/alerts/{alert}?done=unchanged"));
    let history = env
        .state
        .store
        .audit_for_object(&format!("alert:{alert}"))
        .await
        .expect("history");
    assert!(
        history
            .iter()
            .any(|e| e.action == "alert.note" && e.detail["note"] == "Still looking.")
    );

    // A back link to another site is not followed.
    let a = send(
        &env,
        form(
            &action,
            Some(&bea.cookie),
            &[
                ("csrf", &bea.csrf),
                ("status", "resolved"),
                ("back", "//evil.example/x"),
            ],
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    assert_eq!(a.location(), format!("/alerts/{alert}?done=resolved"));

    // Lifecycle: biomed may; an impossible move is a 409 page.
    let a = send(
        &env,
        form(
            "/assets/PUMP-2/lifecycle",
            Some(&bea.cookie),
            &[
                ("csrf", &bea.csrf),
                ("lifecycle", "quarantined"),
                ("reason", "odd traffic"),
            ],
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    assert_eq!(a.location(), "/assets/PUMP-2?done=lifecycle");
    let p2 = env
        .state
        .store
        .get_asset("PUMP-2")
        .await
        .expect("get")
        .expect("asset");
    assert_eq!(p2.lifecycle, Lifecycle::Quarantined);
    let a = send(
        &env,
        form(
            "/assets/PUMP-2/lifecycle",
            Some(&bea.cookie),
            &[("csrf", &bea.csrf), ("lifecycle", "procured")],
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::CONFLICT, "{}", a.body);
    check_page("lifecycle refused", &a.body);

    // Biomed may not triage vulnerabilities: a 403 page, nothing recorded.
    let a = send(
        &env,
        form(
            "/vulnerabilities/triage",
            Some(&bea.cookie),
            &[
                ("csrf", &bea.csrf),
                ("model", "Medfusion 4000"),
                ("cve", "CVE-2017-12718"),
                ("status", "fixed"),
            ],
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert_eq!(check_page("403", &a.body), "Not allowed");
    assert!(
        env.state
            .store
            .list_triage()
            .await
            .expect("triage")
            .is_empty()
    );
}

/// The `<tr>` of the Sensors table whose row header is `name`.
fn sensor_row<'a>(html: &'a str, name: &str) -> &'a str {
    let start = html
        .find(&format!(">{name}</th>"))
        .unwrap_or_else(|| panic!("a row for {name}: {html}"));
    let end = html[start..].find("</tr>").expect("row end") + start;
    &html[start..end]
}

#[tokio::test]
async fn the_sensors_page_shows_each_sensor_or_how_to_add_one() {
    let env = env().await;
    let vic = login(&env, "vic").await;
    let empty = send(&env, get("/sensors", Some(&vic.cookie))).await;
    assert_eq!(empty.status, StatusCode::OK, "{}", empty.body);
    assert_eq!(check_page("/sensors", &empty.body), "Sensors");
    assert!(empty.body.contains(r#"aria-current="page">Sensors</a>"#));
    for words in [
        "No remote sensor has been added",
        "<code>pumpguard sensors add NAME</code>",
        "<code>pumpguard sensors nats-config</code>",
        "<code>pumpguard sense --publish nats://HOST:PORT --sensor-name NAME</code>",
    ] {
        assert!(empty.body.contains(words), "{words}: {}", empty.body);
    }
    assert!(!empty.body.contains("<table"), "no empty table");

    let store = &env.state.store;
    for name in ["ward-3", "ward-5", "ward-7"] {
        store
            .sensor_add("test", name, "$2a$04$not.a.real.hash")
            .await
            .expect("sensor");
    }
    let now = time::now();
    let message = |sensor: &str, n: u32, sent_ago: i64| pumpguard_store::SensorMessage {
        id: format!("{sensor}.run-1.{n}"),
        sensor: sensor.into(),
        run: "run-1".into(),
        sent: now - jiff::SignedDuration::from_secs(sent_ago),
        ..Default::default()
    };
    store
        .ingest(
            "test",
            &[
                message("ward-3", 1, 3),
                message("ward-3", 2, 2),
                message("ward-7", 1, 120),
            ],
        )
        .await
        .expect("ingest");
    let page = send(&env, get("/sensors", Some(&vic.cookie))).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(check_page("/sensors", &page.body), "Sensors");
    assert!(!page.body.contains("No remote sensor has been added"));
    assert!(page.body.contains("<caption>"), "a captioned table");
    assert!(page.body.contains(r#"<th scope="col">Status</th>"#));
    assert!(
        page.body
            .contains("3 sensors: 1 ok, 1 lagging, 0 silent, 1 never heard from.")
    );
    let ok = sensor_row(&page.body, "ward-3");
    assert!(ok.contains(r#"<span class="badge yes">ok</span>"#), "{ok}");
    assert!(ok.contains(" s ago"), "{ok}");
    assert!(ok.contains(" UTC)"), "the absolute time: {ok}");
    assert!(ok.contains(">2</td>"), "two messages: {ok}");
    assert!(ok.contains("run-1"), "{ok}");
    let lagging = sensor_row(&page.body, "ward-7");
    assert!(
        lagging.contains(r#"<span class="badge partial">lagging</span>"#),
        "{lagging}"
    );
    assert!(
        lagging.contains(">120 s</td>") || lagging.contains(">121 s</td>"),
        "a lag of 120 s: {lagging}"
    );
    let never = sensor_row(&page.body, "ward-5");
    assert!(
        never.contains(r#"<span class="badge unknown">never</span>"#),
        "{never}"
    );
    assert!(never.contains(">never</td>"), "no contact: {never}");
    assert!(!page.body.contains("$2a$"), "the password hash stays in");
}

#[tokio::test]
async fn a_viewer_reads_but_cannot_write() {
    let env = env().await;
    let vic = login(&env, "vic").await;
    let alert = first_alert_id(&env, AlertKind::PolicyViolation).await;
    let page = send(&env, get("/alerts", Some(&vic.cookie))).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        !page.body.contains("Acknowledge</button>"),
        "no triage buttons"
    );
    assert!(!page.body.contains(">Users</a>"), "no users link");
    for (path, fields) in [
        (
            format!("/alerts/{alert}/status"),
            vec![("status", "resolved")],
        ),
        (
            "/assets/PUMP-1/lifecycle".to_owned(),
            vec![("lifecycle", "retired")],
        ),
        (
            "/assessment/answer".to_owned(),
            vec![("question", "x"), ("answer", "yes")],
        ),
        ("/pki/revoke".to_owned(), vec![("serial", "0a1b2c3d")]),
        (
            "/users/add".to_owned(),
            vec![
                ("username", "eve"),
                ("password", PASSWORD),
                ("role", "admin"),
            ],
        ),
    ] {
        let mut f: Vec<(&str, &str)> = vec![("csrf", &vic.csrf)];
        f.extend(fields);
        let a = send(&env, form(&path, Some(&vic.cookie), &f)).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{path}");
        assert!(a.body.contains("Your role (viewer) may not"), "{path}");
    }
    let a = send(&env, get("/users", Some(&vic.cookie))).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    let stored = env
        .state
        .store
        .get_alert(alert)
        .await
        .expect("get")
        .expect("alert");
    assert_eq!(stored.status, AlertStatus::Open);
    assert!(env.state.store.user("eve").await.expect("user").is_none());
}

#[tokio::test]
async fn analysts_answer_the_assessment_and_triage_vulnerabilities() {
    let env = env().await;
    let ana = login(&env, "ana").await;
    let bank = pumpguard_risk::Bank::builtin().expect("bank");
    let q = &bank.questions[0].id;
    let a = send(
        &env,
        form(
            "/assessment/answer",
            Some(&ana.cookie),
            &[
                ("csrf", &ana.csrf),
                ("question", q),
                ("answer", "partial"),
                ("note", "half the ward"),
            ],
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    assert!(a.location().starts_with("/assessment?done=answered#q-"));
    let answers = env.state.store.list_answers().await.expect("answers");
    let mine = answers
        .iter()
        .find(|r| &r.question_id == q)
        .expect("the answer");
    assert_eq!(mine.answer, "partial");
    assert_eq!(mine.actor, "user:ana");
    assert_eq!(mine.note.as_deref(), Some("half the ward"));
    let page = send(&env, get("/assessment", Some(&ana.cookie))).await;
    assert!(page.body.contains("half the ward"));
    let a = send(
        &env,
        form(
            "/assessment/answer",
            Some(&ana.cookie),
            &[
                ("csrf", &ana.csrf),
                ("question", "NOPE-99"),
                ("answer", "yes"),
            ],
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);

    // Not affected needs a justification.
    let base = [
        ("csrf", ana.csrf.as_str()),
        ("model", "Medfusion 4000"),
        ("firmware", "1.6"),
        ("scope", "firmware"),
        ("cve", "cve-2017-12718"),
    ];
    let mut f = base.to_vec();
    f.push(("status", "not_affected"));
    let a = send(&env, form("/vulnerabilities/triage", Some(&ana.cookie), &f)).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    f.push(("justification", "vulnerable_code_not_in_execute_path"));
    f.push(("statement", "Telnet is disabled on our units."));
    f.push(("back", "/vulnerabilities?q=medfusion"));
    let a = send(&env, form("/vulnerabilities/triage", Some(&ana.cookie), &f)).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    assert_eq!(a.location(), "/vulnerabilities?q=medfusion&done=triaged");
    let triage = env.state.store.list_triage().await.expect("triage");
    assert_eq!(triage.len(), 1);
    assert_eq!(triage[0].cve, "CVE-2017-12718");
    assert_eq!(triage[0].firmware.as_deref(), Some("1.6"));
    assert_eq!(triage[0].actor, "user:ana");
    let page = send(&env, get("/vulnerabilities?q=medfusion", Some(&ana.cookie))).await;
    assert!(
        page.body
            .contains("not affected (vulnerable code not in execute path) by user:ana")
    );
}

#[tokio::test]
async fn admins_revoke_certificates_and_manage_users() {
    let env = env().await;
    let ada = login(&env, "ada").await;
    let a = send(
        &env,
        form(
            "/pki/revoke",
            Some(&ada.cookie),
            &[
                ("csrf", &ada.csrf),
                ("serial", "0a1b2c3d"),
                ("reason", "key-compromise"),
            ],
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    let cert = env
        .state
        .store
        .pki_certificate("0a1b2c3d")
        .await
        .expect("get")
        .expect("certificate");
    assert_eq!(cert.reason.as_deref(), Some("key-compromise"));
    let a = send(
        &env,
        form(
            "/pki/revoke",
            Some(&ada.cookie),
            &[
                ("csrf", &ada.csrf),
                ("serial", "0a1b2c3d"),
                ("reason", "bogus"),
            ],
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);

    let a = send(
        &env,
        form(
            "/users/add",
            Some(&ada.cookie),
            &[
                ("csrf", &ada.csrf),
                ("username", "eve"),
                ("password", PASSWORD),
                ("role", "viewer"),
            ],
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    assert_eq!(
        env.state
            .store
            .user("eve")
            .await
            .expect("u")
            .expect("eve")
            .role,
        "viewer"
    );
    let a = send(
        &env,
        form(
            "/users/add",
            Some(&ada.cookie),
            &[
                ("csrf", &ada.csrf),
                ("username", "short"),
                ("password", "short"),
                ("role", "viewer"),
            ],
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    let a = send(
        &env,
        form(
            "/users/role",
            Some(&ada.cookie),
            &[("csrf", &ada.csrf), ("username", "eve"), ("role", "biomed")],
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    assert_eq!(
        env.state
            .store
            .user("eve")
            .await
            .expect("u")
            .expect("eve")
            .role,
        "biomed"
    );
    let a = send(
        &env,
        form(
            "/users/role",
            Some(&ada.cookie),
            &[("csrf", &ada.csrf), ("username", "ada"), ("role", "viewer")],
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "no demoting oneself");
    let a = send(
        &env,
        form(
            "/users/remove",
            Some(&ada.cookie),
            &[("csrf", &ada.csrf), ("username", "eve")],
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    assert!(env.state.store.user("eve").await.expect("u").is_none());
    let page = send(&env, get("/users?done=user_removed", Some(&ada.cookie))).await;
    assert!(page.body.contains("The user was removed"));
}
