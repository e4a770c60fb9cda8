//! Replays the cargo-fuzz corpus (`fuzz/corpus/fleet_message`) on stable Rust: every
//! input is decoded as a sensor message on the subject its first byte picks, and opened
//! as a spool file, without a panic. The hand-made seeds (`seed-*`) read: a flows
//! message, a heartbeat, and a spool of two records.

use pumpguard_fleet::schema;
use pumpguard_fleet::spool::Spool;

const SUBJECTS: [&str; 7] = [
    "pumpguard.v1.ward-1.sightings",
    "pumpguard.v1.ward-1.flows",
    "pumpguard.v1.ward-1.detections",
    "pumpguard.v1.ward-1.druglib",
    "pumpguard.v1.ward-1.heartbeat",
    "pumpguard.v1.ward-1",
    "pumpguard.v2.ward-1.flows",
];

#[test]
fn the_fleet_fuzz_corpus_never_panics_and_its_seeds_read() {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fuzz/corpus/fleet_message"
    );
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut seeds = 0;
    for entry in std::fs::read_dir(dir).expect("corpus directory") {
        let path = entry.expect("entry").path();
        let bytes = std::fs::read(&path).expect("read");
        let Some((&pick, body)) = bytes.split_first() else {
            continue;
        };
        let subject = SUBJECTS[usize::from(pick) % SUBJECTS.len()];
        let decoded = schema::decode(subject, body);
        let file = tmp.path().join("s.spool");
        std::fs::write(&file, body).expect("write");
        let _ = std::fs::remove_file(tmp.path().join("s.spool.pos"));
        let spool = Spool::open(&file, 1 << 20);
        if let Ok(s) = &spool {
            let _ = s.peek(usize::MAX);
        }
        match path.file_name().and_then(|f| f.to_str()).unwrap_or("") {
            "seed-flows" => {
                let m = decoded.expect("the seed message reads");
                assert_eq!(m.id, "ward-1.0193aa.1");
                assert_eq!(m.flows.len(), 1);
                seeds += 1;
            }
            "seed-heartbeat" => {
                let m = decoded.expect("the seed heartbeat reads");
                assert!(m.flows.is_empty() && m.sightings.is_empty());
                seeds += 1;
            }
            "seed-spool" => {
                let spool = spool.expect("the seed spool opens");
                assert_eq!(spool.pending(), 2);
                let all = spool.peek(10).expect("reads");
                assert_eq!(all[1].0.id, "ward-1.0193aa.2");
                seeds += 1;
            }
            _ => {}
        }
    }
    assert_eq!(seeds, 3, "the three seeds are in the corpus");
}
