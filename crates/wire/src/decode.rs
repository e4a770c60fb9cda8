//! L2–L4 decoding of one [`Frame`] into a [`Decoded`] view: MAC addresses, VLAN tags,
//! ARP, the IP header and the TCP/UDP/ICMP header with its payload, all borrowed from
//! the frame. etherparse's `LaxSlicedPacket` slices the headers (trimming Ethernet
//! padding by the IP total length); IP fragments go through our bounded reassembler
//! (`defrag`). The decoder never panics and never allocates for an unfragmented packet.
//!
//! Most frames on a pump network are Ethernet (perhaps one 802.1Q tag), whole IPv4,
//! TCP or UDP: [`fast_ipv4`] reads those few fixed fields itself, and gives every other
//! frame to etherparse. It exists because etherparse's lax slicing copies its large
//! slice structs several times per frame (about 7 % of `pumpguard sense` in memmove and
//! slicing); a test and the `wire_packet` fuzz target check that both paths decode
//! every frame alike.

use std::net::{IpAddr, Ipv4Addr};

use etherparse::{
    EtherType, Icmpv4Slice, Icmpv6Slice, LaxLinkExtSlice, LaxNetSlice, LaxSlicedPacket, LinkSlice,
    TcpSlice, TransportSlice, UdpSlice,
};

use crate::capture::{Frame, LinkType};
use crate::defrag::{FragKey, Fragment, Limits, Outcome, Reassembler};
use crate::link;

/// EtherType of a PPPoE session (RFC 2516).
const PPPOE_SESSION: u16 = 0x8864;
/// IP-in-IP encapsulations opened at most (deeper ones are passed on as they are).
const MAX_TUNNELS: u8 = 2;

/// An ARP packet for IPv4 over Ethernet (RFC 826).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arp {
    /// 1 request, 2 reply.
    pub op: u16,
    pub sender_mac: [u8; 6],
    pub sender_ip: Ipv4Addr,
    pub target_mac: [u8; 6],
    pub target_ip: Ipv4Addr,
}

/// The IP header fields the flow table and the sensor need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpHeader {
    pub src: IpAddr,
    pub dst: IpAddr,
    /// The protocol after any IPv6 extension headers.
    pub proto: u8,
    /// TTL (IPv4) or hop limit (IPv6).
    pub ttl: u8,
}

/// TCP header fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpHeader {
    pub src_port: u16,
    pub dst_port: u16,
    pub seq: u32,
    pub ack: u32,
    pub flags: TcpFlags,
    pub window: u16,
}

/// TCP flag bits as in the header's 13th byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TcpFlags(pub u8);

impl TcpFlags {
    pub const FIN: TcpFlags = TcpFlags(0x01);
    pub const SYN: TcpFlags = TcpFlags(0x02);
    pub const RST: TcpFlags = TcpFlags(0x04);
    pub const PSH: TcpFlags = TcpFlags(0x08);
    pub const ACK: TcpFlags = TcpFlags(0x10);
    pub const URG: TcpFlags = TcpFlags(0x20);
    pub const ECE: TcpFlags = TcpFlags(0x40);
    pub const CWR: TcpFlags = TcpFlags(0x80);

    /// Whether every bit of `f` is set.
    pub fn has(self, f: TcpFlags) -> bool {
        self.0 & f.0 == f.0
    }
}

impl std::ops::BitOr for TcpFlags {
    type Output = TcpFlags;
    fn bitor(self, rhs: TcpFlags) -> TcpFlags {
        TcpFlags(self.0 | rhs.0)
    }
}

/// The transport header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum L4 {
    /// No IP packet (ARP, other EtherTypes).
    None,
    Tcp(TcpHeader),
    Udp {
        src_port: u16,
        dst_port: u16,
    },
    Icmp {
        v6: bool,
        kind: u8,
        code: u8,
    },
    /// Another IP protocol (the number); `payload` is the IP payload.
    Other(u8),
}

