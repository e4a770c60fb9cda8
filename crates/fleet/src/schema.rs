//! The message schema between a sensor and the central ingester (version 1).
//!
//! One JetStream stream, [`STREAM`], holds every subject under `pumpguard.v1.`; a
//! message's subject is `pumpguard.v1.SENSOR.KIND`, KIND one of [`Kind`]. The body is
//! a JSON [`Envelope`]: the schema name, the sensor, its run id (one per process), a
//! sequence number within the run, when it was sent, and items of the subject's kind
//! only. The message id (`Nats-Msg-Id`, and the key the central store de-duplicates on)
//! is `SENSOR.RUN.SEQ`. A batch is sent kind by kind in the order the store merges it:
//! sightings, flows, detections, drug-library reports.

use jiff::Timestamp;
use pumpguard_model::{Detection, FlowRecord, LibraryReport, Sighting};
use pumpguard_sensor::Batch;
use pumpguard_store::SensorMessage;
use serde::{Deserialize, Serialize};

/// The JetStream stream.
pub const STREAM: &str = "PUMPGUARD";
/// Every subject of schema version 1 starts with this.
pub const SUBJECT_PREFIX: &str = "pumpguard.v1";
/// The `schema` of every envelope of version 1.
pub const SCHEMA: &str = "pumpguard.sensor/1";
/// A message's body stays under this many bytes (nats-server's default maximum payload
/// is 1 MiB).
pub const MAX_BODY: usize = 512 * 1024;
/// Items per message before splitting by size, unless told otherwise.
pub const ITEMS_PER_MESSAGE: usize = 500;

/// What a message carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Sightings,
    Flows,
    Detections,
    Druglib,
    /// Nothing: the sensor is alive (keeps its last contact and lag current).
    Heartbeat,
}

impl Kind {
    pub const ALL: [Kind; 5] = [
        Kind::Sightings,
        Kind::Flows,
        Kind::Detections,
        Kind::Druglib,
        Kind::Heartbeat,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Sightings => "sightings",
            Kind::Flows => "flows",
            Kind::Detections => "detections",
            Kind::Druglib => "druglib",
            Kind::Heartbeat => "heartbeat",
        }
    }
}

/// `pumpguard.v1.SENSOR.KIND`.
pub fn subject(sensor: &str, kind: Kind) -> String {
    format!("{SUBJECT_PREFIX}.{sensor}.{}", kind.as_str())
}

/// The sensor and kind a subject names, if it is one of ours.
pub fn parse_subject(subject: &str) -> Option<(&str, Kind)> {
    let rest = subject.strip_prefix(SUBJECT_PREFIX)?.strip_prefix('.')?;
    let (sensor, kind) = rest.split_once('.')?;
    let kind = Kind::ALL.into_iter().find(|k| k.as_str() == kind)?;
    (!sensor.is_empty()).then_some((sensor, kind))
}

/// A message body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Envelope {
    pub schema: String,
    pub sensor: String,
    pub run: String,
    pub seq: u64,
    pub sent: Timestamp,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sightings: Vec<Sighting>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flows: Vec<FlowRecord>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub detections: Vec<Detection>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub druglib: Vec<LibraryReport>,
}

impl Envelope {
    /// `SENSOR.RUN.SEQ`.
    pub fn id(&self) -> String {
        message_id(&self.sensor, &self.run, self.seq)
    }

    /// The kind its items are of (a heartbeat when it has none; `None` when it mixes
    /// kinds).
    pub fn kind(&self) -> Option<Kind> {
        let present = [
            (!self.sightings.is_empty(), Kind::Sightings),
            (!self.flows.is_empty(), Kind::Flows),
            (!self.detections.is_empty(), Kind::Detections),
            (!self.druglib.is_empty(), Kind::Druglib),
        ];
        let mut kinds = present.iter().filter(|(p, _)| *p).map(|(_, k)| *k);
        match (kinds.next(), kinds.next()) {
            (None, _) => Some(Kind::Heartbeat),
            (Some(k), None) => Some(k),
            (Some(_), Some(_)) => None,
        }
    }
}

/// `SENSOR.RUN.SEQ`.
pub fn message_id(sensor: &str, run: &str, seq: u64) -> String {
    format!("{sensor}.{run}.{seq}")
}

/// A message ready to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    pub subject: String,
    pub id: String,
    pub body: Vec<u8>,
}

