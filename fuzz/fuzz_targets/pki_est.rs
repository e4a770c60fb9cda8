//! What EST clients send and what the CA reads: any bytes as a DER PKCS#10 request
//! (common name, then issuance by a fixed CA), as a certs-only CMS SignedData, and as
//! PEM text. Each is a value or an error, never a panic; an issued certificate carries
//! the request's common name.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use pumpguard_pki::{CaBundle, IssueOptions, KeyAlgorithm, Profile};

fn ca() -> &'static CaBundle {
    static CA: OnceLock<CaBundle> = OnceLock::new();
    CA.get_or_init(|| {
        pumpguard_pki::init(
            "Fuzz",
            KeyAlgorithm::EcdsaP256,
            time::OffsetDateTime::now_utc(),
        )
        .expect("a CA")
    })
}

fuzz_target!(|data: &[u8]| {
    if let Ok(cn) = pumpguard_pki::csr_common_name(data) {
        let opts = IssueOptions {
            profile: Profile::Pump,
            validity_days: 30,
            now: time::OffsetDateTime::now_utc(),
            uris: Vec::new(),
            dns_names: Vec::new(),
            crl_url: None,
        };
        if let Ok(issued) = pumpguard_pki::issue_der(ca(), data, &opts) {
            assert_eq!(issued.common_name, cn);
        }
    }
    if let Ok(certs) = pumpguard_pki::est::certs_of(data) {
        let _ = pumpguard_pki::est::certs_only(&certs);
    }
    let text = String::from_utf8_lossy(data);
    let _ = pumpguard_pki::est::pem_blocks(&text, "CERTIFICATE");
});
