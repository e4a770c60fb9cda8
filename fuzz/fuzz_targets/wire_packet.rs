// Proves: the decoder and the flow table never panic on any frames, of any link type,
// and keep their bounds: live flows ≤ max_flows, buffered bytes ≤ the total budget,
// nothing left buffered after a drain. The input is a sequence of frames, each behind a
// 2-byte little-endian length (taken modulo what is left), so fragment and TCP
// reassembly see several packets of the same flows. Also: the decoder's Ethernet/IPv4
// fast path and its general (etherparse) path pass on the same packets and counts.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pumpguard_wire::{Data, Decoder, FlowConfig, FlowTable, Frame, LinkType};

const LINKS: [LinkType; 6] = [
    LinkType::Ethernet,
    LinkType::LinuxSll,
    LinkType::LinuxSll2,
    LinkType::RawIp,
    LinkType::Null,
    LinkType::Other(147),
];

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

fuzz_target!(|input: &[u8]| {
    let frames = frames(input);
    let mut fast = (Decoder::new(), Vec::new());
    let mut general = (Decoder::new(), Vec::new());
    for (i, data) in frames.iter().enumerate() {
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
    let config = FlowConfig {
        max_flows: 8,
        max_stream_buffer: 512,
        max_buffered_total: 2048,
        idle_timeout_us: 5_000,
        udp_idle_timeout_us: 1_000,
        active_timeout_us: 20_000,
        reassemble: true,
    };
    for link in LINKS {
        let mut decoder = Decoder::new();
        let mut table: FlowTable<u64> = FlowTable::new(config);
        for (i, data) in frames.iter().enumerate() {
            let frame = Frame {
                ts_us: i as i64 * 1000,
                link,
                data,
                wire_len: data.len() as u32,
                interface: 0,
            };
            decoder.decode(&frame, |pkt| {
                assert!(pkt.payload.len() <= data.len().max(65_535));
                table.expire(pkt.ts_us);
                table.process(pkt, |flow, _, d| {
                    if let Data::Bytes(b) = d {
                        flow.state += b.len() as u64;
                    }
                });
                assert!(table.len() <= config.max_flows);
                assert!(table.stats().buffered_bytes <= config.max_buffered_total);
            });
            table.take_ended(|_, _| {});
        }
        table.drain();
        table.take_ended(|_, _| {});
        let stats = table.stats();
        assert_eq!((stats.live, stats.buffered_bytes), (0, 0));
    }
});
