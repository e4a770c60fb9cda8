//! The passive sensor's pipeline: frames (from `pumpguard-wire`) through flows and
//! application events (from `pumpguard-proto`) to device identity and flow records.
//! The sensor keeps state and decides what a device is; it never writes SQL and never
//! sends a packet.
//!
//! - [`Sensor`] owns the decoder, the flow table (with each flow's protocol session) and
//!   the identity engine; feed it frames, take [`Batch`]es of ended flows and changed
//!   devices for the store.
//! - `identity` keeps facts about MACs and addresses and merges them into sightings.
//! - `rules` says what each protocol event means for the devices at its ends.
//! - `ledger` adds up the drug-library versions pumps report (IHE PCD-10), see
//!   [`LibraryReport`].
//! - [`fingerprints`] holds the OUI and DHCP vendor-class tables (data under `data/`).

pub mod fingerprints;
mod identity;
mod ledger;
mod rules;

use std::collections::HashMap;
use std::net::SocketAddr;

use pumpguard_model::{Detection, FlowRecord, MacAddr, Sighting, time};
use pumpguard_proto::{App, Event, Session, Side, Transport};
use pumpguard_wire::{Data, Decoder, Dir, EndReason, Flow, FlowConfig, FlowTable, Frame, TcpState};
use serde::Serialize;

pub use pumpguard_detect::Learn;
use pumpguard_detect::{DetectConfig, Detector, EventCtx, FlowEnd, FlowInfo};

use crate::identity::Identity;
use crate::ledger::Ledger;
use crate::rules::FlowCtx;

pub use pumpguard_model::LibraryReport;

/// Sensor settings.
#[derive(Debug, Clone)]
pub struct SensorConfig {
    /// Live flows kept at most; beyond, the least recently seen is ended early.
    pub max_flows: usize,
    pub detect: DetectConfig,
    /// Infusion orders are checked against this library's hard limits.
    pub drug_library: Option<std::sync::Arc<pumpguard_druglib::DrugLibrary>>,
    /// The baseline detectors compare traffic with.
    pub baseline: Option<std::sync::Arc<pumpguard_model::Baseline>>,
    /// Whether to learn a baseline (see [`Sensor::learned`]).
    pub learn: Learn,
}

impl Default for SensorConfig {
    fn default() -> Self {
        SensorConfig {
            max_flows: FlowConfig::default().max_flows,
            detect: DetectConfig::default(),
            drug_library: None,
            baseline: None,
            learn: Learn::Off,
        }
    }
}

/// What the sensor hands to the store: flows that ended and devices that changed since
/// the last batch.
#[derive(Debug, Default)]
pub struct Batch {
    pub flows: Vec<FlowRecord>,
    pub sightings: Vec<Sighting>,
    /// What the detectors raised since the last batch.
    pub detections: Vec<Detection>,
    /// Drug-library versions pumps reported since the last batch, one per (pump,
    /// version).
    pub druglib: Vec<LibraryReport>,
}

/// Counters of a sensor run.
#[derive(Debug, Default, Clone, Serialize)]
pub struct SensorStats {
    pub frames: u64,
    pub malformed_frames: u64,
    pub unsupported_link_frames: u64,
    pub non_ip_frames: u64,
    pub ip_fragments: u64,
    pub ip_reassembled: u64,
    pub flows: u64,
    pub flows_evicted: u64,
    pub live_flows: usize,
    pub tcp_gaps: u64,
    pub tcp_retransmitted_bytes: u64,
    pub tcp_out_of_order_segments: u64,
    pub events: u64,
    /// Flows per application protocol.
    pub apps: std::collections::BTreeMap<&'static str, u64>,
    /// `apps` as counted per flow, by protocol (a name comparison per flow cost more).
    #[serde(skip)]
    app_flows: std::collections::BTreeMap<App, u64>,
    /// Live capture only: what libpcap received and dropped.
    pub capture_received: u64,
    pub capture_dropped: u64,
}

/// Per-flow state: the application session, created at the first payload byte.
#[derive(Debug, Default)]
pub struct FlowState {
    session: Option<Session>,
    /// Bytes already handed to the detectors' per-hour accounting.
    accounted: u64,
    /// Set when the flow's role is known from elsewhere (an FTP data channel).
    forced: Option<App>,
}

