//! Replays the cargo-fuzz corpus (`fuzz/corpus/druglib_signed`) on stable Rust: every
//! input opens or is refused without a panic, and none verifies with a fresh key. The
//! seed (`seed-icu.cose`, made by `pumpguard druglib sign`) opens to its library.

use pumpguard_druglib::signed;

#[test]
fn the_signed_library_corpus_never_panics_and_nothing_verifies_with_another_key() {
    let key = signed::keygen();
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fuzz/corpus/druglib_signed"
    );
    let mut seeds = 0;
    for entry in std::fs::read_dir(dir).expect("corpus directory") {
        let path = entry.expect("entry").path();
        let bytes = std::fs::read(&path).expect("read");
        let name = path.file_name().and_then(|f| f.to_str()).unwrap_or("");
        let opened = signed::open_unverified(&bytes, name);
        assert!(
            signed::verify(&key.public_pem, &bytes, name).is_err(),
            "{name}"
        );
        if name.starts_with("seed-") {
            let lib = opened.expect("the seed opens").library;
            assert_eq!(lib.name, "ICU Adult");
            seeds += 1;
        }
    }
    assert_eq!(seeds, 1);
}
