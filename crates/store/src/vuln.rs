//! Vulnerability intelligence: imported documents (advisories, VEX, NVD records, SBOMs)
//! stored whole as the model's normalised JSON and indexed per vulnerability; CISA KEV
//! and EPSS keyed by CVE; analysts' triage decisions per model and firmware. An import
//! is one transaction; a document imported again unchanged writes nothing, changed it
//! replaces the old one. Each write is audited (`vuln.import`, `vuln.triage`). Row
//! decoding and audit details live here; the SQL lives in `ops.rs`.

use pumpguard_model::{
    Advisory, CvssScore, Sbom, TriageDecision, VEX_JUSTIFICATIONS, VexStatus, VulnImport,
    VulnListing,
};
use serde::Serialize;
use serde_json::{Value, json};

use crate::assets::dispatch;
use crate::backend::{postgres, sqlite};
use crate::{Backend, Result, Store, StoreError};

/// What one `import_vuln` did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct VulnImportSummary {
    /// Advisories and SBOMs stored for the first time.
    pub documents_new: u64,
    /// Stored before, and different now (replaced).
    pub documents_updated: u64,
    /// Stored before exactly as now (nothing written).
    pub documents_unchanged: u64,
    pub vulnerabilities: u64,
    pub kev_entries: u64,
    pub epss_scores: u64,
}

/// A document as stored: its row fields and its body.
pub(crate) struct DocumentRow<'a> {
    pub id: &'a str,
    pub kind: &'static str,
    pub format: &'static str,
    pub title: Option<&'a str>,
    pub publisher: Option<&'a str>,
    pub revision: Option<&'a str>,
    pub published: Option<i64>,
    pub updated: Option<i64>,
    pub body: String,
}

fn invalid(what: impl std::fmt::Display) -> StoreError {
    StoreError::Invalid(what.to_string())
}

pub(crate) fn advisory_row(a: &Advisory) -> Result<DocumentRow<'_>> {
    if a.id.trim().is_empty() {
        return Err(invalid("an advisory without an id cannot be stored"));
    }
    Ok(DocumentRow {
        id: &a.id,
        kind: "advisory",
        format: a.format.as_str(),
        title: a.title.as_deref(),
        publisher: a.publisher.as_deref(),
        revision: a.revision.as_deref(),
        published: a.published.map(pumpguard_model::time::to_micros),
        updated: a.updated.map(pumpguard_model::time::to_micros),
        body: serde_json::to_string(a).map_err(|e| invalid(format!("advisory {}: {e}", a.id)))?,
    })
}

pub(crate) fn sbom_row(s: &Sbom) -> Result<DocumentRow<'_>> {
    if s.id.trim().is_empty() {
        return Err(invalid("an SBOM without an id cannot be stored"));
    }
    Ok(DocumentRow {
        id: &s.id,
        kind: "sbom",
        format: s.format.as_str(),
        title: s.subject.as_ref().map(|c| c.name.as_str()),
        publisher: s.subject.as_ref().and_then(|c| c.supplier.as_deref()),
        revision: s.subject.as_ref().and_then(|c| c.version.as_deref()),
        published: None,
        updated: None,
        body: serde_json::to_string(s).map_err(|e| invalid(format!("SBOM {}: {e}", s.id)))?,
    })
}

/// The score `vuln_entries` keeps for a vulnerability: the newest CVSS version's, the
/// highest of that version when a document gives several.
pub(crate) fn headline_score(scores: &[CvssScore]) -> Option<&CvssScore> {
    scores.iter().max_by(|a, b| {
        a.version_rank()
            .cmp(&b.version_rank())
            .then(a.score.total_cmp(&b.score))
    })
}

/// Refuses a decision that VEX could not say, before the transaction starts.
pub(crate) fn check_triage(d: &TriageDecision) -> Result<()> {
    if d.model.trim().is_empty() {
        return Err(invalid("triage needs a model"));
    }
    if !d.cve.starts_with("CVE-") {
        return Err(invalid(format!("'{}' is not a CVE id", d.cve)));
    }
    match (&d.status, d.justification.as_deref()) {
        (VexStatus::NotAffected, None) if d.statement.is_none() => Err(invalid(format!(
            "not_affected needs --justification (one of {}) or an impact statement",
            VEX_JUSTIFICATIONS.join(", ")
        ))),
        (_, Some(j)) if !VEX_JUSTIFICATIONS.contains(&j) => Err(invalid(format!(
            "'{j}' is not a VEX justification (one of {})",
            VEX_JUSTIFICATIONS.join(", ")
        ))),
        (s, Some(_)) if *s != VexStatus::NotAffected => Err(invalid(format!(
            "a justification goes with not_affected, not {s}"
        ))),
        _ => Ok(()),
    }
}

