//! `pumpguard druglib …`: the pharmacy's Ed25519 key pair, signing a drug library into
//! a COSE_Sign1 envelope, and verifying or showing a signed one. The envelope and the
//! keys are `pumpguard_druglib::signed`'s; this module reads and writes the files.
//! `approve` records a verified library in the store and `ledger` lists the versions
//! pumps reported (`pumpguard_store::druglib`'s ledger, filled by `sense`).

use std::io::{self, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

use pumpguard_druglib::signed::{self, MAX_ENVELOPE, SignError, SignedLibrary};

use pumpguard_model::time;
use pumpguard_store::{LedgerRow, LibraryApproval, Store};

use crate::args::{Context, DruglibCmd, ListFormat};
use crate::fail::Fail;
use crate::output::{list_format, table, write_to};

/// How `druglib show` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ShowFormat {
    Table,
    Json,
}

#[allow(clippy::print_stderr)]
fn say(line: &str) {
    eprintln!("{line}");
}

pub async fn run(ctx: &Context, cmd: DruglibCmd) -> Result<(), Fail> {
    match cmd {
        DruglibCmd::Keygen { out, force } => keygen(&out, force),
        DruglibCmd::Sign { key, library, out } => sign(&key, &library, &out),
        DruglibCmd::Verify { pubkey, signed } => {
            let lib = verify(&pubkey, &signed)?;
            say(&format!(
                "{}: signature OK (key id {}); library '{}' version {}, care area {}, {} entries, sha256 {}",
                signed.display(),
                lib.key_id,
                lib.library.name,
                lib.library.version,
                lib.library.care_area,
                lib.library.entries.len(),
                lib.sha256
            ));
            Ok(())
        }
        DruglibCmd::Show {
            signed,
            pubkey,
            format,
        } => {
            let (lib, verified) = match &pubkey {
                Some(k) => (verify(k, &signed)?, true),
                None => {
                    let envelope = read_capped(&signed)?;
                    let lib = signed::open_unverified(&envelope, &signed.display().to_string())
                        .map_err(|e| sign_fail(e, None))?;
                    (lib, false)
                }
            };
            let format = format.unwrap_or(if io::stdout().is_terminal() {
                ShowFormat::Table
            } else {
                ShowFormat::Json
            });
            show(&signed, &lib, verified, format)
        }
        DruglibCmd::Approve { signed, pubkey } => {
            // Verified before the store is opened: a library that does not verify
            // leaves no trace.
            let lib = verify(&pubkey, &signed)?;
            approve(ctx, &signed, &lib).await
        }
        DruglibCmd::Ledger { format } => ledger(ctx, format).await,
    }
}

async fn approve(ctx: &Context, file: &Path, lib: &SignedLibrary) -> Result<(), Fail> {
    let store = Store::open(&ctx.db).await?;
    let l = &lib.library;
    let (stored, new) = store
        .druglib_approve(
            &ctx.actor,
            &LibraryApproval {
                name: l.name.clone(),
                version: l.version.clone(),
                care_area: l.care_area.clone(),
                sha256: lib.sha256.clone(),
                key_id: lib.key_id.clone(),
            },
        )
        .await?;
    let what = format!(
        "library '{}' version {}, care area {}, sha256 {}",
        stored.name, stored.version, stored.care_area, stored.sha256
    );
    say(&if new {
        format!(
            "{}: approved {what} (key id {}); pumps reporting '{}', '{}-{}' or '{} {}' run it",
            file.display(),
            stored.key_id,
            stored.version,
            stored.care_area,
            stored.version,
            stored.name,
            stored.version
        )
    } else {
        format!(
            "{}: {what} was approved already ({} by {}); nothing changed",
            file.display(),
            time::rfc3339(stored.approved),
            stored.approved_by
        )
    });
    Ok(())
}

/// A ledger row's cells: asset, version, care area, approved, count, first and last
/// seen, reporter, device, the approved library's SHA-256.
fn ledger_cells(r: &LedgerRow) -> [String; 10] {
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    [
        r.asset_id.clone(),
        r.version.clone(),
        opt(&r.care_area),
        r.approved.to_string(),
        r.count.to_string(),
        time::rfc3339(r.first_seen),
        time::rfc3339(r.last_seen),
        opt(&r.reporter),
        opt(&r.device),
        opt(&r.library_sha256),
    ]
}

