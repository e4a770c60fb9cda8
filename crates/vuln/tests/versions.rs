//! The version parser against every version text of the real CISA advisories in the
//! shared test data: the 18 infusion-pump advisories, checked one by one, and the whole
//! corpus of 2,037, which must parse without panicking and mostly be understood.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use pumpguard_model::Confidence;
use pumpguard_vuln::version::{Constraint, Verdict, VersionSet, parse};
use serde_json::Value;

/// One `product_version` / `product_version_range` branch.
#[derive(Debug, Clone)]
struct VersionBranch {
    file: String,
    /// The names of the branches above it (vendor, product name).
    path: Vec<String>,
    is_range: bool,
    text: String,
}

fn json_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            json_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "json") {
            out.push(p);
        }
    }
}

fn walk(branches: &Value, path: &mut Vec<String>, file: &str, out: &mut Vec<VersionBranch>) {
    let Some(branches) = branches.as_array() else {
        return;
    };
    for b in branches {
        let category = b["category"].as_str().unwrap_or_default();
        let name = b["name"].as_str().unwrap_or_default().to_owned();
        if matches!(category, "product_version" | "product_version_range") {
            out.push(VersionBranch {
                file: file.to_owned(),
                path: path.clone(),
                is_range: category == "product_version_range",
                text: name.clone(),
            });
        }
        path.push(name);
        walk(&b["branches"], path, file, out);
        path.pop();
    }
}

/// Every version branch of every advisory under `dir` (ROLIE feeds and other JSON
/// without a product tree are skipped), and how many advisories there were.
fn version_branches(dir: &Path) -> (usize, Vec<VersionBranch>) {
    let mut files = Vec::new();
    json_files(dir, &mut files);
    let mut out = Vec::new();
    let mut advisories = 0;
    for f in files {
        let bytes = std::fs::read(&f).unwrap();
        let doc: Value =
            serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        if doc.get("document").is_none() || doc.get("product_tree").is_none() {
            continue;
        }
        advisories += 1;
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        walk(
            &doc["product_tree"]["branches"],
            &mut Vec::new(),
            &name,
            &mut out,
        );
    }
    (advisories, out)
}

fn csaf_dir(name: &str) -> PathBuf {
    pumpguard_testkit::shared_data().join("csaf").join(name)
}

/// The constraint of the branch with this text under a product whose name contains
/// `product`, in `file`.
fn find(branches: &[VersionBranch], file: &str, product: &str, text: &str) -> Constraint {
    let b = branches
        .iter()
        .find(|b| b.file == file && b.text == text && b.path.iter().any(|p| p.contains(product)))
        .unwrap_or_else(|| panic!("no '{text}' under '{product}' in {file}"));
    parse(&b.text, b.is_range)
}

#[track_caller]
fn assert_affected(c: &Constraint, fw: &str, confidence: Confidence) {
    match c.check(Some(fw)) {
        Verdict::Affected {
            confidence: got, ..
        } if got == confidence => {}
        other => panic!(
            "{fw} against {}: expected affected ({confidence}), got {other:?}",
            c.summary()
        ),
    }
}

#[track_caller]
fn assert_not_affected(c: &Constraint, fw: &str) {
    let v = c.check(Some(fw));
    assert!(v.is_not_affected(), "{fw} against {}: {v:?}", c.summary());
}

#[track_caller]
fn assert_review(c: &Constraint, fw: &str) {
    let v = c.check(Some(fw));
    assert!(v.needs_review(), "{fw} against {}: {v:?}", c.summary());
}

