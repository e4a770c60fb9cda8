//! The gateway's handling of what a sender writes: any bytes, in arbitrary reads, into
//! one connection (the pump server unreachable, so whatever would be forwarded is
//! answered instead). It never panics, ends when the sender closes, and what it writes
//! back is bounded by what came in: at most one reply per frame the sender sent, and
//! frames over the limit end the connection instead of being buffered.
#![no_main]

use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use pumpguard_druglib::DrugLibrary;
use pumpguard_gateway::proxy::{Event, Events, Gateway, Limits, Loaded, Sender, Upstream};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const LIBRARY: &str = "name: ICU\nversion: '1'\ncare_area: ICU\nentries:\n  - drug: Dopamine\n    code: \"1234\"\n    dose_unit: ug/kg/min\n    soft_max: 20\n    hard_max: 25\n";
const MAX_FRAME: usize = 16 * 1024;

struct Quiet;
impl Events for Quiet {
    fn record(&self, _: Event) {}
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
    })
}

fn gateway() -> Arc<Gateway> {
    static GW: OnceLock<Arc<Gateway>> = OnceLock::new();
    GW.get_or_init(|| {
        let library = DrugLibrary::parse(LIBRARY, "icu.yaml").expect("library");
        // Port 1 on loopback: nothing listens, connecting fails at once.
        Arc::new(Gateway::new(
            Loaded { library, label: "ICU 1".into() },
            None,
            Upstream { address: "127.0.0.1:1".into(), tls: None },
            Limits { max_frame: MAX_FRAME, ..Limits::default() },
            Arc::new(Quiet),
        ))
    })
    .clone()
}

fuzz_target!(|input: &[u8]| {
    let Some((&step, data)) = input.split_first() else { return };
    let step = usize::from(step) * 7 + 1;
    let frames = data.iter().filter(|b| **b == 0x1c).count();
    runtime().block_on(async {
        let (mut client, server) = tokio::io::duplex(64 * 1024);
        let sender = Sender { address: "127.0.0.1:40000".parse().expect("addr"), certificate: None };
        let task = tokio::spawn(gateway().serve_connection(server, sender));
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
        let reader = read.read_to_end(&mut back);
        let (_, read_result) = tokio::join!(writer, reader);
        let _ = read_result;
        task.await.expect("the connection task does not panic");
        let replies = back.iter().filter(|b| **b == 0x0b).count();
        assert!(replies <= frames, "{replies} replies to {frames} frames");
    });
});