pub(crate) fn triage_detail(d: &TriageDecision, before: Option<&str>) -> Value {
    json!({
        "model": d.model,
        "firmware": d.firmware,
        "cve": d.cve,
        "status": d.status.as_str(),
        "justification": d.justification,
        "statement": d.statement,
        "before": before,
    })
}

pub(crate) fn triage_object(d: &TriageDecision) -> String {
    format!(
        "triage:{}|{}|{}",
        d.model,
        d.firmware.as_deref().unwrap_or("*"),
        d.cve
    )
}

pub(crate) fn corrupt(table: &'static str, what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        table,
        why: what.to_string(),
    }
}

impl Store {
    /// Stores what files held, each with the file it came from, in one transaction:
    /// documents by id (an unchanged one writes nothing; a changed one replaces the old
    /// and its index rows), KEV and EPSS rows by CVE. Each new or changed document is
    /// audited `vuln.import` on `advisory:ID` / `sbom:ID`; a KEV or EPSS file once on
    /// `kev` / `epss` with its counts.
    pub async fn import_vuln(
        &self,
        actor: &str,
        items: &[(String, VulnImport)],
    ) -> Result<VulnImportSummary> {
        dispatch!(self, import_vuln(actor, items))
    }

    /// Every stored advisory and SBOM.
    pub async fn vuln_documents(&self) -> Result<(Vec<Advisory>, Vec<Sbom>)> {
        dispatch!(self, vuln_documents())
    }

    /// One listing per CVE (or vulnerability id) the documents name, highest score first,
    /// with every source's score, KEV and EPSS.
    pub async fn list_vulns(&self) -> Result<Vec<VulnListing>> {
        dispatch!(self, list_vulns())
    }

    /// KEV and EPSS for the CVEs the documents name.
    pub async fn vuln_signals(
        &self,
    ) -> Result<(
        Vec<pumpguard_model::KevEntry>,
        Vec<pumpguard_model::EpssScore>,
    )> {
        dispatch!(self, vuln_signals())
    }

    /// Records (or replaces) a decision for a model and firmware, audited `vuln.triage`
    /// with the status it replaced.
    pub async fn set_triage(&self, actor: &str, decision: &TriageDecision) -> Result<()> {
        check_triage(decision)?;
        dispatch!(self, set_triage(actor, decision))
    }

    /// Every triage decision, by model, firmware and CVE.
    pub async fn list_triage(&self) -> Result<Vec<TriageDecision>> {
        dispatch!(self, list_triage())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decision(status: VexStatus, justification: Option<&str>) -> TriageDecision {
        TriageDecision {
            model: "BD Alaris PC Unit 8015".into(),
            firmware: Some("9.33".into()),
            cve: "CVE-2020-25165".into(),
            status,
            justification: justification.map(str::to_owned),
            statement: None,
            decided: jiff::Timestamp::UNIX_EPOCH,
            actor: "t".into(),
        }
    }

    #[test]
    fn triage_says_only_what_vex_can_say() {
        assert!(check_triage(&decision(VexStatus::Affected, None)).is_ok());
        assert!(
            check_triage(&decision(
                VexStatus::NotAffected,
                Some("vulnerable_code_not_present")
            ))
            .is_ok()
        );
        let e = check_triage(&decision(VexStatus::NotAffected, None)).expect_err("no reason");
        assert!(e.to_string().contains("needs --justification"), "{e}");
        let e = check_triage(&decision(VexStatus::NotAffected, Some("trust me")))
            .expect_err("unknown justification");
        assert!(e.to_string().contains("not a VEX justification"), "{e}");
        let e = check_triage(&decision(VexStatus::Fixed, Some("component_not_present")))
            .expect_err("justification without not_affected");
        assert!(e.is_bad_input(), "{e}");
        let mut d = decision(VexStatus::Affected, None);
        d.cve = "ICSMA-20-170-06".into();
        assert!(check_triage(&d).is_err());
    }

    #[test]
    fn the_headline_score_is_the_newest_version() {
        let s = |version: &str, score: f64| CvssScore {
            version: version.into(),
            vector: String::new(),
            score,
            severity: None,
            source: None,
            product_ids: vec![],
        };
        let scores = [s("2.0", 10.0), s("3.1", 5.3), s("3.0", 9.8), s("3.1", 6.1)];
        let h = headline_score(&scores).expect("one");
        assert_eq!((h.version.as_str(), h.score), ("3.1", 6.1));
        assert!(headline_score(&[]).is_none());
    }
}
