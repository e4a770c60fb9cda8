//! Vulnerability intelligence for the fleet: reads advisories and their relatives (CSAF
//! 2.0, NVD CVE records, CISA KEV, EPSS, CycloneDX and SPDX SBOMs, OpenVEX) into the
//! normalised types of `pumpguard_model`, scores CVSS vectors, and matches products and
//! their version constraints to inventory assets (vendor, model, firmware), each match
//! with its reason and confidence. No I/O beyond reading the bytes it is given.

pub mod names;
pub mod version;
