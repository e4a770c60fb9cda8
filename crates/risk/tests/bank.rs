//! The bank against the official catalogues in `../shared/data/controls/`: every CSF id
//! it cites is a CSF 2.0 subcategory of NIST's OSCAL catalogue, every 1.1 id of the
//! crosswalk is in it too (CSF 2.0 lists them withdrawn), every HIPAA standard is one the
//! SP 800-66r2 catalogue names, and the bank covers what the issue asks.

#![allow(clippy::print_stdout)]

use std::collections::{BTreeMap, BTreeSet};

use pumpguard_risk::Bank;

fn controls() -> std::path::PathBuf {
    pumpguard_testkit::shared_data().join("controls")
}

/// Every group and control id of the OSCAL XML catalogue: functions are groups
/// (`<group id="PR"`), categories and subcategories controls (`<control id="PR.AA-01"`).
fn oscal_ids() -> BTreeSet<String> {
    let xml = std::fs::read_to_string(controls().join("NIST_CSF_v2.0_catalog.oscal.xml"))
        .expect("OSCAL catalogue");
    ["<group id=\"", "<control id=\""]
        .iter()
        .flat_map(|tag| xml.split(tag).skip(1))
        .filter_map(|rest| rest.split('"').next())
        .map(str::to_owned)
        .collect()
}

/// The flattened CSV's subcategories with CSF 2.0 implementation examples: the 106 of
/// CSF 2.0 (the others in the catalogue are withdrawn 1.1 ids).
fn csf2_subcategories() -> BTreeSet<String> {
    let mut r =
        csv::Reader::from_path(controls().join("nist_csf_2.0_subcategories.csv")).expect("CSV");
    let headers = r.headers().expect("headers").clone();
    let col = |n: &str| headers.iter().position(|h| h == n).expect(n);
    let (id, status) = (col("id"), col("inferred_status"));
    r.records()
        .map(|rec| rec.expect("record"))
        .filter(|rec| &rec[status] == "csf2")
        .map(|rec| rec[id].to_owned())
        .collect()
}

fn hipaa_standards() -> BTreeSet<String> {
    let mut r = csv::Reader::from_path(controls().join("hipaa_security_rule_key_activities.csv"))
        .expect("CSV");
    let headers = r.headers().expect("headers").clone();
    let col = headers
        .iter()
        .position(|h| h == "cfr_standard")
        .expect("cfr_standard");
    r.records()
        .map(|rec| rec.expect("record")[col].to_owned())
        .collect()
}

#[test]
fn the_bank_loads_and_cites_only_real_controls() {
    let bank = Bank::builtin().unwrap_or_else(|e| panic!("{e}"));
    let oscal = oscal_ids();
    let csf2 = csf2_subcategories();
    assert_eq!(csf2.len(), 106);
    assert!(csf2.iter().all(|id| oscal.contains(id)));

    // Our compact CSF table is exactly CSF 2.0's subcategories (plus functions and
    // categories), each in the official catalogue.
    let ours: BTreeSet<String> = bank
        .csf
        .keys()
        .filter(|id| bank.is_csf_subcategory(id))
        .cloned()
        .collect();
    assert_eq!(ours, csf2);
    for id in bank.csf.keys() {
        assert!(oscal.contains(id), "{id} is not in the OSCAL catalogue");
    }
    for (old, new) in &bank.csf11_to_20 {
        assert!(
            oscal.contains(old),
            "crosswalk: {old} is not in the catalogue"
        );
        for id in new {
            assert!(csf2.contains(id), "crosswalk: {old} -> {id} is not CSF 2.0");
        }
    }

    let standards = hipaa_standards();
    for h in bank.hipaa.values() {
        assert!(
            standards.contains(&h.cfr_standard),
            "{}: {} is not a standard of the Security Rule catalogue",
            h.citation,
            h.cfr_standard
        );
        assert!(matches!(
            h.kind.as_str(),
            "standard" | "required" | "addressable"
        ));
    }

    // … and every standard of the Security Rule has its row.
    for std in &standards {
        assert!(
            bank.hipaa
                .values()
                .any(|h| h.kind == "standard" && &h.cfr_standard == std),
            "{std} has no standard row"
        );
    }

    assert!(bank.questions.len() >= 40, "{}", bank.questions.len());
    let mut by_function: BTreeMap<&str, usize> = BTreeMap::new();
    for q in &bank.questions {
        assert!(!q.csf.is_empty() && !q.hipaa.is_empty(), "{}", q.id);
        for id in &q.csf {
            assert!(csf2.contains(id), "{}: {id}", q.id);
        }
        let functions: BTreeSet<&str> = q.csf.iter().filter_map(|id| id.get(..2)).collect();
        for f in functions {
            *by_function.entry(f).or_default() += 1;
        }
    }
    let six = ["DE", "GV", "ID", "PR", "RC", "RS"];
    for f in six {
        assert!(
            by_function.get(f).copied().unwrap_or(0) >= 2,
            "{f}: {by_function:?}"
        );
    }
    for t in &bank.threats {
        let n = bank
            .questions
            .iter()
            .filter(|q| q.mitigates.iter().any(|m| m.threat == t.id))
            .count();
        assert!(n >= 2, "{} is mitigated by {n} question(s)", t.id);
    }
    println!(
        "{} questions, {} threats; CSF 2.0 functions covered: {by_function:?}",
        bank.questions.len(),
        bank.threats.len()
    );
}

/// The builtin files with one replaced.
fn with(name: &str, text: &str) -> Result<Bank, pumpguard_risk::BankError> {
    let files: Vec<(&str, &str)> = pumpguard_risk::bank::BUILTIN
        .iter()
        .map(|&(n, t)| if n == name { (n, text) } else { (n, t) })
        .collect();
    Bank::load(&files)
}

#[test]
fn bad_banks_are_refused_naming_the_file_and_place() {
    let questions = pumpguard_risk::bank::BUILTIN
        .iter()
        .find(|(n, _)| *n == "questions.yaml")
        .map(|(_, t)| *t)
        .expect("questions");
    let first = Bank::builtin().expect("bank").questions[0].clone();

    // A citation of a subcategory CSF 2.0 withdrew.
    let bad = questions.replacen(&first.csf[0], "PR.AC-01", 1);
    let e = with("questions.yaml", &bad).expect_err("withdrawn CSF id");
    assert_eq!(
        (e.file.as_str(), e.place.as_str()),
        ("questions.yaml", first.id.as_str())
    );
    assert!(e.message.contains("PR.AC-01"), "{e}");

    // A threat that does not exist.
    let threat = &first.mitigates[0].threat;
    let bad = questions.replacen(&format!("threat: {threat}"), "threat: alien_invasion", 1);
    let e = with("questions.yaml", &bad).expect_err("unknown threat");
    assert!(e.message.contains("alien_invasion"), "{e}");

    // YAML that does not parse: placed by line.
    let e = with("questions.yaml", "- id: [unclosed\n").expect_err("syntax");
    assert!(e.place.starts_with("line "), "{e}");

    // A question listed twice.
    let twice = format!(
        "{questions}\n{}",
        &questions[questions.find("- id:").expect("- id")..]
    );
    let e = with("questions.yaml", &twice).expect_err("twice");
    assert!(e.message.contains("twice"), "{e}");

    // A CSV row with a missing column.
    let e = with("sp800-53.csv", "id,family,title\nAC-1,AC\n").expect_err("short row");
    assert_eq!(
        (e.file.as_str(), e.place.as_str()),
        ("sp800-53.csv", "line 2")
    );
}
