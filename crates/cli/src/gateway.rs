//! `pumpguard gateway`: verifies the signed drug library (exit 2 when it does not),
//! builds the TLS settings, runs `pumpguard-gateway`'s proxy, and turns its events into
//! audit entries and alerts in the store (batched, off the connections' path). SIGHUP
//! reloads the library and the certificates; SIGINT/SIGTERM stop it.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use pumpguard_gateway::decide::{Finding, FindingKind};
use pumpguard_gateway::proxy::{Event, Events, Gateway, Limits, Loaded, Sender, Upstream};
use pumpguard_model::{
    Alert, AlertEvidence, AlertFact, AlertKind, AlertStatus, Endpoint, Severity,
};
use pumpguard_store::{AuditRecord, Store};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use serde_json::json;

use crate::args::{Context, GatewayArgs};
use crate::fail::Fail;

#[allow(clippy::print_stderr)]
fn say(line: &str) {
    eprintln!("{line}");
}

fn read_bytes(path: &Path) -> Result<Vec<u8>, Fail> {
    std::fs::read(path).map_err(|e| Fail::input(format!("{}: cannot read: {e}", path.display())))
}

/// The signed library, verified with the public key.
fn load_library(library: &Path, pubkey: &Path) -> Result<Loaded, Fail> {
    let envelope = read_bytes(library)?;
    let key = String::from_utf8(read_bytes(pubkey)?)
        .map_err(|_| Fail::input(format!("{}: not a PEM public key", pubkey.display())))?;
    let signed = pumpguard_druglib::signed::verify(&key, &envelope, &library.display().to_string())
        .map_err(|e| Fail::input(e.to_string()))?;
    let label = format!(
        "{} {} (sha256 {})",
        signed.library.name, signed.library.version, signed.sha256
    );
    Ok(Loaded {
        library: signed.library,
        label,
    })
}

fn certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, Fail> {
    let pem = read_bytes(path)?;
    let certs: Vec<_> = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<_, _>>()
        .map_err(|e| Fail::input(format!("{}: {e}", path.display())))?;
    if certs.is_empty() {
        return Err(Fail::input(format!("{}: no certificate", path.display())));
    }
    Ok(certs)
}

fn key(path: &Path) -> Result<PrivateKeyDer<'static>, Fail> {
    PrivateKeyDer::from_pem_slice(&read_bytes(path)?)
        .map_err(|e| Fail::input(format!("{}: {e}", path.display())))
}

fn roots(path: &Path) -> Result<Arc<rustls::RootCertStore>, Fail> {
    let mut store = rustls::RootCertStore::empty();
    for c in certs(path)? {
        store
            .add(c)
            .map_err(|e| Fail::input(format!("{}: {e}", path.display())))?;
    }
    Ok(Arc::new(store))
}

/// The sender side's TLS: our certificate, and (with --client-ca) client certificates
/// required at the handshake.
fn server_tls(args: &GatewayArgs) -> Result<Option<Arc<rustls::ServerConfig>>, Fail> {
    let (Some(cert), Some(key_file)) = (&args.tls_cert, &args.tls_key) else {
        if args.tls_cert.is_some() || args.tls_key.is_some() || args.client_ca.is_some() {
            return Err(Fail::input(
                "TLS toward senders needs both --tls-cert and --tls-key (and --client-ca to require client certificates)",
            ));
        }
        return Ok(None);
    };
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| Fail::runtime(e.to_string()))?;
    let builder = match &args.client_ca {
        Some(ca) => {
            let verifier =
                rustls::server::WebPkiClientVerifier::builder_with_provider(roots(ca)?, provider)
                    .build()
                    .map_err(|e| Fail::input(format!("{}: {e}", ca.display())))?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let config = builder
        .with_single_cert(certs(cert)?, key(key_file)?)
        .map_err(|e| Fail::input(format!("{}: {e}", cert.display())))?;
    Ok(Some(Arc::new(config)))
}

/// The pump server side: TLS when --upstream-ca is given (with our certificate for
/// mutual TLS when --upstream-cert/--upstream-key are).
fn upstream(args: &GatewayArgs) -> Result<Upstream, Fail> {
    let Some(ca) = &args.upstream_ca else {
        return Ok(Upstream {
            address: args.upstream.clone(),
            tls: None,
        });
    };
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Fail::runtime(e.to_string()))?
        .with_root_certificates(roots(ca)?);
    let config = match (&args.upstream_cert, &args.upstream_key) {
        (Some(c), Some(k)) => builder
            .with_client_auth_cert(certs(c)?, key(k)?)
            .map_err(|e| Fail::input(format!("{}: {e}", c.display())))?,
        (None, None) => builder.with_no_client_auth(),
        _ => {
            return Err(Fail::input(
                "mutual TLS to the pump server needs both --upstream-cert and --upstream-key",
            ));
        }
    };
    let host = match &args.upstream_name {
        Some(n) => n.clone(),
        None => args
            .upstream
            .rsplit_once(':')
            .map_or(args.upstream.clone(), |(h, _)| {
                h.trim_matches(['[', ']']).to_owned()
            }),
    };
    let name = ServerName::try_from(host.clone())
        .map_err(|_| Fail::input(format!("'{host}' is not a server name for TLS")))?;
    Ok(Upstream {
        address: args.upstream.clone(),
        tls: Some((Arc::new(config), name)),
    })
}

