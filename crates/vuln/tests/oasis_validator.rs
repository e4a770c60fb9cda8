//! The OASIS CSAF 2.0 validator test set: for every mandatory test we implement, each
//! file listed as failing it fails it, and each file listed as passing it passes it.

#![allow(clippy::print_stdout)]

use pumpguard_vuln::validate::{MANDATORY_TESTS, Severity, validate_csaf, validate_csaf_tests};
use serde_json::Value;

#[test]
fn oasis_mandatory_cases_agree() {
    let dir = pumpguard_testkit::shared_data().join("csaf/oasis-csaf-2.0/test/validator/data");
    let cases: Value =
        serde_json::from_slice(&std::fs::read(dir.join("testcases.json")).expect("read"))
            .expect("json");
    let (mut run, mut agree, mut skipped) = (0, 0, 0);
    let mut disagreements = Vec::new();
    for test in cases["tests"].as_array().expect("tests") {
        if test["group"] != "mandatory" {
            continue;
        }
        let id = test["id"].as_str().expect("id");
        let files = test["failures"]
            .as_array()
            .into_iter()
            .chain(test["valid"].as_array())
            .flatten();
        for case in files {
            let name = case["name"].as_str().expect("name");
            if !MANDATORY_TESTS.contains(&id) {
                skipped += 1;
                continue;
            }
            let valid = case["valid"].as_bool().expect("valid");
            let bytes = std::fs::read(dir.join(name)).expect("case file");
            let problems = validate_csaf_tests(&bytes, &[id]).expect("a CSAF document");
            let errors: Vec<_> = problems
                .iter()
                .filter(|p| p.severity == Severity::Error)
                .collect();
            run += 1;
            if errors.is_empty() == valid {
                agree += 1;
            } else {
                disagreements.push(format!(
                    "{id} {name}: expected valid={valid}, got {errors:?}"
                ));
            }
        }
    }
    println!(
        "OASIS mandatory cases: {run} run, {agree} agree, {skipped} skipped (tests not implemented)"
    );
    for d in &disagreements {
        println!("  {d}");
    }
    assert!(disagreements.is_empty());
    assert_eq!(run, 146);
}

/// The files OASIS lists as valid pass every mandatory test we implement, not only the
/// one they are listed for; so do the OASIS example advisories.
#[test]
fn valid_cases_and_examples_pass_everything() {
    let data = pumpguard_testkit::shared_data().join("csaf/oasis-csaf-2.0");
    let dir = data.join("test/validator/data");
    let cases: Value =
        serde_json::from_slice(&std::fs::read(dir.join("testcases.json")).expect("read"))
            .expect("json");
    let mut files: Vec<std::path::PathBuf> = cases["tests"]
        .as_array()
        .expect("tests")
        .iter()
        .filter(|t| t["group"] == "mandatory")
        .flat_map(|t| t["valid"].as_array().cloned().unwrap_or_default())
        .filter_map(|c| c["name"].as_str().map(|n| dir.join(n)))
        .collect();
    for sub in ["examples/csaf", "examples/csaf/csaf_vex"] {
        for e in std::fs::read_dir(data.join(sub)).expect("examples") {
            let p = e.expect("entry").path();
            if p.extension().is_some_and(|x| x == "json") {
                files.push(p);
            }
        }
    }
    let mut failed = Vec::new();
    for f in &files {
        let problems = validate_csaf(&std::fs::read(f).expect("read")).expect("CSAF");
        // 6.1.11 (CWE names) is not ours; nothing else may fail.
        if !problems.is_empty() {
            failed.push(format!("{}: {problems:?}", f.display()));
        }
    }
    println!("{} valid files and examples checked", files.len());
    for f in &failed {
        println!("  {f}");
    }
    assert!(failed.is_empty());
}

#[test]
fn not_csaf_is_an_error() {
    assert!(validate_csaf(b"{\"a\": 1}").is_err());
    assert!(validate_csaf(b"{").is_err());
}
