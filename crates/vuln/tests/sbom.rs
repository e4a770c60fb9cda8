//! CycloneDX and SPDX: the CycloneDX spec's valid/invalid test BOMs, two real
//! medical-device SBOMs, the SPDX 2.3 examples and CycloneDX's VEX use cases.

#![allow(clippy::print_stdout)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use pumpguard_model::{Sbom, VexStatus, VulnFormat, VulnImport};
use serde_json::Value;

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            files(&p, out);
        } else if p.extension().is_some_and(|x| x == "json") {
            out.push(p);
        }
    }
}

fn read(path: &Path) -> Result<Vec<VulnImport>, pumpguard_vuln::ReadError> {
    let bytes = std::fs::read(path).expect("read");
    pumpguard_vuln::read(&bytes, &path.display().to_string())
}

fn raw(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).expect("read")).expect("json")
}

fn sbom(imports: &[VulnImport]) -> &Sbom {
    imports
        .iter()
        .find_map(|i| match i {
            VulnImport::Sbom(s) => Some(s),
            _ => None,
        })
        .expect("an SBOM")
}

/// Without the schemas: the invalid test BOMs whose invalidity changes what the data
/// means, and so which we reject (the rest break only the schema: unknown enum values, hash lengths, licence
/// shapes, timestamps, which a lenient reader does not need).
const DETECTED: [&str; 5] = [
    "invalid-bomformat",
    "invalid-component-ref",
    "invalid-dependency",
    "invalid-empty-component",
    "invalid-serialnumber",
];

#[test]
fn cyclonedx_spec_tests() {
    let dir = pumpguard_testkit::shared_data().join("sbom/cyclonedx-spec-tests");
    let mut all = Vec::new();
    for v in ["1.5", "1.6"] {
        files(&dir.join(v), &mut all);
    }
    let (mut valid, mut rejected, mut accepted) = (0, Vec::new(), Vec::new());
    for f in &all {
        let name = f.file_name().expect("name").to_string_lossy().into_owned();
        let result = read(f);
        if name.starts_with("valid-") {
            let imports = result.unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(!imports.is_empty(), "{name}");
            valid += 1;
        } else if name.starts_with("invalid-") {
            let stem = name.rsplit_once('-').map_or(name.as_str(), |(s, _)| s);
            match result {
                Err(e) => {
                    assert!(
                        DETECTED.contains(&stem),
                        "{name} rejected unexpectedly: {e}"
                    );
                    rejected.push(format!("{name}: {e}"));
                }
                Ok(_) => {
                    assert!(!DETECTED.contains(&stem), "{name} should be rejected");
                    accepted.push(name);
                }
            }
        }
    }
    println!(
        "CycloneDX spec tests: {valid} valid read; of {} invalid, {} rejected, {} accepted (schema-only faults)",
        rejected.len() + accepted.len(),
        rejected.len(),
        accepted.len()
    );
    for r in &rejected {
        println!("  rejected {r}");
    }
    assert_eq!(valid, 36 + 45);
    assert_eq!(rejected.len(), 10);
    assert_eq!(accepted.len(), 37);
}

fn official_schemas() -> pumpguard_vuln::CycloneDxSchemas {
    let dir = pumpguard_testkit::shared_data().join("sbom/cyclonedx-spec-tests/schema");
    let mut docs = Vec::new();
    let mut paths = Vec::new();
    files(&dir, &mut paths);
    for p in paths {
        docs.push((p.display().to_string(), std::fs::read(&p).expect("read")));
    }
    pumpguard_vuln::CycloneDxSchemas::new(&docs).expect("schemas compile")
}

