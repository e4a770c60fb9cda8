//! The 7 NVD CVE records: read, configurations kept, applicability decided by hand-built
//! devices (NISTIR 7696 AND/OR, version bounds, non-vulnerable platform CPEs).

use std::cmp::Ordering;

use pumpguard_model::{Advisory, CpeMatch, CpeOperator, VexStatus, VulnFormat, VulnImport};
use pumpguard_vuln::cpe::{Attr, CpeName, Truth, applies, version_in_bounds};
use serde_json::Value;

const RECORDS: [&str; 7] = [
    "CVE-2015-3459",
    "CVE-2017-12725",
    "CVE-2019-10959",
    "CVE-2020-12040",
    "CVE-2020-25165",
    "CVE-2021-33885",
    "CVE-2022-26390",
];

fn raw(cve: &str) -> Value {
    let path = pumpguard_testkit::shared_data().join(format!("nvd/cve/{cve}.json"));
    serde_json::from_slice(&std::fs::read(path).expect("read")).expect("json")
}

fn record(cve: &str) -> Advisory {
    let path = pumpguard_testkit::shared_data().join(format!("nvd/cve/{cve}.json"));
    let bytes = std::fs::read(&path).expect("read");
    let mut imports = pumpguard_vuln::read(&bytes, cve).unwrap_or_else(|e| panic!("{cve}: {e}"));
    assert_eq!(imports.len(), 1);
    match imports.remove(0) {
        VulnImport::Advisory(a) => a,
        other => panic!("{other:?}"),
    }
}

#[test]
fn records_read_with_their_configurations() {
    for cve in RECORDS {
        let a = record(cve);
        let r = raw(cve);
        assert_eq!(a.id, cve);
        assert_eq!(a.format, VulnFormat::Nvd);
        assert_eq!(a.vulnerabilities.len(), 1);
        let v = &a.vulnerabilities[0];
        assert_eq!(v.cve.as_deref(), Some(cve));
        assert!(v.description.is_some());
        assert!(
            !v.cwes.is_empty() || cve == "CVE-2015-3459",
            "{cve}: {:?}",
            v.cwes
        );

        // Configurations as the file has them.
        let confs = r["configurations"].as_array().expect("configurations");
        assert_eq!(v.configurations.len(), confs.len(), "{cve}");
        for (c, rc) in v.configurations.iter().zip(confs) {
            let op = match rc["operator"].as_str() {
                Some("AND") => CpeOperator::And,
                _ => CpeOperator::Or,
            };
            assert_eq!(c.operator, op);
            let nodes = rc["nodes"].as_array().expect("nodes");
            assert_eq!(c.nodes.len(), nodes.len());
            for (n, rn) in c.nodes.iter().zip(nodes) {
                let ms = rn["cpeMatch"].as_array().expect("cpeMatch");
                assert_eq!(n.matches.len(), ms.len());
                for (m, rm) in n.matches.iter().zip(ms) {
                    assert_eq!(Some(m.criteria.as_str()), rm["criteria"].as_str());
                    assert_eq!(Some(m.vulnerable), rm["vulnerable"].as_bool());
                    assert_eq!(
                        m.version_end_including.as_deref(),
                        rm["versionEndIncluding"].as_str()
                    );
                    assert_eq!(
                        m.version_end_excluding.as_deref(),
                        rm["versionEndExcluding"].as_str()
                    );
                    assert_eq!(
                        m.version_start_including.as_deref(),
                        rm["versionStartIncluding"].as_str()
                    );
                    // Every criterion parses and prints back the same.
                    let name = CpeName::parse(&m.criteria).expect("criteria parse");
                    assert_eq!(name.to_string(), m.criteria);
                    // And it is one of the advisory's products.
                    assert!(
                        a.products
                            .iter()
                            .any(|p| p.cpe.as_deref() == Some(m.criteria.as_str()))
                    );
                }
            }
        }
        // Vulnerable CPEs are affected products; platforms are products without a status.
        for p in &a.products {
            let status = v.statuses.iter().find(|s| s.product_id == p.product_id);
            let cpe = CpeName::parse(p.cpe.as_deref().expect("cpe")).expect("parse");
            assert_eq!(p.vendor.as_deref(), cpe.vendor.value());
            assert_eq!(Some(p.name.as_str()), cpe.product.value());
            if let Some(s) = status {
                assert_eq!(s.status, VexStatus::Affected);
            }
        }

        // Every CVSS vector NVD gives is scored, and the score is NVD's.
        let metrics = r["metrics"].as_object().expect("metrics");
        let mut n = 0;
        for list in metrics.values() {
            for m in list.as_array().expect("list") {
                let vector = m["cvssData"]["vectorString"].as_str().expect("vector");
                let ours = v
                    .scores
                    .iter()
                    .find(|s| s.vector == vector && s.source.as_deref() == m["source"].as_str())
                    .expect("scored");
                assert_eq!(
                    Some(ours.score),
                    m["cvssData"]["baseScore"].as_f64(),
                    "{cve} {vector}"
                );
                n += 1;
            }
        }
        assert_eq!(v.scores.len(), n);
    }
}

