// Proves: TLS record/handshake reassembly, the hello and certificate parsers never panic;
// feeding a direction in chunks of 1–16 bytes yields exactly the events of feeding it
// whole.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pumpguard_proto::{Side, tls};

fuzz_target!(|input: &[u8]| {
    let Some((&step, data)) = input.split_first() else { return };
    let step = usize::from(step % 16) + 1;
    let side = if step % 2 == 0 { Side::Client } else { Side::Server };
    let mut whole = Vec::new();
    tls::TlsStream::new().on_data(side, data, &mut whole);
    let mut chunked = Vec::new();
    let mut s = tls::TlsStream::new();
    for c in data.chunks(step) {
        s.on_data(side, c, &mut chunked);
    }
    assert_eq!(whole, chunked, "step {step}");
    let _ = tls::handshake_message(data);
    let _ = tls::certificate(data);
    let _ = tls::parse_sslv2_client_hello(data);
});
