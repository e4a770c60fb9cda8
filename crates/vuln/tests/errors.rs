//! Errors say where: JSON syntax by line and column, meaning by JSON pointer.

use serde_json::Value;

fn pcu() -> Vec<u8> {
    let f = pumpguard_testkit::shared_data().join("csaf/cisa-icsma/icsma-20-170-06.json");
    std::fs::read(f).expect("read")
}

#[test]
fn truncated_csaf_is_a_syntax_error_with_line_and_column() {
    let bytes = pcu();
    let cut = &bytes[..bytes.len() / 2];
    let err = pumpguard_vuln::read(cut, "icsma-20-170-06.json").expect_err("truncated");
    let lines = cut.iter().filter(|&&b| b == b'\n').count() + 1;
    assert!(
        err.place.starts_with(&format!("line {lines} column ")),
        "{err}"
    );
    assert!(err.message.starts_with("not valid JSON: EOF"), "{err}");
    assert_eq!(err.to_string(), format!("{}: {}", err.place, err.message));
}

#[test]
fn csaf_without_tracking_id() {
    let mut v: Value = serde_json::from_slice(&pcu()).expect("json");
    v["document"]["tracking"]
        .as_object_mut()
        .expect("tracking")
        .remove("id");
    let err = pumpguard_vuln::read(v.to_string().as_bytes(), "x").expect_err("no id");
    assert_eq!(err.to_string(), "/document/tracking/id: missing");
}

#[test]
fn csaf_with_a_broken_product_status() {
    let mut v: Value = serde_json::from_slice(&pcu()).expect("json");
    v["vulnerabilities"][0]["product_status"] = "all of them".into();
    let err = pumpguard_vuln::read(v.to_string().as_bytes(), "x").expect_err("status");
    assert_eq!(err.place, "/vulnerabilities/0/product_status");
    v["vulnerabilities"][0]["product_status"] =
        serde_json::json!({"known_affected": ["CSAFPID-0001", 7]});
    let err = pumpguard_vuln::read(v.to_string().as_bytes(), "x").expect_err("status");
    assert_eq!(
        err.place,
        "/vulnerabilities/0/product_status/known_affected/1"
    );
    assert_eq!(err.message, "not a string");
}

#[test]
fn unknown_formats() {
    for bytes in [
        &b"{}"[..],
        b"[1, 2]",
        b"hello",
        b"",
        b"\x00\x01\x02",
        br#"{"document": 5}"#,
        br#"{"vulnerabilities": []}"#,
    ] {
        let err = pumpguard_vuln::read(bytes, "x").expect_err("unknown");
        assert_eq!(err.place, "/", "{:?}", String::from_utf8_lossy(bytes));
        assert_eq!(
            err.message,
            "not a CSAF 2.0, NVD CVE 2.0, KEV, EPSS, CycloneDX, SPDX 2.3 or OpenVEX document"
        );
    }
    let err = pumpguard_vuln::read(b"\x1f\x8b\x08\x00", "epss.csv.gz").expect_err("gzip");
    assert!(err.message.contains("gzip"));
}

#[test]
fn openvex() {
    let doc = serde_json::json!({
        "@context": "https://openvex.dev/ns/v0.2.0",
        "@id": "https://example.com/vex/2024-001",
        "author": "Example Pump Co. PSIRT",
        "timestamp": "2024-02-01T10:00:00Z",
        "version": 2,
        "statements": [
            {
                "vulnerability": {"name": "CVE-2021-44228", "aliases": ["GHSA-jfh8-c2jp-5v3q"]},
                "products": [
                    {"@id": "pkg:generic/examplepump/infusion-firmware@4.2.1"},
                    {"@id": "urn:example:pump-gateway", "identifiers": {"cpe23": "cpe:2.3:o:example:gateway:2.0:*:*:*:*:*:*:*"}}
                ],
                "status": "not_affected",
                "justification": "vulnerable_code_not_present",
                "impact_statement": "The firmware does not ship log4j."
            },
            {
                "vulnerability": {"@id": "https://nvd.nist.gov/vuln/detail/CVE-2019-10959", "name": "CVE-2019-10959"},
                "products": [{"@id": "pkg:generic/examplepump/infusion-firmware@4.2.0"}],
                "status": "affected",
                "action_statement": "Update to 4.2.1."
            }
        ]
    });
    let imports = pumpguard_vuln::read(doc.to_string().as_bytes(), "x").expect("openvex");
    let [pumpguard_model::VulnImport::Advisory(a)] = &imports[..] else {
        panic!("{imports:?}");
    };
    assert_eq!(a.format, pumpguard_model::VulnFormat::OpenVex);
    assert_eq!(a.id, "https://example.com/vex/2024-001");
    assert_eq!(a.products.len(), 3);
    let fw = &a.products[0];
    assert_eq!(
        (fw.name.as_str(), fw.version.as_deref()),
        ("infusion-firmware", Some("4.2.1"))
    );
    assert_eq!(fw.vendor.as_deref(), Some("examplepump"));
    assert_eq!(
        a.products[1].cpe.as_deref(),
        Some("cpe:2.3:o:example:gateway:2.0:*:*:*:*:*:*:*")
    );
    let v = &a.vulnerabilities[0];
    assert_eq!(v.cve.as_deref(), Some("CVE-2021-44228"));
    assert_eq!(v.statuses.len(), 2);
    assert_eq!(
        v.statuses[0].status,
        pumpguard_model::VexStatus::NotAffected
    );
    assert_eq!(
        v.statuses[0].justification.as_deref(),
        Some("vulnerable_code_not_present")
    );
    assert_eq!(
        v.statuses[0].statement.as_deref(),
        Some("The firmware does not ship log4j.")
    );
    let v = &a.vulnerabilities[1];
    assert_eq!(v.statuses[0].status, pumpguard_model::VexStatus::Affected);
    assert_eq!(v.statuses[0].statement.as_deref(), Some("Update to 4.2.1."));

    let mut bad = doc.clone();
    bad["statements"][1]["status"] = "patched".into();
    let err = pumpguard_vuln::read(bad.to_string().as_bytes(), "x").expect_err("status");
    assert_eq!(err.place, "/statements/1/status");
}
