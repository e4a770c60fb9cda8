//! `read` never panics: every prefix of real files of each format, and random bytes.

use proptest::prelude::*;

fn samples() -> Vec<Vec<u8>> {
    let data = pumpguard_testkit::shared_data();
    let mut out: Vec<Vec<u8>> = [
        "csaf/cisa-icsma/icsma-20-170-04.json",
        "nvd/cve/CVE-2019-10959.json",
        "sbom/cyclonedx-bom-examples/VEX/CISA-Use-Cases/Case-3/vex.json",
        "sbom/spdx-examples/software/example14/spdx2.3/examplemaven-0.0.1-enriched.spdx.json",
    ]
    .iter()
    .map(|p| std::fs::read(data.join(p)).expect("read"))
    .collect();
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    out.push(std::fs::read(fixtures.join("kev.json")).expect("kev"));
    out.push(std::fs::read(fixtures.join("epss.csv")).expect("epss"));
    out
}

#[test]
fn every_truncation_reads_or_errs() {
    for bytes in samples() {
        // Every prefix would be slow in debug for the large CSAF: step through it.
        let step = (bytes.len() / 2000).max(1);
        for end in (0..bytes.len()).step_by(step) {
            let _ = pumpguard_vuln::read(&bytes[..end], "cut");
            let _ = pumpguard_vuln::validate::validate_csaf(&bytes[..end]);
        }
    }
}

#[test]
fn values_of_the_wrong_type_err_without_panicking() {
    // Replace each value of real documents in turn with values of other types, and with
    // text that is not ASCII.
    let data = pumpguard_testkit::shared_data();
    for file in [
        "csaf/cisa-icsma/icsma-20-170-06.json",
        "csaf/oasis-csaf-2.0/examples/csaf/csaf_vex/sec-vex-2022-0001.json",
        "nvd/cve/CVE-2020-12040.json",
        "sbom/cyclonedx-spec-tests/1.6/valid-vulnerability-1.6.json",
        "sbom/spdx-examples/presentations/OSS-NA-2023/SPDXVersion2.3/01-MinimalSBOM.json",
    ] {
        let bytes = std::fs::read(data.join(file)).expect("read");
        let doc: serde_json::Value = serde_json::from_slice(&bytes).expect("json");
        let mut pointers = Vec::new();
        walk(&doc, String::new(), &mut pointers);
        for p in pointers.iter().filter(|p| !p.is_empty()) {
            for replacement in [
                serde_json::json!(null),
                serde_json::json!(7),
                serde_json::json!(-1.5e300),
                serde_json::json!([{}]),
                serde_json::json!({"a": 1}),
                serde_json::json!("CWé-é ≤ 1.0 \u{1F600}"),
                serde_json::json!(""),
            ] {
                let mut d = doc.clone();
                if let Some(slot) = d.pointer_mut(p) {
                    *slot = replacement;
                }
                let text = d.to_string();
                let _ = pumpguard_vuln::read(text.as_bytes(), "mutated");
                let _ = pumpguard_vuln::validate::validate_csaf(text.as_bytes());
            }
        }
    }
}

/// JSON pointers of every value under `v`.
fn walk(v: &serde_json::Value, at: String, out: &mut Vec<String>) {
    let escape = |k: &str| k.replace('~', "~0").replace('/', "~1");
    match v {
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                walk(x, format!("{at}/{}", escape(k)), out);
            }
        }
        serde_json::Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                walk(x, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
    out.push(at);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = pumpguard_vuln::read(&bytes, "random");
        let _ = pumpguard_vuln::validate::validate_csaf(&bytes);
    }

    #[test]
    fn random_json_shaped_text(text in r#"[\{\}\[\]":,a-z0-9 #.\-]{0,300}"#) {
        let _ = pumpguard_vuln::read(text.as_bytes(), "random");
        let _ = pumpguard_vuln::read(format!("{{\"document\":{{\"tracking\":{{\"id\":\"x\"}}}},{text}").as_bytes(), "random");
        let _ = pumpguard_vuln::cpe::CpeName::parse(&format!("cpe:2.3:{text}"));
    }
}
