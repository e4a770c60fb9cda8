//! The flow table: accounts decoded IP packets to bidirectional flows (5-tuples), tracks
//! TCP connection state, reassembles each TCP direction into an in-order byte stream,
//! and ends flows on close, idle and active timeouts and to stay under a flow limit.
//!
//! Our own rather than a crate's: the bounds (flows, buffered bytes per direction and in
//! total) and the eviction order are part of the sensor's contract under attack (SYN
//! floods, out-of-order floods), the per-flow memory must stay small (a 300-byte budget
//! including the index), and in-order data must pass through without a copy: choices a
//! general-purpose crate would make differently or leave to us anyway.

mod store;
mod stream;

use std::hash::{Hash, Hasher};
use std::net::{IpAddr, SocketAddr};

use crate::decode::{Decoded, L4, TcpFlags};
use store::{Class, Store};
use stream::{Counters, Ctx, Stream, TcpSegment};

/// A bidirectional 5-tuple, normalised so both directions map to the same key:
/// `lo <= hi`. ICMP and other port-less protocols use port 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowKey {
    pub proto: u8,
    pub lo: SocketAddr,
    pub hi: SocketAddr,
}

/// Hashes the addresses as integers in two or three words instead of the derived
/// field-by-field walk (a measurable share of the per-packet cost). Equal keys hash
/// equally: IPv6 flow info and scope id are left out, which only widens buckets.
impl Hash for FlowKey {
    fn hash<H: Hasher>(&self, h: &mut H) {
        let ports = (u64::from(self.lo.port()) << 24)
            | (u64::from(self.hi.port()) << 8)
            | u64::from(self.proto);
        match (self.lo.ip(), self.hi.ip()) {
            (IpAddr::V4(a), IpAddr::V4(b)) => {
                h.write_u64((u64::from(u32::from(a)) << 32) | u64::from(u32::from(b)));
                h.write_u64(ports);
            }
            (a, b) => {
                let wide = |ip: IpAddr| match ip {
                    IpAddr::V4(v) => u128::from(u32::from(v)),
                    IpAddr::V6(v) => u128::from(v),
                };
                h.write_u128(wide(a));
                h.write_u128(wide(b));
                h.write_u64(ports | (1 << 63));
            }
        }
    }
}

impl FlowKey {
    /// The key of a packet from `a` to `b` (or from `b` to `a`).
    pub fn new(proto: u8, a: SocketAddr, b: SocketAddr) -> FlowKey {
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        FlowKey { proto, lo, hi }
    }
}

/// A packet's direction within its flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    /// From the initiator (client) to the responder (server).
    ToResponder,
    /// From the responder back to the initiator.
    ToInitiator,
}

impl Dir {
    /// 0 for `ToResponder`, 1 for `ToInitiator`: the index into a flow's counters.
    pub fn index(self) -> usize {
        match self {
            Dir::ToResponder => 0,
            Dir::ToInitiator => 1,
        }
    }

    pub fn reverse(self) -> Dir {
        match self {
            Dir::ToResponder => Dir::ToInitiator,
            Dir::ToInitiator => Dir::ToResponder,
        }
    }
}

/// Where a TCP connection is, as far as a passive observer can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TcpState {
    /// SYN seen.
    Syn,
    /// SYN-ACK seen.
    SynAck,
    /// Handshake completed (ACK after SYN-ACK).
    Established,
    /// A FIN seen from at least one side.
    Closing,
    /// Both FINs seen and acknowledged.
    Closed,
    /// RST seen.
    Reset,
    /// The first packet seen was not a SYN (capture started mid-connection).
    Midstream,
    /// Not a TCP flow.
    NotTcp,
}

