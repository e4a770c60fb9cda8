//! `pumpguard serve`: the HTTP(S) server. It owns the listener (plain HTTP, or TLS by
//! rustls with optional client certificates, so that a handler knows which device is
//! calling), the routes and the state they share. Today it serves the device PKI:
//! EST enrollment (RFC 7030, [`est`]) and the CA chain and CRL for relying parties
//! ([`distribution`]).

pub mod authority;
pub mod distribution;
pub mod est;
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
        }
    }
}

/// Every route.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .merge(est::routes())
        .merge(distribution::routes())
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
            axum::serve(listener, router)
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
