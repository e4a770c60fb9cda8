//! Replays the cargo-fuzz corpus (`fuzz/corpus/vuln_read`) on stable Rust: every input
//! reads or is refused with a placed error, and every version text in what it reads
//! parses and checks, without a panic. The hand-made seeds read.

use pumpguard_model::VulnImport;

#[test]
fn the_fuzz_corpus_never_panics() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fuzz/corpus/vuln_read");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).expect("corpus directory") {
        let path = entry.expect("entry").path();
        let bytes = std::fs::read(&path).expect("read");
        let name = path.file_name().and_then(|f| f.to_str()).unwrap_or("");
        match pumpguard_vuln::read(&bytes, name) {
            Ok(imports) => {
                for i in imports {
                    if let VulnImport::Advisory(a) = i {
                        for p in &a.products {
                            if let Some(v) = &p.version {
                                let c = pumpguard_vuln::version::parse(v, p.version_is_range);
                                let _ = c.check(Some("9.33.1"));
                                let _ = c.check(None);
                            }
                        }
                    }
                }
            }
            Err(e) => {
                assert!(!e.place.is_empty(), "{name}: {e}");
                // The hand-made seeds (named, not SHA-1s) are all valid documents.
                assert!(name.len() == 40, "seed {name} does not read: {e}");
            }
        }
        if let Ok(text) = std::str::from_utf8(&bytes) {
            let _ = pumpguard_vuln::version::parse(text, true).check(Some(text));
        }
        n += 1;
    }
    assert!(n >= 6, "corpus has only {n} inputs");
}
