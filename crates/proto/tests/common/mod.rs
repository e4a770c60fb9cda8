//! Test plumbing: reads a capture with pcap-parser and cuts it into flows, each a list
//! of TCP/UDP payloads per direction in order (naive reassembly by sequence number:
//! enough for the small shared captures; the real plumbing is `pumpguard-wire`'s job),
//! then runs a [`Session`] over each flow. Also runs tshark as an oracle.

// Test plumbing: a capture that does not parse is a broken test, so it may panic.
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::Command;

use pcap_parser::{PcapBlockOwned, PcapError, create_reader, pcapng::Block};
use pumpguard_proto::{App, Event, Session, Side, Transport};

pub fn pcap(rel: &str) -> PathBuf {
    pumpguard_testkit::shared_data().join("pcap").join(rel)
}

#[derive(Debug, Clone)]
pub enum Item {
    Data(Side, Vec<u8>),
    Gap(Side, u64),
}

#[derive(Debug, Clone)]
pub struct Flow {
    pub transport: Transport,
    pub client: (IpAddr, u16),
    pub server: (IpAddr, u16),
    pub items: Vec<Item>,
}

impl Flow {
    /// Runs a fresh session over the flow.
    pub fn run(&self) -> (App, Vec<Event>) {
        let mut s = Session::new(self.transport, self.client.1, self.server.1);
        let mut out = Vec::new();
        for it in &self.items {
            match it {
                Item::Data(side, d) => s.on_data(*side, d, &mut out),
                Item::Gap(side, n) => s.on_gap(*side, *n),
            }
        }
        (s.app(), out)
    }

    /// True when the flow joins these two endpoints (either way round).
    pub fn joins(&self, a: (IpAddr, u16), b: (IpAddr, u16)) -> bool {
        (self.client == a && self.server == b) || (self.client == b && self.server == a)
    }

    pub fn bytes(&self, side: Side) -> Vec<u8> {
        let mut v = Vec::new();
        for it in &self.items {
            if let Item::Data(s, d) = it
                && *s == side
            {
                v.extend_from_slice(d);
            }
        }
        v
    }
}

type Key = (u8, IpAddr, u16, IpAddr, u16);

#[derive(Default)]
struct Dir {
    next: Option<u32>,
    pending: BTreeMap<u32, Vec<u8>>,
}

struct Building {
    flow: Flow,
    dirs: [Dir; 2],
}

/// Every TCP and UDP flow of a capture, in order of first packet.
pub fn flows(path: &std::path::Path) -> Vec<Flow> {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut reader = create_reader(1 << 20, file).expect("pcap reader");
    let mut linktypes: Vec<i32> = Vec::new();
    let mut legacy_link = 1i32;
    let mut order: Vec<Key> = Vec::new();
    let mut building: HashMap<Key, Building> = HashMap::new();
    loop {
        match reader.next() {
            Ok((offset, block)) => {
                let frame: Option<(i32, Vec<u8>)> = match block {
                    PcapBlockOwned::LegacyHeader(h) => {
                        legacy_link = h.network.0;
                        None
                    }
                    PcapBlockOwned::Legacy(b) => Some((legacy_link, b.data.to_vec())),
                    PcapBlockOwned::NG(Block::InterfaceDescription(idb)) => {
                        linktypes.push(idb.linktype.0);
                        None
                    }
                    PcapBlockOwned::NG(Block::EnhancedPacket(epb)) => Some((
                        linktypes.get(epb.if_id as usize).copied().unwrap_or(1),
                        epb.data
                            .get(..epb.caplen as usize)
                            .unwrap_or(epb.data)
                            .to_vec(),
                    )),
                    PcapBlockOwned::NG(Block::SimplePacket(spb)) => {
                        Some((linktypes.first().copied().unwrap_or(1), spb.data.to_vec()))
                    }
                    PcapBlockOwned::NG(_) => None,
                };
                reader.consume(offset);
                if let Some((link, data)) = frame {
                    packet(link, &data, &mut order, &mut building);
                }
            }
            Err(PcapError::Eof) => break,
            Err(PcapError::Incomplete(_)) => {
                reader.refill().expect("refill");
            }
            Err(e) => panic!("{}: {e:?}", path.display()),
        }
    }
    order
        .into_iter()
        .filter_map(|k| building.remove(&k))
        .map(|mut b| {
            // Segments never filled in: deliver after a gap.
            for (i, side) in [(0, Side::Client), (1, Side::Server)] {
                let dir = &mut b.dirs[i];
                let pending = std::mem::take(&mut dir.pending);
                for (seq, data) in pending {
                    let next = dir.next.unwrap_or(seq);
                    let gap = seq.wrapping_sub(next);
                    if gap > 0 && gap < 1 << 30 {
                        b.flow.items.push(Item::Gap(side, u64::from(gap)));
                    }
                    dir.next = Some(seq.wrapping_add(data.len() as u32));
                    b.flow.items.push(Item::Data(side, data));
                }
            }
            b.flow
        })
        .collect()
}

