//! The MLLP proxy: accepts order senders (plain TCP, or TLS with client certificates
//! from `--client-ca` required at the handshake), opens one upstream connection per
//! sender connection (TCP or TLS) on its first forwarded message, and runs each
//! direction on its own: sender → [`decide`] → upstream, and upstream → sender
//! unchanged (accept and application acknowledgements, whatever the pump server says).
//! A blocked order's reply is put into the sender's direction in its place. Frames are
//! capped (`max_frame`), idle connections closed, and the library and TLS settings can
//! be swapped while connections run (`reload_*`, for SIGHUP): each message is checked
//! against the library current when it arrives.
//!
//! Fail-closed by default: an order or message that cannot reach the pump server is
//! answered AE ("not delivered") and reported. Fail-open (`Limits::hold`) only concerns
//! an unreachable pump server: the message, checked like any other (a blocked order
//! stays blocked), waits on its connection while the gateway retries, and is delivered
//! if the pump server comes back within the hold time, else answered AE; the hold is
//! reported. Nothing is ever forwarded unchecked or queued beyond its connection.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use futures_util::StreamExt;
use pumpguard_druglib::DrugLibrary;
use pumpguard_hl7::mllp::{Block, MllpCodec};
use pumpguard_hl7::pcd::{
    ApplicationCode, ErrorSpec, ReplyHeader, Transaction, application_ack, original_ack,
};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_util::codec::FramedRead;

use crate::decide::{Decision, Finding, ReplyContext, decide};

/// The drug library in force, verified by the caller, and how to name it.
#[derive(Debug)]
pub struct Loaded {
    pub library: DrugLibrary,
    /// `name version (sha256 …)`, for the audit trail.
    pub label: String,
}

/// Where orders go.
#[derive(Debug, Clone)]
pub struct Upstream {
    /// `host:port`.
    pub address: String,
    /// TLS to the pump server: the client configuration (trust, and the gateway's own
    /// certificate for mutual TLS) and the name to verify.
    pub tls: Option<(
        Arc<rustls::ClientConfig>,
        rustls::pki_types::ServerName<'static>,
    )>,
}

/// Limits of the proxy.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest MLLP frame accepted from either side.
    pub max_frame: usize,
    /// A connection with nothing to read for this long is closed.
    pub idle: Duration,
    /// Time allowed to connect (and handshake) to the pump server, and for a sender's
    /// TLS handshake.
    pub connect: Duration,
    /// Fail-open: while the pump server cannot be reached, hold a message (already
    /// checked) up to this long, retrying, before answering AE. `None`: fail-closed.
    pub hold: Option<Duration>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_frame: pumpguard_hl7::mllp::DEFAULT_MAX_FRAME,
            idle: Duration::from_secs(300),
            connect: Duration::from_secs(5),
            hold: None,
        }
    }
}

/// Who sent a message: the address, and the client certificate's subject when TLS
/// authenticated one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sender {
    pub address: SocketAddr,
    pub certificate: Option<String>,
}

/// What the gateway reports; the caller makes alerts and audit entries of them.
#[derive(Debug, Clone)]
pub enum Event {
    /// An order outside the hard limits, unknown, in an unconvertible unit or
    /// malformed: not forwarded, answered with a reject.
    Blocked {
        sender: Sender,
        finding: Finding,
        library: String,
    },
    /// An order outside the soft limits: forwarded (the clinician decides at the pump).
    SoftLimit {
        sender: Sender,
        finding: Finding,
        library: String,
    },
    /// A message the pump server could not be reached for: answered AE, not delivered.
    UpstreamUnreachable {
        sender: Sender,
        control_id: String,
        error: String,
    },
    /// Fail-open: the pump server cannot be reached and a message is being held for it.
    Held {
        sender: Sender,
        control_id: String,
        error: String,
        hold: Duration,
    },
    /// A sender turned away: TLS handshake failed, or a frame broke the limits.
    Refused { sender: Sender, why: String },
}

