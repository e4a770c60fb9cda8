//! `pumpguard policy …`: a segmentation policy checked against the stored flows (or a
//! capture sensed on the spot), learned from them, compared with another. The rules
//! belong to `pumpguard-policy`; this module reads files and the store.

use std::collections::HashSet;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use pumpguard_model::{Asset, FlowRecord};
use pumpguard_policy::check::{CheckReport, check};
use pumpguard_policy::compile::mud::MudOptions;
use pumpguard_policy::diff::diff;
use pumpguard_policy::learn::learn;
use pumpguard_policy::{Policy, Zoning};
use pumpguard_store::{AssetFilter, FlowFilter, Store};

use crate::args::{Context, ListFormat, PolicyCmd, PolicyFormat, PolicyTarget, ShowFormat};
use crate::fail::Fail;
use crate::output::{list_format, table, write_to};

pub async fn run(ctx: &Context, cmd: PolicyCmd) -> Result<(), Fail> {
    match cmd {
        PolicyCmd::Check {
            policy,
            pcap,
            format,
        } => {
            let policy = load(&policy)?;
            let (assets, flows) = observed(ctx, &pcap).await?;
            let zoning = Zoning::new(&policy, &assets);
            let report = check(&zoning, &flows);
            print_check(&policy, &report, list_format(format))?;
            if report.violations.is_empty() {
                Ok(())
            } else {
                // Violations are findings, not failures: exit 0, but say so on stderr
                // for a person at a terminal.
                say(&format!(
                    "{} violation(s) in {} denied flow(s) of {}",
                    report.violations.len(),
                    report.denied,
                    report.flows
                ));
                Ok(())
            }
        }
        PolicyCmd::Learn { pcap, format, out } => {
            let (assets, flows) = observed(ctx, &pcap).await?;
            let policy = learn(&assets, &flows);
            write_to(out.as_deref(), |w| match format {
                PolicyFormat::Yaml => w.write_all(policy.to_yaml().as_bytes()),
                PolicyFormat::Json => {
                    serde_json::to_writer_pretty(&mut *w, &policy)?;
                    w.write_all(b"\n")
                }
            })
        }
        PolicyCmd::Compile {
            policy,
            target,
            out,
            mud_url_base,
        } => {
            let policy = load(&policy)?;
            let store = Store::open(&ctx.db).await?;
            let assets = store.list_assets(&AssetFilter::default()).await?;
            let zoning = Zoning::new(&policy, &assets);
            match target {
                PolicyTarget::Nftables => {
                    let text = pumpguard_policy::compile::nftables::compile(&zoning)
                        .map_err(|e| Fail::input(e.to_string()))?;
                    write_to(Some(&out), |w| w.write_all(text.as_bytes()))
                }
                PolicyTarget::CiscoAcl => {
                    let text = pumpguard_policy::compile::cisco::compile(&zoning);
                    write_to(Some(&out), |w| w.write_all(text.as_bytes()))
                }
                PolicyTarget::Mud => {
                    let opts = MudOptions {
                        mud_url_base,
                        systeminfo: None,
                        last_update: pumpguard_model::time::rfc3339(pumpguard_model::time::now()),
                        cache_validity_hours: 48,
                    };
                    std::fs::create_dir_all(&out).map_err(|e| {
                        Fail::input(format!("{}: cannot create: {e}", out.display()))
                    })?;
                    let files = pumpguard_policy::compile::mud::compile(&zoning, &opts);
                    for f in &files {
                        let text = f.to_pretty_string();
                        write_to(Some(&out.join(&f.file_name)), |w| {
                            w.write_all(text.as_bytes())
                        })?;
                    }
                    say(&format!("{} MUD file(s) in {}", files.len(), out.display()));
                    Ok(())
                }
            }
        }
        PolicyCmd::Diff { old, new, format } => {
            let (old, new) = (load(&old)?, load(&new)?);
            let d = diff(&old, &new);
            let format = format.unwrap_or(match list_format(None) {
                ListFormat::Table => ShowFormat::Table,
                _ => ShowFormat::Json,
            });
            write_to(None, |w| match format {
                ShowFormat::Json => {
                    serde_json::to_writer_pretty(&mut *w, &d)?;
                    w.write_all(b"\n")
                }
                ShowFormat::Table => {
                    if d.is_empty() {
                        return writeln!(w, "no change");
                    }
                    for z in &d.zones_added {
                        writeln!(w, "+ zone {z}")?;
                    }
                    for z in &d.zones_removed {
                        writeln!(w, "- zone {z}")?;
                    }
                    for c in &d.zones_changed {
                        writeln!(
                            w,
                            "~ zone {} {}: -[{}] +[{}]",
                            c.zone,
                            c.field,
                            c.removed.join(", "),
                            c.added.join(", ")
                        )?;
                    }
                    for c in &d.conduits {
                        if !c.opened.is_empty() {
                            writeln!(w, "+ {} -> {}: {}", c.from, c.to, c.opened.join(", "))?;
                        }
                        if !c.closed.is_empty() {
                            writeln!(w, "- {} -> {}: {}", c.from, c.to, c.closed.join(", "))?;
                        }
                    }
                    if let Some(change) = &d.default {
                        writeln!(w, "~ default: {change}")?;
                    }
                    Ok(())
                }
            })
        }
    }
}

