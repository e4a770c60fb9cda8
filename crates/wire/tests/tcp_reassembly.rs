//! TCP reassembly and connection tracking on hand-built captures: each test writes the
//! exact segments it needs into a pcap, runs it through reader, decoder and flow table,
//! and checks the bytes and gaps each direction delivered.

mod common;

use common::*;
use pumpguard_wire::{Dir, EndReason, FlowConfig, TcpState};

const ISN_A: u32 = 1000;
const ISN_B: u32 = 5000;

/// Frames at 1 ms intervals.
fn capture(frames: Vec<Vec<u8>>) -> Vec<u8> {
    let timed: Vec<(i64, Vec<u8>)> = frames
        .into_iter()
        .enumerate()
        .map(|(i, f)| (1_700_000_000_000_000 + i as i64 * 1000, f))
        .collect();
    pcap(1, false, false, &timed)
}

fn handshake() -> Vec<Vec<u8>> {
    vec![
        tcp(true, ISN_A, 0, SYN, b""),
        tcp(false, ISN_B, ISN_A + 1, SYN | ACK, b""),
        tcp(true, ISN_A + 1, ISN_B + 1, ACK, b""),
    ]
}

/// A data segment from A at stream offset `off` (0 = first byte after the SYN).
fn a(off: u32, data: &[u8]) -> Vec<u8> {
    tcp(true, ISN_A + 1 + off, ISN_B + 1, ACK | PSH, data)
}

fn b(off: u32, data: &[u8]) -> Vec<u8> {
    tcp(false, ISN_B + 1 + off, ISN_A + 1, ACK | PSH, data)
}

fn bytes(s: &[u8]) -> Piece {
    Piece::Bytes(s.to_vec())
}

fn run(frames: Vec<Vec<u8>>) -> Run {
    run_with(frames, FlowConfig::default())
}

fn run_with(frames: Vec<Vec<u8>>, config: FlowConfig) -> Run {
    let r = run_bytes(&capture(frames), config);
    assert_eq!(r.error, None);
    assert_eq!(r.decode.malformed, 0);
    r
}

#[test]
fn full_connection_in_order_then_closed() {
    let mut f = handshake();
    f.push(a(0, b"GET / HTTP/1.0\r\n\r\n"));
    f.push(b(0, b"HTTP/1.0 200 OK\r\n\r\nhello"));
    f.push(tcp(true, ISN_A + 19, ISN_B + 25, FIN | ACK, b""));
    f.push(tcp(false, ISN_B + 25, ISN_A + 20, FIN | ACK, b""));
    f.push(tcp(true, ISN_A + 20, ISN_B + 26, ACK, b""));
    let r = run(f);
    assert_eq!(
        r.stream(Dir::ToResponder),
        vec![bytes(b"GET / HTTP/1.0\r\n\r\n")]
    );
    assert_eq!(
        r.stream(Dir::ToInitiator),
        vec![bytes(b"HTTP/1.0 200 OK\r\n\r\nhello")]
    );
    let flow = r.flows.values().next().expect("flow");
    assert_eq!(flow.why, EndReason::Closed);
    assert_eq!(flow.tcp_state, TcpState::Closed);
    assert_eq!(flow.packets, [5, 3]);
    assert_eq!(flow.initiator.port(), 1234);
    // IP bytes: 20 IP + 20 TCP per packet, plus payload.
    assert_eq!(flow.bytes, [5 * 40 + 18, 3 * 40 + 24]);
    assert_eq!(r.flow_stats.gaps, 0);
}

#[test]
fn out_of_order_segments_are_put_back_in_order() {
    let mut f = handshake();
    f.push(a(8, b"IJKL"));
    f.push(a(4, b"EFGH"));
    f.push(a(12, b"MNOP"));
    f.push(a(0, b"ABCD"));
    let r = run(f);
    assert_eq!(r.stream(Dir::ToResponder), vec![bytes(b"ABCDEFGHIJKLMNOP")]);
    assert_eq!(r.flow_stats.out_of_order_segments, 3);
    assert_eq!(r.flow_stats.buffered_bytes, 0);
}

#[test]
fn retransmissions_are_delivered_once() {
    let mut f = handshake();
    f.push(a(0, b"ABCD"));
    f.push(a(0, b"ABCD"));
    f.push(a(2, b"CDEF"));
    f.push(a(6, b"GH"));
    let r = run(f);
    assert_eq!(r.stream(Dir::ToResponder), vec![bytes(b"ABCDEFGH")]);
    assert_eq!(r.flow_stats.retransmitted_bytes, 6);
}

#[test]
fn overlaps_keep_the_first_received_bytes() {
    let mut f = handshake();
    // Buffered first (out of order) ...
    f.push(a(4, b"efgh"));
    // ... then an in-order segment that also covers 4..8 with other bytes, and 8..10.
    f.push(a(0, b"ABCDXXXXIJ"));
    // A retransmission rewriting delivered bytes changes nothing.
    f.push(a(0, b"zzzzzzzzzzKL"));
    let r = run(f);
    assert_eq!(r.stream(Dir::ToResponder), vec![bytes(b"ABCDefghIJKL")]);
}