/// Receives the gateway's events (called on the connection's task: keep it quick,
/// e.g. hand the event to a channel).
pub trait Events: Send + Sync {
    fn record(&self, event: Event);
}

/// The gateway: its library, TLS settings and upstream, swappable while it runs.
pub struct Gateway {
    library: RwLock<Arc<Loaded>>,
    server_tls: RwLock<Option<Arc<rustls::ServerConfig>>>,
    upstream: RwLock<Arc<Upstream>>,
    limits: Limits,
    events: Arc<dyn Events>,
    replies: AtomicU64,
    /// When this gateway started, in seconds since the epoch (for reply ids).
    started: u64,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// An HL7 timestamp (MSH-7) of now, in UTC.
fn hl7_now() -> String {
    let t = time::OffsetDateTime::now_utc();
    format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}+0000",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

fn read<T: Clone>(lock: &RwLock<T>) -> T {
    match lock.read() {
        Ok(g) => g.clone(),
        Err(poisoned) => poisoned.into_inner().clone(),
    }
}

fn write<T>(lock: &RwLock<T>, value: T) {
    match lock.write() {
        Ok(mut g) => *g = value,
        Err(poisoned) => *poisoned.into_inner() = value,
    }
}

impl Gateway {
    pub fn new(
        library: Loaded,
        server_tls: Option<Arc<rustls::ServerConfig>>,
        upstream: Upstream,
        limits: Limits,
        events: Arc<dyn Events>,
    ) -> Gateway {
        Gateway {
            library: RwLock::new(Arc::new(library)),
            server_tls: RwLock::new(server_tls),
            upstream: RwLock::new(Arc::new(upstream)),
            limits,
            events,
            replies: AtomicU64::new(0),
            started: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
        }
    }

    /// The library in force.
    pub fn library(&self) -> Arc<Loaded> {
        read(&self.library)
    }

    /// Checks messages arriving from now on against `library`.
    pub fn reload_library(&self, library: Loaded) {
        write(&self.library, Arc::new(library));
    }

    /// New TLS settings for connections opened from now on.
    pub fn reload_tls(&self, server_tls: Option<Arc<rustls::ServerConfig>>, upstream: Upstream) {
        write(&self.server_tls, server_tls);
        write(&self.upstream, Arc::new(upstream));
    }

    /// A fresh MSH-10 for a reply the gateway writes.
    /// `PG` + this gateway's start time (seconds, 8 hex digits) + a counter (hex): unique
    /// across restarts a second apart, within the 20 characters MSH-10 allows.
    fn reply_id(&self) -> String {
        format!(
            "PG{:08x}{:x}",
            self.started,
            self.replies.fetch_add(1, Ordering::Relaxed) + 1
        )
    }

    /// Serves `listener` until `shutdown` completes; connections in flight get a few
    /// seconds to finish.
    pub async fn serve(
        self: Arc<Self>,
        listener: TcpListener,
        shutdown: impl std::future::Future<Output = ()> + Send,
    ) -> std::io::Result<()> {
        let mut connections = tokio::task::JoinSet::new();
        tokio::pin!(shutdown);
        loop {
            let (tcp, address) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(a) => a,
                    Err(_) => {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
                () = &mut shutdown => break,
            };
            let _ = tcp.set_nodelay(true);
            let gateway = self.clone();
            connections.spawn(async move { gateway.accept(tcp, address).await });
            while connections.try_join_next().is_some() {}
        }
        let _ = tokio::time::timeout(Duration::from_secs(5), async {
            while connections.join_next().await.is_some() {}
        })
        .await;
        Ok(())
    }