/// With the official schemas given, every spec test gives its expected result: each
/// `valid-` BOM is read, each `invalid-` one refused at the place the fault is.
#[test]
fn cyclonedx_spec_tests_with_the_official_schemas() {
    let schemas = official_schemas();
    assert_eq!(schemas.versions(), ["1.5", "1.6"]);
    let options = pumpguard_vuln::ReadOptions {
        cyclonedx_schemas: Some(&schemas),
    };
    let dir = pumpguard_testkit::shared_data().join("sbom/cyclonedx-spec-tests");
    let mut all = Vec::new();
    for v in ["1.5", "1.6"] {
        files(&dir.join(v), &mut all);
    }
    let (mut valid, mut invalid) = (0, 0);
    for f in &all {
        let name = f.file_name().expect("name").to_string_lossy().into_owned();
        let bytes = std::fs::read(f).expect("read");
        let result = pumpguard_vuln::read_with(&bytes, &name, options);
        if name.starts_with("valid-") {
            result.unwrap_or_else(|e| panic!("{name}: {e}"));
            valid += 1;
        } else {
            let e = result.expect_err(&name);
            assert!(e.place.starts_with('/'), "{name}: {e}");
            assert!(!e.message.contains('\n'), "{name}: {e}");
            invalid += 1;
        }
    }
    println!("with the official schemas: {valid} valid read, {invalid} invalid refused");
    assert_eq!((valid, invalid), (36 + 45, 47));

    let one = |f: &str| {
        let bytes = std::fs::read(dir.join("1.6").join(f)).expect("read");
        pumpguard_vuln::read_with(&bytes, f, options).expect_err(f)
    };
    let e = one("invalid-hash-alg-1.6.json");
    assert_eq!(e.place, "/components/0/hashes/0/alg");
    assert!(e.message.contains("\"FOO\""), "{e}");
    assert_eq!(
        one("invalid-metadata-timestamp-1.6.json").place,
        "/metadata/timestamp"
    );
    // The base64 licence text the validator quotes is cut short.
    assert!(
        one("invalid-license-encoding-1.6.json")
            .message
            .chars()
            .count()
            < 300
    );

    // A BOM of a version no schema was given for is refused, saying so.
    let old = pumpguard_testkit::shared_data()
        .join("sbom/cyclonedx-bom-examples/SBOM/laravel-7.12.0/bom.1.4.json");
    let e = pumpguard_vuln::read_with(&std::fs::read(&old).expect("read"), "bom.1.4.json", options)
        .expect_err("1.4");
    assert_eq!(e.place, "/specVersion");
    assert!(e.message.contains("no CycloneDX 1.4 schema"), "{e}");
    assert!(e.message.contains("1.5, 1.6"), "{e}");
}

#[test]
fn schema_sets_that_cannot_be_used() {
    let e = pumpguard_vuln::CycloneDxSchemas::new(&[("x.json".into(), b"{".to_vec())])
        .expect_err("not JSON");
    assert_eq!(e.name.as_deref(), Some("x.json"));
    let e = pumpguard_vuln::CycloneDxSchemas::new(&[("x.json".into(), b"{}".to_vec())])
        .expect_err("no $id");
    assert!(e.message.contains("$id"), "{e}");
    let e = pumpguard_vuln::CycloneDxSchemas::new(&[(
        "spdx.json".into(),
        br#"{"$id": "http://cyclonedx.org/schema/spdx.schema.json"}"#.to_vec(),
    )])
    .expect_err("no BOM schema");
    assert!(e.message.contains("bom-X.Y"), "{e}");
}

#[test]
fn specific_rejections_say_where() {
    let dir = pumpguard_testkit::shared_data().join("sbom/cyclonedx-spec-tests/1.6");
    let place = |f: &str| read(&dir.join(f)).expect_err(f).place;
    assert_eq!(place("invalid-bomformat-1.6.json"), "/bomFormat");
    assert_eq!(
        place("invalid-component-ref-1.6.json"),
        "/components/1/bom-ref"
    );
    assert_eq!(place("invalid-dependency-1.6.json"), "/dependencies/0/ref");
    assert_eq!(
        place("invalid-empty-component-1.6.json"),
        "/components/0/name"
    );
    assert_eq!(place("invalid-serialnumber-1.6.json"), "/serialNumber");
}