/// Natural version order for the tests: digit runs by value, other runs by text,
/// `.` as a separator; a missing part counts as less.
fn natural(a: &str, b: &str) -> Option<Ordering> {
    fn parts(s: &str) -> Vec<Result<u64, String>> {
        let mut out = Vec::new();
        let mut cur = String::new();
        let mut digits = false;
        for c in s.to_ascii_lowercase().chars() {
            if c == '.' || c == '-' || c == '_' {
                if !cur.is_empty() {
                    out.push(if digits {
                        Ok(cur.parse().unwrap_or(0))
                    } else {
                        Err(cur.clone())
                    });
                    cur.clear();
                }
                continue;
            }
            if !cur.is_empty() && c.is_ascii_digit() != digits {
                out.push(if digits {
                    Ok(cur.parse().unwrap_or(0))
                } else {
                    Err(cur.clone())
                });
                cur.clear();
            }
            digits = c.is_ascii_digit();
            cur.push(c);
        }
        if !cur.is_empty() {
            out.push(if digits {
                Ok(cur.parse().unwrap_or(0))
            } else {
                Err(cur)
            });
        }
        out
    }
    let (pa, pb) = (parts(a), parts(b));
    for i in 0..pa.len().max(pb.len()) {
        let o = match (pa.get(i), pb.get(i)) {
            (Some(Ok(x)), Some(Ok(y))) => x.cmp(y),
            (Some(Err(x)), Some(Err(y))) => x.cmp(y),
            (Some(_), Some(_)) => return None,
            (Some(_), None) => Ordering::Greater,
            (None, Some(_)) => Ordering::Less,
            (None, None) => Ordering::Equal,
        };
        if o != Ordering::Equal {
            return Some(o);
        }
    }
    Some(Ordering::Equal)
}

/// A device as a list of (part, vendor, product, version) facts; `None` for a fact whose
/// presence is unknown.
struct Device(
    Vec<(
        &'static str,
        &'static str,
        &'static str,
        Option<&'static str>,
    )>,
);

impl Device {
    fn present(&self, m: &CpeMatch) -> Truth {
        let Ok(name) = CpeName::parse(&m.criteria) else {
            return Truth::Unknown;
        };
        let part = name.part.value().unwrap_or_default();
        let key = (
            part,
            name.vendor.value().unwrap_or_default(),
            name.product.value().unwrap_or_default(),
        );
        match self.0.iter().find(|f| (f.0, f.1, f.2) == key) {
            None => Truth::False,
            Some((_, _, _, Some(version))) if *version == "?" => Truth::Unknown,
            Some((_, _, _, Some(version))) => version_in_bounds(m, version, natural),
            Some((_, _, _, None)) => match name.version {
                Attr::Any | Attr::Na => Truth::True,
                _ => Truth::Unknown,
            },
        }
    }
}

fn check(cve: &str, device: Device, expected: Truth) {
    let a = record(cve);
    let got = applies(&a.vulnerabilities[0].configurations, |m| device.present(m));
    assert_eq!(got, expected, "{cve} on {:?}", device.0);
}

