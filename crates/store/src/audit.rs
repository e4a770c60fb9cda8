//! Reading the audit chain back: verification, export and per-object history.

use std::io::Write;

use pumpguard_audit::{Break, Entry, Summary};

use crate::assets::dispatch;
use crate::backend::{postgres, sqlite};
use crate::{Backend, Result, Store};

/// The outcome of checking the stored chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditVerdict {
    Intact(Summary),
    /// The first record that cannot be trusted, and why.
    Broken(Break),
}

/// Which audit entries to list; `None` fields do not filter.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// `asset:PUMP-1`, `alert:7`, `certificate:SERIAL`…
    pub object: Option<String>,
    pub actor: Option<String>,
    /// `asset.lifecycle`, `alert.ack`…
    pub action: Option<String>,
    pub limit: Option<u64>,
    pub offset: u64,
}

impl Store {
    /// Checks the whole chain and its recorded head in one snapshot.
    pub async fn audit_verify(&self) -> Result<AuditVerdict> {
        dispatch!(self, audit_walk(None::<&mut std::io::Sink>))
    }

    /// Writes the chain as JSON Lines with its head trailer (see `pumpguard_audit`), and
    /// says whether what was written is intact. A broken chain is still written in full:
    /// it is evidence.
    pub async fn audit_export(&self, out: &mut dyn Write) -> Result<AuditVerdict> {
        dispatch!(self, audit_walk(Some(out)))
    }

    /// Entries matching `filter`, newest first (paged in the database).
    pub async fn audit_entries(&self, filter: &AuditFilter) -> Result<Vec<Entry>> {
        dispatch!(self, audit_entries(filter))
    }

    /// The entries about one object (`asset:PUMP-1`), oldest first.
    pub async fn audit_for_object(&self, object: &str) -> Result<Vec<Entry>> {
        dispatch!(self, audit_for_object(object))
    }
}
