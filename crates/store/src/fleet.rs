//! Remote sensors and what they send (issue 13): the sensors a central store accepts,
//! and the ingest of their messages. Each message is written once: its id is kept in
//! the transaction that writes it, so a message delivered again (by JetStream after an
//! ingester died, or by a sensor replaying its spool) is skipped. Audited: `sensor.add`,
//! `sensor.password` and `sensor.remove` on `sensor:NAME`; what messages change is audited as `sense`
//! audits it, with the origin `sensor:NAME`. Row decoding lives here; the SQL in
//! `ops.rs`.

use pumpguard_model::time::{Timestamp, from_micros};
use pumpguard_model::{Detection, FlowRecord, LibraryReport, Sighting};
use serde::Serialize;

use crate::assets::dispatch;
use crate::backend::{postgres, sqlite};
use crate::druglib::DruglibSummary;
use crate::pki::corrupt;
use crate::sensing::SenseSummary;
use crate::{Backend, Result, Store, StoreError};

/// How long ingested message ids are kept for de-duplication (7 days): longer than
/// JetStream keeps an unacknowledged message or a sensor is expected to spool.
pub const MESSAGE_ID_RETENTION_DAYS: i64 = 7;

/// A sensor the central store accepts messages from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SensorRecord {
    pub name: String,
    pub created: Timestamp,
    /// The bcrypt hash (`$2a$`) of its NATS password, for the NATS server's
    /// configuration (the store never sees the password).
    #[serde(skip_serializing)]
    pub nats_password_hash: String,
    /// When its newest message was ingested.
    pub last_contact: Option<Timestamp>,
    /// When the sensor sent that message.
    pub last_sent: Option<Timestamp>,
    /// Ingest time minus send time of that message, in milliseconds.
    pub lag_ms: Option<i64>,
    /// Messages ingested (duplicates not counted).
    pub messages: i64,
    /// Pieces of evidence, flows, detections and drug-library reports in them.
    pub observations: i64,
    /// The sensor process's run id, from its newest message.
    pub last_run: Option<String>,
}

/// One message from a sensor, decoded: what one `sense` batch (or part of one) found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SensorMessage {
    /// Unique per message and stable across re-deliveries: `SENSOR.RUN.SEQ`.
    pub id: String,
    pub sensor: String,
    /// The sensor process's run id.
    pub run: String,
    pub sent: Timestamp,
    pub sightings: Vec<Sighting>,
    pub flows: Vec<FlowRecord>,
    pub detections: Vec<Detection>,
    pub druglib: Vec<LibraryReport>,
}

impl SensorMessage {
    /// Pieces of evidence, flows, detections and drug-library reports.
    pub fn observations(&self) -> u64 {
        let evidence: usize = self.sightings.iter().map(|s| s.evidence.len()).sum();
        (evidence + self.flows.len() + self.detections.len() + self.druglib.len()) as u64
    }
}

/// What became of one message of an ingest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "verdict", content = "why")]
pub enum Verdict {
    /// Written now.
    Applied,
    /// Written before (or earlier in the same call): skipped.
    Duplicate,
    /// Not written, and never will be: the sensor is unknown, or the content invalid.
    Rejected(String),
}

/// What one ingest call did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct IngestSummary {
    /// One per message, in the order given.
    pub verdicts: Vec<Verdict>,
    pub observations: u64,
    pub sense: SenseSummary,
    pub druglib: DruglibSummary,
}

/// A sensor's name: 1–64 of `a-z 0-9 _ -`, starting with a letter or digit, so that it
/// is one NATS subject token and one word in a file name.
pub fn check_sensor_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
        && !name.starts_with(['-', '_']);
    if ok {
        Ok(())
    } else {
        Err(StoreError::Invalid(format!(
            "sensor name '{name}': use 1-64 of a-z, 0-9, '-' and '_', starting with a letter or digit"
        )))
    }
}

pub(crate) type SensorRow = (
    String,
    i64,
    String,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    i64,
    i64,
    Option<String>,
);

pub(crate) const SENSOR_COLUMNS: &str = "name, created, nats_password_hash, last_contact, last_sent, lag_us, messages, observations, last_run";

fn sensor_of(r: SensorRow) -> Result<SensorRecord> {
    let at = |what: &str, v: i64| {
        from_micros(v).ok_or_else(|| corrupt("sensors", format!("{}: {what} {v}", r.0)))
    };
    Ok(SensorRecord {
        created: at("created", r.1)?,
        last_contact: r.3.map(|v| at("last_contact", v)).transpose()?,
        last_sent: r.4.map(|v| at("last_sent", v)).transpose()?,
        lag_ms: r.5.map(|v| v / 1000),
        messages: r.6,
        observations: r.7,
        last_run: r.8.clone(),
        nats_password_hash: r.2,
        name: r.0,
    })
}

impl Store {
    /// Accepts messages from a new sensor, audited `sensor.add`; an existing name or a
    /// bad one is refused (`Invalid`). `nats_password_hash` is the bcrypt hash of the
    /// password it connects to NATS with.
    pub async fn sensor_add(
        &self,
        actor: &str,
        name: &str,
        nats_password_hash: &str,
    ) -> Result<()> {
        check_sensor_name(name)?;
        dispatch!(self, sensor_add(actor, name, nats_password_hash))
    }

    /// Gives a sensor a new NATS password hash, audited `sensor.password`.
    pub async fn sensor_set_password(
        &self,
        actor: &str,
        name: &str,
        nats_password_hash: &str,
    ) -> Result<()> {
        dispatch!(self, sensor_set_password(actor, name, nats_password_hash))
    }

    /// Stops accepting a sensor's messages, audited `sensor.remove`; what it sent stays.
    pub async fn sensor_remove(&self, actor: &str, name: &str) -> Result<()> {
        dispatch!(self, sensor_remove(actor, name))
    }

    /// Every sensor, by name.
    pub async fn sensors(&self) -> Result<Vec<SensorRecord>> {
        let rows: Vec<SensorRow> = dispatch!(self, sensors())?;
        rows.into_iter().map(sensor_of).collect()
    }

    /// Writes sensors' messages in one transaction: each message of a known sensor not
    /// ingested before is merged as `record_sense` and `record_druglib_reports` merge a
    /// batch (per sensor, in the order given, with the origin `sensor:NAME`), its id is
    /// kept, and its sensor's last contact, lag and counters move. Messages of unknown
    /// sensors or with invalid content are rejected without failing the others. A
    /// database error writes nothing.
    pub async fn ingest(&self, actor: &str, messages: &[SensorMessage]) -> Result<IngestSummary> {
        dispatch!(self, ingest(actor, messages))
    }
}
