//! What the server computes from the store and keeps for a short while (the fleet's
//! vulnerability findings), so that pages and API calls do not each re-run a match.

/// Computed results, refreshed when stale.
#[derive(Debug, Default)]
pub struct Cache {}