/// One bidirectional flow.
#[derive(Debug)]
pub struct Flow<S> {
    /// Unique within the table, increasing in creation order.
    pub id: u64,
    pub key: FlowKey,
    /// Whether the initiator is `key.lo` (see [`Flow::initiator`]): the endpoints live
    /// once, in the key, which keeps a live flow 63 bytes smaller.
    initiator_is_lo: bool,
    pub initiator_mac: Option<[u8; 6]>,
    pub responder_mac: Option<[u8; 6]>,
    /// The first packet's innermost VLAN id (the customer tag under QinQ).
    pub vlan: Option<u16>,
    pub first_seen_us: i64,
    pub last_seen_us: i64,
    /// Packets per direction (index 0: to the responder).
    pub packets: [u64; 2],
    /// IP bytes (header and payload as the IP header declares them) per direction.
    pub bytes: [u64; 2],
    pub tcp_state: TcpState,
    /// TCP bytes per direction the reassembler skipped (holes it gave up on, and what was
    /// still waiting out of order when the flow ended).
    pub gaps: [u64; 2],
    /// The caller's per-flow state.
    pub state: S,
    streams: [Stream; 2],
    /// Sequence number of each direction's FIN.
    fin_seq: [u32; 2],
    /// FIN_SEEN/FIN_ACKED bits per direction.
    fin_bits: u8,
}

impl<S> Flow<S> {
    /// The client: the SYN's sender when the SYN was seen, the receiver of a first-seen
    /// SYN-ACK, else the first packet's sender.
    pub fn initiator(&self) -> SocketAddr {
        if self.initiator_is_lo {
            self.key.lo
        } else {
            self.key.hi
        }
    }

    /// The server: the other end from [`Flow::initiator`].
    pub fn responder(&self) -> SocketAddr {
        if self.initiator_is_lo {
            self.key.hi
        } else {
            self.key.lo
        }
    }
}

const FIN_SEEN: [u8; 2] = [0x01, 0x02];
const FIN_ACKED: [u8; 2] = [0x04, 0x08];

/// Why a flow left the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    /// No packet for the idle timeout.
    Idle,
    /// Open longer than the active timeout: a new flow continues it.
    Active,
    /// TCP close (both FINs acknowledged), RST, or a new SYN on a closing 5-tuple.
    Closed,
    /// Evicted (least recently seen) to stay under `max_flows`.
    Evicted,
    /// End of capture or shutdown.
    Drained,
}

/// Data handed to the caller, in order.
#[derive(Debug)]
pub enum Data<'a> {
    /// TCP: the next in-order stream bytes. UDP and others: one datagram's payload.
    Bytes(&'a [u8]),
    /// TCP: this many bytes will never be delivered (a hole the reassembler gave up on).
    Gap(u64),
}

/// Flow table settings.
#[derive(Debug, Clone, Copy)]
pub struct FlowConfig {
    /// TCP idle timeout (default 300 s).
    pub idle_timeout_us: i64,
    /// Idle timeout of every other protocol (default 120 s).
    pub udp_idle_timeout_us: i64,
    /// A flow open this long is ended and a new flow continues it (default 1800 s).
    pub active_timeout_us: i64,
    /// Live flows at most (default 1,000,000): beyond, the least recently seen is evicted.
    pub max_flows: usize,
    /// Out-of-order bytes buffered per direction (default 64 KiB).
    pub max_stream_buffer: usize,
    /// Out-of-order bytes buffered across all flows (default 256 MiB).
    pub max_buffered_total: usize,
    /// Reassemble TCP (default); when false, each TCP payload is passed on as it comes.
    pub reassemble: bool,
}

impl Default for FlowConfig {
    fn default() -> Self {
        FlowConfig {
            idle_timeout_us: 300_000_000,
            udp_idle_timeout_us: 120_000_000,
            active_timeout_us: 1_800_000_000,
            max_flows: 1_000_000,
            max_stream_buffer: 64 * 1024,
            max_buffered_total: 256 * 1024 * 1024,
            reassemble: true,
        }
    }
}

/// Table counters.
#[derive(Debug, Default, Clone)]
pub struct FlowStats {
    pub flows_created: u64,
    pub flows_evicted: u64,
    /// Flows in the table now.
    pub live: usize,
    /// Bytes held by out-of-order buffers now (data plus a per-segment overhead).
    pub buffered_bytes: usize,
    /// Holes reported as `Data::Gap`.
    pub gaps: u64,
    /// Bytes in those holes.
    pub gap_bytes: u64,
    /// TCP bytes dropped because they had been delivered or buffered before.
    pub retransmitted_bytes: u64,
    pub out_of_order_segments: u64,
    /// Flows ended, per reason: idle, active, closed, evicted, drained.
    pub ended: [u64; 5],
}

