//! Every CISA CSAF advisory (2017–2023) reads; the pump advisories read field by field.

#![allow(clippy::print_stdout)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use pumpguard_model::{Advisory, VexStatus, VulnFormat, VulnImport};
use serde_json::Value;

fn json_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            json_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "json") {
            out.push(p);
        }
    }
}

fn advisory(path: &Path) -> Advisory {
    let bytes = std::fs::read(path).expect("read");
    let mut imports = pumpguard_vuln::read(&bytes, &path.display().to_string())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(imports.len(), 1, "{}", path.display());
    match imports.remove(0) {
        VulnImport::Advisory(a) => a,
        other => panic!("{}: not an advisory: {other:?}", path.display()),
    }
}

#[test]
fn every_cisa_advisory_reads() {
    let dir = pumpguard_testkit::shared_data().join("csaf/cisa-corpus");
    let mut files = Vec::new();
    json_files(&dir, &mut files);
    // The two ROLIE feeds list the advisories; they are not advisories.
    files.retain(|p| {
        !p.file_name()
            .is_some_and(|n| n.to_string_lossy().contains("-feed-"))
    });
    let (mut products, mut vulns, mut scores, mut statuses, mut remediations) = (0, 0, 0, 0, 0);
    let mut cves = BTreeSet::new();
    let mut ranges = 0;
    let mut relationship_products = 0;
    for f in &files {
        let a = advisory(f);
        assert!(!a.id.is_empty());
        assert!(matches!(a.format, VulnFormat::Csaf | VulnFormat::CsafVex));
        products += a.products.len();
        ranges += a.products.iter().filter(|p| p.version_is_range).count();
        relationship_products += a
            .products
            .iter()
            .filter(|p| p.relationship.is_some())
            .count();
        for v in &a.vulnerabilities {
            vulns += 1;
            scores += v.scores.len();
            statuses += v.statuses.len();
            remediations += v.remediations.len();
            if let Some(c) = &v.cve {
                cves.insert(c.clone());
            }
            for s in &v.scores {
                assert!((0.0..=10.0).contains(&s.score), "{}: {s:?}", f.display());
            }
        }
    }
    println!(
        "CISA CSAF corpus: {} advisories, {products} products ({ranges} version ranges, \
         {relationship_products} from relationships), {vulns} vulnerabilities, {} distinct CVEs, \
         {scores} CVSS scores, {statuses} product statuses, {remediations} remediations",
        files.len(),
        cves.len()
    );
    assert_eq!(files.len(), 2035, "advisories in the corpus");
    assert!(cves.len() > 5000, "{}", cves.len());
}