fn packet(link: i32, data: &[u8], order: &mut Vec<Key>, flows: &mut HashMap<Key, Building>) {
    let (mut ethertype, mut rest) = match link {
        1 => {
            if data.len() < 14 {
                return;
            }
            (u16::from_be_bytes([data[12], data[13]]), &data[14..])
        }
        0 => {
            if data.len() < 4 {
                return;
            }
            let fam = u32::from_le_bytes([data[0], data[1], data[2], data[3]]);
            let fam = if fam > 0xffff { fam.swap_bytes() } else { fam };
            (if fam == 2 { 0x0800 } else { 0x86dd }, &data[4..])
        }
        101 => (
            if data.first().map(|b| b >> 4) == Some(6) {
                0x86dd
            } else {
                0x0800
            },
            data,
        ),
        113 => {
            if data.len() < 16 {
                return;
            }
            (u16::from_be_bytes([data[14], data[15]]), &data[16..])
        }
        _ => return,
    };
    while matches!(ethertype, 0x8100 | 0x88a8) && rest.len() >= 4 {
        ethertype = u16::from_be_bytes([rest[2], rest[3]]);
        rest = &rest[4..];
    }
    // PPPoE session: 6-byte header, then the PPP protocol.
    if ethertype == 0x8864 && rest.len() >= 8 {
        ethertype = match u16::from_be_bytes([rest[6], rest[7]]) {
            0x0021 => 0x0800,
            0x0057 => 0x86dd,
            _ => return,
        };
        rest = &rest[8..];
    }
    let (proto, src, dst, l4) = match ethertype {
        0x0800 => {
            if rest.len() < 20 {
                return;
            }
            let ihl = usize::from(rest[0] & 0xf) * 4;
            let total = usize::from(u16::from_be_bytes([rest[2], rest[3]]));
            let frag = u16::from_be_bytes([rest[6], rest[7]]) & 0x1fff;
            if frag != 0 || rest.len() < ihl {
                return;
            }
            let end = total.clamp(ihl, rest.len());
            let src = IpAddr::from([rest[12], rest[13], rest[14], rest[15]]);
            let dst = IpAddr::from([rest[16], rest[17], rest[18], rest[19]]);
            (rest[9], src, dst, &rest[ihl..end])
        }
        0x86dd => {
            if rest.len() < 40 {
                return;
            }
            let plen = usize::from(u16::from_be_bytes([rest[4], rest[5]]));
            let mut next = rest[6];
            let src = IpAddr::from(<[u8; 16]>::try_from(&rest[8..24]).unwrap());
            let dst = IpAddr::from(<[u8; 16]>::try_from(&rest[24..40]).unwrap());
            let mut l4 = &rest[40..(40 + plen).min(rest.len())];
            while matches!(next, 0 | 43 | 60) && l4.len() >= 8 {
                let len = (usize::from(l4[1]) + 1) * 8;
                next = l4[0];
                l4 = l4.get(len..).unwrap_or(&[]);
            }
            (next, src, dst, l4)
        }
        _ => return,
    };
    match proto {
        // IPv6 in IPv4 (6in4): the flow is the inner one.
        41 => packet(101, l4, order, flows),
        17 => {
            if l4.len() < 8 {
                return;
            }
            let sp = u16::from_be_bytes([l4[0], l4[1]]);
            let dp = u16::from_be_bytes([l4[2], l4[3]]);
            let ulen = usize::from(u16::from_be_bytes([l4[4], l4[5]])).clamp(8, l4.len());
            let payload = l4[8..ulen].to_vec();
            let (b, side) = lookup(17, (src, sp), (dst, dp), false, order, flows);
            if !payload.is_empty() {
                b.flow.items.push(Item::Data(side, payload));
            }
        }
        6 => {
            if l4.len() < 20 {
                return;
            }
            let sp = u16::from_be_bytes([l4[0], l4[1]]);
            let dp = u16::from_be_bytes([l4[2], l4[3]]);
            let seq = u32::from_be_bytes([l4[4], l4[5], l4[6], l4[7]]);
            let off = usize::from(l4[12] >> 4) * 4;
            let flags = l4[13];
            let syn = flags & 0x02 != 0;
            let ack = flags & 0x10 != 0;
            let payload = l4.get(off..).unwrap_or(&[]).to_vec();
            let (b, side) = lookup(6, (src, sp), (dst, dp), syn && !ack, order, flows);
            let i = if side == Side::Client { 0 } else { 1 };
            let dir = &mut b.dirs[i];
            if syn {
                dir.next = Some(seq.wrapping_add(1));
                return;
            }
            if payload.is_empty() {
                return;
            }
            let next = *dir.next.get_or_insert(seq);
            let delta = seq.wrapping_sub(next) as i32;
            if delta > 0 {
                dir.pending.insert(seq, payload);
                return;
            }
            let skip = usize::try_from(-i64::from(delta)).unwrap_or(usize::MAX);
            if skip >= payload.len() {
                return;
            }
            let fresh = payload[skip..].to_vec();
            dir.next = Some(next.wrapping_add(fresh.len() as u32));
            b.flow.items.push(Item::Data(side, fresh));
            // Fill in what waited for this.
            loop {
                let next = dir.next.unwrap_or(0);
                let Some((&s, _)) = dir.pending.iter().find(|(s, d)| {
                    let delta = s.wrapping_sub(next) as i32;
                    delta <= 0 && (d.len() as i64) > -i64::from(delta)
                }) else {
                    dir.pending.retain(|s, d| {
                        let delta = s.wrapping_sub(next) as i32;
                        delta > 0 || (d.len() as i64) > -i64::from(delta)
                    });
                    break;
                };
                let d = dir.pending.remove(&s).unwrap();
                let skip = next.wrapping_sub(s) as usize;
                let fresh = d[skip..].to_vec();
                dir.next = Some(next.wrapping_add(fresh.len() as u32));
                b.flow.items.push(Item::Data(side, fresh));
            }
        }
        _ => {}
    }
}

