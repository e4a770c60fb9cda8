//! Replays the cargo-fuzz corpora (`fuzz/corpus/wire_packet`, `fuzz/corpus/pcap_reader`)
//! on stable Rust with the fuzz targets' properties: nothing panics, the flow table keeps
//! its bounds, and the reader stops cleanly after an error.

use pumpguard_wire::{Data, Decoder, FlowConfig, FlowTable, Frame, LinkType, PcapReader};

fn corpus(name: &str) -> Vec<Vec<u8>> {
    let dir = format!("{}/../../fuzz/corpus/{name}", env!("CARGO_MANIFEST_DIR"));
    let inputs: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .expect("corpus directory")
        .map(|e| std::fs::read(e.expect("entry").path()).expect("read"))
        .collect();
    assert!(inputs.len() >= 5, "{dir} has only {} inputs", inputs.len());
    inputs
}

fn config() -> FlowConfig {
    FlowConfig {
        max_flows: 8,
        max_stream_buffer: 512,
        max_buffered_total: 2048,
        idle_timeout_us: 5_000,
        udp_idle_timeout_us: 1_000,
        active_timeout_us: 20_000,
        reassemble: true,
    }
}

/// The fuzz target's framing: a 2-byte little-endian length (modulo what is left).
fn frames(mut input: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    while input.len() >= 2 {
        let len = usize::from(u16::from_le_bytes([input[0], input[1]]));
        let rest = &input[2..];
        let len = if rest.is_empty() {
            0
        } else {
            len % (rest.len() + 1)
        };
        out.push(&rest[..len]);
        input = &rest[len..];
    }
    out
}

#[test]
fn wire_packet_corpus() {
    let links = [
        LinkType::Ethernet,
        LinkType::LinuxSll,
        LinkType::LinuxSll2,
        LinkType::RawIp,
        LinkType::Null,
        LinkType::Other(147),
    ];
    let mut delivered = 0u64;
    for input in corpus("wire_packet") {
        let frames = frames(&input);
        for link in links {
            let mut decoder = Decoder::new();
            let mut table: FlowTable<u64> = FlowTable::new(config());
            for (i, data) in frames.iter().enumerate() {
                let frame = Frame {
                    ts_us: i as i64 * 1000,
                    link,
                    data,
                    wire_len: data.len() as u32,
                    interface: 0,
                };
                decoder.decode(&frame, |pkt| {
                    table.expire(pkt.ts_us);
                    table.process(pkt, |flow, _, d| {
                        if let Data::Bytes(b) = d {
                            flow.state += b.len() as u64;
                            delivered += b.len() as u64;
                        }
                    });
                    assert!(table.len() <= 8);
                    assert!(table.stats().buffered_bytes <= 2048);
                });
                table.take_ended(|_, _| {});
            }
            table.drain();
            table.take_ended(|_, _| {});
            assert_eq!(table.stats().buffered_bytes, 0);
        }
    }
    assert!(delivered > 0);
}

/// The fuzz target's other property: the decoder's Ethernet/IPv4 fast path and its
/// general (etherparse) path pass on the same packets and counts.
#[test]
fn wire_packet_corpus_fast_path_decodes_like_etherparse() {
    let mut fast_packets = 0usize;
    for input in corpus("wire_packet") {
        let mut fast = (Decoder::new(), Vec::new());
        let mut general = (Decoder::new(), Vec::new());
        for (i, data) in frames(&input).into_iter().enumerate() {
            let frame = Frame {
                ts_us: i as i64 * 1000,
                link: LinkType::Ethernet,
                data,
                wire_len: data.len() as u32,
                interface: 0,
            };
            fast.0.decode(&frame, |p| fast.1.push(format!("{p:?}")));
            general
                .0
                .decode_general(&frame, |p| general.1.push(format!("{p:?}")));
        }
        assert_eq!(fast.1, general.1);
        assert_eq!(
            format!("{:?}", fast.0.stats()),
            format!("{:?}", general.0.stats())
        );
        fast_packets += fast.0.stats().ipv4 as usize;
    }
    assert!(fast_packets > 0);
}

#[test]
fn pcap_reader_corpus() {
    let mut frames = 0;
    for data in corpus("pcap_reader") {
        let Ok(mut reader) = PcapReader::new(&data[..]) else {
            continue;
        };
        let mut decoder = Decoder::new();
        let mut table: FlowTable<()> = FlowTable::new(config());
        loop {
            match reader.next_frame() {
                Ok(Some(frame)) => {
                    frames += 1;
                    decoder.decode(&frame, |pkt| {
                        table.expire(pkt.ts_us);
                        table.process(pkt, |_, _, _| {});
                    });
                }
                Ok(None) => break,
                Err(e) => {
                    assert!(!e.to_string().contains('\n'));
                    assert!(matches!(reader.next_frame(), Ok(None)));
                    break;
                }
            }
        }
        assert!(reader.bytes_read() <= data.len() as u64);
    }
    assert!(frames > 0);
}
