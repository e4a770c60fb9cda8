//! Replays the cargo-fuzz corpus (`fuzz/corpus/mac_addr`) through the MAC parser on
//! stable Rust: no panic, and every accepted address round-trips.

use pumpguard_model::MacAddr;

#[test]
fn the_fuzz_corpus_never_panics_and_round_trips() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fuzz/corpus/mac_addr");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).expect("corpus directory") {
        let bytes = std::fs::read(entry.expect("entry").path()).expect("read");
        if let Ok(text) = std::str::from_utf8(&bytes)
            && let Ok(mac) = text.parse::<MacAddr>()
        {
            assert_eq!(mac.to_string().parse::<MacAddr>(), Ok(mac));
        }
        n += 1;
    }
    assert!(n > 10, "corpus has only {n} inputs");
}
