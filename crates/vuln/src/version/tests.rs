use std::cmp::Ordering::{Equal, Greater, Less};

use proptest::prelude::*;

use super::*;

fn affected(c: &Constraint, fw: &str) -> bool {
    c.check(Some(fw)).is_affected()
}

fn not_affected(c: &Constraint, fw: &str) -> bool {
    c.check(Some(fw)).is_not_affected()
}

fn review(c: &Constraint, fw: &str) -> bool {
    c.check(Some(fw)).needs_review()
}

fn exact(v: &str) -> Alt {
    Alt::new(VersionSet::Exact { version: v.into() })
}

fn range(lower: Option<(&str, bool)>, upper: Option<(&str, bool)>) -> VersionSet {
    let b = |(v, inclusive): (&str, bool)| Bound {
        version: v.into(),
        inclusive,
    };
    VersionSet::Range {
        lower: lower.map(b),
        upper: upper.map(b),
    }
}

fn alts(c: &Constraint) -> &[Alt] {
    match c {
        Constraint::AnyOf { alts } => alts,
        other => panic!("expected alternatives, got {other:?}"),
    }
}

#[test]
fn numeric_dotted_versions_compare_per_component() {
    assert_eq!(compare("9.33", "9.33.1"), Some(Less));
    assert_eq!(compare("9.33.1", "12.1"), Some(Less));
    assert_eq!(compare("9.5", "9.33"), Some(Less));
    assert_eq!(compare("9.33", "9.33.0"), Some(Equal));
    assert_eq!(compare("9.33.0.0", "9.33"), Some(Equal));
    assert_eq!(compare("12.1", "9.33"), Some(Greater));
    assert_eq!(compare("1.0.9", "1.1"), Some(Less));
    assert_eq!(compare("012U000040", "12U40"), Some(Equal));
}

#[test]
fn leading_v_is_ignored() {
    assert_eq!(compare("v22D28", "22D28"), Some(Equal));
    assert_eq!(compare("V4.1.3", "4.1.4"), Some(Less));
    assert_eq!(compare("V 4.83", "4.83"), Some(Equal));
}

#[test]
fn alphanumeric_firmware_lines() {
    assert_eq!(compare("L80", "L81"), Some(Less));
    assert_eq!(compare("L82", "L81"), Some(Greater));
    assert_eq!(compare("U61", "L81"), None);
    assert_eq!(compare("U61", "9.2"), None);
    assert_eq!(compare("22D19", "22D28"), Some(Less));
    assert_eq!(compare("22D28", "23D01"), Some(Less));
    assert_eq!(compare("012U000040", "012U000061"), Some(Less));
    assert_eq!(compare("012U000061", "028U000061"), Some(Less));
    assert_eq!(compare("3.0 D15", "3.0 D16"), Some(Less));
    assert_eq!(compare("3.0 D15", "2.9 D20"), Some(Greater));
    assert_eq!(compare("2.6A", "2.7A"), Some(Less));
    assert_eq!(compare("2.6A", "2.6B"), Some(Less));
    assert_eq!(compare("1.3.1 Build 13", "1.3.1 Build 14"), Some(Less));
    assert_eq!(compare("1.3.0 Build 14", "1.3.1 Build 13"), Some(Less));
    assert_eq!(compare("1.1.3 MR Build 11", "1.1.3 Build 10"), None);
    assert_eq!(compare("A10", "A11"), Some(Less));
}

#[test]
fn a_trailing_word_orders_only_when_its_meaning_is_known() {
    assert_eq!(compare("1.3.1", "1.3.1 Build 13"), None);
    assert_eq!(compare("2.6", "2.6A"), None);
    assert_eq!(compare("V2.0", "V2.0 SP1"), Some(Less));
    assert_eq!(compare("V14 SP1 Update 14", "V14 SP1"), Some(Greater));
    assert_eq!(compare("7.2.1-Beta", "7.2.1"), Some(Less));
    assert_eq!(compare("1.0", "1.0.0-rc1"), Some(Greater));
    assert_eq!(compare("", "1.0"), None);
    assert_eq!(compare("--", "--"), None);
}

