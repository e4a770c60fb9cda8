//! HL7 v2 over MLLP (TCP 2575, IANA `hl7`) between the pump servers, the EHR and the
//! alarm manager, as the filtered capture on the core switch sees it (see
//! [`CAPTURE_POINT`](crate::ward::CAPTURE_POINT)).
//!
//! Each pump server keeps three long-lived connections, each opened at its first
//! message and never closed within the capture:
//! - to the EHR's interface engine (port 2575): PCD-01 device data (ORU^R01) every
//!   minute per running infusion and PCD-10 (ORU^R42) when one starts, each answered
//!   by an original-mode ACK;
//! - from the EHR/BCMA (to the server's port 2575): PCD-03 orders (RGV^O15), answered
//!   by ACK^O15 CA on the same connection;
//! - to the alarm manager's MLLP listener (port 2575 of the alarm manager, beside its
//!   TLS service on 443): PCD-04 occlusion alarms (ORU^R40), answered by an ACK.
//!
//! A link carries one exchange at a time: a message waits until the previous answer is
//! acknowledged, so every connection's bytes are in sequence on the wire.

use std::io::Write;

use crate::clinical::{self, App, Infusion};
use crate::frame::{Endpoint, Mac};
use crate::profiles::PROFILES;
use crate::rng::Rng;
use crate::sink::Sink;
use crate::tcp::TcpConn;
use crate::ward::Plan;

/// The IANA port of HL7 (`hl7`, TCP 2575), where every MLLP listener of the ward is.
pub const HL7_PORT: u16 = 2_575;

/// The pump servers' HL7 application names (MSH-3), in [`PROFILES`] order.
const SERVER_APPS: [&str; PROFILES.len()] = [
    "PUMPSRV_SPECTRUM",
    "PUMPSRV_ALARIS",
    "PUMPSRV_SPACECOM",
    "PUMPSRV_MEDFUSION",
    "PUMPSRV_AGILIA",
];

/// The EHR's interface engine as an HL7 application (MSH-3 of its orders).
pub const EHR_APP: &str = "EHR_BCMA";
const ALARMS_APP: &str = "ALARM_MGR";
/// Locally administered MACs for the EUI-64 of applications behind the core router.
const EHR_ID: Mac = [0x02, 0x48, 0x4c, 0x00, 0x40, 0x10];
const ALARMS_ID: Mac = [0x02, 0x48, 0x4c, 0x00, 0x40, 0x20];

/// One long-lived MLLP connection: the client sends a message, the server answers.
#[derive(Debug)]
struct Link {
    client: Endpoint,
    server: Endpoint,
    rtt: u64,
    conn: Option<TcpConn>,
    /// When the previous exchange ended (ns).
    free_at: u64,
}

impl Link {
    fn new(client: Endpoint, server: Endpoint, rng: &mut Rng) -> Link {
        Link {
            client,
            server,
            rtt: rng.range(250_000, 600_000),
            conn: None,
            free_at: 0,
        }
    }

    /// Sends `request` framed at `t` (or when the link is free), then the receiver's
    /// `answer(message, time)`; returns when the answer is acknowledged.
    fn exchange<W: Write>(
        &mut self,
        sink: &mut Sink<W>,
        rng: &mut Rng,
        t: u64,
        request: &str,
        answer: impl FnOnce(&str, u64) -> String,
    ) -> u64 {
        let t = t.max(self.free_at);
        let (mut conn, t) = match self.conn.take() {
            Some(c) => (c, t),
            None => {
                let isn = (rng.next_u64() as u32, rng.next_u64() as u32);
                TcpConn::open(sink, t, self.client, self.server, isn, self.rtt, "hl7")
            }
        };
        let mut frame = Vec::with_capacity(request.len() + 3);
        pumpguard_hl7::mllp::encode(request.as_bytes(), &mut frame);
        let t = conn.client_sends(sink, t, &frame);
        let t = t + rng.range(1_000_000, 6_000_000);
        frame.clear();
        pumpguard_hl7::mllp::encode(answer(request, t).as_bytes(), &mut frame);
        let t = conn.server_sends(sink, t, &frame);
        self.conn = Some(conn);
        self.free_at = t + 1_000;
        self.free_at
    }
}

/// One pump server's HL7 interfaces.
#[derive(Debug)]
struct Server {
    family: usize,
    app: App,
    to_ehr: Link,
    from_ehr: Link,
    to_alarms: Link,
    sent: u64,
}

impl Server {
    fn control_id(&mut self) -> String {
        self.sent += 1;
        format!("PS{}-{:08}", self.family, self.sent)
    }
}

