//! The drug-library ledger: the signed libraries the pharmacy approved, and which library
//! version each pump reported on the wire (IHE PCD-10 `MDC_PUMP_DRUG_LIBRARY_VERSION`),
//! one row per (pump, version) with first/last seen and a count. Approving is audited
//! `druglib.approve` on `druglib:SHA256`; a pump's first report of a version
//! `druglib.report`. A pump reporting a version no approved library matches raises a
//! `druglib_unknown_version` alert — only once at least one library is approved: with
//! none, nothing is known to be unapproved. Row decoding and the matching rule live
//! here; the SQL lives in `ops.rs`.
//!
//! # Which reported versions are approved
//!
//! Pumps report a version string, not a hash. A report matches an approved library when
//! the reported text (surrounding whitespace trimmed, otherwise exact and case-sensitive)
//! equals one of:
//! - the library's `version` (`2026.11.1`);
//! - `<care_area>-<version>` (`ICU-2026.11.1`, the form pumpguard's simulator reports);
//! - `<name> <version>` (`ICU Adult 2026.11.1`);
//! - its SHA-256 (hex, any case), for devices that do report the hash.

use pumpguard_model::time::Timestamp;
use pumpguard_model::{
    Alert, AlertEvidence, AlertFact, AlertKind, AlertStatus, Criticality, Severity,
};
use serde::Serialize;

use crate::assets::dispatch;
use crate::backend::{postgres, sqlite};
use crate::{Backend, Result, Store, StoreError};

/// A verified signed library to approve (from `pumpguard_druglib::signed::verify`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LibraryApproval {
    pub name: String,
    pub version: String,
    pub care_area: String,
    /// SHA-256 of the library file's bytes, hex.
    pub sha256: String,
    /// The id of the key that signed it.
    pub key_id: String,
}

/// An approved library as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApprovedLibrary {
    pub name: String,
    pub version: String,
    pub care_area: String,
    /// Lower-case hex.
    pub sha256: String,
    pub key_id: String,
    pub approved: Timestamp,
    pub approved_by: String,
}

pub use pumpguard_model::LibraryReport;

/// One row of the ledger: a version a pump reported, and whether it is approved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LedgerRow {
    /// The pump's asset id (else its address, MAC or device identifier).
    pub asset_id: String,
    /// The version as reported.
    pub version: String,
    pub care_area: Option<String>,
    /// The device identifier (EUI-64) the reports named the pump by.
    pub device: Option<String>,
    /// Who sent the last report: asset id, else address.
    pub reporter: Option<String>,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    pub count: u64,
    /// The version matches an approved library (see the module's rule).
    pub approved: bool,
    /// The SHA-256 of the approved library it matches.
    pub library_sha256: Option<String>,
}

/// What recording a batch of reports did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DruglibSummary {
    /// (pump, version) rows written.
    pub reports: u64,
    /// Of which pumps reported for the first time.
    pub new_versions: u64,
    pub alerts_raised: u64,
    pub alerts_updated: u64,
    /// The alerts raised or updated, by id.
    pub alert_ids: Vec<i64>,
}

/// The approved library a reported version names, if any (the first in `approved`'s
/// order; see the module's rule).
pub fn approved_match<'a>(
    reported: &str,
    approved: &'a [ApprovedLibrary],
) -> Option<&'a ApprovedLibrary> {
    let r = reported.trim();
    if r.is_empty() {
        return None;
    }
    approved.iter().find(|l| {
        let v = l.version.trim();
        (!v.is_empty()
            && (r == v
                || r == format!("{}-{v}", l.care_area.trim())
                || r == format!("{} {v}", l.name.trim())))
            || r.eq_ignore_ascii_case(&l.sha256)
    })
}

/// A SHA-256 in lower-case hex, or why not.
pub(crate) fn normalise_sha256(s: &str) -> Result<String> {
    let s = s.trim().to_ascii_lowercase();
    if s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(s)
    } else {
        Err(StoreError::Invalid(format!(
            "'{s}' is not a SHA-256 (64 hex digits)"
        )))
    }
}

