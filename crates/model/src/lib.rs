//! Domain types of pumpguard: what an asset of the infusion-pump ecosystem is, how
//! critical it is to patients and where it is in its life.
//!
//! This crate owns vocabulary, parsing of domain values (MAC addresses, enum names) and
//! the rules that are true whatever stores or shows them (lifecycle transitions, default
//! criticality). It does no I/O and knows nothing about databases, files or the network.

#[macro_use]
mod asset;
mod alert;
mod baseline;
mod flow;
mod mac;
mod observation;
pub mod time;
mod vuln;

pub use alert::{
    Alert, AlertEvidence, AlertFact, AlertKind, AlertStatus, Detection, Endpoint,
    MAX_EVIDENCE_FLOWS, Severity,
};
pub use asset::{
    Asset, AssetId, AssetKind, AssetPatch, Criticality, Lifecycle, ParseEnumError, Source,
    TransitionError,
};
pub use baseline::{Baseline, BaselineInfo, DeviceBaseline, ModelBaseline, PeerService};
pub use flow::{FlowRecord, flow_key, ip_text, is_internet};
pub use mac::{MacAddr, MacParseError};
pub use observation::{Evidence, Field, LibraryReport, Sighting};
pub use vuln::{
    Advisory, Component, Confidence, CpeConfiguration, CpeMatch, CpeNode, CpeOperator, CvssScore,
    EpssScore, KevEntry, Product, ProductRelationship, ProductStatus, Remediation, Sbom,
    SourcedScore, TriageDecision, VEX_JUSTIFICATIONS, VexStatus, VulnFormat, VulnImport,
    VulnListing, Vulnerability,
};
