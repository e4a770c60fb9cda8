//! Replays the cargo-fuzz corpora (`fuzz/corpus/proto_*`) on stable Rust with the fuzz
//! targets' properties: nothing panics, chunked feeding equals whole feeding for TLS and
//! HTTP, classification rules only accept what parses.

use pumpguard_proto::{App, Event, Session, Side, Transport, dhcp, dns, http, snmp, tls};

fn corpus(name: &str) -> Vec<Vec<u8>> {
    let dir = format!("{}/../../fuzz/corpus/{name}", env!("CARGO_MANIFEST_DIR"));
    let entries = std::fs::read_dir(&dir).expect("corpus directory");
    let inputs: Vec<Vec<u8>> = entries
        .map(|e| std::fs::read(e.expect("entry").path()).expect("read"))
        .collect();
    assert!(inputs.len() > 10, "{dir} has only {} inputs", inputs.len());
    inputs
}

#[test]
fn dhcp_corpus() {
    for data in corpus("proto_dhcp") {
        let parsed = dhcp::parse(&data);
        let mut s = Session::new(Transport::Udp, 68, 67);
        let mut out = Vec::new();
        s.on_data(Side::Client, &data, &mut out);
        let dhcp_events = out.iter().filter(|e| matches!(e, Event::Dhcp(_))).count();
        assert_eq!(
            dhcp_events,
            usize::from(parsed.is_ok() && dhcp::looks_like(&data))
        );
    }
}

#[test]
fn dns_corpus() {
    for data in corpus("proto_dns") {
        for mdns in [false, true] {
            if let Ok(d) = dns::parse_with(&data, mdns) {
                let n =
                    d.questions.len() + d.answers.len() + d.authorities.len() + d.additionals.len();
                assert!(n <= dns::MAX_RECORDS);
            }
        }
        if dns::looks_like(&data) {
            assert!(dns::parse(&data).is_ok());
        }
    }
}

#[test]
fn tls_corpus() {
    for input in corpus("proto_tls") {
        let Some((&step, data)) = input.split_first() else {
            continue;
        };
        let step = usize::from(step % 16) + 1;
        let side = if step % 2 == 0 {
            Side::Client
        } else {
            Side::Server
        };
        let mut whole = Vec::new();
        tls::TlsStream::new().on_data(side, data, &mut whole);
        let mut chunked = Vec::new();
        let mut s = tls::TlsStream::new();
        for c in data.chunks(step) {
            s.on_data(side, c, &mut chunked);
        }
        assert_eq!(whole, chunked);
        let _ = tls::handshake_message(data);
        let _ = tls::certificate(data);
        let _ = tls::parse_sslv2_client_hello(data);
    }
}

#[test]
fn http_corpus() {
    for input in corpus("proto_http") {
        let [step, split, data @ ..] = input.as_slice() else {
            continue;
        };
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
        assert_eq!(whole, chunked);
        let mut s = http::HttpStream::new();
        for (i, c) in data.chunks(step).enumerate() {
            let side = if i % 3 == 0 {
                Side::Server
            } else {
                Side::Client
            };
            s.on_data(side, c, &mut chunked);
            if i % 5 == 4 {
                s.on_gap(side, c.len() as u64 * 7);
            }
        }
    }
}

#[test]
fn snmp_corpus() {
    for data in corpus("proto_snmp") {
        let parsed = snmp::parse(&data);
        if snmp::looks_like(&data) {
            assert!(parsed.is_ok());
        }
    }
}

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

#[test]
fn session_corpus() {
    for input in corpus("proto_session") {
        let [sel, step, data @ ..] = input.as_slice() else {
            continue;
        };
        let (transport, client, server) = PORTS[usize::from(sel % 16)];
        // 255: the whole input in one piece (one whole datagram); else 1-64 bytes a piece.
        let step = if *step == 255 {
            data.len().max(1)
        } else {
            usize::from(step % 64) + 1
        };
        let mut s = Session::new(transport, client, server);
        let mut out = Vec::new();
        for (i, c) in data.chunks(step).enumerate() {
            let side = if (sel >> 4) & (1 << (i % 4)) != 0 {
                Side::Server
            } else {
                Side::Client
            };
            s.on_data(side, c, &mut out);
            if transport == Transport::Tcp && sel & 0x80 != 0 && i % 7 == 6 {
                s.on_gap(side, c.len() as u64);
            }
        }
        assert_ne!(s.app(), App::FtpData);
    }
}
