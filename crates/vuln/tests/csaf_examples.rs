//! The OASIS CSAF 2.0 examples: relationships (Red Hat), VEX flags and impact
//! statements; and every validator test file is a document `read` takes.

use pumpguard_model::{Advisory, VexStatus, VulnFormat, VulnImport};

fn read_csaf(rel: &str) -> Advisory {
    let path = pumpguard_testkit::shared_data()
        .join("csaf/oasis-csaf-2.0")
        .join(rel);
    let bytes = std::fs::read(&path).expect("read");
    match pumpguard_vuln::read(&bytes, rel)
        .unwrap_or_else(|e| panic!("{rel}: {e}"))
        .remove(0)
    {
        VulnImport::Advisory(a) => a,
        other => panic!("{other:?}"),
    }
}

#[test]
fn red_hat_relationships_become_products() {
    let a = read_csaf("examples/csaf/rhsa-2021_5186.json");
    let related: Vec<_> = a
        .products
        .iter()
        .filter(|p| p.relationship.is_some())
        .collect();
    assert_eq!(related.len(), 3);
    let p = related[0];
    let rel = p.relationship.as_ref().expect("relationship");
    assert_eq!(rel.category, "default_component_of");
    assert_eq!(rel.relates_to_product_id, "8Base-RHOSE-4.6");
    assert_eq!(
        p.product_id,
        "8Base-RHOSE-4.6:openshift4/ose-metering-ansible-operator-bundle:v4.6.0.202112161349.p0.gd74112d.assembly.art3595-1"
    );
    // Vendor, name and version are the component's.
    let component = a
        .products
        .iter()
        .find(|c| c.product_id == rel.product_id)
        .expect("component defined");
    assert_eq!(p.vendor.as_deref(), Some("Red Hat"));
    assert_eq!(p.vendor, component.vendor);
    assert_eq!(p.name, component.name);
    assert_eq!(p.version, component.version);
    assert!(
        p.full_name
            .as_deref()
            .is_some_and(|n| n.contains("as a component of"))
    );
    // The platform: family and product name branches.
    let platform = a
        .products
        .iter()
        .find(|c| c.product_id == "8Base-RHOSE-4.6")
        .expect("platform");
    assert_eq!(platform.name, "Red Hat OpenShift Container Platform 4.6");
    // Statuses name the relationship products.
    assert!(
        a.vulnerabilities
            .iter()
            .flat_map(|v| &v.statuses)
            .any(|s| s.product_id == p.product_id)
    );
}

#[test]
fn vex_impact_statements_and_flags() {
    let a = read_csaf("examples/csaf/csaf_vex/2022-evd-uc-01-na-001.json");
    assert_eq!(a.format, VulnFormat::CsafVex);
    let s = &a.vulnerabilities[0].statuses[0];
    assert_eq!(s.status, VexStatus::NotAffected);
    assert_eq!(
        s.statement.as_deref(),
        Some("Class with vulnerable code was removed before shipping.")
    );
    let p = &a.products[0];
    assert_eq!(
        (p.vendor.as_deref(), p.name.as_str(), p.version.as_deref()),
        (Some("Example Company"), "ABC", Some("4.2"))
    );

    let a = read_csaf("examples/csaf/csaf_vex/sec-vex-2022-0001.json");
    assert_eq!(a.vulnerabilities.len(), 3);
    for v in &a.vulnerabilities {
        assert_eq!(
            v.statuses[0].justification.as_deref(),
            Some("component_not_present")
        );
    }
}

#[test]
fn every_oasis_document_reads() {
    let root = pumpguard_testkit::shared_data().join("csaf/oasis-csaf-2.0");
    let mut n = 0;
    for dir in [
        "examples/csaf",
        "examples/csaf/csaf_vex",
        "test/validator/data/mandatory",
        "test/validator/data/optional",
        "test/validator/data/informative",
    ] {
        for e in std::fs::read_dir(root.join(dir)).expect("dir") {
            let p = e.expect("entry").path();
            if p.extension().is_none_or(|x| x != "json") {
                continue;
            }
            let bytes = std::fs::read(&p).expect("read");
            // Test files break rules on purpose, but each is a CSAF document with an id.
            pumpguard_vuln::read(&bytes, "x").unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            n += 1;
        }
    }
    assert!(n > 250, "{n}");
}
