//! `pumpguard vuln …`: vulnerability intelligence in (import), listed, matched to the
//! inventory, triaged per model and firmware, and out again as VEX. The vuln crate reads
//! and matches; the store keeps; this module walks files, shows progress and prints.

use std::collections::BTreeMap;
use std::io::{self, IsTerminal};
use std::path::{Path, PathBuf};

use pumpguard_model::{Asset, TriageDecision, VulnImport, time};
use pumpguard_store::{AssetFilter, Store, StoreError};
use pumpguard_vuln::matcher::{Finding, FindingStatus};
use pumpguard_vuln::names::VendorAliases;
use pumpguard_vuln::{CycloneDxSchemas, ReadOptions};

use crate::args::{Context, ListFormat, ShowFormat, VexFormat, VulnCmd};
use crate::fail::Fail;
use crate::output::{list_format, table, write_json_array, write_to};

pub async fn run(ctx: &Context, cmd: VulnCmd) -> Result<(), Fail> {
    match cmd {
        VulnCmd::Import {
            files,
            cyclonedx_schemas,
            format,
        } => {
            let schemas = cyclonedx_schemas.as_deref().map(load_schemas).transpose()?;
            import(ctx, &files, schemas.as_ref(), format).await
        }
        VulnCmd::List {
            min_score,
            kev,
            format,
        } => list(ctx, min_score, kev, format).await,
        VulnCmd::Match {
            status,
            asset,
            cve,
            vendor_aliases,
            format,
        } => {
            let status = match status.as_deref() {
                None => None,
                Some(s) => Some(parse_status(s)?),
            };
            let store = Store::open(&ctx.db).await?;
            let aliases = aliases(vendor_aliases.as_deref())?;
            let (findings, _) = match_all(&store, &aliases).await?;
            let kept: Vec<&Finding> = findings
                .iter()
                .filter(|f| status.is_none_or(|s| f.status == s))
                .filter(|f| asset.as_deref().is_none_or(|a| f.asset_id == a))
                .filter(|f| cve.as_deref().is_none_or(|c| f.cve.eq_ignore_ascii_case(c)))
                .collect();
            print_findings(&kept, list_format(format))
        }
        VulnCmd::Triage {
            model,
            firmware,
            cve,
            status,
            justification,
            statement,
        } => {
            let store = Store::open(&ctx.db).await?;
            let decision = TriageDecision {
                model,
                firmware,
                cve: cve.to_uppercase(),
                status,
                justification,
                statement,
                decided: time::now(),
                actor: ctx.actor.clone(),
            };
            store.set_triage(&ctx.actor, &decision).await?;
            let units = store
                .list_assets(&AssetFilter::default())
                .await?
                .iter()
                .filter(|a| {
                    a.model
                        .as_deref()
                        .is_some_and(|m| m.eq_ignore_ascii_case(&decision.model))
                        && decision
                            .firmware
                            .as_ref()
                            .is_none_or(|f| a.firmware.as_ref() == Some(f))
                })
                .count();
            say(&format!(
                "{} {} for {}{}: applies to {units} asset(s)",
                decision.cve,
                decision.status,
                decision.model,
                decision
                    .firmware
                    .as_deref()
                    .map(|f| format!(" firmware {f}"))
                    .unwrap_or_default()
            ));
            Ok(())
        }
        VulnCmd::ExportVex {
            format,
            vendor_aliases,
            out,
        } => {
            let aliases = aliases(vendor_aliases.as_deref())?;
            let store = Store::open(&ctx.db).await?;
            let (findings, assets) = match_all(&store, &aliases).await?;
            let doc = pumpguard_vuln::vex::export(
                &findings,
                &assets,
                match format {
                    VexFormat::Csaf => pumpguard_vuln::vex::VexOut::Csaf,
                    VexFormat::Cyclonedx => pumpguard_vuln::vex::VexOut::CycloneDx,
                    VexFormat::Openvex => pumpguard_vuln::vex::VexOut::OpenVex,
                },
                &ctx.actor,
                time::now(),
            );
            write_to(out.as_deref(), |w| {
                serde_json::to_writer_pretty(&mut *w, &doc)?;
                w.write_all(b"\n")
            })
        }
    }
}