#[test]
fn a_missing_segment_becomes_a_gap_at_fin() {
    let mut f = handshake();
    f.push(a(0, b"ABCD"));
    // 4..8 never captured.
    f.push(a(8, b"IJKL"));
    f.push(tcp(true, ISN_A + 13, ISN_B + 1, FIN | ACK, b""));
    let r = run(f);
    assert_eq!(
        r.stream(Dir::ToResponder),
        vec![bytes(b"ABCD"), Piece::Gap(4), bytes(b"IJKL")]
    );
    let flow = r.flows.values().next().expect("flow");
    assert_eq!(flow.gaps, [4, 0]);
    assert_eq!(r.flow_stats.gap_bytes, 4);
}

#[test]
fn buffer_overflow_gives_up_on_the_hole() {
    let config = FlowConfig {
        max_stream_buffer: 300,
        ..FlowConfig::default()
    };
    let mut f = handshake();
    f.push(a(0, b"AAAA"));
    // Hole at 4..104; then 100-byte segments that fit twice (+ overhead) but not thrice.
    for k in 0..4u32 {
        f.push(a(104 + k * 100, &[b'a' + k as u8; 100]));
    }
    let r = run_with(f, config);
    let s = r.stream(Dir::ToResponder);
    let mut want_after = Vec::new();
    for k in 0..4u8 {
        want_after.extend([b'a' + k; 100]);
    }
    assert_eq!(
        s,
        vec![bytes(b"AAAA"), Piece::Gap(100), Piece::Bytes(want_after)]
    );
}

#[test]
fn sequence_numbers_wrap() {
    let isn = u32::MAX - 5;
    let mut f = vec![
        tcp(true, isn, 0, SYN, b""),
        tcp(false, ISN_B, isn.wrapping_add(1), SYN | ACK, b""),
        tcp(true, isn.wrapping_add(1), ISN_B + 1, ACK, b""),
    ];
    let at = |off: u32, d: &[u8]| tcp(true, isn.wrapping_add(1 + off), ISN_B + 1, ACK, d);
    // Straddles the wrap, arrives after the segment beyond it.
    f.push(at(8, b"IJKLMNOP"));
    f.push(at(0, b"ABCDEFGH"));
    f.push(at(16, b"QR"));
    f.push(at(4, b"EFGH")); // a retransmission across the wrap
    let r = run(f);
    assert_eq!(
        r.stream(Dir::ToResponder),
        vec![bytes(b"ABCDEFGHIJKLMNOPQR")]
    );
}

#[test]
fn rst_flushes_buffered_data_and_ends_the_flow() {
    let mut f = handshake();
    f.push(a(0, b"AB"));
    f.push(a(4, b"EF"));
    f.push(tcp(false, ISN_B + 1, ISN_A + 3, RST | ACK, b""));
    let r = run(f);
    assert_eq!(
        r.stream(Dir::ToResponder),
        vec![bytes(b"AB"), Piece::Gap(2), bytes(b"EF")]
    );
    let flow = r.flows.values().next().expect("flow");
    assert_eq!(
        (flow.why, flow.tcp_state),
        (EndReason::Closed, TcpState::Reset)
    );
}

#[test]
fn a_new_syn_on_a_closing_tuple_starts_a_new_flow() {
    let mut f = handshake();
    f.push(a(0, b"one"));
    f.push(tcp(true, ISN_A + 4, ISN_B + 1, FIN | ACK, b""));
    f.push(tcp(false, ISN_B + 1, ISN_A + 5, FIN | ACK, b""));
    // No final ACK captured; the client reuses its port.
    f.push(tcp(true, 90_000, 0, SYN, b""));
    f.push(tcp(false, 70_000, 90_001, SYN | ACK, b""));
    f.push(tcp(true, 90_001, 70_001, ACK | PSH, b"two"));
    let r = run_bytes(&capture(f), FlowConfig::default());
    let flows: Vec<_> = r.flows.values().collect();
    assert_eq!(flows.len(), 2, "{flows:?}");
    assert_eq!(flows[0].key, flows[1].key);
    assert_eq!(flows[0].why, EndReason::Closed);
    assert_eq!(flows[1].why, EndReason::Drained);
    assert_eq!(flows[1].tcp_state, TcpState::Established);
    let ids: Vec<u64> = r.flows.keys().copied().collect();
    assert_eq!(r.data[&(ids[0], 0)], vec![bytes(b"one")]);
    assert_eq!(r.data[&(ids[1], 0)], vec![bytes(b"two")]);
}

