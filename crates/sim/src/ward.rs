//! The ward: its network plan, its devices and what they do over time. Events are
//! taken in time order from a heap (one pending event per device and kind), so memory
//! stays flat however many minutes are simulated.
//!
//! The capture point is described by [`CAPTURE_POINT`]: a SPAN of the pump VLAN, plus
//! a filtered capture (VACL) on the core switch of the pump-server VLAN's traffic to
//! and from the EHR / alarm-manager subnet. Each frame is captured once: pump ↔ server
//! traffic only on the pump VLAN, server ↔ EHR traffic only on the server VLAN.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::{self, Write};
use std::net::Ipv4Addr;

use dhcproto::v4::MessageType;
use serde::Serialize;

use crate::clinical::Infusion;
use crate::frame::{self, BROADCAST, Endpoint, Mac};
use crate::mllp::Interfaces;
use crate::pki::{Chain, HospitalCa, Leaf};
use crate::profiles::{PROFILES, Profile, Transport};
use crate::proto::{self, Dhcp};
use crate::rng::Rng;
use crate::scenarios::{self, Cast, Scenario, ScenarioTruth};
use crate::sink::{Sink, SinkTotals};
use crate::tls::{self, Handshake, ServerKey, Session};

/// 2026-11-02T08:00:00Z: the simulated day starts at a fixed instant, so a seed alone
/// decides the file.
pub const START_S: u64 = 1_793_606_400;
const NS: u64 = 1_000_000_000;
const LEASE_S: u32 = 3_600;
const DNS_TTL_S: u32 = 300;
/// ntpd's maximum poll interval (2^10 s), where a settled client stays.
const NTP_POLL_S: u64 = 1_024;
/// How often the biomed workstation polls each pump's SNMP agent.
const SNMP_POLL_S: u64 = 300;
/// How often the biomed workstation browses for web consoles.
const MDNS_BROWSE_S: u64 = 600;
/// The community the workstation polls with (the agents' factory default).
pub(crate) const SNMP_COMMUNITY: &str = "public";
/// How often a pump server reports each running infusion to the EHR (PCD-01).
const DEVICE_DATA_S: u64 = 60;
/// One PCD-01 report in this many comes with an occlusion alarm (PCD-04).
const OCCLUSION_ONE_IN: u64 = 40;

/// Where the capture is taken, as the truth states it.
pub const CAPTURE_POINT: &str = "SPAN of the pump VLAN (10.20.0.0/16, every frame) plus a \
filtered VACL capture on the core switch of the pump-server VLAN (10.30.0.0/24) to and from \
the EHR / alarm-manager subnet (10.40.0.0/24); each frame is captured once. On the pump VLAN, \
hosts beyond the pump VLAN's gateway carry its MAC; on the server VLAN, pump servers carry \
their own MACs and EHR-subnet hosts the server VLAN gateway's MAC.";

/// What to simulate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub pumps: u32,
    pub seed: u64,
    pub minutes: u32,
    /// Attack scenarios, played one after another from minute 1 (they need at least
    /// two simulated minutes; those that do not fit are left out of file and truth).
    pub scenarios: Vec<Scenario>,
    /// TCP data segments retransmitted or out of order, per thousand (each).
    pub tcp_anomaly_permille: u16,
}

/// One device in the ground truth.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Device {
    /// `None` for hosts behind the router: their frames on the captured segment carry
    /// the router's MAC, so their own is not observable there.
    pub mac: Option<String>,
    pub ip: String,
    pub hostname: Option<String>,
    pub kind: &'static str,
    pub vendor: Option<&'static str>,
    pub model: Option<&'static str>,
    pub firmware: Option<&'static str>,
    pub zone: &'static str,
    /// The pump family (pumps only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub family: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub serial: Option<String>,
}

/// The ground truth written beside the capture.
#[derive(Debug, Clone, Serialize)]
pub struct Truth {
    /// Which traffic the capture sees (see [`CAPTURE_POINT`]).
    pub capture_point: &'static str,
    pub seed: u64,
    pub pumps: u32,
    pub minutes: u32,
    /// RFC 3339 start of the capture.
    pub start: String,
    pub packets: u64,
    /// Bidirectional IP 5-tuple conversations (what tshark's conv,tcp + conv,udp count).
    pub flows: u64,
    pub tcp_flows: u64,
    pub udp_flows: u64,
    /// Conversations per application protocol.
    pub flows_by_protocol: std::collections::BTreeMap<&'static str, u64>,
    /// TCP segments sent twice (tshark: `tcp.analysis.retransmission`).
    pub tcp_retransmissions: u64,
    /// TCP segments that reach the capture after the next one
    /// (tshark: `tcp.analysis.out_of_order`).
    pub tcp_out_of_order: u64,
    pub devices: Vec<Device>,
    /// Attack scenarios in the capture, each with its window, hosts and expected alert.
    pub scenarios: Vec<ScenarioTruth>,
}

use crate::scenarios::mac_text;

/// The compromised biomedical laptop that plays the attack scenarios.
#[derive(Debug)]
struct Attacker {
    mac: Mac,
    ip: Ipv4Addr,
    joined: bool,
}

const ATTACKER_HOSTNAME: &str = "BIOMED-LT-07";

