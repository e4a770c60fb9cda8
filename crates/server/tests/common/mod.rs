//! A server over a throwaway store (SQLite, and PostgreSQL when `PUMPGUARD_TEST_PG` is
//! set) holding a small ward: pumps (one of a model an imported advisory names), a pump
//! server, flows, alerts, a certificate, a segmentation policy, and one user per role
//! logged in through `POST /api/v1/auth/login`. Requests go through the whole router
//! (`tower::ServiceExt::oneshot`, no sockets).

#![allow(dead_code)]

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use pumpguard_model::{
    Alert, AlertEvidence, AlertFact, AlertKind, AlertStatus, AssetKind, AssetPatch, Criticality,
    Endpoint, FlowRecord, Severity, time,
};
use pumpguard_server::AppState;
use pumpguard_server::auth::Role;
use pumpguard_server::distribution::CrlSettings;
use pumpguard_server::est::EstSettings;
use pumpguard_store::{AlertFilter, CertRecord, Store};
use pumpguard_testkit::TestDb;
use serde_json::{Value, json};
use tower::ServiceExt;

pub const PASSWORD: &str = "correct horse battery staple";

/// Pumps beside PUMP-1 and PUMP-2, for paging.
pub const EXTRA_PUMPS: usize = 25;

/// The fixture's certificate (issued to PUMP-1).
pub const SERIAL: &str = "0a1b2c3d4e5f60718293a4b5c6d7e8f9";

/// The user the tests may delete.
pub const VICTIM: &str = "victim";

pub const POLICY: &str = "\
zones:
  - name: pumps
    cidrs: [10.20.0.0/16]
  - name: pump_servers
    cidrs: [10.30.0.0/24]
conduits:
  - from: pumps
    to: pump_servers
    services: [tcp/2575]
default: deny
";

/// A running fixture.
pub struct Env {
    pub db: TestDb,
    pub state: Arc<AppState>,
    pub router: Router,
    /// A bearer token per role, from `POST /api/v1/auth/login`.
    pub tokens: HashMap<Role, String>,
    /// The cleartext alert on PUMP-1 (high) and the policy violation of PUMP-2 (medium).
    pub cleartext_alert: i64,
    pub violation_alert: i64,
}

/// An answer: status, headers, body.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "{} is not JSON ({e}): {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: header::HeaderName) -> String {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    }
}

pub fn role_name(r: Role) -> &'static str {
    r.as_str()
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
        proto: "tcp".into(),
        port: Some(23),
        first_seen: now,
        last_seen: now,
        count: 1,
        evidence: AlertEvidence {
            flows: Vec::new(),
            flow_ids: Vec::new(),
            facts: vec![AlertFact {
                name: "service".into(),
                value: "telnet".into(),
            }],
            sentence: format!("{peer} reached {asset}"),
        },
        action: "Block it at the firewall.".into(),
    }
}

fn flow(client: &str, server: &str, port: u16, app: &str, minute: i64) -> FlowRecord {
    let at = time::from_micros(1_790_000_000_000_000 + minute * 60_000_000).expect("time");
    FlowRecord {
        proto: "tcp".into(),
        client_ip: client.parse::<IpAddr>().expect("ip"),
        client_port: 40_000 + port,
        server_ip: server.parse().expect("ip"),
        server_port: port,
        client_mac: None,
        server_mac: None,
        vlan: None,
        app: app.into(),
        packets_to_server: 10,
        packets_to_client: 8,
        bytes_to_server: 1000,
        bytes_to_client: 800,
        first_seen: at,
        last_seen: at,
        sessions: 1,
        tcp_state: "closed".into(),
    }
}