fn lookup<'a>(
    proto: u8,
    src: (IpAddr, u16),
    dst: (IpAddr, u16),
    src_is_client: bool,
    order: &mut Vec<Key>,
    flows: &'a mut HashMap<Key, Building>,
) -> (&'a mut Building, Side) {
    let fwd = (proto, src.0, src.1, dst.0, dst.1);
    let rev = (proto, dst.0, dst.1, src.0, src.1);
    if flows.contains_key(&fwd) {
        return (flows.get_mut(&fwd).unwrap(), Side::Client);
    }
    if flows.contains_key(&rev) {
        // A SYN from the side we took for the server: it is the client after all.
        let b = flows.get_mut(&rev).unwrap();
        if src_is_client && b.flow.items.is_empty() {
            let mut b = flows.remove(&rev).unwrap();
            std::mem::swap(&mut b.flow.client, &mut b.flow.server);
            b.dirs.swap(0, 1);
            let pos = order.iter().position(|k| *k == rev).unwrap();
            order[pos] = fwd;
            flows.insert(fwd, b);
            return (flows.get_mut(&fwd).unwrap(), Side::Client);
        }
        return (flows.get_mut(&rev).unwrap(), Side::Server);
    }
    order.push(fwd);
    flows.insert(
        fwd,
        Building {
            flow: Flow {
                transport: if proto == 6 {
                    Transport::Tcp
                } else {
                    Transport::Udp
                },
                client: src,
                server: dst,
                items: Vec::new(),
            },
            dirs: [Dir::default(), Dir::default()],
        },
    );
    (flows.get_mut(&fwd).unwrap(), Side::Client)
}

/// tshark's fields for each packet matching `filter` (tab-separated, one row a packet).
pub fn tshark(path: &std::path::Path, filter: &str, fields: &[&str]) -> Vec<Vec<String>> {
    tshark_with(path, &[], filter, fields)
}

/// [`tshark`] with extra options (e.g. `-d tcp.port==8000,ssh`).
pub fn tshark_with(
    path: &std::path::Path,
    extra: &[&str],
    filter: &str,
    fields: &[&str],
) -> Vec<Vec<String>> {
    let mut cmd = Command::new("tshark");
    cmd.arg("-r").arg(path).args(extra).args([
        "-Y",
        filter,
        "-T",
        "fields",
        "-E",
        "separator=\t",
        "-E",
        "occurrence=a",
        "-E",
        "aggregator=|",
    ]);
    for f in fields {
        cmd.args(["-e", f]);
    }
    let out = cmd.output().expect("tshark runs (apt-get install tshark)");
    assert!(
        out.status.success(),
        "tshark: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}

/// All events of every flow in a capture.
pub fn all_events(rel: &str) -> Vec<Event> {
    flows(&pcap(rel)).iter().flat_map(|f| f.run().1).collect()
}
