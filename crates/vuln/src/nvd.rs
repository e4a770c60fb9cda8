//! NVD CVE API 2.0 records: a page of results (`{"vulnerabilities":[{"cve":{…}}]}`), one
//! result (`{"cve":{…}}`), or the bare CVE object as mirrors store it (`{"id":"CVE-…"}`).
//! One advisory per CVE; its products are the CPEs its configurations name.

use pumpguard_model::{
    Advisory, CpeConfiguration, CpeMatch, CpeNode, CpeOperator, Product, ProductStatus, VexStatus,
    VulnFormat, Vulnerability,
};

use crate::common::{cve, cwe, parse_time, score};
use crate::cpe::CpeName;
use crate::error::ReadError;
use crate::json::Node;

/// How an NVD document holds its CVEs.
pub(crate) enum Shape {
    Page,
    Wrapped,
    Bare,
}

pub(crate) fn sniff(root: &Node<'_>) -> Option<Shape> {
    if let Some(list) = root.get("vulnerabilities") {
        let first_is_cve = list
            .value
            .as_array()
            .and_then(|a| a.first())
            .is_some_and(|v| v.get("cve").is_some_and(|c| c.is_object()));
        let looks_like_page = root.get("resultsPerPage").is_some()
            || root.text("format").as_deref() == Some("NVD_CVE");
        if first_is_cve || (looks_like_page && list.value.is_array()) {
            return Some(Shape::Page);
        }
    }
    if root.get("cve").is_some_and(|c| c.is_object()) {
        return Some(Shape::Wrapped);
    }
    let has_cve_id = root.text("id").is_some_and(|id| cve(&id).is_some());
    if has_cve_id
        && (root.get("descriptions").is_some()
            || root.get("sourceIdentifier").is_some()
            || root.get("configurations").is_some())
    {
        return Some(Shape::Bare);
    }
    None
}

pub(crate) fn read(root: &Node<'_>, shape: Shape) -> Result<Vec<Advisory>, ReadError> {
    match shape {
        Shape::Page => root
            .array("vulnerabilities")?
            .iter()
            .map(|item| read_cve(&item.need("cve")?))
            .collect(),
        Shape::Wrapped => Ok(vec![read_cve(&root.need("cve")?)?]),
        Shape::Bare => Ok(vec![read_cve(root)?]),
    }
}

fn read_cve(c: &Node<'_>) -> Result<Advisory, ReadError> {
    if !c.is_object() {
        return Err(c.error("not an object"));
    }
    let raw_id = c.need_text("id")?;
    let Some(id) = cve(&raw_id) else {
        return Err(ReadError::new(
            c.child_place("id"),
            format!("'{raw_id}' is not a CVE id"),
        ));
    };

    let description = c
        .array("descriptions")?
        .iter()
        .find(|d| d.text("lang").is_some_and(|l| l.starts_with("en")))
        .and_then(|d| d.text("value"));

    let mut cwes = Vec::new();
    for w in c.array("weaknesses")? {
        for d in w.array("description")? {
            if let Some(x) = d.text("value").and_then(|v| cwe(&v))
                && !cwes.contains(&x)
            {
                cwes.push(x);
            }
        }
    }

    let mut scores = Vec::new();
    if let Some(metrics) = c.object("metrics")? {
        for (key, version) in [
            ("cvssMetricV40", "4.0"),
            ("cvssMetricV31", "3.1"),
            ("cvssMetricV30", "3.0"),
            ("cvssMetricV2", "2.0"),
        ] {
            for m in metrics.array(key)? {
                let Some(data) = m.object("cvssData")? else {
                    continue;
                };
                let severity = data.text("baseSeverity").or_else(|| m.text("baseSeverity"));
                if let Some(s) = score(
                    data.text("vectorString").as_deref(),
                    data.number("baseScore"),
                    severity.as_deref(),
                    Some(data.text("version").as_deref().unwrap_or(version)),
                    m.text("source").as_deref(),
                    Vec::new(),
                ) {
                    scores.push(s);
                }
            }
        }
    }

    let mut configurations = Vec::new();
    for conf in c.array("configurations")? {
        configurations.push(configuration(&conf)?);
    }

    // Products: each distinct CPE criterion (with its bounds) once.
    let mut products: Vec<Product> = Vec::new();
    let mut statuses = Vec::new();
    for m in configurations
        .iter()
        .flat_map(|c| &c.nodes)
        .flat_map(|n| &n.matches)
    {
        let product_id = match_key(m);
        if products.iter().any(|p| p.product_id == product_id) {
            continue;
        }
        let parsed = CpeName::parse(&m.criteria).ok();
        let (vendor, name, version) = match &parsed {
            Some(n) => (
                n.vendor.value().map(str::to_owned),
                n.product.value().map(str::to_owned),
                n.version.value().map(str::to_owned),
            ),
            None => (None, None, None),
        };
        let bounds = bounds_text(m);
        if m.vulnerable {
            statuses.push(ProductStatus {
                product_id: product_id.clone(),
                status: VexStatus::Affected,
                justification: None,
                statement: None,
            });
        }
        products.push(Product {
            product_id,
            vendor,
            name: name.unwrap_or_else(|| m.criteria.clone()),
            version_is_range: bounds.is_some(),
            version: bounds.or(version),
            full_name: None,
            cpe: Some(m.criteria.clone()),
            purl: None,
            relationship: None,
        });
    }

    let published = c.text("published").and_then(|t| parse_time(&t));
    let vulnerability = Vulnerability {
        id: id.clone(),
        cve: Some(id.clone()),
        title: None,
        description,
        cwes,
        scores,
        statuses,
        remediations: Vec::new(),
        configurations,
        published,
    };
    Ok(Advisory {
        url: Some(format!("https://nvd.nist.gov/vuln/detail/{id}")),
        id,
        format: VulnFormat::Nvd,
        publisher: Some(
            c.text("sourceIdentifier")
                .unwrap_or_else(|| "NVD".to_owned()),
        ),
        title: None,
        revision: None,
        published,
        updated: c.text("lastModified").and_then(|t| parse_time(&t)),
        products,
        vulnerabilities: vec![vulnerability],
    })
}

