//! Policy-free threat detection for the infusion-pump ecosystem: the sensor feeds each
//! protocol event, ended flow, new MAC and ARP claim to a [`Detector`], which raises
//! [`Detection`]s — each naming the device, the peer, the flows and decoded facts behind
//! it, a sentence a person can read and what to do.
//!
//! The detector knows devices by MAC and address only, and asks the sensor's identity
//! engine what they are through [`World`]. Detections are de-duplicated per (kind,
//! subject, peer) within the detector; the store ties them to inventory assets.
//!
//! One module per threat:
//! - `cleartext`: Telnet, FTP, HTTP administration and SNMPv1/v2c into devices; FTP
//!   uploads to pumps.
//! - `reach`: pumps pivoting to other hosts, pumps talking to the internet, files pushed
//!   to pumps by hosts that are not their servers.
//! - `devices`: new devices on the pump segment, cloned MACs, address conflicts.
//! - `clinical`: patient data in cleartext HL7, infusion orders from unexpected sources
//!   or beyond a drug library's hard limits.
//! - `tls`: weak versions and ciphers, expired, self-signed and mismatched certificates.
//! - `dos`: floods and connection storms against one service.
//! - `baseline`: learning what devices and models normally do, and traffic volume far
//!   above it; `reach` asks it whether a pump's service is new.

mod baseline;
mod cleartext;
mod clinical;
mod devices;
mod dos;
mod reach;
mod tls;

use std::net::{IpAddr, SocketAddr};

use foldhash::HashMap;
use pumpguard_model::{
    AlertEvidence, AlertFact, AlertKind, AssetKind, Detection, Endpoint, MAX_EVIDENCE_FLOWS,
    MacAddr, Severity, time,
};
use pumpguard_proto::{App, Event, Side};

/// What the detector may ask about devices (the sensor's identity engine answers).
pub trait World {
    /// The kind of the device an address belongs to, as known now.
    fn kind_of(&self, ip: IpAddr) -> Option<AssetKind>;
    /// A name to show for an address (its hostname when known).
    fn name_of(&self, ip: IpAddr) -> Option<String>;
    /// Whether the MAC is a router's (it carries many addresses).
    fn is_router(&self, mac: MacAddr) -> bool;
    /// The address a MAC uses now (its strongest binding).
    fn ip_of(&self, mac: MacAddr) -> Option<IpAddr>;
    /// `vendor model` of the device an address belongs to, when known.
    fn model_of(&self, ip: IpAddr) -> Option<String>;
}

/// Detector settings.
#[derive(Debug, Clone, Copy)]
pub struct DetectConfig {
    /// Devices first seen this long after the first packet are "new" (µs).
    pub new_device_after_us: i64,
    /// New flows per second to one service that make a flood or storm.
    pub flood_flows_per_second: u32,
    /// Bytes pushed to a pump on one inbound connection that make a file transfer.
    pub push_bytes: u64,
}

impl Default for DetectConfig {
    fn default() -> Self {
        DetectConfig {
            new_device_after_us: 5 * 60 * 1_000_000,
            flood_flows_per_second: 200,
            push_bytes: 16 * 1024,
        }
    }
}

/// A flow as the detector sees it.
#[derive(Debug, Clone, Copy)]
pub struct FlowInfo {
    /// IP protocol number.
    pub proto: u8,
    /// The side that opened the flow.
    pub client: SocketAddr,
    pub server: SocketAddr,
    pub client_mac: Option<MacAddr>,
    pub server_mac: Option<MacAddr>,
}

impl FlowInfo {
    /// The flow's key as the store keeps it (`flows list` shows the same flows).
    pub fn key(&self) -> String {
        pumpguard_model::flow_key(
            &pumpguard_model::FlowRecord::proto_name(self.proto),
            (self.client.ip(), self.client.port()),
            (self.server.ip(), self.server.port()),
        )
    }

    fn client_end(&self) -> Endpoint {
        Endpoint {
            ip: Some(self.client.ip()),
            mac: self.client_mac,
        }
    }