/// Refuses reports the ledger cannot hold, before the transaction starts.
pub(crate) fn check_reports(reports: &[LibraryReport]) -> Result<()> {
    for (index, r) in reports.iter().enumerate() {
        let why = if r.version.trim().is_empty() {
            "it has no version"
        } else if r.pump.ip.is_none() && r.pump.mac.is_none() && r.device.is_none() {
            "its pump has neither an address, a MAC nor a device identifier"
        } else if r.last_seen < r.first_seen {
            "it was last seen before it was first seen"
        } else if i64::try_from(r.count).is_err() {
            "its count does not fit a 64-bit signed integer"
        } else {
            continue;
        };
        return Err(StoreError::Rejected {
            index,
            why: format!("drug-library report {}: {why}", index + 1),
        });
    }
    Ok(())
}

/// The `druglib_unknown_version` alert for a pump's report of a version no approved
/// library matches (`subject`: the pump's asset and criticality, when tied).
pub(crate) fn unknown_version_alert(
    r: &LibraryReport,
    subject: Option<(String, Criticality)>,
    reporter: Option<&str>,
    approved: &[ApprovedLibrary],
) -> Alert {
    let criticality = subject.as_ref().map(|(_, c)| *c);
    let who = subject
        .as_ref()
        .map(|(id, _)| id.clone())
        .or_else(|| r.pump.ip.map(|i| i.to_string()))
        .or_else(|| r.pump.mac.map(|m| m.to_string()))
        .unwrap_or_default();
    let mut facts = vec![AlertFact {
        name: "version".into(),
        value: r.version.clone(),
    }];
    let mut add = |name: &str, value: Option<&str>| {
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            facts.push(AlertFact {
                name: name.into(),
                value: v.to_owned(),
            });
        }
    };
    add("care_area", r.care_area.as_deref());
    add("device", r.device.as_deref());
    add("reported_by", reporter);
    let known: Vec<String> = approved
        .iter()
        .map(|l| format!("{} {} ({})", l.name, l.version, l.care_area))
        .collect();
    Alert {
        id: 0,
        kind: AlertKind::DruglibUnknownVersion,
        severity: Severity::Medium.for_asset(criticality),
        status: AlertStatus::Open,
        asset_id: subject.map(|(id, _)| id),
        peer_asset_id: None,
        subject: r.pump.clone(),
        peer: None,
        proto: "hl7".into(),
        port: None,
        first_seen: r.first_seen,
        last_seen: r.last_seen,
        count: r.count,
        evidence: AlertEvidence {
            flows: r
                .flows
                .iter()
                .take(pumpguard_model::MAX_EVIDENCE_FLOWS)
                .cloned()
                .collect(),
            flow_ids: Vec::new(),
            facts,
            sentence: format!(
                "{who} reports drug library version '{}', which matches none of the {} approved libraries ({})",
                r.version,
                approved.len(),
                known.join(", ")
            ),
        },
        action: "Find out which library the pump runs: if the pharmacy released it, sign it \
                 and `pumpguard druglib approve` it; otherwise have the pump server push the \
                 approved library to the pump."
            .into(),
    }
}

impl Store {
    /// Records a verified library as approved, audited `druglib.approve` on
    /// `druglib:SHA256`. Returns the stored approval and whether it is new: approving
    /// a SHA-256 already approved writes nothing and returns the first approval.
    pub async fn druglib_approve(
        &self,
        actor: &str,
        lib: &LibraryApproval,
    ) -> Result<(ApprovedLibrary, bool)> {
        let mut lib = lib.clone();
        lib.sha256 = normalise_sha256(&lib.sha256)?;
        for (what, v) in [("name", &lib.name), ("version", &lib.version)] {
            if v.trim().is_empty() {
                return Err(StoreError::Invalid(format!("the library has no {what}")));
            }
        }
        dispatch!(self, druglib_approve(actor, &lib))
    }

