//! CycloneDX 1.4–1.7 JSON: the components (nested ones too) as an SBOM, and any
//! `vulnerabilities` as an advisory with VEX statuses for the components they affect.
//!
//! Lenient like the rest: JSON-schema validation only when asked for (see `schema`).
//! What we refuse anyway is what would make
//! the data mean something else: a `bomFormat` other than CycloneDX, a component without
//! a name, an empty or repeated `bom-ref` (references would point at the wrong thing), a
//! dependency without its `ref`, a `serialNumber` that is not a `urn:uuid`, an analysis
//! state that is not one of CycloneDX's.

use std::collections::{HashMap, HashSet};

use pumpguard_model::{
    Advisory, Component, Product, ProductStatus, Remediation, Sbom, VexStatus, VulnFormat,
    VulnImport, Vulnerability,
};

use crate::common::{cve, cwe, parse_time, score};
use crate::error::ReadError;
use crate::json::Node;

pub(crate) fn sniff(root: &Node<'_>) -> bool {
    root.get("bomFormat").is_some()
        || root
            .text("$schema")
            .is_some_and(|s| s.contains("cyclonedx.org/schema/bom"))
}

pub(crate) fn read(root: &Node<'_>, file: &str) -> Result<Vec<VulnImport>, ReadError> {
    if let Some(f) = root.get("bomFormat")
        && f.as_str() != Some("CycloneDX")
    {
        return Err(f.error(format!("bomFormat is {}, not \"CycloneDX\"", f.value)));
    }
    let serial = root.text("serialNumber");
    if let Some(s) = &serial
        && !is_urn_uuid(s)
    {
        return Err(ReadError::new(
            root.child_place("serialNumber"),
            format!("'{s}' is not a urn:uuid"),
        ));
    }
    let metadata = root.object("metadata")?;
    let mut refs = HashSet::new();
    let subject = match metadata
        .as_ref()
        .map(|m| m.object("component"))
        .transpose()?
        .flatten()
    {
        Some(c) => Some(component(&c, &mut refs)?),
        None => None,
    };
    let mut components = Vec::new();
    collect(root, &mut components, &mut refs)?;
    for d in root.array("dependencies")? {
        d.need_text("ref")?;
    }
    let id = serial.clone().or_else(|| {
        subject.as_ref().map(|s| match &s.version {
            Some(v) => format!("{}@{v}", s.name),
            None => s.name.clone(),
        })
    });
    let id = id.unwrap_or_else(|| file.to_owned());

    let mut out = Vec::new();
    let vulns = root.array("vulnerabilities")?;
    if !components.is_empty() || vulns.is_empty() {
        out.push(VulnImport::Sbom(Sbom {
            id: id.clone(),
            format: VulnFormat::CycloneDx,
            subject: subject.clone(),
            components: components.clone(),
        }));
    }
    if !vulns.is_empty() {
        let publisher = metadata.as_ref().and_then(|m| {
            m.object("supplier")
                .ok()
                .flatten()
                .and_then(|s| s.text("name"))
                .or_else(|| {
                    m.object("manufacturer")
                        .ok()
                        .flatten()
                        .and_then(|s| s.text("name"))
                })
        });
        let by_ref: HashMap<&str, &Component> = subject
            .iter()
            .chain(components.iter())
            .filter_map(|c| c.reference.as_deref().map(|r| (r, c)))
            .collect();
        let mut products: Vec<Product> = Vec::new();
        let mut vulnerabilities = Vec::new();
        for v in &vulns {
            vulnerabilities.push(vulnerability(v, &by_ref, &mut products)?);
        }
        let published = metadata
            .as_ref()
            .and_then(|m| m.text("timestamp"))
            .and_then(|t| parse_time(&t));
        out.push(VulnImport::Advisory(Advisory {
            id,
            format: VulnFormat::CycloneDx,
            publisher,
            title: None,
            revision: root.text("version"),
            published,
            updated: None,
            url: None,
            products,
            vulnerabilities,
        }));
    }
    Ok(out)
}

