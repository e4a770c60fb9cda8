//! Where generated frames go: a reorder buffer (devices' exchanges overlap in time,
//! the file must be in time order), the pcapng writer, and the flow ledger behind the
//! ground truth.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashSet};
use std::io::{self, Write};
use std::net::Ipv4Addr;

use crate::frame::Endpoint;
use crate::pcapng::PcapngWriter;
use crate::rng::Rng;

/// A bidirectional IP 5-tuple, ends ordered so both directions give the same key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct FlowKey {
    proto: u8,
    a: (Ipv4Addr, u16),
    b: (Ipv4Addr, u16),
}

/// The sink of one simulation run.
#[derive(Debug)]
pub struct Sink<W: Write> {
    writer: PcapngWriter<W>,
    pending: BinaryHeap<Reverse<(u64, u64, Vec<u8>)>>,
    order: u64,
    flows: HashSet<FlowKey>,
    per_protocol: BTreeMap<&'static str, u64>,
    /// Draws for TCP anomalies, and how many per thousand data segments.
    anomaly_rng: Rng,
    anomaly_permille: u16,
    retransmissions: u64,
    out_of_order: u64,
}

/// A TCP misfortune the capture should show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anomaly {
    /// The segment is sent again after a retransmission timeout.
    Retransmit,
    /// The segment reaches the capture point after the next one.
    OutOfOrder,
}

impl<W: Write> Sink<W> {
    pub fn new(out: W, anomaly_seed: u64, anomaly_permille: u16) -> io::Result<Self> {
        Ok(Sink {
            writer: PcapngWriter::new(out)?,
            pending: BinaryHeap::new(),
            order: 0,
            flows: HashSet::new(),
            per_protocol: BTreeMap::new(),
            anomaly_rng: Rng::new(anomaly_seed),
            anomaly_permille,
            retransmissions: 0,
            out_of_order: 0,
        })
    }

    /// Whether this data segment suffers `kind` (drawn at the configured rate); counts
    /// it for the truth when it does.
    pub fn anomaly(&mut self, kind: Anomaly) -> bool {
        if self.anomaly_permille == 0
            || self.anomaly_rng.below(1_000) >= u64::from(self.anomaly_permille)
        {
            return false;
        }
        match kind {
            Anomaly::Retransmit => self.retransmissions += 1,
            Anomaly::OutOfOrder => self.out_of_order += 1,
        }
        true
    }

    /// Queues a frame; frames with equal times keep the order they were emitted in.
    pub fn emit(&mut self, ts_ns: u64, frame: Vec<u8>) {
        self.order += 1;
        self.pending.push(Reverse((ts_ns, self.order, frame)));
    }

    /// Writes every queued frame earlier than `ts_ns`: nothing emitted later may be
    /// earlier than that.
    pub fn flush_before(&mut self, ts_ns: u64) -> io::Result<()> {
        while let Some(Reverse((t, _, _))) = self.pending.peek() {
            if *t >= ts_ns {
                break;
            }
            if let Some(Reverse((t, _, frame))) = self.pending.pop() {
                self.writer.frame(t, &frame)?;
            }
        }
        Ok(())
    }

    /// Records a conversation, as tshark's `conv,tcp`/`conv,udp` will count it, under
    /// an application protocol name (the first name a conversation is seen under).
    pub fn flow(&mut self, tcp: bool, x: &Endpoint, y: &Endpoint, app: &'static str) {
        let (a, b) = ((x.ip, x.port), (y.ip, y.port));
        let key = FlowKey {
            proto: if tcp { 6 } else { 17 },
            a: a.min(b),
            b: a.max(b),
        };
        if self.flows.insert(key) {
            *self.per_protocol.entry(app).or_default() += 1;
        }
    }

    pub fn finish(mut self) -> io::Result<SinkTotals> {
        self.flush_before(u64::MAX)?;
        let packets = self.writer.packets();
        self.writer.finish()?;
        let tcp = self.flows.iter().filter(|k| k.proto == 6).count() as u64;
        Ok(SinkTotals {
            packets,
            flows: self.flows.len() as u64,
            tcp_flows: tcp,
            udp_flows: self.flows.len() as u64 - tcp,
            per_protocol: self.per_protocol,
            tcp_retransmissions: self.retransmissions,
            tcp_out_of_order: self.out_of_order,
        })
    }
}

/// What was written.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SinkTotals {
    pub packets: u64,
    pub flows: u64,
    pub tcp_flows: u64,
    pub udp_flows: u64,
    pub per_protocol: BTreeMap<&'static str, u64>,
    pub tcp_retransmissions: u64,
    pub tcp_out_of_order: u64,
}
