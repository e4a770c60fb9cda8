//! Orders per second and latency through the gateway with mutual TLS on both sides,
//! against the same clients talking straight to the pump server, on loopback, in one
//! run. A stand-in pump server answers each order with RRG^O16 AA; CONNECTIONS senders
//! each send ORDERS/CONNECTIONS orders one after another (send, wait for the reply).
//! `cargo run --release -p pumpguard-gateway --example throughput -- [ORDERS] [CONNECTIONS]`

#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use pumpguard_druglib::DrugLibrary;
use pumpguard_gateway::proxy::{Event, Events, Gateway, Limits, Loaded, Upstream};
use pumpguard_pki::{IssueOptions, KeyAlgorithm, Profile};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const LIBRARY: &str = "name: ICU\nversion: '1'\ncare_area: ICU\nentries:\n  - drug: Dopamine\n    code: \"1234\"\n    dose_unit: ug/kg/min\n    soft_min: 2\n    soft_max: 20\n    hard_min: 1\n    hard_max: 25\n";

fn order(id: usize) -> Vec<u8> {
    let m = format!(
        "MSH|^~\\&|EHR_BCMA|HOSP|PUMPSRV|PHARM|20261129010000+0000||RGV^O15^RGV_O15|{id}|P|2.6|||AL|ER\r\
         PID|||HO0000001^^^HOSP^MR||Smith^Maria^^^^^L||19600101|F\r\
         ORC|NW|{id}|||||||20261129010000+0000\r\
         RXG|1|||1234^Dopamine^LOCAL|250||263762^MDC_DIM_MILLI_L^MDC^mL^mL^UCUM||||||||10|265619^MDC_DIM_MICRO_G_PER_KG_PER_MIN^MDC^ug/kg/min^ug/kg/min^UCUM\r\
         RXR|IV^Intravenous^HL70162\r"
    );
    let mut out = Vec::new();
    pumpguard_hl7::mllp::encode(m.as_bytes(), &mut out);
    out
}

/// Reads one MLLP frame (to FS CR).
async fn read_frame<S: AsyncRead + Unpin>(s: &mut S, buf: &mut Vec<u8>) -> Option<Vec<u8>> {
    loop {
        if let Some(end) = buf.windows(2).position(|w| w == [0x1c, 0x0d]) {
            let frame: Vec<u8> = buf.drain(..end + 2).collect();
            return Some(frame);
        }
        let mut chunk = [0u8; 8192];
        let n = s.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

async fn pump_server_conn<S: AsyncRead + AsyncWrite + Unpin>(mut s: S) {
    let mut buf = Vec::new();
    while let Some(frame) = read_frame(&mut s, &mut buf).await {
        let text = String::from_utf8_lossy(&frame);
        let id = text.split('|').nth(9).unwrap_or("").to_owned();
        let reply = format!(
            "\x0bMSH|^~\\&|PUMPSRV|PHARM|EHR_BCMA|HOSP|20261129010001+0000||RRG^O16^RRG_O16|U{id}|P|2.6\rMSA|AA|{id}\r\x1c\r"
        );
        if s.write_all(reply.as_bytes()).await.is_err() {
            return;
        }
    }
}

/// The stand-in pump server: plain and TLS (mutual) listeners.
async fn pump_server(tls: Arc<rustls::ServerConfig>) -> (SocketAddr, SocketAddr) {
    let plain = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let secure = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addrs = (plain.local_addr().unwrap(), secure.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((s, _)) = plain.accept().await {
            let _ = s.set_nodelay(true);
            tokio::spawn(pump_server_conn(s));
        }
    });
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    tokio::spawn(async move {
        while let Ok((s, _)) = secure.accept().await {
            let _ = s.set_nodelay(true);
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                if let Ok(t) = acceptor.accept(s).await {
                    pump_server_conn(t).await;
                }
            });
        }
    });
    addrs
}

struct Quiet;
impl Events for Quiet {
    fn record(&self, _: Event) {}
}

struct Pki {
    chain: String,
    server: (String, String),
    client: (String, String),
}

fn pki() -> Pki {
    let now = time::OffsetDateTime::now_utc();
    let ca = pumpguard_pki::init("Bench", KeyAlgorithm::EcdsaP256, now).unwrap();
    let opts = |profile, names: Vec<String>| IssueOptions {
        profile,
        validity_days: 30,
        now,
        uris: Vec::new(),
        dns_names: names,
        crl_url: None,
    };
    let (s, sk) = pumpguard_pki::issue_with_new_key(
        &ca,
        "localhost",
        KeyAlgorithm::EcdsaP256,
        &opts(Profile::Server, vec!["localhost".into()]),
    )
    .unwrap();
    let (c, ck) = pumpguard_pki::issue_with_new_key(
        &ca,
        "EHR-1",
        KeyAlgorithm::EcdsaP256,
        &opts(Profile::Pump, Vec::new()),
    )
    .unwrap();
    Pki {
        chain: ca.chain_pem(),
        server: (format!("{}{}", s.pem, ca.issuing_cert), sk),
        client: (format!("{}{}", c.pem, ca.issuing_cert), ck),
    }
}

fn certs(pem: &str) -> Vec<CertificateDer<'static>> {
    CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<_, _>>()
        .unwrap()
}

