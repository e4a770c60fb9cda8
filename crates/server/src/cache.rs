//! What the server computes from the store and keeps for a short while (the fleet's
//! vulnerability findings), so that pages and API calls do not each re-run a match.
//!
//! The findings are kept [`FRESH_FOR`]; the first caller after that recomputes them while
//! the others wait for its result (one computation at a time), and each computation
//! updates the `vulnerability_findings` and `vulnerable_assets` metrics. A triage
//! decision made through this server drops them at once ([`Cache::invalidate`]);
//! changes made elsewhere (the CLI, another server) show within [`FRESH_FOR`].
//!
//! Also kept: the bytes of hot list answers (`GET /api/v1/assets`), for
//! [`PAGE_FRESH_FOR`], keyed by their query string. Any request through this server that
//! may write (not GET, HEAD or OPTIONS) drops them all ([`forget_pages_on_write`]), so a
//! client never reads its own change stale; a sensor or CLI writing the same database
//! shows within [`PAGE_FRESH_FOR`].

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pumpguard_model::Asset;
use pumpguard_model::time::Timestamp;
use pumpguard_vuln::matcher::{Finding, FindingStatus};
use pumpguard_vuln::names::VendorAliases;

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;

use crate::AppState;
use crate::api::ApiError;

/// How long the bytes of an identical list answer are shared between callers.
pub const PAGE_FRESH_FOR: Duration = Duration::from_secs(1);
/// Most list answers kept at once.
const PAGE_ENTRIES: usize = 1024;

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
    /// List answers by key: when made, under which page generation, the body.
    pages: Mutex<HashMap<String, (Instant, u64, Bytes)>>,
    /// Bumped by [`Cache::forget_pages`].
    page_generation: Mutex<u64>,
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

impl Cache {
    fn page_generation(&self) -> u64 {
        *self
            .page_generation
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// Drops every kept list answer.
    pub fn forget_pages(&self) {
        *self
            .page_generation
            .lock()
            .unwrap_or_else(|p| p.into_inner()) += 1;
        self.pages.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    /// The answer kept under `key` if fresh, else `make`'s (kept unless a write came
    /// through meanwhile).
    pub async fn page<F, Fut>(&self, key: String, make: F) -> Result<Bytes, ApiError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Bytes, ApiError>>,
    {
        let generation = self.page_generation();
        {
            let pages = self.pages.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((at, g, body)) = pages.get(&key)
                && *g == generation
                && at.elapsed() < PAGE_FRESH_FOR
            {
                return Ok(body.clone());
            }
        }
        let body = make().await?;
        let mut pages = self.pages.lock().unwrap_or_else(|p| p.into_inner());
        if generation == self.page_generation() {
            if pages.len() >= PAGE_ENTRIES {
                pages.retain(|_, (at, _, _)| at.elapsed() < PAGE_FRESH_FOR);
                if pages.len() >= PAGE_ENTRIES {
                    pages.clear();
                }
            }
            pages.insert(key, (Instant::now(), generation, body.clone()));
        }
        Ok(body)
    }
}

/// Drops the kept list answers after any request that may have written something.
pub async fn forget_pages_on_write(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let writes = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    let response = next.run(request).await;
    if writes {
        state.cache.forget_pages();
    }
    response
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