impl FlowState {
    fn app(&self) -> App {
        self.forced
            .or_else(|| self.session.as_ref().map(|s| s.app()))
            .unwrap_or(App::Unknown)
    }
}

/// Expected FTP data connections (from PASV/PORT replies) kept at most.
const MAX_FTP_DATA: usize = 4_096;

/// The passive sensor.
pub struct Sensor {
    decoder: Decoder,
    flows: FlowTable<FlowState>,
    identity: Identity,
    detector: Detector,
    ledger: Ledger,
    events: Vec<Event>,
    ended: Vec<FlowRecord>,
    /// Data-channel endpoints announced on FTP control connections.
    ftp_data: HashMap<SocketAddr, i64>,
    /// Counters of live flows already handed over by [`Sensor::snapshot_live`], by flow
    /// id: packets and bytes per direction.
    reported: HashMap<u64, [u64; 4]>,
    stats: SensorStats,
}

impl std::fmt::Debug for Sensor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sensor")
            .field("live_flows", &self.flows.len())
            .field("devices", &self.identity.devices())
            .finish_non_exhaustive()
    }
}

impl Sensor {
    pub fn new(config: SensorConfig) -> Sensor {
        let mut detector = Detector::new(config.detect);
        if let Some(library) = config.drug_library {
            detector.set_drug_library(library);
        }
        if let Some(baseline) = config.baseline {
            detector.set_baseline(baseline);
        }
        detector.set_learn(config.learn);
        Sensor {
            decoder: Decoder::new(),
            flows: FlowTable::new(FlowConfig {
                max_flows: config.max_flows,
                ..FlowConfig::default()
            }),
            identity: Identity::default(),
            detector,
            ledger: Ledger::default(),
            events: Vec::new(),
            ended: Vec::new(),
            ftp_data: HashMap::new(),
            reported: HashMap::new(),
            stats: SensorStats::default(),
        }
    }

    /// The baseline learned so far (`None` when not learning, or nothing was seen).
    pub fn learned(&self) -> Option<pumpguard_model::Baseline> {
        self.detector.learned()
    }

    /// Processes one captured frame.
    pub fn frame(&mut self, frame: &Frame<'_>) {
        let Sensor {
            decoder,
            flows,
            identity,
            detector,
            ledger,
            events,
            ended,
            ftp_data,
            reported,
            stats,
        } = self;
        decoder.decode(frame, |pkt| {
            let ts = pkt.ts_us;
            if detector.clock(ts) {
                flows.for_each_live_mut(|flow| {
                    let total = flow.bytes[0] + flow.bytes[1];
                    let delta = total.saturating_sub(flow.state.accounted);
                    if delta > 0 {
                        detector.progress(&flow_info(flow), delta, ts, identity);
                        flow.state.accounted = total;
                    }
                });
                detector.swept(ts);
            }
            let src_ip = pkt.ip.map(|ip| ip.src);
            if let Some(mac) = identity.packet(pkt.src_mac, src_ip, ts) {
                rules::new_mac(identity, mac, ts);
                detector.new_mac(MacAddr(mac), src_ip, ts, identity);
            }
            if let Some(arp) = &pkt.arp {
                rules::arp(identity, arp.sender_mac, arp.sender_ip, ts);
                detector.arp(MacAddr(arp.sender_mac), arp.sender_ip.into(), ts, identity);
            }
            if pkt.ip.is_none() {
                return;
            }
            flows.expire(ts);
            let mut sensing = Sensing {
                identity,
                detector,
                ledger,
                events,
                ftp_data,
                stats,
            };
            flows.process(pkt, |flow, dir, data| {
                on_data(flow, dir, data, ts, &mut sensing)
            });
            flows.take_ended(|flow, why| {
                ended.push(end_flow(flow, why, identity, detector, reported, stats));
            });
        });
    }

    /// Ends every live flow (end of capture, or shutdown).
    pub fn finish(&mut self) {
        self.flows.drain();
        let Sensor {
            flows,
            identity,
            detector,
            ended,
            reported,
            stats,
            ..
        } = self;
        flows.take_ended(|flow, why| {
            ended.push(end_flow(flow, why, identity, detector, reported, stats))
        });
    }

