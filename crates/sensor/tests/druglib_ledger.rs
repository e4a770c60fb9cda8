//! The drug-library versions pumps report: on a simulated ward each pump's server sends
//! PCD-10 infusion events (ORU^R42) naming the pump by the EUI-64 of its MAC and the
//! library version of its family; the sensor reports one (pump, version) each, with the
//! pump's address and the server that reported it, however the batches fall.

use std::collections::BTreeMap;

use pumpguard_sensor::{LibraryReport, Sensor, SensorConfig};
use pumpguard_sim::profiles::PROFILES;
use pumpguard_sim::{Config, simulate};
use pumpguard_wire::PcapReader;

fn sense(seed: u64, every: u64) -> (pumpguard_sim::Truth, Vec<LibraryReport>) {
    let config = Config {
        pumps: 6,
        seed,
        minutes: 10,
        scenarios: Vec::new(),
        tcp_anomaly_permille: 0,
    };
    let mut capture = Vec::new();
    let truth = simulate(&config, &mut capture).expect("simulate");
    let mut reader = PcapReader::new(capture.as_slice()).expect("reader");
    let mut sensor = Sensor::new(SensorConfig::default());
    let mut reports = Vec::new();
    let mut n = 0u64;
    while let Some(frame) = reader.next_frame().expect("frame") {
        sensor.frame(&frame);
        n += 1;
        if n.is_multiple_of(every) {
            reports.extend(sensor.take_batch(false).druglib);
        }
    }
    sensor.finish();
    reports.extend(sensor.take_batch(true).druglib);
    (truth, reports)
}

#[test]
fn each_pump_reports_its_family_library_through_its_server() {
    let (truth, reports) = sense(5, u64::MAX);
    let pumps: Vec<_> = truth
        .devices
        .iter()
        .filter(|d| d.kind == "infusion_pump")
        .collect();
    assert_eq!(pumps.len(), 6);
    assert_eq!(
        reports.len(),
        6,
        "one (pump, version) per pump: {reports:#?}"
    );
    for pump in pumps {
        let mac = pump
            .mac
            .clone()
            .expect("a pump's MAC is on the captured segment");
        let r = reports
            .iter()
            .find(|r| r.pump.mac.map(|m| m.to_string()) == Some(mac.clone()))
            .unwrap_or_else(|| panic!("no report for {mac}: {reports:#?}"));
        let family = pump.family.expect("family");
        let profile = PROFILES
            .iter()
            .find(|p| p.family == family)
            .expect("profile");
        assert_eq!(r.version, profile.druglib_version, "{mac}");
        assert_eq!(r.pump.ip.map(|i| i.to_string()), Some(pump.ip.clone()));
        assert!(r.count >= 1 && r.first_seen <= r.last_seen);
        assert!(!r.flows.is_empty());
        // The family's pump server sent it.
        let server = truth
            .devices
            .iter()
            .find(|d| d.kind == "pump_server" && d.family == Some(family))
            .expect("the family's server");
        assert_eq!(
            r.reporter.ip.map(|i| i.to_string()),
            Some(server.ip.clone())
        );
        let eui = r.device.as_deref().expect("the message names the pump");
        assert_eq!(eui.len(), 16);
    }
}

#[test]
fn batches_split_reports_without_losing_any() {
    let (_, whole) = sense(5, u64::MAX);
    let (_, split) = sense(5, 97);
    let total = |rs: &[LibraryReport]| {
        let mut m: BTreeMap<(String, String), u64> = BTreeMap::new();
        for r in rs {
            let pump = r.pump.mac.map(|m| m.to_string()).unwrap_or_default();
            *m.entry((pump, r.version.clone())).or_default() += r.count;
        }
        m
    };
    assert_eq!(total(&whole), total(&split));
}
