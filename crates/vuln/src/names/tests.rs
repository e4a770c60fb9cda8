use super::*;

fn conf(asset: &str, product: &str) -> Option<Confidence> {
    product_match(asset, product).map(|m| m.confidence)
}

#[test]
fn builtin_vendor_list_reads_cleanly() {
    let mut v = VendorAliases::empty();
    v.extend(BUILTIN_VENDOR_ALIASES, "vendor-aliases.txt")
        .unwrap();
    assert!(v.vendors().count() >= 13);
    assert_eq!(
        VendorAliases::default().vendors().count(),
        v.vendors().count()
    );
}

#[test]
fn canonical_vendor_names() {
    let v = VendorAliases::default();
    let bd = Some("Becton, Dickinson and Company (BD)");
    for name in [
        "BD",
        "bd",
        "Becton Dickinson",
        "Becton, Dickinson and Company",
        "Becton, Dickinson and Company (BD)",
        "CareFusion",
        "Alaris Medical Systems",
        "becton_dickinson",
    ] {
        assert_eq!(v.canonical(name), bd, "{name}");
    }
    for name in [
        "Baxter",
        "Baxter Healthcare Corporation",
        "Baxter International Inc.",
        "baxter",
    ] {
        assert_eq!(v.canonical(name), Some("Baxter"), "{name}");
    }
    for name in [
        "B. Braun",
        "B. Braun Medical",
        "B. Braun Melsungen AG",
        "B. Braun Melsungen",
        "bbraun",
        "B Braun Medical Inc.",
    ] {
        assert_eq!(v.canonical(name), Some("B. Braun"), "{name}");
    }
    assert_eq!(v.canonical("smiths-medical"), Some("Smiths Medical"));
    assert_eq!(v.canonical("Smiths Group"), Some("Smiths Medical"));
    assert_eq!(v.canonical("hospira"), Some("ICU Medical"));
    assert_eq!(v.canonical("ICU Medical, Inc."), Some("ICU Medical"));
    assert_eq!(v.canonical("Fresenius-Vial"), Some("Fresenius Kabi"));
    assert_eq!(v.canonical("fresenius-kabi"), Some("Fresenius Kabi"));
    assert_eq!(
        v.canonical("Fresenius Medical Care"),
        Some("Fresenius Medical Care")
    );
    assert_eq!(v.canonical("Medtronic "), Some("Medtronic"));
    assert_eq!(v.canonical("Koninklijke Philips N.V."), Some("Philips"));
    assert_eq!(v.canonical("GE HealthCare"), Some("GE Healthcare"));
    assert_eq!(
        v.canonical("Nihon Kohden Corporation"),
        Some("Nihon Kohden")
    );
    assert_eq!(v.canonical("Zyno"), Some("Zyno Medical"));
    assert_eq!(v.canonical("Moog Inc."), Some("Moog"));
    assert_eq!(v.canonical("Mindray"), Some("Mindray"));
    assert_eq!(v.canonical("General Electric (GE)"), None);
    assert_eq!(v.canonical("Acme Pumps"), None);
    assert_eq!(v.canonical(""), None);
}

#[test]
fn same_vendor() {
    let v = VendorAliases::default();
    assert!(v.same_vendor("BD", "Becton, Dickinson and Company (BD)"));
    assert!(v.same_vendor("CareFusion", "bd"));
    assert!(v.same_vendor("Hospira", "ICU Medical"));
    assert!(!v.same_vendor("Smiths Medical", "ICU Medical"));
    assert!(!v.same_vendor("Baxter", "B. Braun"));
    assert!(!v.same_vendor("Fresenius Kabi", "Fresenius Medical Care"));
    // Unknown vendors: the same name once normalised.
    assert!(v.same_vendor("Acme Pumps, Inc.", "ACME PUMPS"));
    assert!(!v.same_vendor("Acme Pumps", "Acme Infusion"));
    assert!(!v.same_vendor("Acme", "Baxter"));
    assert!(!v.same_vendor("", ""));
    assert!(!v.same_vendor("--", "."));
}