/// One decoded packet, borrowed from its frame (or from the decoder, for a reassembled
/// datagram) for the duration of the callback.
#[derive(Debug, Clone, Copy)]
pub struct Decoded<'a> {
    pub ts_us: i64,
    /// Ethernet source (or the sender's address of a Linux cooked capture).
    pub src_mac: Option<[u8; 6]>,
    pub dst_mac: Option<[u8; 6]>,
    /// 802.1Q / 802.1ad tags, outer first.
    pub vlans: [Option<u16>; 2],
    pub arp: Option<Arp>,
    pub ip: Option<IpHeader>,
    pub l4: L4,
    /// TCP/UDP data (ICMP: the bytes after the ICMP header; another IP protocol: the IP
    /// payload), trimmed to the IP total length so Ethernet padding is gone. For a frame
    /// with neither IP nor ARP: the link-layer payload (see `ether_type`).
    pub payload: &'a [u8],
    pub wire_len: u32,
    /// The EtherType (or Linux cooked protocol) after any VLAN tags, when there is one.
    pub ether_type: Option<u16>,
    /// IP header plus payload as the IP header declares it (0 without IP).
    pub ip_len: u32,
    /// The L4 payload length the IP header declares: larger than `payload.len()` when the
    /// capture cut the frame short (snaplen), so TCP reassembly can account the hole.
    pub payload_len: u32,
    /// True when this packet was reassembled from IP fragments.
    pub reassembled: bool,
}

impl Default for Decoded<'_> {
    fn default() -> Self {
        Decoded {
            ts_us: 0,
            src_mac: None,
            dst_mac: None,
            vlans: [None; 2],
            arp: None,
            ip: None,
            l4: L4::None,
            payload: &[],
            wire_len: 0,
            ether_type: None,
            ip_len: 0,
            payload_len: 0,
            reassembled: false,
        }
    }
}

/// What the decoder saw.
#[derive(Debug, Default, Clone)]
pub struct DecodeStats {
    pub frames: u64,
    /// Frames whose headers could not be parsed (truncated or invalid); not passed on.
    pub malformed: u64,
    /// Frames of a link type we do not decode (`LinkType::Other`).
    pub unsupported_link: u64,
    /// IP fragments seen.
    pub fragments: u64,
    /// Datagrams reassembled from them.
    pub reassembled: u64,
    /// Fragments thrown away: conflicting, oversized, truncated by the capture, timed out
    /// (`fragments_expired` of them) or evicted to respect the reassembly bounds.
    pub fragments_dropped: u64,
    pub fragments_expired: u64,
    /// Fragment bytes received twice (the first copy is kept).
    pub fragment_overlap_bytes: u64,
    /// Datagrams being reassembled now.
    pub fragments_pending: usize,
    pub arp: u64,
    pub ipv4: u64,
    pub ipv6: u64,
    /// Frames with neither IP nor ARP (LLDP, CDP, STP, ...), passed on with `ip: None`.
    pub non_ip: u64,
    /// IP-in-IP and 6in4 packets opened to reach the inner packet.
    pub tunnelled: u64,
}

/// Decodes frames; stateful because of IP fragment reassembly, which is bounded (4096
/// datagrams, 32 MiB, 30 s of capture time).
#[derive(Debug)]
pub struct Decoder {
    stats: DecodeStats,
    defrag: Reassembler,
    /// The reassembler's expired + evicted count already folded into `stats`.
    defrag_dropped_seen: u64,
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder::new()
    }
}

/// Where the link layer left off.
#[derive(Debug, Clone, Copy, Default)]
struct L2 {
    src_mac: Option<[u8; 6]>,
    dst_mac: Option<[u8; 6]>,
}

impl Decoder {
    pub fn new() -> Self {
        Decoder {
            stats: DecodeStats::default(),
            defrag: Reassembler::new(Limits::default()),
            defrag_dropped_seen: 0,
        }
    }

    pub fn stats(&self) -> &DecodeStats {
        &self.stats
    }

    /// Decodes one frame: calls `f` once for an ordinary packet, not at all for a
    /// fragment that does not complete a datagram or for a malformed frame (both
    /// counted), and once with the whole datagram when the last fragment arrives.
    /// Never panics.
    pub fn decode<F: FnMut(&Decoded<'_>)>(&mut self, frame: &Frame<'_>, f: F) {
        if frame.link == LinkType::Ethernet
            && let Some(fast) = fast_ipv4(frame.data)
        {
            self.stats.frames += 1;
            self.stats.ipv4 += 1;
            return fast.deliver(frame, f);
        }
        self.decode_general(frame, f);
    }