/// A product id for a match: the criterion, with its bounds when it has any.
fn match_key(m: &CpeMatch) -> String {
    match bounds_text(m) {
        Some(b) => format!("{} {b}", m.criteria),
        None => m.criteria.clone(),
    }
}

/// `>= 1.0, < 2.0` from a match's bounds.
fn bounds_text(m: &CpeMatch) -> Option<String> {
    let parts: Vec<String> = [
        (">=", &m.version_start_including),
        (">", &m.version_start_excluding),
        ("<=", &m.version_end_including),
        ("<", &m.version_end_excluding),
    ]
    .into_iter()
    .filter_map(|(op, v)| v.as_ref().map(|v| format!("{op} {v}")))
    .collect();
    (!parts.is_empty()).then(|| parts.join(", "))
}

fn operator(node: &Node<'_>) -> Result<CpeOperator, ReadError> {
    match node.text("operator").as_deref() {
        None | Some("OR") | Some("or") => Ok(CpeOperator::Or),
        Some("AND") | Some("and") => Ok(CpeOperator::And),
        Some(other) => Err(ReadError::new(
            node.child_place("operator"),
            format!("'{other}' is not AND or OR"),
        )),
    }
}

fn negate(node: &Node<'_>) -> bool {
    node.get("negate")
        .and_then(|n| n.value.as_bool())
        .unwrap_or(false)
}

fn configuration(conf: &Node<'_>) -> Result<CpeConfiguration, ReadError> {
    let mut nodes = Vec::new();
    for n in conf.array("nodes")? {
        let mut matches = Vec::new();
        for m in n.array("cpeMatch")? {
            let criteria = m.need_text("criteria")?;
            if !criteria.starts_with("cpe:2.3:") {
                return Err(ReadError::new(
                    m.child_place("criteria"),
                    format!("'{criteria}' is not a CPE 2.3 name"),
                ));
            }
            matches.push(CpeMatch {
                vulnerable: m
                    .get("vulnerable")
                    .and_then(|v| v.value.as_bool())
                    .unwrap_or(true),
                criteria,
                version_start_including: m.text("versionStartIncluding"),
                version_start_excluding: m.text("versionStartExcluding"),
                version_end_including: m.text("versionEndIncluding"),
                version_end_excluding: m.text("versionEndExcluding"),
            });
        }
        nodes.push(CpeNode {
            operator: operator(&n)?,
            negate: negate(&n),
            matches,
        });
    }
    Ok(CpeConfiguration {
        operator: operator(conf)?,
        negate: negate(conf),
        nodes,
    })
}