/// The biomedical engineering workstation on the pump VLAN (an HP desktop): it polls
/// the pumps' SNMP agents and browses for their web consoles by mDNS.
#[derive(Debug)]
struct Workstation {
    mac: Mac,
    ip: Ipv4Addr,
    rng: Rng,
    /// The source port of its SNMP poller (one socket for all polls).
    snmp_port: u16,
    joined: bool,
}

pub(crate) const WORKSTATION_HOSTNAME: &str = "BIOMED-WS-01";

#[derive(Debug, Clone, Copy)]
pub(crate) struct Host {
    pub mac: Mac,
    pub ip: Ipv4Addr,
}

/// The fixed infrastructure of the ward's network. Hosts on a captured segment (the
/// pump VLAN; the pump servers on theirs) have a MAC; hosts behind a router are only
/// addresses, since every frame to or from them carries the router's MAC there.
#[derive(Debug)]
pub(crate) struct Plan {
    /// The router of the pump VLAN (Cisco HSRP virtual MAC).
    pub gateway: Host,
    /// The router of the pump-server VLAN (HSRP group 30), through which the servers
    /// reach the EHR subnet.
    pub server_gateway: Host,
    pub dhcp: Host,
    pub dns: Ipv4Addr,
    pub ntp: Ipv4Addr,
    pub syslog: Ipv4Addr,
    /// The EHR / HL7 interface engine (data centre).
    pub ehr: Ipv4Addr,
    /// The alarm manager (data centre), which pumps forward alarms to over TLS.
    pub alarms: Ipv4Addr,
    /// One pump server per family, in [`PROFILES`] order.
    pub servers: Vec<Ipv4Addr>,
    /// The hospital's issuing CA.
    pub ca: HospitalCa,
    /// The certificate chain each family's server presents (TLS families only), in
    /// [`PROFILES`] order.
    pub chains: Vec<Option<Chain>>,
}

/// The alarm manager's DNS name (and certificate name).
pub(crate) const ALARMS_NAME: &str = "alarms.hospital.example";

impl Plan {
    /// The plan, with certificates from `rng` (made once per run).
    fn new(rng: &mut Rng) -> Result<Plan, crate::pki::Error> {
        let ca = HospitalCa::new(rng)?;
        let mut chains = Vec::with_capacity(PROFILES.len());
        for p in &PROFILES {
            chains.push(match p.transport {
                Transport::Tcp => None,
                Transport::Tls12 | Transport::Tls13 => Some(ca.server_chain(
                    rng,
                    &Leaf {
                        common_name: p.server_name,
                        dns_name: p.server_name,
                        valid_since_days: 120,
                        // Within the 398 days browsers (and nDPI) accept.
                        lifetime_days: 397,
                    },
                )?),
            });
        }
        Ok(Plan {
            gateway: Host {
                mac: [0x00, 0x00, 0x0c, 0x07, 0xac, 0x78],
                ip: Ipv4Addr::new(10, 20, 0, 1),
            },
            server_gateway: Host {
                mac: [0x00, 0x00, 0x0c, 0x07, 0xac, 0x1e],
                ip: Ipv4Addr::new(10, 30, 0, 1),
            },
            dhcp: Host {
                mac: [0x02, 0x50, 0x47, 0x00, 0x00, 0x02],
                ip: Ipv4Addr::new(10, 20, 0, 2),
            },
            dns: Ipv4Addr::new(10, 10, 0, 53),
            ntp: Ipv4Addr::new(10, 10, 0, 123),
            syslog: Ipv4Addr::new(10, 10, 0, 14),
            ehr: Ipv4Addr::new(10, 40, 0, 10),
            alarms: Ipv4Addr::new(10, 40, 0, 20),
            servers: (0..PROFILES.len())
                .map(|i| Ipv4Addr::new(10, 30, 0, 10 + i as u8))
                .collect(),
            ca,
            chains,
        })
    }

    /// A host behind the router, as seen from the pump segment.
    pub(crate) fn behind(&self, ip: Ipv4Addr, port: u16) -> Endpoint {
        Endpoint {
            mac: self.gateway.mac,
            ip,
            port,
        }
    }

    /// A host of the EHR subnet, as seen from the pump-server VLAN.
    pub(crate) fn beyond_core(&self, ip: Ipv4Addr, port: u16) -> Endpoint {
        Endpoint {
            mac: self.server_gateway.mac,
            ip,
            port,
        }
    }

    /// Family `f`'s pump server on its own VLAN: a VMware guest (OUI 00:50:56).
    pub(crate) fn server_host(&self, f: usize) -> Host {
        let ip = self.servers[f];
        Host {
            mac: [0x00, 0x50, 0x56, 0x1e, 0x00, ip.octets()[3]],
            ip,
        }
    }
}

#[derive(Debug)]
struct Pump {
    profile: &'static Profile,
    family: usize,
    mac: Mac,
    ip: Ipv4Addr,
    serial: String,
    hostname: String,
    rng: Rng,
    next_port: u16,
    rtt: u64,
    heartbeats: u64,
    /// When the pump's DNS answer for its server expires (ns).
    dns_expiry: u64,
    has_lease: bool,
    /// When it booted (ns), for its SNMP agent's sysUpTime.
    booted_at: u64,
    /// What it infuses (from its first device-data report on), and since when (ns).
    infusion: Option<Infusion>,
    infusing_since: u64,
}

impl Pump {
    fn port(&mut self) -> u16 {
        let p = self.next_port;
        self.next_port = if p == u16::MAX { 49_152 } else { p + 1 };
        p
    }

