//! The stored CA at work: opened with the operator's passphrase, issuing and recording
//! certificates (the store pre-provisions unknown pumps), signing CRLs. The CLI's
//! `pki` commands and the EST server share these, so a certificate is recorded (and
//! audited) the same way whichever path issued it.

use ::time::OffsetDateTime;
use pumpguard_model::Asset;
use pumpguard_model::time::{self as mtime, Timestamp};
use pumpguard_pki::{CaBundle, IssueOptions, Issued, KeyAlgorithm, Revocation};
use pumpguard_store::{CaRecord, CertRecord, Store, StoreError};

/// Why the CA could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum AuthorityError {
    /// Bad input or a refusal (no CA yet, wrong passphrase, bad CSR…): the caller's to fix.
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Internal(String),
}

impl From<pumpguard_pki::PkiError> for AuthorityError {
    fn from(e: pumpguard_pki::PkiError) -> Self {
        match e {
            pumpguard_pki::PkiError::Ca(m) => AuthorityError::Internal(m),
            other => AuthorityError::Refused(other.to_string()),
        }
    }
}

/// A store time as `time`'s (what the CA library speaks).
pub fn odt(t: Timestamp) -> Result<OffsetDateTime, AuthorityError> {
    OffsetDateTime::from_unix_timestamp_nanos(t.as_nanosecond())
        .map_err(|e| AuthorityError::Internal(format!("time out of range: {e}")))
}

/// A `time` instant as the store's.
pub fn ts(t: OffsetDateTime) -> Result<Timestamp, AuthorityError> {
    Timestamp::from_nanosecond(t.unix_timestamp_nanos())
        .map_err(|e| AuthorityError::Internal(format!("time out of range: {e}")))
}

/// The stored CA record, or a refusal saying how to make one.
pub async fn ca_record(store: &Store) -> Result<CaRecord, AuthorityError> {
    store.pki_ca().await?.ok_or_else(|| {
        AuthorityError::Refused("no CA yet: run `pumpguard pki init --name NAME` first".into())
    })
}

/// The stored CA with its issuing key opened by `passphrase` (which this checks).
pub async fn open(
    store: &Store,
    passphrase: &str,
) -> Result<(CaBundle, KeyAlgorithm), AuthorityError> {
    let ca = ca_record(store).await?;
    let alg: KeyAlgorithm = ca
        .algorithm
        .parse()
        .map_err(|e: String| AuthorityError::Internal(format!("the stored CA: {e}")))?;
    Ok((
        CaBundle {
            name: ca.name,
            // Issuing and CRLs need the issuing key only: the root's stays sealed.
            root_key: None,
            issuing_key: pumpguard_pki::decrypt_key(&ca.issuing_key, passphrase)?,
            root_cert: ca.root_cert,
            issuing_cert: ca.issuing_cert,
        },
        alg,
    ))
}

/// A certificate request, as PEM (`pki issue`) or DER (EST).
#[derive(Debug, Clone, Copy)]
pub enum Csr<'a> {
    Pem(&'a str),
    Der(&'a [u8]),
}

/// What issuing did: the certificate, its record, and the asset it pre-provisioned.
#[derive(Debug, Clone)]
pub struct IssueOutcome {
    pub issued: Issued,
    pub record: CertRecord,
    pub provisioned: Option<Asset>,
}

/// Issues a certificate and records it (audited `pki.issue`) before handing it out:
/// a certificate the CA does not know of could never be revoked. A pump certificate
/// for an asset the inventory holds carries its MAC (and serial) as RFC 9039 URNs.
pub async fn issue(
    store: &Store,
    ca: &CaBundle,
    actor: &str,
    csr: Csr<'_>,
    profile: &str,
    opts: &IssueOptions<'_>,
) -> Result<IssueOutcome, AuthorityError> {
    let mut opts = opts.clone();
    if opts.profile == pumpguard_pki::Profile::Pump {
        let cn = match csr {
            Csr::Pem(p) => ["CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST"]
                .iter()
                .find_map(|label| {
                    pumpguard_pki::est::pem_blocks(p, label)
                        .ok()?
                        .into_iter()
                        .next()
                })
                .and_then(|der| pumpguard_pki::csr_common_name(&der).ok()),
            Csr::Der(d) => pumpguard_pki::csr_common_name(d).ok(),
        };
        if let Some(asset) = match cn {
            Some(cn) => store.get_asset(&cn).await?,
            None => None,
        } {
            opts.uris.extend(pumpguard_pki::device_urns(
                asset.mac.map(|m| m.0),
                asset.model.as_deref(),
                asset.serial.as_deref(),
            ));
        }
    }
    let opts = &opts;
    let issued = match csr {
        Csr::Pem(p) => pumpguard_pki::issue(ca, p, opts)?,
        Csr::Der(d) => pumpguard_pki::issue_der(ca, d, opts)?,
    };
    let record = record_of(&issued, profile, opts.now)?;
    let provisioned = store.pki_record_issued(actor, &record).await?;
    Ok(IssueOutcome {
        issued,
        record,
        provisioned,
    })
}

/// The store's record of an issued certificate.
pub fn record_of(
    issued: &Issued,
    profile: &str,
    now: OffsetDateTime,
) -> Result<CertRecord, AuthorityError> {
    Ok(CertRecord {
        serial: pumpguard_pki::serial_hex(&issued.serial),
        common_name: issued.common_name.clone(),
        profile: profile.to_owned(),
        not_before: ts(issued.not_before)?,
        not_after: ts(issued.not_after)?,
        pem: issued.pem.clone(),
        issued: ts(now)?,
        revoked: None,
        reason: None,
    })
}

/// Signs a CRL of every revoked certificate under the next CRL number (audited
/// `pki.crl`), valid for `hours`. Returns its number, how many it lists, and the PEM.
pub async fn sign_crl(
    store: &Store,
    ca: &CaBundle,
    actor: &str,
    hours: i64,
) -> Result<(u64, usize, String), AuthorityError> {
    let (number, revoked) = store.pki_next_crl(actor).await?;
    let list = revoked
        .iter()
        .map(|r| {
            Ok(Revocation {
                serial: pumpguard_pki::parse_serial(&r.serial)?,
                revoked: odt(r.revoked)?,
                reason: pumpguard_pki::parse_reason(&r.reason)?,
            })
        })
        .collect::<Result<Vec<_>, AuthorityError>>()?;
    let number = u64::try_from(number)
        .map_err(|_| AuthorityError::Internal(format!("CRL number {number}")))?;
    let pem = pumpguard_pki::crl(ca, &list, number, odt(mtime::now())?, hours)?;
    Ok((number, list.len(), pem))
}