#[test]
fn bd_alaris_pc_unit_list() {
    let c = parse("9.13 | 9.19 | 9.33 | 12.1", false);
    assert_eq!(
        alts(&c),
        &[exact("9.13"), exact("9.19"), exact("9.33"), exact("12.1")]
    );
    assert_eq!(
        c.check(Some("9.19")),
        Verdict::Affected {
            reason: "firmware 9.19 is in the list 9.13 | 9.19 | 9.33 | 12.1".into(),
            confidence: Confidence::High
        }
    );
    assert_eq!(
        c.check(Some("9.20")),
        Verdict::NotAffected {
            reason: "firmware 9.20 is not in the list 9.13 | 9.19 | 9.33 | 12.1".into()
        }
    );
    assert!(affected(&c, "9.33.0"));
    assert!(not_affected(&c, "9.33.1"));
    assert_eq!(c.summary(), "9.13 | 9.19 | 9.33 | 12.1");
    let ab = parse("A10 | A11", false);
    assert!(affected(&ab, "A11"));
    assert!(not_affected(&ab, "A12"));
    assert!(review(&ab, "9.2"));
}

#[test]
fn upper_bounds() {
    let c = parse("<= 9.33", true);
    assert_eq!(alts(&c)[0].versions, range(None, Some(("9.33", true))));
    assert!(affected(&c, "9.33"));
    assert!(affected(&c, "9.33.0"));
    assert!(affected(&c, "9.5"));
    assert_eq!(
        c.check(Some("9.34")),
        Verdict::NotAffected {
            reason: "firmware 9.34 is above <= 9.33".into()
        }
    );
    assert!(not_affected(&c, "9.33.1"));
    assert!(not_affected(&c, "12.1"));

    let c = parse("<=12.1.3", true);
    assert_eq!(alts(&c)[0].versions, range(None, Some(("12.1.3", true))));
    assert!(affected(&c, "12.1.3"));
    assert!(not_affected(&c, "12.1.4"));

    let c = parse("< 012U000040", true);
    assert_eq!(
        alts(&c)[0].versions,
        range(None, Some(("012U000040", false)))
    );
    assert!(affected(&c, "012U000039"));
    assert_eq!(
        c.check(Some("012U000040")),
        Verdict::NotAffected {
            reason: "firmware 012U000040 is not < 012U000040".into()
        }
    );
}

#[test]
fn two_firmware_lines() {
    let c = parse("<= U61 |<= L81", true);
    assert_eq!(alts(&c).len(), 2);
    assert_eq!(
        c.check(Some("L80")),
        Verdict::Affected {
            reason: "firmware L80 is <= L81".into(),
            confidence: Confidence::High
        }
    );
    assert!(affected(&c, "L81"));
    assert!(affected(&c, "U60"));
    assert!(affected(&c, "U61"));
    assert_eq!(
        c.check(Some("L82")),
        Verdict::NotAffected {
            reason: "firmware L82 is above <= L81 (<= U61 is another version line)".into()
        }
    );
    assert!(not_affected(&c, "U62"));
    assert_eq!(
        c.check(Some("9.2")),
        Verdict::NeedsReview {
            reason: "firmware 9.2 and <= U61 | <= L81 cannot be compared".into()
        }
    );
}

#[test]
fn cisa_interval() {
    let c = parse(">= 1.1 | <= 1.3.2", true);
    assert_eq!(
        alts(&c),
        &[Alt::new(range(Some(("1.1", true)), Some(("1.3.2", true))))]
    );
    assert!(not_affected(&c, "1.0.9"));
    assert!(affected(&c, "1.1"));
    assert!(affected(&c, "1.2"));
    assert!(affected(&c, "1.3.2"));
    assert!(not_affected(&c, "1.3.3"));
    assert_eq!(
        c.check(Some("1.2")).reason(),
        "firmware 1.2 is within >= 1.1, <= 1.3.2"
    );
    assert_eq!(
        c.check(Some("1.0.9")).reason(),
        "firmware 1.0.9 is below >= 1.1"
    );
    // The same with chained operators, `and`, or without spaces.
    for text in [">= 1.1 <= 1.3.2", ">= 1.1 and <= 1.3.2", ">=1.1|<=1.3.2"] {
        assert_eq!(parse(text, true), c, "{text}");
    }
    // Two upper bounds stay apart.
    assert_eq!(alts(&parse("<= 1.3.2 | >= 1.1", true)).len(), 2);
    // Inverted bounds are not silently accepted.
    assert!(parse(">= 2.0 | <= 1.0", true).is_unparsed());
}

