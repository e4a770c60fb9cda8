//! Policy: the segmentation policy in force (`serve --policy`): its zones with the
//! assets each holds, its conduits and default, and the policy violations raised.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Query, State};
use pumpguard_model::{AlertKind, AlertStatus};
use pumpguard_store::{AlertFilter, AssetFilter};

use super::alerts::AlertRow;
use super::{Console, DoneQuery, Layout, PageResult, render};
use crate::AppState;
use crate::auth::Permission;

/// Violations the page lists.
const MAX_VIOLATIONS: usize = 200;

struct ZoneRow {
    name: String,
    vlan: String,
    cidrs: String,
    kinds: String,
    models: String,
    assets: usize,
}

struct ConduitRow {
    from: String,
    to: String,
    services: String,
    log: bool,
}

#[derive(Template)]
#[template(path = "policy.html")]
struct PolicyPage {
    l: Layout,
    loaded: bool,
    default: String,
    zones: Vec<ZoneRow>,
    conduits: Vec<ConduitRow>,
    unzoned: usize,
    alerts: Vec<AlertRow>,
    open: usize,
    total: usize,
    triage: bool,
    back: String,
}

/// GET `/policy`.
pub(super) async fn page(
    State(state): State<Arc<AppState>>,
    who: Console,
    Query(q): Query<DoneQuery>,
) -> PageResult {
    let filter = AlertFilter {
        kind: Some(AlertKind::PolicyViolation),
        ..AlertFilter::default()
    };
    let violations = state.store.list_alerts(&filter).await?;
    let open = violations
        .iter()
        .filter(|a| a.status != AlertStatus::Resolved)
        .count();
    let (mut zones, mut conduits, mut unzoned, mut default) =
        (Vec::new(), Vec::new(), 0, String::new());
    if let Some(policy) = &state.policy {
        let assets = state.store.list_assets(&AssetFilter::default()).await?;
        let zoning = pumpguard_policy::Zoning::new(policy, &assets);
        let mut counts = vec![0usize; policy.zones.len()];
        for a in &assets {
            match a.ip().and_then(|ip| zoning.zone_of(ip)) {
                Some(i) if i < counts.len() => counts[i] += 1,
                _ => unzoned += 1,
            }
        }
        let join = |v: Vec<String>| {
            if v.is_empty() {
                "—".to_owned()
            } else {
                v.join(", ")
            }
        };
        zones = policy
            .zones
            .iter()
            .zip(&counts)
            .map(|(z, n)| ZoneRow {
                name: z.name.clone(),
                vlan: z.vlan.map(|v| v.to_string()).unwrap_or_else(|| "—".into()),
                cidrs: join(z.cidrs.iter().map(|c| c.to_string()).collect()),
                kinds: join(
                    z.kinds
                        .iter()
                        .map(|k| k.as_str().replace('_', " "))
                        .collect(),
                ),
                models: join(z.models.clone()),
                assets: *n,
            })
            .collect();
        conduits = policy
            .conduits
            .iter()
            .map(|c| ConduitRow {
                from: c.from.clone(),
                to: c.to.clone(),
                services: c
                    .services
                    .iter()
                    .map(|s| s.to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                log: c.log,
            })
            .collect();
        default = match policy.default {
            pumpguard_policy::DefaultAction::Deny => "deny".into(),
            pumpguard_policy::DefaultAction::Allow => "allow".into(),
        };
    }
    let page = PolicyPage {
        l: Layout::new(&who, "policy", "Policy").done(q.done.as_deref()),
        loaded: state.policy.is_some(),
        default,
        zones,
        conduits,
        unzoned,
        open,
        total: violations.len(),
        alerts: violations
            .iter()
            .take(MAX_VIOLATIONS)
            .map(AlertRow::of)
            .collect(),
        triage: who.can(Permission::TriageAlerts),
        back: "/policy".into(),
    };
    Ok(render(&page))
}
