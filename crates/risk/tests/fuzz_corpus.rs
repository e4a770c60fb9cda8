//! Replays the cargo-fuzz corpus (`fuzz/corpus/risk_mds2`) on stable Rust: every input
//! reads into a form or a placed one-line error, never a panic. The hand-made seeds
//! (named, not SHA-1s) are forms that read.

use pumpguard_risk::Bank;
use pumpguard_risk::mds2::{capabilities, read};

#[test]
fn the_mds2_fuzz_corpus_never_panics() {
    let caps = capabilities(&Bank::builtin().expect("bank"));
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fuzz/corpus/risk_mds2");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).expect("corpus directory") {
        let path = entry.expect("entry").path();
        let bytes = std::fs::read(&path).expect("read");
        let name = path.file_name().and_then(|f| f.to_str()).unwrap_or("");
        match read(name, &bytes, &caps) {
            Ok(form) => assert!(form.answers.iter().all(|a| caps.contains(&a.capability))),
            Err(e) => {
                assert!(
                    !e.place.is_empty() && !e.message.contains('\n'),
                    "{name}: {e}"
                );
                assert!(name.len() == 40, "seed {name} does not read: {e}");
            }
        }
        n += 1;
    }
    assert!(n >= 3, "corpus has only {n} inputs");
}
