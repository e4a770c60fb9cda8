//! Persistence for pumpguard: one [`Store`] API over two backends, SQLite (embedded
//! default, WAL) and PostgreSQL, chosen by URL (`sqlite://PATH`, `postgres://…`).
//!
//! The store owns the schema (migrations per backend under `migrations/`), the queries
//! and the transactions. Every mutation appends its audit entries and moves the audit
//! head in the same transaction as the change, so a change without its record (or a
//! record without its change) cannot be committed. The store knows nothing of files,
//! HTTP or the command line.
//!
//! # Schema
//! - `assets`: one row per asset; enum columns hold the model's snake_case names,
//!   `ips` a JSON array (primary first), `first_seen`/`last_seen` epoch microseconds.
//! - `audit_log`: the hash chain (`seq` from 1, `time` epoch µs, `detail` JSON text).
//! - `audit_head`: a single row with the newest `seq` and `hash`.
//! - `flows`: one row per bidirectional 5-tuple (`flow_key`, lower endpoint first),
//!   counters per direction added up across the sensor's batches.
//! - `observations`: the evidence behind assets' identity fields, one row per
//!   (asset, field, value, source) with confidence, first/last seen and a count.
//! - `alerts`: one row per `dedup_key` (`kind|subject|peer`, each end an asset id, else
//!   an address, else a MAC) with severity (and its generated `severity_rank`, 0–4),
//!   status, both ends, first/last seen, a count and `evidence` (JSON: flow keys, their
//!   `flow_ids`, facts, a sentence).
//! - `baselines`: one row per learned baseline `version` (increasing, never reused):
//!   when it was stored, its window and counts, its `origin`, and `body` (JSON of the
//!   model's `Baseline`).
//! - `vuln_documents`: imported advisories and SBOMs by `id`, `kind` (`advisory`/`sbom`),
//!   `format`, header fields, the `source` file and `body` (the model's normalised
//!   JSON); `vuln_entries` indexes each advisory's vulnerabilities (`cve`, headline
//!   score). `vuln_kev` and `vuln_epss` hold CISA KEV and EPSS by CVE; `vuln_triage`
//!   analysts' decisions per (`model`, `firmware` — '' for all —, `cve`).
//! - `assessment_answers`: people's answers to the question bank, one per `question_id`
//!   (`answer` a word of the scale, `note`, who and when); `assessment_evidence`: the
//!   evidence rules' latest answers beside them (`rule`, `answer`, `evidence` JSON, when
//!   it last changed); `mds2_answers`: manufacturers' MDS2 answers per (`model`,
//!   `question_id`) with the `capability`, the form's `source` and `document_id`.
//! - `pki_ca`: the one device CA (`id` = 1): its name, key algorithm, root and issuing
//!   certificates, their keys as encrypted PKCS#8, and `crl_number` of the last CRL;
//!   `pki_certificates`: every certificate issued, by hex `serial`, with `common_name`,
//!   `profile`, validity, `pem`, and `revoked`/`reason` once revoked.
//! - `druglib_approved`: the signed drug libraries approved, by `sha256`, with `name`,
//!   `version`, `care_area`, the signing `key_id`, when and by whom; `druglib_reports`:
//!   the ledger, one row per (`asset_id`, `version`) a pump reported, with `care_area`,
//!   `device`, `reporter`, first/last seen and a count.
//! - `users`: console/API users by `name` with an argon2id `password_hash` and a `role`;
//!   `user_tokens`: bearer tokens (`kind` api) and console sessions (`session`, with its
//!   `csrf` token) by public `id`, kept as the SHA-256 of the secret, with `expires` and
//!   `revoked`.
//! - `sensors`: remote sensors by `name` with when the central store last heard from
//!   each (`last_contact`), when it sent that message (`last_sent`), the lag between
//!   them (`lag_us`) and counters; `sensor_messages`: the ids of ingested messages
//!   (kept 7 days), so that none is written twice.

mod alerts;
mod assessment;
mod assets;
mod audit;
mod backend;
mod baselines;
mod druglib;
mod fleet;
mod pki;
mod rows;
mod sensing;
mod users;
mod vuln;

use std::str::FromStr;
use std::time::Duration;

use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};

pub use alerts::{AlertFilter, AuditRecord};
pub use assessment::{AnswerRecord, EvidenceRecord, Mds2ImportSummary, Mds2Record};
pub use assets::{AssetFilter, AssetSearch, ImportSummary, LifecycleChange};
pub use audit::{AuditFilter, AuditVerdict};
pub use druglib::{
    ApprovedLibrary, DruglibSummary, LedgerRow, LibraryApproval, LibraryReport, approved_match,
};
pub use fleet::{
    IngestSummary, MESSAGE_ID_RETENTION_DAYS, SensorMessage, SensorRecord, Verdict,
    check_sensor_name,
};
pub use pki::{
    CaRecord, CertRecord, EstUser, RevokedRecord, ServerKey, expiry_alerts,
    pump_certificate_coverage,
};
pub use sensing::{FlowFilter, SenseSummary};
pub use users::{Counts, TokenRecord, UserRecord};
pub use vuln::VulnImportSummary;