fn parse_status(s: &str) -> Result<FindingStatus, Fail> {
    [
        FindingStatus::Affected,
        FindingStatus::NeedsReview,
        FindingStatus::UnderInvestigation,
        FindingStatus::Fixed,
        FindingStatus::NotAffected,
    ]
    .into_iter()
    .find(|f| f.as_str() == s)
    .ok_or_else(|| {
        Fail::input(format!(
            "'{s}' is not a finding status (affected, needs_review, under_investigation, fixed, not_affected)"
        ))
    })
}

#[allow(clippy::print_stderr)]
fn warn(line: &str) {
    eprintln!("warning: {line}");
}

#[allow(clippy::print_stderr)]
fn timing(line: &str) {
    eprintln!("timing: {line}");
}

#[allow(clippy::print_stdout)]
fn say(line: &str) {
    println!("{line}");
}

/// The files an import reads: each file given, and under each directory (walked in
/// name order) every `.json` and `.csv` file.
fn collect(paths: &[PathBuf]) -> Result<Vec<PathBuf>, Fail> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), Fail> {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| Fail::input(format!("{}: {e}", dir.display())))?
            .map(|e| e.map(|e| e.path()))
            .collect::<Result<_, _>>()
            .map_err(|e| Fail::input(format!("{}: {e}", dir.display())))?;
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(&p, out)?;
            } else if p
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| e.eq_ignore_ascii_case("json") || e.eq_ignore_ascii_case("csv"))
            {
                out.push(p);
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    for p in paths {
        let meta =
            std::fs::metadata(p).map_err(|e| Fail::input(format!("{}: {e}", p.display())))?;
        if meta.is_dir() {
            walk(p, &mut out)?;
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

/// Reads every file (on all cores), then stores them in one transaction.
async fn import(
    ctx: &Context,
    paths: &[PathBuf],
    schemas: Option<&CycloneDxSchemas>,
    format: Option<ShowFormat>,
) -> Result<(), Fail> {
    let files = collect(paths)?;
    let bar = progress(files.len() as u64);
    let options = ReadOptions {
        cyclonedx_schemas: schemas,
    };
    let read = read_all(&files, options, bar.as_ref())?;
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let store = Store::open(&ctx.db).await?;
    let mut skipped = Vec::new();
    let mut items: Vec<(String, VulnImport)> = Vec::new();
    for (file, imports) in read {
        match imports {
            Some(imports) => items.extend(imports.into_iter().map(|i| (file.clone(), i))),
            None => skipped.push(file),
        }
    }
    for f in &skipped {
        warn(&format!(
            "{f}: a ROLIE feed (a list of advisories, not one): skipped"
        ));
    }
    let summary = store
        .import_vuln(&ctx.actor, &items)
        .await
        .map_err(|e| match e {
            StoreError::Rejected { index, why } => Fail::input(format!(
                "{}: {why}",
                items.get(index).map_or("?", |(f, _)| f.as_str())
            )),
            other => other.into(),
        })?;
    let json = match format {
        Some(f) => f == ShowFormat::Json,
        None => !io::stdout().is_terminal(),
    };
    if json {
        let v = serde_json::json!({ "files": files.len(), "skipped": skipped, "summary": summary });
        write_to(None, |w| {
            serde_json::to_writer_pretty(&mut *w, &v)?;
            w.write_all(b"\n")
        })
    } else {
        say(&format!(
            "{} file(s) ({} skipped): {} new document(s), {} updated, {} unchanged; {} vulnerabilities; {} KEV entries; {} EPSS scores",
            files.len(),
            skipped.len(),
            summary.documents_new,
            summary.documents_updated,
            summary.documents_unchanged,
            summary.vulnerabilities,
            summary.kev_entries,
            summary.epss_scores
        ));
        Ok(())
    }
}

/// The CycloneDX schemas in `dir` (every `*.json` in it, not below).
fn load_schemas(dir: &Path) -> Result<CycloneDxSchemas, Fail> {
    let name = dir.display();
    let entries =
        std::fs::read_dir(dir).map_err(|e| Fail::input(format!("{name}: cannot read: {e}")))?;
    let mut documents = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|e| Fail::input(format!("{name}: cannot read: {e}")))?
            .path();
        if path.is_file() && path.extension().is_some_and(|x| x == "json") {
            let bytes = std::fs::read(&path)
                .map_err(|e| Fail::input(format!("{}: cannot read: {e}", path.display())))?;
            documents.push((path.display().to_string(), bytes));
        }
    }
    documents.sort();
    CycloneDxSchemas::new(&documents).map_err(|e| match e.name {
        None => Fail::input(format!("{name}: {}", e.message)),
        Some(_) => Fail::input(e.to_string()),
    })
}

/// A file read: its name, and what it held (`None`: skipped, a ROLIE feed).
type ReadFile = (String, Option<Vec<VulnImport>>);

/// Whether the bytes are a ROLIE feed document (`{"feed": {"entry": [...]}}`).
fn is_rolie_feed(bytes: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(bytes).is_ok_and(|v| v["feed"]["entry"].is_array())
}

fn read_all(
    files: &[PathBuf],
    options: ReadOptions<'_>,
    bar: Option<&indicatif::ProgressBar>,
) -> Result<Vec<ReadFile>, Fail> {
    let read_one = |p: &PathBuf| -> Result<ReadFile, Fail> {
        let name = p.display().to_string();
        let bytes =
            std::fs::read(p).map_err(|e| Fail::input(format!("{name}: cannot read: {e}")))?;
        let imports = match pumpguard_vuln::read_with(&bytes, &name, options) {
            Ok(imports) => Some(imports),
            // A provider's ROLIE feed (RFC 8322) lists advisories; it is not one. CISA
            // ships its feeds beside the advisories, so walking a mirror meets them.
            Err(_) if is_rolie_feed(&bytes) => None,
            Err(e) => return Err(Fail::input(format!("{name}: {e}"))),
        };
        if let Some(b) = bar {
            b.inc(1);
        }
        Ok((name, imports))
    };
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8);
    let chunk = files.len().div_ceil(workers).max(1);
    let parts: Vec<Result<Vec<ReadFile>, Fail>> = std::thread::scope(|s| {
        let handles: Vec<_> = files
            .chunks(chunk)
            .map(|part| s.spawn(move || part.iter().map(read_one).collect()))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(Fail::runtime("a reader thread panicked")))
            })
            .collect()
    });
    let mut out = Vec::with_capacity(files.len());
    for p in parts {
        out.extend(p?);
    }
    Ok(out)
}