    /// Hands over what live flows carried since the last call, as flow records whose
    /// counters are the increase (the store adds them up), so a long connection shows
    /// before it ends. The first report of a flow counts its session.
    pub fn snapshot_live(&mut self) {
        let Sensor {
            flows,
            ended,
            reported,
            ..
        } = self;
        flows.for_each_live_mut(|flow| {
            let now = [
                flow.packets[0],
                flow.packets[1],
                flow.bytes[0],
                flow.bytes[1],
            ];
            let (before, sessions) = match reported.get(&flow.id) {
                Some(b) => (*b, 0),
                None => ([0; 4], 1),
            };
            if now == before {
                return;
            }
            reported.insert(flow.id, now);
            ended.push(flow_record(flow, sessions, before));
        });
    }

    /// Flows ended and devices changed since the last batch (every device with `all`).
    pub fn take_batch(&mut self, all: bool) -> Batch {
        Batch {
            flows: std::mem::take(&mut self.ended),
            sightings: self.identity.take_sightings(all),
            detections: self.detector.take(&self.identity),
            druglib: self.ledger.take(&self.identity),
        }
    }

    pub fn stats(&self) -> SensorStats {
        let mut s = self.stats.clone();
        s.apps = s.app_flows.iter().map(|(a, n)| (a.as_str(), *n)).collect();
        let d = self.decoder.stats();
        s.frames = d.frames;
        s.malformed_frames = d.malformed;
        s.unsupported_link_frames = d.unsupported_link;
        s.non_ip_frames = d.non_ip;
        s.ip_fragments = d.fragments;
        s.ip_reassembled = d.reassembled;
        let f = self.flows.stats();
        s.flows_evicted = f.flows_evicted;
        s.live_flows = f.live;
        s.tcp_gaps = f.gaps;
        s.tcp_retransmitted_bytes = f.retransmitted_bytes;
        s.tcp_out_of_order_segments = f.out_of_order_segments;
        s
    }
}

/// What application data may touch besides its flow.
struct Sensing<'a> {
    identity: &'a mut Identity,
    detector: &'a mut Detector,
    ledger: &'a mut Ledger,
    events: &'a mut Vec<Event>,
    ftp_data: &'a mut HashMap<SocketAddr, i64>,
    stats: &'a mut SensorStats,
}

/// Application data of one flow: dissect it, let each event teach the identity
/// engine, then show it to the detectors.
fn on_data(flow: &mut Flow<FlowState>, dir: Dir, data: Data<'_>, ts: i64, s: &mut Sensing<'_>) {
    let Sensing {
        identity,
        detector,
        ledger,
        events,
        ftp_data,
        stats,
    } = s;
    if flow.state.forced.is_some() {
        return;
    }
    let side = match dir {
        Dir::ToResponder => Side::Client,
        Dir::ToInitiator => Side::Server,
    };
    if flow.state.session.is_none() {
        let transport = match flow.key.proto {
            6 => Transport::Tcp,
            17 => Transport::Udp,
            _ => return,
        };
        // A data connection an FTP control channel announced.
        if transport == Transport::Tcp
            && (ftp_data.remove(&flow.responder()).is_some()
                || ftp_data.remove(&flow.initiator()).is_some())
        {
            flow.state.forced = Some(App::FtpData);
            return;
        }
        flow.state.session = Some(Session::new(
            transport,
            flow.initiator().port(),
            flow.responder().port(),
        ));
    }
    let Some(session) = flow.state.session.as_mut() else {
        return;
    };
    match data {
        Data::Bytes(b) => session.on_data(side, b, events),
        Data::Gap(n) => session.on_gap(side, n),
    }
    if events.is_empty() {
        return;
    }
    stats.events += events.len() as u64;
    let ctx = FlowCtx {
        client: (flow.initiator().ip(), flow.initiator().port()),
        server: (flow.responder().ip(), flow.responder().port()),
        side,
        ts,
    };
    let ectx = EventCtx {
        flow: flow_info(flow),
        flow_id: flow.id,
        side,
        ts,
    };
    for e in events.drain(..) {
        if let Event::Ftp(pumpguard_proto::ftp::Ftp::DataChannel(dc)) = &e
            && ftp_data.len() < MAX_FTP_DATA
        {
            // PASV/EPSV: the server listens; PORT/EPRT: the client does. EPSV names no
            // address: the control connection's server is meant.
            let host = dc.ip.unwrap_or(if dc.passive {
                flow.responder().ip()
            } else {
                flow.initiator().ip()
            });
            ftp_data.insert(SocketAddr::new(host, dc.port), ts);
        }
        rules::event(identity, &ctx, &e);
        if let Event::Hl7(h) = &e
            && h.library.is_some()
        {
            let sender = ledger::sender(
                (flow.initiator().ip(), flow.initiator_mac.map(MacAddr)),
                (flow.responder().ip(), flow.responder_mac.map(MacAddr)),
                h.from_server,
            );
            ledger.hl7(h, sender, &ectx.flow.key(), ts);
        }
        detector.event(&ectx, &e, &**identity);
    }
}

