//! Test support: tiny pcap/pcapng writers (so each test builds exactly the capture it
//! needs), packet builders on etherparse's `PacketBuilder`, and a harness that runs
//! bytes through reader, decoder and flow table and records what came out.

#![allow(dead_code)]

use std::collections::BTreeMap;

use etherparse::PacketBuilder;
use pumpguard_wire::{
    CaptureError, Data, DecodeStats, Decoder, Dir, EndReason, FlowConfig, FlowKey, FlowStats,
    FlowTable, PcapReader, TcpState,
};

/// A classic pcap file: `link` type, microsecond or nanosecond magic, either byte order.
pub fn pcap(link: u32, nanos: bool, big_endian: bool, frames: &[(i64, Vec<u8>)]) -> Vec<u8> {
    let frames: Vec<(i64, Vec<u8>, u32)> = frames
        .iter()
        .map(|(t, d)| (*t, d.clone(), d.len() as u32))
        .collect();
    pcap_cut(link, nanos, big_endian, &frames)
}

/// A classic pcap file whose records give an original length (frames cut by a snaplen).
pub fn pcap_cut(
    link: u32,
    nanos: bool,
    big_endian: bool,
    frames: &[(i64, Vec<u8>, u32)],
) -> Vec<u8> {
    let u32b = |v: u32| {
        if big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let u16b = |v: u16| {
        if big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let mut out = Vec::new();
    out.extend(u32b(if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 }));
    out.extend(u16b(2));
    out.extend(u16b(4));
    out.extend(u32b(0));
    out.extend(u32b(0));
    out.extend(u32b(65535));
    out.extend(u32b(link));
    for (ts_us, data, orig) in frames {
        let sec = (ts_us / 1_000_000) as u32;
        let frac = (ts_us % 1_000_000) as u32;
        out.extend(u32b(sec));
        out.extend(u32b(if nanos { frac * 1000 } else { frac }));
        out.extend(u32b(data.len() as u32));
        out.extend(u32b(*orig));
        out.extend(data);
    }
    out
}

/// A pcapng writer, block by block (draft-ietf-opsawg-pcapng).
pub struct Pcapng {
    pub out: Vec<u8>,
    big_endian: bool,
}

impl Pcapng {
    pub fn new(big_endian: bool) -> Self {
        let mut w = Pcapng {
            out: Vec::new(),
            big_endian,
        };
        w.shb();
        w
    }

    fn u16b(&self, v: u16) -> [u8; 2] {
        if self.big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    }

    fn u32b(&self, v: u32) -> [u8; 4] {
        if self.big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    }

    fn block(&mut self, kind: u32, body: &[u8]) {
        let pad = (4 - body.len() % 4) % 4;
        let len = 12 + body.len() + pad;
        let (k, l) = (self.u32b(kind), self.u32b(len as u32));
        self.out.extend(k);
        self.out.extend(l);
        self.out.extend(body);
        self.out.extend(std::iter::repeat_n(0, pad));
        self.out.extend(l);
    }

    fn option(&self, body: &mut Vec<u8>, code: u16, value: &[u8]) {
        body.extend(self.u16b(code));
        body.extend(self.u16b(value.len() as u16));
        body.extend(value);
        body.extend(std::iter::repeat_n(0, (4 - value.len() % 4) % 4));
    }

    /// A new section (forgets the interfaces).
    pub fn shb(&mut self) {
        let mut body = Vec::new();
        body.extend(self.u32b(0x1A2B_3C4D));
        body.extend(self.u16b(1));
        body.extend(self.u16b(0));
        body.extend([0xff; 8]);
        self.block(0x0A0D_0D0A, &body);
    }

    pub fn idb(&mut self, link: u16, snaplen: u32, tsresol: Option<u8>, tsoffset: Option<i64>) {
        let mut body = Vec::new();
        body.extend(self.u16b(link));
        body.extend(self.u16b(0));
        body.extend(self.u32b(snaplen));
        if let Some(r) = tsresol {
            self.option(&mut body, 9, &[r]);
        }
        if let Some(o) = tsoffset {
            let v = if self.big_endian {
                o.to_be_bytes()
            } else {
                o.to_le_bytes()
            };
            self.option(&mut body, 14, &v);
        }
        if tsresol.is_some() || tsoffset.is_some() {
            self.option(&mut body, 0, &[]);
        }
        self.block(1, &body);
    }

    pub fn epb(&mut self, if_id: u32, ts: u64, data: &[u8]) {
        let mut body = Vec::new();
        body.extend(self.u32b(if_id));
        body.extend(self.u32b((ts >> 32) as u32));
        body.extend(self.u32b(ts as u32));
        body.extend(self.u32b(data.len() as u32));
        body.extend(self.u32b(data.len() as u32));
        body.extend(data);
        body.extend(std::iter::repeat_n(0, (4 - data.len() % 4) % 4));
        self.block(6, &body);
    }

    pub fn spb(&mut self, data: &[u8]) {
        let mut body = Vec::new();
        body.extend(self.u32b(data.len() as u32));
        body.extend(data);
        self.block(3, &body);
    }

    /// The obsolete Packet Block (type 2).
    pub fn pb(&mut self, if_id: u16, ts: u64, data: &[u8]) {
        let mut body = Vec::new();
        body.extend(self.u16b(if_id));
        body.extend(self.u16b(0));
        body.extend(self.u32b((ts >> 32) as u32));
        body.extend(self.u32b(ts as u32));
        body.extend(self.u32b(data.len() as u32));
        body.extend(self.u32b(data.len() as u32));
        body.extend(data);
        body.extend(std::iter::repeat_n(0, (4 - data.len() % 4) % 4));
        self.block(2, &body);
    }
}

pub const MAC_A: [u8; 6] = [0x00, 0x1A, 0x01, 0, 0, 1];
pub const MAC_B: [u8; 6] = [0x00, 0x12, 0x21, 0, 0, 2];
pub const IP_A: [u8; 4] = [10, 0, 0, 1];
pub const IP_B: [u8; 4] = [10, 0, 0, 2];

/// TCP flag shorthands for [`tcp`].
pub const SYN: u8 = 0x02;
pub const ACK: u8 = 0x10;
pub const FIN: u8 = 0x01;
pub const RST: u8 = 0x04;
pub const PSH: u8 = 0x08;

/// An Ethernet/IPv4/TCP frame from A:1234 to B:80 (`to_b`) or back.
pub fn tcp(to_b: bool, seq: u32, ack: u32, flags: u8, payload: &[u8]) -> Vec<u8> {
    let (sm, dm, si, di, sp, dp) = if to_b {
        (MAC_A, MAC_B, IP_A, IP_B, 1234, 80)
    } else {
        (MAC_B, MAC_A, IP_B, IP_A, 80, 1234)
    };
    let mut b = PacketBuilder::ethernet2(sm, dm)
        .ipv4(si, di, 64)
        .tcp(sp, dp, seq, 65535);
    if flags & SYN != 0 {
        b = b.syn();
    }
    if flags & ACK != 0 {
        b = b.ack(ack);
    }
    if flags & FIN != 0 {
        b = b.fin();
    }
    if flags & RST != 0 {
        b = b.rst();
    }
    if flags & PSH != 0 {
        b = b.psh();
    }
    let mut out = Vec::new();
    b.write(&mut out, payload).expect("build tcp");
    out
}

/// An Ethernet/IPv4/UDP frame.
pub fn udp(src: ([u8; 4], u16), dst: ([u8; 4], u16), payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    PacketBuilder::ethernet2(MAC_A, MAC_B)
        .ipv4(src.0, dst.0, 64)
        .udp(src.1, dst.1)
        .write(&mut out, payload)
        .expect("build udp");
    out
}

/// A decoded packet's VLAN tags (outer first) and source MAC.
pub type L2 = ([Option<u16>; 2], Option<[u8; 6]>);

/// What one stream direction delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    Bytes(Vec<u8>),
    Gap(u64),
}

