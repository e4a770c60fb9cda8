//! The central side: a durable pull consumer on the stream hands messages over in
//! batches; each batch is decoded and written in one store transaction
//! ([`pumpguard_store::Store::ingest`]), and only then acknowledged. A message is
//! acknowledged when written or found written before, terminated when it can never be
//! written (not ours, unknown sensor, invalid), and otherwise left to be delivered
//! again. Ingesters that share the consumer's name share the work. Pulling only what
//! the store has taken is the back-pressure: a slow database leaves messages in the
//! stream, and a full stream makes sensors spool.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, AckKind, consumer, stream};
use futures_util::StreamExt;
use pumpguard_store::{SensorMessage, Store, Verdict};
use serde::Serialize;
use tokio::sync::watch;

use crate::FleetError;
use crate::schema::{self, STREAM, SUBJECT_PREFIX};

/// Message bytes per transaction (and prefetched) at most: what one transaction holds
/// decoded stays some tens of MiB however large the messages.
const MAX_BATCH_BYTES: usize = 4 << 20;

/// Where and how the ingester reads.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    pub url: String,
    pub user: Option<String>,
    pub password: Option<String>,
    /// The durable consumer's name; ingesters with the same one share the work.
    pub consumer: String,
    /// Messages per transaction at most.
    pub batch: usize,
    /// How long to wait for a batch to fill once its first message is in.
    pub linger: Duration,
    /// How long JetStream waits for an acknowledgement before delivering again.
    pub ack_wait: Duration,
    /// The stream's size limit; beyond it JetStream refuses new messages (sensors
    /// spool them) rather than dropping old ones.
    pub stream_max_bytes: i64,
    /// Stop after this long without a message (for tests and benchmarks).
    pub idle_exit: Option<Duration>,
    /// Who the audit trail names.
    pub actor: String,
}

/// What an ingester did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct IngestReport {
    /// Messages received (re-deliveries included).
    pub messages: u64,
    pub applied: u64,
    pub duplicates: u64,
    pub rejected: u64,
    /// Pieces of evidence, flows, detections and reports in the applied messages.
    pub observations: u64,
    pub transactions: u64,
    pub assets_created: u64,
    pub alerts_raised: u64,
    pub seconds: f64,
    /// From the first message received to the last commit.
    pub active_seconds: f64,
    /// Seconds spent in store transactions.
    pub store_seconds: f64,
}

/// Creates the stream, or brings its configuration up to date.
pub async fn ensure_stream(
    js: &jetstream::Context,
    max_bytes: i64,
) -> Result<stream::Stream, FleetError> {
    let config = stream::Config {
        name: STREAM.to_owned(),
        subjects: vec![format!("{SUBJECT_PREFIX}.>")],
        retention: stream::RetentionPolicy::WorkQueue,
        storage: stream::StorageType::File,
        discard: stream::DiscardPolicy::New,
        max_bytes,
        duplicate_window: Duration::from_secs(120),
        ..stream::Config::default()
    };
    if js.get_stream(STREAM).await.is_ok() {
        js.update_stream(config.clone())
            .await
            .map_err(|e| FleetError::Nats(format!("updating stream {STREAM}: {e}")))?;
    } else {
        js.create_stream(config.clone())
            .await
            .map_err(|e| FleetError::Nats(format!("creating stream {STREAM}: {e}")))?;
    }
    js.get_stream(STREAM)
        .await
        .map_err(|e| FleetError::Nats(format!("stream {STREAM}: {e}")))
}

/// Runs until `stop` turns true (or the idle time passes): each batch taken is
/// committed and acknowledged before the next is taken, and the one in hand when
/// stopping is finished first. `log` gets one line per notable event.
pub async fn run(
    store: &Store,
    opts: &IngestOptions,
    mut stop: watch::Receiver<bool>,
    log: &(dyn Fn(&str) + Sync),
) -> Result<IngestReport, FleetError> {
    let started = Instant::now();
    let mut connect = async_nats::ConnectOptions::new()
        .name(format!("pumpguard-ingest {}", opts.consumer))
        .custom_inbox_prefix(crate::natsconf::INGEST_INBOX)
        .max_reconnects(None);
    if let (Some(u), Some(p)) = (&opts.user, &opts.password) {
        connect = connect.user_and_password(u.clone(), p.clone());
    }
    let client = connect
        .connect(opts.url.as_str())
        .await
        .map_err(|e| FleetError::Nats(format!("{}: {e}", opts.url)))?;
    let js = jetstream::new(client.clone());
    let mut report = IngestReport::default();
    let mut warned: HashSet<String> = HashSet::new();
    let mut idle_since = Instant::now();
    let mut first_at: Option<Instant> = None;

    'connect: loop {
        if *stop.borrow() {
            break;
        }
        let consumer = match consumer_of(&js, opts).await {
            Ok(c) => c,
            Err(e) => {
                log(&format!("{e}; trying again in 1 s"));
                if wait_or_stop(&mut stop, Duration::from_secs(1)).await {
                    break;
                }
                continue;
            }
        };
        let mut messages = match consumer
            .stream()
            .max_messages_per_batch(opts.batch)
            .max_bytes_per_batch(MAX_BATCH_BYTES)
            .heartbeat(Duration::from_secs(5))
            .expires(Duration::from_secs(10))
            .messages()
            .await
        {
            Ok(m) => m,
            Err(e) => {
                log(&format!("reading {STREAM}: {e}; trying again in 1 s"));
                if wait_or_stop(&mut stop, Duration::from_secs(1)).await {
                    break;
                }
                continue;
            }
        };
        loop {
            // The first message of a batch: wait for it (or for stop / idleness).
            let first = tokio::select! {
                m = messages.next() => m,
                _ = stop.changed() => break 'connect,
                _ = tokio::time::sleep(Duration::from_millis(250)) => {
                    if let Some(idle) = opts.idle_exit && idle_since.elapsed() >= idle {
                        break 'connect;
                    }
                    continue;
                }
            };
            let mut batch = Vec::with_capacity(opts.batch);
            match first {
                Some(Ok(m)) => batch.push(m),
                Some(Err(e)) => {
                    log(&format!("reading {STREAM}: {e}; reconnecting"));
                    continue 'connect;
                }
                None => continue 'connect,
            }
            let deadline = Instant::now() + opts.linger;
            let mut bytes: usize = batch.iter().map(|m| m.payload.len()).sum();
            while batch.len() < opts.batch && bytes < MAX_BATCH_BYTES {
                let left = deadline.saturating_duration_since(Instant::now());
                match tokio::time::timeout(left, messages.next()).await {
                    Ok(Some(Ok(m))) => {
                        bytes += m.payload.len();
                        batch.push(m);
                    }
                    Ok(Some(Err(e))) => {
                        log(&format!("reading {STREAM}: {e}"));
                        break;
                    }
                    Ok(None) | Err(_) => break,
                }
            }
            idle_since = Instant::now();
            let first = *first_at.get_or_insert(idle_since);
            commit(store, opts, batch, &mut report, &mut warned, &mut stop, log).await?;
            report.active_seconds = first.elapsed().as_secs_f64();
        }
    }
    let _ = tokio::time::timeout(Duration::from_secs(5), client.flush()).await;
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

