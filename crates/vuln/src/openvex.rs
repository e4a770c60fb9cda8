//! OpenVEX (v0.0.1 and v0.2.0): statements that say what a vulnerability's status is in
//! products named by IRI (usually a purl) or by identifiers.

use pumpguard_model::{Advisory, Product, ProductStatus, VexStatus, VulnFormat, Vulnerability};

use crate::common::{cve, parse_time};
use crate::error::ReadError;
use crate::json::Node;

pub(crate) fn sniff(root: &Node<'_>) -> bool {
    root.text("@context").is_some_and(|c| c.contains("openvex"))
}

pub(crate) fn read(root: &Node<'_>) -> Result<Advisory, ReadError> {
    let id = root.need_text("@id")?;
    let mut products: Vec<Product> = Vec::new();
    let mut vulnerabilities: Vec<Vulnerability> = Vec::new();
    for s in root.array("statements")? {
        if !s.is_object() {
            return Err(s.error("not an object"));
        }
        let v = s.need("vulnerability")?;
        // v0.2.0: an object with `name` (and `@id`, `aliases`); v0.0.1: a string.
        let (name, description, aliases) = if v.is_object() {
            let name = v
                .text("name")
                .or_else(|| v.text("@id"))
                .ok_or_else(|| ReadError::new(v.child_place("name"), "missing"))?;
            let aliases = v.strings("aliases")?;
            (name, v.text("description"), aliases)
        } else {
            match v.own_text() {
                Some(n) => (n, None, Vec::new()),
                None => return Err(v.error("not a vulnerability name")),
            }
        };
        let status_node = s.need("status")?;
        let status_text = status_node.own_text().unwrap_or_default();
        let status: VexStatus = status_text
            .parse()
            .map_err(|e: String| status_node.error(e))?;
        let statement = match status {
            VexStatus::NotAffected => s.text("impact_statement"),
            VexStatus::Affected => s.text("action_statement"),
            _ => None,
        }
        .or_else(|| s.text("status_notes"));
        let justification = s.text("justification");

        let mut ids = Vec::new();
        for p in s.array("products")? {
            let product = product(&p)?;
            ids.push(product.product_id.clone());
            if !products.iter().any(|x| x.product_id == product.product_id) {
                products.push(product);
            }
        }

        let cve_id = cve(&name).or_else(|| aliases.iter().find_map(|a| cve(a)));
        let index = match vulnerabilities.iter().position(|x| x.id == name) {
            Some(i) => i,
            None => {
                vulnerabilities.push(Vulnerability {
                    id: name.clone(),
                    cve: cve_id,
                    title: None,
                    description,
                    cwes: Vec::new(),
                    scores: Vec::new(),
                    statuses: Vec::new(),
                    remediations: Vec::new(),
                    configurations: Vec::new(),
                    published: s.text("timestamp").and_then(|t| parse_time(&t)),
                });
                vulnerabilities.len() - 1
            }
        };
        if let Some(vuln) = vulnerabilities.get_mut(index) {
            for product_id in ids {
                vuln.statuses.push(ProductStatus {
                    product_id,
                    status,
                    justification: justification.clone(),
                    statement: statement.clone(),
                });
            }
        }
    }
    Ok(Advisory {
        id,
        format: VulnFormat::OpenVex,
        publisher: root.text("author"),
        title: None,
        revision: root.text("version"),
        published: root.text("timestamp").and_then(|t| parse_time(&t)),
        updated: root.text("last_updated").and_then(|t| parse_time(&t)),
        url: None,
        products,
        vulnerabilities,
    })
}

/// A product: `{"@id": IRI, "identifiers": {purl, cpe23, cpe22}}` or (v0.0.1) an IRI.
fn product(p: &Node<'_>) -> Result<Product, ReadError> {
    let (iri, identifiers) = if p.is_object() {
        (p.text("@id"), p.object("identifiers")?)
    } else {
        (p.own_text(), None)
    };
    let purl = identifiers
        .as_ref()
        .and_then(|i| i.text("purl"))
        .or_else(|| iri.clone().filter(|i| i.starts_with("pkg:")));
    let cpe = identifiers
        .as_ref()
        .and_then(|i| i.text("cpe23").or_else(|| i.text("cpe22")));
    let Some(product_id) = iri.clone().or_else(|| purl.clone()).or_else(|| cpe.clone()) else {
        return Err(p.error("a product with neither @id nor identifiers"));
    };
    let parsed = purl
        .as_deref()
        .and_then(|u| u.parse::<packageurl::PackageUrl<'static>>().ok());
    Ok(Product {
        vendor: parsed
            .as_ref()
            .and_then(|u| u.namespace().map(str::to_owned)),
        name: parsed
            .as_ref()
            .map_or_else(|| product_id.clone(), |u| u.name().to_owned()),
        version: parsed.as_ref().and_then(|u| u.version().map(str::to_owned)),
        product_id,
        version_is_range: false,
        full_name: None,
        cpe,
        purl,
        relationship: None,
    })
}