/// What a run produced.
#[derive(Debug, Default)]
pub struct Run {
    pub frames: u64,
    pub error: Option<String>,
    pub decode: DecodeStats,
    pub flow_stats: FlowStats,
    /// Per flow id: key, initiator, packets, bytes, gaps, state, why it ended.
    pub flows: BTreeMap<u64, Ended>,
    /// Per flow id and direction, the delivered data with adjacent bytes joined.
    pub data: BTreeMap<(u64, usize), Vec<Piece>>,
    /// Frame (wire) bytes per flow id.
    pub frame_bytes: BTreeMap<u64, u64>,
    /// Timestamps of the decoded packets, in order.
    pub timestamps: Vec<i64>,
    /// (vlans, src_mac) of each decoded packet.
    pub l2: Vec<L2>,
}

#[derive(Debug, Clone)]
pub struct Ended {
    pub key: FlowKey,
    pub initiator: std::net::SocketAddr,
    pub packets: [u64; 2],
    pub bytes: [u64; 2],
    pub gaps: [u64; 2],
    pub tcp_state: TcpState,
    pub why: EndReason,
}

impl Run {
    /// The pieces of the only flow's direction `dir`.
    pub fn stream(&self, dir: Dir) -> Vec<Piece> {
        let ids: Vec<u64> = self.flows.keys().copied().collect();
        assert_eq!(ids.len(), 1, "expected one flow, got {:?}", self.flows);
        self.data
            .get(&(ids[0], dir.index()))
            .cloned()
            .unwrap_or_default()
    }
}