/// Every component, nested ones too, counted straight from the JSON.
fn count_components(v: &Value) -> usize {
    v["components"]
        .as_array()
        .map_or(0, |cs| cs.iter().map(|c| 1 + count_components(c)).sum())
}

#[test]
fn medical_device_sboms() {
    let dir = pumpguard_testkit::shared_data().join("sbom/medical-device-case-study");
    for name in ["narrow.sbom.json", "extended.sbom.json"] {
        let f = dir.join(name);
        let imports = read(&f).unwrap_or_else(|e| panic!("{name}: {e}"));
        let s = sbom(&imports);
        let r = raw(&f);
        assert_eq!(s.format, VulnFormat::CycloneDx);
        assert_eq!(Some(s.id.as_str()), r["serialNumber"].as_str());
        assert_eq!(s.components.len(), count_components(&r), "{name}");
        let subject = s.subject.as_ref().expect("subject");
        assert_eq!(
            Some(subject.name.as_str()),
            r["metadata"]["component"]["name"].as_str()
        );
        // Every purl and CPE the file gives is kept.
        let purls = |v: &Value| -> BTreeSet<String> {
            fn walk(v: &Value, out: &mut BTreeSet<String>) {
                for c in v["components"].as_array().into_iter().flatten() {
                    if let Some(p) = c["purl"].as_str().filter(|p| !p.is_empty()) {
                        out.insert(p.to_owned());
                    }
                    walk(c, out);
                }
            }
            let mut out = BTreeSet::new();
            walk(v, &mut out);
            out
        };
        let ours: BTreeSet<String> = s.components.iter().filter_map(|c| c.purl.clone()).collect();
        assert_eq!(ours, purls(&r));
        println!("{name}: {} components", s.components.len());
    }
}

