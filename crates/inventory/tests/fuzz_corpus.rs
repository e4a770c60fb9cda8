//! Replays the cargo-fuzz corpus (`fuzz/corpus/inventory_csv`) through the parser on
//! stable Rust, so every input the fuzzer ever kept is re-checked in CI.

#[test]
fn the_fuzz_corpus_never_panics() {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fuzz/corpus/inventory_csv"
    );
    let mut n = 0;
    for entry in std::fs::read_dir(dir).expect("corpus directory") {
        let bytes = std::fs::read(entry.expect("entry").path()).expect("read");
        if let Ok(rows) = pumpguard_inventory::read_csv(bytes.as_slice()) {
            for row in rows {
                let _ = row.patch.apply(None, pumpguard_model::Source::Imported);
            }
        }
        n += 1;
    }
    assert!(n > 10, "corpus has only {n} inputs");
}