fn push(pieces: &mut Vec<Piece>, data: Data<'_>) {
    match (pieces.last_mut(), data) {
        (Some(Piece::Bytes(v)), Data::Bytes(b)) => v.extend_from_slice(b),
        (Some(Piece::Gap(g)), Data::Gap(n)) => *g += n,
        (_, Data::Bytes(b)) => pieces.push(Piece::Bytes(b.to_vec())),
        (_, Data::Gap(n)) => pieces.push(Piece::Gap(n)),
    }
}

/// Runs a capture's bytes through reader, decoder and flow table.
pub fn run_bytes(bytes: &[u8], config: FlowConfig) -> Run {
    let mut run = Run::default();
    let reader = PcapReader::new(bytes);
    match reader {
        Ok(mut reader) => run_reader(&mut reader, config, &mut run),
        Err(e) => run.error = Some(e.to_string()),
    }
    run
}

pub fn run_reader<R: std::io::Read>(reader: &mut PcapReader<R>, config: FlowConfig, run: &mut Run) {
    let mut decoder = Decoder::new();
    let mut table: FlowTable<()> = FlowTable::new(config);
    let collect = |table: &mut FlowTable<()>, run: &mut Run| {
        table.take_ended(|f, why| {
            run.flows.insert(
                f.id,
                Ended {
                    key: f.key,
                    initiator: f.initiator(),
                    packets: f.packets,
                    bytes: f.bytes,
                    gaps: f.gaps,
                    tcp_state: f.tcp_state,
                    why,
                },
            );
        });
    };
    loop {
        let frame = match reader.next_frame() {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => {
                run.error = Some(e.to_string());
                break;
            }
        };
        run.frames += 1;
        let wire_len = u64::from(frame.wire_len);
        decoder.decode(&frame, |pkt| {
            run.timestamps.push(pkt.ts_us);
            run.l2.push((pkt.vlans, pkt.src_mac));
            table.expire(pkt.ts_us);
            let data = &mut run.data;
            if let Some(id) = table.process(pkt, |f, d, piece| {
                push(data.entry((f.id, d.index())).or_default(), piece);
            }) {
                *run.frame_bytes.entry(id).or_default() += wire_len;
            }
        });
        collect(&mut table, run);
    }
    table.drain();
    collect(&mut table, run);
    run.decode = decoder.stats().clone();
    run.flow_stats = table.stats();
}

/// A deterministic pseudo-random sequence (SplitMix64), so failures reproduce.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Every pcap and pcapng file under the shared third-party captures.
pub fn shared_captures() -> Vec<std::path::PathBuf> {
    let root = pumpguard_testkit::shared_data().join("pcap");
    let mut out = Vec::new();
    let mut dirs = vec![root];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "pcap" || x == "pcapng") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Silences "unused" in test crates that only need part of this module.
pub fn _uses(_: CaptureError) {}
