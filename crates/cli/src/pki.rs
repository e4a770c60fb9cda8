//! `pumpguard pki …`: the device CA kept in the store (keys sealed with the operator's
//! passphrase), certificates issued from CSRs, revocation and CRLs. The CA itself is
//! `pumpguard-pki`; this module reads files, the passphrase and the store.

use std::path::{Path, PathBuf};

use pumpguard_model::time::{self, Timestamp};
use pumpguard_pki::{CaBundle, IssueOptions, KeyAlgorithm, Profile};
use pumpguard_server::authority::{self, AuthorityError, Csr};
use pumpguard_store::{CaRecord, CertRecord, Store};

use crate::args::{Context, EstUserCmd, ListFormat, Passphrase, PkiCmd};
use crate::fail::Fail;
use crate::output::{list_format, table, write_to};

/// The passphrase: the first line of --passphrase-file, else PUMPGUARD_CA_PASSPHRASE.
pub(crate) fn passphrase(p: &Passphrase) -> Result<String, Fail> {
    optional_passphrase(p)?.ok_or_else(|| {
        Fail::input(
            "the CA passphrase is missing: set PUMPGUARD_CA_PASSPHRASE or give --passphrase-file",
        )
    })
}

/// The passphrase when one is given.
pub(crate) fn optional_passphrase(p: &Passphrase) -> Result<Option<String>, Fail> {
    let secret = match &p.passphrase_file {
        Some(f) => first_line(f)?,
        None => std::env::var("PUMPGUARD_CA_PASSPHRASE").unwrap_or_default(),
    };
    Ok((!secret.is_empty()).then_some(secret))
}

pub(crate) fn first_line(f: &Path) -> Result<String, Fail> {
    Ok(std::fs::read_to_string(f)
        .map_err(|e| Fail::input(format!("{}: cannot read: {e}", f.display())))?
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned())
}

fn bad(e: pumpguard_pki::PkiError) -> Fail {
    authority_fail(e.into())
}

pub(crate) fn authority_fail(e: AuthorityError) -> Fail {
    match e {
        AuthorityError::Refused(m) => Fail::input(m),
        AuthorityError::Store(s) => s.into(),
        AuthorityError::Internal(m) => Fail::runtime(m),
    }
}

/// The stored CA with its keys opened.
pub(crate) async fn open_ca(
    store: &Store,
    p: &Passphrase,
) -> Result<(CaBundle, KeyAlgorithm), Fail> {
    authority::ca_record(store).await.map_err(authority_fail)?;
    let secret = passphrase(p)?;
    authority::open(store, &secret)
        .await
        .map_err(authority_fail)
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
            let ca = pumpguard_pki::init(&name, alg, authority::odt(now).map_err(authority_fail)?)
                .map_err(bad)?;
            let record = CaRecord {
                name: name.clone(),
                algorithm,
                root_key: pumpguard_pki::encrypt_key(
                    ca.root_key.as_deref().unwrap_or_default(),
                    &secret,
                )
                .map_err(bad)?,
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
            let (ca, _) = open_ca(&store, &p).await?;
            let opts = IssueOptions {
                profile: profile_kind,
                validity_days: days,
                now: authority::odt(time::now()).map_err(authority_fail)?,
                uris: Vec::new(),
                dns_names: Vec::new(),
                crl_url: crl_url.as_deref(),
            };
            let outcome =
                authority::issue(&store, &ca, &ctx.actor, Csr::Pem(&request), &profile, &opts)
                    .await
                    .map_err(|e| match e {
                        AuthorityError::Refused(m) => {
                            Fail::input(format!("{}: {m}", csr.display()))
                        }
                        other => authority_fail(other),
                    })?;
            write_text(out.as_deref(), &outcome.issued.pem)?;
            let record = &outcome.record;
            say(&format!(
                "issued {} for '{}' ({}), valid until {}",
                record.serial,
                record.common_name,
                record.profile,
                time::rfc3339(record.not_after)
            ));
            if let Some(a) = &outcome.provisioned {
                say(&format!(
                    "asset '{}' was not in the inventory: pre-provisioned as a procured {}",
                    a.asset_id, a.kind
                ));
            }
            Ok(())
        }
        PkiCmd::List { format, expiring } => {
            let mut certs = store.pki_certificates().await?;
            let now = time::now();
            if let Some(days) = expiring {
                let horizon = now.as_second().saturating_add(days.saturating_mul(86_400));
                certs.retain(|c| c.revoked.is_none() && c.not_after.as_second() <= horizon);
            }
            print_list(&certs, now, list_format(format))
        }
        PkiCmd::Check { days } => {
            let n = pumpguard_server::check_expiry(&store, &ctx.actor, days).await?;
            say(&format!(
                "{n} certificate(s) of the inventory expire within {days} days"
            ));
            Ok(())
        }
        PkiCmd::EstUser(cmd) => est_user(ctx, &store, cmd).await,
        PkiCmd::RadiusConfig {
            out,
            secret,
            port,
            policy,
            server_name,
            crl_hours,
            passphrase: p,
        } => {
            radius_config(
                ctx,
                &store,
                &out,
                &secret,
                port,
                &policy,
                &server_name,
                crl_hours,
                &p,
            )
            .await
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
            let (ca, _) = open_ca(&store, &p).await?;
            let (number, revoked, pem) = authority::sign_crl(&store, &ca, &ctx.actor, hours)
                .await
                .map_err(authority_fail)?;
            write_text(out.as_deref(), &pem)?;
            say(&format!("CRL {number}: {revoked} revoked"));
            Ok(())
        }
    }
}