    async fn accept(self: Arc<Self>, tcp: TcpStream, address: SocketAddr) {
        let Some(config) = read(&self.server_tls) else {
            let sender = Sender {
                address,
                certificate: None,
            };
            self.serve_connection(tcp, sender).await;
            return;
        };
        let acceptor = tokio_rustls::TlsAcceptor::from(config);
        match tokio::time::timeout(self.limits.connect, acceptor.accept(tcp)).await {
            Ok(Ok(stream)) => {
                let certificate = stream
                    .get_ref()
                    .1
                    .peer_certificates()
                    .and_then(|c| c.first())
                    .and_then(|c| subject_cn(c));
                self.serve_connection(
                    stream,
                    Sender {
                        address,
                        certificate,
                    },
                )
                .await;
            }
            Ok(Err(e)) => self.events.record(Event::Refused {
                sender: Sender {
                    address,
                    certificate: None,
                },
                why: format!("TLS handshake: {e}"),
            }),
            Err(_) => self.events.record(Event::Refused {
                sender: Sender {
                    address,
                    certificate: None,
                },
                why: "TLS handshake timed out".into(),
            }),
        }
    }

    /// Serves one sender connection already accepted (and, for TLS, handshaken) until
    /// the sender closes it, goes idle or breaks the frame limit.
    pub async fn serve_connection<S>(self: Arc<Self>, stream: S, sender: Sender)
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let (read_half, mut write_half) = tokio::io::split(stream);
        let mut frames = FramedRead::new(read_half, MllpCodec::new(self.limits.max_frame));
        // Everything the sender receives goes through one writer, in order.
        let (to_sender, mut outbox) = mpsc::channel::<Vec<u8>>(64);
        let writer = tokio::spawn(async move {
            while let Some(framed) = outbox.recv().await {
                if write_half.write_all(&framed).await.is_err() || write_half.flush().await.is_err()
                {
                    break;
                }
            }
            let _ = write_half.shutdown().await;
        });
        let mut upstream: Option<UpstreamLink> = None;
        loop {
            let next = match tokio::time::timeout(self.limits.idle, frames.next()).await {
                Ok(Some(Ok(block))) => block,
                Ok(Some(Err(e))) => {
                    self.events.record(Event::Refused {
                        sender: sender.clone(),
                        why: e.to_string(),
                    });
                    break;
                }
                Ok(None) | Err(_) => break,
            };
            let (message, raw) = match next {
                Block::Message(m) => {
                    let raw = frame(&m);
                    (Some(m), raw)
                }
                Block::CommitAck => (None, frame(&[0x06])),
                Block::CommitNak => (None, frame(&[0x15])),
            };
            let Some(message) = message else {
                // MLLP R2 commit acknowledgements are the sender's to the pump server.
                if let Some(link) = upstream.as_mut()
                    && link.send(&raw).await.is_err()
                {
                    upstream = None;
                }
                continue;
            };
            let library = self.library();
            let id = self.reply_id();
            let time = hl7_now();
            let decision = decide(
                &library.library,
                &message,
                ReplyContext {
                    time: &time,
                    control_id: &id,
                },
            );
            match decision {
                Decision::Block { reply, finding } => {
                    self.events.record(Event::Blocked {
                        sender: sender.clone(),
                        finding,
                        library: library.label.clone(),
                    });
                    if reply.is_empty() || to_sender.send(frame(reply.as_bytes())).await.is_err() {
                        break;
                    }
                    continue;
                }
                Decision::Forward {
                    finding: Some(finding),
                } => {
                    self.events.record(Event::SoftLimit {
                        sender: sender.clone(),
                        finding,
                        library: library.label.clone(),
                    });
                }
                Decision::Forward { finding: None } | Decision::PassThrough => {}
            }
            // Forward: connect on first use (or again after the pump server closed).
            if upstream.as_ref().is_some_and(UpstreamLink::closed) {
                upstream = None;
            }
            if upstream.is_none() {
                match self
                    .connect_or_hold(to_sender.clone(), &sender, &message)
                    .await
                {
                    Ok(link) => upstream = Some(link),
                    Err(error) => {
                        if !self
                            .undelivered(&sender, &message, &error, &to_sender)
                            .await
                        {
                            break;
                        }
                        continue;
                    }
                }
            }
            if let Some(link) = upstream.as_mut()
                && let Err(e) = link.send_message(&raw, &message).await
            {
                upstream = None;
                if !self
                    .undelivered(
                        &sender,
                        &message,
                        &format!("writing to the pump server: {e}"),
                        &to_sender,
                    )
                    .await
                {
                    break;
                }
            }
        }
        drop(upstream);
        drop(to_sender);
        let _ = writer.await;
    }