#[test]
fn extending_the_list() {
    let mut v = VendorAliases::default();
    v.extend(
        "# local names\n\nAcme Pumps = Acme | ACME Infusion Ltd\nBaxter = Baxter Deutschland\n",
        "local.txt",
    )
    .unwrap();
    assert_eq!(v.canonical("ACME Infusion"), Some("Acme Pumps"));
    assert_eq!(v.canonical("Baxter Deutschland GmbH"), Some("Baxter"));
    assert!(v.same_vendor("acme", "Acme Pumps"));

    for (text, line, what) in [
        ("Acme\n", 1, "expected"),
        ("\n# x\nZed = B | | C\n", 3, "empty alias"),
        ("Other = Hospira\n", 1, "already a name of ICU Medical"),
        (
            "ICU = Medical\nCareFusion = X\n",
            2,
            "already a name of Becton",
        ),
        (" = x\n", 1, "not a vendor name"),
    ] {
        let before = v.vendors().count();
        let err = v.extend(text, "bad.txt").unwrap_err();
        assert!(err.starts_with(&format!("bad.txt:{line}: ")), "{err}");
        assert!(err.contains(what), "{err}");
        // Nothing of a failed file is kept.
        assert_eq!(v.vendors().count(), before);
        assert_eq!(v.canonical("ICU"), None);
    }
}

#[test]
fn vendor_names_of_the_nvd_records_are_known() {
    let v = VendorAliases::default();
    for cpe_vendor in ["bd", "baxter", "bbraun", "hospira", "smiths-medical"] {
        assert!(v.canonical(cpe_vendor).is_some(), "{cpe_vendor}");
    }
}

#[test]
fn product_names_that_match() {
    use Confidence::{High, Low, Medium};
    assert_eq!(conf("Sigma Spectrum", "Sigma Spectrum LVP"), Some(Medium));
    assert_eq!(conf("Spectrum IQ", "Baxter Spectrum IQ"), Some(High));
    assert_eq!(
        conf(
            "Medfusion 4000",
            "Medfusion 4000 Wireless Syringe Infusion Pump"
        ),
        Some(High)
    );
    assert_eq!(
        conf(
            "Infusomat Space",
            "B. Braun Infusomat Space Large Volume Pump"
        ),
        Some(Medium)
    );
    assert_eq!(
        conf("BD Alaris PC Unit 8015", "Alaris 8015 PC unit"),
        Some(High)
    );
    assert_eq!(conf("BD Alaris PC Unit 8015", "Alaris PC Unit"), Some(High));
    assert_eq!(
        conf(
            "Alaris PC Unit 8015",
            "BD Alaris Point-of-Care Unit (PCU) Model 8015"
        ),
        Some(High)
    );
    assert_eq!(conf("Alaris PCU", "Alaris Point of Care Unit"), Some(High));
    // Each side says something the other does not.
    assert_eq!(conf("Alaris 8015", "Alaris PC Unit"), Some(Low));
    assert_eq!(conf("BodyGuard 323", "CME BodyGuard Twins"), Some(Low));
    assert_eq!(conf("8015", "Alaris 8015 PC unit"), Some(Medium));
    assert_eq!(
        conf("Sigma Spectrum", "Sigma Spectrum 35700BAX2"),
        Some(Medium)
    );
    assert_eq!(conf("Alaris", "Alaris 8015 PC unit"), Some(Medium));
    assert_eq!(conf("Alaris PC Unit", "Alaris"), Some(Medium));
    assert_eq!(conf("Alaris PC Unit", "Alaris 8015"), Some(Low));
    assert_eq!(
        conf("MiniMed Paradigm 722K", "MiniMed Paradigm 522K/722K pumps"),
        Some(High)
    );
    assert_eq!(conf("Agilia Link+", "Agilia Link+"), Some(High));
    assert_eq!(conf("SpaceCom", "Space Com"), Some(High));
    assert_eq!(
        conf("Battery Pack SP with WiFi", "Battery pack SP with Wi-Fi"),
        Some(High)
    );

    let m = product_match(
        "Medfusion 4000",
        "Medfusion 4000 Wireless Syringe Infusion Pump",
    )
    .unwrap();
    assert!(m.reason.contains("model 4000 on both"), "{}", m.reason);
    let m = product_match("Sigma Spectrum", "Sigma Spectrum LVP").unwrap();
    assert!(m.reason.contains("lvp"), "{}", m.reason);
}