    fn server_end(&self) -> Endpoint {
        Endpoint {
            ip: Some(self.server.ip()),
            mac: self.server_mac,
        }
    }
}

/// A flow that ended.
#[derive(Debug, Clone, Copy)]
pub struct FlowEnd {
    pub flow: FlowInfo,
    pub app: App,
    /// Packets and bytes to the server, then to the client.
    pub packets: [u64; 2],
    pub bytes: [u64; 2],
    /// TCP: the three-way handshake completed (false for UDP).
    pub established: bool,
    /// Bytes already given to [`Detector::progress`] while the flow lived.
    pub accounted: u64,
    pub first_us: i64,
    pub last_us: i64,
}

impl FlowEnd {
    /// Bytes (both directions) not yet accounted while the flow lived.
    pub fn unaccounted(&self) -> u64 {
        (self.bytes[0] + self.bytes[1]).saturating_sub(self.accounted)
    }
}

/// Where a detector's finding goes: de-duplicated per (kind, subject, peer).
#[derive(Debug, Default)]
pub(crate) struct Findings {
    open: HashMap<FindingKey, Detection>,
    order: Vec<FindingKey>,
}

/// An end as de-duplication sees it: its address when it has one (a MAC seen through a
/// router changes with the capture point), else its MAC.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum EndKey {
    Ip(IpAddr),
    Mac(MacAddr),
    None,
}

impl EndKey {
    fn of(e: Option<&Endpoint>) -> EndKey {
        match e {
            Some(Endpoint { ip: Some(ip), .. }) => EndKey::Ip(*ip),
            Some(Endpoint { mac: Some(m), .. }) => EndKey::Mac(*m),
            _ => EndKey::None,
        }
    }
}

type FindingKey = (AlertKind, EndKey, EndKey);

/// One finding, as a detector states it.
pub(crate) struct Finding {
    pub kind: AlertKind,
    pub severity: Severity,
    pub subject: Endpoint,
    pub peer: Option<Endpoint>,
    pub proto: &'static str,
    pub port: Option<u16>,
    pub ts: i64,
    pub flow: Option<String>,
    pub facts: Vec<(&'static str, String)>,
    pub sentence: String,
    pub action: &'static str,
}

/// Facts kept per detection.
const MAX_FACTS: usize = 32;

/// Distinct (kind, subject, peer) findings held between batches; beyond, new ones are
/// dropped (and counted) so that an attack cannot grow memory without bound.
const MAX_OPEN: usize = 16_384;

impl Findings {
    pub(crate) fn raise(&mut self, f: Finding) {
        let key = (
            f.kind,
            EndKey::of(Some(&f.subject)),
            EndKey::of(f.peer.as_ref()),
        );
        let ts = time::from_micros(f.ts).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
        if let Some(d) = self.open.get_mut(&key) {
            d.count += 1;
            d.first_seen = d.first_seen.min(ts);
            d.last_seen = d.last_seen.max(ts);
            d.severity = d.severity.max(f.severity);
            if let Some(flow) = f.flow
                && d.evidence.flows.len() < MAX_EVIDENCE_FLOWS
                && !d.evidence.flows.contains(&flow)
            {
                d.evidence.flows.push(flow);
            }
            for (name, value) in f.facts {
                if d.evidence.facts.len() < MAX_FACTS
                    && !d
                        .evidence
                        .facts
                        .iter()
                        .any(|x| x.name == name && x.value == value)
                {
                    d.evidence.facts.push(AlertFact {
                        name: name.to_owned(),
                        value,
                    });
                }
            }
            return;
        }
        if self.open.len() >= MAX_OPEN {
            return;
        }
        let d = Detection {
            kind: f.kind,
            severity: f.severity,
            subject: f.subject,
            peer: f.peer,
            proto: f.proto.to_owned(),
            port: f.port,
            first_seen: ts,
            last_seen: ts,
            count: 1,
            evidence: AlertEvidence {
                flows: f.flow.into_iter().collect(),
                facts: f
                    .facts
                    .into_iter()
                    .take(MAX_FACTS)
                    .map(|(name, value)| AlertFact {
                        name: name.to_owned(),
                        value,
                    })
                    .collect(),
                sentence: f.sentence,
                // The store fills in the stored flows' ids.
                flow_ids: Vec::new(),
            },
            action: f.action.to_owned(),
        };
        self.order.push(key.clone());
        self.open.insert(key, d);
    }