    /// Answers a message that could not be delivered with AE and reports it; false
    /// when the connection should close (no HL7 reply can be made, or the sender left).
    async fn undelivered(
        &self,
        sender: &Sender,
        message: &[u8],
        error: &str,
        to_sender: &mpsc::Sender<Vec<u8>>,
    ) -> bool {
        let control_id = pumpguard_hl7::Message::parse(message)
            .map(|m| m.control_id().into_owned())
            .unwrap_or_default();
        self.events.record(Event::UpstreamUnreachable {
            sender: sender.clone(),
            control_id,
            error: error.to_owned(),
        });
        match self.not_delivered_reply(message, error) {
            Some(reply) => to_sender.send(frame(reply.as_bytes())).await.is_ok(),
            None => false,
        }
    }

    /// AE for a message the pump server did not get: RRG^O16 for an order, an
    /// original-mode ACK for anything else; `None` when the message is not HL7.
    fn not_delivered_reply(&self, message: &[u8], error: &str) -> Option<String> {
        let m = pumpguard_hl7::Message::parse(message).ok()?;
        let id = self.reply_id();
        let time = hl7_now();
        let header = ReplyHeader {
            time: &time,
            control_id: &id,
        };
        Some(match Transaction::of(&m) {
            Transaction::InfusionOrder => application_ack(
                &m,
                ApplicationCode::Error,
                &[ErrorSpec {
                    hl7_code: "207".into(),
                    hl7_text: "Application internal error".into(),
                    severity: 'E',
                    app_code: "PG-UPSTREAM".into(),
                    app_text: format!(
                        "the pump server could not be reached ({error}); the order was not delivered"
                    ),
                }],
                header,
            ),
            _ => original_ack(&m, ApplicationCode::Error, header),
        })
    }

    /// Connects to the pump server; in fail-open mode keeps trying (twice a second)
    /// for up to the hold time, reporting the hold once.
    async fn connect_or_hold(
        self: &Arc<Self>,
        to_sender: mpsc::Sender<Vec<u8>>,
        sender: &Sender,
        message: &[u8],
    ) -> Result<UpstreamLink, String> {
        let first = self.connect_upstream(to_sender.clone(), sender).await;
        let (Err(error), Some(hold)) = (&first, self.limits.hold) else {
            return first;
        };
        self.events.record(Event::Held {
            sender: sender.clone(),
            control_id: pumpguard_hl7::Message::parse(message)
                .map(|m| m.control_id().into_owned())
                .unwrap_or_default(),
            error: error.clone(),
            hold,
        });
        let deadline = tokio::time::Instant::now() + hold;
        let mut last = first;
        while tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(500)).await;
            last = self.connect_upstream(to_sender.clone(), sender).await;
            if last.is_ok() {
                break;
            }
        }
        last.map_err(|e| format!("{e} (held {} s)", hold.as_secs()))
    }

    async fn connect_upstream(
        self: &Arc<Self>,
        to_sender: mpsc::Sender<Vec<u8>>,
        sender: &Sender,
    ) -> Result<UpstreamLink, String> {
        let upstream = read(&self.upstream);
        let connect = async {
            let tcp = TcpStream::connect(&upstream.address)
                .await
                .map_err(|e| format!("{}: {e}", upstream.address))?;
            let _ = tcp.set_nodelay(true);
            match &upstream.tls {
                None => Ok(UpstreamLink::start(
                    tcp,
                    to_sender,
                    self.clone(),
                    sender.clone(),
                )),
                Some((config, name)) => {
                    let tls = tokio_rustls::TlsConnector::from(config.clone())
                        .connect(name.clone(), tcp)
                        .await
                        .map_err(|e| format!("{}: TLS: {e}", upstream.address))?;
                    Ok(UpstreamLink::start(
                        tls,
                        to_sender,
                        self.clone(),
                        sender.clone(),
                    ))
                }
            }
        };
        tokio::time::timeout(self.limits.connect, connect)
            .await
            .map_err(|_| format!("{}: timed out", upstream.address))?
    }
}

