//! The device PKI's records: the one CA (certificates and sealed keys, the number of
//! its last CRL) and the certificates it issued with their revocation. The store keeps
//! PEM text and never sees a key in the clear; EST users and pumpguard's own server keys
//! live here too. Audited: `pki.init` on `ca`,
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

/// An EST enrollment user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EstUser {
    pub name: String,
    /// argon2id, PHC string.
    pub password_hash: String,
    pub created: Timestamp,
}

fn est_user_of((name, password_hash, created): (String, String, i64)) -> Result<EstUser> {
    Ok(EstUser {
        created: pumpguard_model::time::from_micros(created)
            .ok_or_else(|| corrupt("est_users", format!("{name}: time {created}")))?,
        name,
        password_hash,
    })
}

/// A server certificate pumpguard issued to itself, with its sealed key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerKey {
    pub cert: CertRecord,
    pub names: Vec<String>,
    /// Encrypted PKCS#8 PEM.
    pub sealed_key: String,
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

    /// Records an issued certificate, audited `pki.issue`. A pump certificate whose
    /// common name is no asset yet pre-provisions one (an `infusion_pump`, lifecycle
    /// `procured`, audited `asset.create` with origin `pki.issue`), which it returns; a
    /// retired asset gets no certificate.
    pub async fn pki_record_issued(
        &self,
        actor: &str,
        cert: &CertRecord,
    ) -> Result<Option<pumpguard_model::Asset>> {
        dispatch!(self, pki_record_issued(actor, cert))
    }

    /// Every issued certificate, newest first.
    pub async fn pki_certificates(&self) -> Result<Vec<CertRecord>> {
        dispatch!(self, pki_certificates())
    }

    /// One issued certificate by serial (lower-case hex).
    pub async fn pki_certificate(&self, serial: &str) -> Result<Option<CertRecord>> {
        dispatch!(self, pki_certificate(serial))
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

    /// Adds an EST enrollment user, or sets a new password hash for one (argon2id, PHC
    /// string), audited `pki.est_user_add` or `pki.est_user_password`. True when added.
    pub async fn est_user_put(&self, actor: &str, name: &str, password_hash: &str) -> Result<bool> {
        dispatch!(self, est_user_put(actor, name, password_hash))
    }

    /// Removes an EST enrollment user, audited `pki.est_user_remove`.
    pub async fn est_user_remove(&self, actor: &str, name: &str) -> Result<()> {
        dispatch!(self, est_user_remove(actor, name))
    }

    /// EST users: name, password hash, when added.
    pub async fn est_users(&self) -> Result<Vec<EstUser>> {
        let rows: Vec<(String, String, i64)> = dispatch!(self, est_users())?;
        rows.into_iter().map(est_user_of).collect()
    }

    /// One EST user by name (what each enrollment looks up).
    pub async fn est_user(&self, name: &str) -> Result<Option<EstUser>> {
        let row: Option<(String, String, i64)> = dispatch!(self, est_user(name))?;
        row.map(est_user_of).transpose()
    }

    /// The serials (hex) of the revoked certificates, in order: what a CRL lists.
    pub async fn pki_revoked_serials(&self) -> Result<Vec<String>> {
        dispatch!(self, pki_revoked_serials())
    }

    /// Keeps the sealed key of a server certificate pumpguard issued to itself (the
    /// certificate is recorded with [`Store::pki_record_issued`] first).
    pub async fn pki_server_key_put(
        &self,
        serial: &str,
        names: &[String],
        sealed_key: &str,
    ) -> Result<()> {
        dispatch!(
            self,
            pki_server_key_put(serial, &names.join(","), sealed_key)
        )
    }

    /// pumpguard's own server certificates with their names and sealed keys, the
    /// longest-lived first.
    pub async fn pki_server_keys(&self) -> Result<Vec<ServerKey>> {
        let rows: Vec<(CertRecord, String, String)> = dispatch!(self, pki_server_keys())?;
        Ok(rows
            .into_iter()
            .map(|(cert, names, sealed_key)| ServerKey {
                cert,
                names: names
                    .split(',')
                    .filter(|n| !n.is_empty())
                    .map(str::to_owned)
                    .collect(),
                sealed_key,
            })
            .collect())
    }

    /// Takes the next CRL number and the revocations to list, audited `pki.crl`.
    pub async fn pki_next_crl(&self, actor: &str) -> Result<(i64, Vec<RevokedRecord>)> {
        dispatch!(self, pki_next_crl(actor))
    }
}