#[test]
fn product_names_that_do_not_match() {
    assert_eq!(conf("Alaris 8015", "Alaris 8000 PC unit"), None);
    assert_eq!(conf("Medfusion 3500", "Medfusion 4000"), None);
    assert_eq!(
        conf("Alaris PC Unit 8015", "Alaris Gateway Workstation"),
        None
    );
    assert_eq!(
        conf("Sigma Spectrum 35700BAX", "Sigma Spectrum 35700BAX2"),
        None
    );
    assert_eq!(conf("Infusomat Space", "Perfusor Space"), None);
    assert_eq!(conf("Alaris PC Unit", "Alaris Guardrails Editor"), None);
    assert_eq!(conf("", "Alaris"), None);
    assert_eq!(conf("BD", "BD Infusion Pump"), None);
    assert_eq!(conf("-- / --", "Alaris"), None);
}

#[test]
fn generations_do_not_match_high() {
    // IQ is the pump after the Sigma Spectrum: a product "Sigma Spectrum" is not an
    // asset "Spectrum IQ" (neither name is within the other).
    assert_eq!(conf("Spectrum IQ", "Sigma Spectrum"), None);
    assert_eq!(conf("Sigma Spectrum", "Baxter Spectrum IQ"), None);
    // A product named only "Spectrum" may be either: Low.
    assert_eq!(
        conf("Spectrum IQ", "Baxter Spectrum"),
        Some(Confidence::Low)
    );
    assert_eq!(
        conf("Sigma Spectrum", "Baxter Spectrum"),
        Some(Confidence::Medium)
    );
}

#[test]
fn vendor_words_given_by_the_caller_are_dropped() {
    let v = VendorAliases::default();
    let m = v
        .product_match("Acme Pumps", "Acme Volumat", "Volumat")
        .unwrap();
    assert_eq!(m.confidence, Confidence::High);
    // The canonical name's words too.
    let m = v
        .product_match(
            "Becton Dickinson",
            "Alaris PC Unit",
            "Becton, Dickinson and Company (BD) Alaris PC Unit",
        )
        .unwrap();
    assert_eq!(m.confidence, Confidence::High);
    assert!(v.product_match("Acme", "Acme", "Acme").is_none());
}