    /// [`Decoder::decode`] without its fast path: every frame through etherparse. Public
    /// for the tests and the fuzz target that compare the two.
    #[doc(hidden)]
    pub fn decode_general<F: FnMut(&Decoded<'_>)>(&mut self, frame: &Frame<'_>, mut f: F) {
        self.stats.frames += 1;
        let data = frame.data;
        let mut l2 = L2::default();
        let sliced = match frame.link {
            LinkType::Ethernet => match LaxSlicedPacket::from_ethernet(data) {
                Ok(p) => p,
                Err(_) => return self.malformed(),
            },
            LinkType::LinuxSll | LinkType::LinuxSll2 => {
                let cooked = if frame.link == LinkType::LinuxSll {
                    link::sll(data)
                } else {
                    link::sll2(data)
                };
                let Some(c) = cooked else {
                    return self.malformed();
                };
                l2.src_mac = c.src_mac;
                if c.protocol < 0x0600 {
                    // Not an EtherType (802.2 LLC, CAN, ...): a frame without IP.
                    return self.non_ip(frame, l2, None, c.payload, &mut f);
                }
                LaxSlicedPacket::from_ether_type(EtherType(c.protocol), c.payload)
            }
            LinkType::RawIp => match LaxSlicedPacket::from_ip(data) {
                Ok(p) => p,
                Err(_) => return self.malformed(),
            },
            LinkType::Null => match link::null(data) {
                Some((_, ip)) => match LaxSlicedPacket::from_ip(ip) {
                    Ok(p) => p,
                    Err(_) => return self.malformed(),
                },
                None if data.len() < 4 => return self.malformed(),
                None => {
                    let rest = data.get(4..).unwrap_or_default();
                    return self.non_ip(frame, l2, None, rest, &mut f);
                }
            },
            LinkType::Other(_) => {
                self.stats.unsupported_link += 1;
                return;
            }
        };
        self.sliced(frame, l2, &sliced, &mut f);
    }

    fn malformed(&mut self) {
        self.stats.malformed += 1;
    }

    fn non_ip<F: FnMut(&Decoded<'_>)>(
        &mut self,
        frame: &Frame<'_>,
        l2: L2,
        ether_type: Option<u16>,
        payload: &[u8],
        f: &mut F,
    ) {
        self.stats.non_ip += 1;
        f(&Decoded {
            ts_us: frame.ts_us,
            src_mac: l2.src_mac,
            dst_mac: l2.dst_mac,
            payload,
            wire_len: frame.wire_len,
            ether_type,
            ..Decoded::default()
        });
    }

    fn sliced<F: FnMut(&Decoded<'_>)>(
        &mut self,
        frame: &Frame<'_>,
        mut l2: L2,
        p: &LaxSlicedPacket<'_>,
        f: &mut F,
    ) {
        if p.stop_err.is_some() {
            return self.malformed();
        }
        if let Some(LinkSlice::Ethernet2(eth)) = &p.link {
            l2.src_mac = Some(eth.source());
            l2.dst_mac = Some(eth.destination());
        }
        let mut vlans = [None; 2];
        let mut tags = p.link_exts.iter().filter_map(|ext| match ext {
            LaxLinkExtSlice::Vlan(v) => Some(v.vlan_identifier().value()),
            LaxLinkExtSlice::Macsec(_) => None,
        });
        vlans[0] = tags.next();
        vlans[1] = tags.next();
        let ether = p.ether_payload();
        let ether_type = ether.as_ref().map(|e| e.ether_type.0);
        let base = Decoded {
            ts_us: frame.ts_us,
            src_mac: l2.src_mac,
            dst_mac: l2.dst_mac,
            vlans,
            wire_len: frame.wire_len,
            ether_type,
            ..Decoded::default()
        };
        if p.net.is_none() {
            let pppoe = ether
                .as_ref()
                .filter(|e| e.ether_type.0 == PPPOE_SESSION)
                .and_then(|e| link::pppoe_ip(e.payload));
            if let Some(ip) = pppoe {
                return match LaxSlicedPacket::from_ip(ip) {
                    Ok(inner) => self.network(frame, base, &inner, 0, f),
                    Err(_) => self.malformed(),
                };
            }
            let payload = ether.map(|e| e.payload).unwrap_or_default();
            self.stats.non_ip += 1;
            return f(&Decoded { payload, ..base });
        }
        self.network(frame, base, p, 0, f);
    }

