//! `pumpguard audit …`

use std::fs::File;
use std::io::BufReader;
use std::path::PathBuf;

use pumpguard_audit::{ExportError, read_export};
use pumpguard_store::{AuditVerdict, Store};

use crate::args::{AuditCmd, AuditFormat, Context};
use crate::fail::Fail;
use crate::output::write_to;

pub async fn run(ctx: &Context, cmd: AuditCmd) -> Result<(), Fail> {
    match cmd {
        AuditCmd::Verify { file: Some(path) } => verify_file(&path),
        AuditCmd::Verify { file: None } => {
            let store = Store::open(&ctx.db).await?;
            report(store.audit_verify().await?)
        }
        AuditCmd::Export { format, out } => {
            let AuditFormat::Jsonl = format;
            let store = Store::open(&ctx.db).await?;
            let mut verdict = None;
            write_to(out.as_deref(), |w| {
                let v = futures_block(store.audit_export(w));
                verdict = Some(v);
                Ok(())
            })?;
            match verdict {
                Some(Ok(v)) => report(v),
                Some(Err(e)) => Err(e.into()),
                None => Ok(()),
            }
        }
    }
}

/// `write_to` takes a synchronous writer; the export streams from the database inside
/// it, so block on the export there (we are on a multi-threaded runtime).
fn futures_block<F: std::future::Future>(f: F) -> F::Output {
    tokio::task::block_in_place(|| tokio::runtime::Handle::current().block_on(f))
}

#[allow(clippy::print_stderr)]
fn report(v: AuditVerdict) -> Result<(), Fail> {
    match v {
        AuditVerdict::Intact(s) => {
            eprintln!("{s}");
            Ok(())
        }
        AuditVerdict::Broken(b) => Err(Fail::runtime(format!(
            "audit chain broken at seq {}: {}",
            b.seq, b.why
        ))),
    }
}

#[allow(clippy::print_stderr)]
fn verify_file(path: &PathBuf) -> Result<(), Fail> {
    let file = File::open(path)
        .map_err(|e| Fail::input(format!("{}: cannot read: {e}", path.display())))?;
    match read_export(BufReader::new(file)) {
        Ok(s) => {
            eprintln!("{s}");
            Ok(())
        }
        Err(ExportError::Io(e)) => Err(Fail::runtime(format!("{}: {e}", path.display()))),
        Err(e) => Err(Fail::runtime(format!("{}:{e}", path.display()))),
    }
}
