// Proves: a Session never panics and stays bounded whatever a flow carries: arbitrary
// bytes, split into chunks from both sides with gaps, on every transport and port the
// classifier treats specially (and one it does not).
#![no_main]

use libfuzzer_sys::fuzz_target;
use pumpguard_proto::{App, Session, Side, Transport};

const PORTS: [(Transport, u16, u16); 16] = [
    (Transport::Tcp, 40000, 443),
    (Transport::Tcp, 40000, 80),
    (Transport::Tcp, 40000, 6661),
    (Transport::Tcp, 40000, 23),
    (Transport::Tcp, 40000, 21),
    (Transport::Tcp, 40000, 22),
    (Transport::Tcp, 40000, 53),
    (Transport::Tcp, 40000, 514),
    (Transport::Tcp, 40000, 9999),
    (Transport::Udp, 68, 67),
    (Transport::Udp, 40000, 53),
    (Transport::Udp, 5353, 5353),
    (Transport::Udp, 40000, 161),
    (Transport::Udp, 123, 123),
    (Transport::Udp, 40000, 514),
    (Transport::Udp, 40000, 9999),
];

fuzz_target!(|input: &[u8]| {
    let [sel, step, data @ ..] = input else { return };
    let (transport, client, server) = PORTS[usize::from(sel % 16)];
    // 255: the whole input in one piece (one whole datagram); else 1-64 bytes a piece.
    let step = if *step == 255 { data.len().max(1) } else { usize::from(step % 64) + 1 };
    let mut s = Session::new(transport, client, server);
    let mut out = Vec::new();
    for (i, c) in data.chunks(step).enumerate() {
        let side = if (sel >> 4) & (1 << (i % 4)) != 0 { Side::Server } else { Side::Client };
        s.on_data(side, c, &mut out);
        if transport == Transport::Tcp && sel & 0x80 != 0 && i % 7 == 6 {
            s.on_gap(side, c.len() as u64);
        }
    }
    if s.app() == App::FtpData {
        panic!("a session never labels itself ftp-data");
    }
});