    fn endpoint(&mut self) -> Endpoint {
        let port = self.port();
        Endpoint {
            mac: self.mac,
            ip: self.ip,
            port,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Event {
    Boot,
    Heartbeat,
    DrugLibrary,
    Renew,
    /// NTP poll of the hospital's time server.
    Ntp,
    /// The attacker joins the VLAN (index unused).
    AttackerJoins,
    /// Scenario number `index` of the config is played.
    Attack,
    /// The biomed workstation joins the VLAN and starts browsing (index unused).
    WorkstationJoins,
    /// The workstation browses for web consoles by mDNS (index unused).
    MdnsBrowse,
    /// The workstation polls pump `index` by SNMP.
    SnmpPoll,
    /// Pump `index`'s server reports its infusion to the EHR (starting a new one, with
    /// the EHR's order, when the last is complete).
    DeviceData,
}

/// Simulates the ward into `out` (pcapng) and returns the ground truth.
pub fn simulate<W: Write>(config: &Config, out: W) -> io::Result<Truth> {
    let mut rng = Rng::new(config.seed);
    let mut pumps: Vec<Pump> = (0..config.pumps)
        .map(|i| {
            let mut r = rng.fork();
            let family = r.below(PROFILES.len() as u64) as usize;
            let profile = &PROFILES[family];
            let serial = format!("{:06}", r.range(100_000, 1_000_000));
            let mut mac = [0u8; 6];
            mac[..3].copy_from_slice(&profile.oui);
            // The NIC-specific half: derived from the pump index (unique) mixed with
            // the seed (different wards look different).
            let nic = (u64::from(i) + (config.seed.wrapping_mul(0x9e37) << 12)) & 0xff_ffff;
            mac[3..].copy_from_slice(&nic.to_be_bytes()[5..]);
            Pump {
                profile,
                family,
                mac,
                ip: Ipv4Addr::new(10, 20, 1 + (i / 200) as u8, 10 + (i % 200) as u8),
                hostname: profile.hostname.replace("{}", &serial),
                serial,
                next_port: r.range(49_152, 60_000) as u16,
                rtt: r.range(800_000, 3_000_000),
                heartbeats: 0,
                dns_expiry: 0,
                has_lease: false,
                booted_at: 0,
                infusion: None,
                infusing_since: 0,
                rng: r,
            }
        })
        .collect();

    let start = START_S * NS;
    let end = start + u64::from(config.minutes) * 60 * NS;
    let mut sink = Sink::new(out, rng.next_u64(), config.tcp_anomaly_permille)?;
    let plan = Plan::new(&mut rng.fork()).map_err(io::Error::other)?;
    let mut hl7 = Interfaces::new(&plan, rng.fork());
    // Each pump server in use resolves its gateway when the capture starts (its ARP
    // entry expired): the only frames that give the server VLAN gateway's address.
    for f in (0..PROFILES.len()).filter(|f| pumps.iter().any(|p| p.family == *f)) {
        let server = plan.server_host(f);
        let gw = plan.server_gateway;
        let t = start + f as u64 * 1_000_000;
        sink.emit(
            t,
            frame::arp((server.mac, server.ip), ([0; 6], gw.ip), false),
        );
        sink.emit(
            t + 300_000,
            frame::arp((gw.mac, gw.ip), (server.mac, server.ip), true),
        );
    }
    let mut queue: BinaryHeap<Reverse<(u64, Event, usize)>> = BinaryHeap::new();
    for (i, p) in pumps.iter_mut().enumerate() {
        queue.push(Reverse((start + p.rng.below(60 * NS), Event::Boot, i)));
    }
    let mut ws_rng = rng.fork();
    let mut ws_mac = [0x3c, 0x52, 0x82, 0, 0, 0]; // an HP desktop's OUI
    ws_mac[3..].copy_from_slice(&ws_rng.next_u64().to_be_bytes()[..3]);
    let mut workstation = Workstation {
        mac: ws_mac,
        ip: Ipv4Addr::new(10, 20, 9, 10),
        snmp_port: ws_rng.range(49_152, 65_000) as u16,
        rng: ws_rng,
        joined: false,
    };
    queue.push(Reverse((start + 3 * NS, Event::WorkstationJoins, 0)));
    let mut attacker = None;
    if !config.scenarios.is_empty() {
        let mut mac = [0xf8, 0xbc, 0x12, 0, 0, 0]; // a Dell laptop's OUI
        mac[3..].copy_from_slice(&rng.next_u64().to_be_bytes()[..3]);
        attacker = Some(Attacker {
            mac,
            ip: Ipv4Addr::new(10, 20, 9, 66),
            joined: false,
        });
        // From minute 1, evenly spread over what remains (less a closing margin).
        let first = start + 70 * NS;
        let span = end.saturating_sub(first + 30 * NS);
        let n = config.scenarios.len() as u64;
        queue.push(Reverse((first - 30 * NS, Event::AttackerJoins, 0)));
        for k in 0..config.scenarios.len() {
            queue.push(Reverse((first + span * k as u64 / n, Event::Attack, k)));
        }
    }
    let mut played = Vec::new();
    while let Some(Reverse((t, event, i))) = queue.pop() {
        if t >= end {
            break;
        }
        sink.flush_before(t)?;
        match event {
            Event::AttackerJoins => {
                if let Some(a) = attacker.as_mut() {
                    let laptop = DhcpClient {
                        mac: a.mac,
                        ip: a.ip,
                        hostname: ATTACKER_HOSTNAME,
                        vendor_class: "MSFT 5.0",
                        params: &[1, 3, 6, 15, 31, 33, 43, 44, 46, 47, 119, 121, 249, 252],
                    };
                    join(&mut sink, &plan, &laptop, rng.next_u64() as u32, t);
                    a.joined = true;
                }
            }
            Event::Attack => {
                if let Some(a) = attacker.as_ref() {
                    let pump = &pumps[rng.below(pumps.len() as u64) as usize];
                    let cast = Cast {
                        hl7: &hl7,
                        family: pump.family,
                        infusion: pump.infusion.as_ref(),
                        plan: &plan,
                        laptop: (a.mac, a.ip, ATTACKER_HOSTNAME),
                        workstation: (workstation.mac, workstation.ip, WORKSTATION_HOSTNAME),
                        pump: (pump.mac, pump.ip, &pump.hostname),
                        server: (
                            plan.servers[pump.family],
                            pump.profile.server_port,
                            pump.profile.server_name,
                        ),
                        profile: pump.profile,
                    };
                    played.push(scenarios::play(
                        &mut sink,
                        config.scenarios[i],
                        &cast,
                        &mut rng,
                        t,
                    ));
                }
            }
            Event::WorkstationJoins => {
                let ws = &mut workstation;
                let desktop = DhcpClient {
                    mac: ws.mac,
                    ip: ws.ip,
                    hostname: WORKSTATION_HOSTNAME,
                    vendor_class: "MSFT 5.0",
                    params: &[1, 3, 6, 15, 31, 33, 43, 44, 46, 47, 119, 121, 249, 252],
                };
                let done = join(&mut sink, &plan, &desktop, ws.rng.next_u64() as u32, t);
                ws.joined = true;
                queue.push(Reverse((done + NS, Event::MdnsBrowse, 0)));
            }
            Event::MdnsBrowse => {
                mdns_browse(&mut sink, &mut workstation, &mut pumps, t);
                let next = t + MDNS_BROWSE_S * NS + workstation.rng.below(NS);
                queue.push(Reverse((next, Event::MdnsBrowse, 0)));
            }
            Event::DeviceData => {
                let pump = &mut pumps[i];
                device_data(&mut sink, &mut hl7, pump, t);
                let next = t + DEVICE_DATA_S * NS + pump.rng.below(2 * NS);
                queue.push(Reverse((next, Event::DeviceData, i)));
            }
            Event::SnmpPoll => {
                snmp_poll(&mut sink, &mut workstation, &mut pumps[i], t);
                let next = t + SNMP_POLL_S * NS + workstation.rng.below(NS);
                queue.push(Reverse((next, Event::SnmpPoll, i)));
            }
            pump_event => on_pump_event(
                &mut sink,
                &plan,
                &mut pumps[i],
                i,
                pump_event,
                t,
                &mut queue,
            ),
        }
    }
    let totals: SinkTotals = sink.finish()?;
    let laptop = attacker.filter(|a| a.joined);
    let seen = Seen {
        laptop: laptop.as_ref(),
        workstation: Some(&workstation).filter(|w| w.joined),
    };
    Ok(truth(config, &plan, &pumps, &seen, played, totals))
}

/// What a pump does at one of its events, and when it does it next.
fn on_pump_event<W: Write>(
    sink: &mut Sink<W>,
    plan: &Plan,
    pump: &mut Pump,
    i: usize,
    event: Event,
    t: u64,
    queue: &mut BinaryHeap<Reverse<(u64, Event, usize)>>,
) {
    match event {
        Event::Boot => {
            let t = boot(sink, plan, pump, t);
            pump.booted_at = t;
            if pump.profile.mdns_web_console {
                // Two unsolicited announcements one second apart (RFC 6762 §8.3).
                for k in 0..2 {
                    mdns_announce(sink, pump, t + 300_000_000 + k * NS);
                }
            }
            if pump.profile.snmp_agent {
                let first = t + 30 * NS + pump.rng.below(SNMP_POLL_S * NS);
                queue.push(Reverse((first, Event::SnmpPoll, i)));
            }
            queue.push(Reverse((t + pump.rng.below(2 * NS), Event::Heartbeat, i)));
            let lib = t + pump.rng.range(5, 120) * NS;
            queue.push(Reverse((lib, Event::DrugLibrary, i)));
            queue.push(Reverse((t + u64::from(LEASE_S / 2) * NS, Event::Renew, i)));
            queue.push(Reverse((t + pump.rng.range(1, 4) * NS, Event::Ntp, i)));
            let report = t + pump.rng.range(5, DEVICE_DATA_S) * NS;
            queue.push(Reverse((report, Event::DeviceData, i)));
            let line = format!(
                "comm module started fw={} mac={}",
                pump.profile.firmware,
                mac_text(&pump.mac)
            );
            syslog(sink, plan, pump, t + 500_000_000, 6, "BOOT", &line);
        }
        Event::Ntp => {
            ntp(sink, plan, pump, t);
            queue.push(Reverse((
                t + NTP_POLL_S * NS + pump.rng.below(NS),
                Event::Ntp,
                i,
            )));
        }
        Event::Heartbeat => {
            heartbeat(sink, plan, pump, t);
            let jitter = pump.rng.below(2 * NS);
            queue.push(Reverse((
                t + pump.profile.heartbeat_s * NS + jitter,
                Event::Heartbeat,
                i,
            )));
        }
        Event::DrugLibrary => {
            let done = druglib(sink, plan, pump, t);
            let line = format!(
                "drug library {} verified and installed",
                pump.profile.druglib_version
            );
            syslog(sink, plan, pump, done + 200_000_000, 5, "DRUGLIB", &line);
            let jitter = pump.rng.below(30 * NS);
            queue.push(Reverse((
                t + pump.profile.druglib_s * NS + jitter,
                Event::DrugLibrary,
                i,
            )));
        }
        Event::Renew => {
            renew(sink, plan, pump, t);
            queue.push(Reverse((t + u64::from(LEASE_S / 2) * NS, Event::Renew, i)));
        }
        Event::AttackerJoins
        | Event::Attack
        | Event::WorkstationJoins
        | Event::MdnsBrowse
        | Event::SnmpPoll
        | Event::DeviceData => {}
    }
}

/// A DHCP client on the pump VLAN: a pump, or another device that joins it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DhcpClient<'a> {
    pub mac: Mac,
    pub ip: Ipv4Addr,
    pub hostname: &'a str,
    pub vendor_class: &'a str,
    pub params: &'a [u8],
}

fn dhcp_msg<'a>(
    plan: &Plan,
    c: &DhcpClient<'a>,
    kind: MessageType,
    xid: u32,
    ciaddr: Ipv4Addr,
) -> Dhcp<'a> {
    Dhcp {
        kind,
        xid,
        mac: c.mac,
        ciaddr,
        yiaddr: c.ip,
        server: plan.dhcp.ip,
        vendor_class: c.vendor_class,
        params: c.params,
        hostname: c.hostname,
        lease_s: LEASE_S,
        router: plan.gateway.ip,
        dns: plan.dns,
    }
}

