//! The overview: the pumps by vendor, model and firmware, alerts by severity, vulnerable
//! pumps, the overall risk level, certificate coverage, policy violations and the most
//! recent open alerts.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use askama::Template;
use axum::extract::{Query, State};
use pumpguard_model::{AlertKind, AlertStatus, AssetKind, Lifecycle, Severity, time};
use pumpguard_store::{AlertFilter, AssetFilter};
use pumpguard_vuln::matcher::FindingStatus;

use super::alerts::AlertRow;
use super::charts::{self, Datum};
use super::{Console, DoneQuery, Layout, PageResult, asset_href, or_dash, query, render};
use crate::AppState;

/// Recent alerts and vulnerable pumps listed.
const TOP: usize = 10;

struct Tile {
    label: &'static str,
    value: String,
    detail: String,
    href: String,
    class: &'static str,
}

struct ModelRow {
    vendor: String,
    model: String,
    firmware: String,
    count: usize,
    href: String,
}

struct SeverityRow {
    severity: &'static str,
    open: i64,
    acknowledged: i64,
    resolved: i64,
    href: String,
}

struct VulnerablePump {
    id: String,
    href: String,
    model: String,
    firmware: String,
    cves: usize,
    kev: usize,
    top_cve: String,
    priority: String,
}

#[derive(Template)]
#[template(path = "overview.html")]
struct OverviewPage {
    l: Layout,
    tiles: Vec<Tile>,
    vendor_chart: String,
    model_chart: String,
    models: Vec<ModelRow>,
    alert_chart: String,
    severities: Vec<SeverityRow>,
    vulnerable: Vec<VulnerablePump>,
    vulnerable_count: usize,
    risk: Option<(String, &'static str)>,
    sp: Vec<(String, String, &'static str)>,
    coverage_chart: String,
    has_ca: bool,
    certified: usize,
    violations: usize,
    policy_loaded: bool,
    recent: Vec<AlertRow>,
}

fn severity_class(s: Severity) -> &'static str {
    s.as_str()
}

/// GET `/`.
pub(super) async fn page(
    State(state): State<Arc<AppState>>,
    who: Console,
    Query(q): Query<DoneQuery>,
) -> PageResult {
    let all_assets = AssetFilter::default();
    let violations_filter = AlertFilter {
        kind: Some(AlertKind::PolicyViolation),
        ..AlertFilter::default()
    };
    let open_filter = AlertFilter {
        status: Some(AlertStatus::Open),
        ..AlertFilter::default()
    };
    let (assets, counts, violations, open_alerts, certs, ca) = tokio::try_join!(
        state.store.list_assets(&all_assets),
        state.store.counts(),
        state.store.list_alerts(&violations_filter),
        state.store.list_alerts(&open_filter),
        state.store.pki_certificates(),
        state.store.pki_ca(),
    )?;
    let fleet = super::vulns::findings(&state).await?;
    let register = super::assessment::kept_register(&state, &who.actor()).await?;
    let now = time::now();

    // Pumps in the inventory that are not retired.
    let pumps: Vec<&pumpguard_model::Asset> = assets
        .iter()
        .filter(|a| a.kind == AssetKind::InfusionPump && a.lifecycle != Lifecycle::Retired)
        .collect();
    let mut by_vendor: BTreeMap<String, u64> = BTreeMap::new();
    let mut by_model: BTreeMap<String, u64> = BTreeMap::new();
    let mut by_vmf: BTreeMap<(String, String, String), usize> = BTreeMap::new();
    for p in &pumps {
        let vendor = or_dash(p.vendor.as_deref());
        let model = or_dash(p.model.as_deref());
        *by_vendor.entry(vendor.clone()).or_default() += 1;
        *by_model.entry(format!("{vendor} {model}")).or_default() += 1;
        *by_vmf
            .entry((vendor, model, or_dash(p.firmware.as_deref())))
            .or_default() += 1;
    }
    let sorted = |m: BTreeMap<String, u64>| {
        let mut v: Vec<Datum> = m
            .into_iter()
            .map(|(k, n)| Datum::new(k, n, "brand"))
            .collect();
        v.sort_by(|a, b| b.value.cmp(&a.value).then(a.label.cmp(&b.label)));
        v.truncate(12);
        v
    };
    let vendor_chart = charts::bars("pumps-vendor", "Pumps by vendor", &sorted(by_vendor));
    let model_chart = charts::bars("pumps-model", "Pumps by model", &sorted(by_model));
    let models = by_vmf
        .into_iter()
        .map(|((vendor, model, firmware), count)| ModelRow {
            href: format!(
                "/assets?{}",
                query(&[
                    ("kind", "infusion_pump"),
                    ("vendor", if vendor == "—" { "" } else { &vendor }),
                    ("q", if model == "—" { "" } else { &model }),
                ])
            ),
            vendor,
            model,
            firmware,
            count,
        })
        .collect();

    // Alerts by severity and status.
    let mut sev: BTreeMap<&str, (i64, i64, i64)> = BTreeMap::new();
    for (s, st, n) in &counts.alerts {
        let e = sev.entry(s.as_str()).or_default();
        match st.as_str() {
            "open" => e.0 += n,
            "acknowledged" => e.1 += n,
            _ => e.2 += n,
        }
    }
    let severities: Vec<SeverityRow> = Severity::ALL
        .iter()
        .rev()
        .map(|s| {
            let (open, acknowledged, resolved) = sev.get(s.as_str()).copied().unwrap_or_default();
            SeverityRow {
                severity: s.as_str(),
                open,
                acknowledged,
                resolved,
                href: format!(
                    "/alerts?{}",
                    query(&[("status", "open"), ("severity", s.as_str())])
                ),
            }
        })
        .collect();
    let alert_chart = charts::bars(
        "alerts-severity",
        "Open alerts by severity",
        &severities
            .iter()
            .map(|r| {
                Datum::new(
                    r.severity,
                    u64::try_from(r.open).unwrap_or(0),
                    severity_class(r.severity.parse().unwrap_or(Severity::Info)),
                )
            })
            .collect::<Vec<_>>(),
    );
    let open_total: i64 = severities.iter().map(|r| r.open).sum();

    // Vulnerable pumps: pumps with an affected finding, by their worst priority.
    let pump_ids: BTreeSet<&str> = pumps.iter().map(|p| p.asset_id.as_str()).collect();
    let mut per_pump: BTreeMap<&str, Vec<&pumpguard_vuln::matcher::Finding>> = BTreeMap::new();
    for f in fleet
        .findings
        .iter()
        .filter(|f| f.status == FindingStatus::Affected && pump_ids.contains(f.asset_id.as_str()))
    {
        per_pump.entry(f.asset_id.as_str()).or_default().push(f);
    }
    let vulnerable_count = per_pump.len();
    let mut vulnerable: Vec<(f64, VulnerablePump)> = per_pump
        .iter()
        .filter_map(|(id, fs)| {
            let top = fs
                .iter()
                .max_by(|a, b| a.priority.value.total_cmp(&b.priority.value))?;
            let pump = pumps.iter().find(|p| p.asset_id.as_str() == *id)?;
            Some((
                top.priority.value,
                VulnerablePump {
                    id: (*id).to_owned(),
                    href: asset_href(id),
                    model: or_dash(pump.model.as_deref()),
                    firmware: or_dash(pump.firmware.as_deref()),
                    cves: fs.len(),
                    kev: fs.iter().filter(|f| f.kev).count(),
                    top_cve: top.cve.to_string(),
                    priority: format!("{:.1}", top.priority.value),
                },
            ))
        })
        .collect();
    vulnerable.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.id.cmp(&b.1.id)));
    let vulnerable: Vec<VulnerablePump> =
        vulnerable.into_iter().take(TOP).map(|(_, v)| v).collect();

    // Risk: the worst threat event of the register.
    let risk = register
        .risks
        .iter()
        .map(|r| r.risk_level)
        .max()
        .map(super::assessment::level_view);
    let sp = super::assessment::sp_rows(&register);

    // Certificates.
    let coverage = pumpguard_store::pump_certificate_coverage(&certs, &assets, now);
    let covered = coverage.values().filter(|v| **v).count();
    let coverage_chart = charts::donut(
        "cert-coverage",
        "Pumps with a valid certificate",
        "pumps",
        &[
            Datum::new("with a valid certificate", covered as u64, "good"),
            Datum::new("without one", (coverage.len() - covered) as u64, "bad"),
        ],
    );

    let unresolved_violations = violations
        .iter()
        .filter(|a| a.status != AlertStatus::Resolved)
        .count();
    let mut recent: Vec<&pumpguard_model::Alert> = open_alerts.iter().collect();
    recent.sort_by(|a, b| b.last_seen.cmp(&a.last_seen).then(b.id.cmp(&a.id)));
    let recent: Vec<AlertRow> = recent.into_iter().take(TOP).map(AlertRow::of).collect();

    let tiles = vec![
        Tile {
            label: "Pumps in the inventory",
            value: pumps.len().to_string(),
            detail: format!("{} assets in all", assets.len()),
            href: "/assets?kind=infusion_pump".into(),
            class: "",
        },
        Tile {
            label: "Open alerts",
            value: open_total.to_string(),
            detail: format!(
                "{} critical, {} high",
                sev.get("critical").map_or(0, |s| s.0),
                sev.get("high").map_or(0, |s| s.0)
            ),
            href: "/alerts?status=open".into(),
            class: if open_total > 0 { "bad" } else { "good" },
        },
        Tile {
            label: "Vulnerable pumps",
            value: vulnerable_count.to_string(),
            detail: format!("with an affected finding, of {}", pumps.len()),
            href: "/vulnerabilities?status=affected".into(),
            class: if vulnerable_count > 0 { "bad" } else { "good" },
        },
        Tile {
            label: "Highest risk",
            value: risk.as_ref().map_or_else(|| "—".into(), |r| r.0.clone()),
            detail: "of the register's threat events".into(),
            href: "/assessment/register".into(),
            class: match risk.as_ref().map(|r| r.1) {
                Some("critical" | "high") => "bad",
                Some(_) => "good",
                None => "",
            },
        },
        Tile {
            label: "Certificate coverage",
            value: format!("{covered} / {}", coverage.len()),
            detail: "pumps with a valid certificate".into(),
            href: "/pki".into(),
            class: if covered == coverage.len() {
                "good"
            } else {
                "bad"
            },
        },
        Tile {
            label: "Policy violations",
            value: unresolved_violations.to_string(),
            detail: "unresolved policy violation alerts".into(),
            href: "/policy".into(),
            class: if unresolved_violations > 0 {
                "bad"
            } else {
                "good"
            },
        },
    ];

    let page = OverviewPage {
        l: Layout::new(&who, "overview", "Overview").done(q.done.as_deref()),
        tiles,
        vendor_chart,
        model_chart,
        models,
        alert_chart,
        severities,
        vulnerable,
        vulnerable_count,
        risk,
        sp,
        coverage_chart,
        has_ca: ca.is_some(),
        certified: covered,
        violations: unresolved_violations,
        policy_loaded: state.policy.is_some(),
        recent,
    };
    Ok(render(&page))
}