/// `urn:uuid:` and a UUID in its 8-4-4-4-12 hex form.
fn is_urn_uuid(s: &str) -> bool {
    let Some(u) = s.strip_prefix("urn:uuid:") else {
        return false;
    };
    let groups: Vec<&str> = u.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The components of a node, depth first, nested components after their parent.
fn collect(
    node: &Node<'_>,
    out: &mut Vec<Component>,
    refs: &mut HashSet<String>,
) -> Result<(), ReadError> {
    for c in node.array("components")? {
        out.push(component(&c, refs)?);
        collect(&c, out, refs)?;
    }
    Ok(())
}

fn component(c: &Node<'_>, refs: &mut HashSet<String>) -> Result<Component, ReadError> {
    if !c.is_object() {
        return Err(c.error("not an object"));
    }
    let name = c.need_text("name")?;
    let reference = match c.get("bom-ref") {
        None => None,
        Some(r) => {
            let Some(text) = r.own_text() else {
                return Err(r.error("an empty bom-ref"));
            };
            if !refs.insert(text.clone()) {
                return Err(r.error(format!("bom-ref '{text}' is used twice")));
            }
            Some(text)
        }
    };
    let supplier = c
        .object("supplier")?
        .and_then(|s| s.text("name"))
        .or_else(|| {
            c.object("manufacturer")
                .ok()
                .flatten()
                .and_then(|s| s.text("name"))
        })
        .or_else(|| c.text("publisher"))
        .or_else(|| c.text("author"));
    Ok(Component {
        reference,
        supplier,
        // The name as written; a Maven-style `group` stays in the purl.
        name,
        version: c.text("version"),
        purl: c.text("purl"),
        cpe: c.text("cpe"),
    })
}

/// CycloneDX analysis state → VEX status.
fn state(s: &str) -> Option<VexStatus> {
    Some(match s {
        "resolved" | "resolved_with_pedigree" => VexStatus::Fixed,
        "exploitable" => VexStatus::Affected,
        "in_triage" => VexStatus::UnderInvestigation,
        "false_positive" | "not_affected" => VexStatus::NotAffected,
        _ => return None,
    })
}

/// CycloneDX justification → the nearest VEX justification (unknown ones as written).
fn justification(j: &str) -> String {
    match j {
        "code_not_present" => "vulnerable_code_not_present",
        "code_not_reachable" => "vulnerable_code_not_in_execute_path",
        "requires_configuration" | "requires_dependency" | "requires_environment" => {
            "vulnerable_code_cannot_be_controlled_by_adversary"
        }
        "protected_by_compiler"
        | "protected_at_runtime"
        | "protected_at_perimeter"
        | "protected_by_mitigating_control" => "inline_mitigations_already_exist",
        other => other,
    }
    .to_owned()
}

/// CycloneDX response → CSAF remediation category.
fn response_category(r: &str) -> &'static str {
    match r {
        "update" => "vendor_fix",
        "rollback" | "workaround_available" => "workaround",
        "will_not_fix" => "no_fix_planned",
        "can_not_fix" => "none_available",
        _ => "mitigation",
    }
}