async fn consumer_of(
    js: &jetstream::Context,
    opts: &IngestOptions,
) -> Result<consumer::Consumer<consumer::pull::Config>, FleetError> {
    let stream = ensure_stream(js, opts.stream_max_bytes).await?;
    stream
        .get_or_create_consumer(
            &opts.consumer,
            consumer::pull::Config {
                durable_name: Some(opts.consumer.clone()),
                ack_policy: consumer::AckPolicy::Explicit,
                ack_wait: opts.ack_wait,
                max_ack_pending: (opts.batch * 4) as i64,
                ..consumer::pull::Config::default()
            },
        )
        .await
        .map_err(|e| FleetError::Nats(format!("consumer {}: {e}", opts.consumer)))
}

/// True when stopped within `d`.
async fn wait_or_stop(stop: &mut watch::Receiver<bool>, d: Duration) -> bool {
    tokio::select! {
        _ = stop.changed() => true,
        _ = tokio::time::sleep(d) => *stop.borrow(),
    }
}

/// Decodes, writes and acknowledges one batch. A database error is retried (the
/// messages stay unacknowledged meanwhile) until it succeeds or the ingester stops.
async fn commit(
    store: &Store,
    opts: &IngestOptions,
    batch: Vec<jetstream::Message>,
    report: &mut IngestReport,
    warned: &mut HashSet<String>,
    stop: &mut watch::Receiver<bool>,
    log: &(dyn Fn(&str) + Sync),
) -> Result<(), FleetError> {
    report.messages += batch.len() as u64;
    let mut decoded: Vec<SensorMessage> = Vec::with_capacity(batch.len());
    let mut owners: Vec<usize> = Vec::with_capacity(batch.len());
    for (i, m) in batch.iter().enumerate() {
        match schema::decode(m.subject.as_str(), &m.payload) {
            Ok(d) => {
                decoded.push(d);
                owners.push(i);
            }
            Err(e) => {
                report.rejected += 1;
                log(&format!("rejected a message on {}: {e}", m.subject));
                term(m).await;
            }
        }
    }
    let mut delay = Duration::from_millis(200);
    let summary = loop {
        let t = Instant::now();
        match store.ingest(&opts.actor, &decoded).await {
            Ok(s) => {
                report.store_seconds += t.elapsed().as_secs_f64();
                break s;
            }
            Err(e) => {
                log(&format!(
                    "writing {} messages: {e}; trying again in {:.1} s",
                    decoded.len(),
                    delay.as_secs_f64()
                ));
                if wait_or_stop(stop, delay).await {
                    // Unacknowledged: JetStream delivers them again later.
                    return Ok(());
                }
                delay = (delay * 2).min(Duration::from_secs(10));
            }
        }
    };
    report.transactions += 1;
    report.observations += summary.observations;
    report.assets_created += summary.sense.assets_created;
    report.alerts_raised += summary.sense.alerts_raised + summary.druglib.alerts_raised;
    for (verdict, (d, i)) in summary.verdicts.iter().zip(decoded.iter().zip(&owners)) {
        let m = &batch[*i];
        match verdict {
            Verdict::Applied => {
                report.applied += 1;
                ack(m).await;
            }
            Verdict::Duplicate => {
                report.duplicates += 1;
                ack(m).await;
            }
            Verdict::Rejected(why) => {
                report.rejected += 1;
                if warned.insert(format!("{}|{why}", d.sensor)) {
                    log(&format!(
                        "rejected message {} from sensor '{}': {why}",
                        d.id, d.sensor
                    ));
                }
                term(m).await;
            }
        }
    }
    Ok(())
}

async fn ack(m: &jetstream::Message) {
    // A lost acknowledgement means one more delivery, which the store skips.
    let _ = m.ack().await;
}

async fn term(m: &jetstream::Message) {
    let _ = m.ack_with(AckKind::Term).await;
}