    /// The network layer of `p` (ARP or IP), after the link layer filled `base`.
    /// `depth` counts IP-in-IP encapsulations already opened.
    fn network<F: FnMut(&Decoded<'_>)>(
        &mut self,
        frame: &Frame<'_>,
        base: Decoded<'_>,
        p: &LaxSlicedPacket<'_>,
        depth: u8,
        f: &mut F,
    ) {
        if p.stop_err.is_some() {
            return self.malformed();
        }
        match &p.net {
            None => self.malformed(),
            Some(LaxNetSlice::Arp(arp)) => {
                self.stats.arp += 1;
                f(&Decoded {
                    arp: arp_ipv4(arp.slice()),
                    ..base
                });
            }
            Some(LaxNetSlice::Ipv4(v4)) => {
                self.stats.ipv4 += 1;
                let h = v4.header();
                let ip_payload = v4.payload();
                let ip = IpHeader {
                    src: IpAddr::V4(h.source_addr()),
                    dst: IpAddr::V4(h.destination_addr()),
                    proto: ip_payload.ip_number.0,
                    ttl: h.ttl(),
                };
                let start = h.slice().as_ptr() as usize;
                let captured = end_of(ip_payload.payload).saturating_sub(start);
                // The declared length, unless it is unusable (0 under TSO, or shorter
                // than the header): a capture cut by the snaplen keeps its real length.
                let declared = usize::from(h.total_len());
                let ip_len = if declared >= h.slice().len() {
                    declared
                } else {
                    captured
                };
                if !ip_payload.fragmented && matches!(ip.proto, 4 | 41) && depth < MAX_TUNNELS {
                    // IP-in-IP / 6in4 (RFC 2003, RFC 4213): the inner packet is the one
                    // with ports; the outer addresses are the tunnel endpoints.
                    self.stats.tunnelled += 1;
                    return match LaxSlicedPacket::from_ip(ip_payload.payload) {
                        Ok(inner) => self.network(frame, base, &inner, depth + 1, f),
                        Err(_) => self.malformed(),
                    };
                }
                if ip_payload.fragmented {
                    let header_len = (ip_payload.payload.as_ptr() as usize).saturating_sub(start);
                    let frag = Fragment {
                        key: FragKey {
                            src: ip.src,
                            dst: ip.dst,
                            id: u32::from(h.identification()),
                            proto: ip.proto,
                        },
                        offset: u32::from(h.fragments_offset().byte_offset()),
                        more: h.more_fragments(),
                        data: ip_payload.payload,
                        ts_us: frame.ts_us,
                        header: ip,
                        header_len: header_len as u32,
                    };
                    return self.fragment(frag, ip_payload.incomplete, base, f);
                }
                let cut = (frame.wire_len as usize).saturating_sub(frame.data.len());
                self.ip_packet(p, ip, start, ip_len, ip_payload.payload, cut, base, f);
            }
            Some(LaxNetSlice::Ipv6(v6)) => {
                self.stats.ipv6 += 1;
                let h = v6.header();
                let ip_payload = v6.payload();
                let ip = IpHeader {
                    src: IpAddr::V6(h.source_addr()),
                    dst: IpAddr::V6(h.destination_addr()),
                    proto: ip_payload.ip_number.0,
                    ttl: h.hop_limit(),
                };
                let start = h.slice().as_ptr() as usize;
                let captured = end_of(ip_payload.payload).saturating_sub(start);
                // Payload length 0 is a jumbogram (RFC 2675) or TSO: use what was captured.
                let ip_len = match h.payload_length() {
                    0 => captured,
                    n => 40 + usize::from(n),
                };
                if !ip_payload.fragmented && matches!(ip.proto, 4 | 41) && depth < MAX_TUNNELS {
                    // IP-in-IP / 6in4 (RFC 2003, RFC 4213): the inner packet is the one
                    // with ports; the outer addresses are the tunnel endpoints.
                    self.stats.tunnelled += 1;
                    return match LaxSlicedPacket::from_ip(ip_payload.payload) {
                        Ok(inner) => self.network(frame, base, &inner, depth + 1, f),
                        Err(_) => self.malformed(),
                    };
                }
                if ip_payload.fragmented {
                    let fh = v6.extensions().clone().into_iter().find_map(|e| match e {
                        etherparse::Ipv6ExtensionSlice::Fragment(fh) => Some(fh),
                        _ => None,
                    });
                    let Some(fh) = fh else {
                        return self.malformed();
                    };
                    // The fragmentable part starts right after the fragment header
                    // (RFC 8200 §4.5), whatever etherparse parsed behind it.
                    let frag_start = end_of(fh.slice());
                    let frag_end = end_of(ip_payload.payload);
                    let from = frag_start.saturating_sub(data_start(frame));
                    let to = frag_end.saturating_sub(data_start(frame));
                    let Some(data) = frame.data.get(from..to) else {
                        return self.malformed();
                    };
                    let frag = Fragment {
                        key: FragKey {
                            src: ip.src,
                            dst: ip.dst,
                            id: fh.identification(),
                            proto: 0,
                        },
                        offset: u32::from(fh.fragment_offset().byte_offset()),
                        more: fh.more_fragments(),
                        data,
                        ts_us: frame.ts_us,
                        header: IpHeader {
                            proto: fh.next_header().0,
                            ..ip
                        },
                        header_len: frag_start.saturating_sub(start) as u32,
                    };
                    return self.fragment(frag, ip_payload.incomplete, base, f);
                }
                let cut = (frame.wire_len as usize).saturating_sub(frame.data.len());
                self.ip_packet(p, ip, start, ip_len, ip_payload.payload, cut, base, f);
            }
        }
    }