const LEDGER_HEADER: [&str; 10] = [
    "asset_id",
    "version",
    "care_area",
    "approved",
    "count",
    "first_seen",
    "last_seen",
    "reporter",
    "device",
    "library_sha256",
];

async fn ledger(ctx: &Context, format: Option<ListFormat>) -> Result<(), Fail> {
    let store = Store::open(&ctx.db).await?;
    let rows = store.druglib_ledger().await?;
    write_to(None, |w| match list_format(format) {
        ListFormat::Json => {
            let doc: Vec<serde_json::Value> = rows
                .iter()
                .map(|r| {
                    serde_json::json!({
                        "asset_id": r.asset_id,
                        "version": r.version,
                        "care_area": r.care_area,
                        "approved": r.approved,
                        "count": r.count,
                        "first_seen": time::rfc3339(r.first_seen),
                        "last_seen": time::rfc3339(r.last_seen),
                        "reporter": r.reporter,
                        "device": r.device,
                        "library_sha256": r.library_sha256,
                    })
                })
                .collect();
            serde_json::to_writer_pretty(&mut *w, &doc)?;
            w.write_all(b"\n")
        }
        ListFormat::Csv => {
            let mut c = csv::Writer::from_writer(w);
            c.write_record(LEDGER_HEADER)?;
            for r in &rows {
                c.write_record(ledger_cells(r))?;
            }
            c.flush()
        }
        ListFormat::Table => {
            let mut t = table();
            t.set_header(&LEDGER_HEADER[..8]);
            for r in &rows {
                t.add_row(ledger_cells(r).into_iter().take(8));
            }
            writeln!(w, "{t}\n{} reported versions", rows.len())
        }
    })
}

/// A signing error as a failure: the key file named for key errors; exit 2 but for an
/// envelope that could not be encoded.
fn sign_fail(e: SignError, key: Option<&Path>) -> Fail {
    match (&e, key) {
        (SignError::PrivateKey(_) | SignError::PublicKey(_), Some(k)) => {
            Fail::input(format!("{}: {e}", k.display()))
        }
        (SignError::Encode { .. }, _) => Fail::runtime(e.to_string()),
        _ => Fail::input(e.to_string()),
    }
}

/// A file's bytes, refused unread when over the envelope limit.
fn read_capped(path: &Path) -> Result<Vec<u8>, Fail> {
    let cannot = |e: io::Error| Fail::input(format!("{}: cannot read: {e}", path.display()));
    let file = std::fs::File::open(path).map_err(cannot)?;
    let mut bytes = Vec::new();
    file.take(MAX_ENVELOPE as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(cannot)?;
    if bytes.len() > MAX_ENVELOPE {
        return Err(Fail::input(format!(
            "{}: larger than a signed library may be ({MAX_ENVELOPE} bytes)",
            path.display()
        )));
    }
    Ok(bytes)
}

fn read_key(path: &Path) -> Result<String, Fail> {
    let bytes = read_capped(path)?;
    String::from_utf8(bytes).map_err(|_| {
        Fail::input(format!(
            "{}: not a PEM key (the file is not text)",
            path.display()
        ))
    })
}

/// Writes `bytes` to `path` with `mode` through a temporary file renamed into place, so
/// a failure leaves no partial file; an existing file is replaced only when `overwrite`.
fn write_file(path: &Path, bytes: &[u8], mode: u32, overwrite: bool) -> Result<(), Fail> {
    use std::os::unix::fs::PermissionsExt;
    let cannot =
        |e: &dyn std::fmt::Display| Fail::input(format!("{}: cannot write: {e}", path.display()));
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| cannot(&e))?;
    tmp.as_file()
        .set_permissions(std::fs::Permissions::from_mode(mode))
        .map_err(|e| cannot(&e))?;
    tmp.write_all(bytes).map_err(|e| cannot(&e))?;
    tmp.as_file().sync_all()?;
    let persisted = if overwrite {
        tmp.persist(path)
    } else {
        tmp.persist_noclobber(path)
    };
    persisted.map_err(|e| {
        if e.error.kind() == io::ErrorKind::AlreadyExists {
            exists(path)
        } else {
            cannot(&e.error)
        }
    })?;
    Ok(())
}

