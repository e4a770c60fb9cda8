//! The sensor's side: batches become messages ([`crate::schema::Packer`]) published to
//! JetStream, each awaited for its acknowledgement. What NATS does not take (it is
//! down, the stream is missing or full) goes to the spool, and everything after it
//! follows it there, so the central store sees a sensor's messages in order; the spool
//! is replayed before anything new is published.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use async_nats::jetstream;
use jiff::Timestamp;
use pumpguard_sensor::Batch;
use serde::Serialize;

use crate::FleetError;
use crate::schema::{Outgoing, Packer};
use crate::spool::{Spool, SpoolError};

/// Messages published before their acknowledgements are awaited.
const WINDOW: usize = 64;

/// Where and as whom a sensor publishes.
#[derive(Debug, Clone)]
pub struct PublishOptions {
    /// `nats://HOST:PORT`.
    pub url: String,
    pub sensor: String,
    /// NATS user and password (`sensor-NAME` by `pumpguard sensors nats-config`).
    pub user: Option<String>,
    pub password: Option<String>,
    pub spool: PathBuf,
    pub spool_max_bytes: u64,
    /// How long to wait for JetStream to acknowledge a message.
    pub ack_timeout: Duration,
    /// Items per message at most ([`crate::schema::ITEMS_PER_MESSAGE`] by default).
    pub items_per_message: usize,
}

/// What a publisher did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PublishStats {
    /// Messages made (heartbeats included).
    pub messages: u64,
    /// Pieces of evidence, flows, detections and drug-library reports in them.
    pub observations: u64,
    /// Acknowledged by JetStream, at once or from the spool.
    pub published: u64,
    /// Written to the spool.
    pub spooled: u64,
    /// Published from the spool.
    pub replayed: u64,
    /// Waiting in the spool now.
    pub waiting: u64,
}

/// Publishes one sensor's messages.
pub struct Publisher {
    client: async_nats::Client,
    js: jetstream::Context,
    packer: Packer,
    spool: Spool,
    stats: PublishStats,
}