    fn take(&mut self) -> Vec<Detection> {
        let mut out = Vec::with_capacity(self.order.len());
        for k in self.order.drain(..) {
            if let Some(d) = self.open.remove(&k) {
                out.push(d);
            }
        }
        out
    }
}

/// A name for an address in sentences: its hostname and address, or the address.
pub(crate) fn who(world: &dyn World, ip: IpAddr) -> String {
    match world.name_of(ip) {
        Some(n) => format!("{n} ({ip})"),
        None => ip.to_string(),
    }
}

pub(crate) fn is_pump(world: &dyn World, ip: IpAddr) -> bool {
    world.kind_of(ip) == Some(AssetKind::InfusionPump)
}

pub(crate) use pumpguard_model::is_internet;

/// Whether (and how long) the detector learns a baseline.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Learn {
    /// Use the baseline given (if any); learn nothing.
    #[default]
    Off,
    /// Learn from everything seen; compare with no baseline.
    All,
    /// Learn during the first minutes of traffic, then compare with what was learned.
    FirstMinutes(u32),
}

/// The detectors' state.
#[derive(Debug, Default)]
pub struct Detector {
    learn: Learn,
    learner: Option<baseline::Learner>,
    /// What a `FirstMinutes` window learned, once it closed.
    learned: Option<pumpguard_model::Baseline>,
    watch: Option<baseline::Watch>,
    config: DetectConfig,
    findings: Findings,
    devices: devices::Devices,
    clinical: clinical::Clinical,
    tls: tls::TlsWatch,
    dos: dos::Floods,
    /// The first packet's time (µs), for "new since" rules.
    start_us: Option<i64>,
    /// When the sensor should next hand over what live flows moved (µs; see
    /// [`Detector::clock`]).
    next_sweep_us: i64,
}

/// An event in its flow.
#[derive(Debug, Clone, Copy)]
pub struct EventCtx {
    pub flow: FlowInfo,
    /// The sensor's id of the flow (unique while it lives).
    pub flow_id: u64,
    /// Who sent the bytes that produced the event.
    pub side: Side,
    pub ts: i64,
}

impl Detector {
    pub fn new(config: DetectConfig) -> Detector {
        Detector {
            config,
            ..Detector::default()
        }
    }

    /// Compares traffic with `baseline` from now on.
    pub fn set_baseline(&mut self, baseline: std::sync::Arc<pumpguard_model::Baseline>) {
        self.watch = Some(baseline::Watch::new(baseline));
    }

    /// Starts learning a baseline (see [`Learn`]).
    pub fn set_learn(&mut self, learn: Learn) {
        self.learn = learn;
        self.learner = (learn != Learn::Off).then(baseline::Learner::default);
    }

    /// The baseline learned so far (`None` when not learning or nothing was seen).
    pub fn learned(&self) -> Option<pumpguard_model::Baseline> {
        self.learned
            .clone()
            .or_else(|| self.learner.as_ref().and_then(baseline::Learner::baseline))
    }

    /// Infusion orders are checked against this library from now on.
    pub fn set_drug_library(&mut self, library: std::sync::Arc<pumpguard_druglib::DrugLibrary>) {
        self.clinical.library = Some(library);
    }

    /// Every packet's time goes through here first (cheap): the detector's clock.
    /// Returns true when the sensor should call [`Detector::progress`] for every live
    /// flow, then [`Detector::swept`]: at each clock hour (volume is per hour) and when
    /// a learning window closes — only while learning or watching a baseline.
    pub fn clock(&mut self, ts: i64) -> bool {
        if self.start_us.is_none() {
            self.start_us = Some(ts);
            self.schedule(ts);
        }
        (self.learner.is_some() || self.watch.is_some()) && ts >= self.next_sweep_us
    }

