//! What reaches a central ingester and a sensor's spool: any bytes as a sensor message
//! (the first byte picks the subject it came on) and as a spool file. Decoding is a
//! message or an error, never a panic, and a decoded message's id names its sensor;
//! opening a spool is a spool or an error naming the place, and reading it never
//! panics or returns more than it counted.
#![no_main]

use libfuzzer_sys::fuzz_target;
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

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let subject = SUBJECTS[usize::from(pick) % SUBJECTS.len()];
    if let Ok(m) = schema::decode(subject, body) {
        assert_eq!(m.sensor, "ward-1");
        assert!(m.id.starts_with("ward-1."));
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("s.spool");
    std::fs::write(&path, body).expect("write");
    if let Ok(spool) = Spool::open(&path, 1 << 20) {
        let pending = spool.pending();
        if let Ok(all) = spool.peek(usize::MAX) {
            assert!(all.len() as u64 <= pending);
        }
    }
});