    /// The approved libraries, oldest approval first.
    pub async fn druglib_approved(&self) -> Result<Vec<ApprovedLibrary>> {
        dispatch!(self, druglib_approved())
    }

    /// Adds a batch of reports to the ledger in one transaction: each pump is tied to
    /// its asset (by MAC, then address, as alerts are), rows add up per (pump, version),
    /// a pump's first report of a version is audited `druglib.report`, and — when at
    /// least one library is approved — a version no approved library matches raises
    /// (or recurs in) the pump's `druglib_unknown_version` alert (one per pump; its
    /// facts list the versions). A report without a version or a pump is `Rejected`
    /// before anything is written.
    pub async fn record_druglib_reports(
        &self,
        actor: &str,
        origin: &str,
        reports: &[LibraryReport],
    ) -> Result<DruglibSummary> {
        check_reports(reports)?;
        if reports.is_empty() {
            return Ok(DruglibSummary::default());
        }
        dispatch!(self, record_druglib_reports(actor, origin, reports))
    }

    /// The ledger: every (pump, version) reported, by asset then version, with whether
    /// the version is approved now.
    pub async fn druglib_ledger(&self) -> Result<Vec<LedgerRow>> {
        let (approved, mut rows) = dispatch!(self, druglib_ledger())?;
        for r in &mut rows {
            if let Some(l) = approved_match(&r.version, &approved) {
                r.approved = true;
                r.library_sha256 = Some(l.sha256.clone());
            }
        }
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pumpguard_model::Endpoint;

    fn lib(name: &str, version: &str, care_area: &str, sha: char) -> ApprovedLibrary {
        ApprovedLibrary {
            name: name.into(),
            version: version.into(),
            care_area: care_area.into(),
            sha256: std::iter::repeat_n(sha, 64).collect(),
            key_id: "k".into(),
            approved: Timestamp::UNIX_EPOCH,
            approved_by: "t".into(),
        }
    }

    #[test]
    fn reported_versions_match_by_version_care_area_name_or_hash() {
        let approved = [
            lib("ICU Adult", "2026.11.1", "ICU", 'a'),
            lib("Oncology", "7", "ONC", 'b'),
        ];
        let m = |r: &str| approved_match(r, &approved).map(|l| l.name.as_str());
        assert_eq!(m("2026.11.1"), Some("ICU Adult"));
        assert_eq!(m(" ICU-2026.11.1 "), Some("ICU Adult"));
        assert_eq!(m("ICU Adult 2026.11.1"), Some("ICU Adult"));
        assert_eq!(m("ONC-7"), Some("Oncology"));
        assert_eq!(m(&"B".repeat(64)), Some("Oncology"));
        for no in [
            "",
            "2026.11",
            "icu-2026.11.1",
            "NICU-2026.11.1",
            "ICU-7",
            "GUARDRAILS-2026.10",
            "DRUGLIB-ICU-0457",
            &"c".repeat(64),
        ] {
            assert_eq!(m(no), None, "{no:?}");
        }
    }

    fn report(ip: &str, version: &str, minute: i64, count: u64) -> LibraryReport {
        let t = |m: i64| Timestamp::from_second(1_793_606_400 + 60 * m).expect("time");
        LibraryReport {
            pump: Endpoint {
                ip: Some(ip.parse().expect("ip")),
                mac: None,
            },
            device: None,
            reporter: Endpoint {
                ip: Some("10.30.0.12".parse().expect("ip")),
                mac: None,
            },
            version: version.into(),
            care_area: None,
            first_seen: t(minute),
            last_seen: t(minute + 1),
            count,
            flows: Vec::new(),
        }
    }

    /// The ledger on an in-memory database: rows add up per (pump, version) within and
    /// across batches, alerts only once a library is approved (one per pump, each
    /// version a fact), approving twice is one approval.
    #[test]
    fn reports_add_up_and_alert_only_once_a_library_is_approved() {
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        rt.block_on(async {
            let store = Store::open("sqlite::memory:").await.expect("open");
            let unknown = || crate::AlertFilter {
                kind: Some(AlertKind::DruglibUnknownVersion),
                ..Default::default()
            };
            let first = [
                report("10.20.1.10", "ICU-2026.11.1", 0, 1),
                report("10.20.1.10", "ICU-2026.11.1", 5, 2),
                report("10.20.1.11", "PHARMGUARD-7.2", 1, 1),
            ];
            let s = store
                .record_druglib_reports("t", "a.pcap", &first)
                .await
                .expect("record");
            assert_eq!((s.reports, s.new_versions, s.alerts_raised), (2, 2, 0));
            assert!(
                store
                    .list_alerts(&unknown())
                    .await
                    .expect("alerts")
                    .is_empty()
            );

            let approval = LibraryApproval {
                name: "ICU Adult".into(),
                version: "2026.11.1".into(),
                care_area: "ICU".into(),
                sha256: "AB".repeat(32),
                key_id: "k1".into(),
            };
            let (stored, new) = store
                .druglib_approve("t", &approval)
                .await
                .expect("approve");
            assert!(new && stored.sha256 == "ab".repeat(32));
            let (again, new) = store.druglib_approve("u", &approval).await.expect("again");
            assert!(!new && again.approved_by == "t");
            let audit = store
                .audit_for_object(&format!("druglib:{}", "ab".repeat(32)))
                .await
                .expect("audit");
            assert_eq!(audit.len(), 1);

            let second = [
                report("10.20.1.11", "PHARMGUARD-7.2", 9, 1),
                report("10.20.1.11", "PHARMGUARD-7.3", 9, 1),
                report("10.20.1.10", "ICU-2026.11.1", 9, 1),
            ];
            let s = store
                .record_druglib_reports("t", "b.pcap", &second)
                .await
                .expect("record");
            assert_eq!((s.reports, s.new_versions, s.alerts_raised), (3, 1, 1));
            let alerts = store.list_alerts(&unknown()).await.expect("alerts");
            assert_eq!(alerts.len(), 1, "one alert per pump: {alerts:#?}");
            let versions: Vec<&str> = alerts[0]
                .evidence
                .facts
                .iter()
                .filter(|f| f.name == "version")
                .map(|f| f.value.as_str())
                .collect();
            assert_eq!(versions, ["PHARMGUARD-7.2", "PHARMGUARD-7.3"]);
            assert_eq!(alerts[0].count, 2);

            let ledger = store.druglib_ledger().await.expect("ledger");
            let row = |ip: &str, v: &str| {
                ledger
                    .iter()
                    .find(|r| r.asset_id == ip && r.version == v)
                    .unwrap_or_else(|| panic!("{ip} {v}: {ledger:#?}"))
            };
            let icu = row("10.20.1.10", "ICU-2026.11.1");
            assert_eq!((icu.count, icu.approved), (4, true));
            assert_eq!(
                icu.library_sha256.as_deref(),
                Some("ab".repeat(32).as_str())
            );
            assert_eq!(icu.reporter.as_deref(), Some("10.30.0.12"));
            assert_eq!(icu.last_seen.as_second(), 1_793_606_400 + 600);
            let pharm = row("10.20.1.11", "PHARMGUARD-7.2");
            assert_eq!((pharm.count, pharm.approved), (2, false));
            assert_eq!(ledger.len(), 3);

            let bad = [report("10.20.1.12", " ", 0, 1)];
            let e = store.record_druglib_reports("t", "c", &bad).await;
            assert!(
                matches!(e, Err(StoreError::Rejected { index: 0, .. })),
                "{e:?}"
            );
            assert_eq!(store.druglib_ledger().await.expect("ledger").len(), 3);
        });
    }

    #[test]
    fn sha256_is_normalised_or_refused() {
        let hex = "AB".repeat(32);
        assert_eq!(normalise_sha256(&hex).expect("hex"), "ab".repeat(32));
        assert!(normalise_sha256("abc").is_err());
        assert!(normalise_sha256(&"zz".repeat(32)).is_err());
    }
}
