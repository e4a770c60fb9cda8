//! Remote sensing (issue 13): sensors at the sites publish what they sense to NATS
//! JetStream; central ingesters write it to the central store (PostgreSQL for a
//! hospital system).
//!
//! - [`schema`]: the versioned message schema, subjects and message ids;
//! - [`spool`]: the sensor's bounded file of messages NATS has not taken yet;
//! - [`publish`]: the sensor's publisher (spooling and replaying);
//! - [`ingest`]: the central ingester (durable consumer, batched idempotent writes);
//! - [`natsconf`]: per-sensor NATS users and permissions for nats-server.

pub mod ingest;
pub mod natsconf;
pub mod publish;
pub mod schema;
pub mod spool;

pub use ingest::{IngestOptions, IngestReport};
pub use publish::{PublishOptions, PublishStats, Publisher};

/// Why remote sensing failed.
#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    #[error("{0}")]
    Input(String),
    #[error("NATS: {0}")]
    Nats(String),
    #[error(transparent)]
    Spool(#[from] spool::SpoolError),
    #[error(transparent)]
    Store(#[from] pumpguard_store::StoreError),
}