/// The certificates that need renewing: for each subject (common name) that is an
/// inventory asset, its newest unrevoked certificate when that expires within `days`
/// of `now` (or has expired), as `certificate_expiring` alerts on the asset. A subject
/// renewed in time (a newer certificate valid past the window) raises nothing; revoked
/// certificates and retired assets neither.
pub fn expiry_alerts(
    certs: &[CertRecord],
    assets: &[pumpguard_model::Asset],
    now: Timestamp,
    days: i64,
) -> Vec<pumpguard_model::Alert> {
    use pumpguard_model::{
        Alert, AlertEvidence, AlertFact, AlertKind, AlertStatus, Endpoint, Lifecycle, Severity,
    };
    use std::collections::BTreeMap;

    let by_id: BTreeMap<&str, &pumpguard_model::Asset> = assets
        .iter()
        .filter(|a| a.lifecycle != Lifecycle::Retired)
        .map(|a| (a.asset_id.as_str(), a))
        .collect();
    let mut newest: BTreeMap<&str, &CertRecord> = BTreeMap::new();
    for c in certs.iter().filter(|c| c.revoked.is_none()) {
        let slot = newest.entry(c.common_name.as_str()).or_insert(c);
        if c.not_after > slot.not_after {
            *slot = c;
        }
    }
    let horizon = now.as_second().saturating_add(days.saturating_mul(86_400));
    let mut out = Vec::new();
    for (cn, cert) in newest {
        let Some(asset) = by_id.get(cn) else {
            continue;
        };
        if cert.not_after.as_second() > horizon {
            continue;
        }
        let expired = cert.not_after <= now;
        let until = pumpguard_model::time::rfc3339(cert.not_after);
        let base = if expired {
            Severity::High
        } else {
            Severity::Medium
        };
        out.push(Alert {
            id: 0,
            kind: AlertKind::CertificateExpiring,
            severity: base.for_asset(Some(asset.criticality)),
            status: AlertStatus::Open,
            asset_id: Some(cn.to_owned()),
            peer_asset_id: None,
            subject: Endpoint {
                ip: asset.ip(),
                mac: asset.mac,
            },
            peer: None,
            proto: "pki".into(),
            port: None,
            first_seen: now,
            last_seen: now,
            count: 1,
            evidence: AlertEvidence {
                flows: Vec::new(),
                flow_ids: Vec::new(),
                facts: vec![
                    AlertFact {
                        name: "serial".into(),
                        value: cert.serial.clone(),
                    },
                    AlertFact {
                        name: "not_after".into(),
                        value: until.clone(),
                    },
                    AlertFact {
                        name: "profile".into(),
                        value: cert.profile.clone(),
                    },
                ],
                sentence: if expired {
                    format!("{cn}'s certificate {} expired at {until}", cert.serial)
                } else {
                    format!(
                        "{cn}'s certificate {} expires at {until}, within {days} days",
                        cert.serial
                    )
                },
            },
            action: "Re-enroll the device (EST simplereenroll) or issue a new certificate \
                     before it expires; an expired certificate fails 802.1X and the device \
                     drops off the network."
                .into(),
        });
    }
    out
}

/// Whether each pump of the inventory (not retired) holds a certificate that is valid
/// at `now`: issued, unexpired and unrevoked.
pub fn pump_certificate_coverage(
    certs: &[CertRecord],
    assets: &[pumpguard_model::Asset],
    now: Timestamp,
) -> std::collections::BTreeMap<String, bool> {
    use pumpguard_model::{AssetKind, Lifecycle};
    assets
        .iter()
        .filter(|a| a.kind == AssetKind::InfusionPump && a.lifecycle != Lifecycle::Retired)
        .map(|a| {
            let valid = certs.iter().any(|c| {
                c.common_name == a.asset_id.as_str()
                    && c.profile == "pump"
                    && c.revoked.is_none()
                    && c.not_before <= now
                    && now < c.not_after
            });
            (a.asset_id.to_string(), valid)
        })
        .collect()
}