    /// An unfragmented IP packet: its transport header was sliced by etherparse.
    #[allow(clippy::too_many_arguments)]
    fn ip_packet<F: FnMut(&Decoded<'_>)>(
        &mut self,
        p: &LaxSlicedPacket<'_>,
        ip: IpHeader,
        ip_start: usize,
        ip_len: usize,
        ip_payload: &[u8],
        cut: usize,
        base: Decoded<'_>,
        f: &mut F,
    ) {
        let (l4, payload) = match &p.transport {
            Some(TransportSlice::Tcp(t)) => (L4::Tcp(tcp_header(t)), t.payload()),
            Some(TransportSlice::Udp(u)) => (
                L4::Udp {
                    src_port: u.source_port(),
                    dst_port: u.destination_port(),
                },
                u.payload(),
            ),
            Some(TransportSlice::Icmpv4(i)) => (
                L4::Icmp {
                    v6: false,
                    kind: i.type_u8(),
                    code: i.code_u8(),
                },
                i.payload(),
            ),
            Some(TransportSlice::Icmpv6(i)) => (
                L4::Icmp {
                    v6: true,
                    kind: i.type_u8(),
                    code: i.code_u8(),
                },
                i.payload(),
            ),
            Some(TransportSlice::Igmp(_)) | None => (L4::Other(ip.proto), ip_payload),
        };
        let payload_len = match l4 {
            // What the IP header declares beyond the TCP header, so a snaplen-cut segment
            // still advances the sequence space by its real length.
            // Only as much as the capture cut off the frame: a total length larger than
            // the frame on the wire is a lie, not missing data.
            L4::Tcp(_) => (ip_start + ip_len)
                .saturating_sub(payload.as_ptr() as usize)
                .min(payload.len() + cut)
                .max(payload.len()),
            _ => payload.len(),
        };
        f(&Decoded {
            ip: Some(ip),
            l4,
            payload,
            ip_len: ip_len as u32,
            payload_len: payload_len as u32,
            ..base
        });
    }

    fn fragment<F: FnMut(&Decoded<'_>)>(
        &mut self,
        frag: Fragment<'_>,
        incomplete: bool,
        base: Decoded<'_>,
        f: &mut F,
    ) {
        self.stats.fragments += 1;
        if incomplete {
            // The capture cut this fragment short: its datagram can never be whole.
            self.stats.fragments_dropped += 1;
            return;
        }
        let outcome = self.defrag.add(frag);
        self.sync_defrag_stats();
        match outcome {
            Outcome::Pending => {}
            Outcome::Dropped(n) => self.stats.fragments_dropped += n,
            Outcome::Complete(c) => {
                self.stats.reassembled += 1;
                let mut proto = c.header.proto;
                let mut body: &[u8] = &c.payload;
                if matches!(c.header.src, IpAddr::V6(_)) {
                    (proto, body) = skip_ipv6_extensions(proto, body);
                }
                match transport(proto, body) {
                    Some((l4, payload)) => {
                        let ip_len = c.header_len as usize + c.payload.len();
                        f(&Decoded {
                            ip: Some(IpHeader { proto, ..c.header }),
                            l4,
                            payload,
                            ip_len: ip_len as u32,
                            payload_len: payload.len() as u32,
                            reassembled: true,
                            ..base
                        });
                    }
                    None => self.malformed(),
                }
                self.defrag.recycle(c.payload);
            }
        }
    }