fn roots(pem: &str) -> Arc<rustls::RootCertStore> {
    let mut r = rustls::RootCertStore::empty();
    for c in certs(pem) {
        r.add(c).unwrap();
    }
    Arc::new(r)
}

fn server_config(p: &Pki) -> Arc<rustls::ServerConfig> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        roots(&p.chain),
        provider.clone(),
    )
    .build()
    .unwrap();
    Arc::new(
        rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_client_cert_verifier(verifier)
            .with_single_cert(
                certs(&p.server.0),
                PrivateKeyDer::from_pem_slice(p.server.1.as_bytes()).unwrap(),
            )
            .unwrap(),
    )
}

fn client_config(p: &Pki) -> Arc<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    Arc::new(
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots(&p.chain))
            .with_client_auth_cert(
                certs(&p.client.0),
                PrivateKeyDer::from_pem_slice(p.client.1.as_bytes()).unwrap(),
            )
            .unwrap(),
    )
}

/// Runs `connections` senders to `addr` (TLS with `tls`), `per` orders each; returns
/// the wall time and every order's round trip.
async fn load(
    addr: SocketAddr,
    tls: Option<Arc<rustls::ClientConfig>>,
    connections: usize,
    per: usize,
) -> (Duration, Vec<Duration>) {
    let start = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..connections {
        let tls = tls.clone();
        tasks.push(tokio::spawn(async move {
            let tcp = TcpStream::connect(addr).await.unwrap();
            tcp.set_nodelay(true).unwrap();
            let mut lat = Vec::with_capacity(per);
            match tls {
                None => run_orders(tcp, c, per, &mut lat).await,
                Some(cfg) => {
                    let s = tokio_rustls::TlsConnector::from(cfg)
                        .connect(ServerName::try_from("localhost").unwrap(), tcp)
                        .await
                        .unwrap();
                    run_orders(s, c, per, &mut lat).await;
                }
            }
            lat
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    (start.elapsed(), all)
}

async fn run_orders<S: AsyncRead + AsyncWrite + Unpin>(
    mut s: S,
    c: usize,
    per: usize,
    lat: &mut Vec<Duration>,
) {
    let mut buf = Vec::new();
    for i in 0..per {
        let msg = order(c * 1_000_000 + i);
        let t = Instant::now();
        s.write_all(&msg).await.unwrap();
        let reply = read_frame(&mut s, &mut buf).await.expect("a reply");
        assert!(reply.windows(7).any(|w| w == b"MSA|AA|"), "accepted");
        lat.push(t.elapsed());
    }
}

fn percentile(lat: &mut [Duration], p: f64) -> Duration {
    lat.sort();
    let i = ((lat.len() as f64 - 1.0) * p).round() as usize;
    lat[i]
}

fn main() {
    let mut args = std::env::args().skip(1);
    let orders: usize = args.next().map_or(200_000, |a| a.parse().unwrap());
    let connections: usize = args.next().map_or(32, |a| a.parse().unwrap());
    let per = orders / connections;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let p = pki();
        let server_tls = server_config(&p);
        let client_tls = client_config(&p);
        let (plain, secure) = pump_server(server_tls.clone()).await;
        let library = DrugLibrary::parse(LIBRARY, "icu.yaml").unwrap();
        let gateway = Arc::new(Gateway::new(
            Loaded {
                library,
                label: "ICU 1".into(),
            },
            Some(server_tls),
            Upstream {
                address: secure.to_string(),
                tls: Some((client_tls.clone(), ServerName::try_from("localhost").unwrap())),
            },
            Limits::default(),
            Arc::new(Quiet),
        ));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let gw_addr = listener.local_addr().unwrap();
        tokio::spawn(gateway.serve(listener, std::future::pending()));
        // Warm up both paths.
        load(plain, None, 4, 200).await;
        load(gw_addr, Some(client_tls.clone()), 4, 200).await;
        let (direct_t, mut direct) = load(plain, None, connections, per).await;
        let (gw_t, mut via) = load(gw_addr, Some(client_tls), connections, per).await;
        let n = (per * connections) as f64;
        let (d50, d99) = (percentile(&mut direct, 0.5), percentile(&mut direct, 0.99));
        let (g50, g99) = (percentile(&mut via, 0.5), percentile(&mut via, 0.99));
        println!(
            "{} orders over {connections} connections: direct (plain MLLP) {:.0} orders/s, p50 {:.3} ms, p99 {:.3} ms",
            per * connections,
            n / direct_t.as_secs_f64(),
            d50.as_secs_f64() * 1e3,
            d99.as_secs_f64() * 1e3
        );
        println!(
            "through the gateway (mTLS both sides, checked): {:.0} orders/s, p50 {:.3} ms, p99 {:.3} ms",
            n / gw_t.as_secs_f64(),
            g50.as_secs_f64() * 1e3,
            g99.as_secs_f64() * 1e3
        );
        println!(
            "ratio of throughput {:.2}; added p50 {:.3} ms, added p99 {:.3} ms",
            (n / gw_t.as_secs_f64()) / (n / direct_t.as_secs_f64()),
            (g50.as_secs_f64() - d50.as_secs_f64()) * 1e3,
            (g99.as_secs_f64() - d99.as_secs_f64()) * 1e3
        );
    });
}
