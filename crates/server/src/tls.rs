//! HTTPS: the server's certificate (issued by the device CA to pumpguard itself and
//! kept, key sealed, in the store; renewed when it nears expiry or lacks a name), the
//! rustls configuration (client certificates from the CA are asked for but optional:
//! devices re-enrolling present theirs, browsers and enrollment users do not), and the
//! accept loop that hands each connection's client certificate to the handlers.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use pumpguard_pki::{CaBundle, IssueOptions, KeyAlgorithm, Profile};
use pumpguard_store::Store;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;
use tower::Layer;

use crate::authority::{self, AuthorityError};

/// Present on requests that came over TLS.
#[derive(Debug, Clone, Copy)]
pub struct Tls;

/// The certificate (DER) the client presented, already verified against the CA chain.
#[derive(Debug, Clone)]
pub struct ClientCert(pub Option<Arc<Vec<u8>>>);

/// The serial (lower-case hex, as the store keeps it) and subject common name of a
/// DER certificate.
pub fn serial_and_cn(der: &[u8]) -> Result<(String, String), String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).map_err(|e| e.to_string())?;
    let serial = pumpguard_pki::serial_hex(cert.raw_serial());
    let cn = cert
        .subject()
        .iter_common_name()
        .next()
        .and_then(|c| c.as_str().ok())
        .ok_or("it has no subject common name")?
        .to_owned();
    Ok((serial, cn))
}

/// The server's certificate chain and key, PEM.
#[derive(Debug, Clone)]
pub struct Identity {
    /// The server's certificate alone.
    pub cert_pem: String,
    /// It, then the issuing CA's (what the server sends).
    pub chain_pem: String,
    pub key_pem: String,
    /// The serial of the certificate, when the CA issued it.
    pub serial: Option<String>,
}

/// Days before expiry at which the server takes a new certificate.
const RENEW_DAYS: i64 = 30;

/// pumpguard's own server certificate for `names` (DNS names or addresses): the
/// stored one when it covers them and has more than 30 days left, else a new one the
/// CA issues (audited `pki.issue`), its key sealed with `passphrase` in the store.
pub async fn identity(
    store: &Store,
    ca: &CaBundle,
    alg: KeyAlgorithm,
    passphrase: &str,
    names: &[String],
    actor: &str,
) -> Result<Identity, AuthorityError> {
    let first = names
        .first()
        .ok_or_else(|| AuthorityError::Refused("the server certificate needs a name".into()))?;
    let now = pumpguard_model::time::now();
    let horizon = now.as_second() + RENEW_DAYS * 86_400;
    for k in store.pki_server_keys().await? {
        if k.cert.revoked.is_none()
            && k.cert.not_after.as_second() > horizon
            && names.iter().all(|n| k.names.contains(n))
        {
            return Ok(Identity {
                chain_pem: format!("{}{}", k.cert.pem, ca.issuing_cert),
                cert_pem: k.cert.pem,
                key_pem: pumpguard_pki::decrypt_key(&k.sealed_key, passphrase)?,
                serial: Some(k.cert.serial),
            });
        }
    }
    let opts = IssueOptions {
        profile: Profile::Server,
        validity_days: 397,
        now: authority::odt(now)?,
        uris: Vec::new(),
        dns_names: names.to_vec(),
        crl_url: None,
    };
    let (issued, key_pem) = pumpguard_pki::issue_with_new_key(ca, first, alg, &opts)?;
    let record = authority::record_of(&issued, "server", opts.now)?;
    store.pki_record_issued(actor, &record).await?;
    store
        .pki_server_key_put(
            &record.serial,
            names,
            &pumpguard_pki::encrypt_key(&key_pem, passphrase)?,
        )
        .await?;
    Ok(Identity {
        chain_pem: format!("{}{}", issued.pem, ca.issuing_cert),
        cert_pem: issued.pem,
        key_pem,
        serial: Some(record.serial),
    })
}

/// The rustls configuration: `identity` as the server, and client certificates
/// verified against `client_ca_pem` (the CA chain) when a client offers one.
pub fn server_config(
    identity: &Identity,
    client_ca_pem: Option<&str>,
) -> Result<Arc<rustls::ServerConfig>, String> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let chain: Vec<CertificateDer<'static>> =
        CertificateDer::pem_slice_iter(identity.chain_pem.as_bytes())
            .collect::<Result<_, _>>()
            .map_err(|e| format!("the server certificate: {e}"))?;
    let key = PrivateKeyDer::from_pem_slice(identity.key_pem.as_bytes())
        .map_err(|e| format!("the server key: {e}"))?;
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
    let builder = match client_ca_pem {
        Some(pem) => {
            let mut roots = rustls::RootCertStore::empty();
            for c in CertificateDer::pem_slice_iter(pem.as_bytes()) {
                roots
                    .add(c.map_err(|e| format!("the CA chain: {e}"))?)
                    .map_err(|e| format!("the CA chain: {e}"))?;
            }
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            )
            .allow_unauthenticated()
            .build()
            .map_err(|e| format!("client verification: {e}"))?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let mut config = builder
        .with_single_cert(chain, key)
        .map_err(|e| format!("the server certificate and key: {e}"))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// How long a client may take over its TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long in-flight connections get after shutdown.
const DRAIN: Duration = Duration::from_secs(5);

pub(crate) async fn serve(
    router: Router,
    listener: TcpListener,
    config: Arc<rustls::ServerConfig>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    let mut connections = tokio::task::JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                // Out of descriptors and the like: keep serving the others.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let acceptor = acceptor.clone();
        let router = router.clone();
        connections.spawn(async move {
            let Ok(Ok(stream)) =
                tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await
            else {
                return;
            };
            let client = stream
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|c| c.first())
                .map(|c| Arc::new(c.to_vec()));
            let service = axum::Extension(ClientCert(client)).layer(
                axum::Extension(Tls)
                    .layer(axum::Extension(axum::extract::ConnectInfo(peer)).layer(router)),
            );
            let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service))
                .await;
        });
        while connections.try_join_next().is_some() {}
    }
    let _ = tokio::time::timeout(DRAIN, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    Ok(())
}