fn exists(path: &Path) -> Fail {
    Fail::input(format!(
        "{}: exists already; give --force to overwrite it",
        path.display()
    ))
}

fn public_path(key: &Path) -> PathBuf {
    let mut name = key.as_os_str().to_owned();
    name.push(".pub");
    PathBuf::from(name)
}

fn keygen(out: &Path, force: bool) -> Result<(), Fail> {
    let public = public_path(out);
    if !force {
        for p in [out, public.as_path()] {
            if p.symlink_metadata().is_ok() {
                return Err(exists(p));
            }
        }
    }
    let keys = signed::keygen();
    let id = signed::key_id(&keys.public_pem).map_err(|e| Fail::runtime(e.to_string()))?;
    write_file(out, keys.private_pem.as_bytes(), 0o600, force)?;
    write_file(&public, keys.public_pem.as_bytes(), 0o644, force)?;
    say(&format!(
        "wrote {} (the private key: keep it secret) and {} (the public key for the gateways), key id {id}",
        out.display(),
        public.display()
    ));
    Ok(())
}

fn sign(key: &Path, library: &Path, out: &Path) -> Result<(), Fail> {
    let bytes = read_capped(library)?;
    let private_pem = read_key(key)?;
    let file = library.display().to_string();
    let envelope =
        signed::sign(&private_pem, &bytes, &file).map_err(|e| sign_fail(e, Some(key)))?;
    let target = out.display().to_string();
    let lib = signed::open_unverified(&envelope, &target).map_err(|e| sign_fail(e, None))?;
    if out == Path::new("-") {
        write_to(None, |w| w.write_all(&envelope))?;
    } else {
        write_file(out, &envelope, 0o644, true)?;
    }
    say(&format!(
        "{target}: signed library '{}' version {}, care area {}, {} entries, with key id {}; sha256 {}",
        lib.library.name,
        lib.library.version,
        lib.library.care_area,
        lib.library.entries.len(),
        lib.key_id,
        lib.sha256
    ));
    Ok(())
}

fn verify(pubkey: &Path, signed: &Path) -> Result<SignedLibrary, Fail> {
    let public_pem = read_key(pubkey)?;
    let envelope = read_capped(signed)?;
    signed::verify(&public_pem, &envelope, &signed.display().to_string())
        .map_err(|e| sign_fail(e, Some(pubkey)))
}

fn limit(v: Option<f64>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

fn show(file: &Path, lib: &SignedLibrary, verified: bool, format: ShowFormat) -> Result<(), Fail> {
    let l = &lib.library;
    write_to(None, |w| match format {
        ShowFormat::Json => {
            let doc = serde_json::json!({
                "file": file.display().to_string(),
                "name": l.name,
                "version": l.version,
                "care_area": l.care_area,
                "key_id": (!lib.key_id.is_empty()).then_some(&lib.key_id),
                "sha256": lib.sha256,
                "content_type": lib.content_type,
                "size": lib.bytes.len(),
                "verified": verified,
                "entries": l.entries,
            });
            serde_json::to_writer_pretty(&mut *w, &doc)?;
            w.write_all(b"\n")
        }
        ShowFormat::Table => {
            let mut facts = table();
            for (k, v) in [
                ("library", l.name.clone()),
                ("version", l.version.clone()),
                ("care area", l.care_area.clone()),
                ("key id", lib.key_id.clone()),
                ("sha256", lib.sha256.clone()),
                ("content type", lib.content_type.clone()),
                ("verified", verified.to_string()),
            ] {
                facts.add_row([k.to_owned(), v]);
            }
            let mut t = table();
            t.set_header([
                "drug", "code", "unit", "soft min", "soft max", "hard min", "hard max",
            ]);
            for e in &l.entries {
                t.add_row([
                    e.drug.clone(),
                    e.code.clone().unwrap_or_default(),
                    e.dose_unit.clone(),
                    limit(e.soft_min),
                    limit(e.soft_max),
                    limit(e.hard_min),
                    limit(e.hard_max),
                ]);
            }
            writeln!(w, "{facts}\n{t}\n{} entries", l.entries.len())
        }
    })
}
