//! Vulnerability intelligence, normalised: whatever format it came in (CSAF 2.0 advisory
//! or VEX, NVD CVE record, CISA KEV, EPSS, CycloneDX, SPDX, OpenVEX), an import is
//! advisories (products, vulnerabilities, their status per product, remediations),
//! KEV entries, EPSS scores or SBOMs. Parsing lives in `pumpguard-vuln`; this module is
//! only the vocabulary the parsers, the matcher and the store share.

use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// The format a record was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VulnFormat {
    /// CSAF 2.0 `csaf_security_advisory` (or another non-VEX profile).
    Csaf,
    /// CSAF 2.0 `csaf_vex`.
    CsafVex,
    /// NVD CVE API 2.0 record.
    Nvd,
    /// CISA Known Exploited Vulnerabilities catalog.
    Kev,
    /// FIRST EPSS scores (CSV).
    Epss,
    CycloneDx,
    Spdx,
    OpenVex,
}

impl VulnFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            VulnFormat::Csaf => "csaf",
            VulnFormat::CsafVex => "csaf_vex",
            VulnFormat::Nvd => "nvd",
            VulnFormat::Kev => "kev",
            VulnFormat::Epss => "epss",
            VulnFormat::CycloneDx => "cyclonedx",
            VulnFormat::Spdx => "spdx",
            VulnFormat::OpenVex => "openvex",
        }
    }
}

impl fmt::Display for VulnFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What one file held.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum VulnImport {
    Advisory(Advisory),
    Kev(Vec<KevEntry>),
    Epss(Vec<EpssScore>),
    Sbom(Sbom),
}

/// A document that says which products a vulnerability affects: a CSAF advisory or VEX,
/// an NVD record (id = the CVE), a CycloneDX VEX or an OpenVEX document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Advisory {
    /// The document's own id (CSAF `tracking.id`, the CVE for NVD, the OpenVEX `@id`,
    /// the CycloneDX `serialNumber`). Re-importing the same id replaces it.
    pub id: String,
    pub format: VulnFormat,
    pub publisher: Option<String>,
    pub title: Option<String>,
    /// The document's revision (CSAF `tracking.version`).
    pub revision: Option<String>,
    pub published: Option<Timestamp>,
    pub updated: Option<Timestamp>,
    /// Where to read it (the CSAF `self` reference, the NVD page).
    pub url: Option<String>,
    pub products: Vec<Product>,
    pub vulnerabilities: Vec<Vulnerability>,
}

/// A product (with its version constraint) an advisory names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Product {
    /// Unique within its advisory (CSAF `product_id`; for other formats one is made up).
    pub product_id: String,
    pub vendor: Option<String>,
    /// The product name as written (CSAF `product_name` branch, CPE product, component
    /// name).
    pub name: String,
    /// The version text exactly as written (`<= 9.33`, `9.13 | 9.19`, `vers:all/*`,
    /// `2.3.6 and below`); `None` when the document names no version.
    pub version: Option<String>,
    /// Whether the document called it a range (CSAF `product_version_range`).
    pub version_is_range: bool,
    /// The full name the document gives (CSAF `full_product_name.name`).
    pub full_name: Option<String>,
    pub cpe: Option<String>,
    pub purl: Option<String>,
    /// For a product the document defines by a relationship (CSAF `relationships`: one
    /// product installed on, or a default component of, another), the two products it
    /// joins. Vendor, name and version are then those of `relationship.product_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relationship: Option<ProductRelationship>,
}

/// A CSAF relationship: `product_id` is `category` of `relates_to_product_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductRelationship {
    /// `default_component_of`, `external_component_of`, `installed_on`,
    /// `installed_with`, `optional_component_of`.
    pub category: String,
    /// The component (CSAF `product_reference`).
    pub product_id: String,
    /// The platform or product it belongs to (CSAF `relates_to_product_reference`).
    pub relates_to_product_id: String,
}

/// One vulnerability: a CVE, or an advisory's own id when it has none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Vulnerability {
    /// `CVE-YYYY-N` when there is one, else the document's id for it.
    pub id: String,
    pub cve: Option<String>,
    pub title: Option<String>,
    pub description: Option<String>,
    /// `CWE-N` ids.
    pub cwes: Vec<String>,
    pub scores: Vec<CvssScore>,
    /// What each product's status is (CSAF `product_status`, VEX statements).
    pub statuses: Vec<ProductStatus>,
    pub remediations: Vec<Remediation>,
    /// NVD applicability: each configuration must hold for the CVE to apply (NISTIR 7696).
    pub configurations: Vec<CpeConfiguration>,
    pub published: Option<Timestamp>,
}

/// A CVSS vector with the score the parser computed (and the one the source gave).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CvssScore {
    /// `2.0`, `3.0`, `3.1` or `4.0`.
    pub version: String,
    pub vector: String,
    /// Base score (CVSS-B/BT/BE/BTE for 4.0, from all metrics present).
    pub score: f64,
    /// Qualitative rating (`None`…`Critical`); `None` for 2.0.
    pub severity: Option<String>,
    /// Who scored it (NVD, the CNA, the advisory's publisher).
    pub source: Option<String>,
    /// The products this score is for (CSAF `scores[].products`); empty when it is for
    /// every product the vulnerability names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub product_ids: Vec<String>,
}

impl CvssScore {
    /// Newer CVSS versions rank higher (4.0 > 3.1 > 3.0 > 2.0 > anything else): the score
    /// of the newest version speaks for a vulnerability.
    pub fn version_rank(&self) -> u8 {
        match self.version.as_str() {
            "4.0" => 4,
            "3.1" => 3,
            "3.0" => 2,
            "2.0" => 1,
            _ => 0,
        }
    }
}

