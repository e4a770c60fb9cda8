//! `pumpguard alerts …`: list, show and work (acknowledge, resolve, reopen) alerts.

use std::io::{self, IsTerminal};

use pumpguard_model::{Alert, AlertStatus, Endpoint, time};
use pumpguard_store::{AlertFilter, Store};

use crate::args::{AlertsCmd, Context, ListFormat, ShowFormat, SiemFormat};
use crate::fail::Fail;
use crate::output::{history_table, list_format, table, write_to};

pub async fn run(ctx: &Context, cmd: AlertsCmd) -> Result<(), Fail> {
    match cmd {
        AlertsCmd::List {
            format,
            since,
            severity,
            status,
            kind,
            asset,
            limit,
            offset,
        } => {
            let store = Store::open(&ctx.db).await?;
            let filter = AlertFilter {
                since,
                min_severity: severity,
                status,
                kind,
                asset_id: asset,
                limit,
                offset,
            };
            let alerts = store.list_alerts(&filter).await?;
            write_to(None, |w| match list_format(format) {
                ListFormat::Table => w.write_all(alerts_table(&alerts).as_bytes()),
                ListFormat::Json => {
                    serde_json::to_writer_pretty(&mut *w, &alerts).map_err(io::Error::other)?;
                    w.write_all(b"\n")
                }
                ListFormat::Csv => write_csv(w, &alerts),
            })
        }
        AlertsCmd::Export {
            format,
            out,
            since,
            severity,
            status,
        } => {
            let store = Store::open(&ctx.db).await?;
            let filter = AlertFilter {
                since,
                min_severity: severity,
                status,
                ..AlertFilter::default()
            };
            let alerts = store.list_alerts(&filter).await?;
            write_to(out.as_deref(), |w| {
                for a in &alerts {
                    match format {
                        SiemFormat::Cef => w.write_all(pumpguard_siem::cef(a).as_bytes())?,
                        SiemFormat::Ecs => serde_json::to_writer(&mut *w, &pumpguard_siem::ecs(a))?,
                    }
                    w.write_all(b"\n")?;
                }
                Ok(())
            })
        }
        AlertsCmd::Show { id, format } => {
            let store = Store::open(&ctx.db).await?;
            let alert = store
                .get_alert(id)
                .await?
                .ok_or_else(|| Fail::input(format!("alert {id} not found")))?;
            let history = store.audit_for_object(&format!("alert:{id}")).await?;
            let json = match format {
                Some(f) => f == ShowFormat::Json,
                None => !io::stdout().is_terminal(),
            };
            write_to(None, |w| {
                if json {
                    let v = serde_json::json!({ "alert": alert, "history": history });
                    serde_json::to_writer_pretty(&mut *w, &v)?;
                    w.write_all(b"\n")
                } else {
                    w.write_all(alert_detail(&alert).as_bytes())?;
                    w.write_all(format!("\nhistory:\n{}\n", history_table(&history)).as_bytes())
                }
            })
        }
        AlertsCmd::Ack { id } => set_status(ctx, id, AlertStatus::Acknowledged).await,
        AlertsCmd::Resolve { id } => set_status(ctx, id, AlertStatus::Resolved).await,
        AlertsCmd::Reopen { id } => set_status(ctx, id, AlertStatus::Open).await,
    }
}

#[allow(clippy::print_stderr)]
async fn set_status(ctx: &Context, id: i64, to: AlertStatus) -> Result<(), Fail> {
    let store = Store::open(&ctx.db).await?;
    // Read first only to say what changed; the store decides (and refuses unknown ids).
    let from = store.get_alert(id).await?.map(|a| a.status);
    let alert = store.set_alert_status(&ctx.actor, id, to).await?;
    match from {
        Some(from) if from != alert.status => eprintln!("alert {id}: {from} -> {}", alert.status),
        _ => eprintln!("alert {id}: already {}", alert.status),
    }
    Ok(())
}

/// An end of an alert: its asset, else its address and MAC.
fn end_text(asset: Option<&str>, end: Option<&Endpoint>) -> String {
    if let Some(id) = asset {
        return id.to_owned();
    }
    let Some(e) = end else {
        return String::new();
    };
    match (e.ip, e.mac) {
        (Some(ip), Some(mac)) => format!("{ip} ({mac})"),
        (Some(ip), None) => ip.to_string(),
        (None, Some(mac)) => mac.to_string(),
        (None, None) => String::new(),
    }
}