/// The store filled with the ward, users of every role and the victim.
async fn fill(store: &Store) {
    let mut server = AssetPatch::new("SRV-1".parse().expect("id"));
    server.kind = Some(AssetKind::PumpServer);
    server.vendor = Some(Some("Smiths Medical".into()));
    server.ips = Some(vec!["10.30.0.5".parse().expect("ip")]);
    server.zone = Some(Some("pump_servers".into()));
    let mut patches = vec![
        pump(
            "PUMP-1",
            "Smiths Medical",
            "Medfusion 4000",
            "1.5",
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
    ];
    patches[0].criticality = Some(Criticality::LifeSustaining);
    for i in 0..EXTRA_PUMPS {
        let mut p = pump(
            &format!("PUMP-{}", 100 + i),
            "Baxter",
            "Sigma Spectrum",
            "8.00.01",
            &format!("10.20.1.{}", 10 + i),
        );
        p.location = Some(Some("Ward 5 100%_done".into()));
        patches.push(p);
    }
    store
        .import_assets("test", "test", &patches)
        .await
        .expect("assets");
    store
        .record_sense(
            "test",
            "test",
            &[],
            &[
                flow("10.20.0.11", "10.30.0.5", 2575, "hl7", 1),
                flow("10.99.0.7", "10.20.0.11", 23, "telnet", 2),
                flow("10.20.0.12", "10.30.0.5", 2575, "hl7", 3),
            ],
            &[],
        )
        .await
        .expect("flows");
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
    let file = "icsma-17-250-02a.json";
    let path = pumpguard_testkit::shared_data()
        .join("csaf")
        .join("cisa-icsma")
        .join(file);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let items: Vec<_> = pumpguard_vuln::read(&bytes, file)
        .expect("advisory")
        .into_iter()
        .map(|i| (file.to_owned(), i))
        .collect();
    store.import_vuln("test", &items).await.expect("advisory");
    let now = time::now();
    store
        .pki_record_issued(
            "test",
            &CertRecord {
                serial: SERIAL.into(),
                common_name: "PUMP-1".into(),
                profile: "pump".into(),
                not_before: now,
                not_after: now
                    .checked_add(jiff::SignedDuration::from_hours(24 * 365))
                    .expect("time"),
                pem: "-----BEGIN CERTIFICATE-----\nMA==\n-----END CERTIFICATE-----\n".into(),
                issued: now,
                revoked: None,
                reason: None,
            },
        )
        .await
        .expect("certificate");
    let phc = pumpguard_server::passwords::hash(PASSWORD).expect("hash");
    for role in Role::ALL {
        store
            .user_add("test", role.as_str(), &phc, role.as_str())
            .await
            .expect("user");
    }
    store
        .user_add("test", VICTIM, &phc, "viewer")
        .await
        .expect("victim");
}

impl Env {
    /// A fixture on `db`, with the policy loaded when `policy` says so.
    pub async fn new(db: TestDb, policy: bool) -> Env {
        let store = Store::open(&db.url).await.expect("store");
        fill(&store).await;
        let mut state = AppState::new(
            store,
            None,
            "server:test".into(),
            EstSettings {
                validity_days: 365,
                crl_url: None,
            },
            CrlSettings { hours: 24 },
        );
        if policy {
            state.policy = Some(Arc::new(
                pumpguard_policy::Policy::parse(POLICY, "policy.yaml").expect("policy"),
            ));
        }
        let state = Arc::new(state);
        let router = pumpguard_server::router(state.clone());
        let alerts = state
            .store
            .list_alerts(&AlertFilter::default())
            .await
            .expect("alerts");
        let id_of = |k: AlertKind| {
            alerts
                .iter()
                .find(|a| a.kind == k)
                .map(|a| a.id)
                .expect("alert")
        };
        let mut env = Env {
            cleartext_alert: id_of(AlertKind::CleartextManagementToPump),
            violation_alert: id_of(AlertKind::PolicyViolation),
            db,
            state,
            router,
            tokens: HashMap::new(),
        };
        for role in Role::ALL {
            let token = env.login(role.as_str()).await;
            env.tokens.insert(role, token);
        }
        env
    }

    /// Logs in through the API and returns the bearer token.
    pub async fn login(&self, user: &str) -> String {
        let a = self
            .call(
                Method::POST,
                "/api/v1/auth/login",
                None,
                Some(json!({ "username": user, "password": PASSWORD })),
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "login {user}: {}", a.text());
        a.json()["token"].as_str().expect("token").to_owned()
    }

    /// A further token for `user`, issued directly (from its own address, so that the
    /// per-address login limit is not spent): (secret, token id).
    pub async fn spare_token(&self, user: &str, n: u8) -> (String, String) {
        let issued = pumpguard_server::auth::login(
            &self.state,
            user,
            PASSWORD,
            pumpguard_server::auth::LoginKind::Api,
            Some(IpAddr::from([192, 0, 2, n])),
            "spare",
        )
        .await
        .expect("login");
        (issued.secret, issued.token.id)
    }

    pub fn token(&self, role: Role) -> &str {
        &self.tokens[&role]
    }

    /// A request with a bearer token (or none) and a JSON body (or none).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let mut headers = Vec::new();
        if let Some(t) = token {
            headers.push((header::AUTHORIZATION, format!("Bearer {t}")));
        }
        self.send(method, path, &headers, body).await
    }

    /// A request with these headers.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        headers: &[(header::HeaderName, String)],
        body: Option<Value>,
    ) -> Answer {
        let mut b = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, "pumpguard.test");
        for (name, value) in headers {
            b = b.header(name, value);
        }
        let request = match body {
            Some(v) => b
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(v.to_string())),
            None => b.body(Body::empty()),
        }
        .expect("request");
        let response = self.router.clone().oneshot(request).await.expect("answer");
        let status = response.status();
        let headers = response.headers().clone();
        let body = axum::body::to_bytes(response.into_body(), 64 << 20)
            .await
            .expect("body")
            .to_vec();
        Answer {
            status,
            headers,
            body,
        }
    }

    /// `GET path` as `role`, expecting 200; the JSON.
    pub async fn get(&self, role: Role, path: &str) -> Value {
        let a = self
            .call(Method::GET, path, Some(self.token(role)), None)
            .await;
        assert_eq!(a.status, StatusCode::OK, "GET {path}: {}", a.text());
        a.json()
    }

    /// Every item of a list, following `next` with pages of `limit`.
    pub async fn all_pages(&self, path: &str, limit: u32) -> Vec<Value> {
        let sep = if path.contains('?') { '&' } else { '?' };
        let mut items = Vec::new();
        let mut offset = 0u64;
        for _ in 0..10_000 {
            let page = self
                .get(
                    Role::Viewer,
                    &format!("{path}{sep}limit={limit}&offset={offset}"),
                )
                .await;
            let got = page["items"].as_array().expect("items");
            assert!(got.len() <= limit as usize, "{path}: a page over its limit");
            items.extend(got.iter().cloned());
            match page["next"].as_u64() {
                Some(n) => {
                    assert_eq!(n, offset + got.len() as u64, "{path}: next");
                    offset = n;
                }
                None => {
                    assert!(page["next"].is_null(), "{path}: next is a number or null");
                    return items;
                }
            }
        }
        panic!("{path}: next never ends");
    }
}

/// The databases to run on: SQLite, and PostgreSQL when `PUMPGUARD_TEST_PG` is set.
pub async fn databases(test: &str) -> Vec<TestDb> {
    TestDb::all(test).await
}
