// Proves: the HTTP/1 head parser and body skipper never panic; a connection fed in chunks
// of 1–16 bytes yields exactly the heads of feeding each direction whole; gaps never
// panic either.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pumpguard_proto::{Side, http};

fuzz_target!(|input: &[u8]| {
    let [step, split, data @ ..] = input else { return };
    let step = usize::from(step % 16) + 1;
    let at = usize::from(*split) * data.len() / 256;
    let (client, server) = data.split_at(at);
    let mut whole = Vec::new();
    let mut s = http::HttpStream::new();
    s.on_data(Side::Client, client, &mut whole);
    s.on_data(Side::Server, server, &mut whole);
    let mut chunked = Vec::new();
    let mut s = http::HttpStream::new();
    for c in client.chunks(step) {
        s.on_data(Side::Client, c, &mut chunked);
    }
    for c in server.chunks(step) {
        s.on_data(Side::Server, c, &mut chunked);
    }
    assert_eq!(whole, chunked, "step {step}");
    let mut s = http::HttpStream::new();
    for (i, c) in data.chunks(step).enumerate() {
        let side = if i % 3 == 0 { Side::Server } else { Side::Client };
        s.on_data(side, c, &mut chunked);
        if i % 5 == 4 {
            s.on_gap(side, c.len() as u64 * 7);
        }
    }
});