fn service(a: &Alert) -> String {
    match a.port {
        Some(p) => format!("{}/{p}", a.proto),
        None => a.proto.clone(),
    }
}

fn alerts_table(alerts: &[Alert]) -> String {
    let mut t = table();
    t.set_header([
        "id",
        "severity",
        "status",
        "kind",
        "asset",
        "peer",
        "service",
        "count",
        "last_seen",
        "sentence",
    ]);
    for a in alerts {
        t.add_row([
            a.id.to_string(),
            a.severity.to_string(),
            a.status.to_string(),
            a.kind.to_string(),
            end_text(a.asset_id.as_deref(), Some(&a.subject)),
            end_text(a.peer_asset_id.as_deref(), a.peer.as_ref()),
            service(a),
            a.count.to_string(),
            time::rfc3339(a.last_seen),
            a.evidence.sentence.clone(),
        ]);
    }
    format!("{t}\n{} alert(s)\n", alerts.len())
}

fn alert_detail(a: &Alert) -> String {
    let mut t = table();
    let opt = |v: Option<String>| v.unwrap_or_default();
    for (k, v) in [
        ("id", a.id.to_string()),
        ("kind", a.kind.to_string()),
        ("severity", a.severity.to_string()),
        ("status", a.status.to_string()),
        ("asset_id", opt(a.asset_id.clone())),
        ("subject", end_text(None, Some(&a.subject))),
        ("peer_asset_id", opt(a.peer_asset_id.clone())),
        ("peer", end_text(None, a.peer.as_ref())),
        ("service", service(a)),
        ("first_seen", time::rfc3339(a.first_seen)),
        ("last_seen", time::rfc3339(a.last_seen)),
        ("count", a.count.to_string()),
        ("sentence", a.evidence.sentence.clone()),
        ("action", a.action.clone()),
    ] {
        t.add_row([k.to_owned(), v]);
    }
    let mut out = format!("{t}\n");
    if !a.evidence.facts.is_empty() {
        let mut f = table();
        f.set_header(["fact", "value"]);
        for fact in &a.evidence.facts {
            f.add_row([fact.name.clone(), fact.value.clone()]);
        }
        out.push_str(&format!("\nfacts:\n{f}\n"));
    }
    if !a.evidence.flows.is_empty() {
        let mut f = table();
        f.set_header(["flow (proto lo_ip lo_port hi_ip hi_port)"]);
        for key in &a.evidence.flows {
            f.add_row([key.clone()]);
        }
        out.push_str(&format!("\nflows:\n{f}\n"));
        if !a.evidence.flow_ids.is_empty() {
            let ids: Vec<String> = a.evidence.flow_ids.iter().map(i64::to_string).collect();
            out.push_str(&format!("stored as flow ids {}\n", ids.join(", ")));
        }
    }
    out
}

fn write_csv(w: &mut dyn io::Write, alerts: &[Alert]) -> io::Result<()> {
    let mut out = csv::Writer::from_writer(w);
    out.write_record([
        "id",
        "kind",
        "severity",
        "status",
        "asset_id",
        "peer_asset_id",
        "subject_ip",
        "subject_mac",
        "peer_ip",
        "peer_mac",
        "proto",
        "port",
        "first_seen",
        "last_seen",
        "count",
        "sentence",
        "action",
        "flows",
    ])?;
    let opt = |v: Option<String>| v.unwrap_or_default();
    for a in alerts {
        let peer = a.peer.as_ref();
        out.write_record([
            a.id.to_string(),
            a.kind.to_string(),
            a.severity.to_string(),
            a.status.to_string(),
            opt(a.asset_id.clone()),
            opt(a.peer_asset_id.clone()),
            opt(a.subject.ip.map(|ip| ip.to_string())),
            opt(a.subject.mac.map(|m| m.to_string())),
            opt(peer.and_then(|p| p.ip).map(|ip| ip.to_string())),
            opt(peer.and_then(|p| p.mac).map(|m| m.to_string())),
            a.proto.clone(),
            opt(a.port.map(|p| p.to_string())),
            time::rfc3339(a.first_seen),
            time::rfc3339(a.last_seen),
            a.count.to_string(),
            a.evidence.sentence.clone(),
            a.action.clone(),
            a.evidence.flows.join(";"),
        ])?;
    }
    out.flush()
}