/// Hands events to the store writer without waiting; a full queue drops (and counts).
struct Sink {
    queue: tokio::sync::mpsc::Sender<Event>,
    dropped: std::sync::atomic::AtomicU64,
}

impl Events for Sink {
    fn record(&self, event: Event) {
        if self.queue.try_send(event).is_err() {
            self.dropped
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }
}

fn kind_name(k: &FindingKind) -> &'static str {
    match k {
        FindingKind::OverSoft => "over_soft_max",
        FindingKind::UnderSoft => "under_soft_min",
        FindingKind::OverHard => "over_hard_max",
        FindingKind::UnderHard => "under_hard_min",
        FindingKind::UnknownDrug => "unknown_drug",
        FindingKind::UnitMismatch => "unit_mismatch",
        FindingKind::Malformed => "malformed",
    }
}

fn endpoint(s: &Sender) -> Endpoint {
    Endpoint {
        ip: Some(s.address.ip()),
        mac: None,
    }
}

fn fact(name: &str, value: impl ToString) -> AlertFact {
    AlertFact {
        name: name.into(),
        value: value.to_string(),
    }
}

fn order_facts(f: &Finding, sender: &Sender, library: &str) -> Vec<AlertFact> {
    let mut facts = vec![
        fact("check", kind_name(&f.kind)),
        fact("order", &f.order_control_id),
        fact("drug", &f.drug),
        fact("library", library),
    ];
    if let (Some(v), Some(u)) = (f.value, &f.unit) {
        facts.push(fact("dose", format!("{v} {u}")));
    }
    if let (Some(l), Some(u)) = (f.limit, &f.library_unit) {
        facts.push(fact("limit", format!("{l} {u}")));
    }
    if let Some(p) = &f.pump {
        facts.push(fact("pump", p));
    }
    if let Some(c) = &sender.certificate {
        facts.push(fact("client_certificate", c));
    }
    facts
}