fn vulnerability(
    v: &Node<'_>,
    by_ref: &HashMap<&str, &Component>,
    products: &mut Vec<Product>,
) -> Result<Vulnerability, ReadError> {
    if !v.is_object() {
        return Err(v.error("not an object"));
    }
    let id = v.need_text("id")?;
    let mut cve_id = cve(&id);
    if cve_id.is_none() {
        for r in v.array("references")? {
            if let Some(c) = r.text("id").and_then(|i| cve(&i)) {
                cve_id = Some(c);
                break;
            }
        }
    }
    let source_name = v.object("source")?.and_then(|s| s.text("name"));

    let mut scores = Vec::new();
    for r in v.array("ratings")? {
        let method = r.text("method");
        let hint = match method.as_deref() {
            Some("CVSSv2") => Some("2.0"),
            Some("CVSSv3") => Some("3.0"),
            Some("CVSSv31") => Some("3.1"),
            Some("CVSSv4") => Some("4.0"),
            _ => None,
        };
        let vector = r.text("vector");
        if hint.is_none() && !vector.as_deref().is_some_and(|x| x.starts_with("CVSS:")) {
            continue; // OWASP risk ratings, SSVC and other non-CVSS methods
        }
        let source = r
            .object("source")?
            .and_then(|s| s.text("name"))
            .or_else(|| source_name.clone());
        if let Some(s) = score(
            vector.as_deref(),
            r.number("score"),
            r.text("severity").as_deref(),
            hint,
            source.as_deref(),
            Vec::new(),
        ) {
            scores.push(s);
        }
    }

    let mut cwes = Vec::new();
    for c in v.array("cwes")? {
        if let Some(x) = c.own_text().and_then(|t| cwe(&t)) {
            cwes.push(x);
        }
    }

    let analysis = v.object("analysis")?;
    let analysed = match analysis.as_ref().and_then(|a| a.get("state")) {
        None => None,
        Some(s) => match s.as_str().and_then(state) {
            Some(st) => Some(st),
            None => return Err(s.error(format!("{} is not a CycloneDX analysis state", s.value))),
        },
    };
    let detail = analysis.as_ref().and_then(|a| a.text("detail"));
    let just = analysis
        .as_ref()
        .and_then(|a| a.text("justification"))
        .map(|j| justification(&j));

    let mut statuses = Vec::new();
    let mut affected_ids = Vec::new();
    for a in v.array("affects")? {
        let reference = a.need_text("ref")?;
        // Without an analysis, the versions' own status says it (affected by default).
        let from_versions = || -> Result<VexStatus, ReadError> {
            let mut st = None;
            for ver in a.array("versions")? {
                let s = match ver.text("status").as_deref() {
                    Some("unaffected") => VexStatus::NotAffected,
                    Some("unknown") => VexStatus::UnderInvestigation,
                    _ => VexStatus::Affected,
                };
                st = Some(match st {
                    None => s,
                    Some(prev) if prev == s => s,
                    Some(_) => VexStatus::Affected,
                });
            }
            Ok(st.unwrap_or(VexStatus::Affected))
        };
        let status = match analysed {
            Some(s) => s,
            None => from_versions()?,
        };
        if !products.iter().any(|p| p.product_id == reference) {
            products.push(product_for(
                &reference,
                by_ref.get(reference.as_str()).copied(),
            ));
        }
        statuses.push(ProductStatus {
            product_id: reference.clone(),
            status,
            justification: if status == VexStatus::NotAffected {
                just.clone()
            } else {
                None
            },
            statement: detail.clone(),
        });
        affected_ids.push(reference);
    }

    let mut remediations = Vec::new();
    let recommendation = v.text("recommendation").or_else(|| v.text("workaround"));
    if let Some(a) = &analysis {
        for r in a.strings("response")? {
            remediations.push(Remediation {
                category: response_category(&r).to_owned(),
                details: recommendation
                    .clone()
                    .or_else(|| detail.clone())
                    .unwrap_or(r),
                url: None,
                product_ids: affected_ids.clone(),
            });
        }
    }
    if remediations.is_empty()
        && let Some(rec) = recommendation
    {
        remediations.push(Remediation {
            category: "mitigation".to_owned(),
            details: rec,
            url: None,
            product_ids: affected_ids.clone(),
        });
    }

    Ok(Vulnerability {
        id,
        cve: cve_id,
        title: None,
        description: v.text("description").or_else(|| v.text("detail")),
        cwes,
        scores,
        statuses,
        remediations,
        configurations: Vec::new(),
        published: v.text("published").and_then(|t| parse_time(&t)),
    })
}

/// A product for an `affects[].ref`: the component it names in this BOM, or (for a
/// reference into another BOM) the reference itself, with its purl when it is one.
fn product_for(reference: &str, c: Option<&Component>) -> Product {
    match c {
        Some(c) => Product {
            product_id: reference.to_owned(),
            vendor: c.supplier.clone(),
            name: c.name.clone(),
            version: c.version.clone(),
            version_is_range: false,
            full_name: None,
            cpe: c.cpe.clone(),
            purl: c.purl.clone(),
            relationship: None,
        },
        None => {
            let purl = reference.starts_with("pkg:").then(|| reference.to_owned());
            let parsed = purl
                .as_deref()
                .and_then(|p| p.parse::<packageurl::PackageUrl<'static>>().ok());
            Product {
                product_id: reference.to_owned(),
                vendor: parsed
                    .as_ref()
                    .and_then(|p| p.namespace().map(str::to_owned)),
                name: parsed
                    .as_ref()
                    .map_or_else(|| reference.to_owned(), |p| p.name().to_owned()),
                version: parsed.as_ref().and_then(|p| p.version().map(str::to_owned)),
                version_is_range: false,
                full_name: None,
                cpe: None,
                purl,
                relationship: None,
            }
        }
    }
}