/// A flow left the table: its record (less what [`Sensor::snapshot_live`] already
/// handed over), and what its end says (a pump's server).
fn end_flow(
    flow: Flow<FlowState>,
    _why: EndReason,
    identity: &mut Identity,
    detector: &mut Detector,
    reported: &mut HashMap<u64, [u64; 4]>,
    stats: &mut SensorStats,
) -> FlowRecord {
    stats.flows += 1;
    let app = flow.state.app();
    // Before the flow teaches identity anything: the detectors judge it by what was
    // known while it ran.
    detector.flow_end(
        &FlowEnd {
            flow: flow_info(&flow),
            app,
            packets: flow.packets,
            bytes: flow.bytes,
            accounted: flow.state.accounted,
            established: matches!(
                flow.tcp_state,
                TcpState::Established | TcpState::Closing | TcpState::Closed
            ),
            first_us: flow.first_seen_us,
            last_us: flow.last_seen_us,
        },
        flow.id,
        &*identity,
    );
    *stats.app_flows.entry(app).or_default() += 1;
    if matches!(flow.key.proto, 6 | 17) && flow.packets[1] > 0 {
        rules::pump_client_flow(
            identity,
            flow.initiator().ip(),
            (flow.responder().ip(), flow.responder().port()),
            flow.last_seen_us,
        );
    }
    let (before, sessions) = match reported.remove(&flow.id) {
        Some(b) => (b, 0),
        None => ([0; 4], 1),
    };
    flow_record(&flow, sessions, before)
}

/// The flow's record, less `before` (what was already handed over: packets and bytes
/// to the server, then to the client).
fn flow_record(flow: &Flow<FlowState>, sessions: u64, before: [u64; 4]) -> FlowRecord {
    let (client_port, server_port) = match flow.key.proto {
        6 | 17 => (flow.initiator().port(), flow.responder().port()),
        _ => (0, 0),
    };
    FlowRecord {
        proto: FlowRecord::proto_name(flow.key.proto),
        client_ip: flow.initiator().ip(),
        client_port,
        server_ip: flow.responder().ip(),
        server_port,
        client_mac: flow.initiator_mac.map(MacAddr),
        server_mac: flow.responder_mac.map(MacAddr),
        vlan: flow.vlan,
        app: flow.state.app().as_str().to_owned(),
        packets_to_server: flow.packets[0].saturating_sub(before[0]),
        packets_to_client: flow.packets[1].saturating_sub(before[1]),
        bytes_to_server: flow.bytes[0].saturating_sub(before[2]),
        bytes_to_client: flow.bytes[1].saturating_sub(before[3]),
        first_seen: timestamp(flow.first_seen_us),
        last_seen: timestamp(flow.last_seen_us),
        sessions,
        tcp_state: tcp_state(flow.tcp_state).to_owned(),
    }
}

fn flow_info(flow: &Flow<FlowState>) -> FlowInfo {
    FlowInfo {
        proto: flow.key.proto,
        client: flow.initiator(),
        server: flow.responder(),
        client_mac: flow.initiator_mac.map(MacAddr),
        server_mac: flow.responder_mac.map(MacAddr),
    }
}

fn tcp_state(s: TcpState) -> &'static str {
    match s {
        TcpState::Syn => "syn",
        TcpState::SynAck => "syn_ack",
        TcpState::Established => "established",
        TcpState::Closing => "closing",
        TcpState::Closed => "closed",
        TcpState::Reset => "reset",
        TcpState::Midstream => "midstream",
        TcpState::NotTcp => "none",
    }
}

fn timestamp(us: i64) -> jiff::Timestamp {
    time::from_micros(us).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}