#[test]
fn cpe_names() {
    use Confidence::{High, Medium};
    let m = |av: &str, am: &str, cv: &str, cp: &str| {
        cpe_name_match(av, am, cv, cp).map(|m| m.confidence)
    };
    assert_eq!(
        m(
            "BD",
            "Alaris Gateway Workstation",
            "bd",
            "alaris_gateway_workstation_firmware"
        ),
        Some(High)
    );
    assert_eq!(
        m(
            "BD",
            "Alaris PC Unit 8015",
            "bd",
            "alaris_gateway_workstation_firmware"
        ),
        None
    );
    assert_eq!(
        m(
            "Becton Dickinson",
            "Alaris PC Unit 8015",
            "bd",
            "alaris_8015_pcu_firmware"
        ),
        Some(High)
    );
    // "syringe" says more than the asset does.
    assert_eq!(
        m("BD", "Alaris GS", "bd", "alaris_gs_syringe_pump"),
        Some(Medium)
    );
    assert_eq!(
        m(
            "BD",
            "Alaris GS Syringe Pump",
            "bd",
            "alaris_gs_syringe_pump"
        ),
        Some(High)
    );
    assert_eq!(m("BD", "Alaris GS", "bd", "alaris_gh_syringe_pump"), None);
    assert_eq!(
        m(
            "Baxter",
            "Sigma Spectrum",
            "baxter",
            "sigma_spectrum_infusion_system_firmware"
        ),
        Some(High)
    );
    assert_eq!(
        m(
            "Baxter",
            "Sigma Spectrum",
            "baxter",
            "sigma_spectrum_35700bax2_firmware"
        ),
        Some(Medium)
    );
    assert_eq!(
        m(
            "Baxter",
            "Sigma Spectrum 35700BAX2",
            "baxter",
            "sigma_spectrum_35700bax_firmware"
        ),
        None
    );
    assert_eq!(
        m(
            "Baxter",
            "Spectrum IQ 35700BAX3",
            "baxter",
            "baxter_spectrum_iq_35700bax3_firmware"
        ),
        Some(High)
    );
    assert_eq!(
        m(
            "Baxter",
            "Sigma Spectrum",
            "baxter",
            "spectrum_wireless_battery_module_firmware"
        ),
        None
    );
    assert_eq!(
        m(
            "Hospira",
            "LifeCare PCA",
            "hospira",
            "lifecare_pcainfusion_firmware"
        ),
        Some(High)
    );
    assert_eq!(
        m(
            "ICU Medical",
            "LifeCare PCA",
            "hospira",
            "lifecare_pcainfusion_firmware"
        ),
        Some(High)
    );
    assert_eq!(
        m(
            "Smiths Medical",
            "Medfusion 4000",
            "smiths-medical",
            "medfusion_4000_wireless_syringe_infusion_pump"
        ),
        Some(High)
    );
    assert_eq!(
        m("B. Braun Melsungen AG", "SpaceCom 2", "bbraun", "spacecom2"),
        Some(High)
    );
    // Another vendor's CPE never matches.
    assert_eq!(
        m(
            "Baxter",
            "Alaris Gateway Workstation",
            "bd",
            "alaris_gateway_workstation"
        ),
        None
    );
    assert_eq!(
        m(
            "Smiths Medical",
            "LifeCare PCA",
            "hospira",
            "lifecare_pcainfusion_firmware"
        ),
        None
    );
    // Escapes and a bare suffix.
    assert_eq!(m("BD", "Alaris 8.0", "bd", "alaris\\_8\\.0"), Some(High));
    assert_eq!(m("BD", "firmware", "bd", "_firmware"), None);
    let r = cpe_name_match(
        "BD",
        "Alaris Gateway Workstation",
        "bd",
        "alaris_gateway_workstation_firmware",
    )
    .unwrap();
    assert!(
        r.reason.starts_with("CPE bd:alaris_gateway_workstation:"),
        "{}",
        r.reason
    );
}

#[test]
fn run_together_words_split_only_on_real_parts() {
    assert_eq!(
        conf("LifeCare PCA", "lifecare pcainfusion"),
        Some(Confidence::High)
    );
    assert_eq!(conf("Alaris GS", "xalaris gs"), None);
}

proptest::proptest! {
    #[test]
    fn matching_never_panics(a in ".{0,40}", b in ".{0,40}", v in ".{0,20}") {
        let _ = product_match(&a, &b);
        let _ = cpe_name_match(&v, &a, &v, &b);
        let aliases = VendorAliases::default();
        let _ = aliases.canonical(&a);
        let _ = aliases.same_vendor(&a, &b);
        let mut extended = aliases.clone();
        let _ = extended.extend(&a, "fuzz.txt");
    }

    #[test]
    fn a_name_matches_itself(name in "[A-Za-z]{2,8}( [A-Za-z0-9]{2,6}){0,3}") {
        // High, or Medium when only a model number is left (`BD A0`).
        if let Some(m) = product_match(&name, &name) {
            proptest::prop_assert!(m.confidence >= Confidence::Medium, "{}", m.reason);
        }
    }
}

#[test]
fn long_input_is_cheap() {
    let long = "a".repeat(200_000);
    assert_eq!(product_match(&long, "alaris"), None);
    let words = "alaris ".repeat(20_000);
    assert!(product_match(&words, "alaris").is_some());
    assert_eq!(VendorAliases::default().canonical(&long), None);
}
