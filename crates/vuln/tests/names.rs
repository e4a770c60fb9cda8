//! Vendor and product-name matching against the real names of the 18 CISA pump
//! advisories and the CPEs of the NVD records in the shared test data.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::path::Path;

use pumpguard_model::Confidence;
use pumpguard_vuln::names::{VendorAliases, cpe_name_match};
use serde_json::Value;

/// (vendor, product name) of every `product_name` branch.
fn advisory_products(dir: &Path) -> BTreeSet<(String, String)> {
    fn walk(branches: &Value, vendor: &str, out: &mut BTreeSet<(String, String)>) {
        for b in branches.as_array().into_iter().flatten() {
            let name = b["name"].as_str().unwrap_or_default();
            let vendor = if b["category"] == "vendor" {
                name
            } else {
                vendor
            };
            if b["category"] == "product_name" {
                out.insert((vendor.to_owned(), name.to_owned()));
            }
            walk(&b["branches"], vendor, out);
        }
    }
    let mut out = BTreeSet::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            let doc: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
            walk(&doc["product_tree"]["branches"], "", &mut out);
        }
    }
    out
}

/// (vendor, product) of every CPE in the NVD records' configurations.
fn nvd_cpes(dir: &Path) -> BTreeSet<(String, String)> {
    fn walk(v: &Value, out: &mut BTreeSet<(String, String)>) {
        match v {
            Value::Object(map) => {
                if let Some(Value::String(c)) = map.get("criteria") {
                    let parts: Vec<&str> = c.split(':').collect();
                    if parts.len() > 4 {
                        out.insert((parts[3].to_owned(), parts[4].to_owned()));
                    }
                }
                map.values().for_each(|v| walk(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let mut out = BTreeSet::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            walk(
                &serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap(),
                &mut out,
            );
        }
    }
    out
}

/// The products an asset matches at Medium or better.
fn matches<'a>(
    aliases: &VendorAliases,
    products: &'a BTreeSet<(String, String)>,
    vendor: &str,
    model: &str,
) -> BTreeSet<&'a str> {
    products
        .iter()
        .filter(|(v, _)| aliases.same_vendor(vendor, v))
        .filter(|(v, p)| {
            aliases
                .product_match(v, model, p)
                .is_some_and(|m| m.confidence >= Confidence::Medium)
        })
        .map(|(_, p)| p.as_str())
        .collect()
}

#[test]
fn pump_advisory_products() {
    let data = pumpguard_testkit::shared_data();
    let products = advisory_products(&data.join("csaf").join("cisa-icsma"));
    assert!(products.len() > 40, "{}", products.len());
    let aliases = VendorAliases::default();
    for (vendor, name) in &products {
        assert!(aliases.canonical(vendor).is_some(), "vendor {vendor}");
        // Every product name matches itself, High.
        let m = aliases.product_match(vendor, name, name).unwrap();
        assert_eq!(m.confidence, Confidence::High, "{name}: {}", m.reason);
    }

    let fleet: &[(&str, &str, &[&str], &[&str])] = &[
        (
            "BD",
            "Alaris PC Unit 8015",
            &[
                "Alaris PC Unit",
                "Alaris 8015 PC unit",
                "Alaris PC Unit Model 8015",
                "BD Alaris Point-of-Care Unit (PCU) Model 8015",
            ],
            &[
                "Alaris 8000 PC unit",
                "Alaris Gateway Workstation",
                "Alaris Systems Manager",
                "BD Alaris Guardrails Editor",
                "CQI Reporter",
            ],
        ),
        (
            "CareFusion",
            "Alaris 8000",
            &["Alaris 8000 PC unit"],
            &["Alaris 8015 PC unit", "Alaris PC Unit Model 8015"],
        ),
        (
            "Becton Dickinson",
            "Alaris Gateway Workstation",
            &["Alaris Gateway Workstation"],
            &["Alaris PC Unit", "Alaris GS"],
        ),
        (
            "Baxter Healthcare",
            "Sigma Spectrum",
            &["Sigma Spectrum", "Sigma Spectrum LVP", "Baxter Spectrum"],
            &["Baxter Spectrum IQ", "Baxter Spectrum IQ LVP"],
        ),
        (
            "Baxter",
            "Spectrum IQ",
            &["Baxter Spectrum IQ", "Baxter Spectrum IQ LVP"],
            &["Sigma Spectrum", "Sigma Spectrum LVP", "Baxter Spectrum"],
        ),
        (
            "Smiths Medical",
            "Medfusion 4000",
            &["Medfusion 4000 Wireless Syringe Infusion Pump"],
            &[],
        ),
        (
            "Medtronic",
            "MiniMed Paradigm 722",
            &["MiniMed Paradigm 522/722 pumps"],
            &[
                "MiniMed Paradigm 522K/722K pumps",
                "MiniMed Paradigm 512/712 pumps",
                "MiniMed 508 pump",
            ],
        ),
        (
            "B. Braun Melsungen AG",
            "SpaceStation with SpaceCom 2",
            &["SpaceStation with SpaceCom 2"],
            &["Battery pack with Wi-Fi", "Data module compactplus"],
        ),
        (
            "B. Braun",
            "Battery Pack SP WiFi",
            &[
                "Battery Pack SP with Wi-Fi",
                "Battery pack SP with WIFI",
                "Battery pack SP with WiFi",
            ],
            &["SpaceCom", "Data module compactPlus"],
        ),
        (
            "Fresenius Kabi",
            "Agilia Link+",
            &["Agilia Link+"],
            &[
                "Agilia Connect WiFi module of the pumps",
                "Agilia Partner maintenance software",
            ],
        ),
        (
            "BD",
            "BodyGuard 323",
            &["CME BodyGuard 323", "CME BodyGuard 323 Color Vision"],
            &["CME BodyGuard Twins"],
        ),
    ];
    for (vendor, model, must, must_not) in fleet {
        let got = matches(&aliases, &products, vendor, model);
        for p in *must {
            assert!(
                got.contains(p),
                "{vendor} {model} should match '{p}'; matched {got:?}"
            );
        }
        for p in *must_not {
            assert!(!got.contains(p), "{vendor} {model} should not match '{p}'");
        }
    }
    // Another vendor's products never match.
    assert!(matches(&aliases, &products, "Baxter", "Alaris PC Unit 8015").is_empty());
    assert!(matches(&aliases, &products, "Acme", "Sigma Spectrum").is_empty());
}

#[test]
fn nvd_cpe_names() {
    let data = pumpguard_testkit::shared_data();
    let cpes = nvd_cpes(&data.join("nvd").join("cve"));
    assert!(cpes.len() > 20, "{}", cpes.len());
    let aliases = VendorAliases::default();
    for (vendor, _) in &cpes {
        assert!(aliases.canonical(vendor).is_some(), "CPE vendor {vendor}");
    }
    let matched = |asset_vendor: &str, model: &str| -> BTreeSet<String> {
        cpes.iter()
            .filter(|(v, p)| {
                cpe_name_match(asset_vendor, model, v, p)
                    .is_some_and(|m| m.confidence >= Confidence::Medium)
            })
            .map(|(_, p)| p.clone())
            .collect()
    };
    let got = matched("BD", "Alaris PC Unit 8015");
    assert_eq!(
        got,
        ["alaris_8015_pcu", "alaris_8015_pcu_firmware"]
            .map(String::from)
            .into()
    );
    let got = matched("Baxter", "Sigma Spectrum 35700BAX2");
    assert!(got.contains("sigma_spectrum_35700bax2_firmware"), "{got:?}");
    assert!(
        got.contains("sigma_spectrum_infusion_system_firmware"),
        "{got:?}"
    );
    assert!(!got.contains("sigma_spectrum_35700bax_firmware"), "{got:?}");
    assert!(
        !got.contains("baxter_spectrum_iq_35700bax3_firmware"),
        "{got:?}"
    );
    assert!(
        !got.contains("spectrum_wireless_battery_module_firmware"),
        "{got:?}"
    );
    let got = matched("ICU Medical", "LifeCare PCA");
    assert!(got.contains("lifecare_pcainfusion_firmware"), "{got:?}");
    let got = matched("Smiths Medical", "Medfusion 4000");
    assert!(
        got.contains("medfusion_4000_wireless_syringe_infusion_pump"),
        "{got:?}"
    );
    let got = matched("B. Braun", "SpaceCom 2");
    assert_eq!(got, ["spacecom2".to_owned()].into());
    let got = matched("BD", "Alaris Gateway Workstation");
    assert!(
        got.contains("alaris_gateway_workstation_firmware"),
        "{got:?}"
    );
    assert!(!got.iter().any(|p| p.contains("8015")), "{got:?}");
}
