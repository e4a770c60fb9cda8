//! `pumpguard serve`: the HTTP(S) server. It owns the listener (plain HTTP, or TLS by
//! rustls with optional client certificates, so that a handler knows which device is
//! calling), the routes and the state they share: the REST API with its OpenAPI document
//! ([`api`]), the web console ([`console`]), who may do what ([`auth`]), Prometheus
//! metrics ([`metrics`]), EST enrollment (RFC 7030, [`est`]) and the CA chain and CRL
//! for relying parties ([`distribution`]).

pub mod api;
pub mod auth;
pub mod authority;
pub mod cache;
pub mod console;
pub mod distribution;
pub mod est;
pub mod metrics;
pub mod passwords;
pub mod tls;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use pumpguard_pki::{CaBundle, KeyAlgorithm};
use pumpguard_store::Store;
use tokio::net::TcpListener;

/// What the routes share.
#[derive(Debug)]
pub struct AppState {
    pub store: Store,
    /// The CA, opened with the passphrase `serve` was given; `None` keeps EST
    /// enrollment and CRL signing off (503) while the rest works.
    pub ca: Option<(CaBundle, KeyAlgorithm)>,
    /// Who the audit trail names for what the server itself does.
    pub actor: String,
    pub est: est::EstSettings,
    pub crl: distribution::CrlSettings,
    pub(crate) crl_cache: tokio::sync::Mutex<Option<distribution::SignedCrl>>,
    pub(crate) credentials: est::CredentialCache,
    /// Users' tokens and sessions, login limits, cookie settings.
    pub auth: auth::Auth,
    pub metrics: metrics::Metrics,
    /// The segmentation policy in force (`serve --policy`), for the console and API.
    pub policy: Option<Arc<pumpguard_policy::Policy>>,
    pub cache: cache::Cache,
}

impl AppState {
    pub fn new(
        store: Store,
        ca: Option<(CaBundle, KeyAlgorithm)>,
        actor: String,
        est: est::EstSettings,
        crl: distribution::CrlSettings,
    ) -> AppState {
        AppState {
            store,
            ca,
            actor,
            est,
            crl,
            crl_cache: tokio::sync::Mutex::new(None),
            credentials: est::CredentialCache::default(),
            auth: auth::Auth::default(),
            metrics: metrics::Metrics::default(),
            policy: None,
            cache: cache::Cache::default(),
        }
    }
}

/// Where the OpenAPI document is served.
pub const OPENAPI_PATH: &str = "/api/openapi.json";

/// Every route, behind the CSRF check, the security headers and the request metrics.
pub fn router(state: Arc<AppState>) -> Router {
    let (api, document) = api::router_and_document();
    let docs: Router<Arc<AppState>> = utoipa_swagger_ui::SwaggerUi::new("/api/docs")
        .url(OPENAPI_PATH, document)
        .into();
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .merge(api)
        .merge(docs)
        .merge(console::routes())
        .merge(metrics::routes())
        .merge(est::routes())
        .merge(distribution::routes())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            cache::forget_pages_on_write,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::csrf_guard,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::security_headers,
        ))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .with_state(state)
}

/// Serves `router` on `listener` until `shutdown` completes, over TLS when `tls` is
/// given (each connection's client certificate, if it sent one, reaches the handlers
/// as a [`tls::ClientCert`] extension). In-flight requests get a few seconds to finish.
pub async fn serve(
    router: Router,
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    match tls {
        None => {
            axum::serve(
                listener,
                router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
            .with_graceful_shutdown(shutdown)
            .await
        }
        Some(config) => tls::serve(router, listener, config, shutdown).await,
    }
}

/// How often `serve` looks for certificates about to expire.
pub const EXPIRY_CHECK_EVERY: Duration = Duration::from_secs(3600);

/// Raises `certificate_expiring` alerts for the inventory's certificates that expire
/// within `days` (see [`pumpguard_store::expiry_alerts`]); returns how many alerts it
/// raised or updated.
pub async fn check_expiry(
    store: &Store,
    actor: &str,
    days: i64,
) -> Result<usize, pumpguard_store::StoreError> {
    let now = pumpguard_model::time::now();
    let certs = store.pki_certificates().await?;
    let assets = store
        .list_assets(&pumpguard_store::AssetFilter::default())
        .await?;
    let alerts = pumpguard_store::expiry_alerts(&certs, &assets, now, days);
    let n = alerts.len();
    if n > 0 {
        store.raise_alerts(actor, "pki.expiry", alerts).await?;
    }
    Ok(n)
}
