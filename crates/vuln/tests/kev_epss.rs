//! KEV and EPSS from hand-written fixtures in the published formats (see
//! fixtures/README.md), and the errors that make them meaningless.

use pumpguard_model::VulnImport;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name),
    )
    .expect("fixture")
}

#[test]
fn kev_catalog() {
    let imports = pumpguard_vuln::read(&fixture("kev.json"), "kev.json").expect("read");
    let [VulnImport::Kev(entries)] = &imports[..] else {
        panic!("{imports:?}");
    };
    assert_eq!(entries.len(), 3);
    let log4j = &entries[0];
    assert_eq!(log4j.cve, "CVE-2021-44228");
    assert_eq!(log4j.vendor, "Apache");
    assert_eq!(log4j.product, "Log4j2");
    assert_eq!(
        log4j.name.as_deref(),
        Some("Apache Log4j2 Remote Code Execution Vulnerability")
    );
    assert_eq!(log4j.date_added, "2021-12-10");
    assert_eq!(log4j.due_date.as_deref(), Some("2021-12-24"));
    assert_eq!(
        log4j.required_action.as_deref(),
        Some("Apply updates per vendor instructions.")
    );
    assert_eq!(log4j.known_ransomware.as_deref(), Some("Known"));
    assert_eq!(entries[2].known_ransomware.as_deref(), Some("Unknown"));
}

#[test]
fn kev_entry_without_cve_id() {
    let mut v: serde_json::Value = serde_json::from_slice(&fixture("kev.json")).expect("json");
    v["vulnerabilities"][1]
        .as_object_mut()
        .expect("object")
        .remove("cveID");
    let err = pumpguard_vuln::read(v.to_string().as_bytes(), "kev.json").expect_err("no cveID");
    assert_eq!(err.place, "/vulnerabilities/1/cveID");
    assert_eq!(err.to_string(), "/vulnerabilities/1/cveID: missing");
    v["vulnerabilities"][1]["cveID"] = "CVE-17-144".into();
    let err = pumpguard_vuln::read(v.to_string().as_bytes(), "kev.json").expect_err("bad cveID");
    assert_eq!(err.place, "/vulnerabilities/1/cveID");
    v["vulnerabilities"][1]["cveID"] = "CVE-2017-0144".into();
    v["vulnerabilities"][2]["dateAdded"] = "03/11/2021".into();
    let err = pumpguard_vuln::read(v.to_string().as_bytes(), "kev.json").expect_err("bad date");
    assert_eq!(err.place, "/vulnerabilities/2/dateAdded");
}

#[test]
fn epss_scores() {
    let imports = pumpguard_vuln::read(&fixture("epss.csv"), "epss.csv").expect("read");
    let [VulnImport::Epss(scores)] = &imports[..] else {
        panic!("{imports:?}");
    };
    assert_eq!(scores.len(), 4);
    assert_eq!(scores[0].cve, "CVE-2019-10959");
    assert_eq!(scores[0].epss, 0.00215);
    assert_eq!(scores[0].percentile, 0.59342);
    assert!(
        scores
            .iter()
            .all(|s| s.date.as_deref() == Some("2023-03-13"))
    );
    assert_eq!(scores[2].epss, 0.97565);

    // The pre-2022 layout: no comment line, no date.
    let old = "cve,epss,percentile\r\nCVE-2021-44228,0.97,0.99\r\n";
    let imports = pumpguard_vuln::read(old.as_bytes(), "old.csv").expect("read");
    let [VulnImport::Epss(scores)] = &imports[..] else {
        panic!("{imports:?}");
    };
    assert_eq!((scores.len(), scores[0].date.as_deref()), (1, None));
}

#[test]
fn epss_errors_name_the_line() {
    let text = String::from_utf8(fixture("epss.csv")).expect("utf8");
    let bad = text.replace("CVE-2020-12040,0.00180", "CVE-2020-12040,1.5");
    let err = pumpguard_vuln::read(bad.as_bytes(), "epss.csv").expect_err("1.5");
    assert_eq!(err.place, "line 4");
    assert!(err.message.contains("1.5"), "{err}");
    let bad = text.replace("0.00043", "high");
    assert_eq!(
        pumpguard_vuln::read(bad.as_bytes(), "e")
            .expect_err("text")
            .place,
        "line 6"
    );
    let bad = text.replace("0.07610", "-0.1");
    assert_eq!(
        pumpguard_vuln::read(bad.as_bytes(), "e")
            .expect_err("negative")
            .place,
        "line 6"
    );
    let bad = text.replace("CVE-2021-44228", "log4shell");
    assert_eq!(
        pumpguard_vuln::read(bad.as_bytes(), "e")
            .expect_err("cve")
            .place,
        "line 5"
    );
    let bad = text.replace("cve,epss,percentile\n", "");
    assert_eq!(
        pumpguard_vuln::read(bad.as_bytes(), "e")
            .expect_err("header")
            .place,
        "line 2"
    );
}