#[test]
fn bd_alaris_gateway_workstation() {
    let cve = "CVE-2019-10959";
    let fw = |v| ("o", "bd", "alaris_gateway_workstation_firmware", Some(v));
    let hw = ("h", "bd", "alaris_gateway_workstation", None);
    // NVD lists the workstation's firmware by version and build (`1.1.3:10`, `1.1.3:11`,
    // `1.3.1:13`…): a firmware that says its build is decided, one that does not is not.
    check(cve, Device(vec![fw("1.1.3 Build 10"), hw]), Truth::True);
    check(cve, Device(vec![fw("1.1.3 MR Build 11"), hw]), Truth::True);
    check(cve, Device(vec![fw("1.3.1 Build 13"), hw]), Truth::True);
    check(cve, Device(vec![fw("1.1.3 Build 12"), hw]), Truth::False);
    check(cve, Device(vec![fw("1.3.1 Build 14"), hw]), Truth::False);
    check(cve, Device(vec![fw("1.1.3"), hw]), Truth::Unknown);
    check(cve, Device(vec![fw("1.3.1"), hw]), Truth::Unknown);
    // The fixed firmware, and a version above every listed one.
    check(cve, Device(vec![fw("1.3.2"), hw]), Truth::False);
    check(cve, Device(vec![fw("1.6.1"), hw]), Truth::False);
    // Firmware without its hardware: the platform condition fails.
    check(cve, Device(vec![fw("1.1.3")]), Truth::False);
    // Hardware not known either way: cannot tell.
    check(
        cve,
        Device(vec![
            fw("1.1.3"),
            ("h", "bd", "alaris_gateway_workstation", Some("?")),
        ]),
        Truth::Unknown,
    );
    // … but a fixed firmware settles it whatever the hardware.
    check(
        cve,
        Device(vec![
            fw("1.6.1"),
            ("h", "bd", "alaris_gateway_workstation", Some("?")),
        ]),
        Truth::False,
    );
    // The syringe pumps: software 2.3.6 and below.
    let gs = |v| ("o", "bd", "alaris_gs_syringe_pump_firmware", Some(v));
    let gs_hw = ("h", "bd", "alaris_gs_syringe_pump", None);
    check(cve, Device(vec![gs("2.3.6"), gs_hw]), Truth::True);
    check(cve, Device(vec![gs("2.3"), gs_hw]), Truth::True);
    check(cve, Device(vec![gs("2.3.7"), gs_hw]), Truth::False);
    check(
        cve,
        Device(vec![
            gs("2.3.6"),
            ("h", "bd", "alaris_gh_syringe_pump", None),
        ]),
        Truth::False,
    );
    // A version we cannot order against the bound.
    check(cve, Device(vec![gs("2.x.6"), gs_hw]), Truth::Unknown);
}

#[test]
fn hospira_lifecare_pca() {
    let cve = "CVE-2015-3459";
    let fw = |v| ("o", "hospira", "lifecare_pcainfusion_firmware", Some(v));
    check(
        cve,
        Device(vec![fw("5.0"), ("h", "hospira", "lifecare_pca3", None)]),
        Truth::True,
    );
    check(
        cve,
        Device(vec![fw("4.1"), ("h", "hospira", "lifecare_pca5", None)]),
        Truth::True,
    );
    check(
        cve,
        Device(vec![fw("5.1"), ("h", "hospira", "lifecare_pca5", None)]),
        Truth::False,
    );
    check(cve, Device(vec![fw("5.0")]), Truth::False);
}

#[test]
fn smiths_medfusion_4000() {
    let cve = "CVE-2017-12725";
    let p = "medfusion_4000_wireless_syringe_infusion_pump";
    let hw = ("h", "smiths-medical", p, None);
    check(
        cve,
        Device(vec![("o", "smiths-medical", p, Some("1.5")), hw]),
        Truth::True,
    );
    check(
        cve,
        Device(vec![("o", "smiths-medical", p, Some("1.6")), hw]),
        Truth::True,
    );
    check(
        cve,
        Device(vec![("o", "smiths-medical", p, Some("1.7")), hw]),
        Truth::False,
    );
    check(
        cve,
        Device(vec![("o", "smiths-medical", p, Some("1.5"))]),
        Truth::False,
    );
}

