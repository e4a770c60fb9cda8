//! Replays the cargo-fuzz corpus (`fuzz/corpus/audit_export`) through the export
//! reader on stable Rust; the real export seed must verify.

#[test]
fn the_fuzz_corpus_never_panics_and_the_real_seed_verifies() {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fuzz/corpus/audit_export"
    );
    let mut n = 0;
    for entry in std::fs::read_dir(dir).expect("corpus directory") {
        let path = entry.expect("entry").path();
        let bytes = std::fs::read(&path).expect("read");
        let result = pumpguard_audit::read_export(bytes.as_slice());
        if path.file_name().is_some_and(|f| f == "seed.jsonl") {
            assert_eq!(
                result.expect("seed.jsonl is a real, intact export").entries,
                9
            );
        }
        n += 1;
    }
    assert!(n > 10, "corpus has only {n} inputs");
}