impl Pump {
    fn dhcp_client(&self) -> DhcpClient<'_> {
        DhcpClient {
            mac: self.mac,
            ip: self.ip,
            hostname: &self.hostname,
            vendor_class: self.profile.vendor_class,
            params: self.profile.params,
        }
    }
}

/// DHCP DISCOVER/OFFER/REQUEST/ACK (broadcast), then ARP for the gateway; returns when
/// done.
pub(crate) fn join<W: Write>(
    sink: &mut Sink<W>,
    plan: &Plan,
    c: &DhcpClient<'_>,
    xid: u32,
    t: u64,
) -> u64 {
    let client = Endpoint {
        mac: c.mac,
        ip: Ipv4Addr::UNSPECIFIED,
        port: 68,
    };
    let all = Endpoint {
        mac: BROADCAST,
        ip: Ipv4Addr::BROADCAST,
        port: 67,
    };
    let server = Endpoint {
        mac: plan.dhcp.mac,
        ip: plan.dhcp.ip,
        port: 67,
    };
    let to_client = Endpoint {
        mac: BROADCAST,
        ip: Ipv4Addr::BROADCAST,
        port: 68,
    };
    let none = Ipv4Addr::UNSPECIFIED;
    sink.flow(false, &client, &all, "dhcp");
    sink.flow(false, &server, &to_client, "dhcp");
    let msgs = [
        (MessageType::Discover, client, all, 0),
        (MessageType::Offer, server, to_client, 3_000_000),
        (MessageType::Request, client, all, 5_000_000),
        (MessageType::Ack, server, to_client, 8_000_000),
    ];
    for (kind, src, dst, dt) in msgs {
        let payload = proto::dhcp(&dhcp_msg(plan, c, kind, xid, none));
        sink.emit(
            t + dt,
            frame::udp(src, dst, if src.port == 68 { 64 } else { 128 }, &payload),
        );
    }
    let t = t + 20_000_000;
    sink.emit(
        t,
        frame::arp((c.mac, c.ip), ([0; 6], plan.gateway.ip), false),
    );
    sink.emit(
        t + 400_000,
        frame::arp((plan.gateway.mac, plan.gateway.ip), (c.mac, c.ip), true),
    );
    t + 1_000_000
}