impl std::fmt::Debug for Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publisher")
            .field("run", &self.packer.run())
            .field("spool", &self.spool.path())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl Publisher {
    /// Opens the spool (replaying nothing yet) and starts connecting. A NATS server
    /// that is down is not an error: the client keeps trying, and messages spool.
    pub async fn connect(opts: &PublishOptions) -> Result<Publisher, FleetError> {
        pumpguard_store::check_sensor_name(&opts.sensor)
            .map_err(|e| FleetError::Input(e.to_string()))?;
        let spool = Spool::open(&opts.spool, opts.spool_max_bytes)?;
        let mut connect = async_nats::ConnectOptions::new()
            .name(format!("pumpguard-sensor {}", opts.sensor))
            .custom_inbox_prefix(crate::natsconf::sensor_inbox(&opts.sensor))
            .retry_on_initial_connect()
            .max_reconnects(None);
        if let (Some(u), Some(p)) = (&opts.user, &opts.password) {
            connect = connect.user_and_password(u.clone(), p.clone());
        }
        let client = connect
            .connect(opts.url.as_str())
            .await
            .map_err(|e| FleetError::Nats(format!("{}: {e}", opts.url)))?;
        let mut js = jetstream::new(client.clone());
        js.set_timeout(opts.ack_timeout);
        let stats = PublishStats {
            waiting: spool.pending(),
            ..PublishStats::default()
        };
        Ok(Publisher {
            client,
            js,
            packer: Packer::new(&opts.sensor).with_items(opts.items_per_message),
            spool,
            stats,
        })
    }

    pub fn stats(&self) -> PublishStats {
        PublishStats {
            waiting: self.spool.pending(),
            ..self.stats.clone()
        }
    }

    /// The run id this process's messages carry.
    pub fn run(&self) -> &str {
        self.packer.run()
    }

    pub fn spool_path(&self) -> &std::path::Path {
        self.spool.path()
    }

    /// Sends a batch (nothing when it is empty). Returns once every message is
    /// acknowledged or spooled; while the spool is full it waits for NATS, so a
    /// sensor that cannot send slows down rather than forgets.
    pub async fn send(&mut self, batch: &Batch) -> Result<(), FleetError> {
        let msgs = self.packer.pack(batch, Timestamp::now());
        let evidence: usize = batch.sightings.iter().map(|s| s.evidence.len()).sum();
        self.stats.observations +=
            (evidence + batch.flows.len() + batch.detections.len() + batch.druglib.len()) as u64;
        self.deliver(msgs).await
    }

    /// Sends a heartbeat (keeps the sensor's last contact current while idle).
    pub async fn heartbeat(&mut self) -> Result<(), FleetError> {
        let m = self.packer.heartbeat(Timestamp::now());
        self.deliver(vec![m]).await
    }

    async fn deliver(&mut self, msgs: Vec<Outgoing>) -> Result<(), FleetError> {
        self.stats.messages += msgs.len() as u64;
        if !self.spool.is_empty() {
            self.replay().await?;
        }
        if !self.spool.is_empty() {
            return self.spool_up(&msgs).await;
        }
        let mut done = 0;
        while done < msgs.len() {
            let window = &msgs[done..(done + WINDOW).min(msgs.len())];
            let ok = self.publish(window).await;
            self.stats.published += ok as u64;
            done += ok;
            if ok < window.len() {
                return self.spool_up(&msgs[done..]).await;
            }
        }
        Ok(())
    }

    /// Publishes messages and awaits their acknowledgements; returns how many from the
    /// front were acknowledged (the rest are to be spooled: some of them may have
    /// reached the stream, which de-duplicates them by id, as does the central store).
    async fn publish(&self, msgs: &[Outgoing]) -> usize {
        let mut acks = Vec::with_capacity(msgs.len());
        for m in msgs {
            let mut headers = async_nats::HeaderMap::new();
            headers.insert(async_nats::header::NATS_MESSAGE_ID, m.id.as_str());
            match self
                .js
                .publish_with_headers(m.subject.clone(), headers, m.body.clone().into())
                .await
            {
                Ok(ack) => acks.push(ack),
                Err(_) => break,
            }
        }
        let mut ok = 0;
        for ack in acks {
            if ack.await.is_err() {
                break;
            }
            ok += 1;
        }
        ok
    }

    /// Spools messages; while the spool is full, waits for NATS to drain it.
    async fn spool_up(&mut self, msgs: &[Outgoing]) -> Result<(), FleetError> {
        loop {
            match self.spool.push(msgs) {
                Ok(()) => {
                    self.stats.spooled += msgs.len() as u64;
                    return Ok(());
                }
                Err(SpoolError::Full { .. }) => {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    self.replay().await?;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Publishes the spool's messages, front first, until it is empty or NATS stops
    /// taking them.
    pub async fn replay(&mut self) -> Result<(), FleetError> {
        while !self.spool.is_empty() {
            let front = self.spool.peek(WINDOW)?;
            let msgs: Vec<Outgoing> = front.iter().map(|(m, _)| m.clone()).collect();
            let ok = self.publish(&msgs).await;
            if ok > 0 {
                self.spool.advance(front[ok - 1].1, ok as u64)?;
                self.stats.published += ok as u64;
                self.stats.replayed += ok as u64;
            }
            if ok < msgs.len() {
                break;
            }
        }
        Ok(())
    }

    /// Replays the spool until it is empty or `within` has passed; returns how many
    /// messages still wait.
    pub async fn drain(&mut self, within: Duration) -> Result<u64, FleetError> {
        let started = Instant::now();
        loop {
            self.replay().await?;
            if self.spool.is_empty() || started.elapsed() >= within {
                return Ok(self.spool.pending());
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Sends whatever the client still buffers.
    pub async fn close(self) {
        let _ = tokio::time::timeout(Duration::from_secs(2), self.client.flush()).await;
    }
}