/// The alert and audit entry an event makes.
fn record_of(event: &Event) -> (Option<AuditRecord>, Alert) {
    let now = pumpguard_model::time::now();
    let alert = |kind, severity, sender: &Sender, facts, sentence: String, action: &str| Alert {
        id: 0,
        kind,
        severity,
        status: AlertStatus::Open,
        asset_id: None,
        peer_asset_id: None,
        subject: endpoint(sender),
        peer: None,
        proto: "hl7".into(),
        port: None,
        first_seen: now,
        last_seen: now,
        count: 1,
        evidence: AlertEvidence {
            flows: Vec::new(),
            flow_ids: Vec::new(),
            facts,
            sentence,
        },
        action: action.into(),
    };
    match event {
        Event::Blocked {
            sender,
            finding,
            library,
        } => {
            let severity = match finding.kind {
                FindingKind::OverHard | FindingKind::UnderHard => Severity::High,
                _ => Severity::Medium,
            };
            let audit = AuditRecord {
                action: "gateway.block".into(),
                object: format!("order:{}", finding.order_control_id),
                detail: json!({
                    "sender": sender.address.to_string(),
                    "client_certificate": sender.certificate,
                    "check": kind_name(&finding.kind),
                    "drug": finding.drug,
                    "dose": finding.value,
                    "unit": finding.unit,
                    "limit": finding.limit,
                    "library_unit": finding.library_unit,
                    "pump": finding.pump,
                    "library": library,
                    "sentence": finding.sentence,
                }),
            };
            (
                Some(audit),
                alert(
                    AlertKind::OrderBlocked,
                    severity,
                    sender,
                    order_facts(finding, sender, library),
                    format!("blocked: {}", finding.sentence),
                    "The order was not sent to the pump: check it with the prescriber and the pharmacy; repeated blocks from one sender may be an attack or a broken interface.",
                ),
            )
        }
        Event::SoftLimit {
            sender,
            finding,
            library,
        } => (
            None,
            alert(
                AlertKind::OrderSoftLimit,
                Severity::Low,
                sender,
                order_facts(finding, sender, library),
                format!("forwarded above a soft limit: {}", finding.sentence),
                "The pump asks the clinician to confirm the dose; review soft-limit overrides with pharmacy.",
            ),
        ),
        Event::UpstreamUnreachable {
            sender,
            control_id,
            error,
        } => (
            Some(AuditRecord {
                action: "gateway.undelivered".into(),
                object: format!("order:{control_id}"),
                detail: json!({"sender": sender.address.to_string(), "error": error}),
            }),
            alert(
                AlertKind::GatewayUpstreamDown,
                Severity::High,
                sender,
                vec![fact("error", error), fact("order", control_id)],
                format!("message {control_id} not delivered: {error}"),
                "Restore the pump server or the network path; orders are answered AE and must be programmed at the pump meanwhile.",
            ),
        ),
        Event::Held {
            sender,
            control_id,
            error,
            hold,
        } => (
            Some(AuditRecord {
                action: "gateway.hold".into(),
                object: format!("order:{control_id}"),
                detail: json!({
                    "sender": sender.address.to_string(),
                    "error": error,
                    "hold_seconds": hold.as_secs(),
                }),
            }),
            alert(
                AlertKind::GatewayUpstreamDown,
                Severity::Critical,
                sender,
                vec![
                    fact("mode", "fail-open: holding"),
                    fact("error", error),
                    fact("order", control_id),
                ],
                format!(
                    "pump server unreachable ({error}): fail-open, holding message {control_id} up to {} s",
                    hold.as_secs()
                ),
                "Restore the pump server now: orders wait at the gateway and are answered AE when the hold time passes.",
            ),
        ),
        Event::Refused { sender, why } => (
            None,
            alert(
                AlertKind::GatewayClientRefused,
                Severity::Medium,
                sender,
                vec![fact("why", why)],
                format!("{} turned away: {why}", sender.address),
                "Check whether this host should send orders; a sender without a certificate from the client CA is not one.",
            ),
        ),
    }
}

/// Writes events to the store in batches until the queue closes.
async fn store_events(store: Store, actor: String, mut queue: tokio::sync::mpsc::Receiver<Event>) {
    let mut batch = Vec::new();
    loop {
        let Some(first) = queue.recv().await else {
            break;
        };
        batch.push(first);
        while batch.len() < 512 {
            match queue.try_recv() {
                Ok(e) => batch.push(e),
                Err(_) => break,
            }
        }
        let mut records = Vec::new();
        let mut alerts = Vec::new();
        for e in batch.drain(..) {
            match &e {
                Event::Blocked {
                    finding, sender, ..
                } => say(&format!(
                    "blocked from {}: {}",
                    sender.address, finding.sentence
                )),
                Event::Held {
                    control_id, error, ..
                } => say(&format!(
                    "fail-open: holding message {control_id} for the pump server ({error})"
                )),
                Event::UpstreamUnreachable {
                    control_id, error, ..
                } => say(&format!("not delivered: message {control_id} ({error})")),
                Event::SoftLimit { .. } | Event::Refused { .. } => {}
            }
            let (record, alert) = record_of(&e);
            records.extend(record);
            alerts.push(alert);
        }
        if let Err(e) = store
            .record_events(&actor, "gateway", &records, alerts)
            .await
        {
            say(&format!("cannot record gateway events: {e}"));
        }
    }
}

#[cfg(unix)]
async fn hangup() {
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        Ok(mut s) => {
            s.recv().await;
        }
        Err(_) => std::future::pending::<()>().await,
    }
}

