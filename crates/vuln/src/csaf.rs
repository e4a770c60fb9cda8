//! CSAF 2.0 advisories and VEX documents (also reads the CSAF 2.1 fields that moved:
//! `cwes`, `purls`, `metrics`).
//!
//! Product naming: a product's `name` is its `product_name` branch; without one, its
//! `product_family` branch; without either, the full product name. `version` is the
//! `product_version` or `product_version_range` branch text exactly as written.

use std::collections::HashMap;

use pumpguard_model::{
    Advisory, CvssScore, Product, ProductRelationship, ProductStatus, Remediation, VexStatus,
    VulnFormat, Vulnerability,
};

use crate::common::{cve, cwe, parse_time, score};
use crate::error::ReadError;
use crate::json::Node;

/// Which `product_status` lists mean which status.
pub(crate) const STATUS_LISTS: [(&str, VexStatus); 7] = [
    ("known_affected", VexStatus::Affected),
    ("first_affected", VexStatus::Affected),
    ("last_affected", VexStatus::Affected),
    ("fixed", VexStatus::Fixed),
    ("first_fixed", VexStatus::Fixed),
    ("known_not_affected", VexStatus::NotAffected),
    ("under_investigation", VexStatus::UnderInvestigation),
];

/// Whether the root looks like a CSAF document.
pub(crate) fn sniff(root: &Node<'_>) -> bool {
    root.get("document").is_some_and(|d| {
        d.is_object() && (d.get("csaf_version").is_some() || d.get("tracking").is_some())
    })
}

pub(crate) fn read(root: &Node<'_>) -> Result<Advisory, ReadError> {
    let doc = root.need("document")?;
    if !doc.is_object() {
        return Err(doc.error("not an object"));
    }
    let tracking = doc.need("tracking")?;
    let id = tracking.need_text("id")?;
    let format = match doc.text("category").as_deref() {
        Some("csaf_vex") => VulnFormat::CsafVex,
        _ => VulnFormat::Csaf,
    };
    let publisher = doc.object("publisher")?.and_then(|p| p.text("name"));
    let url = doc
        .array("references")?
        .iter()
        .find(|r| r.text("category").as_deref() == Some("self"))
        .and_then(|r| r.text("url"));

    let mut products = Products::default();
    let mut groups: HashMap<String, Vec<String>> = HashMap::new();
    if let Some(tree) = root.object("product_tree")? {
        walk_branches(&tree, &Branch::default(), &mut products)?;
        for fpn in tree.array("full_product_names")? {
            let p = product(&fpn, &Branch::default())?;
            products.add(p);
        }
        for rel in tree.array("relationships")? {
            relationship(&rel, &mut products)?;
        }
        for g in tree.array("product_groups")? {
            let gid = g.need_text("group_id")?;
            groups
                .entry(gid)
                .or_default()
                .extend(g.strings("product_ids")?);
        }
    }

    let mut vulnerabilities = Vec::new();
    for (i, v) in root.array("vulnerabilities")?.iter().enumerate() {
        vulnerabilities.push(vulnerability(v, i, &id, publisher.as_deref(), &groups)?);
    }

    Ok(Advisory {
        id,
        format,
        publisher,
        title: doc.text("title"),
        revision: tracking.text("version"),
        published: tracking
            .text("initial_release_date")
            .and_then(|t| parse_time(&t)),
        updated: tracking
            .text("current_release_date")
            .and_then(|t| parse_time(&t)),
        url,
        products: products.list,
        vulnerabilities,
    })
}

/// Products in document order, the first definition of an id winning.
#[derive(Default)]
struct Products {
    list: Vec<Product>,
    index: HashMap<String, usize>,
}

impl Products {
    fn add(&mut self, p: Product) {
        if !self.index.contains_key(&p.product_id) {
            self.index.insert(p.product_id.clone(), self.list.len());
            self.list.push(p);
        }
    }

    fn get(&self, id: &str) -> Option<&Product> {
        self.index.get(id).and_then(|&i| self.list.get(i))
    }
}