#[test]
fn baxter_sigma_spectrum() {
    let cve = "CVE-2020-12040";
    let fw = |v| {
        (
            "o",
            "baxter",
            "sigma_spectrum_infusion_system_firmware",
            Some(v),
        )
    };
    let hw = ("h", "baxter", "sigma_spectrum_infusion_system", None);
    check(cve, Device(vec![fw("6.0"), hw]), Truth::True);
    check(cve, Device(vec![fw("6.05"), hw]), Truth::True);
    check(cve, Device(vec![fw("8.0"), hw]), Truth::True);
    check(cve, Device(vec![fw("5.9"), hw]), Truth::False);
    check(cve, Device(vec![fw("7.0"), hw]), Truth::False);
    check(cve, Device(vec![fw("8.1"), hw]), Truth::False);
}

#[test]
fn bd_alaris_8015_and_systems_manager() {
    let cve = "CVE-2020-25165";
    let pcu = |v| ("o", "bd", "alaris_8015_pcu_firmware", Some(v));
    let hw = ("h", "bd", "alaris_8015_pcu", None);
    check(cve, Device(vec![pcu("9.33.1"), hw]), Truth::True);
    check(cve, Device(vec![pcu("9.33.1")]), Truth::False);
    check(cve, Device(vec![pcu("12.1.0"), hw]), Truth::False);
    // The second configuration has one node and no platform: the software alone.
    check(
        cve,
        Device(vec![("a", "bd", "alaris_systems_manager", Some("4.33"))]),
        Truth::True,
    );
    check(
        cve,
        Device(vec![("a", "bd", "alaris_systems_manager", Some("4.50"))]),
        Truth::False,
    );
}

#[test]
fn bbraun_spacecom2() {
    let cve = "CVE-2021-33885";
    let fw = |v| ("o", "bbraun", "spacecom2", Some(v));
    let pump = ("h", "bbraun", "infusomat_large_volume_pump_871305u", None);
    let station = ("h", "bbraun", "spacestation_8713142u", None);
    check(cve, Device(vec![fw("012U000061"), pump]), Truth::True);
    check(cve, Device(vec![fw("012U000061"), station]), Truth::True);
    // versionEndExcluding: the bound itself is fixed.
    check(cve, Device(vec![fw("012U000062"), pump]), Truth::False);
    check(cve, Device(vec![fw("012U000061")]), Truth::False);
}

#[test]
fn baxter_spectrum_wireless_battery_module() {
    let cve = "CVE-2022-26390";
    let fw = |v| {
        (
            "o",
            "baxter",
            "spectrum_wireless_battery_module_firmware",
            Some(v),
        )
    };
    let hw = ("h", "baxter", "spectrum_wireless_battery_module", None);
    check(cve, Device(vec![fw("20d30"), hw]), Truth::True);
    check(cve, Device(vec![fw("22d28"), hw]), Truth::True);
    check(cve, Device(vec![fw("16"), hw]), Truth::True);
    check(cve, Device(vec![fw("22d29"), hw]), Truth::False);
    check(cve, Device(vec![fw("21d01"), hw]), Truth::False);
    // Firmware CPEs with version `-` (NA): any firmware of that pump.
    let bax = vec![
        (
            "o",
            "baxter",
            "sigma_spectrum_35700bax_firmware",
            Some("8.00"),
        ),
        ("h", "baxter", "sigma_spectrum_35700bax", None),
    ];
    check(cve, Device(bax), Truth::True);
    check(
        cve,
        Device(vec![("h", "baxter", "sigma_spectrum_35700bax", None)]),
        Truth::False,
    );
}