#[test]
fn several_upper_bounds_on_one_line() {
    let c = parse("< 19.0.1 | < 18.0.1", true);
    assert!(not_affected(&c, "19.0.1"));
    let v = c.check(Some("18.0.5"));
    assert!(
        matches!(
            v,
            Verdict::Affected {
                confidence: Confidence::Medium,
                ..
            }
        ),
        "{v:?}"
    );
    assert!(matches!(
        c.check(Some("17.2")),
        Verdict::Affected {
            confidence: Confidence::High,
            ..
        }
    ));
}

#[test]
fn prose() {
    let c = parse("2.3.6 and  below", false);
    assert_eq!(alts(&c)[0].versions, range(None, Some(("2.3.6", true))));
    assert!(alts(&c)[0].inferred);
    assert_eq!(
        c.check(Some("2.3.6")),
        Verdict::Affected {
            reason: "firmware 2.3.6 is <= 2.3.6".into(),
            confidence: Confidence::Medium
        }
    );
    assert!(not_affected(&c, "2.3.7"));
    for (text, lower, upper) in [
        ("3.0 and prior", None, Some(("3.0", true))),
        ("3.0 and earlier", None, Some(("3.0", true))),
        ("3.0 or earlier", None, Some(("3.0", true))),
        ("3.0 and all prior versions", None, Some(("3.0", true))),
        ("prior to 3.0", None, Some(("3.0", false))),
        ("before 3.0", None, Some(("3.0", false))),
        ("through 3.0", None, Some(("3.0", true))),
        ("up to and including 3.0", None, Some(("3.0", true))),
        ("3.0 and later", Some(("3.0", true)), None),
        ("3.0 and above", Some(("3.0", true)), None),
        ("3.0 or later", Some(("3.0", true)), None),
        ("3.0 onwards", Some(("3.0", true)), None),
        ("from 3.0 to 4.1", Some(("3.0", true)), Some(("4.1", true))),
        (
            "Versions 2.00 to 6.11",
            Some(("2.00", true)),
            Some(("6.11", true)),
        ),
        (
            "All versions between V2.5 (including) and V2.7 (excluding)",
            Some(("V2.5", true)),
            Some(("V2.7", false)),
        ),
    ] {
        let c = parse(text, false);
        assert_eq!(alts(&c).len(), 1, "{text}: {c:?}");
        assert_eq!(alts(&c)[0].versions, range(lower, upper), "{text}");
        assert!(alts(&c)[0].inferred, "{text}");
    }
    assert!(affected(&parse("prior to 3.0", false), "2.9"));
    assert!(not_affected(&parse("prior to 3.0", false), "3.0"));
}

#[test]
fn all_versions() {
    for text in [
        "vers:all/*",
        "All versions",
        "All Versions",
        "*",
        "all",
        "vers:generic/*",
    ] {
        assert_eq!(parse(text, false), Constraint::All, "{text}");
    }
    let c = parse("vers:all/*", false);
    assert_eq!(
        c.check(None),
        Verdict::Affected {
            reason: "firmware unknown: all versions are affected".into(),
            confidence: Confidence::Medium
        }
    );
    assert!(matches!(
        c.check(Some("anything 1")),
        Verdict::Affected {
            confidence: Confidence::High,
            ..
        }
    ));
    assert_eq!(c.summary(), "all versions");
}

#[test]
fn unknown_firmware_needs_review_unless_all() {
    let c = parse("<= 9.33", true);
    let v = c.check(None);
    assert!(v.needs_review());
    assert!(v.reason().starts_with("firmware unknown"), "{v:?}");
    assert!(parse("9.13 | 9.19", false).check(Some("  ")).needs_review());
}

