//! What the server computes from the store and keeps for a short while (the fleet's
//! vulnerability findings), so that pages and API calls do not each re-run a match.
//!
//! The findings are kept [`FRESH_FOR`]; the first caller after that recomputes them while
//! the others wait for its result (one computation at a time), and each computation
//! updates the `vulnerability_findings` and `vulnerable_assets` metrics. A triage
//! decision made through this server drops them at once ([`Cache::invalidate`]);
//! changes made elsewhere (the CLI, another server) show within [`FRESH_FOR`].

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pumpguard_model::Asset;
use pumpguard_model::time::Timestamp;
use pumpguard_vuln::matcher::{Finding, FindingStatus};
use pumpguard_vuln::names::VendorAliases;

use crate::AppState;
use crate::api::ApiError;

/// How long computed findings are served before they are computed again.
pub const FRESH_FOR: Duration = Duration::from_secs(30);

/// The fleet's vulnerability findings at one moment, with the assets they name.
#[derive(Debug)]
pub struct Fleet {
    /// In asset-id order (see [`pumpguard_analysis::fleet_findings`]).
    pub findings: Vec<Finding>,
    /// The whole inventory as it was matched.
    pub assets: Vec<Asset>,
    /// When the match ran.
    pub computed: Timestamp,
}

impl Fleet {
    /// Assets with at least one finding that does not clear them (not `not_affected`
    /// nor `fixed`).
    pub fn vulnerable_assets(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| !matches!(f.status, FindingStatus::NotAffected | FindingStatus::Fixed))
            .map(|f| f.asset_id.as_str())
            .collect::<HashSet<_>>()
            .len()
    }
}

/// Computed results, refreshed when stale.
#[derive(Debug, Default)]
pub struct Cache {
    /// The last findings, when they were computed, and the generation they belong to.
    fleet: Mutex<Option<(Arc<Fleet>, Instant, u64)>>,
    /// Bumped by [`Cache::invalidate`]: a result computed under an older generation is
    /// handed to its caller but not kept.
    generation: Mutex<u64>,
    /// Held while computing, so that only one computation runs.
    computing: tokio::sync::Mutex<()>,
}

impl Cache {
    /// The kept findings, if still fresh.
    fn fresh(&self) -> Option<Arc<Fleet>> {
        let generation = self.generation();
        let slot = self.fleet.lock().unwrap_or_else(|p| p.into_inner());
        match &*slot {
            Some((fleet, at, g)) if *g == generation && at.elapsed() < FRESH_FOR => {
                Some(fleet.clone())
            }
            _ => None,
        }
    }

    fn generation(&self) -> u64 {
        *self.generation.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Drops the kept findings: the next caller computes them again (after a triage
    /// decision, say).
    pub fn invalidate(&self) {
        *self.generation.lock().unwrap_or_else(|p| p.into_inner()) += 1;
        *self.fleet.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }
}

/// The fleet's vulnerability findings (the inventory matched against the imported
/// intelligence with the built-in vendor aliases), at most [`FRESH_FOR`] old.
pub async fn findings(state: &AppState) -> Result<Arc<Fleet>, ApiError> {
    let cache = &state.cache;
    if let Some(f) = cache.fresh() {
        return Ok(f);
    }
    let _computing = cache.computing.lock().await;
    // Someone else may have computed them while this caller waited.
    if let Some(f) = cache.fresh() {
        return Ok(f);
    }
    let generation = cache.generation();
    let computed = pumpguard_model::time::now();
    let (findings, assets) =
        pumpguard_analysis::fleet_findings(&state.store, &VendorAliases::default())
            .await
            .map_err(|e| match e {
                pumpguard_analysis::AnalysisError::Store(e) => ApiError::from(e),
                e => ApiError::internal(e),
            })?;
    let fleet = Arc::new(Fleet {
        findings,
        assets,
        computed,
    });
    state
        .metrics
        .set_findings(fleet.findings.len(), fleet.vulnerable_assets());
    *cache.fleet.lock().unwrap_or_else(|p| p.into_inner()) =
        Some((fleet.clone(), Instant::now(), generation));
    Ok(fleet)
}
