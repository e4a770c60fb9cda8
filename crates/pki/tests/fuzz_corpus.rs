//! Replays the cargo-fuzz corpus (`fuzz/corpus/pki_est`) on stable Rust: every input is
//! read as a DER CSR (and issued), as certs-only CMS and as PEM without a panic. The
//! hand-made seeds (`seed-*`) read: openssl's CSRs (P-256, RSA), an EST answer, a chain.

use pumpguard_pki::{IssueOptions, KeyAlgorithm, Profile};

#[test]
fn the_est_fuzz_corpus_never_panics_and_its_seeds_read() {
    let now = time::OffsetDateTime::now_utc();
    let ca = pumpguard_pki::init("Fuzz", KeyAlgorithm::EcdsaP256, now).expect("CA");
    let opts = IssueOptions {
        profile: Profile::Pump,
        validity_days: 30,
        now,
        uris: Vec::new(),
        dns_names: Vec::new(),
        crl_url: None,
    };
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fuzz/corpus/pki_est");
    let mut seeds = 0;
    for entry in std::fs::read_dir(dir).expect("corpus directory") {
        let path = entry.expect("entry").path();
        let bytes = std::fs::read(&path).expect("read");
        let name = path.file_name().and_then(|f| f.to_str()).unwrap_or("");
        let cn = pumpguard_pki::csr_common_name(&bytes);
        let issued = pumpguard_pki::issue_der(&ca, &bytes, &opts);
        let certs = pumpguard_pki::est::certs_of(&bytes);
        let pem = pumpguard_pki::est::pem_blocks(&String::from_utf8_lossy(&bytes), "CERTIFICATE");
        if name.starts_with("seed-csr") {
            let cn = cn.expect("a seed CSR reads");
            assert_eq!(issued.expect("and is issued").common_name, cn);
            seeds += 1;
        } else if name.starts_with("seed-certs-only") {
            assert_eq!(certs.expect("a seed answer reads").len(), 1);
            seeds += 1;
        } else if name.starts_with("seed-chain") {
            assert_eq!(pem.expect("a seed chain reads").len(), 2);
            seeds += 1;
        }
    }
    assert_eq!(seeds, 4, "the four seeds are in the corpus");
}