#[test]
fn vers_uris() {
    let c = parse("vers:generic/>=1.0|<2.0", true);
    assert_eq!(
        alts(&c),
        &[Alt::new(range(Some(("1.0", true)), Some(("2.0", false))))]
    );
    assert!(affected(&c, "1.5"));
    assert!(not_affected(&c, "2.0"));
    let c = parse("vers:semver/1.2.3|>=2.0.0|<2.5.0|>=3.0.0", true);
    assert_eq!(
        alts(&c),
        &[
            exact("1.2.3"),
            Alt::new(range(Some(("2.0.0", true)), Some(("2.5.0", false)))),
            Alt::new(range(Some(("3.0.0", true)), None)),
        ]
    );
    assert!(affected(&c, "1.2.3"));
    assert!(not_affected(&c, "1.2.4"));
    assert!(affected(&c, "2.4.9"));
    assert!(not_affected(&c, "2.5.0"));
    assert!(affected(&c, "3.1.0"));
    // CISA's forms.
    let c = parse("vers:all/<V4.3.8", true);
    assert_eq!(alts(&c)[0].versions, range(None, Some(("V4.3.8", false))));
    let c = parse("vers:all/>=V7.80<V9.40", true);
    assert_eq!(
        alts(&c)[0].versions,
        range(Some(("V7.80", true)), Some(("V9.40", false)))
    );
    let c = parse("vers:all/<V20.2 HotfixRev14", true);
    assert_eq!(
        alts(&c)[0].versions,
        range(None, Some(("V20.2 HotfixRev14", false)))
    );
    assert_eq!(
        alts(&parse("vers:npm/%3E%3D1.0", true))[0].versions,
        VersionSet::Exact {
            version: ">=1.0".into()
        }
    );
    for bad in [
        "vers:",
        "vers:generic",
        "vers:generic/",
        "vers:/1.0",
        "vers:x/*|1.0",
        "vers:x/!=1.0",
    ] {
        assert!(parse(bad, true).is_unparsed(), "{bad}");
    }
}

#[test]
fn wildcards() {
    for (text, pattern) in [
        ("8.x", "8.x"),
        ("v8.x", "v8.x"),
        ("9.x", "9.x"),
        ("12.2.*", "12.2.*"),
    ] {
        let c = parse(text, false);
        assert_eq!(
            alts(&c),
            &[Alt::new(VersionSet::Prefix {
                pattern: pattern.into()
            })],
            "{text}"
        );
    }
    let c = parse("v8.x", false);
    assert_eq!(
        c.check(Some("8.2")),
        Verdict::Affected {
            reason: "firmware 8.2 is in v8.x".into(),
            confidence: Confidence::Medium
        }
    );
    assert!(affected(&c, "8"));
    assert!(affected(&c, "v8.21.3"));
    assert!(not_affected(&c, "9.1"));
    assert!(not_affected(&c, "80.1"));
    assert!(review(&c, "U61"));
    let c = parse("All versions <= V5.x", true);
    assert!(affected(&c, "5.9.9"));
    assert!(affected(&c, "4.0"));
    assert!(not_affected(&c, "6.0"));
    assert!(matches!(
        c.check(Some("5.1")),
        Verdict::Affected {
            confidence: Confidence::Medium,
            ..
        }
    ));
}

#[test]
fn model_numbers_are_notes() {
    let c = parse("v8.x model 35700BAX2", false);
    let a = &alts(&c)[0];
    assert_eq!(
        a.versions,
        VersionSet::Prefix {
            pattern: "v8.x".into()
        }
    );
    assert_eq!(a.notes, vec!["model 35700BAX2".to_owned()]);
    assert!(a.conditions.is_empty());
    assert_eq!(c.summary(), "v8.x (model 35700BAX2)");
    assert_eq!(
        c.check(Some("8.1")).reason(),
        "firmware 8.1 is in v8.x (model 35700BAX2)"
    );
}