#[test]
fn negation_and_platform_only_configurations() {
    use pumpguard_model::{CpeConfiguration, CpeNode};
    let m = |vulnerable, criteria: &str| CpeMatch {
        vulnerable,
        criteria: criteria.to_owned(),
        version_start_including: None,
        version_start_excluding: None,
        version_end_including: None,
        version_end_excluding: None,
    };
    let app = m(true, "cpe:2.3:a:acme:pumpd:*:*:*:*:*:*:*:*");
    let os = m(false, "cpe:2.3:o:acme:pumpos:*:*:*:*:*:*:*:*");
    let conf = |negate_os| CpeConfiguration {
        operator: CpeOperator::And,
        negate: false,
        nodes: vec![
            CpeNode {
                operator: CpeOperator::Or,
                negate: false,
                matches: vec![app.clone()],
            },
            CpeNode {
                operator: CpeOperator::Or,
                negate: negate_os,
                matches: vec![os.clone()],
            },
        ],
    };
    let on = |app_here, os_here| {
        move |x: &CpeMatch| Truth::from_bool(if x.vulnerable { app_here } else { os_here })
    };
    // "pumpd, except on pumpos".
    assert_eq!(applies(&[conf(true)], on(true, false)), Truth::True);
    assert_eq!(applies(&[conf(true)], on(true, true)), Truth::False);
    assert_eq!(applies(&[conf(false)], on(true, true)), Truth::True);
    // A configuration of platforms only never applies.
    let platform_only = CpeConfiguration {
        operator: CpeOperator::Or,
        negate: false,
        nodes: vec![CpeNode {
            operator: CpeOperator::Or,
            negate: false,
            matches: vec![os],
        }],
    };
    assert_eq!(applies(&[platform_only], |_| Truth::True), Truth::False);
    assert_eq!(applies(&[], |_| Truth::True), Truth::False);
}

#[test]
fn version_bounds() {
    let m = CpeMatch {
        vulnerable: true,
        criteria: "cpe:2.3:o:baxter:sigma_spectrum_infusion_system_firmware:*:*:*:*:*:*:*:*".into(),
        version_start_including: Some("6.0".into()),
        version_start_excluding: None,
        version_end_including: None,
        version_end_excluding: Some("6.05".into()),
    };
    assert_eq!(version_in_bounds(&m, "6.0", natural), Truth::True);
    assert_eq!(version_in_bounds(&m, "6.04", natural), Truth::True);
    assert_eq!(version_in_bounds(&m, "6.05", natural), Truth::False);
    assert_eq!(version_in_bounds(&m, "5", natural), Truth::False);
    assert_eq!(version_in_bounds(&m, "6.0", |_, _| None), Truth::Unknown);
    let exact = CpeMatch {
        criteria: "cpe:2.3:o:x:y:1.2:*:*:*:*:*:*:*".into(),
        ..m.clone()
    };
    let exact = CpeMatch {
        version_start_including: None,
        version_end_excluding: None,
        ..exact
    };
    assert_eq!(version_in_bounds(&exact, "1.2", natural), Truth::True);
    assert_eq!(version_in_bounds(&exact, "1.3", natural), Truth::False);
    let broken = CpeMatch {
        criteria: "cpe:/o:x:y:1.2".into(),
        ..exact
    };
    assert_eq!(version_in_bounds(&broken, "1.2", natural), Truth::Unknown);
}

#[test]
fn pages_and_wrapped_records_read_too() {
    let one = raw("CVE-2019-10959");
    let two = raw("CVE-2020-12040");
    let page = serde_json::json!({
        "resultsPerPage": 2, "startIndex": 0, "totalResults": 2,
        "format": "NVD_CVE", "version": "2.0", "timestamp": "2024-01-01T00:00:00.000",
        "vulnerabilities": [{"cve": one}, {"cve": two}]
    });
    let imports = pumpguard_vuln::read(page.to_string().as_bytes(), "page.json").expect("page");
    let ids: Vec<String> = imports
        .iter()
        .map(|i| match i {
            VulnImport::Advisory(a) => a.id.clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(ids, ["CVE-2019-10959", "CVE-2020-12040"]);
    let wrapped = serde_json::json!({ "cve": raw("CVE-2015-3459") });
    let imports = pumpguard_vuln::read(wrapped.to_string().as_bytes(), "x").expect("wrapped");
    assert!(matches!(&imports[..], [VulnImport::Advisory(a)] if a.id == "CVE-2015-3459"));
    // A page item without its CVE id says where.
    let bad = serde_json::json!({"resultsPerPage": 1, "vulnerabilities": [{"cve": {"id": "CVE-2020-1"}}]});
    let err = pumpguard_vuln::read(bad.to_string().as_bytes(), "x").expect_err("bad id");
    assert_eq!(err.place, "/vulnerabilities/0/cve/id");
}
