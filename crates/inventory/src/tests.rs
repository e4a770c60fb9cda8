use super::*;
use proptest::prelude::*;
use pumpguard_model::{AssetKind, Criticality, Lifecycle, Source};

const HEADER: &str =
    "asset_id,kind,vendor,model,firmware,serial,mac,ip,location,zone,criticality\n";

#[test]
fn reads_the_issue_header_with_quotes_and_mac_forms() {
    let text = format!(
        "{HEADER}PUMP-1,infusion_pump,\"B. Braun\",\"Infusomat Space, LVP\",L686,SN1,00-12-21-AA-BB-01,10.20.0.5,ICU-3,pumps,life_sustaining\n\
         SRV-1,pump_server,Baxter,Dose IQ,,,5842.E4AA.0002,10.30.0.2;10.30.1.2,DC-1,pump_servers,\n"
    );
    let rows = read_csv(text.as_bytes()).expect("valid");
    assert_eq!(rows.len(), 2);
    let p = &rows[0].patch;
    assert_eq!(rows[0].line, 2);
    assert_eq!(p.model, Some(Some("Infusomat Space, LVP".into())));
    assert_eq!(
        p.mac.expect("mac").expect("set").to_string(),
        "00:12:21:aa:bb:01"
    );
    assert_eq!(p.criticality, Some(Criticality::LifeSustaining));
    let s = &rows[1].patch;
    assert_eq!(s.kind, Some(AssetKind::PumpServer));
    assert_eq!(s.firmware, Some(None), "empty field clears");
    assert_eq!(s.criticality, None, "empty criticality takes the default");
    assert_eq!(s.ips.as_ref().expect("ips").len(), 2);
}

#[test]
fn errors_name_the_line() {
    let text = format!(
        "{HEADER}P1,infusion_pump,,,,,00:12:21:00:00:01,,,,\nP2,infusion_pump,,,,,00:12:21:00:00:zz,,,,\n"
    );
    let err = read_csv(text.as_bytes()).unwrap_err();
    assert_eq!(err.line, 3);
    assert!(
        err.why.contains("invalid MAC address '00:12:21:00:00:zz'"),
        "{err}"
    );

    let cases = [
        (
            "asset_id,kind,zoen\nP1,other,x\n",
            1,
            "unknown column 'zoen'",
        ),
        ("asset_id,vendor\n", 1, "missing required column 'kind'"),
        ("asset_id,kind,kind\n", 1, "appears twice"),
        ("asset_id,kind\nP1,pump\n", 2, "unknown kind 'pump'"),
        ("asset_id,kind\nP1\n", 2, "1 fields"),
        (
            "asset_id,kind\n\nP1,other\n,other\n",
            4,
            "asset_id is empty",
        ),
        (
            "asset_id,kind,ip\nP1,other,10.0.0.300\n",
            2,
            "invalid IP address",
        ),
        (
            "asset_id,kind,criticality\nP1,other,urgent\n",
            2,
            "unknown criticality",
        ),
        (
            "asset_id,kind,mac\nP1,other,ff:ff:ff:ff:ff:ff\n",
            2,
            "group address",
        ),
        (
            "asset_id,kind,location\n\"P1\nX\",other,a\n",
            2,
            "control character",
        ),
        ("asset_id,kind,vendor\nP1,other,\"a\"b\"\n", 2, "P1"),
        ("", 1, "empty file"),
    ];
    for (text, line, needle) in cases {
        match read_csv(text.as_bytes()) {
            Ok(rows) if needle == "P1" => assert_eq!(rows.len(), 1),
            Ok(rows) => panic!("{text:?} accepted: {rows:?}"),
            Err(e) => {
                assert_eq!(e.line, line, "{text:?}: {e}");
                assert!(e.why.contains(needle), "{text:?}: {e}");
            }
        }
    }
}

#[test]
fn bom_and_header_case_are_tolerated() {
    let text = "\u{feff}Asset_ID, Kind ,MAC\nP1,network,001A2B3C4D5E\n";
    let rows = read_csv(text.as_bytes()).expect("valid");
    assert_eq!(
        rows[0].patch.mac.expect("mac").expect("set").to_string(),
        "00:1a:2b:3c:4d:5e"
    );
    assert_eq!(rows[0].patch.vendor, None, "column absent: untouched");
}

#[test]
fn export_re_imports_to_the_same_assets() {
    let mut a = Asset::new(
        "P,1".parse().expect("id"),
        AssetKind::InfusionPump,
        Source::Imported,
    );
    a.vendor = Some("Smiths \"Medical\"".into());
    a.mac = Some("00:1a:01:00:00:01".parse().expect("mac"));
    a.ips = vec![
        "10.20.0.7".parse().expect("ip"),
        "fe80::7".parse().expect("ip"),
    ];
    a.lifecycle = Lifecycle::Quarantined;
    let mut out = Vec::new();
    write_csv(&mut out, std::slice::from_ref(&a)).expect("write");
    let rows = read_csv(out.as_slice()).expect("re-read");
    let back = rows[0]
        .patch
        .apply(None, Source::Imported)
        .expect("applies");
    // A new asset starts in service; the lifecycle column moves it on from there.
    assert_eq!(back, a);
}

proptest! {
    #[test]
    fn never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let mut input = HEADER.as_bytes().to_vec();
        input.extend(bytes);
        let _ = read_csv(input.as_slice());
    }
}