#[test]
fn pump_advisories() {
    let (advisories, branches) = version_branches(&csaf_dir("cisa-icsma"));
    assert_eq!(advisories, 18);
    assert!(branches.len() >= 70, "{} version branches", branches.len());
    for b in &branches {
        let c = parse(&b.text, b.is_range);
        assert!(
            !c.is_unparsed(),
            "{} {:?} '{}': {c:?}",
            b.file,
            b.path,
            b.text
        );
    }
    use Confidence::{High, Medium};

    // BD Alaris PC Unit (ICSMA-20-170-06).
    let c = find(
        &branches,
        "icsma-20-170-06.json",
        "Alaris PC Unit",
        "9.13 | 9.19 | 9.33 | 12.1",
    );
    assert_affected(&c, "9.19", High);
    assert_affected(&c, "12.1", High);
    assert_not_affected(&c, "9.20");
    assert_not_affected(&c, "12.1.1");
    assert_eq!(
        c.check(Some("9.19")).reason(),
        "firmware 9.19 is in the list 9.13 | 9.19 | 9.33 | 12.1"
    );

    // BD Alaris 8015 (ICSMA-17-017-02).
    let c = find(&branches, "icsma-17-017-02.json", "Alaris 8015", "<= 9.33");
    assert_affected(&c, "9.33", High);
    assert_affected(&c, "9.7", High);
    assert_not_affected(&c, "9.34");
    assert_not_affected(&c, "9.33.1");
    assert_not_affected(&c, "12.1");
    let c = find(&branches, "icsma-17-017-02.json", "Alaris 8015", "9.7");
    assert_affected(&c, "9.7", High);
    assert_not_affected(&c, "9.33");
    let c = find(&branches, "icsma-20-317-01.json", "Model 8015", "<= 9.33.1");
    assert_affected(&c, "9.33.1", High);
    assert_not_affected(&c, "9.33.2");
    let c = find(&branches, "icsma-23-194-01.json", "8015", "<=12.1.3");
    assert_affected(&c, "12.1.3", High);
    assert_affected(&c, "9.33", High);
    assert_not_affected(&c, "12.2");
    // BD Alaris 8000 (ICSMA-17-017-01): all versions.
    let c = find(
        &branches,
        "icsma-17-017-01.json",
        "Alaris 8000",
        "vers:all/*",
    );
    assert_eq!(c, Constraint::All);
    assert_affected(&c, "9.5", High);
    assert!(matches!(
        c.check(None),
        Verdict::Affected {
            confidence: Medium,
            ..
        }
    ));

    // B. Braun SpaceStation (ICSMA-17-082-02).
    let c = find(
        &branches,
        "icsma-17-082-02.json",
        "SpaceStation",
        "< 012U000040",
    );
    assert_affected(&c, "012U000039", High);
    assert_affected(&c, "012U000001", High);
    assert_not_affected(&c, "012U000040");
    assert_not_affected(&c, "012U000061");
    // B. Braun SpaceCom / battery pack (ICSMA-20-296-02): two firmware lines.
    let c = find(
        &branches,
        "icsma-20-296-02.json",
        "SpaceCom",
        "<= U61 |<= L81",
    );
    assert_affected(&c, "L81", High);
    assert_affected(&c, "L80", High);
    assert_affected(&c, "U60", High);
    assert_affected(&c, "U61", High);
    assert_not_affected(&c, "L82");
    assert_not_affected(&c, "U62");
    assert_review(&c, "9.2");
    let c = find(
        &branches,
        "icsma-20-296-02.json",
        "compactplus",
        "A10 | A11",
    );
    assert_affected(&c, "A10", High);
    assert_not_affected(&c, "A12");
    // ICSMA-21-294-01 writes the same module as "A10 < A11".
    let c = find(
        &branches,
        "icsma-21-294-01.json",
        "compactPlus",
        "A10 < A11",
    );
    assert_affected(&c, "A10", Medium);
    assert_affected(&c, "A11", Medium);
    assert_not_affected(&c, "A12");
    let c = find(
        &branches,
        "icsma-21-294-01.json",
        "SpaceStation",
        "<= 012U000061",
    );
    assert_affected(&c, "012U000061", High);
    assert_not_affected(&c, "012U000062");
    assert_review(&c, "L81");
    // B. Braun battery pack (ICSMA-23-103-01): exact versions with region notes.
    let c = find(
        &branches,
        "icsma-23-103-01.json",
        "Battery pack",
        "053L000091 (global) / 054U000091 (U.S.) and 053L000092 (global) / 054U000092 (U.S.)",
    );
    assert_affected(&c, "053L000091", High);
    assert_affected(&c, "054U000092", High);
    assert_not_affected(&c, "053L000093");
    assert_not_affected(&c, "054U000090");

    // BD Alaris Infusion Central (ICSMA-23-047-01): CISA's interval.
    let c = find(
        &branches,
        "icsma-23-047-01.json",
        "Infusion Central",
        ">= 1.1 | <= 1.3.2",
    );
    assert_not_affected(&c, "1.0.9");
    assert_affected(&c, "1.1", High);
    assert_affected(&c, "1.2", High);
    assert_affected(&c, "1.3.2", High);
    assert_not_affected(&c, "1.3.3");

    // BD Alaris Gateway Workstation (ICSMA-19-164-01).
    let c = find(
        &branches,
        "icsma-19-164-01.json",
        "Alaris GS",
        "2.3.6 and  below",
    );
    assert_affected(&c, "2.3.6", Medium);
    assert_affected(&c, "2.1", Medium);
    assert_not_affected(&c, "2.3.7");
    let c = find(
        &branches,
        "icsma-19-164-01.json",
        "Workstation",
        "1.3.1 Build 13",
    );
    assert_affected(&c, "1.3.1 Build 13", High);
    assert_not_affected(&c, "1.3.1 Build 12");
    assert_not_affected(&c, "1.3.0 Build 14");
    assert_review(&c, "1.3.1");
    let c = find(
        &branches,
        "icsma-19-164-01.json",
        "Workstation",
        "1.1.3 MR Build 11",
    );
    assert_affected(&c, "1.1.3 MR Build 11", High);
    assert_review(&c, "1.1.3 Build 11");

    // Medtronic MiniMed (ICSMA-19-178-01).
    let c = find(&branches, "icsma-19-178-01.json", "Veo 554/754", "<= 2.6A");
    assert_affected(&c, "2.6A", High);
    assert_affected(&c, "2.4A", High);
    assert_not_affected(&c, "2.7A");
    assert_review(&c, "2.6");
    let c = find(
        &branches,
        "icsma-19-178-01.json",
        "MiniMed 508",
        "vers:all/*",
    );
    assert_affected(&c, "1.0", High);

    // Fresenius Kabi Agilia (ICSMA-21-355-01).
    let c = find(
        &branches,
        "icsma-21-355-01.json",
        "Agilia Link+",
        "<= 3.0 D15",
    );
    assert_affected(&c, "3.0 D15", High);
    assert_affected(&c, "3.0 D9", High);
    assert_affected(&c, "2.9 D20", High);
    assert_not_affected(&c, "3.0 D16");
    assert_not_affected(&c, "3.1 D01");
    let c = find(&branches, "icsma-21-355-01.json", "WiFi module", "<= D25");
    assert_affected(&c, "D24", High);
    assert_not_affected(&c, "D26");

    // Baxter Spectrum (ICSMA-20-170-04, ICSMA-22-251-01).
    let c = find(
        &branches,
        "icsma-20-170-04.json",
        "Baxter Spectrum",
        "v8.x model 35700BAX2",
    );
    match &c {
        Constraint::AnyOf { alts } => {
            assert_eq!(alts.len(), 1);
            assert_eq!(
                alts[0].versions,
                VersionSet::Prefix {
                    pattern: "v8.x".into()
                }
            );
            assert_eq!(alts[0].notes, vec!["model 35700BAX2".to_owned()]);
        }
        other => panic!("{other:?}"),
    }
    assert_affected(&c, "8.00.01", Medium);
    assert_not_affected(&c, "9.1");
    let c = find(
        &branches,
        "icsma-22-251-01.json",
        "Spectrum IQ",
        "9.x model 35700BAX3",
    );
    assert_affected(&c, "9.02", Medium);
    assert_not_affected(&c, "8.1");
    let c = find(
        &branches,
        "icsma-20-170-04.json",
        "Sigma Spectrum LVP",
        "v6.x (with Wireless Battery Modules v9 | v11 | v13 | v14 | v15 | v16 | v16D38 | v17 | v17D19 | >= v20D29 | <= v20D32 | >= v22D24 | <= v22D28)",
    );
    let v = c.check(Some("6.02"));
    assert!(v.needs_review(), "{v:?}");
    assert!(v.reason().contains("Wireless Battery Modules"), "{v:?}");
    assert_not_affected(&c, "8.01");
    for text in [
        "9.x (with Wireless Battery Modules >= 22D19 | <= v22D28)",
        "8.x (Wireless Battery Modules v17 | v17D19 >= 20D29 | <= 20D32 | >= 22D24 | <= 22D28)",
        "6.x (Wireless Battery Modules (16 | 16D38 | 17 | 17D19 | >= 20D29 | <= v20D32 | >= 22D24 | <= v22D28)",
    ] {
        let c = find(&branches, "icsma-22-251-01.json", "Spectrum", text);
        let line = &text[..1];
        assert_review(&c, &format!("{line}.1"));
        assert_not_affected(&c, "7.1");
    }

    // BD BodyGuard (ICSMA-22-335-01): editions.
    let c = find(
        &branches,
        "icsma-22-335-01.json",
        "BodyGuard 323",
        "2nd Edition",
    );
    assert_affected(&c, "2nd Edition", High);
    assert_not_affected(&c, "3rd Edition");

    // Smiths Medfusion 4000 (ICSMA-17-250-02A): exact versions.
    let c = find(&branches, "icsma-17-250-02a.json", "Medfusion 4000", "1.5");
    assert_affected(&c, "1.5", High);
    assert_affected(&c, "1.5.0", High);
    assert_not_affected(&c, "1.5.1");
    assert_not_affected(&c, "1.7");
}