#[test]
fn initiator_from_syn_ack_or_first_packet() {
    // First packet a SYN-ACK from B: A is the initiator.
    let r = run(vec![
        tcp(false, ISN_B, ISN_A + 1, SYN | ACK, b""),
        tcp(true, ISN_A + 1, ISN_B + 1, ACK, b""),
        a(0, b"hi"),
    ]);
    let flow = r.flows.values().next().expect("flow");
    assert_eq!(flow.initiator.port(), 1234);
    assert_eq!(flow.tcp_state, TcpState::Established);
    assert_eq!(r.stream(Dir::ToResponder), vec![bytes(b"hi")]);

    // Midstream: the first packet's sender is the initiator.
    let r = run(vec![b(0, b"from the server"), a(0, b"reply")]);
    let flow = r.flows.values().next().expect("flow");
    assert_eq!(flow.initiator.port(), 80);
    assert_eq!(flow.tcp_state, TcpState::Midstream);
    assert_eq!(r.stream(Dir::ToResponder), vec![bytes(b"from the server")]);
    assert_eq!(r.stream(Dir::ToInitiator), vec![bytes(b"reply")]);
}

#[test]
fn a_segment_cut_by_the_snaplen_reports_the_missing_bytes() {
    let mut f: Vec<(i64, Vec<u8>, u32)> = handshake()
        .into_iter()
        .map(|d| {
            let n = d.len() as u32;
            (0, d, n)
        })
        .collect();
    let mut cut = a(0, b"ABCDEFGHIJ");
    let orig = cut.len() as u32;
    cut.truncate(cut.len() - 6);
    f.push((0, cut.clone(), orig));
    f.push((0, a(10, b"KL"), 66));
    let r = run_bytes(&pcap_cut(1, false, false, &f), FlowConfig::default());
    assert_eq!(
        r.stream(Dir::ToResponder),
        vec![bytes(b"ABCD"), Piece::Gap(6), bytes(b"KL")]
    );

    // The same short frame claiming nothing was cut: its IP total length is a lie, and
    // the next segment is out of order until the flow ends (no phantom gap).
    let mut g = handshake();
    g.push(cut);
    g.push(a(10, b"KL"));
    let r = run(g);
    assert_eq!(r.stream(Dir::ToResponder), vec![bytes(b"ABCD")]);
    let flow = r.flows.values().next().expect("flow");
    assert_eq!(flow.gaps, [8, 0]);
}

#[test]
fn active_timeout_continues_the_stream_in_a_new_flow() {
    let config = FlowConfig {
        active_timeout_us: 4_500,
        ..FlowConfig::default()
    };
    let mut f = handshake();
    f.push(a(0, b"AB"));
    f.push(a(4, b"EF")); // buffered, carried over
    f.push(a(2, b"CD")); // 5 ms after the SYN: a new flow
    let r = run_with(f, config);
    let flows: Vec<_> = r.flows.iter().collect();
    assert_eq!(flows.len(), 2);
    assert_eq!(flows[0].1.why, EndReason::Active);
    assert_eq!(flows[0].1.packets, [4, 1]);
    assert_eq!(flows[1].1.packets, [1, 0]);
    assert_eq!(r.data[&(*flows[0].0, 0)], vec![bytes(b"AB")]);
    assert_eq!(r.data[&(*flows[1].0, 0)], vec![bytes(b"CDEF")]);
    assert_eq!(flows[1].1.tcp_state, TcpState::Established);
}

#[test]
fn idle_flows_expire_by_capture_time_per_protocol() {
    let config = FlowConfig {
        idle_timeout_us: 10_000,
        udp_idle_timeout_us: 2_000,
        ..FlowConfig::default()
    };
    let mut f = handshake();
    f.push(udp((IP_A, 5353), (IP_B, 5353), b"one"));
    f.push(udp((IP_B, 5353), (IP_A, 5353), b"two"));
    for _ in 0..4 {
        f.push(udp((IP_A, 9), (IP_B, 9), b"tick"));
    }
    let r = run_with(f, config);
    let whys: Vec<_> = r.flows.values().map(|f| (f.key.proto, f.why)).collect();
    assert_eq!(
        whys,
        vec![
            (6, EndReason::Drained),
            (17, EndReason::Idle),
            (17, EndReason::Drained)
        ]
    );
    let mdns = r
        .flows
        .iter()
        .find(|(_, f)| f.key.lo.port() == 5353)
        .expect("mdns");
    assert_eq!(r.data[&(*mdns.0, 0)], vec![bytes(b"one")]);
    assert_eq!(r.data[&(*mdns.0, 1)], vec![bytes(b"two")]);
}

#[test]
fn without_reassembly_payloads_pass_as_they_come() {
    let config = FlowConfig {
        reassemble: false,
        ..FlowConfig::default()
    };
    let mut f = handshake();
    f.push(a(4, b"EF"));
    f.push(a(0, b"ABCD"));
    let r = run_with(f, config);
    assert_eq!(r.stream(Dir::ToResponder), vec![bytes(b"EFABCD")]);
}
