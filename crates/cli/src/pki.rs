//! `pumpguard pki …`: the device CA kept in the store (keys sealed with the operator's
//! passphrase), certificates issued from CSRs, revocation and CRLs. The CA itself is
//! `pumpguard-pki`; this module reads files, the passphrase and the store.

use std::path::{Path, PathBuf};

use ::time::OffsetDateTime;
use pumpguard_model::time::{self, Timestamp};
use pumpguard_pki::{CaBundle, IssueOptions, KeyAlgorithm, Profile, Revocation};
use pumpguard_store::{CaRecord, CertRecord, Store};

use crate::args::{Context, ListFormat, Passphrase, PkiCmd};
use crate::fail::Fail;
use crate::output::{list_format, table, write_to};

fn odt(t: Timestamp) -> Result<OffsetDateTime, Fail> {
    OffsetDateTime::from_unix_timestamp_nanos(t.as_nanosecond())
        .map_err(|e| Fail::runtime(format!("time out of range: {e}")))
}

fn ts(t: OffsetDateTime) -> Result<Timestamp, Fail> {
    Timestamp::from_nanosecond(t.unix_timestamp_nanos())
        .map_err(|e| Fail::runtime(format!("time out of range: {e}")))
}

/// The passphrase: the first line of --passphrase-file, else PUMPGUARD_CA_PASSPHRASE.
fn passphrase(p: &Passphrase) -> Result<String, Fail> {
    let secret = match &p.passphrase_file {
        Some(f) => std::fs::read_to_string(f)
            .map_err(|e| Fail::input(format!("{}: cannot read: {e}", f.display())))?
            .lines()
            .next()
            .unwrap_or_default()
            .to_owned(),
        None => std::env::var("PUMPGUARD_CA_PASSPHRASE").unwrap_or_default(),
    };
    if secret.is_empty() {
        return Err(Fail::input(
            "the CA passphrase is missing: set PUMPGUARD_CA_PASSPHRASE or give --passphrase-file",
        ));
    }
    Ok(secret)
}

fn bad(e: pumpguard_pki::PkiError) -> Fail {
    match e {
        pumpguard_pki::PkiError::Ca(m) => Fail::runtime(m),
        other => Fail::input(other.to_string()),
    }
}

/// The stored CA with its keys opened.
async fn open_ca(store: &Store, p: &Passphrase) -> Result<CaBundle, Fail> {
    let ca = store
        .pki_ca()
        .await?
        .ok_or_else(|| Fail::input("no CA yet: run `pumpguard pki init --name NAME` first"))?;
    let secret = passphrase(p)?;
    Ok(CaBundle {
        name: ca.name,
        root_key: pumpguard_pki::decrypt_key(&ca.root_key, &secret).map_err(bad)?,
        issuing_key: pumpguard_pki::decrypt_key(&ca.issuing_key, &secret).map_err(bad)?,
        root_cert: ca.root_cert,
        issuing_cert: ca.issuing_cert,
    })
}

fn write_text(out: Option<&Path>, text: &str) -> Result<(), Fail> {
    write_to(out, |w| w.write_all(text.as_bytes()))
}

#[allow(clippy::print_stderr)]
fn say(line: &str) {
    eprintln!("{line}");
}