/// What can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database URL is not one we can open.
    #[error("bad database URL '{url}': {why}")]
    BadUrl { url: String, why: String },
    /// Input item `index` (0-based, in the order given) was refused; nothing was written.
    #[error("{why}")]
    Rejected { index: usize, why: String },
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    Invalid(String),
    /// A stored row does not decode into the domain (edited outside pumpguard?).
    #[error("corrupt row in {table}: {why}")]
    Corrupt { table: &'static str, why: String },
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl StoreError {
    /// Whether the caller's input (not the machine) is at fault.
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            StoreError::BadUrl { .. }
                | StoreError::Rejected { .. }
                | StoreError::NotFound(_)
                | StoreError::Invalid(_)
        )
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The SQL that differs between the backends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// Starts a write transaction. SQLite takes the write lock up front, so two writers
    /// queue on `busy_timeout` instead of failing to upgrade a read lock.
    pub(crate) fn begin_write(self) -> &'static str {
        match self {
            Dialect::Sqlite => "BEGIN IMMEDIATE",
            Dialect::Postgres => "BEGIN",
        }
    }

    /// Starts a read-only snapshot.
    pub(crate) fn begin_read(self) -> &'static str {
        match self {
            Dialect::Sqlite => "BEGIN",
            Dialect::Postgres => "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
        }
    }

    /// Reads the audit head inside a write transaction, locking it on PostgreSQL so that
    /// concurrent writers append one after the other.
    pub(crate) fn lock_audit_head(self) -> &'static str {
        match self {
            Dialect::Sqlite => "SELECT seq, hash FROM audit_head WHERE id = 1",
            Dialect::Postgres => "SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE",
        }
    }
}

#[derive(Debug, Clone)]
enum Backend {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to the concrete pool and `$dialect` to its
/// [`Dialect`]: the body is written once and type-checked for each backend.
macro_rules! with_pool {
    ($store:expr, |$pool:ident, $dialect:ident| $body:expr) => {
        match &$store.backend {
            $crate::Backend::Sqlite($pool) => {
                #[allow(unused_variables)]
                let $dialect = $crate::Dialect::Sqlite;
                $body
            }
            $crate::Backend::Postgres($pool) => {
                #[allow(unused_variables)]
                let $dialect = $crate::Dialect::Postgres;
                $body
            }
        }
    };
}

/// A handle on the database; cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    backend: Backend,
}

impl Store {
    /// Opens (creating if needed) the database at `url` and brings its schema up to date.
    /// `sqlite://PATH`, `sqlite:PATH` or a bare path select SQLite; `postgres://…` or
    /// `postgresql://…` PostgreSQL.
    pub async fn open(url: &str) -> Result<Store> {
        let bad = |why: String| StoreError::BadUrl {
            url: url.to_owned(),
            why,
        };
        let backend = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let options = PgConnectOptions::from_str(url).map_err(|e| bad(e.to_string()))?;
            // One direct attempt first: the pool would retry a refused connection until
            // its acquire timeout, and an operator wants the refusal at once.
            PgConnection::connect_with(&options).await?.close().await?;
            let pool = PgPoolOptions::new()
                .max_connections(4)
                .acquire_timeout(Duration::from_secs(30))
                .connect_with(options)
                .await?;
            sqlx::migrate!("./migrations/postgres").run(&pool).await?;
            Backend::Postgres(pool)
        } else {
            let path = url
                .strip_prefix("sqlite://")
                .or_else(|| url.strip_prefix("sqlite:"))
                .unwrap_or(url);
            if path.is_empty() {
                return Err(bad("no file path".into()));
            }
            if url.contains("://") && !url.starts_with("sqlite://") {
                return Err(bad("expected sqlite://PATH or postgres://…".into()));
            }
            let options = if path == ":memory:" {
                SqliteConnectOptions::from_str("sqlite::memory:")?
            } else {
                SqliteConnectOptions::new()
                    .filename(path)
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
            }
            .foreign_keys(true)
            // 16 KiB pages (for a new file) and a 64 MiB page cache: a 100,000-asset
            // import ran about 10 % faster than with 4 KiB pages (bench/import.sh).
            .pragma("page_size", "16384")
            .pragma("cache_size", "-65536")
            // Multi-row upserts keep a statement journal: in memory, not a temp file
            // (a sensed capture's 50,000 flows wrote 5 % of their time to it).
            .pragma("temp_store", "memory")
            .busy_timeout(Duration::from_secs(60));
            // An in-memory database lives in one connection.
            let max = if path == ":memory:" { 1 } else { 4 };
            let pool = SqlitePoolOptions::new()
                .max_connections(max)
                .connect_with(options)
                .await
                .map_err(|e| bad(e.to_string()))?;
            sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
            Backend::Sqlite(pool)
        };
        Ok(Store { backend })
    }

    /// `sqlite` or `postgres`.
    pub fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    /// Closes every connection, waiting for them to finish.
    pub async fn close(&self) {
        with_pool!(self, |pool, _d| pool.close().await)
    }
}
