//! Live capture on the loopback interface (cargo feature `live`; needs libpcap-dev, and
//! root or CAP_NET_RAW: skips, saying why, when the interface cannot be opened).
//! Sends UDP datagrams to 127.0.0.1 only.
#![cfg(feature = "live")]

use std::net::UdpSocket;
use std::time::{Duration, Instant};

use pumpguard_wire::{CaptureError, Decoder, FlowConfig, FlowTable, L4, LiveCapture};

#[test]
fn a_bad_filter_is_an_error_naming_it() {
    match LiveCapture::open("lo", Some("port nonsense")) {
        Err(CaptureError::Filter { filter, .. }) => assert_eq!(filter, "port nonsense"),
        Err(CaptureError::Live { message, .. }) => {
            eprintln!("skipping: cannot open lo: {message}");
        }
        other => panic!("expected a filter error, got {other:?}"),
    }
}

#[test]
fn loopback_datagrams_are_captured_decoded_and_accounted() {
    let port = 47_000 + (std::process::id() % 1000) as u16;
    let filter = format!("udp and dst port {port}");
    let mut cap = match LiveCapture::open("lo", Some(&filter)) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("skipping: {e}");
            return;
        }
    };
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let mut decoder = Decoder::new();
    let mut table: FlowTable<Vec<u8>> = FlowTable::new(FlowConfig::default());
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut seen = 0;
    let mut timeouts = 0;
    while seen < 3 && Instant::now() < deadline {
        socket
            .send_to(b"pumpguard", ("127.0.0.1", port))
            .expect("send");
        match cap.next_frame().expect("read") {
            Some(frame) => decoder.decode(&frame, |pkt| {
                if let L4::Udp { dst_port, .. } = pkt.l4 {
                    assert_eq!(dst_port, port);
                    seen += 1;
                    table.process(pkt, |f, _, d| {
                        if let pumpguard_wire::Data::Bytes(b) = d {
                            f.state.extend_from_slice(b);
                        }
                    });
                }
            }),
            None => timeouts += 1,
        }
    }
    assert!(seen >= 3, "saw {seen} datagrams ({timeouts} read timeouts)");
    assert_eq!(table.len(), 1);
    table.drain();
    table.take_ended(|f, _| assert!(f.state.starts_with(b"pumpguardpumpguard")));
    let (received, _dropped) = cap.stats().expect("stats");
    assert!(received >= 3);
}
