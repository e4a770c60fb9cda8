//! The device PKI's records: the one CA (certificates and sealed keys, the number of
//! its last CRL) and the certificates it issued with their revocation. The store keeps
//! PEM text and never sees a key in the clear. Audited: `pki.init` on `ca`,
//! `pki.issue` and `pki.revoke` on `certificate:SERIAL`, `pki.crl` on `ca`. Row
//! decoding lives here; the SQL lives in `ops.rs`.

use pumpguard_model::time::Timestamp;
use serde::Serialize;

use crate::assets::dispatch;
use crate::backend::{postgres, sqlite};
use crate::{Backend, Result, Store, StoreError};

/// The CA as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaRecord {
    pub name: String,
    pub algorithm: String,
    pub root_cert: String,
    /// Encrypted PKCS#8 PEM.
    pub root_key: String,
    pub issuing_cert: String,
    /// Encrypted PKCS#8 PEM.
    pub issuing_key: String,
    pub created: Timestamp,
    pub crl_number: i64,
}

/// A certificate the CA issued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CertRecord {
    /// Lower-case hex.
    pub serial: String,
    pub common_name: String,
    /// `pump` or `server`.
    pub profile: String,
    pub not_before: Timestamp,
    pub not_after: Timestamp,
    #[serde(skip_serializing)]
    pub pem: String,
    pub issued: Timestamp,
    pub revoked: Option<Timestamp>,
    pub reason: Option<String>,
}

/// A revocation, as a CRL lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevokedRecord {
    pub serial: String,
    pub revoked: Timestamp,
    pub reason: String,
}

pub(crate) fn corrupt(table: &'static str, why: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        table,
        why: why.to_string(),
    }
}

impl Store {
    /// Stores the CA, audited `pki.init`; refused if one exists (a second CA would
    /// orphan every certificate of the first).
    pub async fn pki_init(&self, actor: &str, ca: &CaRecord) -> Result<()> {
        dispatch!(self, pki_init(actor, ca))
    }

    /// The CA, if `pki init` made one.
    pub async fn pki_ca(&self) -> Result<Option<CaRecord>> {
        dispatch!(self, pki_ca())
    }

    /// Records an issued certificate, audited `pki.issue`.
    pub async fn pki_record_issued(&self, actor: &str, cert: &CertRecord) -> Result<()> {
        dispatch!(self, pki_record_issued(actor, cert))
    }

    /// Every issued certificate, newest first.
    pub async fn pki_certificates(&self) -> Result<Vec<CertRecord>> {
        dispatch!(self, pki_certificates())
    }

    /// Revokes a certificate, audited `pki.revoke`: not found and already revoked are
    /// refused.
    pub async fn pki_revoke(
        &self,
        actor: &str,
        serial: &str,
        reason: &str,
        when: Timestamp,
    ) -> Result<CertRecord> {
        dispatch!(self, pki_revoke(actor, serial, reason, when))
    }

    /// Takes the next CRL number and the revocations to list, audited `pki.crl`.
    pub async fn pki_next_crl(&self, actor: &str) -> Result<(i64, Vec<RevokedRecord>)> {
        dispatch!(self, pki_next_crl(actor))
    }
}