/// What the branches above a product said.
#[derive(Default, Clone)]
struct Branch {
    vendor: Option<String>,
    family: Option<String>,
    name: Option<String>,
    version: Option<String>,
    range: bool,
}

fn walk_branches(node: &Node<'_>, above: &Branch, out: &mut Products) -> Result<(), ReadError> {
    for b in node.array("branches")? {
        let mut here = above.clone();
        let name = b.text("name");
        match b.text("category").as_deref() {
            Some("vendor") => here.vendor = name,
            Some("product_family") => here.family = name,
            Some("product_name") => here.name = name,
            Some("product_version") => {
                here.version = name;
                here.range = false;
            }
            Some("product_version_range") => {
                here.version = name;
                here.range = true;
            }
            _ => {}
        }
        if let Some(fpn) = b.object("product")? {
            out.add(product(&fpn, &here)?);
        }
        walk_branches(&b, &here, out)?;
    }
    Ok(())
}

/// A product from a `full_product_name` and the branches above it.
fn product(fpn: &Node<'_>, branch: &Branch) -> Result<Product, ReadError> {
    let product_id = fpn.need_text("product_id")?;
    let full_name = fpn.text("name");
    let helper = fpn.object("product_identification_helper")?;
    let cpe = helper.as_ref().and_then(|h| h.text("cpe"));
    let purl = helper.as_ref().and_then(|h| {
        h.text("purl").or_else(|| {
            // CSAF 2.1: `purls`.
            h.get("purls")
                .and_then(|p| p.value.as_array()?.first()?.as_str().map(str::to_owned))
        })
    });
    let name = branch
        .name
        .clone()
        .or_else(|| branch.family.clone())
        .or_else(|| full_name.clone())
        .unwrap_or_else(|| product_id.clone());
    Ok(Product {
        product_id,
        vendor: branch.vendor.clone(),
        name,
        version: branch.version.clone(),
        version_is_range: branch.range,
        full_name,
        cpe,
        purl,
        relationship: None,
    })
}

/// A relationship's product: the component's vendor, name and version, the full name
/// the relationship gives, and the relationship itself.
fn relationship(rel: &Node<'_>, products: &mut Products) -> Result<(), ReadError> {
    let fpn = rel.need("full_product_name")?;
    let mut p = product(&fpn, &Branch::default())?;
    let category = rel.text("category").unwrap_or_else(|| "related".to_owned());
    let component = rel.text("product_reference").unwrap_or_default();
    let platform = rel.text("relates_to_product_reference").unwrap_or_default();
    if let Some(c) = products.get(&component) {
        p.vendor = c.vendor.clone();
        p.name = c.name.clone();
        p.version = c.version.clone();
        p.version_is_range = c.version_is_range;
        if p.cpe.is_none() {
            p.cpe = c.cpe.clone();
        }
        if p.purl.is_none() {
            p.purl = c.purl.clone();
        }
    }
    p.relationship = Some(ProductRelationship {
        category,
        product_id: component,
        relates_to_product_id: platform,
    });
    products.add(p);
    Ok(())
}

/// The product ids a remediation, flag or threat names, groups expanded.
fn product_refs(
    node: &Node<'_>,
    groups: &HashMap<String, Vec<String>>,
) -> Result<Vec<String>, ReadError> {
    let mut ids = node.strings("product_ids")?;
    for g in node.strings("group_ids")? {
        if let Some(members) = groups.get(&g) {
            for m in members {
                if !ids.contains(m) {
                    ids.push(m.clone());
                }
            }
        }
    }
    Ok(ids)
}

