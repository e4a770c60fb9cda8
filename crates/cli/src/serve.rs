//! `pumpguard serve`: opens the store (and the CA, when its passphrase is given), makes
//! the TLS identity, binds the listener and runs `pumpguard-server` until SIGINT or
//! SIGTERM, checking certificate expiry every hour.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use pumpguard_server::auth::{Auth, AuthSettings};
use pumpguard_server::authority;
use pumpguard_server::distribution::CrlSettings;
use pumpguard_server::est::EstSettings;
use pumpguard_server::{AppState, tls};
use pumpguard_store::Store;

use crate::args::{Context, ServeArgs};
use crate::fail::Fail;
use crate::pki::{authority_fail, optional_passphrase};

#[allow(clippy::print_stderr)]
fn say(line: &str) {
    eprintln!("{line}");
}

/// The host's name, for the server certificate.
fn host_name() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
}

/// Names the server certificate carries when none are given.
fn default_names(listen: SocketAddr) -> Vec<String> {
    let mut names = vec!["localhost".to_owned()];
    if !listen.ip().is_unspecified() {
        names.push(listen.ip().to_string());
    } else {
        names.push(IpAddr::V4(Ipv4Addr::LOCALHOST).to_string());
    }
    if let Some(h) = host_name() {
        names.push(h);
    }
    names.dedup();
    names
}

async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = term => {}
    }
}

pub async fn run(ctx: &Context, args: &ServeArgs) -> Result<(), Fail> {
    let store = Store::open(&ctx.db).await?;
    let passphrase = optional_passphrase(&args.passphrase)?;
    let has_ca = store.pki_ca().await?.is_some();
    let ca = match (&passphrase, has_ca) {
        (Some(p), true) => Some(authority::open(&store, p).await.map_err(authority_fail)?),
        _ => None,
    };
    let listen = args.listen.unwrap_or_else(|| {
        SocketAddr::new(
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            if args.tls { 8443 } else { 8080 },
        )
    });
    let tls_config = if args.tls {
        let (Some((bundle, alg)), Some(secret)) = (&ca, &passphrase) else {
            return Err(Fail::input(
                "serve --tls takes its certificate from the CA: run `pumpguard pki init` and give the CA passphrase (PUMPGUARD_CA_PASSPHRASE or --passphrase-file)",
            ));
        };
        let names = if args.tls_names.is_empty() {
            default_names(listen)
        } else {
            args.tls_names.clone()
        };
        let identity = tls::identity(&store, bundle, *alg, secret, &names, &ctx.actor)
            .await
            .map_err(authority_fail)?;
        Some(
            tls::server_config(&identity, Some(&bundle.chain_pem()))
                .map_err(|e| Fail::runtime(format!("TLS: {e}")))?,
        )
    } else {
        None
    };
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| Fail::runtime(format!("cannot listen on {listen}: {e}")))?;
    let bound = listener
        .local_addr()
        .map_err(|e| Fail::runtime(format!("cannot listen on {listen}: {e}")))?;
    let scheme = if args.tls { "https" } else { "http" };
    let base = match bound.ip() {
        ip if ip.is_unspecified() => format!(
            "{scheme}://{}:{}",
            host_name().unwrap_or_else(|| "localhost".into()),
            bound.port()
        ),
        _ => format!("{scheme}://{bound}"),
    };
    let crl_url = args
        .crl_url
        .clone()
        .unwrap_or_else(|| format!("{base}/pki/crl"));
    if !has_ca {
        say("no CA yet (`pumpguard pki init`): EST and the CRL answer 404 until there is one");
    } else if ca.is_none() {
        say("no CA passphrase given: EST enrollment and CRL signing answer 503");
    }
    let policy = match &args.policy {
        Some(f) => Some(Arc::new(crate::policy::load(f)?)),
        None => None,
    };
    let mut state = AppState::new(
        store.clone(),
        ca,
        ctx.actor.clone(),
        EstSettings {
            validity_days: args.est_days,
            crl_url: Some(crl_url),
        },
        CrlSettings {
            hours: args.crl_hours,
        },
    );
    state.policy = policy;
    state.auth = Auth::new(AuthSettings {
        token_hours: args.token_hours,
        session_hours: args.session_hours,
        tls: args.tls,
    });
    let state = Arc::new(state);
    if store.users().await?.is_empty() {
        say("no console users yet: add one with `pumpguard users add NAME --role admin`");
    }
    let (expiry_store, actor, days) = (store.clone(), ctx.actor.clone(), args.expiry_days);
    let expiry = tokio::spawn(async move {
        let mut every = tokio::time::interval(pumpguard_server::EXPIRY_CHECK_EVERY);
        loop {
            every.tick().await;
            if let Err(e) = pumpguard_server::check_expiry(&expiry_store, &actor, days).await {
                say(&format!("certificate expiry check failed: {e}"));
            }
        }
    });
    say(&format!(
        "pumpguard serving on {base} (console {base}/, API {base}/api/v1, OpenAPI {base}/api/openapi.json, API docs {base}/api/docs, metrics {base}/metrics, EST {base}/.well-known/est/, CRL {base}/pki/crl)"
    ));
    let result = pumpguard_server::serve(
        pumpguard_server::router(state),
        listener,
        tls_config,
        shutdown_signal(),
    )
    .await;
    expiry.abort();
    store.close().await;
    result.map_err(|e| Fail::runtime(format!("serving on {bound}: {e}")))?;
    say("pumpguard stopped");
    Ok(())
}