#[test]
fn baxter_module_condition_needs_review() {
    let text = "v6.x (with Wireless Battery Modules v9 | v11 | v13 | v14 | v15 | v16 | v16D38 | v17 | v17D19 | >= v20D29 | <= v20D32 | >= v22D24 | <= v22D28)";
    let c = parse(text, true);
    let a = &alts(&c)[0];
    assert_eq!(alts(&c).len(), 1);
    assert_eq!(
        a.versions,
        VersionSet::Prefix {
            pattern: "v6.x".into()
        }
    );
    assert_eq!(a.conditions.len(), 1);
    assert!(a.conditions[0].starts_with("with Wireless Battery Modules v9 | v11"));
    let v = c.check(Some("6.3"));
    assert!(v.needs_review(), "{v:?}");
    assert!(v.reason().contains("Wireless Battery Modules"), "{v:?}");
    assert!(not_affected(&c, "8.1"));
    // The unbalanced one of 2022.
    let c = parse(
        "6.x (Wireless Battery Modules (16 | 16D38 | 17 | 17D19 | >= 20D29 | <= v20D32 | >= 22D24 | <= v22D28)",
        true,
    );
    assert_eq!(alts(&c).len(), 1);
    assert!(review(&c, "6.1"));
    assert!(not_affected(&c, "9.1"));
    assert_eq!(
        alts(&c)[0].conditions,
        vec![
            "Wireless Battery Modules (16 | 16D38 | 17 | 17D19 | >= 20D29 | <= v20D32 | >= 22D24 | <= v22D28)"
                .to_owned()
        ]
    );
}

#[test]
fn odd_cisa_forms() {
    // B. Braun's compactPlus data module: "All software Versions A10 and A11".
    let c = parse("A10 < A11", true);
    let a = &alts(&c)[0];
    assert_eq!(a.versions, range(Some(("A10", true)), Some(("A11", true))));
    assert!(a.inferred);
    assert!(affected(&c, "A10"));
    assert!(affected(&c, "A11"));
    assert!(not_affected(&c, "A12"));
    assert!(not_affected(&c, "A9"));

    let c = parse("2nd Edition", false);
    assert_eq!(alts(&c), &[exact("2nd Edition")]);
    assert!(affected(&c, "2nd edition"));
    assert!(not_affected(&c, "3rd Edition"));

    let c = parse(
        "053L000091 (global) / 054U000091 (U.S.) and 053L000092 (global) / 054U000092 (U.S.)",
        true,
    );
    let a = alts(&c);
    assert_eq!(a.len(), 4);
    assert_eq!(
        a[1].versions,
        VersionSet::Exact {
            version: "054U000091".into()
        }
    );
    assert_eq!(a[1].notes, vec!["U.S.".to_owned()]);
    assert_eq!(a[2].notes, vec!["global".to_owned()]);
    assert!(affected(&c, "054U000092"));
    assert!(not_affected(&c, "054U000093"));

    let c = parse("<= 3.0 D15", true);
    assert_eq!(alts(&c)[0].versions, range(None, Some(("3.0 D15", true))));
    assert!(affected(&c, "3.0 D14"));
    assert!(not_affected(&c, "3.0 D16"));

    let c = parse("<= 2.6A", true);
    assert!(affected(&c, "2.6A"));
    assert!(affected(&c, "2.5A"));
    assert!(not_affected(&c, "2.7A"));

    let c = parse("1.3.1 Build 13", false);
    assert_eq!(alts(&c), &[exact("1.3.1 Build 13")]);
    assert!(affected(&c, "1.3.1 build 13"));
    assert!(not_affected(&c, "1.3.1 Build 14"));
    // The same release written without its build may be it.
    assert!(review(&c, "1.3.1"));

    let c = parse("NMC2 <= 6.9.6", true);
    assert_eq!(alts(&c)[0].versions, range(None, Some(("6.9.6", true))));
    assert_eq!(alts(&c)[0].notes, vec!["NMC2".to_owned()]);
}