/// One MLLP block around `content`.
fn frame(content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 3);
    pumpguard_hl7::mllp::encode(content, &mut out);
    out
}

/// The subject common name of a DER certificate.
fn subject_cn(der: &[u8]) -> Option<String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    cert.subject()
        .iter_common_name()
        .next()
        .and_then(|c| c.as_str().ok())
        .map(str::to_owned)
}

/// The connection to the pump server for one sender connection: its write half here,
/// its read half relayed to the sender by a task.
struct UpstreamLink {
    write: Box<dyn AsyncWrite + Unpin + Send>,
    relay: tokio::task::JoinHandle<()>,
    pending: Pending,
}

/// Messages forwarded and not yet answered, oldest first.
type Pending = Arc<std::sync::Mutex<std::collections::VecDeque<Vec<u8>>>>;

/// Unanswered messages remembered per connection (MLLP senders wait for each reply, so
/// one is usual).
const MAX_PENDING: usize = 64;

impl UpstreamLink {
    fn start<S>(
        stream: S,
        to_sender: mpsc::Sender<Vec<u8>>,
        gateway: Arc<Gateway>,
        sender: Sender,
    ) -> UpstreamLink
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let (read_half, write_half) = tokio::io::split(stream);
        let pending: Pending = Arc::new(std::sync::Mutex::new(std::collections::VecDeque::new()));
        let unanswered = pending.clone();
        let relay = tokio::spawn(async move {
            let mut frames = FramedRead::new(read_half, MllpCodec::new(gateway.limits.max_frame));
            while let Some(Ok(block)) = frames.next().await {
                let framed = match block {
                    Block::Message(m) => {
                        // A reply answers the oldest message still waiting.
                        if let Ok(mut p) = unanswered.lock() {
                            p.pop_front();
                        }
                        frame(&m)
                    }
                    Block::CommitAck => frame(&[0x06]),
                    Block::CommitNak => frame(&[0x15]),
                };
                if to_sender.send(framed).await.is_err() {
                    return;
                }
            }
            // The pump server closed (or broke) the connection: whatever it did not
            // answer was not delivered, and the sender must hear so.
            let lost: Vec<Vec<u8>> = match unanswered.lock() {
                Ok(mut p) => p.drain(..).collect(),
                Err(_) => Vec::new(),
            };
            for message in lost {
                if !gateway
                    .undelivered(
                        &sender,
                        &message,
                        "the pump server closed the connection without answering",
                        &to_sender,
                    )
                    .await
                {
                    return;
                }
            }
        });
        UpstreamLink {
            write: Box::new(write_half),
            relay,
            pending,
        }
    }

    /// Sends a message the pump server is to answer.
    async fn send_message(&mut self, framed: &[u8], message: &[u8]) -> std::io::Result<()> {
        if let Ok(mut p) = self.pending.lock()
            && p.len() < MAX_PENDING
        {
            p.push_back(message.to_vec());
        }
        self.send(framed).await
    }

    /// Whether the pump server closed its side.
    fn closed(&self) -> bool {
        self.relay.is_finished()
    }

    async fn send(&mut self, framed: &[u8]) -> std::io::Result<()> {
        self.write.write_all(framed).await?;
        self.write.flush().await
    }
}

impl Drop for UpstreamLink {
    fn drop(&mut self) {
        self.relay.abort();
    }
}
