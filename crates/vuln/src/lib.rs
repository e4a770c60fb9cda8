//! Vulnerability intelligence for the fleet: reads advisories and their relatives (CSAF
//! 2.0, NVD CVE records, CISA KEV, EPSS, CycloneDX and SPDX SBOMs, OpenVEX) into the
//! normalised types of `pumpguard_model`, scores CVSS vectors, and matches products and
//! their version constraints to inventory assets (vendor, model, firmware), each match
//! with its reason and confidence. No I/O beyond reading the bytes it is given.

mod common;
pub mod cpe;
mod csaf;
pub mod cvss;
mod cyclonedx;
mod epss;
mod error;
pub mod exposure;
mod json;
mod kev;
pub mod matcher;
pub mod names;
mod nvd;
mod openvex;
pub mod schema;
mod sniff;
mod spdx;
pub mod validate;
pub mod version;
pub mod vex;

pub use error::ReadError;
pub use schema::CycloneDxSchemas;

use pumpguard_model::VulnImport;

/// Reads one file of vulnerability intelligence, whatever its format: the format is told
/// from the content (`file` names it in ids when the document has none of its own).
/// CSAF 2.0 (advisory or VEX), NVD CVE API 2.0 (one record or a page), CISA KEV, EPSS
/// CSV, CycloneDX 1.4–1.7 (SBOM and/or VEX), SPDX 2.3 and OpenVEX. Never panics: bytes
/// that are none of these are a [`ReadError`] saying where and why.
pub fn read(bytes: &[u8], file: &str) -> Result<Vec<VulnImport>, ReadError> {
    sniff::read(bytes, file, ReadOptions::default())
}

/// What to check beyond what a format's meaning needs.
#[derive(Debug, Default, Clone, Copy)]
pub struct ReadOptions<'a> {
    /// CycloneDX documents must also follow the official schema of their `specVersion`.
    pub cyclonedx_schemas: Option<&'a CycloneDxSchemas>,
}

/// [`read`], with the checks `options` asks for.
pub fn read_with(
    bytes: &[u8],
    file: &str,
    options: ReadOptions<'_>,
) -> Result<Vec<VulnImport>, ReadError> {
    sniff::read(bytes, file, options)
}