/// Every pump advisory: the CVEs are the file's, and every CVSS 3 vector and base score
/// the file states comes out with the same score.
#[test]
fn pump_advisories_match_their_files() {
    let dir = pumpguard_testkit::shared_data().join("csaf/cisa-icsma");
    let mut files = Vec::new();
    json_files(&dir, &mut files);
    assert_eq!(files.len(), 18);
    for f in &files {
        let a = advisory(f);
        let raw: Value = serde_json::from_slice(&std::fs::read(f).expect("read")).expect("json");
        assert_eq!(
            Some(a.id.as_str()),
            raw["document"]["tracking"]["id"].as_str()
        );
        assert_eq!(a.title.as_deref(), raw["document"]["title"].as_str());
        assert_eq!(
            a.publisher.as_deref(),
            raw["document"]["publisher"]["name"].as_str()
        );
        let raw_vulns = raw["vulnerabilities"].as_array().expect("vulnerabilities");
        assert_eq!(a.vulnerabilities.len(), raw_vulns.len());
        for (v, rv) in a.vulnerabilities.iter().zip(raw_vulns) {
            assert_eq!(v.cve.as_deref(), rv["cve"].as_str(), "{}", f.display());
            for s in rv["scores"].as_array().into_iter().flatten() {
                let c = &s["cvss_v3"];
                let vector = c["vectorString"].as_str().expect("vector");
                let ours = v
                    .scores
                    .iter()
                    .find(|x| x.vector == vector)
                    .unwrap_or_else(|| panic!("{}: {vector} missing", f.display()));
                assert_eq!(
                    Some(ours.score),
                    c["baseScore"].as_f64(),
                    "{}: {vector}",
                    f.display()
                );
                let products: Vec<&str> = s["products"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .collect();
                assert_eq!(ours.product_ids, products);
            }
            let affected = rv["product_status"]["known_affected"]
                .as_array()
                .map_or(0, Vec::len);
            assert_eq!(
                v.statuses
                    .iter()
                    .filter(|s| s.status == VexStatus::Affected)
                    .count(),
                affected
                    + rv["product_status"]["first_affected"]
                        .as_array()
                        .map_or(0, Vec::len)
                    + rv["product_status"]["last_affected"]
                        .as_array()
                        .map_or(0, Vec::len)
            );
        }
    }
}

#[test]
fn bd_alaris_pcu_field_by_field() {
    let f = pumpguard_testkit::shared_data().join("csaf/cisa-icsma/icsma-20-170-06.json");
    let a = advisory(&f);
    assert_eq!(a.id, "ICSMA-20-170-06");
    assert_eq!(a.format, VulnFormat::Csaf);
    assert_eq!(a.publisher.as_deref(), Some("CISA"));
    assert_eq!(a.title.as_deref(), Some("BD Alaris PCU (Update A)"));
    assert!(a.published.is_some() && a.updated.is_some());
    assert_eq!(a.products.len(), 1);
    let p = &a.products[0];
    assert_eq!(p.product_id, "CSAFPID-0001");
    assert_eq!(
        p.vendor.as_deref(),
        Some("Becton, Dickinson and Company (BD)")
    );
    assert_eq!(p.name, "Alaris PC Unit");
    assert_eq!(p.version.as_deref(), Some("9.13 | 9.19 | 9.33 | 12.1"));
    assert!(!p.version_is_range);
    assert_eq!(
        p.full_name.as_deref(),
        Some("Alaris PC Unit: Versions 9.13 9.19 9.33 and 12.1")
    );
    assert_eq!(a.vulnerabilities.len(), 1);
    let v = &a.vulnerabilities[0];
    assert_eq!(v.id, "CVE-2019-11479");
    assert_eq!(v.cve.as_deref(), Some("CVE-2019-11479"));
    assert_eq!(v.cwes, ["CWE-400"]);
    assert!(
        v.description
            .as_deref()
            .is_some_and(|d| d.contains("Linux kernel"))
    );
    assert_eq!(v.scores.len(), 1);
    let s = &v.scores[0];
    assert_eq!(s.version, "3.0");
    assert_eq!(s.vector, "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:L");
    assert_eq!(s.score, 5.3);
    assert_eq!(s.severity.as_deref(), Some("Medium"));
    assert_eq!(s.source.as_deref(), Some("CISA"));
    assert_eq!(s.product_ids, ["CSAFPID-0001"]);
    assert_eq!(v.statuses.len(), 1);
    assert_eq!(v.statuses[0].product_id, "CSAFPID-0001");
    assert_eq!(v.statuses[0].status, VexStatus::Affected);
    assert_eq!(v.remediations.len(), 3);
    assert!(v.remediations.iter().all(|r| r.category == "vendor_fix"));
    assert_eq!(
        v.remediations[2].url.as_deref(),
        Some("http://www.bd.com/productsecurity")
    );
}

#[test]
fn baxter_sigma_spectrum_ranges() {
    let f = pumpguard_testkit::shared_data().join("csaf/cisa-icsma/icsma-20-170-04.json");
    let a = advisory(&f);
    let raw: Value = serde_json::from_slice(&std::fs::read(&f).expect("read")).expect("json");
    // Every product_version_range branch's text is a product version marked as a range.
    let mut expected = Vec::new();
    fn walk(v: &Value, out: &mut Vec<(String, bool, String)>) {
        for b in v["branches"].as_array().into_iter().flatten() {
            let cat = b["category"].as_str().unwrap_or_default();
            if let Some(id) = b["product"]["product_id"].as_str() {
                let name = b["name"].as_str().unwrap_or_default().to_owned();
                out.push((id.to_owned(), cat == "product_version_range", name));
            }
            walk(b, out);
        }
    }
    walk(&raw["product_tree"], &mut expected);
    assert!(expected.iter().any(|e| e.1), "the file has ranges");
    for (id, range, name) in expected {
        let p = a
            .products
            .iter()
            .find(|p| p.product_id == id)
            .unwrap_or_else(|| panic!("{id}"));
        assert_eq!(p.version_is_range, range, "{id}");
        assert_eq!(p.version.as_deref(), Some(name.as_str()), "{id}");
        assert_eq!(p.vendor.as_deref(), Some("Baxter"));
    }
    let cves: Vec<_> = a
        .vulnerabilities
        .iter()
        .filter_map(|v| v.cve.as_deref())
        .collect();
    assert_eq!(
        cves,
        [
            "CVE-2020-12039",
            "CVE-2020-12040",
            "CVE-2020-12045",
            "CVE-2020-12041",
            "CVE-2020-12047",
            "CVE-2020-12043"
        ]
    );
}

/// The validator runs on every CISA advisory. CISA validates what it publishes, and all
/// of them pass every mandatory test we run: a failure here is a false alarm of ours.
#[test]
fn validate_every_cisa_advisory() {
    let dir = pumpguard_testkit::shared_data().join("csaf/cisa-corpus");
    let mut files = Vec::new();
    json_files(&dir, &mut files);
    files.retain(|p| {
        !p.file_name()
            .is_some_and(|n| n.to_string_lossy().contains("-feed-"))
    });
    let mut by_test: std::collections::BTreeMap<String, usize> = Default::default();
    let mut clean = 0;
    for f in &files {
        let problems = pumpguard_vuln::validate::validate_csaf(&std::fs::read(f).expect("read"))
            .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        if problems.is_empty() {
            clean += 1;
        }
        let tests: BTreeSet<&str> = problems.iter().map(|p| p.test.as_str()).collect();
        for t in tests {
            *by_test.entry(t.to_owned()).or_default() += 1;
        }
    }
    println!(
        "CISA corpus validated: {clean} of {} pass every mandatory test we run; failing advisories per test: {by_test:?}",
        files.len()
    );
    assert_eq!(clean, files.len());
}