fn progress(total: u64) -> Option<indicatif::ProgressBar> {
    if !io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(total);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "reading {pos}/{len} [{bar:30}] {per_sec} eta {eta}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    Some(bar)
}

async fn list(
    ctx: &Context,
    min_score: Option<f64>,
    kev_only: bool,
    format: Option<ListFormat>,
) -> Result<(), Fail> {
    let store = Store::open(&ctx.db).await?;
    let list: Vec<_> = store
        .list_vulns()
        .await?
        .into_iter()
        .filter(|l| min_score.is_none_or(|m| l.score.is_some_and(|s| s >= m)))
        .filter(|l| !kev_only || l.kev.is_some())
        .collect();
    let format = list_format(format);
    write_to(None, |w| match format {
        ListFormat::Json => {
            serde_json::to_writer_pretty(&mut *w, &list)?;
            w.write_all(b"\n")
        }
        ListFormat::Csv => {
            let mut c = csv::Writer::from_writer(w);
            c.write_record([
                "cve", "score", "severity", "kev", "epss", "sources", "title",
            ])?;
            for l in &list {
                c.write_record([
                    l.cve.clone(),
                    l.score.map(|s| format!("{s:.1}")).unwrap_or_default(),
                    l.severity.clone().unwrap_or_default(),
                    l.kev.is_some().to_string(),
                    l.epss
                        .as_ref()
                        .map(|e| e.epss.to_string())
                        .unwrap_or_default(),
                    l.sources.join(" "),
                    l.title.clone().unwrap_or_default(),
                ])?;
            }
            c.flush()
        }
        ListFormat::Table => {
            let mut t = table();
            t.set_header([
                "cve", "score", "severity", "kev", "epss", "sources", "title",
            ]);
            for l in &list {
                t.add_row([
                    l.cve.clone(),
                    l.score.map(|s| format!("{s:.1}")).unwrap_or_default(),
                    l.severity.clone().unwrap_or_default(),
                    if l.kev.is_some() {
                        "yes".into()
                    } else {
                        String::new()
                    },
                    l.epss
                        .as_ref()
                        .map(|e| format!("{:.3}", e.epss))
                        .unwrap_or_default(),
                    l.sources.join("\n"),
                    l.title.clone().unwrap_or_default(),
                ]);
            }
            writeln!(w, "{t}\n{} vulnerabilit(ies)", list.len())
        }
    })
}

