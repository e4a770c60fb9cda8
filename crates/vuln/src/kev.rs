//! CISA's Known Exploited Vulnerabilities catalog (JSON feed).

use pumpguard_model::KevEntry;

use crate::common::cve;
use crate::error::ReadError;
use crate::json::Node;

pub(crate) fn sniff(root: &Node<'_>) -> bool {
    let has_cve_ids = root
        .get("vulnerabilities")
        .and_then(|v| v.value.as_array().cloned())
        .is_some_and(|items| items.first().is_none_or(|i| i.get("cveID").is_some()));
    has_cve_ids
        && (root.get("catalogVersion").is_some()
            || root
                .text("title")
                .is_some_and(|t| t.contains("Known Exploited")))
}

pub(crate) fn read(root: &Node<'_>) -> Result<Vec<KevEntry>, ReadError> {
    let mut out = Vec::new();
    for v in root.array("vulnerabilities")? {
        if !v.is_object() {
            return Err(v.error("not an object"));
        }
        let raw = v.need_text("cveID")?;
        let Some(cve_id) = cve(&raw) else {
            return Err(ReadError::new(
                v.child_place("cveID"),
                format!("'{raw}' is not a CVE id"),
            ));
        };
        let date_added = v.need_text("dateAdded")?;
        if !is_date(&date_added) {
            return Err(ReadError::new(
                v.child_place("dateAdded"),
                format!("'{date_added}' is not a YYYY-MM-DD date"),
            ));
        }
        out.push(KevEntry {
            cve: cve_id,
            vendor: v.text("vendorProject").unwrap_or_default(),
            product: v.text("product").unwrap_or_default(),
            name: v.text("vulnerabilityName"),
            date_added,
            due_date: v.text("dueDate"),
            required_action: v.text("requiredAction"),
            known_ransomware: v.text("knownRansomwareCampaignUse"),
        });
    }
    Ok(out)
}

/// `YYYY-MM-DD` that is a real date.
pub(crate) fn is_date(s: &str) -> bool {
    s.len() == 10 && s.parse::<jiff::civil::Date>().is_ok()
}