#[allow(clippy::print_stderr)]
fn say(line: &str) {
    eprintln!("{line}");
}

/// Reads a policy file; a fault is `FILE:LINE: why`, exit 2.
pub(crate) fn load(path: &Path) -> Result<Policy, Fail> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| Fail::input(format!("{name}: cannot read: {e}")))?;
    Policy::parse(&text, &name).map_err(|e| Fail::input(e.to_string()))
}

/// The inventory and the flows to judge: the store's, or a capture's sensed on the spot
/// (its devices added to the inventory's, which win where both know an address).
async fn observed(ctx: &Context, pcap: &[PathBuf]) -> Result<(Vec<Asset>, Vec<FlowRecord>), Fail> {
    let store = Store::open(&ctx.db).await?;
    let mut assets = store.list_assets(&AssetFilter::default()).await?;
    if pcap.is_empty() {
        let flows = store.list_flows(&FlowFilter::default()).await?;
        return Ok((assets, flows));
    }
    let (batch, warnings) = crate::sense::sense_captures(pcap)?;
    for w in warnings {
        say(&format!("warning: {w}"));
    }
    let scratch = Store::open("sqlite::memory:").await?;
    scratch
        .record_sense(
            &ctx.actor,
            "policy check",
            &batch.sightings,
            &batch.flows,
            &[],
        )
        .await?;
    let known: HashSet<IpAddr> = assets.iter().flat_map(|a| a.ips.iter().copied()).collect();
    let sensed = scratch.list_assets(&AssetFilter::default()).await?;
    assets.extend(
        sensed
            .into_iter()
            .filter(|a| !a.ips.iter().any(|ip| known.contains(ip))),
    );
    let flows = scratch.list_flows(&FlowFilter::default()).await?;
    scratch.close().await;
    Ok((assets, flows))
}

fn print_check(policy: &Policy, r: &CheckReport, format: ListFormat) -> Result<(), Fail> {
    write_to(None, |w| match format {
        ListFormat::Json => {
            serde_json::to_writer_pretty(&mut *w, r)?;
            w.write_all(b"\n")
        }
        ListFormat::Csv => {
            let mut c = csv::Writer::from_writer(w);
            c.write_record([
                "client_ip",
                "client_zone",
                "client_asset",
                "server_ip",
                "server_zone",
                "server_asset",
                "service",
                "flows",
                "sessions",
                "packets",
                "bytes",
            ])?;
            for v in &r.violations {
                c.write_record([
                    v.client_ip.to_string(),
                    v.client_zone.clone().unwrap_or_default(),
                    v.client_asset.clone().unwrap_or_default(),
                    v.server_ip.to_string(),
                    v.server_zone.clone().unwrap_or_default(),
                    v.server_asset.clone().unwrap_or_default(),
                    v.service.clone(),
                    v.flows.to_string(),
                    v.sessions.to_string(),
                    v.packets.to_string(),
                    v.bytes.to_string(),
                ])?;
            }
            c.flush()
        }
        ListFormat::Table => {
            let mut t = table();
            t.set_header(["client", "zone", "server", "zone", "service", "connections"]);
            let end = |ip: &IpAddr, asset: &Option<String>| match asset {
                Some(a) => format!("{ip} ({a})"),
                None => ip.to_string(),
            };
            for v in &r.violations {
                t.add_row([
                    end(&v.client_ip, &v.client_asset),
                    v.client_zone.clone().unwrap_or_else(|| "-".into()),
                    end(&v.server_ip, &v.server_asset),
                    v.server_zone.clone().unwrap_or_else(|| "-".into()),
                    v.service.clone(),
                    v.sessions.to_string(),
                ]);
            }
            let per: Vec<String> = r
                .per_conduit
                .iter()
                .map(|(i, n)| {
                    let c = &policy.conduits[*i];
                    format!("{} -> {}: {n}", c.from, c.to)
                })
                .collect();
            writeln!(
                w,
                "{t}\n{} flows: {} allowed ({}), {} within a zone, {} not routed, {} denied",
                r.flows,
                r.allowed,
                per.join(", "),
                r.same_zone,
                r.not_routed,
                r.denied
            )
        }
    })
}