    fn schedule(&mut self, ts: i64) {
        const HOUR: i64 = 3_600 * 1_000_000;
        let mut next = ts.div_euclid(HOUR).saturating_add(1).saturating_mul(HOUR);
        if let (Learn::FirstMinutes(m), Some(start), Some(_)) =
            (self.learn, self.start_us, self.learner.as_ref())
        {
            let close = start.saturating_add(i64::from(m) * 60 * 1_000_000);
            next = next.min(close.max(ts));
        }
        self.next_sweep_us = next;
    }

    /// Bytes a live flow moved since it was last accounted (both directions), at `ts`.
    pub fn progress(&mut self, flow: &FlowInfo, bytes: u64, ts: i64, world: &dyn World) {
        if let Some(l) = self.learner.as_mut() {
            l.bytes(flow, bytes, ts, world);
        }
        if let Some(w) = self.watch.as_mut() {
            w.volume(&mut self.findings, flow, bytes, ts, world);
        }
    }

    /// Every live flow was accounted at `ts`: close a learning window that is due.
    pub fn swept(&mut self, ts: i64) {
        if let (Learn::FirstMinutes(m), Some(start)) = (self.learn, self.start_us)
            && self.learner.is_some()
            && ts >= start.saturating_add(i64::from(m) * 60 * 1_000_000)
        {
            // The window closed: compare with what it learned from now on.
            self.learned = self.learner.take().and_then(|l| l.baseline());
            if let Some(b) = &self.learned {
                self.watch = Some(baseline::Watch::new(std::sync::Arc::new(b.clone())));
            }
        }
        self.schedule(ts.saturating_add(1));
    }

    /// A protocol event of a live flow.
    pub fn event(&mut self, ctx: &EventCtx, event: &Event, world: &dyn World) {
        let f = &mut self.findings;
        match event {
            Event::Telnet(t) => cleartext::telnet(f, ctx, t, world),
            Event::Ftp(x) => cleartext::ftp(f, ctx, x, world),
            Event::Http(h) => cleartext::http(f, ctx, h, world),
            Event::Snmp(s) => cleartext::snmp(f, ctx, s, world),
            Event::Hl7(h) => self.clinical.hl7(f, ctx, h, world),
            Event::Tls(t) => self.tls.event(f, ctx, t, world),
            Event::Dhcp(d) => self.devices.dhcp(f, ctx.ts, d, world),
            _ => {}
        }
    }

    /// A flow left the sensor's table.
    pub fn flow_end(&mut self, end: &FlowEnd, flow_id: u64, world: &dyn World) {
        self.tls.forget(flow_id);
        if let Some(learner) = self.learner.as_mut() {
            learner.flow_end(end, world);
        }
        if let Some(w) = self.watch.as_mut() {
            w.volume(
                &mut self.findings,
                &end.flow,
                end.unaccounted(),
                end.last_us,
                world,
            );
        }
        reach::flow_end(
            &mut self.findings,
            &self.config,
            end,
            self.watch.as_ref(),
            world,
        );
        self.dos
            .flow_end(&mut self.findings, &self.config, end, world);
    }

    /// A MAC sent its first frame.
    pub fn new_mac(&mut self, mac: MacAddr, ip: Option<IpAddr>, ts: i64, world: &dyn World) {
        let since = self.start_us.map(|s| ts.saturating_sub(s)).unwrap_or(0);
        let _ = ip;
        self.devices
            .new_mac(mac, since >= self.config.new_device_after_us, ts, world);
    }

    /// An ARP sender claimed an address.
    pub fn arp(&mut self, mac: MacAddr, ip: IpAddr, ts: i64, world: &dyn World) {
        self.devices.arp(&mut self.findings, mac, ip, ts, world);
    }

    /// Detections raised since the last call, in the order first raised.
    pub fn take(&mut self, world: &dyn World) -> Vec<Detection> {
        self.devices.decide(&mut self.findings, world);
        self.findings.take()
    }
}