#[test]
fn spdx_examples() {
    let dir = pumpguard_testkit::shared_data().join("sbom/spdx-examples");
    let mut all = Vec::new();
    files(&dir, &mut all);
    let mut n = 0;
    for f in &all {
        let r = raw(f);
        if r["spdxVersion"].as_str() != Some("SPDX-2.3") {
            // SPDX 3.0 JSON-LD is not read.
            assert!(read(f).is_err(), "{}", f.display());
            continue;
        }
        let imports = read(f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let s = sbom(&imports);
        assert_eq!(s.format, VulnFormat::Spdx);
        assert_eq!(Some(s.id.as_str()), r["documentNamespace"].as_str());
        let packages = r["packages"].as_array().map_or(0, Vec::len);
        assert_eq!(
            s.components.len() + usize::from(s.subject.is_some()),
            packages
        );
        n += 1;
    }
    assert_eq!(n, 9);

    let f = dir.join("software/example14/spdx2.3/examplemaven-0.0.1-enriched.spdx.json");
    let imports = read(&f).expect("read");
    let s = sbom(&imports);
    let subject = s.subject.as_ref().expect("described package");
    assert_eq!(subject.reference.as_deref(), Some("SPDXRef-example"));
    let junit = s
        .components
        .iter()
        .find(|c| c.name == "JUnit")
        .expect("JUnit");
    assert_eq!(junit.version.as_deref(), Some("3.8.1"));
    assert_eq!(junit.supplier.as_deref(), Some("JUnit"));
}

fn cdx_state(s: &str) -> VexStatus {
    match s {
        "exploitable" => VexStatus::Affected,
        "resolved" | "resolved_with_pedigree" => VexStatus::Fixed,
        "in_triage" => VexStatus::UnderInvestigation,
        "not_affected" | "false_positive" => VexStatus::NotAffected,
        other => panic!("{other}"),
    }
}

#[test]
fn cyclonedx_vex_use_cases() {
    let dir = pumpguard_testkit::shared_data().join("sbom/cyclonedx-bom-examples/VEX");
    let mut all = Vec::new();
    files(&dir, &mut all);
    let (mut docs, mut statuses) = (0, 0);
    for f in &all {
        let imports = read(f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let r = raw(f);
        let Some(vulns) = r["vulnerabilities"].as_array() else {
            continue;
        };
        let a = imports
            .iter()
            .find_map(|i| match i {
                VulnImport::Advisory(a) => Some(a),
                _ => None,
            })
            .expect("advisory");
        assert_eq!(a.format, VulnFormat::CycloneDx);
        docs += 1;
        for (v, rv) in a.vulnerabilities.iter().zip(vulns) {
            assert_eq!(Some(v.id.as_str()), rv["id"].as_str());
            let state = rv["analysis"]["state"].as_str().map(cdx_state);
            let refs: Vec<&str> = rv["affects"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|a| a["ref"].as_str())
                .collect();
            assert_eq!(v.statuses.len(), refs.len());
            for (s, r) in v.statuses.iter().zip(refs) {
                assert_eq!(s.product_id, r);
                assert!(a.products.iter().any(|p| p.product_id == r));
                if let Some(state) = state {
                    assert_eq!(s.status, state, "{}", f.display());
                }
                statuses += 1;
            }
        }
        assert_eq!(a.vulnerabilities.len(), vulns.len());
    }
    println!("CycloneDX VEX examples: {docs} documents, {statuses} statuses");

    let case1 = dir.join("CISA-Use-Cases/Case-1");
    for (file, status, product) in [
        ("vex-affected.json", VexStatus::Affected, "product-DEF"),
        ("vex-fixed.json", VexStatus::Fixed, "product-DEF"),
        (
            "vex-not_affected.json",
            VexStatus::NotAffected,
            "product-ABC",
        ),
        (
            "vex-under_investigation.json",
            VexStatus::UnderInvestigation,
            "product-GHI",
        ),
    ] {
        let imports = read(&case1.join(file)).expect(file);
        let [VulnImport::Advisory(a)] = &imports[..] else {
            panic!("{file}: {imports:?}");
        };
        let v = &a.vulnerabilities[0];
        assert_eq!(v.cve.as_deref(), Some("CVE-2021-44228"));
        assert_eq!(v.statuses[0].status, status, "{file}");
        assert_eq!(v.statuses[0].product_id, product);
        if status == VexStatus::NotAffected {
            assert_eq!(
                v.statuses[0].justification.as_deref(),
                Some("vulnerable_code_not_present")
            );
            assert!(v.statuses[0].statement.is_some());
            assert_eq!(v.remediations[0].category, "no_fix_planned");
        }
        // The product is the metadata component the ref names.
        let p = a
            .products
            .iter()
            .find(|p| p.product_id == product)
            .expect("product");
        assert_ne!(p.name, product);
    }
}

#[test]
fn a_bom_with_vulnerabilities_is_an_sbom_and_an_advisory() {
    let f = pumpguard_testkit::shared_data()
        .join("sbom/cyclonedx-spec-tests/1.6/valid-vulnerability-1.6.json");
    let imports = read(&f).expect("read");
    let [VulnImport::Sbom(s), VulnImport::Advisory(a)] = &imports[..] else {
        panic!("{imports:?}");
    };
    assert_eq!(s.id, a.id);
    assert_eq!(s.components.len(), 1);
    let v = &a.vulnerabilities[0];
    assert_eq!(v.id, "SNYK-JAVA-COMFASTERXMLJACKSONCORE-32111");
    assert_eq!(v.cve.as_deref(), Some("CVE-2018-7489"));
    assert_eq!(v.cwes, ["CWE-184", "CWE-502"]);
    // A CVSSv3 rating written without its prefix is scored as 3.0.
    let score = &v.scores[0];
    assert_eq!(score.vector, "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H");
    assert_eq!(
        (score.score, score.severity.as_deref()),
        (9.8, Some("Critical"))
    );
    assert_eq!(score.source.as_deref(), Some("NVD"));
    assert!(
        v.remediations
            .iter()
            .any(|r| r.details.starts_with("Upgrade"))
    );
}
