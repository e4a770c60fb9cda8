//! `GET /metrics`: Prometheus metrics in the OpenMetrics text format (the Prometheus
//! project's `prometheus-client`). Request counts and latency per route are counted as
//! requests pass ([`track`]); what the store holds (assets, flows, packets, bytes, alerts,
//! audit entries, vulnerability findings, and each remote sensor's lag, last contact and
//! messages) is read from it at each scrape, so several servers on one PostgreSQL report
//! the same figures. Reading it needs a token with the
//! `read` permission, as every other read does.

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use pumpguard_model::time::Timestamp;

use crate::AppState;
use crate::api::ApiError;
use crate::auth::{Allowed, need};

/// The OpenMetrics content type Prometheus asks for.
const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

type Labels = Vec<(&'static str, String)>;

/// The registry and the metrics counted as requests pass.
pub struct Metrics {
    registry: Registry,
    requests: Family<Labels, Counter>,
    latency: Family<Labels, Histogram>,
    assets: Family<Labels, Gauge>,
    alerts: Family<Labels, Gauge>,
    flows: Gauge,
    packets: Gauge,
    bytes: Gauge,
    audit_entries: Gauge,
    /// Vulnerability findings (asset × vulnerability matches) and vulnerable assets at
    /// the last match; -1 until one ran.
    findings: Gauge,
    vulnerable_assets: Gauge,
    logins_failed: Counter<u64, AtomicU64>,
    /// Per sensor: the lag of its last message, the age of its last contact (only
    /// sensors heard from), and the messages and observations ingested from it.
    sensor_lag: Family<Labels, Gauge<f64, AtomicU64>>,
    sensor_contact_age: Family<Labels, Gauge<f64, AtomicU64>>,
    sensor_messages: Family<Labels, Counter>,
    sensor_observations: Family<Labels, Counter>,
    /// Held while a scrape refills the store's figures and encodes them, so that two
    /// scrapes at once neither see each other's half-filled families nor add their
    /// counts twice.
    scrape: Mutex<()>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

fn latency_histogram() -> Histogram {
    // 0.5 ms to 8 s.
    Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(
        0.0005, 2.0, 15,
    ))
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("pumpguard");
        let requests = Family::<Labels, Counter>::default();
        let latency = Family::<Labels, Histogram>::new_with_constructor(
            latency_histogram as fn() -> Histogram,
        );
        let assets = Family::<Labels, Gauge>::default();
        let alerts = Family::<Labels, Gauge>::default();
        let (flows, packets, bytes, audit_entries) = (
            Gauge::default(),
            Gauge::default(),
            Gauge::default(),
            Gauge::default(),
        );
        let (findings, vulnerable_assets) = (Gauge::default(), Gauge::default());
        findings.set(-1);
        vulnerable_assets.set(-1);
        let logins_failed = Counter::default();
        let sensor_lag = Family::<Labels, Gauge<f64, AtomicU64>>::default();
        let sensor_contact_age = Family::<Labels, Gauge<f64, AtomicU64>>::default();
        let sensor_messages = Family::<Labels, Counter>::default();
        let sensor_observations = Family::<Labels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by method, route and status",
            requests.clone(),
        );
        registry.register_with_unit(
            "http_request_duration",
            "Time to answer an HTTP request, by method and route",
            prometheus_client::registry::Unit::Seconds,
            latency.clone(),
        );
        registry.register("assets", "Assets in the inventory, by kind", assets.clone());
        registry.register("alerts", "Alerts, by severity and status", alerts.clone());
        registry.register("flows", "Flows the sensors recorded", flows.clone());
        registry.register(
            "packets",
            "Packets in the recorded flows, both directions",
            packets.clone(),
        );
        registry.register_with_unit(
            "flow",
            "Bytes in the recorded flows, both directions",
            prometheus_client::registry::Unit::Bytes,
            bytes.clone(),
        );
        registry.register(
            "audit_entries",
            "Entries in the audit trail",
            audit_entries.clone(),
        );
        registry.register(
            "vulnerability_findings",
            "Vulnerability matches (asset and vulnerability) at the last match; -1 before one ran",
            findings.clone(),
        );
        registry.register(
            "vulnerable_assets",
            "Assets with at least one vulnerability finding at the last match; -1 before one ran",
            vulnerable_assets.clone(),
        );
        registry.register(
            "login_failures",
            "Failed logins since the server started",
            logins_failed.clone(),
        );
        registry.register_with_unit(
            "sensor_lag",
            "Time the remote sensor's last message took from being sent to being ingested",
            prometheus_client::registry::Unit::Seconds,
            sensor_lag.clone(),
        );
        registry.register_with_unit(
            "sensor_last_contact_age",
            "Time since the remote sensor's last message was ingested (sensors heard from)",
            prometheus_client::registry::Unit::Seconds,
            sensor_contact_age.clone(),
        );
        registry.register(
            "sensor_messages",
            "Messages ingested from the remote sensor (duplicates not counted)",
            sensor_messages.clone(),
        );
        registry.register(
            "sensor_observations",
            "Evidence, flows, detections and drug-library reports in the remote sensor's messages",
            sensor_observations.clone(),
        );
        Metrics {
            registry,
            requests,
            latency,
            assets,
            alerts,
            flows,
            packets,
            bytes,
            audit_entries,
            findings,
            vulnerable_assets,
            logins_failed,
            sensor_lag,
            sensor_contact_age,
            sensor_messages,
            sensor_observations,
            scrape: Mutex::new(()),
        }
    }
}

