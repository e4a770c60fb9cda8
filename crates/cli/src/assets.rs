//! `pumpguard assets …`

use std::fs::File;
use std::io::{self, IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::time::Duration;

use pumpguard_inventory::{read_csv, write_csv, write_json};
use pumpguard_model::{AssetPatch, Lifecycle};
use pumpguard_store::{AssetFilter, Store, StoreError};

use crate::args::{AssetsCmd, Context, ExportFormat, FilterArgs, ListFormat, ShowFormat};
use crate::fail::Fail;
use crate::output::{asset_detail, assets_table, evidence_table, list_format, write_to};

pub async fn run(ctx: &Context, cmd: AssetsCmd) -> Result<(), Fail> {
    match cmd {
        AssetsCmd::Import { files } => import(ctx, &files).await,
        AssetsCmd::List { format, filter } => {
            let store = Store::open(&ctx.db).await?;
            let assets = store.list_assets(&filter_of(filter)).await?;
            write_to(None, |w| match list_format(format) {
                ListFormat::Table => w.write_all(assets_table(&assets).as_bytes()),
                ListFormat::Json => write_json(w, &assets),
                ListFormat::Csv => write_csv(w, &assets).map_err(io::Error::other),
            })
        }
        AssetsCmd::Show { id, format } => {
            let store = Store::open(&ctx.db).await?;
            let asset = store
                .get_asset(&id)
                .await?
                .ok_or_else(|| Fail::input(format!("asset '{id}' not found")))?;
            let history = store.audit_for_object(&format!("asset:{id}")).await?;
            let evidence = store.asset_evidence(&id).await?;
            let json = match format {
                Some(f) => f == ShowFormat::Json,
                None => !io::stdout().is_terminal(),
            };
            write_to(None, |w| {
                if json {
                    let v = serde_json::json!({
                        "asset": asset,
                        "evidence": evidence,
                        "history": history,
                    });
                    serde_json::to_writer_pretty(&mut *w, &v)?;
                    w.write_all(b"\n")
                } else {
                    w.write_all(asset_detail(&asset, &history).as_bytes())?;
                    w.write_all(evidence_table(&evidence).as_bytes())
                }
            })
        }
        AssetsCmd::Export {
            format,
            out,
            filter,
        } => {
            let store = Store::open(&ctx.db).await?;
            let assets = store.list_assets(&filter_of(filter)).await?;
            write_to(out.as_deref(), |w| match format {
                ExportFormat::Csv => write_csv(w, &assets).map_err(io::Error::other),
                ExportFormat::Json => write_json(w, &assets),
            })
        }
        AssetsCmd::Retire { id, reason } => {
            lifecycle(ctx, &id, Lifecycle::Retired, reason.as_deref()).await
        }
        AssetsCmd::Lifecycle { id, state, reason } => {
            lifecycle(ctx, &id, state, reason.as_deref()).await
        }
    }
}

fn filter_of(f: FilterArgs) -> AssetFilter {
    AssetFilter {
        kind: f.kind,
        lifecycle: f.lifecycle,
        criticality: f.criticality,
        source: f.source,
        zone: f.zone,
        mac: None,
        limit: f.limit,
        offset: f.offset,
    }
}

#[allow(clippy::print_stderr)]
async fn lifecycle(
    ctx: &Context,
    id: &str,
    to: Lifecycle,
    reason: Option<&str>,
) -> Result<(), Fail> {
    let store = Store::open(&ctx.db).await?;
    let change = store.set_lifecycle(&ctx.actor, id, to, reason).await?;
    if change.changed() {
        eprintln!("{id}: {} -> {}", change.from, change.asset.lifecycle);
        if !change.revoked.is_empty() {
            eprintln!(
                "{id}: revoked {} certificate(s) ({}): sign a new CRL with `pumpguard pki crl` \
                 (or let `serve` publish it) and refresh the RADIUS server's",
                change.revoked.len(),
                change.revoked.join(", ")
            );
        }
    } else {
        eprintln!("{id}: already {}", change.asset.lifecycle);
    }
    Ok(())
}

fn read_file(path: &Path) -> Result<Vec<u8>, Fail> {
    let mut bytes = Vec::new();
    let result = if path == Path::new("-") {
        io::stdin().lock().read_to_end(&mut bytes)
    } else {
        File::open(path).and_then(|mut f| f.read_to_end(&mut bytes))
    };
    result.map_err(|e| Fail::input(format!("{}: cannot read: {e}", path.display())))?;
    Ok(bytes)
}

#[allow(clippy::print_stderr)]
async fn import(ctx: &Context, files: &[PathBuf]) -> Result<(), Fail> {
    // Parse everything first: a bad line anywhere means nothing is written.
    let mut patches: Vec<AssetPatch> = Vec::new();
    let mut origins: Vec<(usize, u64)> = Vec::new();
    for (f, path) in files.iter().enumerate() {
        let bytes = read_file(path)?;
        let rows = read_csv(bytes.as_slice())
            .map_err(|e| Fail::input(format!("{}:{e}", path.display())))?;
        for row in rows {
            origins.push((f, row.line));
            patches.push(row.patch);
        }
    }
    let origin = files
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(",");
    let spinner = spinner(format!("importing {} assets", patches.len()));
    let store = Store::open(&ctx.db).await?;
    let result = store.import_assets(&ctx.actor, &origin, &patches).await;
    if let Some(s) = spinner {
        s.finish_and_clear();
    }
    let summary = result.map_err(|e| match e {
        StoreError::Rejected { index, why } => {
            let (f, line) = origins[index];
            Fail::input(format!("{}:{line}: {why}", files[f].display()))
        }
        other => other.into(),
    })?;
    eprintln!(
        "imported {} rows: {} created, {} updated, {} unchanged (audit head seq {})",
        patches.len(),
        summary.created,
        summary.updated,
        summary.unchanged,
        summary.audit_head.seq
    );
    Ok(())
}

/// A spinner on a terminal; nothing when stderr is not one.
fn spinner(message: String) -> Option<indicatif::ProgressBar> {
    if !io::stderr().is_terminal() {
        return None;
    }
    let s = indicatif::ProgressBar::new_spinner().with_message(message);
    s.enable_steady_tick(Duration::from_millis(100));
    Some(s)
}
