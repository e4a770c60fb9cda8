//! SPDX 2.x JSON (2.2 and 2.3 share the fields we read): packages with their version,
//! supplier and purl/CPE external references; the described package is the subject.

use pumpguard_model::{Component, Sbom, VulnFormat};

use crate::error::ReadError;
use crate::json::Node;

pub(crate) fn sniff(root: &Node<'_>) -> bool {
    root.text("spdxVersion")
        .is_some_and(|v| v.starts_with("SPDX-2"))
}

pub(crate) fn read(root: &Node<'_>, file: &str) -> Result<Sbom, ReadError> {
    let id = root
        .text("documentNamespace")
        .or_else(|| root.text("name"))
        .unwrap_or_else(|| file.to_owned());
    let mut described: Vec<String> = root.strings("documentDescribes")?;
    let doc_id = root
        .text("SPDXID")
        .unwrap_or_else(|| "SPDXRef-DOCUMENT".to_owned());
    for r in root.array("relationships")? {
        let kind = r.text("relationshipType");
        let (from, to) = (r.text("spdxElementId"), r.text("relatedSpdxElement"));
        match (kind.as_deref(), from, to) {
            (Some("DESCRIBES"), Some(f), Some(t)) if f == doc_id => described.push(t),
            (Some("DESCRIBED_BY"), Some(f), Some(t)) if t == doc_id => described.push(f),
            _ => {}
        }
    }

    let mut subject = None;
    let mut components = Vec::new();
    for p in root.array("packages")? {
        let c = package(&p)?;
        let is_subject =
            subject.is_none() && c.reference.as_ref().is_some_and(|r| described.contains(r));
        if is_subject {
            subject = Some(c);
        } else {
            components.push(c);
        }
    }
    Ok(Sbom {
        id,
        format: VulnFormat::Spdx,
        subject,
        components,
    })
}

/// `Organization: ACME` → `ACME`; `NOASSERTION` → none.
fn party(s: &str) -> Option<String> {
    let s = s
        .strip_prefix("Organization:")
        .or_else(|| s.strip_prefix("Person:"))
        .or_else(|| s.strip_prefix("Tool:"))
        .unwrap_or(s)
        .trim();
    // Drop a trailing ` (email)`.
    let s = match s.rfind(" (") {
        Some(i) if s.ends_with(')') => s[..i].trim(),
        _ => s,
    };
    (!s.is_empty() && s != "NOASSERTION" && s != "NONE").then(|| s.to_owned())
}

fn package(p: &Node<'_>) -> Result<Component, ReadError> {
    if !p.is_object() {
        return Err(p.error("not an object"));
    }
    let name = p.need_text("name")?;
    let mut purl = None;
    let mut cpe = None;
    for r in p.array("externalRefs")? {
        let (Some(kind), Some(locator)) = (r.text("referenceType"), r.text("referenceLocator"))
        else {
            continue;
        };
        match kind.as_str() {
            "purl" if purl.is_none() => purl = Some(locator),
            "cpe23Type" if cpe.is_none() => cpe = Some(locator),
            "cpe22Type" if cpe.is_none() => cpe = Some(locator),
            _ => {}
        }
    }
    Ok(Component {
        reference: p.text("SPDXID"),
        supplier: p
            .text("supplier")
            .and_then(|s| party(&s))
            .or_else(|| p.text("originator").and_then(|s| party(&s))),
        name,
        version: p.text("versionInfo").filter(|v| v != "NOASSERTION"),
        purl,
        cpe,
    })
}
