//! The whole sensor (reader, decoder, flows, dissectors, identity) on 10,000 damaged
//! copies of the shared third-party captures and of a simulated ward: truncated, bits
//! flipped, bytes inserted and deleted. Nothing may panic; whatever reads is sensed.

use std::path::PathBuf;

use pumpguard_sensor::{Sensor, SensorConfig};
use pumpguard_wire::PcapReader;

/// A small deterministic generator (xorshift64*), so a failure names its case.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn captures() -> Vec<Vec<u8>> {
    let root = pumpguard_testkit::shared_data().join("pcap");
    let mut files: Vec<PathBuf> = Vec::new();
    for sub in ["ndpi", "tcpdump", "packetgen"] {
        for e in std::fs::read_dir(root.join(sub))
            .expect("shared captures")
            .flatten()
        {
            let p = e.path();
            let n = p.to_string_lossy().into_owned();
            if n.ends_with(".pcap") || n.ends_with(".pcapng") {
                files.push(p);
            }
        }
    }
    files.sort();
    let mut out: Vec<Vec<u8>> = files
        .iter()
        .map(|p| std::fs::read(p).expect("read"))
        .collect();
    let mut ward = Vec::new();
    let config = pumpguard_sim::Config {
        pumps: 8,
        seed: 5,
        minutes: 3,
        scenarios: pumpguard_sim::Scenario::ALL.to_vec(),
        tcp_anomaly_permille: 20,
    };
    pumpguard_sim::simulate(&config, &mut ward).expect("simulate");
    out.push(ward);
    out
}

fn sense(bytes: &[u8]) -> usize {
    let Ok(mut reader) = PcapReader::new(bytes) else {
        return 0;
    };
    let mut sensor = Sensor::new(SensorConfig {
        max_flows: 1_000,
        // Learning a baseline, then watching with it: the detectors' clock and
        // accounting see damaged timestamps too.
        learn: pumpguard_sensor::Learn::FirstMinutes(1),
        ..SensorConfig::default()
    });
    while let Ok(Some(frame)) = reader.next_frame() {
        sensor.frame(&frame);
    }
    sensor.finish();
    let batch = sensor.take_batch(true);
    batch.flows.len() + batch.sightings.len()
}

#[test]
fn damaged_captures_never_panic() {
    let originals = captures();
    // The undamaged captures sense to something.
    for (i, c) in originals.iter().enumerate() {
        assert!(sense(c) > 0, "capture {i} senses to nothing");
    }
    let mut rng = Rng(0x05ee_d0f5_e45e);
    for case in 0..10_000 {
        let mut c = originals[case % originals.len()].clone();
        // The simulated ward is large: damage a window of it.
        if c.len() > 200_000 {
            let start = rng.below(c.len() - 100_000);
            let header: Vec<u8> = c[..c.len().min(2_048)].to_vec();
            c = [header, c[start..start + 100_000].to_vec()].concat();
        }
        match rng.below(4) {
            0 => c.truncate(rng.below(c.len())),
            1 => {
                for _ in 0..1 + rng.below(16) {
                    let at = rng.below(c.len());
                    c[at] ^= 1 << rng.below(8);
                }
            }
            2 => {
                let at = rng.below(c.len());
                let n = 1 + rng.below(64);
                let junk: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
                c.splice(at..at, junk);
            }
            _ => {
                let at = rng.below(c.len());
                let n = (1 + rng.below(64)).min(c.len() - at);
                c.drain(at..at + n);
            }
        }
        let result = std::panic::catch_unwind(|| sense(&c));
        assert!(result.is_ok(), "case {case} panicked");
    }
}

/// Snapshots of live flows hand over increases only: however often they are taken, the
/// flows add up to the same counters and one session per flow as without them.
#[test]
fn live_snapshots_add_up_to_the_same_flows() {
    use std::collections::BTreeMap;
    let mut ward = Vec::new();
    let config = pumpguard_sim::Config {
        pumps: 10,
        seed: 9,
        minutes: 4,
        scenarios: vec![],
        tcp_anomaly_permille: 5,
    };
    pumpguard_sim::simulate(&config, &mut ward).expect("simulate");
    let run = |every: Option<usize>| {
        let mut reader = PcapReader::new(ward.as_slice()).expect("capture");
        let mut sensor = Sensor::new(SensorConfig::default());
        let mut records = Vec::new();
        let mut n = 0;
        while let Ok(Some(frame)) = reader.next_frame() {
            sensor.frame(&frame);
            n += 1;
            if every.is_some_and(|k| n % k == 0) {
                sensor.snapshot_live();
                records.extend(sensor.take_batch(false).flows);
            }
        }
        sensor.finish();
        records.extend(sensor.take_batch(true).flows);
        let mut sum: BTreeMap<String, [u64; 5]> = BTreeMap::new();
        for f in records {
            let key = format!(
                "{} {}:{} {}:{}",
                f.proto, f.client_ip, f.client_port, f.server_ip, f.server_port
            );
            let e = sum.entry(key).or_default();
            e[0] += f.packets_to_server;
            e[1] += f.packets_to_client;
            e[2] += f.bytes_to_server;
            e[3] += f.bytes_to_client;
            e[4] += f.sessions;
        }
        sum
    };
    let plain = run(None);
    assert!(plain.len() > 50, "{} flows", plain.len());
    assert_eq!(run(Some(97)), plain);
    assert_eq!(run(Some(1_000)), plain);
}

/// The fuzz corpus of the `sensor_capture` target (fuzz/corpus/sensor_capture), replayed
/// on every test run.
#[test]
fn fuzz_corpus_replays_without_panic() {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fuzz/corpus/sensor_capture"
    );
    let entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("the sensor_capture corpus")
        .flatten()
        .map(|e| e.path())
        .collect();
    assert!(entries.len() > 100, "{} inputs", entries.len());
    for p in entries {
        let bytes = std::fs::read(&p).expect("read");
        let result = std::panic::catch_unwind(|| sense(&bytes));
        assert!(result.is_ok(), "{} panicked", p.display());
    }
}
