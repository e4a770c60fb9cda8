//! Signed drug libraries: any bytes as a COSE_Sign1 envelope, opened without a key and
//! verified with a fixed one. Never a panic; nothing verifies unless it was signed by
//! that key (the fuzzer cannot forge an Ed25519 signature), and an envelope that opens
//! carries a library that parsed.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use pumpguard_druglib::signed;

fn key() -> &'static signed::KeyPair {
    static KEY: OnceLock<signed::KeyPair> = OnceLock::new();
    KEY.get_or_init(signed::keygen)
}

fuzz_target!(|data: &[u8]| {
    if let Ok(opened) = signed::open_unverified(data, "fuzz.cose") {
        let text = std::str::from_utf8(&opened.bytes).expect("an opened payload is text");
        let again = pumpguard_druglib::DrugLibrary::parse(text, "payload")
            .expect("an opened payload parses again");
        assert_eq!(again, opened.library);
    }
    assert!(
        signed::verify(&key().public_pem, data, "fuzz.cose").is_err(),
        "a fuzzer-made envelope verified with a fresh key"
    );
});
