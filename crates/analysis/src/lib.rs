//! The analyses pumpguard draws from the store, shared by every front end (the CLI's
//! `vuln match`, `assess` and `report`, the server's API and console, the demo): it owns
//! the orchestration (what to read, in which order, what to keep), not the rules.
//!
//! - [`fleet_findings`]: the inventory matched against the imported vulnerability
//!   intelligence (advisories, SBOMs, KEV, EPSS, triage, exposure from the flows); the
//!   matching itself is `pumpguard-vuln`'s.
//! - [`gather`], [`answered`], [`outside_findings`], [`risk_register`] and
//!   [`assessment`]: the risk assessment as `pumpguard report` draws it up before
//!   rendering: the evidence rules run over the store (and their answers kept, audited
//!   as the caller), people's answers merged over them, the SP 800-30 register, and the
//!   findings from outside the questionnaire. The rules and the register are
//!   `pumpguard-risk`'s.
//!
//! No files, no printing, no HTTP: callers hand over what they read and render what
//! comes back.

mod assess;
mod vulns;

pub use assess::{
    CRITICAL_SCORE, Gathered, answered, assessment, assessment_with, gather, outside_findings,
    risk_register, stored_answers,
};
pub use vulns::{Timings, fleet_findings, fleet_findings_timed};

use pumpguard_store::StoreError;

/// Why an analysis failed.
#[derive(Debug, thiserror::Error)]
pub enum AnalysisError {
    /// Reading or writing the store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The store holds something the analysis cannot read (a stored answer that is no
    /// answer, evidence that does not serialise), or a worker failed.
    #[error("{0}")]
    Internal(String),
}

impl AnalysisError {
    /// Whether the caller's input is at fault (see [`StoreError::is_bad_input`]).
    pub fn is_bad_input(&self) -> bool {
        match self {
            AnalysisError::Store(e) => e.is_bad_input(),
            AnalysisError::Internal(_) => false,
        }
    }
}