fn read(path: &PathBuf) -> Result<String, Fail> {
    std::fs::read_to_string(path)
        .map_err(|e| Fail::input(format!("{}: cannot read: {e}", path.display())))
}

/// A certificate's state at `now`: revoked, expired, expiring (within 30 days) or valid.
fn state(c: &CertRecord, now: Timestamp) -> &'static str {
    if c.revoked.is_some() {
        "revoked"
    } else if c.not_after <= now {
        "expired"
    } else if c.not_after.as_second() <= now.as_second() + 30 * 86_400 {
        "expiring"
    } else {
        "valid"
    }
}

fn print_list(certs: &[CertRecord], now: Timestamp, format: ListFormat) -> Result<(), Fail> {
    write_to(None, |w| match format {
        ListFormat::Json => {
            #[derive(serde::Serialize)]
            struct Row<'a> {
                #[serde(flatten)]
                cert: &'a CertRecord,
                state: &'static str,
            }
            let rows: Vec<Row<'_>> = certs
                .iter()
                .map(|cert| Row {
                    cert,
                    state: state(cert, now),
                })
                .collect();
            serde_json::to_writer_pretty(&mut *w, &rows)?;
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
                "state",
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
                    state(r, now).to_owned(),
                    r.revoked.map(time::rfc3339).unwrap_or_default(),
                    r.reason.clone().unwrap_or_default(),
                ])?;
            }
            c.flush()
        }
        ListFormat::Table => {
            let mut t = table();
            t.set_header(["serial", "subject", "profile", "valid until", "state"]);
            for r in certs {
                t.add_row([
                    r.serial.clone(),
                    r.common_name.clone(),
                    r.profile.clone(),
                    time::rfc3339(r.not_after),
                    match (&r.revoked, &r.reason) {
                        (Some(at), Some(why)) => {
                            format!("revoked {} ({why})", time::rfc3339(*at))
                        }
                        _ => state(r, now).to_owned(),
                    },
                ]);
            }
            writeln!(w, "{t}")
        }
    })
}

async fn est_user(ctx: &Context, store: &Store, cmd: EstUserCmd) -> Result<(), Fail> {
    match cmd {
        EstUserCmd::Add {
            name,
            password,
            password_file,
        } => {
            if name.is_empty() || name.contains(':') || name.chars().any(char::is_control) {
                return Err(Fail::input(format!(
                    "'{name}' cannot be an EST user name (non-empty, no ':' or control characters)"
                )));
            }
            let password = match (password, password_file) {
                (Some(p), _) => p,
                (None, Some(f)) => first_line(&f)?,
                (None, None) => std::env::var("PUMPGUARD_EST_PASSWORD").unwrap_or_default(),
            };
            let hash = pumpguard_server::passwords::hash(&password).map_err(Fail::input)?;
            let added = store.est_user_put(&ctx.actor, &name, &hash).await?;
            say(&if added {
                format!("EST user '{name}' added")
            } else {
                format!("EST user '{name}': password changed")
            });
            Ok(())
        }
        EstUserCmd::List { format } => {
            let users = store.est_users().await?;
            write_to(None, |w| match list_format(format) {
                ListFormat::Json => {
                    let rows: Vec<serde_json::Value> = users
                        .iter()
                        .map(|u| serde_json::json!({"name": u.name, "created": time::rfc3339(u.created)}))
                        .collect();
                    serde_json::to_writer_pretty(&mut *w, &rows)?;
                    w.write_all(b"\n")
                }
                ListFormat::Csv => {
                    let mut c = csv::Writer::from_writer(w);
                    c.write_record(["name", "created"])?;
                    for u in &users {
                        c.write_record([u.name.clone(), time::rfc3339(u.created)])?;
                    }
                    c.flush()
                }
                ListFormat::Table => {
                    let mut t = table();
                    t.set_header(["name", "created"]);
                    for u in &users {
                        t.add_row([u.name.clone(), time::rfc3339(u.created)]);
                    }
                    writeln!(w, "{t}")
                }
            })
        }
        EstUserCmd::Remove { name } => {
            store.est_user_remove(&ctx.actor, &name).await?;
            say(&format!("EST user '{name}' removed"));
            Ok(())
        }
    }
}