pub async fn run(ctx: &Context, cmd: PkiCmd) -> Result<(), Fail> {
    let store = Store::open(&ctx.db).await?;
    match cmd {
        PkiCmd::Init {
            name,
            algorithm,
            passphrase: p,
        } => {
            let alg: KeyAlgorithm = algorithm.parse().map_err(Fail::input)?;
            let secret = passphrase(&p)?;
            if store.pki_ca().await?.is_some() {
                return Err(Fail::input(
                    "a CA exists already; a second would orphan every certificate of the first",
                ));
            }
            let now = time::now();
            let ca = pumpguard_pki::init(&name, alg, odt(now)?).map_err(bad)?;
            let record = CaRecord {
                name: name.clone(),
                algorithm,
                root_key: pumpguard_pki::encrypt_key(&ca.root_key, &secret).map_err(bad)?,
                issuing_key: pumpguard_pki::encrypt_key(&ca.issuing_key, &secret).map_err(bad)?,
                root_cert: ca.root_cert,
                issuing_cert: ca.issuing_cert,
                created: now,
                crl_number: 0,
            };
            store.pki_init(&ctx.actor, &record).await?;
            say(&format!(
                "CA '{name}' created: a root and a device issuing CA"
            ));
            Ok(())
        }
        PkiCmd::CaCert { out } => {
            let ca = store
                .pki_ca()
                .await?
                .ok_or_else(|| Fail::input("no CA yet: run `pumpguard pki init` first"))?;
            write_text(
                out.as_deref(),
                &format!("{}{}", ca.issuing_cert, ca.root_cert),
            )
        }
        PkiCmd::Issue {
            csr,
            profile,
            out,
            days,
            crl_url,
            passphrase: p,
        } => {
            let profile_kind: Profile = profile.parse().map_err(Fail::input)?;
            let request = read(&csr)?;
            let ca = open_ca(&store, &p).await?;
            let now = time::now();
            let issued = pumpguard_pki::issue(
                &ca,
                &request,
                &IssueOptions {
                    profile: profile_kind,
                    validity_days: days,
                    now: odt(now)?,
                    uris: Vec::new(),
                    dns_names: Vec::new(),
                    crl_url: crl_url.as_deref(),
                },
            )
            .map_err(|e| Fail::input(format!("{}: {e}", csr.display())))?;
            let record = CertRecord {
                serial: pumpguard_pki::serial_hex(&issued.serial),
                common_name: issued.common_name.clone(),
                profile,
                not_before: ts(issued.not_before)?,
                not_after: ts(issued.not_after)?,
                pem: issued.pem.clone(),
                issued: now,
                revoked: None,
                reason: None,
            };
            // Stored (and audited) before it is handed out: a certificate the CA does
            // not know of could never be revoked.
            store.pki_record_issued(&ctx.actor, &record).await?;
            write_text(out.as_deref(), &issued.pem)?;
            say(&format!(
                "issued {} for '{}' ({}), valid until {}",
                record.serial,
                record.common_name,
                record.profile,
                time::rfc3339(record.not_after)
            ));
            Ok(())
        }
        PkiCmd::List { format } => {
            let certs = store.pki_certificates().await?;
            print_list(&certs, list_format(format))
        }
        PkiCmd::Revoke { serial, reason } => {
            pumpguard_pki::parse_reason(&reason).map_err(bad)?;
            let serial =
                pumpguard_pki::serial_hex(&pumpguard_pki::parse_serial(&serial).map_err(bad)?);
            let cert = store
                .pki_revoke(&ctx.actor, &serial, &reason, time::now())
                .await?;
            say(&format!(
                "revoked {} ('{}'): {reason}; sign a new CRL with `pumpguard pki crl`",
                cert.serial, cert.common_name
            ));
            Ok(())
        }
        PkiCmd::Crl {
            out,
            hours,
            passphrase: p,
        } => {
            let ca = open_ca(&store, &p).await?;
            let (number, revoked) = store.pki_next_crl(&ctx.actor).await?;
            let list = revoked
                .iter()
                .map(|r| {
                    Ok(Revocation {
                        serial: pumpguard_pki::parse_serial(&r.serial).map_err(bad)?,
                        revoked: odt(r.revoked)?,
                        reason: pumpguard_pki::parse_reason(&r.reason).map_err(bad)?,
                    })
                })
                .collect::<Result<Vec<_>, Fail>>()?;
            let number = u64::try_from(number).map_err(|_| Fail::runtime("bad CRL number"))?;
            let pem =
                pumpguard_pki::crl(&ca, &list, number, odt(time::now())?, hours).map_err(bad)?;
            write_text(out.as_deref(), &pem)?;
            say(&format!("CRL {number}: {} revoked", list.len()));
            Ok(())
        }
    }
}

fn read(path: &PathBuf) -> Result<String, Fail> {
    std::fs::read_to_string(path)
        .map_err(|e| Fail::input(format!("{}: cannot read: {e}", path.display())))
}

fn print_list(certs: &[CertRecord], format: ListFormat) -> Result<(), Fail> {
    write_to(None, |w| match format {
        ListFormat::Json => {
            serde_json::to_writer_pretty(&mut *w, certs)?;
            w.write_all(b"\n")
        }
        ListFormat::Csv => {
            let mut c = csv::Writer::from_writer(w);
            c.write_record([
                "serial",
                "common_name",
                "profile",
                "not_before",
                "not_after",
                "revoked",
                "reason",
            ])?;
            for r in certs {
                c.write_record([
                    r.serial.clone(),
                    r.common_name.clone(),
                    r.profile.clone(),
                    time::rfc3339(r.not_before),
                    time::rfc3339(r.not_after),
                    r.revoked.map(time::rfc3339).unwrap_or_default(),
                    r.reason.clone().unwrap_or_default(),
                ])?;
            }
            c.flush()
        }
        ListFormat::Table => {
            let mut t = table();
            t.set_header(["serial", "subject", "profile", "valid until", "revoked"]);
            for r in certs {
                t.add_row([
                    r.serial.clone(),
                    r.common_name.clone(),
                    r.profile.clone(),
                    time::rfc3339(r.not_after),
                    match (&r.revoked, &r.reason) {
                        (Some(at), Some(why)) => format!("{} ({why})", time::rfc3339(*at)),
                        _ => String::new(),
                    },
                ]);
            }
            writeln!(w, "{t}")
        }
    })
}