/// Why a received message cannot be ingested.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("subject '{0}' is not pumpguard.v1.SENSOR.KIND")]
    Subject(String),
    #[error("body is not a {SCHEMA} envelope: {0}")]
    Body(String),
    #[error("schema '{0}' is not {SCHEMA}")]
    Schema(String),
    #[error("sent as sensor '{subject}' but the body says '{body}'")]
    Sensor { subject: String, body: String },
    #[error("a {0} message holds other items")]
    Kind(&'static str),
}

/// Reads a received message as the store ingests it. The subject's sensor is the one
/// NATS authorised to publish it, so the body must agree with it.
pub fn decode(subject: &str, body: &[u8]) -> Result<SensorMessage, DecodeError> {
    let (sensor, kind) =
        parse_subject(subject).ok_or_else(|| DecodeError::Subject(subject.to_owned()))?;
    let e: Envelope = serde_json::from_slice(body).map_err(|e| DecodeError::Body(e.to_string()))?;
    if e.schema != SCHEMA {
        return Err(DecodeError::Schema(e.schema));
    }
    if e.sensor != sensor {
        return Err(DecodeError::Sensor {
            subject: sensor.to_owned(),
            body: e.sensor,
        });
    }
    if e.kind() != Some(kind) {
        return Err(DecodeError::Kind(kind.as_str()));
    }
    Ok(SensorMessage {
        id: e.id(),
        sensor: e.sensor,
        run: e.run,
        sent: e.sent,
        sightings: e.sightings,
        flows: e.flows,
        detections: e.detections,
        druglib: e.druglib,
    })
}

/// Numbers a sensor's messages: one per process run.
#[derive(Debug, Clone)]
pub struct Packer {
    sensor: String,
    run: String,
    seq: u64,
    items: usize,
}

impl Packer {
    /// A packer for a new run of `sensor` (a fresh UUIDv7 run id).
    pub fn new(sensor: &str) -> Packer {
        Packer {
            sensor: sensor.to_owned(),
            run: uuid::Uuid::now_v7().simple().to_string(),
            seq: 0,
            items: ITEMS_PER_MESSAGE,
        }
    }

    /// At most `n` items per message (at least one).
    pub fn with_items(mut self, n: usize) -> Packer {
        self.items = n.max(1);
        self
    }

    pub fn run(&self) -> &str {
        &self.run
    }

    /// Messages sent so far.
    pub fn sent(&self) -> u64 {
        self.seq
    }

    /// A batch as messages, kind by kind, each under [`MAX_BODY`] bytes. An empty
    /// batch gives no message.
    pub fn pack(&mut self, batch: &Batch, now: Timestamp) -> Vec<Outgoing> {
        let mut out = Vec::new();
        self.chunks(&batch.sightings, now, Kind::Sightings, &mut out, |e, v| {
            e.sightings = v
        });
        self.chunks(&batch.flows, now, Kind::Flows, &mut out, |e, v| e.flows = v);
        self.chunks(
            &batch.detections,
            now,
            Kind::Detections,
            &mut out,
            |e, v| e.detections = v,
        );
        self.chunks(&batch.druglib, now, Kind::Druglib, &mut out, |e, v| {
            e.druglib = v
        });
        out
    }

    /// A heartbeat message.
    pub fn heartbeat(&mut self, now: Timestamp) -> Outgoing {
        let e = self.envelope(now);
        self.finish(Kind::Heartbeat, &e)
    }

    fn envelope(&mut self, now: Timestamp) -> Envelope {
        self.seq += 1;
        Envelope {
            schema: SCHEMA.to_owned(),
            sensor: self.sensor.clone(),
            run: self.run.clone(),
            seq: self.seq,
            sent: now,
            sightings: Vec::new(),
            flows: Vec::new(),
            detections: Vec::new(),
            druglib: Vec::new(),
        }
    }

    fn finish(&self, kind: Kind, e: &Envelope) -> Outgoing {
        Outgoing {
            subject: subject(&self.sensor, kind),
            id: e.id(),
            // A model value always serialises.
            body: serde_json::to_vec(e).unwrap_or_default(),
        }
    }

    /// Items as messages of at most the packer's number of items, halved until each
    /// body fits [`MAX_BODY`].
    fn chunks<T: Clone>(
        &mut self,
        items: &[T],
        now: Timestamp,
        kind: Kind,
        out: &mut Vec<Outgoing>,
        put: impl Fn(&mut Envelope, Vec<T>) + Copy,
    ) {
        for chunk in items.chunks(self.items) {
            self.fit(chunk, now, kind, out, put);
        }
    }