/// The zone an asset is admitted to: its inventory `zone`; else the policy's zone of
/// its address (by range, then by kind or model); else the first zone naming its kind
/// or model.
fn zone_of<'p>(
    asset: &pumpguard_model::Asset,
    zoning: &pumpguard_policy::Zoning<'p>,
) -> Option<&'p pumpguard_policy::Zone> {
    let zones = &zoning.policy().zones;
    if let Some(z) = &asset.zone {
        return zones.iter().find(|p| &p.name == z);
    }
    if let Some(i) = asset.ip().and_then(|ip| zoning.zone_of(ip)) {
        return zones.get(i);
    }
    zones.iter().find(|z| {
        z.kinds.contains(&asset.kind)
            || asset
                .model
                .as_ref()
                .is_some_and(|m| z.models.iter().any(|zm| zm == m))
    })
}

#[allow(clippy::too_many_arguments)]
async fn radius_config(
    ctx: &Context,
    store: &Store,
    out: &Path,
    secret: &str,
    port: u16,
    policy_path: &Path,
    server_name: &str,
    crl_hours: i64,
    p: &Passphrase,
) -> Result<(), Fail> {
    use pumpguard_model::Lifecycle;
    use pumpguard_pki::radius::{Admission, RadiusSetup};

    let policy = crate::policy::load(policy_path)?;
    let (ca, alg) = open_ca(store, p).await?;
    let assets = store
        .list_assets(&pumpguard_store::AssetFilter::default())
        .await?;
    let zoning = pumpguard_policy::Zoning::new(&policy, &assets);
    let mut admissions = Vec::new();
    let mut without_vlan = 0usize;
    for a in &assets {
        // Quarantined and retired devices stay off the network.
        if !matches!(a.lifecycle, Lifecycle::Procured | Lifecycle::InService) {
            continue;
        }
        match zone_of(a, &zoning) {
            Some(z) => match z.vlan {
                Some(vlan) => admissions.push(Admission {
                    asset_id: a.asset_id.to_string(),
                    zone: z.name.clone(),
                    vlan,
                }),
                None => without_vlan += 1,
            },
            None => without_vlan += 1,
        }
    }
    let secret_ca = passphrase(p)?;
    let identity = pumpguard_server::tls::identity(
        store,
        &ca,
        alg,
        &secret_ca,
        &[server_name.to_owned()],
        &ctx.actor,
    )
    .await
    .map_err(authority_fail)?;
    let (number, revoked, crl) = authority::sign_crl(store, &ca, &ctx.actor, crl_hours)
        .await
        .map_err(authority_fail)?;
    let chain = ca.chain_pem();
    let raddb = pumpguard_pki::radius::write_config(
        out,
        &RadiusSetup {
            ca_chain_pem: &chain,
            crl_pem: &crl,
            server_cert_pem: &identity.cert_pem,
            server_key_pem: &identity.key_pem,
            secret,
            port,
            admissions: &admissions,
        },
    )
    .map_err(|e| match e.kind() {
        std::io::ErrorKind::InvalidInput => Fail::input(e.to_string()),
        _ => Fail::runtime(format!("{}: {e}", out.display())),
    })?;
    say(&format!(
        "wrote {}: {} assets admitted to their zone's VLAN, {without_vlan} without a VLAN \
         (rejected); CRL {number} lists {revoked} and expires in {crl_hours} hours: run this \
         again before then (FreeRADIUS rejects everyone once it has expired, and re-reads the \
         CA directory hourly). Run: freeradius -f -d {}",
        raddb.display(),
        admissions.len(),
        raddb.display()
    ));
    Ok(())
}