#[test]
fn whole_cisa_corpus() {
    let (advisories, branches) = version_branches(&csaf_dir("cisa-corpus"));
    assert!(advisories >= 2000, "{advisories} advisories");
    let mut unparsed: BTreeMap<String, usize> = BTreeMap::new();
    let mut kinds: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut unparsed_count = 0;
    for b in &branches {
        let c = parse(&b.text, b.is_range);
        // Checking never panics either, whatever the firmware.
        for fw in [None, Some("1.0"), Some("L81"), Some(b.text.as_str())] {
            let _ = c.check(fw);
        }
        let _ = c.summary();
        let kind = match &c {
            Constraint::All => "all",
            Constraint::AnyOf { .. } => "alternatives",
            Constraint::Unparsed { .. } => "unparsed",
        };
        *kinds.entry(kind).or_default() += 1;
        if c.is_unparsed() {
            unparsed_count += 1;
            *unparsed.entry(b.text.clone()).or_default() += 1;
        }
        // A text that reads as a version is affected by itself.
        if let Constraint::AnyOf { alts } = &c
            && let [alt] = alts.as_slice()
            && let VersionSet::Exact { version } = &alt.versions
            && alt.conditions.is_empty()
        {
            let v = c.check(Some(version));
            assert!(v.is_affected(), "'{}': {v:?}", b.text);
        }
        // A single range holds at an inclusive bound and not at an exclusive one.
        if let Constraint::AnyOf { alts } = &c
            && let [alt] = alts.as_slice()
            && let VersionSet::Range { lower, upper } = &alt.versions
            && alt.conditions.is_empty()
        {
            for bound in lower.iter().chain(upper.iter()) {
                let v = c.check(Some(&bound.version));
                if bound.inclusive {
                    assert!(v.is_affected(), "'{}' at {}: {v:?}", b.text, bound.version);
                } else {
                    assert!(
                        v.is_not_affected(),
                        "'{}' at {}: {v:?}",
                        b.text,
                        bound.version
                    );
                }
            }
        }
    }
    // PUMPGUARD_DUMP_VERSIONS=FILE writes each distinct text and how it was read, to
    // review the parser against the corpus by eye.
    if let Some(path) = std::env::var_os("PUMPGUARD_DUMP_VERSIONS") {
        let mut seen = std::collections::BTreeSet::new();
        let mut out = String::new();
        for b in &branches {
            if seen.insert(b.text.clone()) {
                let c = parse(&b.text, b.is_range);
                out.push_str(&format!("{:?}\t{}\n", b.text, c.summary()));
            }
        }
        std::fs::write(path, out).unwrap();
    }
    let share = unparsed_count as f64 / branches.len() as f64;
    eprintln!(
        "{} version texts in {advisories} advisories: {kinds:?}; {} distinct unparsed ({:.2}%)",
        branches.len(),
        unparsed.len(),
        share * 100.0
    );
    let mut worst: Vec<_> = unparsed.iter().collect();
    worst.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    for (text, n) in worst.iter().take(40) {
        eprintln!("  unparsed {n:>3}  {text:?}");
    }
    assert!(branches.len() > 13_000, "{} version texts", branches.len());
    assert!(share < 0.05, "{:.2}% unparsed", share * 100.0);
}