/// Live flows and the ended ones waiting for [`FlowTable::take_ended`].
pub struct FlowTable<S> {
    config: FlowConfig,
    store: Store<S>,
    ended: Vec<(Flow<S>, EndReason)>,
    next_id: u64,
    created: u64,
    evicted: u64,
    ended_by: [u64; 5],
    buffered: usize,
    counters: Counters,
}

impl<S> std::fmt::Debug for FlowTable<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlowTable")
            .field("live", &self.store.len())
            .field("ended", &self.ended.len())
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl<S: Default> FlowTable<S> {
    pub fn new(config: FlowConfig) -> Self {
        FlowTable {
            config,
            store: Store::new(),
            ended: Vec::new(),
            next_id: 1,
            created: 0,
            evicted: 0,
            ended_by: [0; 5],
            buffered: 0,
            counters: Counters::default(),
        }
    }

    /// Accounts one decoded IP packet (packets without `ip` are ignored: `None`) to its
    /// flow, creating it, reassembles TCP and calls `on_data` with the flow, the
    /// direction and each piece of in-order data (UDP/ICMP: the payload once, if
    /// non-empty). Returns the flow id. Flows this packet ends (TCP close or RST, a new
    /// SYN on a closing 5-tuple, the active timeout, eviction) are queued for
    /// [`take_ended`](Self::take_ended).
    pub fn process<F>(&mut self, pkt: &Decoded<'_>, mut on_data: F) -> Option<u64>
    where
        F: FnMut(&mut Flow<S>, Dir, Data<'_>),
    {
        let ip = pkt.ip?;
        let (sport, dport, tcp) = match pkt.l4 {
            L4::Tcp(h) => (h.src_port, h.dst_port, Some(h)),
            L4::Udp { src_port, dst_port } => (src_port, dst_port, None),
            _ => (0, 0, None),
        };
        let src = SocketAddr::new(ip.src, sport);
        let dst = SocketAddr::new(ip.dst, dport);
        let key = FlowKey::new(ip.proto, src, dst);
        let ts = pkt.ts_us;
        let flags = tcp.map(|h| h.flags).unwrap_or_default();
        let syn_only = flags.has(TcpFlags::SYN) && !flags.has(TcpFlags::ACK);

        let mut found = self.store.find(&key);
        if let Some(i) = found {
            let (closing, started) = match self.store.get(i) {
                Some(f) => (
                    f.tcp_state == TcpState::Closing
                        && f.fin_bits & (FIN_SEEN[0] | FIN_SEEN[1]) == FIN_SEEN[0] | FIN_SEEN[1],
                    f.first_seen_us,
                ),
                None => (false, ts),
            };
            if syn_only && closing {
                // Port reuse: a new connection on a 5-tuple whose last one was closing.
                self.end(i, EndReason::Closed);
                found = None;
            } else if ts.saturating_sub(started) >= self.config.active_timeout_us {
                found = self.continue_flow(i, ts);
            }
        }
        let i = match found {
            Some(i) => i,
            None => self.create(key, src, dst, tcp.map(|h| h.flags), pkt)?,
        };
        self.store.touch(i);

        let cfg = self.config;
        let flow = self.store.get_mut(i)?;
        let d = if src == flow.initiator() {
            Dir::ToResponder
        } else {
            Dir::ToInitiator
        };
        let di = d.index();
        flow.last_seen_us = flow.last_seen_us.max(ts);
        flow.packets[di] += 1;
        flow.bytes[di] += u64::from(pkt.ip_len);
        let mac = if d == Dir::ToResponder {
            &mut flow.initiator_mac
        } else {
            &mut flow.responder_mac
        };
        if mac.is_none() {
            *mac = pkt.src_mac;
        }
        let id = flow.id;

        let Some(h) = tcp else {
            if !pkt.payload.is_empty() {
                on_data(flow, d, Data::Bytes(pkt.payload));
            }
            return Some(id);
        };

        let mut ctx = Ctx {
            cfg: &cfg,
            buffered: &mut self.buffered,
            counters: &mut self.counters,
        };
        let missing = pkt.payload_len.saturating_sub(pkt.payload.len() as u32);
        if cfg.reassemble {
            let seg = TcpSegment {
                seq: h.seq,
                syn: flags.has(TcpFlags::SYN),
                data: pkt.payload,
                missing,
            };
            stream::segment(flow, d, seg, &mut ctx, &mut on_data);
            if flags.has(TcpFlags::RST) {
                stream::flush(flow, d, &mut ctx, &mut on_data);
                stream::flush(flow, d.reverse(), &mut ctx, &mut on_data);
            } else if flags.has(TcpFlags::FIN) {
                stream::flush(flow, d, &mut ctx, &mut on_data);
            }
        } else if !pkt.payload.is_empty() {
            on_data(flow, d, Data::Bytes(pkt.payload));
        }
        let seg_len = pkt.payload_len.max(pkt.payload.len() as u32);
        if tcp_transition(flow, d, &h, seg_len) {
            self.end(i, EndReason::Closed);
        }
        Some(id)
    }

    /// Ends flows idle at `now_us` (capture time). Cheap to call per packet: it looks at
    /// the least recently seen flows only.
    pub fn expire(&mut self, now_us: i64) {
        for (class, timeout) in [
            (Class::Tcp, self.config.idle_timeout_us),
            (Class::Other, self.config.udp_idle_timeout_us),
        ] {
            while let Some(i) = self.store.tail(class) {
                let idle = self
                    .store
                    .get(i)
                    .is_none_or(|f| f.last_seen_us.saturating_add(timeout) <= now_us);
                if !idle {
                    break;
                }
                self.end(i, EndReason::Idle);
            }
        }
    }

    /// Moves every live flow to the ended queue (end of capture, shutdown).
    pub fn drain(&mut self) {
        while let Some(i) = self.store.oldest() {
            self.end(i, EndReason::Drained);
        }
    }

    /// Hands over the ended flows with why they ended. Out-of-order data still buffered
    /// when a flow ended is not delivered: it is counted in the flow's `gaps`.
    pub fn take_ended<F: FnMut(Flow<S>, EndReason)>(&mut self, mut f: F) {
        let mut ended = std::mem::take(&mut self.ended);
        for (flow, why) in ended.drain(..) {
            f(flow, why);
        }
        // Keep the queue's allocation for the next round.
        self.ended = ended;
    }

    /// Visits every live flow (e.g. to report the counters of long flows before they
    /// end). O(live flows); the flows stay where they are.
    pub fn for_each_live_mut(&mut self, f: impl FnMut(&mut Flow<S>)) {
        self.store.for_each_mut(f);
    }

    pub fn len(&self) -> usize {
        self.store.len()
    }

    pub fn is_empty(&self) -> bool {
        self.store.len() == 0
    }

    pub fn stats(&self) -> FlowStats {
        FlowStats {
            flows_created: self.created,
            flows_evicted: self.evicted,
            live: self.store.len(),
            buffered_bytes: self.buffered,
            gaps: self.counters.gaps,
            gap_bytes: self.counters.gap_bytes,
            retransmitted_bytes: self.counters.retransmitted_bytes,
            out_of_order_segments: self.counters.out_of_order_segments,
            ended: self.ended_by,
        }
    }

    /// The live flow of a key.
    pub fn get(&self, key: &FlowKey) -> Option<&Flow<S>> {
        self.store.get(self.store.find(key)?)
    }

    /// Approximate heap bytes the table holds for its live flows (slab and index;
    /// without out-of-order buffers, the ended queue or heap owned by `S`).
    pub fn footprint(&self) -> usize {
        self.store.footprint()
    }

    /// Bytes one live flow takes in the slab, without the index.
    pub fn slot_size() -> usize {
        store::slot_size::<S>()
    }

    fn create(
        &mut self,
        key: FlowKey,
        src: SocketAddr,
        dst: SocketAddr,
        tcp: Option<TcpFlags>,
        pkt: &Decoded<'_>,
    ) -> Option<u32> {
        while self.store.len() >= self.config.max_flows.max(1) {
            let Some(oldest) = self.store.oldest() else {
                break;
            };
            self.evicted += 1;
            self.end(oldest, EndReason::Evicted);
        }
        let (initiator, responder, tcp_state) = match tcp {
            Some(f) if f.has(TcpFlags::SYN) && f.has(TcpFlags::ACK) => (dst, src, TcpState::SynAck),
            Some(f) if f.has(TcpFlags::SYN) => (src, dst, TcpState::Syn),
            Some(_) => (src, dst, TcpState::Midstream),
            None => (src, dst, TcpState::NotTcp),
        };
        let id = self.next_id;
        self.next_id += 1;
        self.created += 1;
        self.store.insert(Flow {
            id,
            key,
            initiator_is_lo: initiator == key.lo && responder == key.hi,
            initiator_mac: None,
            responder_mac: None,
            vlan: pkt.vlans[1].or(pkt.vlans[0]),
            first_seen_us: pkt.ts_us,
            last_seen_us: pkt.ts_us,
            packets: [0; 2],
            bytes: [0; 2],
            tcp_state,
            gaps: [0; 2],
            state: S::default(),
            streams: Default::default(),
            fin_seq: [0; 2],
            fin_bits: 0,
        })
    }

    /// Ends flow `i` on its active timeout and starts the flow that continues it (same
    /// endpoints, TCP state and reassembly position, fresh counters and user state).
    fn continue_flow(&mut self, i: u32, ts: i64) -> Option<u32> {
        let mut old = self.store.remove(i)?;
        let id = self.next_id;
        self.next_id += 1;
        self.created += 1;
        let next = Flow {
            id,
            key: old.key,
            initiator_is_lo: old.initiator_is_lo,
            initiator_mac: old.initiator_mac,
            responder_mac: old.responder_mac,
            vlan: old.vlan,
            first_seen_us: ts,
            last_seen_us: ts,
            packets: [0; 2],
            bytes: [0; 2],
            tcp_state: old.tcp_state,
            gaps: [0; 2],
            state: S::default(),
            streams: std::mem::take(&mut old.streams),
            fin_seq: old.fin_seq,
            fin_bits: old.fin_bits,
        };
        self.ended_by[EndReason::Active as usize] += 1;
        self.ended.push((old, EndReason::Active));
        self.store.insert(next)
    }

    fn end(&mut self, i: u32, why: EndReason) {
        let Some(mut flow) = self.store.remove(i) else {
            return;
        };
        for d in 0..2 {
            let lost = flow.streams[d].unfinished();
            flow.gaps[d] += lost;
            let freed = flow.streams[d].release();
            self.buffered = self.buffered.saturating_sub(freed);
        }
        self.ended_by[why as usize] += 1;
        self.ended.push((flow, why));
    }
}

/// Advances the TCP state for one segment of direction `d` carrying `seg_len` bytes.
/// Returns true when the connection is over (RST, or both FINs acknowledged).
fn tcp_transition<S>(
    flow: &mut Flow<S>,
    d: Dir,
    h: &crate::decode::TcpHeader,
    seg_len: u32,
) -> bool {
    let f = h.flags;
    let (me, peer) = (d.index(), d.reverse().index());
    if f.has(TcpFlags::RST) {
        flow.tcp_state = TcpState::Reset;
        return true;
    }
    let syn = f.has(TcpFlags::SYN);
    let ack = f.has(TcpFlags::ACK);
    match flow.tcp_state {
        TcpState::Syn if syn && ack && d == Dir::ToInitiator => flow.tcp_state = TcpState::SynAck,
        TcpState::Syn | TcpState::SynAck if ack && !syn && d == Dir::ToResponder => {
            flow.tcp_state = TcpState::Established;
        }
        _ => {}
    }
    if ack && flow.fin_bits & FIN_SEEN[peer] != 0 {
        // RFC 9293 §3.10.7.4: the FIN occupies one sequence number; an ACK at or beyond
        // it acknowledges it.
        let fin_end = flow.fin_seq[peer].wrapping_add(1);
        if h.ack.wrapping_sub(fin_end) as i32 >= 0 {
            flow.fin_bits |= FIN_ACKED[peer];
        }
    }
    if f.has(TcpFlags::FIN) {
        let start = if syn { h.seq.wrapping_add(1) } else { h.seq };
        if flow.fin_bits & FIN_SEEN[me] == 0 {
            flow.fin_seq[me] = start.wrapping_add(seg_len);
            flow.fin_bits |= FIN_SEEN[me];
        }
        flow.tcp_state = TcpState::Closing;
    }
    let all = FIN_SEEN[0] | FIN_SEEN[1] | FIN_ACKED[0] | FIN_ACKED[1];
    if flow.fin_bits & all == all {
        flow.tcp_state = TcpState::Closed;
        return true;
    }
    false
}