fn vulnerability(
    v: &Node<'_>,
    index: usize,
    doc_id: &str,
    publisher: Option<&str>,
    groups: &HashMap<String, Vec<String>>,
) -> Result<Vulnerability, ReadError> {
    if !v.is_object() {
        return Err(v.error("not an object"));
    }
    let cve_id = v.text("cve").map(|c| cve(&c).unwrap_or(c));
    let title = v.text("title");
    let other_id = v.array("ids")?.first().and_then(|i| i.text("text"));
    let id = cve_id
        .clone()
        .or(other_id)
        .or_else(|| title.clone())
        .unwrap_or_else(|| format!("{doc_id}#{index}"));

    let notes = v.array("notes")?;
    let note = |category: &str| {
        notes
            .iter()
            .find(|n| n.text("category").as_deref() == Some(category))
            .and_then(|n| n.text("text"))
    };
    let description = note("description").or_else(|| note("summary"));

    let mut cwes = Vec::new();
    if let Some(c) = v
        .object("cwe")?
        .and_then(|c| c.text("id"))
        .and_then(|c| cwe(&c))
    {
        cwes.push(c);
    }
    for c in v.array("cwes")? {
        if let Some(c) = c.text("id").and_then(|c| cwe(&c))
            && !cwes.contains(&c)
        {
            cwes.push(c);
        }
    }

    let mut scores = Vec::new();
    for s in v.array("scores")? {
        let products = s.strings("products")?;
        scores_of(&s, publisher, &products, &mut scores)?;
    }
    // CSAF 2.1 `metrics[].content`.
    for m in v.array("metrics")? {
        let products = m.strings("products")?;
        if let Some(content) = m.object("content")? {
            scores_of(&content, publisher, &products, &mut scores)?;
        }
    }

    let mut statuses = Vec::new();
    if let Some(ps) = v.object("product_status")? {
        for (list, status) in STATUS_LISTS {
            for product_id in ps.strings(list)? {
                statuses.push(ProductStatus {
                    product_id,
                    status,
                    justification: None,
                    statement: None,
                });
            }
        }
    } else if let Some(ps) = v.get("product_status") {
        return Err(ps.error("not an object"));
    }

    for f in v.array("flags")? {
        let Some(label) = f.text("label") else {
            continue;
        };
        for pid in product_refs(&f, groups)? {
            for s in statuses
                .iter_mut()
                .filter(|s| s.product_id == pid && s.status == VexStatus::NotAffected)
            {
                s.justification.get_or_insert_with(|| label.clone());
            }
        }
    }
    for t in v.array("threats")? {
        if t.text("category").as_deref() != Some("impact") {
            continue;
        }
        let Some(details) = t.text("details") else {
            continue;
        };
        for pid in product_refs(&t, groups)? {
            for s in statuses.iter_mut().filter(|s| s.product_id == pid) {
                s.statement.get_or_insert_with(|| details.clone());
            }
        }
    }

    let mut remediations = Vec::new();
    for r in v.array("remediations")? {
        remediations.push(Remediation {
            category: r.need_text("category")?,
            details: r.text("details").unwrap_or_default(),
            url: r.text("url"),
            product_ids: product_refs(&r, groups)?,
        });
    }

    Ok(Vulnerability {
        id,
        cve: cve_id,
        title,
        description,
        cwes,
        scores,
        statuses,
        remediations,
        configurations: Vec::new(),
        published: v
            .text("release_date")
            .or_else(|| v.text("discovery_date"))
            .and_then(|t| parse_time(&t)),
    })
}

/// The CVSS objects of one `scores[]` entry (or 2.1 `metrics[].content`).
fn scores_of(
    s: &Node<'_>,
    publisher: Option<&str>,
    products: &[String],
    out: &mut Vec<CvssScore>,
) -> Result<(), ReadError> {
    for key in ["cvss_v4", "cvss_v3", "cvss_v2"] {
        let Some(c) = s.object(key)? else {
            continue;
        };
        let version = c.text("version");
        if let Some(sc) = score(
            c.text("vectorString").as_deref(),
            c.number("baseScore"),
            c.text("baseSeverity").as_deref(),
            version.as_deref(),
            publisher,
            products.to_vec(),
        ) {
            out.push(sc);
        }
    }
    Ok(())
}