async fn stop() {
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

pub async fn run(ctx: &Context, args: &GatewayArgs) -> Result<(), Fail> {
    let loaded = load_library(&args.drug_library, &args.pubkey)?;
    let server = server_tls(args)?;
    let up = upstream(args)?;
    let store = Store::open(&ctx.db).await?;
    let label = loaded.label.clone();
    store
        .record_events(
            &ctx.actor,
            "gateway",
            &[AuditRecord {
                action: "gateway.start".into(),
                object: "gateway".into(),
                detail: json!({
                    "listen": args.listen.to_string(),
                    "upstream": args.upstream,
                    "library": label,
                    "sender_tls": server.is_some(),
                    "client_certificates_required": args.client_ca.is_some(),
                    "upstream_tls": up.tls.is_some(),
                    "fail_open_hold_seconds": args.fail_open_on_upstream_down.then_some(args.hold_seconds),
                }),
            }],
            Vec::new(),
        )
        .await?;
    let (queue, events) = tokio::sync::mpsc::channel(10_000);
    let writer = tokio::spawn(store_events(store.clone(), ctx.actor.clone(), events));
    let sink = Arc::new(Sink {
        queue,
        dropped: std::sync::atomic::AtomicU64::new(0),
    });
    let limits = Limits {
        max_frame: args.max_frame,
        idle: Duration::from_secs(args.idle_seconds),
        hold: args
            .fail_open_on_upstream_down
            .then(|| Duration::from_secs(args.hold_seconds)),
        ..Limits::default()
    };
    let gateway = Arc::new(Gateway::new(loaded, server, up, limits, sink.clone()));
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| Fail::runtime(format!("cannot listen on {}: {e}", args.listen)))?;
    let bound = listener
        .local_addr()
        .map_err(|e| Fail::runtime(format!("cannot listen on {}: {e}", args.listen)))?;
    say(&format!(
        "pumpguard gateway listening on {bound}, upstream {}, library {label}",
        args.upstream
    ));
    if args.fail_open_on_upstream_down {
        say(&format!(
            "fail-open: messages wait up to {} s for an unreachable pump server (alarmed)",
            args.hold_seconds
        ));
    }
    let reloads = {
        let (gateway, args, store, actor) = (
            gateway.clone(),
            args.clone(),
            store.clone(),
            ctx.actor.clone(),
        );
        tokio::spawn(async move {
            loop {
                hangup().await;
                match reload(&gateway, &args) {
                    Ok(label) => {
                        say(&format!("reloaded: library {label}, certificates"));
                        let _ = store
                            .record_events(
                                &actor,
                                "gateway",
                                &[AuditRecord {
                                    action: "gateway.reload".into(),
                                    object: "gateway".into(),
                                    detail: json!({"library": label}),
                                }],
                                Vec::new(),
                            )
                            .await;
                    }
                    // The library and certificates in force stay: a bad file must not
                    // open the gateway.
                    Err(e) => say(&format!(
                        "reload refused, keeping the current settings: {e}"
                    )),
                }
            }
        })
    };
    let served = gateway.clone().serve(listener, stop()).await;
    reloads.abort();
    drop(gateway);
    let dropped = sink.dropped.load(std::sync::atomic::Ordering::Relaxed);
    drop(sink);
    // Connections still draining hold the queue open; what they report after this is
    // not waited for.
    let _ = tokio::time::timeout(Duration::from_secs(10), writer).await;
    // Events the store writer could not keep up with are at least counted, audited.
    if dropped > 0 {
        say(&format!(
            "{dropped} gateway events were not recorded: the store fell behind"
        ));
    }
    store
        .record_events(
            &ctx.actor,
            "gateway",
            &[AuditRecord {
                action: "gateway.stop".into(),
                object: "gateway".into(),
                detail: json!({ "events_not_recorded": dropped }),
            }],
            Vec::new(),
        )
        .await?;
    store.close().await;
    served.map_err(|e| Fail::runtime(format!("gateway on {bound}: {e}")))?;
    say("pumpguard gateway stopped");
    Ok(())
}

/// Re-reads the library (verified) and the certificates; all or nothing.
fn reload(gateway: &Gateway, args: &GatewayArgs) -> Result<String, Fail> {
    let loaded = load_library(&args.drug_library, &args.pubkey)?;
    let server = server_tls(args)?;
    let up = upstream(args)?;
    let label = loaded.label.clone();
    gateway.reload_tls(server, up);
    gateway.reload_library(loaded);
    Ok(label)
}
