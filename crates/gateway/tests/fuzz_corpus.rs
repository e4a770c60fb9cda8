//! Replays the cargo-fuzz corpus (`fuzz/corpus/gateway_session`) on stable Rust: each
//! input (its first byte the read size, the rest what a sender writes) goes through one
//! gateway connection with the pump server unreachable; no panic, at most one reply per
//! frame. The seeds (`seed-*`) get the replies they should: AR for an order over the
//! hard limit, AE "not delivered" for one within it.

use std::sync::Arc;

use pumpguard_druglib::DrugLibrary;
use pumpguard_gateway::proxy::{Event, Events, Gateway, Limits, Loaded, Sender, Upstream};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const LIBRARY: &str = "name: ICU\nversion: '1'\ncare_area: ICU\nentries:\n  - drug: Dopamine\n    code: \"1234\"\n    dose_unit: ug/kg/min\n    soft_max: 20\n    hard_max: 25\n";

struct Quiet;
impl Events for Quiet {
    fn record(&self, _: Event) {}
}

async fn session(gateway: Arc<Gateway>, input: &[u8]) -> Vec<u8> {
    let Some((&step, data)) = input.split_first() else {
        return Vec::new();
    };
    let step = usize::from(step) * 7 + 1;
    let (mut client, server) = tokio::io::duplex(64 * 1024);
    let sender = Sender {
        address: "127.0.0.1:40000".parse().expect("addr"),
        certificate: None,
    };
    let task = tokio::spawn(gateway.serve_connection(server, sender));
    let (mut read, mut write) = tokio::io::split(&mut client);
    let writer = async {
        for chunk in data.chunks(step) {
            if write.write_all(chunk).await.is_err() {
                break;
            }
        }
        let _ = write.shutdown().await;
    };
    let mut back = Vec::new();
    let (_, r) = tokio::join!(writer, read.read_to_end(&mut back));
    let _ = r;
    task.await.expect("no panic");
    back
}

#[tokio::test(flavor = "current_thread")]
async fn the_gateway_session_corpus_never_panics_and_its_seeds_get_their_replies() {
    let library = DrugLibrary::parse(LIBRARY, "icu.yaml").expect("library");
    let gateway = Arc::new(Gateway::new(
        Loaded {
            library,
            label: "ICU 1".into(),
        },
        None,
        Upstream {
            address: "127.0.0.1:1".into(),
            tls: None,
        },
        Limits {
            max_frame: 16 * 1024,
            ..Limits::default()
        },
        Arc::new(Quiet),
    ));
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fuzz/corpus/gateway_session"
    );
    let mut seeds = 0;
    for entry in std::fs::read_dir(dir).expect("corpus directory") {
        let path = entry.expect("entry").path();
        let input = std::fs::read(&path).expect("read");
        let name = path
            .file_name()
            .and_then(|f| f.to_str())
            .unwrap_or("")
            .to_owned();
        let frames = input.iter().skip(1).filter(|b| **b == 0x1c).count();
        let back = session(gateway.clone(), &input).await;
        let replies = back.iter().filter(|b| **b == 0x0b).count();
        assert!(
            replies <= frames,
            "{name}: {replies} replies to {frames} frames"
        );
        let text = String::from_utf8_lossy(&back);
        match name.as_str() {
            "seed-order-over-hard" => assert!(text.contains("MSA|AR|100"), "{text}"),
            "seed-order-within" => {
                assert!(
                    text.contains("MSA|AE|100") && text.contains("not delivered"),
                    "{text}"
                )
            }
            "seed-two-orders" => assert_eq!(replies, 2, "{text}"),
            _ => {}
        }
        if name.starts_with("seed-") {
            seeds += 1;
        }
    }
    assert_eq!(seeds, 5);
}