fn boot<W: Write>(sink: &mut Sink<W>, plan: &Plan, pump: &mut Pump, t: u64) -> u64 {
    let xid = pump.rng.next_u64() as u32;
    let t = join(sink, plan, &pump.dhcp_client(), xid, t);
    pump.has_lease = true;
    t
}

/// Resolves the pump server's name when the cached answer has expired.
fn resolve<W: Write>(sink: &mut Sink<W>, plan: &Plan, pump: &mut Pump, t: u64) -> u64 {
    if t < pump.dns_expiry {
        return t;
    }
    let client = pump.endpoint();
    let server = plan.behind(plan.dns, 53);
    sink.flow(false, &client, &server, "dns");
    let id = pump.rng.next_u64() as u16;
    let name = pump.profile.server_name;
    sink.emit(
        t,
        frame::udp(client, server, 64, &proto::dns(id, name, None)),
    );
    let answer = Some((plan.servers[pump.family], DNS_TTL_S));
    let t = t + pump.rtt + 300_000;
    sink.emit(
        t,
        frame::udp(server, client, 63, &proto::dns(id, name, answer)),
    );
    pump.dns_expiry = t + u64::from(DNS_TTL_S) * NS;
    t + 100_000
}

/// The TLS version of a family's transport (`None`: plain TCP).
pub(crate) fn tls_version(p: &Profile) -> Option<tls::Version> {
    match p.transport {
        Transport::Tcp => None,
        Transport::Tls12 => Some(tls::Version::Tls12),
        Transport::Tls13 => Some(tls::Version::Tls13),
    }
}

