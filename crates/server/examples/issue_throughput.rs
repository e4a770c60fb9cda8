//! Certificates issued per second from CSRs, in process: the CA library alone, and the
//! way `pki issue` and EST do it (issued, recorded and audited in a SQLite store).
//! `cargo run --release -p pumpguard-server --example issue_throughput -- CSR_DIR`
//! prints `library N/s` and `recorded N/s` lines for bench/pki.sh.

#![allow(clippy::print_stdout, clippy::unwrap_used)]

use std::time::Instant;

use pumpguard_pki::{IssueOptions, KeyAlgorithm, Profile};
use pumpguard_server::authority::{self, Csr};
use pumpguard_store::{CaRecord, Store};

fn main() {
    let dir = std::env::args()
        .nth(1)
        .expect("usage: issue_throughput CSR_DIR");
    let mut csrs: Vec<String> = std::fs::read_dir(&dir)
        .expect("CSR directory")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "csr"))
        .map(|p| std::fs::read_to_string(p).expect("CSR"))
        .collect();
    csrs.sort();
    let now = time::OffsetDateTime::now_utc();
    let ca = pumpguard_pki::init("Bench Hospital", KeyAlgorithm::EcdsaP256, now).unwrap();
    let opts = IssueOptions {
        profile: Profile::Pump,
        validity_days: 825,
        now,
        uris: Vec::new(),
        dns_names: Vec::new(),
        crl_url: Some("http://pki.example/pki/crl"),
    };

    let start = Instant::now();
    for c in &csrs {
        pumpguard_pki::issue(&ca, c, &opts).unwrap();
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "library {:.0}/s ({} certificates)",
        csrs.len() as f64 / secs,
        csrs.len()
    );

    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::open(&format!("sqlite://{}", tmp.path().join("b.db").display()))
            .await
            .unwrap();
        store
            .pki_init(
                "bench",
                &CaRecord {
                    name: ca.name.clone(),
                    algorithm: "ecdsa-p256".into(),
                    root_cert: ca.root_cert.clone(),
                    root_key: "sealed".into(),
                    issuing_cert: ca.issuing_cert.clone(),
                    issuing_key: "sealed".into(),
                    created: pumpguard_model::time::now(),
                    crl_number: 0,
                },
            )
            .await
            .unwrap();
        let start = Instant::now();
        for c in &csrs {
            authority::issue(&store, &ca, "bench", Csr::Pem(c), "pump", &opts)
                .await
                .unwrap();
        }
        let secs = start.elapsed().as_secs_f64();
        println!(
            "recorded {:.0}/s ({} certificates)",
            csrs.len() as f64 / secs,
            csrs.len()
        );
        store.close().await;
    });
}