    fn fit<T: Clone>(
        &mut self,
        items: &[T],
        now: Timestamp,
        kind: Kind,
        out: &mut Vec<Outgoing>,
        put: impl Fn(&mut Envelope, Vec<T>) + Copy,
    ) {
        let seq = self.seq;
        let mut e = self.envelope(now);
        put(&mut e, items.to_vec());
        let msg = self.finish(kind, &e);
        if msg.body.len() <= MAX_BODY || items.len() == 1 {
            out.push(msg);
            return;
        }
        self.seq = seq;
        let (a, b) = items.split_at(items.len() / 2);
        self.fit(a, now, kind, out, put);
        self.fit(b, now, kind, out, put);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flow(port: u16) -> FlowRecord {
        FlowRecord {
            proto: "udp".into(),
            client_ip: "10.0.0.1".parse().unwrap(),
            client_port: port,
            server_ip: "10.0.0.2".parse().unwrap(),
            server_port: 53,
            client_mac: None,
            server_mac: None,
            vlan: None,
            app: "dns".into(),
            packets_to_server: 1,
            packets_to_client: 1,
            bytes_to_server: 60,
            bytes_to_client: 90,
            first_seen: Timestamp::UNIX_EPOCH,
            last_seen: Timestamp::UNIX_EPOCH,
            sessions: 1,
            tcp_state: "none".into(),
        }
    }

    #[test]
    fn a_batch_packs_into_numbered_messages_that_decode_back() {
        let mut p = Packer::new("ward-3");
        let batch = Batch {
            flows: (0..1203).map(flow).collect(),
            ..Batch::default()
        };
        let now = Timestamp::UNIX_EPOCH;
        let out = p.pack(&batch, now);
        assert_eq!(out.len(), 3);
        let mut flows = Vec::new();
        for (i, m) in out.iter().enumerate() {
            assert_eq!(m.subject, "pumpguard.v1.ward-3.flows");
            assert_eq!(m.id, format!("ward-3.{}.{}", p.run(), i + 1));
            let d = decode(&m.subject, &m.body).unwrap();
            assert_eq!(d.id, m.id);
            flows.extend(d.flows);
        }
        assert_eq!(flows, batch.flows);
        let hb = p.heartbeat(now);
        assert_eq!(hb.subject, "pumpguard.v1.ward-3.heartbeat");
        assert!(decode(&hb.subject, &hb.body).unwrap().flows.is_empty());
        assert_eq!(p.sent(), 4);
    }

    #[test]
    fn large_items_split_until_each_body_fits() {
        let mut p = Packer::new("s");
        let mut big = flow(1);
        big.app = "x".repeat(4000);
        let batch = Batch {
            flows: vec![big; 400],
            ..Batch::default()
        };
        let out = p.pack(&batch, Timestamp::UNIX_EPOCH);
        assert!(out.len() >= 4, "{}", out.len());
        assert!(out.iter().all(|m| m.body.len() <= MAX_BODY));
        let total: usize = out
            .iter()
            .map(|m| decode(&m.subject, &m.body).unwrap().flows.len())
            .sum();
        assert_eq!(total, 400);
        // Sequence numbers stay dense after a split.
        let ids: Vec<String> = (1..=out.len() as u64)
            .map(|s| message_id("s", p.run(), s))
            .collect();
        assert_eq!(out.iter().map(|m| m.id.clone()).collect::<Vec<_>>(), ids);
    }

    #[test]
    fn a_body_must_agree_with_its_subject() {
        let mut p = Packer::new("a");
        let batch = Batch {
            flows: vec![flow(1)],
            ..Batch::default()
        };
        let m = p.pack(&batch, Timestamp::UNIX_EPOCH).remove(0);
        assert!(matches!(
            decode("pumpguard.v1.b.flows", &m.body),
            Err(DecodeError::Sensor { .. })
        ));
        assert_eq!(
            decode("pumpguard.v1.a.sightings", &m.body),
            Err(DecodeError::Kind("sightings"))
        );
        assert!(matches!(
            decode("pumpguard.v2.a.flows", &m.body),
            Err(DecodeError::Subject(_))
        ));
        assert!(matches!(
            decode("pumpguard.v1.a.flows", b"{\"schema\":1"),
            Err(DecodeError::Body(_))
        ));
        let other = String::from_utf8(m.body.clone())
            .unwrap()
            .replace(SCHEMA, "pumpguard.sensor/2");
        assert!(matches!(
            decode("pumpguard.v1.a.flows", other.as_bytes()),
            Err(DecodeError::Schema(_))
        ));
    }
}