/// Connects a pump to its server (resolving the server's name first when needed),
/// with the TLS handshake when its family's link uses TLS.
fn connect<W: Write>(sink: &mut Sink<W>, plan: &Plan, pump: &mut Pump, t: u64) -> (Session, u64) {
    let t = resolve(sink, plan, pump, t);
    let client = pump.endpoint();
    let server = plan.behind(plan.servers[pump.family], pump.profile.server_port);
    let isn = (pump.rng.next_u64() as u32, pump.rng.next_u64() as u32);
    let p = pump.profile;
    let chain = plan.chains[pump.family].as_deref().unwrap_or_default();
    let hs = tls_version(p).map(|version| Handshake {
        version,
        sni: Some(p.server_name),
        chain,
        key: ServerKey::Ed25519,
    });
    let tls = hs.as_ref().map(|hs| (hs, pump.rng.fork()));
    Session::open(sink, t, client, server, isn, pump.rtt, app_name(p), tls)
}

/// The protocol name a family's link is counted under in the truth.
pub(crate) fn app_name(p: &Profile) -> &'static str {
    match (p.transport, p.link) {
        (Transport::Tls12 | Transport::Tls13, _) => "tls",
        (Transport::Tcp, crate::profiles::Link::Http) => "http",
        (Transport::Tcp, crate::profiles::Link::Proprietary { .. }) => p.family,
    }
}

fn heartbeat<W: Write>(sink: &mut Sink<W>, plan: &Plan, pump: &mut Pump, t: u64) {
    pump.heartbeats += 1;
    let battery = 100 - (pump.heartbeats / 20).min(80);
    let (req, resp) = proto::heartbeat(pump.profile, &pump.serial, pump.heartbeats, battery);
    let (mut conn, t) = connect(sink, plan, pump, t);
    let t = conn.client_sends(sink, t, &req);
    let t = conn.server_sends(sink, t + 200_000, &resp);
    conn.close(sink, t + 100_000);
}

/// NTPv4 client poll and the server's answer (RFC 5905), source port 123 as ntpd uses.
fn ntp<W: Write>(sink: &mut Sink<W>, plan: &Plan, pump: &mut Pump, t: u64) {
    let client = Endpoint {
        mac: pump.mac,
        ip: pump.ip,
        port: 123,
    };
    let server = plan.behind(plan.ntp, 123);
    sink.flow(false, &client, &server, "ntp");
    sink.emit(t, frame::udp(client, server, 64, &proto::ntp(false, t, t)));
    let back = t + pump.rtt;
    sink.emit(
        back,
        frame::udp(server, client, 63, &proto::ntp(true, t, back)),
    );
}

/// An RFC 5424 syslog message to the hospital's collector (UDP 514).
fn syslog<W: Write>(
    sink: &mut Sink<W>,
    plan: &Plan,
    pump: &mut Pump,
    t: u64,
    severity: u8,
    msgid: &str,
    text: &str,
) {
    let client = Endpoint {
        mac: pump.mac,
        ip: pump.ip,
        port: 514,
    };
    let server = plan.behind(plan.syslog, 514);
    sink.flow(false, &client, &server, "syslog");
    let line = proto::syslog(t, &pump.hostname, severity, msgid, text);
    sink.emit(t, frame::udp(client, server, 64, line.as_bytes()));
}

fn druglib<W: Write>(sink: &mut Sink<W>, plan: &Plan, pump: &mut Pump, t: u64) -> u64 {
    let (req, head) = proto::druglib_request(pump.profile, &pump.serial);
    let mut r = Rng::new(pump.rng.next_u64());
    let bytes = pump.profile.druglib_bytes;
    let (mut conn, t) = connect(sink, plan, pump, t);
    let t = conn.client_sends(sink, t, &req);
    let t = match &mut conn {
        Session::Plain(c) => {
            let mut body = head;
            body.extend((0..bytes).map(|_| r.next_u64() as u8));
            c.server_sends(sink, t + 500_000, &body)
        }
        // Encrypted: only the length shows, so no library bytes are made.
        Session::Tls(s) => s.server_sends(sink, t + 500_000, head.len() + bytes),
    };
    conn.close(sink, t + 100_000)
}

/// The mDNS group (RFC 6762 §3) as a destination: 224.0.0.251, its multicast MAC.
fn mdns_group() -> Endpoint {
    Endpoint {
        mac: [0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb],
        ip: Ipv4Addr::new(224, 0, 0, 251),
        port: 5353,
    }
}

/// mDNS packets leave with IP TTL 255 (RFC 6762 §11).
const MDNS_TTL: u8 = 255;

/// A pump's multicast response advertising its web console.
fn mdns_announce<W: Write>(sink: &mut Sink<W>, pump: &Pump, t: u64) {
    let me = Endpoint {
        mac: pump.mac,
        ip: pump.ip,
        port: 5353,
    };
    let group = mdns_group();
    sink.flow(false, &me, &group, "mdns");
    let console = proto::WebConsole {
        host: &pump.hostname,
        ip: pump.ip,
        port: 80,
    };
    let payload = proto::mdns_announcement(&console);
    sink.emit(t, frame::udp(me, group, MDNS_TTL, &payload));
}