/// VEX status of a product for a vulnerability.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VexStatus {
    Affected,
    NotAffected,
    Fixed,
    UnderInvestigation,
}

impl VexStatus {
    pub const ALL: [VexStatus; 4] = [
        VexStatus::Affected,
        VexStatus::NotAffected,
        VexStatus::Fixed,
        VexStatus::UnderInvestigation,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            VexStatus::Affected => "affected",
            VexStatus::NotAffected => "not_affected",
            VexStatus::Fixed => "fixed",
            VexStatus::UnderInvestigation => "under_investigation",
        }
    }
}

impl fmt::Display for VexStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for VexStatus {
    type Err = String;

    fn from_str(s: &str) -> Result<VexStatus, String> {
        VexStatus::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "'{s}' is not a VEX status (affected, not_affected, fixed, under_investigation)"
                )
            })
    }
}

/// The VEX justifications (CSAF flag labels, the same words in OpenVEX and CycloneDX's
/// nearest equivalents).
pub const VEX_JUSTIFICATIONS: [&str; 5] = [
    "component_not_present",
    "vulnerable_code_not_present",
    "vulnerable_code_cannot_be_controlled_by_adversary",
    "vulnerable_code_not_in_execute_path",
    "inline_mitigations_already_exist",
];

/// A product's status for one vulnerability.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductStatus {
    pub product_id: String,
    pub status: VexStatus,
    /// One of [`VEX_JUSTIFICATIONS`] when not affected (as the document says it).
    pub justification: Option<String>,
    /// Impact or action statement.
    pub statement: Option<String>,
}

/// What to do about a vulnerability, for the products listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Remediation {
    /// CSAF category: `vendor_fix`, `mitigation`, `workaround`, `none_available`,
    /// `no_fix_planned`.
    pub category: String,
    pub details: String,
    pub url: Option<String>,
    pub product_ids: Vec<String>,
}

/// NVD configuration: nodes joined by `operator` (OR when absent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CpeConfiguration {
    pub operator: CpeOperator,
    pub negate: bool,
    pub nodes: Vec<CpeNode>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum CpeOperator {
    And,
    Or,
}

/// NVD node: its matches joined by `operator`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CpeNode {
    pub operator: CpeOperator,
    pub negate: bool,
    pub matches: Vec<CpeMatch>,
}

/// NVD `cpeMatch`: a CPE 2.3 name with optional version bounds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CpeMatch {
    /// False for platform CPEs (the thing must run on this, but is not itself vulnerable).
    pub vulnerable: bool,
    pub criteria: String,
    pub version_start_including: Option<String>,
    pub version_start_excluding: Option<String>,
    pub version_end_including: Option<String>,
    pub version_end_excluding: Option<String>,
}

/// CISA KEV catalog entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KevEntry {
    pub cve: String,
    pub vendor: String,
    pub product: String,
    pub name: Option<String>,
    /// `YYYY-MM-DD`.
    pub date_added: String,
    pub due_date: Option<String>,
    pub required_action: Option<String>,
    /// `Known` / `Unknown`.
    pub known_ransomware: Option<String>,
}

/// FIRST EPSS score of a CVE on a day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpssScore {
    pub cve: String,
    /// Probability of exploitation in the next 30 days, 0–1.
    pub epss: f64,
    pub percentile: f64,
    /// `YYYY-MM-DD` of the score file (from its header), when given.
    pub date: Option<String>,
}

/// A software bill of materials: the components a product is built from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sbom {
    /// CycloneDX `serialNumber` (or `metadata.component` name@version), SPDX
    /// `documentNamespace`.
    pub id: String,
    pub format: VulnFormat,
    /// The product it describes: vendor, name and version (CycloneDX
    /// `metadata.component`, SPDX's described package).
    pub subject: Option<Component>,
    pub components: Vec<Component>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Component {
    /// CycloneDX `bom-ref` / SPDX `SPDXID`.
    pub reference: Option<String>,
    pub supplier: Option<String>,
    pub name: String,
    pub version: Option<String>,
    pub purl: Option<String>,
    pub cpe: Option<String>,
}

/// How sure a match is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Confidence {
    Low,
    Medium,
    High,
}

impl Confidence {
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::Low => "low",
            Confidence::Medium => "medium",
            Confidence::High => "high",
        }
    }
}

impl fmt::Display for Confidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An analyst's decision about a CVE for one model (and firmware), which applies to every
/// unit of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TriageDecision {
    pub model: String,
    /// `None`: for every firmware of the model.
    pub firmware: Option<String>,
    pub cve: String,
    pub status: VexStatus,
    /// One of [`VEX_JUSTIFICATIONS`] (required for `not_affected`).
    pub justification: Option<String>,
    pub statement: Option<String>,
    pub decided: Timestamp,
    pub actor: String,
}

/// One CVE (or advisory-own vulnerability id) as `vuln list` shows it: every source's
/// score, KEV and EPSS.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VulnListing {
    pub cve: String,
    pub title: Option<String>,
    /// The highest base score any source gives.
    pub score: Option<f64>,
    pub severity: Option<String>,
    pub scores: Vec<SourcedScore>,
    /// Ids of the documents that name it.
    pub sources: Vec<String>,
    pub kev: Option<KevEntry>,
    pub epss: Option<EpssScore>,
}

/// A base score and the document it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourcedScore {
    pub source: String,
    pub score: Option<f64>,
    pub severity: Option<String>,
    pub vector: Option<String>,
}
