//! Telling the formats apart by their content, then reading them.

use pumpguard_model::VulnImport;
use serde_json::Value;

use crate::ReadOptions;
use crate::error::ReadError;
use crate::json::Node;
use crate::{csaf, cyclonedx, epss, kev, nvd, openvex, spdx};

pub(crate) const UNKNOWN: &str =
    "not a CSAF 2.0, NVD CVE 2.0, KEV, EPSS, CycloneDX, SPDX 2.3 or OpenVEX document";

pub(crate) fn read(
    bytes: &[u8],
    file: &str,
    options: ReadOptions<'_>,
) -> Result<Vec<VulnImport>, ReadError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if bytes.starts_with(&[0x1f, 0x8b]) {
        return Err(ReadError::new(
            "/",
            "gzip-compressed (EPSS publishes .csv.gz): decompress it first",
        ));
    }
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if matches!(first, Some(b'{') | Some(b'[')) {
        let value: Value = serde_json::from_slice(bytes).map_err(|e| ReadError::json_syntax(&e))?;
        return read_json(&value, file, options);
    }
    match std::str::from_utf8(bytes) {
        Ok(text) if epss::sniff(text) => Ok(vec![VulnImport::Epss(epss::read(text)?)]),
        _ => Err(ReadError::new("/", UNKNOWN)),
    }
}

fn read_json(
    value: &Value,
    file: &str,
    options: ReadOptions<'_>,
) -> Result<Vec<VulnImport>, ReadError> {
    let root = Node::root(value);
    if !root.is_object() {
        return Err(ReadError::new("/", UNKNOWN));
    }
    if csaf::sniff(&root) {
        return Ok(vec![VulnImport::Advisory(csaf::read(&root)?)]);
    }
    if cyclonedx::sniff(&root) {
        if let Some(schemas) = options.cyclonedx_schemas {
            schemas.check(value)?;
        }
        return cyclonedx::read(&root, file);
    }
    if spdx::sniff(&root) {
        return Ok(vec![VulnImport::Sbom(spdx::read(&root, file)?)]);
    }
    if openvex::sniff(&root) {
        return Ok(vec![VulnImport::Advisory(openvex::read(&root)?)]);
    }
    if kev::sniff(&root) {
        return Ok(vec![VulnImport::Kev(kev::read(&root)?)]);
    }
    if let Some(shape) = nvd::sniff(&root) {
        return Ok(nvd::read(&root, shape)?
            .into_iter()
            .map(VulnImport::Advisory)
            .collect());
    }
    Err(ReadError::new("/", UNKNOWN))
}