/// The workstation asks for `_http._tcp.local`; every pump with a web console answers
/// after a random 20–120 ms (RFC 6762 §6).
fn mdns_browse<W: Write>(sink: &mut Sink<W>, ws: &mut Workstation, pumps: &mut [Pump], t: u64) {
    let me = Endpoint {
        mac: ws.mac,
        ip: ws.ip,
        port: 5353,
    };
    let group = mdns_group();
    sink.flow(false, &me, &group, "mdns");
    sink.emit(t, frame::udp(me, group, MDNS_TTL, &proto::mdns_query()));
    for pump in pumps
        .iter_mut()
        .filter(|p| p.has_lease && p.profile.mdns_web_console)
    {
        let delay = pump.rng.range(20_000_000, 120_000_000);
        mdns_announce(sink, pump, t + delay);
    }
}

/// The workstation polls a pump's SNMP agent for its system group: ARP for the pump
/// (its cache entry has expired since the last poll), GetRequest, Response.
fn snmp_poll<W: Write>(sink: &mut Sink<W>, ws: &mut Workstation, pump: &mut Pump, t: u64) {
    if !ws.joined || !pump.has_lease {
        return;
    }
    sink.emit(t, frame::arp((ws.mac, ws.ip), ([0; 6], pump.ip), false));
    let t = t + pump.rtt / 2;
    sink.emit(t, frame::arp((pump.mac, pump.ip), (ws.mac, ws.ip), true));
    let poller = Endpoint {
        mac: ws.mac,
        ip: ws.ip,
        port: ws.snmp_port,
    };
    let agent = Endpoint {
        mac: pump.mac,
        ip: pump.ip,
        port: 161,
    };
    sink.flow(false, &poller, &agent, "snmp");
    let id = (ws.rng.next_u64() >> 33) as i32;
    let t = t + 200_000;
    sink.emit(
        t,
        frame::udp(poller, agent, 128, &proto::snmp(SNMP_COMMUNITY, id, None)),
    );
    let p = pump.profile;
    let descr = format!(
        "{} {} communication module, firmware {}",
        p.vendor, p.model, p.firmware
    );
    let t = t + pump.rtt + 1_500_000;
    let system = proto::SnmpSystem {
        descr: &descr,
        uptime: ((t - pump.booted_at) / 10_000_000) as u32,
        name: &pump.hostname,
    };
    let answer = proto::snmp(SNMP_COMMUNITY, id, Some(&system));
    sink.emit(t, frame::udp(agent, poller, 64, &answer));
}

/// Minutes of delivery of the pump's infusion at `t`.
fn minutes_infused(pump: &Pump, t: u64) -> f64 {
    t.saturating_sub(pump.infusing_since) as f64 / (60 * NS) as f64
}

/// The pump's server reports its infusion to the EHR (PCD-01); when there is none yet
/// or it is complete, the EHR orders the next one first (PCD-03, then PCD-10). Now and
/// then an occlusion alarm goes to the alarm manager (PCD-04).
fn device_data<W: Write>(sink: &mut Sink<W>, hl7: &mut Interfaces, pump: &mut Pump, t: u64) {
    let complete = pump
        .infusion
        .as_ref()
        .is_none_or(|inf| inf.delivered_ml(minutes_infused(pump, t)) >= inf.vtbi_ml);
    let mut t = t;
    if complete {
        let inf = Infusion::invent(&mut pump.rng, pump.mac);
        let library = pump.profile.druglib_version;
        t = hl7.start_infusion(sink, pump.family, &inf, library, t);
        pump.infusion = Some(inf);
        pump.infusing_since = t;
    }
    let minutes = minutes_infused(pump, t);
    let occluded = pump.rng.below(OCCLUSION_ONE_IN) == 0;
    if let Some(inf) = &pump.infusion {
        let t = hl7.report(sink, pump.family, inf, minutes, t);
        if occluded {
            hl7.occlusion(sink, pump.family, inf, t + 500_000_000);
        }
    }
}

/// Unicast renewal at T1 (RFC 2131 §4.4.5).
fn renew<W: Write>(sink: &mut Sink<W>, plan: &Plan, pump: &mut Pump, t: u64) {
    let xid = pump.rng.next_u64() as u32;
    let client = Endpoint {
        mac: pump.mac,
        ip: pump.ip,
        port: 68,
    };
    let server = Endpoint {
        mac: plan.dhcp.mac,
        ip: plan.dhcp.ip,
        port: 67,
    };
    sink.flow(false, &client, &server, "dhcp");
    let c = pump.dhcp_client();
    let req = proto::dhcp(&dhcp_msg(plan, &c, MessageType::Request, xid, pump.ip));
    sink.emit(t, frame::udp(client, server, 64, &req));
    let ack = proto::dhcp(&dhcp_msg(plan, &c, MessageType::Ack, xid, pump.ip));
    sink.emit(t + 2_000_000, frame::udp(server, client, 128, &ack));
}

/// The devices that joined the VLAN during the run, besides the pumps.
#[derive(Debug)]
struct Seen<'a> {
    laptop: Option<&'a Attacker>,
    workstation: Option<&'a Workstation>,
}