    fn sync_defrag_stats(&mut self) {
        let c = self.defrag.counters;
        // The reassembler counts fragments it expired or evicted; fold in what is new.
        let dropped = c.expired + c.evicted;
        self.stats.fragments_dropped += dropped.saturating_sub(self.defrag_dropped_seen);
        self.defrag_dropped_seen = dropped;
        self.stats.fragments_expired = c.expired;
        self.stats.fragment_overlap_bytes = c.overlap_bytes;
        self.stats.fragments_pending = self.defrag.pending();
    }
}

/// What [`fast_ipv4`] read from a frame.
struct Fast<'a> {
    src_mac: [u8; 6],
    dst_mac: [u8; 6],
    vlan: Option<u16>,
    ip: IpHeader,
    ip_len: u32,
    l4: L4,
    payload: &'a [u8],
}

impl Fast<'_> {
    fn deliver<F: FnMut(&Decoded<'_>)>(self, frame: &Frame<'_>, mut f: F) {
        f(&Decoded {
            ts_us: frame.ts_us,
            src_mac: Some(self.src_mac),
            dst_mac: Some(self.dst_mac),
            vlans: [self.vlan, None],
            arp: None,
            ip: Some(self.ip),
            l4: self.l4,
            payload: self.payload,
            wire_len: frame.wire_len,
            ether_type: Some(0x0800),
            ip_len: self.ip_len,
            // The whole datagram is in the frame, so nothing was cut from the payload.
            payload_len: self.payload.len() as u32,
            reassembled: false,
        })
    }
}

/// An Ethernet II frame, untagged or with one 802.1Q tag, carrying a whole unfragmented
/// IPv4 datagram (total length within the frame, so padding is trimmed by it) of TCP or
/// UDP with a whole header; `None` for anything else, which etherparse decodes. Fields
/// are read as RFC 791, 793 and 768 place them.
fn fast_ipv4(data: &[u8]) -> Option<Fast<'_>> {
    let be16 = |b: &[u8], at: usize| -> Option<u16> {
        Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
    };
    let dst_mac: [u8; 6] = data.get(0..6)?.try_into().ok()?;
    let src_mac: [u8; 6] = data.get(6..12)?.try_into().ok()?;
    let (vlan, ip) = match be16(data, 12)? {
        0x0800 => (None, data.get(14..)?),
        0x8100 if be16(data, 16)? == 0x0800 => (Some(be16(data, 14)? & 0x0fff), data.get(18..)?),
        _ => return None,
    };
    let first = *ip.first()?;
    let header_len = usize::from(first & 0x0f) * 4;
    let total_len = usize::from(be16(ip, 2)?);
    let flags_offset = be16(ip, 6)?;
    // Version 4, a header of at least 20 bytes, a total length that covers the header and
    // fits the frame, neither more fragments nor an offset.
    if first >> 4 != 4
        || header_len < 20
        || total_len < header_len
        || total_len > ip.len()
        || flags_offset & 0x3fff != 0
    {
        return None;
    }
    let proto = *ip.get(9)?;
    let addr = |at: usize| -> Option<Ipv4Addr> {
        let b: [u8; 4] = ip.get(at..at + 4)?.try_into().ok()?;
        Some(Ipv4Addr::from(b))
    };
    let header = IpHeader {
        src: IpAddr::V4(addr(12)?),
        dst: IpAddr::V4(addr(16)?),
        proto,
        ttl: *ip.get(8)?,
    };
    let body = ip.get(header_len..total_len)?;
    let (l4, payload) = match proto {
        6 => {
            let offset = usize::from(*body.get(12)? >> 4) * 4;
            if offset < 20 {
                return None;
            }
            let l4 = L4::Tcp(TcpHeader {
                src_port: be16(body, 0)?,
                dst_port: be16(body, 2)?,
                seq: u32::from(be16(body, 4)?) << 16 | u32::from(be16(body, 6)?),
                ack: u32::from(be16(body, 8)?) << 16 | u32::from(be16(body, 10)?),
                flags: TcpFlags(*body.get(13)?),
                window: be16(body, 14)?,
            });
            (l4, body.get(offset..)?)
        }
        17 => {
            let l4 = L4::Udp {
                src_port: be16(body, 0)?,
                dst_port: be16(body, 2)?,
            };
            // The UDP length bounds the payload when it is plausible; otherwise the IP
            // payload does (as etherparse's lax slicing does).
            let len = usize::from(be16(body, 4)?);
            let end = if (8..=body.len()).contains(&len) {
                len
            } else {
                body.len()
            };
            (l4, body.get(8..end)?)
        }
        _ => return None,
    };
    Some(Fast {
        src_mac,
        dst_mac,
        vlan,
        ip: header,
        ip_len: total_len as u32,
        l4,
        payload,
    })
}

