//! The inventory: assets, their import and their lifecycle.

use pumpguard_audit::Head;
use pumpguard_model::{Asset, AssetKind, AssetPatch, Criticality, Lifecycle, MacAddr, Source};
use serde::Serialize;

use crate::backend::{postgres, sqlite};
use crate::{Backend, Result, Store};

/// Which assets to list; `None` fields do not filter.
#[derive(Debug, Clone, Default)]
pub struct AssetFilter {
    pub kind: Option<AssetKind>,
    pub lifecycle: Option<Lifecycle>,
    pub criticality: Option<Criticality>,
    pub source: Option<Source>,
    pub zone: Option<String>,
    pub mac: Option<MacAddr>,
    pub limit: Option<u64>,
    pub offset: u64,
}

/// More ways to pick assets, beside an [`AssetFilter`] (`Store::search_assets`): `None`
/// fields do not filter. Comparisons ignore ASCII case.
#[derive(Debug, Clone, Default)]
pub struct AssetSearch {
    pub vendor: Option<String>,
    pub model: Option<String>,
    /// Text anywhere in the id, vendor, model, firmware, serial, MAC, addresses, host
    /// name, location or zone.
    pub text: Option<String>,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportSummary {
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    /// The audit head after the import's entries.
    pub audit_head: Head,
}

/// What a lifecycle change did: the state before, and the asset after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LifecycleChange {
    pub from: Lifecycle,
    pub asset: Asset,
    /// Certificates revoked because the asset was retired (serials, hex).
    pub revoked: Vec<String>,
}

impl LifecycleChange {
    /// Whether the state moved (staying put writes nothing).
    pub fn changed(&self) -> bool {
        self.from != self.asset.lifecycle
    }
}

/// Calls the backend module's function of the same name with the pool first.
macro_rules! dispatch {
    ($store:expr, $f:ident($($arg:expr),*)) => {
        match &$store.backend {
            Backend::Sqlite(p) => sqlite::$f(p, $($arg),*).await,
            Backend::Postgres(p) => postgres::$f(p, $($arg),*).await,
        }
    };
}
pub(crate) use dispatch;

impl Store {
    /// Creates or updates assets from inventory rows in one transaction, recording one
    /// audit entry per created or changed asset and one for the import itself. Unchanged
    /// rows write nothing. On any error nothing is written; `Rejected.index` names the
    /// offending patch.
    pub async fn import_assets(
        &self,
        actor: &str,
        origin: &str,
        patches: &[AssetPatch],
    ) -> Result<ImportSummary> {
        dispatch!(self, import_assets(actor, origin, patches))
    }

    /// Assets matching `filter`, ordered by asset id.
    pub async fn list_assets(&self, filter: &AssetFilter) -> Result<Vec<Asset>> {
        dispatch!(self, list_assets(filter, &AssetSearch::default()))
    }

    /// Assets matching `filter` and `search`, ordered by asset id; the filter's
    /// `limit` and `offset` page in the database.
    pub async fn search_assets(
        &self,
        filter: &AssetFilter,
        search: &AssetSearch,
    ) -> Result<Vec<Asset>> {
        dispatch!(self, list_assets(filter, search))
    }

    /// How many assets match `filter` and `search` (its limit and offset aside).
    pub async fn count_assets(&self, filter: &AssetFilter, search: &AssetSearch) -> Result<u64> {
        dispatch!(self, count_assets(filter, search))
    }

    /// The inventory's distinct zones and vendors, sorted.
    pub async fn asset_facets(&self) -> Result<(Vec<String>, Vec<String>)> {
        dispatch!(self, asset_facets())
    }

    pub async fn get_asset(&self, id: &str) -> Result<Option<Asset>> {
        dispatch!(self, get_asset(id))
    }

    /// Moves an asset to another lifecycle state (see [`Lifecycle::transition`]),
    /// audited with the reason. Retiring it revokes its certificates
    /// (`cessation-of-operation`, each audited `pki.revoke`) in the same transaction.
    pub async fn set_lifecycle(
        &self,
        actor: &str,
        id: &str,
        to: Lifecycle,
        reason: Option<&str>,
    ) -> Result<LifecycleChange> {
        dispatch!(self, set_lifecycle(actor, id, to, reason))
    }
}