#[test]
fn conditions_and_notes() {
    let c = parse("All versions with Ethernet interface", false);
    assert_eq!(alts(&c)[0].versions, VersionSet::Any);
    assert_eq!(
        alts(&c)[0].conditions,
        vec!["with Ethernet interface".to_owned()]
    );
    assert!(review(&c, "1.0"));
    assert!(c.check(None).needs_review());

    let c = parse("All versions < V8.1 with WinCC V7.3 Upd 19", true);
    assert_eq!(alts(&c)[0].versions, range(None, Some(("V8.1", false))));
    assert!(review(&c, "8.0"));
    assert!(not_affected(&c, "8.1"));

    let c = parse("* (only affected by CVE-2019-10943)", false);
    assert_eq!(alts(&c)[0].versions, VersionSet::Any);
    assert_eq!(
        alts(&c)[0].notes,
        vec!["only affected by CVE-2019-10943".to_owned()]
    );
    assert!(c.check(None).is_affected());

    let c = parse(
        "1SAP551100R0001 (revision index B1 with BSP <= UN30 1.76)",
        false,
    );
    assert_eq!(alts(&c)[0].conditions.len(), 1);
}

#[test]
fn more_real_shapes() {
    let c = parse("2.0.3.00.016 (including) and 2.0.6 (excluding)", true);
    assert_eq!(
        alts(&c)[0].versions,
        range(Some(("2.0.3.00.016", true)), Some(("2.0.6", false)))
    );
    // The ends of a worded range must be of one line.
    assert!(
        parse(
            "4.7 | SP2  Hotfix 1 (including) and V4.7 SP4 (excluding)",
            true
        )
        .is_unparsed()
    );
    assert!(parse("6ED1052-xyyxx-0BA8 FS:01 to FS:06", true).is_unparsed());
    assert!(parse("3.0 (including)", true).is_unparsed());

    let c = parse("2.1 | 2.2 2.2.0.1 | 2.2.0.2", false);
    assert_eq!(
        alts(&c),
        &[
            exact("2.1"),
            exact("2.2"),
            exact("2.2.0.1"),
            exact("2.2.0.2")
        ]
    );
    let c = parse("1.60 | 7.x 8.x", false);
    assert_eq!(alts(&c).len(), 3);
    assert!(affected(&c, "8.4"));

    let c = parse("V04.00.02 and all versions >= V04.00.15 < 04.00.18", true);
    assert_eq!(
        alts(&c),
        &[
            exact("V04.00.02"),
            Alt::new(range(Some(("V04.00.15", true)), Some(("04.00.18", false))))
        ]
    );

    let c = parse("<= 9.6 (excluding 9.4.2.6 and 9.5.3.2)", true);
    assert_eq!(
        alts(&c)[0].conditions,
        vec!["excluding 9.4.2.6 and 9.5.3.2".to_owned()]
    );
    assert!(review(&c, "9.4.2.6"));
    assert!(not_affected(&c, "9.7"));

    let c = parse("V4.7: < V4.7 HF27", true);
    assert_eq!(
        alts(&c)[0].versions,
        range(None, Some(("V4.7 HF27", false)))
    );
    assert_eq!(alts(&c)[0].notes, vec!["V4.7".to_owned()]);

    assert!(parse("< 4.8 | SP5", true).is_unparsed());
    assert_eq!(alts(&parse("1.2 *", false))[0].notes, vec!["*".to_owned()]);

    let c = parse("* running on old, unsupported operating systems", false);
    assert_eq!(
        alts(&c)[0].conditions,
        vec!["running on old, unsupported operating systems".to_owned()]
    );
    let c = parse("All versions only if web components are used", false);
    assert_eq!(
        alts(&c)[0].conditions,
        vec!["only if web components are used".to_owned()]
    );
    let c = parse("< V10.4.1 only if web components are used", false);
    assert!(review(&c, "10.4"));
    assert!(not_affected(&c, "10.4.1"));
    let c = parse("<  rev. 8.3.0", true);
    assert_eq!(alts(&c)[0].versions, range(None, Some(("8.3.0", false))));
    let c = parse("V1.1, V1.2, and V1.3", false);
    assert_eq!(alts(&c), &[exact("V1.1"), exact("V1.2"), exact("V1.3")]);
}