/// The built-in vendor aliases, extended by `file` when given.
pub(crate) fn aliases(file: Option<&Path>) -> Result<VendorAliases, Fail> {
    let mut aliases = VendorAliases::default();
    if let Some(f) = file {
        let name = f.display().to_string();
        let text = std::fs::read_to_string(f)
            .map_err(|e| Fail::input(format!("{name}: cannot read: {e}")))?;
        aliases.extend(&text, &name).map_err(Fail::input)?;
    }
    Ok(aliases)
}

/// Every finding for the inventory, with the assets they name (`pumpguard_analysis`
/// matches; with `PUMPGUARD_TIMINGS` set, says on stderr where the time went).
pub(crate) async fn match_all(
    store: &Store,
    aliases: &VendorAliases,
) -> Result<(Vec<Finding>, Vec<Asset>), Fail> {
    let (findings, assets, t) = pumpguard_analysis::fleet_findings_timed(store, aliases)
        .await
        .map_err(analysis_fail)?;
    if std::env::var_os("PUMPGUARD_TIMINGS").is_some() {
        timing(&format!(
            "loaded {} assets ({:.3} s), {} advisories, {} SBOMs ({:.3} s), {} address pairs in {:.3} s; matched {} findings in {:.3} s",
            t.assets,
            t.assets_read.as_secs_f64(),
            t.advisories,
            t.sboms,
            t.documents_read.as_secs_f64(),
            t.address_pairs,
            t.loaded.as_secs_f64(),
            t.findings,
            t.matched.as_secs_f64()
        ));
    }
    Ok((findings, assets))
}

/// An analysis failure as the binary reports it.
pub(crate) fn analysis_fail(e: pumpguard_analysis::AnalysisError) -> Fail {
    match e {
        pumpguard_analysis::AnalysisError::Store(e) => e.into(),
        e => Fail::runtime(e.to_string()),
    }
}

fn print_findings(findings: &[&Finding], format: ListFormat) -> Result<(), Fail> {
    write_to(None, |w| match format {
        ListFormat::Json => {
            write_json_array(w, findings)?;
            w.write_all(b"\n")
        }
        ListFormat::Csv => {
            let mut c = csv::Writer::from_writer(w);
            c.write_record([
                "asset_id",
                "cve",
                "status",
                "priority",
                "score",
                "kev",
                "epss",
                "confidence",
                "advisory",
                "reason",
            ])?;
            for f in findings {
                c.write_record([
                    f.asset_id.clone(),
                    f.cve.to_string(),
                    f.status.as_str().to_owned(),
                    f.priority.value.to_string(),
                    f.score.map(|s| format!("{s:.1}")).unwrap_or_default(),
                    f.kev.to_string(),
                    f.epss.map(|e| e.to_string()).unwrap_or_default(),
                    f.confidence.as_str().to_owned(),
                    f.advisory.to_string(),
                    f.reason.to_string(),
                ])?;
            }
            c.flush()
        }
        ListFormat::Table => {
            let mut t = table();
            t.set_header([
                "asset",
                "cve",
                "status",
                "priority",
                "score",
                "kev",
                "confidence",
                "advisory",
                "reason",
            ]);
            for f in findings {
                let p = &f.priority;
                t.add_row([
                    f.asset_id.clone(),
                    f.cve.to_string(),
                    f.status.as_str().to_owned(),
                    format!(
                        "{:.1} = {:.1} × {} × {:.2} × {} × {}",
                        p.value, p.cvss, p.kev, p.epss, p.exposure, p.criticality
                    ),
                    f.score.map(|s| format!("{s:.1}")).unwrap_or_default(),
                    if f.kev { "yes".into() } else { String::new() },
                    f.confidence.as_str().to_owned(),
                    f.advisory.to_string(),
                    f.reason.to_string(),
                ]);
            }
            let mut by_status: BTreeMap<&str, usize> = BTreeMap::new();
            for f in findings {
                *by_status.entry(f.status.as_str()).or_default() += 1;
            }
            let counts: Vec<String> = by_status.iter().map(|(s, n)| format!("{n} {s}")).collect();
            writeln!(
                w,
                "{t}\n{} finding(s): {}\npriority = cvss × kev × epss × exposure × criticality",
                findings.len(),
                counts.join(", ")
            )
        }
    })
}
