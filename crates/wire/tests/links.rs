//! Capture formats and link layers on hand-built files: pcap in both byte orders and
//! timestamp units, multi-interface pcapng with different link types and timestamp
//! resolutions (EPB, SPB, the obsolete PB, a second section), QinQ, Linux cooked v1/v2,
//! raw IP, NULL/LOOP, IP fragments, and the errors a damaged file gives.

mod common;

use common::*;
use etherparse::{
    IpFragOffset, IpNumber, Ipv4Header, Ipv6FragmentHeader, Ipv6Header, PacketBuilder, VlanId,
};
use pumpguard_wire::{CaptureError, Decoder, FlowConfig, Frame, L4, LinkType, PcapReader};

fn ipv4_udp(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    PacketBuilder::ipv4(IP_A, IP_B, 64)
        .udp(4000, 53)
        .write(&mut out, payload)
        .expect("ipv4");
    out
}

fn ipv6_tcp(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let (a, b) = (
        [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
        {
            let mut b = [0u8; 16];
            b[..4].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
            b[15] = 2;
            b
        },
    );
    PacketBuilder::ipv6(a, b, 64)
        .tcp(40000, 443, 1, 1024)
        .syn()
        .write(&mut out, payload)
        .expect("ipv6");
    out
}

/// A frame as (ts_us, link, captured length, interface).
type Seen = (i64, LinkType, usize, u32);

/// The frames of a capture, and the error that ended it.
fn frames(bytes: &[u8]) -> (Vec<Seen>, Option<CaptureError>) {
    let mut r = PcapReader::new(bytes).expect("header");
    let mut out = Vec::new();
    loop {
        match r.next_frame() {
            Ok(Some(Frame {
                ts_us,
                link,
                data,
                interface,
                ..
            })) => out.push((ts_us, link, data.len(), interface)),
            Ok(None) => return (out, None),
            Err(e) => return (out, Some(e)),
        }
    }
}

#[test]
fn pcap_byte_orders_and_nanosecond_magic() {
    let f = vec![(1_700_000_000_123_456, tcp(true, 1, 0, SYN, b""))];
    for big in [false, true] {
        for nanos in [false, true] {
            let (got, err) = frames(&pcap(1, nanos, big, &f));
            assert!(err.is_none(), "{err:?}");
            assert_eq!(
                got,
                vec![(1_700_000_000_123_456, LinkType::Ethernet, 54, 0)]
            );
            let r = run_bytes(&pcap(1, nanos, big, &f), FlowConfig::default());
            assert_eq!(r.flows.len(), 1, "big {big} nanos {nanos}");
        }
    }
}

#[test]
fn pcapng_interfaces_keep_their_own_link_type_and_clock() {
    for big in [false, true] {
        let mut w = Pcapng::new(big);
        w.idb(1, 0, None, None); // Ethernet, microseconds
        w.idb(101, 0, Some(9), None); // raw IP, nanoseconds
        w.idb(0, 0, Some(0x80 | 20), Some(1_000)); // NULL, 2^-20 s, +1000 s
        w.epb(0, 1_700_000_000_000_001, &tcp(true, 1, 0, SYN, b""));
        w.epb(1, 1_700_000_000_000_002_999, &ipv4_udp(b"x"));
        let mut null = 2u32.to_le_bytes().to_vec();
        null.extend(ipv4_udp(b"y"));
        // 3.5 s in 2^-20 units.
        w.epb(2, 3 * (1 << 20) + (1 << 19), &null);
        w.spb(&tcp(false, 9, 2, SYN | ACK, b""));
        w.pb(1, 1_700_000_000_000_004_000, &ipv4_udp(b"z"));
        // A new section forgets the interfaces: its packets use its own.
        w.shb();
        w.idb(113, 0, Some(3), None); // Linux SLL, milliseconds
        let mut sll = vec![0, 0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x08, 0x00];
        sll.extend(ipv4_udp(b"w"));
        w.epb(0, 1_700_000_000_005, &sll);
        let (got, err) = frames(&w.out);
        assert!(err.is_none(), "{err:?}");
        assert_eq!(
            got,
            vec![
                (1_700_000_000_000_001, LinkType::Ethernet, 54, 0),
                (1_700_000_000_000_002, LinkType::RawIp, 29, 1),
                (1_003_500_000, LinkType::Null, 33, 2),
                (0, LinkType::Ethernet, 54, 0),
                (1_700_000_000_000_004, LinkType::RawIp, 29, 1),
                (1_700_000_000_005_000, LinkType::LinuxSll, 45, 0),
            ],
            "big-endian {big}"
        );
        let r = run_bytes(&w.out, FlowConfig::default());
        assert_eq!(r.error, None);
        assert_eq!(r.decode.malformed, 0);
        // One TCP flow (SYN + SYN-ACK from the SPB) and one UDP flow for the rest.
        let protos: Vec<u8> = r.flows.values().map(|f| f.key.proto).collect();
        assert_eq!(protos, vec![6, 17]);
        let udp = r.flows.values().find(|f| f.key.proto == 17).expect("udp");
        assert_eq!(udp.packets, [4, 0]);
    }
}

#[test]
fn qinq_tags_outer_first_and_the_flow_keeps_the_inner() {
    let mut frame = Vec::new();
    PacketBuilder::ethernet2(MAC_A, MAC_B)
        .double_vlan(
            VlanId::try_new(100).expect("vlan"),
            VlanId::try_new(42).expect("vlan"),
        )
        .ipv4(IP_A, IP_B, 64)
        .udp(1000, 2000)
        .write(&mut frame, b"qinq")
        .expect("qinq");
    let r = run_bytes(&pcap(1, false, false, &[(0, frame)]), FlowConfig::default());
    assert_eq!(r.l2, vec![([Some(100), Some(42)], Some(MAC_A))]);
    assert_eq!(r.flows.len(), 1);
    let mut single = Vec::new();
    PacketBuilder::ethernet2(MAC_A, MAC_B)
        .single_vlan(VlanId::try_new(7).expect("vlan"))
        .ipv4(IP_A, IP_B, 64)
        .udp(1000, 2000)
        .write(&mut single, b"q")
        .expect("vlan");
    let r = run_bytes(
        &pcap(1, false, false, &[(0, single)]),
        FlowConfig::default(),
    );
    assert_eq!(r.l2, vec![([Some(7), None], Some(MAC_A))]);
}

#[test]
fn cooked_raw_and_null_links() {
    let mut sll = vec![0, 4, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x08, 0x00];
    sll.extend(ipv4_udp(b"v1"));
    let mut sll2 = vec![
        0x86, 0xdd, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 9, 8, 7, 6, 5, 4, 0, 0,
    ];
    sll2.extend(ipv6_tcp(b""));
    let mut null_le = 2u32.to_le_bytes().to_vec();
    null_le.extend(ipv4_udp(b"n"));
    let mut loop_be = 30u32.to_be_bytes().to_vec();
    loop_be.extend(ipv6_tcp(b""));
    // (link type, frame, source MAC, protocol of the flow)
    type Case = (u32, Vec<u8>, Option<[u8; 6]>, u8);
    let cases: Vec<Case> = vec![
        (113, sll, Some([1, 2, 3, 4, 5, 6]), 17),
        (276, sll2, Some([9, 8, 7, 6, 5, 4]), 6),
        (101, ipv4_udp(b"raw"), None, 17),
        (12, ipv6_tcp(b""), None, 6),
        (228, ipv4_udp(b"raw4"), None, 17),
        (0, null_le, None, 17),
        (108, loop_be, None, 6),
    ];
    for (link, frame, mac, proto) in cases {
        let r = run_bytes(
            &pcap(link, false, false, &[(0, frame)]),
            FlowConfig::default(),
        );
        assert_eq!(r.decode.malformed, 0, "link {link}");
        assert_eq!(r.l2, vec![([None, None], mac)], "link {link}");
        let protos: Vec<u8> = r.flows.values().map(|f| f.key.proto).collect();
        assert_eq!(protos, vec![proto], "link {link}");
    }
    let r = run_bytes(
        &pcap(147, false, false, &[(0, vec![1, 2, 3])]),
        FlowConfig::default(),
    );
    assert_eq!(r.decode.unsupported_link, 1);
}

fn ipv4_fragment(id: u16, offset: usize, more: bool, data: &[u8]) -> Vec<u8> {
    let mut h = Ipv4Header::new(data.len() as u16, 64, IpNumber::UDP, IP_A, IP_B).expect("hdr");
    h.identification = id;
    h.more_fragments = more;
    h.fragment_offset = IpFragOffset::try_new((offset / 8) as u16).expect("offset");
    h.header_checksum = h.calc_header_checksum();
    let mut out = Vec::new();
    h.write(&mut out).expect("write");
    out.extend(data);
    out
}

fn ipv6_fragment(id: u32, offset: usize, more: bool, data: &[u8]) -> Vec<u8> {
    let mut src = [0u8; 16];
    src[0] = 0xfe;
    src[1] = 0x80;
    src[15] = 1;
    let mut dst = src;
    dst[15] = 2;
    let h = Ipv6Header {
        traffic_class: 0,
        flow_label: Default::default(),
        payload_length: (8 + data.len()) as u16,
        next_header: IpNumber::IPV6_FRAGMENTATION_HEADER,
        hop_limit: 64,
        source: src,
        destination: dst,
    };
    let fh = Ipv6FragmentHeader::new(
        IpNumber::UDP,
        IpFragOffset::try_new((offset / 8) as u16).expect("offset"),
        more,
        id,
    );
    let mut out = Vec::new();
    h.write(&mut out).expect("write");
    fh.write(&mut out).expect("write");
    out.extend(data);
    out
}

/// A UDP datagram (header + payload) to split into fragments.
fn udp_datagram(payload: &[u8]) -> Vec<u8> {
    let mut d = Vec::new();
    d.extend(5000u16.to_be_bytes());
    d.extend(5001u16.to_be_bytes());
    d.extend(((8 + payload.len()) as u16).to_be_bytes());
    d.extend([0, 0]);
    d.extend(payload);
    d
}

#[test]
fn ip_fragments_in_reverse_order_with_overlaps() {
    let payload: Vec<u8> = (0..200u8).collect();
    let dgram = udp_datagram(&payload);
    assert_eq!(dgram.len(), 208);
    for v6 in [false, true] {
        let frag = |off: usize, end: usize, more: bool, data: Option<&[u8]>| {
            let bytes = data.unwrap_or(&dgram[off..end]);
            if v6 {
                ipv6_fragment(77, off, more, bytes)
            } else {
                ipv4_fragment(77, off, more, bytes)
            }
        };
        let forged = [0xEEu8; 64];
        let frames = vec![
            frag(160, 208, false, None),
            frag(80, 160, true, None),
            // Overlaps 40..104: 80..104 is already there and must not change.
            frag(40, 104, true, Some(&forged)),
            frag(0, 48, true, None),
        ];
        let timed: Vec<(i64, Vec<u8>)> = frames.into_iter().map(|f| (0, f)).collect();
        let bytes = pcap(101, false, false, &timed);
        let mut reader = PcapReader::new(&bytes[..]).expect("pcap");
        let mut decoder = Decoder::new();
        let mut seen = Vec::new();
        while let Some(frame) = reader.next_frame().expect("frame") {
            decoder.decode(&frame, |pkt| {
                seen.push((pkt.l4, pkt.payload.to_vec(), pkt.reassembled));
            });
        }
        let mut want = payload.clone();
        // Datagram bytes 40..80 (payload 32..72) were first supplied by the forged
        // fragment; 80..104 were already there and did not change.
        want[32..72].copy_from_slice(&[0xEE; 40]);
        assert_eq!(
            seen,
            vec![(
                L4::Udp {
                    src_port: 5000,
                    dst_port: 5001
                },
                want,
                true
            )],
            "v6 {v6}"
        );
        let s = decoder.stats();
        assert_eq!((s.fragments, s.reassembled, s.fragments_pending), (4, 1, 0));
        assert_eq!(s.fragment_overlap_bytes, 32);
    }
}

#[test]
fn damaged_files_say_where() {
    let f: Vec<(i64, Vec<u8>)> = (0..3)
        .map(|i| (i, tcp(true, i as u32, 0, SYN, b"")))
        .collect();
    let mut whole = pcap(1, false, false, &f);
    whole.truncate(whole.len() - 10);
    let (got, err) = frames(&whole);
    assert_eq!(got.len(), 2);
    let err = err.expect("truncated");
    assert_eq!(
        err.to_string(),
        format!("offset {}: truncated pcap record", 24 + 2 * 70)
    );

    let mut w = Pcapng::new(false);
    w.idb(1, 0, None, None);
    w.epb(0, 1, &tcp(true, 1, 0, SYN, b""));
    w.epb(0, 2, &tcp(true, 1, 0, SYN, b""));
    let len = w.out.len();
    let (_, err) = frames(&w.out[..len - 3]);
    assert_eq!(
        err.expect("truncated").to_string(),
        format!("offset {}: truncated pcapng block", 28 + 20 + 88)
    );

    let mut w = Pcapng::new(false);
    w.idb(1, 0, None, None);
    w.epb(3, 1, &tcp(true, 1, 0, SYN, b""));
    let (_, err) = frames(&w.out);
    assert_eq!(
        err.expect("bad interface").to_string(),
        "offset 48: packet block names interface 3, but its section describes 1"
    );

    let err = PcapReader::new(&b"GIF89a......................"[..]).expect_err("not pcap");
    assert_eq!(
        err.to_string(),
        "offset 0: not a pcap or pcapng file (magic 0x47494638)"
    );
    let err = PcapReader::new(&[0xd4, 0xc3][..]).expect_err("short");
    assert_eq!(err.to_string(), "offset 0: truncated capture file header");
    // A clean end after a whole record is not an error.
    let (got, err) = frames(&pcap(1, false, false, &f));
    assert_eq!((got.len(), err.is_none()), (3, true));
}

#[test]
fn a_block_larger_than_the_buffer_is_read_by_growing_it() {
    let big = vec![0x42u8; 600_000];
    let mut w = Pcapng::new(false);
    w.idb(1, 0, None, None);
    w.epb(0, 1, &big);
    w.epb(0, 2, &tcp(true, 1, 0, SYN, b""));
    let (got, err) = frames(&w.out);
    assert!(err.is_none(), "{err:?}");
    assert_eq!(
        got.iter().map(|g| g.2).collect::<Vec<_>>(),
        vec![600_000, 54]
    );
}

#[test]
fn reading_from_a_slow_source_gives_the_same_frames() {
    /// Hands out at most 7 bytes per read.
    struct Trickle<'a>(&'a [u8]);
    impl std::io::Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = buf.len().min(7).min(self.0.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }
    let mut w = Pcapng::new(false);
    w.idb(1, 0, None, None);
    for i in 0..50 {
        w.epb(0, i, &tcp(true, i as u32, 0, SYN, b"abc"));
    }
    let mut r = PcapReader::new(Trickle(&w.out)).expect("header");
    let mut n = 0;
    while let Some(f) = r.next_frame().expect("frame") {
        assert_eq!(f.data.len(), 57);
        n += 1;
    }
    assert_eq!(n, 50);
    assert_eq!(r.bytes_read(), w.out.len() as u64);
}