impl Metrics {
    /// Records an answered request.
    pub fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        self.requests
            .get_or_create(&vec![
                ("method", method.to_owned()),
                ("route", route.to_owned()),
                ("status", status.to_string()),
            ])
            .inc();
        self.latency
            .get_or_create(&vec![
                ("method", method.to_owned()),
                ("route", route.to_owned()),
            ])
            .observe(seconds);
    }

    /// Records the size of the last vulnerability match.
    pub fn set_findings(&self, findings: usize, vulnerable_assets: usize) {
        self.findings.set(findings as i64);
        self.vulnerable_assets.set(vulnerable_assets as i64);
    }

    /// Counts a failed login.
    pub fn login_failed(&self) {
        self.logins_failed.inc();
    }

    /// Refills the per-sensor families (sensors removed since the last scrape go).
    fn set_sensors(&self, sensors: &[pumpguard_store::SensorRecord], now: Timestamp) {
        self.sensor_lag.clear();
        self.sensor_contact_age.clear();
        self.sensor_messages.clear();
        self.sensor_observations.clear();
        for s in sensors {
            let labels: Labels = vec![("sensor", s.name.clone())];
            if let Some(ms) = s.lag_ms {
                self.sensor_lag
                    .get_or_create(&labels)
                    .set(ms as f64 / 1000.0);
            }
            if let Some(t) = s.last_contact {
                let age = now.duration_since(t).as_secs_f64().max(0.0);
                self.sensor_contact_age.get_or_create(&labels).set(age);
            }
            self.sensor_messages
                .get_or_create(&labels)
                .inc_by(u64::try_from(s.messages).unwrap_or(0));
            self.sensor_observations
                .get_or_create(&labels)
                .inc_by(u64::try_from(s.observations).unwrap_or(0));
        }
    }

    /// The exposition, after reading the store's counts.
    pub async fn render(&self, store: &pumpguard_store::Store) -> Result<String, ApiError> {
        let (counts, sensors) = tokio::try_join!(store.counts(), store.sensors())?;
        let now = pumpguard_model::time::now();
        let _scrape = self.scrape.lock().unwrap_or_else(|e| e.into_inner());
        self.assets.clear();
        for (kind, n) in &counts.assets {
            self.assets
                .get_or_create(&vec![("kind", kind.clone())])
                .set(*n);
        }
        self.alerts.clear();
        for severity in ["info", "low", "medium", "high", "critical"] {
            for status in ["open", "acknowledged", "resolved"] {
                let n = counts
                    .alerts
                    .iter()
                    .find(|(s, t, _)| s == severity && t == status)
                    .map_or(0, |(_, _, n)| *n);
                self.alerts
                    .get_or_create(&vec![
                        ("severity", severity.to_owned()),
                        ("status", status.to_owned()),
                    ])
                    .set(n);
            }
        }
        self.flows.set(counts.flows);
        self.packets.set(counts.packets);
        self.bytes.set(counts.bytes);
        self.audit_entries.set(counts.audit_entries);
        self.set_sensors(&sensors, now);
        let mut text = String::new();
        encode(&mut text, &self.registry).map_err(ApiError::internal)?;
        Ok(text)
    }
}

pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new().route("/metrics", get(scrape))
}

async fn scrape(
    State(state): State<Arc<AppState>>,
    _who: Allowed<need::Read>,
) -> Result<Response, ApiError> {
    let text = state.metrics.render(&state.store).await?;
    let mut r = text.into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    Ok(r)
}

/// Counts each request by its route template (not its path, so ids do not multiply
/// the series) and its status, and times it. A route layer: it runs after routing, where
/// the template is known.
pub async fn track(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |m| m.as_str().to_owned());
    let response = next.run(request).await;
    state.metrics.observe(
        &method,
        &route,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}