#[test]
fn unreadable_text_is_unparsed_not_guessed() {
    for text in [
        "",
        "   ",
        "No version",
        "Intel Core i5 Intel Core i7 | Intel XEON",
        "<=the_first_5_digits_of_serial_number_22081",
        "< January 31 2014",
        "<April/20/2023",
        "< 9  Linux Image 2019-12-13",
        "<",
        ">=",
        "| |",
        "((((",
        "and below",
    ] {
        let c = parse(text, true);
        assert!(c.is_unparsed(), "{text:?} gave {c:?}");
        assert!(review(&c, "1.0"));
        assert!(c.check(None).needs_review());
    }
}

#[test]
fn constraints_round_trip_through_json() {
    for text in [
        "9.13 | 9.19",
        "<= U61 |<= L81",
        ">= 1.1 | <= 1.3.2",
        "vers:all/*",
        "v6.x (with Wireless Battery Modules v9)",
        "No version",
    ] {
        let c = parse(text, true);
        let json = serde_json::to_string(&c).unwrap();
        let back: Constraint = serde_json::from_str(&json).unwrap();
        assert_eq!(back, c, "{json}");
    }
    let v = parse("<= 9.33", true).check(Some("9.1"));
    let json = serde_json::to_value(&v).unwrap();
    assert_eq!(json["verdict"], "affected");
    assert_eq!(json["confidence"], "high");
}

fn version_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[vV]?[0-9]{1,3}(\\.[0-9]{1,3}){0,3}",
        "[A-Z][0-9]{1,3}",
        "[0-9]{2}[A-Z][0-9]{2}",
        "[0-9]{3}[LU][0-9]{6}",
        "[0-9]\\.[0-9][A-C]?",
        "[0-9]\\.[0-9]( (SP|Build|Update|beta) [0-9])?",
        ".{0,12}",
    ]
}

proptest! {
    #[test]
    fn compare_is_antisymmetric(a in version_text(), b in version_text()) {
        prop_assert_eq!(compare(&a, &b), compare(&b, &a).map(Ordering::reverse));
    }

    #[test]
    fn a_version_equals_itself(a in version_text()) {
        // Version characters are ASCII digits and letters (`²` is numeric, not a digit).
        if a.chars().any(|c| c.is_ascii_digit() || c.is_alphabetic()) {
            prop_assert_eq!(compare(&a, &a), Some(Equal));
        } else {
            // Nothing to compare (None), or a wildcard such as `*` (equal to itself).
            let c = compare(&a, &a);
            prop_assert!(c.is_none() || c == Some(Equal), "{a:?}: {c:?}");
        }
    }

    #[test]
    fn numeric_versions_order_like_tuples(a in proptest::collection::vec(0u32..1000, 1..5),
                                          b in proptest::collection::vec(0u32..1000, 1..5)) {
        let text = |v: &[u32]| v.iter().map(u32::to_string).collect::<Vec<_>>().join(".");
        let trim = |v: &[u32]| {
            let mut v = v.to_vec();
            while v.len() > 1 && v.last() == Some(&0) { v.pop(); }
            v
        };
        prop_assert_eq!(compare(&text(&a), &text(&b)), Some(trim(&a).cmp(&trim(&b))));
    }

    #[test]
    fn parse_and_check_never_panic(text in ".{0,80}", fw in proptest::option::of(".{0,20}")) {
        let c = parse(&text, true);
        let _ = c.summary();
        let _ = c.check(fw.as_deref());
    }

    #[test]
    fn parse_never_panics_on_version_like_text(
        text in "[ <>=|()vVxX*.,/0-9A-Za-z-]{0,40}",
        fw in version_text(),
    ) {
        let c = parse(&text, false);
        let v = c.check(Some(&fw));
        if c.is_unparsed() {
            prop_assert!(v.needs_review());
        }
    }
}

#[test]
fn long_input_is_cheap() {
    assert!(parse(&"(".repeat(100_000), true).is_unparsed());
    assert!(not_affected(&parse(&"1.".repeat(1_000), true), "1.1"));
    let many = vec!["1.0"; 600].join(" | ");
    assert!(affected(&parse(&many, false), "1.0"));
    assert!(parse(&format!("{many} | {many}"), false).is_unparsed());
    assert_eq!(
        compare(&"9".repeat(100_000), &"9".repeat(99_999)),
        Some(Greater)
    );
}