fn truth(
    config: &Config,
    plan: &Plan,
    pumps: &[Pump],
    seen: &Seen<'_>,
    played: Vec<ScenarioTruth>,
    totals: SinkTotals,
) -> Truth {
    let mut devices: Vec<Device> = pumps
        .iter()
        .filter(|p| p.has_lease)
        .map(|p| Device {
            mac: Some(mac_text(&p.mac)),
            ip: p.ip.to_string(),
            hostname: Some(p.hostname.clone()),
            kind: "infusion_pump",
            vendor: Some(p.profile.vendor),
            model: Some(p.profile.model),
            firmware: Some(p.profile.firmware),
            zone: "pumps",
            family: Some(p.profile.family),
            serial: Some(p.serial.clone()),
        })
        .collect();
    let infra = |mac: Option<&Mac>, ip: Ipv4Addr, kind, zone, model| Device {
        mac: mac.map(mac_text),
        ip: ip.to_string(),
        hostname: None,
        kind,
        vendor: None,
        model: Some(model),
        firmware: None,
        zone,
        family: None,
        serial: None,
    };
    // Devices that scenarios bring onto the VLAN.
    for s in &played {
        if matches!(s.name, "new_unknown_device" | "rogue_device_cloned_mac") {
            devices.push(Device {
                mac: s.attacker.mac.clone(),
                ip: s.attacker.ip.clone(),
                hostname: s.attacker.hostname.clone(),
                kind: "other",
                vendor: Some("Raspberry Pi"),
                model: Some(if s.name == "new_unknown_device" {
                    "Raspberry Pi (uninventoried)"
                } else {
                    "Raspberry Pi (using a pump's MAC)"
                }),
                firmware: None,
                zone: "pumps",
                family: None,
                serial: None,
            });
        }
    }
    if let Some(w) = seen.workstation {
        devices.push(Device {
            mac: Some(mac_text(&w.mac)),
            ip: w.ip.to_string(),
            hostname: Some(WORKSTATION_HOSTNAME.to_owned()),
            kind: "workstation",
            vendor: Some("HP"),
            model: Some("biomed engineering workstation (SNMP polls, mDNS browsing)"),
            firmware: None,
            zone: "pumps",
            family: None,
            serial: None,
        });
    }
    if let Some(a) = seen.laptop {
        devices.push(Device {
            mac: Some(mac_text(&a.mac)),
            ip: a.ip.to_string(),
            hostname: Some(ATTACKER_HOSTNAME.to_owned()),
            kind: "workstation",
            vendor: Some("Dell"),
            model: Some("laptop (compromised: plays the attack scenarios)"),
            firmware: None,
            zone: "pumps",
            family: None,
            serial: None,
        });
    }
    let (g, d) = (&plan.gateway, &plan.dhcp);
    devices.extend([
        infra(
            Some(&g.mac),
            g.ip,
            "network",
            "infrastructure",
            "pump VLAN gateway",
        ),
        infra(
            Some(&d.mac),
            d.ip,
            "network",
            "infrastructure",
            "DHCP server",
        ),
        infra(
            None,
            plan.dns,
            "network",
            "infrastructure",
            "DNS resolver (behind gateway)",
        ),
        infra(
            None,
            plan.ntp,
            "network",
            "infrastructure",
            "NTP server (behind gateway)",
        ),
        infra(
            None,
            plan.syslog,
            "network",
            "infrastructure",
            "syslog collector (behind gateway)",
        ),
        infra(
            None,
            plan.ehr,
            "ehr",
            "ehr",
            "EHR / HL7 interface engine (behind gateway)",
        ),
        Device {
            // Its name is on the wire only where a pump resolves it (a scenario).
            hostname: played
                .iter()
                .any(|s| s.name == "expired_server_certificate")
                .then(|| ALARMS_NAME.to_owned()),
            ..infra(
                None,
                plan.alarms,
                "alarm_manager",
                "ehr",
                "alarm manager (behind gateway)",
            )
        },
    ]);
    let sg = &plan.server_gateway;
    devices.push(infra(
        Some(&sg.mac),
        sg.ip,
        "network",
        "infrastructure",
        "pump-server VLAN gateway",
    ));
    // A family's server is on the wire only if some of its pumps are.
    for (f, p) in PROFILES
        .iter()
        .enumerate()
        .filter(|(f, _)| pumps.iter().any(|p| p.has_lease && p.family == *f))
    {
        let server = plan.server_host(f);
        devices.push(Device {
            // Seen on the server VLAN's capture (its HL7 links); on the pump VLAN its
            // frames carry the pump VLAN gateway's MAC.
            mac: Some(mac_text(&server.mac)),
            ip: server.ip.to_string(),
            hostname: Some(p.server_name.to_owned()),
            kind: "pump_server",
            vendor: Some(p.vendor),
            model: Some("pump server (pump-server VLAN)"),
            firmware: None,
            zone: "pump_servers",
            family: Some(p.family),
            serial: None,
        });
    }
    Truth {
        capture_point: CAPTURE_POINT,
        seed: config.seed,
        pumps: config.pumps,
        minutes: config.minutes,
        start: scenarios::rfc3339(START_S * NS),
        packets: totals.packets,
        flows: totals.flows,
        tcp_flows: totals.tcp_flows,
        udp_flows: totals.udp_flows,
        flows_by_protocol: totals.per_protocol,
        tcp_retransmissions: totals.tcp_retransmissions,
        tcp_out_of_order: totals.tcp_out_of_order,
        devices,
        scenarios: played,
    }
}