fn end_of(s: &[u8]) -> usize {
    (s.as_ptr() as usize).saturating_add(s.len())
}

fn data_start(frame: &Frame<'_>) -> usize {
    frame.data.as_ptr() as usize
}

fn tcp_header(t: &TcpSlice<'_>) -> TcpHeader {
    let flags = t.header_slice().get(13).copied().unwrap_or(0);
    TcpHeader {
        src_port: t.source_port(),
        dst_port: t.destination_port(),
        seq: t.sequence_number(),
        ack: t.acknowledgment_number(),
        flags: TcpFlags(flags),
        window: t.window_size(),
    }
}

/// The transport header of a reassembled datagram.
fn transport(proto: u8, body: &[u8]) -> Option<(L4, &[u8])> {
    Some(match proto {
        6 => {
            let t = TcpSlice::from_slice(body).ok()?;
            (L4::Tcp(tcp_header(&t)), t.payload())
        }
        17 => {
            let u = UdpSlice::from_slice_lax(body).ok()?;
            (
                L4::Udp {
                    src_port: u.source_port(),
                    dst_port: u.destination_port(),
                },
                u.payload(),
            )
        }
        1 => {
            let i = Icmpv4Slice::from_slice(body).ok()?;
            (
                L4::Icmp {
                    v6: false,
                    kind: i.type_u8(),
                    code: i.code_u8(),
                },
                i.payload(),
            )
        }
        58 => {
            let i = Icmpv6Slice::from_slice(body).ok()?;
            (
                L4::Icmp {
                    v6: true,
                    kind: i.type_u8(),
                    code: i.code_u8(),
                },
                i.payload(),
            )
        }
        other => (L4::Other(other), body),
    })
}

/// Skips IPv6 extension headers at the start of a reassembled payload (those after the
/// fragment header: destination options, routing, hop-by-hop), RFC 8200 §4.
fn skip_ipv6_extensions(mut proto: u8, mut body: &[u8]) -> (u8, &[u8]) {
    for _ in 0..8 {
        if !matches!(proto, 0 | 43 | 60) {
            break;
        }
        let (Some(&next), Some(&units)) = (body.first(), body.get(1)) else {
            break;
        };
        let len = (usize::from(units) + 1) * 8;
        let Some(rest) = body.get(len..) else {
            break;
        };
        proto = next;
        body = rest;
    }
    (proto, body)
}

/// ARP for IPv4 over Ethernet; other hardware or protocol types give `None`.
fn arp_ipv4(raw: &[u8]) -> Option<Arp> {
    let field = |at: usize, len: usize| raw.get(at..at.checked_add(len)?);
    let htype = u16::from_be_bytes(field(0, 2)?.try_into().ok()?);
    let ptype = u16::from_be_bytes(field(2, 2)?.try_into().ok()?);
    if htype != 1 || ptype != 0x0800 || field(4, 2)? != [6, 4] {
        return None;
    }
    let op = u16::from_be_bytes(field(6, 2)?.try_into().ok()?);
    let ip = |at| -> Option<Ipv4Addr> {
        let b: [u8; 4] = field(at, 4)?.try_into().ok()?;
        Some(Ipv4Addr::from(b))
    };
    Some(Arp {
        op,
        sender_mac: field(8, 6)?.try_into().ok()?,
        sender_ip: ip(14)?,
        target_mac: field(18, 6)?.try_into().ok()?,
        target_ip: ip(24)?,
    })
}
