//! Assets: the inventory as a filterable, paged table, and one asset with its identity
//! evidence, alerts, vulnerabilities, certificates, flows, history and a lifecycle form.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use pumpguard_model::{Asset, AssetKind, Lifecycle, time};
use pumpguard_store::{AlertFilter, AssetFilter, AssetSearch, FlowFilter};
use serde::Deserialize;

use super::alerts::{AlertRow, HistoryRow};
use super::pki::CertRow;
use super::vulns::FindingRow;
use super::{
    Console, DoneQuery, Fail, Layout, Opt, PageResult, Pager, asset_href, back_with_done, or_dash,
    page_number, query, render, see_other, when, when_opt,
};
use crate::AppState;
use crate::auth::{Permission, need};

const PER_PAGE: usize = 50;
/// Flows an asset's page lists.
const MAX_FLOWS: usize = 50;

/// One asset as a table row shows it.
pub(crate) struct AssetRow {
    id: String,
    href: String,
    kind: String,
    vendor: String,
    model: String,
    firmware: String,
    ip: String,
    mac: String,
    zone: String,
    location: String,
    criticality: String,
    lifecycle: String,
    last_seen: String,
    source: &'static str,
}

impl AssetRow {
    fn of(a: &Asset) -> AssetRow {
        AssetRow {
            id: a.asset_id.to_string(),
            href: asset_href(a.asset_id.as_str()),
            kind: a.kind.as_str().replace('_', " "),
            vendor: or_dash(a.vendor.as_deref()),
            model: or_dash(a.model.as_deref()),
            firmware: or_dash(a.firmware.as_deref()),
            ip: a.ip().map(|i| i.to_string()).unwrap_or_default(),
            mac: a.mac.map(|m| m.to_string()).unwrap_or_default(),
            zone: or_dash(a.zone.as_deref()),
            location: or_dash(a.location.as_deref()),
            criticality: a.criticality.as_str().replace('_', " "),
            lifecycle: a.lifecycle.as_str().replace('_', " "),
            last_seen: when_opt(a.last_seen),
            source: a.source.as_str(),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct ListQuery {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    zone: String,
    #[serde(default)]
    lifecycle: String,
    #[serde(default)]
    vendor: String,
    #[serde(default)]
    q: String,
    #[serde(default)]
    page: String,
}

#[derive(Template)]
#[template(path = "assets.html")]
struct AssetsPage {
    l: Layout,
    kinds: Vec<Opt>,
    zones: Vec<Opt>,
    lifecycles: Vec<Opt>,
    vendors: Vec<Opt>,
    q: String,
    rows: Vec<AssetRow>,
    pager: Pager,
    summary: String,
}

/// GET `/assets`.
pub(super) async fn list(
    State(state): State<Arc<AppState>>,
    who: Console,
    Query(q): Query<ListQuery>,
) -> PageResult {
    let kind: Option<AssetKind> = non_empty(&q.kind)
        .map(str::parse)
        .transpose()
        .map_err(|e| Fail::bad(format!("kind: {e}")))?;
    let lifecycle: Option<Lifecycle> = non_empty(&q.lifecycle)
        .map(str::parse)
        .transpose()
        .map_err(|e| Fail::bad(format!("lifecycle: {e}")))?;
    let zone = q.zone.trim();
    let vendor = q.vendor.trim();
    // Filtered, counted and paged in the database: the page reads 50 rows of an
    // inventory of any size.
    let mut filter = AssetFilter {
        kind,
        lifecycle,
        zone: non_empty(zone).map(str::to_owned),
        ..AssetFilter::default()
    };
    let search = AssetSearch {
        vendor: non_empty(vendor).map(str::to_owned),
        model: None,
        text: non_empty(&q.q).map(str::to_owned),
    };
    let (no_filter, no_search) = (AssetFilter::default(), AssetSearch::default());
    let ((zones, vendors), matching, everything) = tokio::try_join!(
        state.store.asset_facets(),
        state.store.count_assets(&filter, &search),
        state.store.count_assets(&no_filter, &no_search),
    )?;
    let matching = usize::try_from(matching).unwrap_or(usize::MAX);
    let params = [
        ("kind", q.kind.trim()),
        ("zone", zone),
        ("lifecycle", q.lifecycle.trim()),
        ("vendor", vendor),
        ("q", q.q.trim()),
    ];
    let pager = Pager::new(page_number(&q.page), PER_PAGE, matching, |n| {
        let mut p = params.to_vec();
        let n = n.to_string();
        p.push(("page", &n));
        format!("/assets?{}", query(&p))
    });
    let range = pager.range(PER_PAGE);
    filter.offset = range.start as u64;
    filter.limit = Some(range.len() as u64);
    let rows = if range.is_empty() {
        Vec::new()
    } else {
        state
            .store
            .search_assets(&filter, &search)
            .await?
            .iter()
            .map(AssetRow::of)
            .collect()
    };
    let page = AssetsPage {
        l: Layout::new(&who, "assets", "Assets"),
        kinds: Opt::list(
            AssetKind::ALL.iter().map(|k| k.as_str()),
            q.kind.trim(),
            Some("any kind"),
        ),
        zones: Opt::list(zones.iter().map(String::as_str), zone, Some("any zone")),
        lifecycles: Opt::list(
            Lifecycle::ALL.iter().map(|l| l.as_str()),
            q.lifecycle.trim(),
            Some("any state"),
        ),
        vendors: Opt::list(
            vendors.iter().map(String::as_str),
            vendor,
            Some("any vendor"),
        ),
        q: q.q.trim().to_owned(),
        summary: format!("{matching} of {everything} assets match."),
        rows,
        pager,
    };
    Ok(render(&page))
}

fn non_empty(s: &str) -> Option<&str> {
    let s = s.trim();
    (!s.is_empty()).then_some(s)
}

/// One identity field of an asset with the evidence behind it.
struct FieldRow {
    name: String,
    value: String,
    evidence: Vec<EvidenceRow>,
}

struct EvidenceRow {
    value: String,
    source: String,
    confidence: u8,
    count: u64,
    first_seen: String,
    last_seen: String,
}

struct FlowRow {
    proto: String,
    app: String,
    client: String,
    server: String,
    bytes: u64,
    packets: u64,
    sessions: u64,
    last_seen: String,
}

#[derive(Template)]
#[template(path = "asset.html")]
struct AssetPage {
    l: Layout,
    id: String,
    href: String,
    row: AssetRow,
    hostname: String,
    serial: String,
    ips: String,
    first_seen: String,
    fields: Vec<FieldRow>,
    alerts: Vec<AlertRow>,
    findings: Vec<FindingRow>,
    certificates: Vec<CertRow>,
    flows: Vec<FlowRow>,
    history: Vec<HistoryRow>,
    transitions: Vec<Opt>,
    manage: bool,
    triage: bool,
    back: String,
}

/// GET `/assets/{id}`.
pub(super) async fn detail(
    State(state): State<Arc<AppState>>,
    who: Console,
    Path(id): Path<String>,
    Query(q): Query<DoneQuery>,
) -> PageResult {
    let asset = state
        .store
        .get_asset(&id)
        .await?
        .ok_or_else(|| Fail::not_found(format!("asset '{id}'")))?;
    let alert_filter = AlertFilter {
        asset_id: Some(id.clone()),
        ..AlertFilter::default()
    };
    let object = format!("asset:{id}");
    let (evidence, alerts, certs, history) = tokio::try_join!(
        async { Ok::<_, Fail>(state.store.asset_evidence(&id).await?) },
        async { Ok(state.store.list_alerts(&alert_filter).await?) },
        async { Ok(state.store.pki_certificates().await?) },
        super::audit::for_object(&state, &object),
    )?;
    let fleet = super::vulns::findings(&state).await?;
    let findings: Vec<FindingRow> = fleet
        .findings
        .iter()
        .filter(|f| f.asset_id == id)
        .map(FindingRow::of)
        .collect();

    // Identity fields in the model's order, each with its evidence, most confident first.
    let mut by_field: BTreeMap<&str, Vec<&pumpguard_model::Evidence>> = BTreeMap::new();
    for e in &evidence {
        by_field.entry(e.field.as_str()).or_default().push(e);
    }
    let value_of = |field: pumpguard_model::Field| -> String {
        use pumpguard_model::Field as F;
        match field {
            F::Mac => asset.mac.map(|m| m.to_string()).unwrap_or_default(),
            F::Ip => asset
                .ips
                .iter()
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
                .join(", "),
            F::Hostname => asset.hostname.clone().unwrap_or_default(),
            F::Vendor => asset.vendor.clone().unwrap_or_default(),
            F::Model => asset.model.clone().unwrap_or_default(),
            F::Firmware => asset.firmware.clone().unwrap_or_default(),
            F::Serial => asset.serial.clone().unwrap_or_default(),
            F::Kind => asset.kind.as_str().to_owned(),
            _ => String::new(),
        }
    };
    let fields: Vec<FieldRow> = pumpguard_model::Field::ALL
        .iter()
        .filter_map(|f| {
            let mut ev = by_field.remove(f.as_str()).unwrap_or_default();
            let value = value_of(*f);
            if ev.is_empty() && value.is_empty() {
                return None;
            }
            ev.sort_by(|a, b| {
                b.confidence
                    .cmp(&a.confidence)
                    .then(b.last_seen.cmp(&a.last_seen))
            });
            Some(FieldRow {
                name: f.as_str().replace('_', " "),
                value: if value.is_empty() {
                    "—".into()
                } else {
                    value
                },
                evidence: ev
                    .iter()
                    .map(|e| EvidenceRow {
                        value: e.value.clone(),
                        source: e.source.clone(),
                        confidence: e.confidence,
                        count: e.count,
                        first_seen: when(e.first_seen),
                        last_seen: when(e.last_seen),
                    })
                    .collect(),
            })
        })
        .collect();

    // Flows at any of its addresses, newest first.
    let mut flows = Vec::new();
    for ip in asset.ips.iter().take(8) {
        let filter = FlowFilter {
            ip: Some(*ip),
            limit: Some(MAX_FLOWS as u64),
            ..FlowFilter::default()
        };
        flows.extend(state.store.list_flows(&filter).await?);
    }
    // A flow between two of its own addresses comes back once per address.
    let mut seen = BTreeSet::new();
    flows.retain(|f| {
        seen.insert((
            f.proto.clone(),
            f.client_ip,
            f.client_port,
            f.server_ip,
            f.server_port,
        ))
    });
    flows.sort_by_key(|f| std::cmp::Reverse(f.last_seen));
    flows.truncate(MAX_FLOWS);
    let flows = flows
        .iter()
        .map(|f| FlowRow {
            proto: f.proto.clone(),
            app: f.app.clone(),
            client: format!("{}:{}", f.client_ip, f.client_port),
            server: format!("{}:{}", f.server_ip, f.server_port),
            bytes: f.bytes_to_server.saturating_add(f.bytes_to_client),
            packets: f.packets_to_server.saturating_add(f.packets_to_client),
            sessions: f.sessions,
            last_seen: when(f.last_seen),
        })
        .collect();

    let now = time::now();
    let certificates = certs
        .iter()
        .filter(|c| c.common_name == id)
        .map(|c| CertRow::of(c, now))
        .collect();
    let transitions = Lifecycle::ALL
        .iter()
        .filter(|to| **to != asset.lifecycle && asset.lifecycle.transition(**to).is_ok())
        .map(|to| Opt::new(to.as_str(), to.as_str().replace('_', " "), false))
        .collect();
    let href = asset_href(&id);
    let page = AssetPage {
        l: Layout::new(&who, "assets", format!("Asset {id}")).done(q.done.as_deref()),
        row: AssetRow::of(&asset),
        hostname: or_dash(asset.hostname.as_deref()),
        serial: or_dash(asset.serial.as_deref()),
        ips: if asset.ips.is_empty() {
            "—".into()
        } else {
            asset
                .ips
                .iter()
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        },
        first_seen: when_opt(asset.first_seen),
        fields,
        alerts: alerts.iter().map(AlertRow::of).collect(),
        findings,
        certificates,
        flows,
        history: history.iter().rev().map(HistoryRow::of).collect(),
        transitions,
        manage: who.can(Permission::ManageAssets),
        triage: who.can(Permission::TriageAlerts),
        back: href.clone(),
        href,
        id,
    };
    Ok(render(&page))
}

#[derive(Debug, Deserialize)]
pub(super) struct LifecycleForm {
    lifecycle: String,
    #[serde(default)]
    reason: String,
}

/// POST `/assets/{id}/lifecycle`: moves the asset to another state (retiring it revokes
/// its certificates).
pub(super) async fn lifecycle(
    State(state): State<Arc<AppState>>,
    who: Console<need::ManageAssets>,
    Path(id): Path<String>,
    Form(f): Form<LifecycleForm>,
) -> PageResult {
    let to: Lifecycle = f
        .lifecycle
        .parse()
        .map_err(|e| Fail::bad(format!("lifecycle: {e}")))?;
    let reason = f.reason.trim();
    if reason.chars().count() > 2000 {
        return Err(Fail::bad("The reason is longer than 2000 characters."));
    }
    let reason = (!reason.is_empty()).then_some(reason);
    let change = state
        .store
        .set_lifecycle(&who.actor(), &id, to, reason)
        .await?;
    let code = if change.changed() {
        "lifecycle"
    } else {
        "unchanged"
    };
    let href = asset_href(&id);
    Ok(see_other(&back_with_done(&href, &href, code)))
}
