//! The fleet's vulnerability findings: everything the matcher needs read from the store
//! side by side, then matched off the async runtime.

use std::time::{Duration, Instant};

use pumpguard_model::Asset;
use pumpguard_store::{AssetFilter, Store, StoreError};
use pumpguard_vuln::matcher::{Finding, Intel};
use pumpguard_vuln::names::VendorAliases;

use crate::AnalysisError;

/// Where the time of a match went (`PUMPGUARD_TIMINGS` in the CLI prints it).
#[derive(Debug, Clone, Default)]
pub struct Timings {
    pub assets: usize,
    /// Until the assets were read.
    pub assets_read: Duration,
    pub advisories: usize,
    pub sboms: usize,
    /// Until the documents were read.
    pub documents_read: Duration,
    /// Distinct (client, server) address pairs of the flows.
    pub address_pairs: usize,
    /// Until everything was read.
    pub loaded: Duration,
    pub findings: usize,
    /// The match itself.
    pub matched: Duration,
}

/// Every finding for the inventory (in asset-id order), with the assets they name.
pub async fn fleet_findings(
    store: &Store,
    aliases: &VendorAliases,
) -> Result<(Vec<Finding>, Vec<Asset>), AnalysisError> {
    let (findings, assets, _) = fleet_findings_timed(store, aliases).await?;
    Ok((findings, assets))
}

/// [`fleet_findings`], saying where the time went.
pub async fn fleet_findings_timed(
    store: &Store,
    aliases: &VendorAliases,
) -> Result<(Vec<Finding>, Vec<Asset>, Timings), AnalysisError> {
    let started = Instant::now();
    // Read side by side: the assets are parsed while the documents are.
    let filter = AssetFilter::default();
    let ((assets, t_assets), ((advisories, sboms), t_docs), (kev, epss), triage, peers) = tokio::try_join!(
        async { Ok::<_, StoreError>((store.list_assets(&filter).await?, started.elapsed())) },
        async { Ok((store.vuln_documents().await?, started.elapsed())) },
        store.vuln_signals(),
        store.list_triage(),
        store.flow_peers(),
    )?;
    let loaded = started.elapsed();
    let mut timings = Timings {
        assets: assets.len(),
        assets_read: t_assets,
        advisories: advisories.len(),
        sboms: sboms.len(),
        documents_read: t_docs,
        address_pairs: peers.len(),
        loaded,
        ..Timings::default()
    };
    let aliases = aliases.clone();
    // The match is CPU work: a server keeps answering other requests meanwhile.
    let (findings, assets) = tokio::task::spawn_blocking(move || {
        let intel = Intel {
            advisories: &advisories,
            sboms: &sboms,
            kev: &kev,
            epss: &epss,
            triage: &triage,
            exposure: pumpguard_vuln::exposure::exposures(&assets, &peers),
        };
        let findings = pumpguard_vuln::matcher::match_fleet(&assets, &intel, &aliases);
        (findings, assets)
    })
    .await
    .map_err(|e| AnalysisError::Internal(format!("the vulnerability match failed: {e}")))?;
    timings.findings = findings.len();
    timings.matched = started.elapsed().saturating_sub(loaded);
    Ok((findings, assets, timings))
}