/// The ward's HL7 interfaces: the EHR, the alarm manager, and every pump server's links.
#[derive(Debug)]
pub struct Interfaces {
    pub ehr: App,
    manager: App,
    servers: Vec<Server>,
    ehr_sent: u64,
    manager_sent: u64,
    rng: Rng,
}

impl Interfaces {
    pub fn new(plan: &Plan, mut rng: Rng) -> Interfaces {
        let app = |name, facility, id| App {
            name,
            facility,
            eui64: clinical::eui64(id),
        };
        let servers = (0..PROFILES.len())
            .map(|f| {
                let me = plan.server_host(f);
                let port = rng.range(49_152, 60_000) as u16;
                let ehr_port = rng.range(49_152, 65_000) as u16;
                let at = |port| Endpoint {
                    mac: me.mac,
                    ip: me.ip,
                    port,
                };
                let ehr = plan.beyond_core(plan.ehr, HL7_PORT);
                let from_ehr_client = plan.beyond_core(plan.ehr, ehr_port);
                Server {
                    family: f,
                    app: app(SERVER_APPS[f], "PHARM", me.mac),
                    to_ehr: Link::new(at(port), ehr, &mut rng),
                    from_ehr: Link::new(from_ehr_client, at(HL7_PORT), &mut rng),
                    to_alarms: Link::new(
                        at(port + 1),
                        plan.beyond_core(plan.alarms, HL7_PORT),
                        &mut rng,
                    ),
                    sent: 0,
                }
            })
            .collect();
        Interfaces {
            ehr: app(EHR_APP, "HOSP", EHR_ID),
            manager: app(ALARMS_APP, "HOSP", ALARMS_ID),
            servers,
            ehr_sent: 0,
            manager_sent: 0,
            rng,
        }
    }

    /// The HL7 application of family `f`'s pump server.
    pub fn server_app(&self, f: usize) -> &App {
        &self.servers[f].app
    }

    fn ehr_control_id(&mut self) -> String {
        self.ehr_sent += 1;
        format!("EHR{:08}", self.ehr_sent)
    }

    /// The EHR orders `inf` (PCD-03); the server accepts it; the server reports the
    /// delivery start (PCD-10). Returns when the EHR's ACK of that is acknowledged.
    pub fn start_infusion<W: Write>(
        &mut self,
        sink: &mut Sink<W>,
        f: usize,
        inf: &Infusion,
        library: &str,
        t: u64,
    ) -> u64 {
        let order_id = self.ehr_control_id();
        let order = clinical::order(&order_id, t, inf, &self.ehr, &self.servers[f].app);
        let s = &mut self.servers[f];
        let accept_id = s.control_id();
        let t = s
            .from_ehr
            .exchange(sink, &mut self.rng, t, &order, |m, at| {
                clinical::order_accept(m, &accept_id, at)
            });
        let t = t + self.rng.range(20_000_000, 200_000_000);
        let id = s.control_id();
        let event = clinical::delivery_started(&id, t, inf, library, &s.app, &self.ehr);
        self.ehr_sent += 1;
        let ack_id = format!("EHR{:08}", self.ehr_sent);
        s.to_ehr.exchange(sink, &mut self.rng, t, &event, |m, at| {
            clinical::ack(m, &ack_id, at)
        })
    }

    /// The server reports `inf` after `minutes` of delivery (PCD-01).
    pub fn report<W: Write>(
        &mut self,
        sink: &mut Sink<W>,
        f: usize,
        inf: &Infusion,
        minutes: f64,
        t: u64,
    ) -> u64 {
        let s = &mut self.servers[f];
        let id = s.control_id();
        let data = clinical::device_data(&id, t, inf, minutes, &s.app, &self.ehr, false);
        self.ehr_sent += 1;
        let ack_id = format!("EHR{:08}", self.ehr_sent);
        s.to_ehr.exchange(sink, &mut self.rng, t, &data, |m, at| {
            clinical::ack(m, &ack_id, at)
        })
    }

    /// The server forwards an occlusion alarm on `inf`'s pump (PCD-04).
    pub fn occlusion<W: Write>(
        &mut self,
        sink: &mut Sink<W>,
        f: usize,
        inf: &Infusion,
        t: u64,
    ) -> u64 {
        let s = &mut self.servers[f];
        let id = s.control_id();
        let alarm = clinical::occlusion_alarm(&id, t, inf, &s.app, &self.manager);
        self.manager_sent += 1;
        let ack_id = format!("ACM{:08}", self.manager_sent);
        // PCD-04 asks for an enhanced-mode commit accept (MSH-15 AL, MSH-16 NE).
        s.to_alarms
            .exchange(sink, &mut self.rng, t, &alarm, |m, at| {
                clinical::commit_accept(m, &ack_id, at)
            })
    }
}
