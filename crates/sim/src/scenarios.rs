//! Attack scenarios: what an attacker on the pump VLAN does, and the ground truth a
//! sensor is scored against (window, hosts, protocol, the alert it should raise).
//! The attacker is a compromised biomedical laptop that joins the VLAN by DHCP.

use std::io::Write;
use std::net::Ipv4Addr;

use serde::Serialize;

use crate::clinical::{self, DRUGS, Infusion};
use crate::frame::{self, Endpoint, Flags, Mac};
use crate::mllp::{EHR_APP, HL7_PORT, Interfaces};
use crate::pki::{self, Leaf};
use crate::profiles::{Link, Profile};
use crate::proto;
use crate::rng::Rng;
use crate::sink::Sink;
use crate::tcp::TcpConn;
use crate::tls::{self, Handshake, ServerKey, Session};
use crate::ward::{ALARMS_NAME, DhcpClient, Plan, join, tls_version};

/// A scenario the simulator can play.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// Telnet into a pump's communication module, root shell without a password
    /// (the Hospira LifeCare PCA case, CVE-2015-3459).
    TelnetToPump,
    /// Anonymous FTP upload to a pump (the LifeCare PCA exploit path).
    FtpUploadToPump,
    /// A compromised pump scans the EHR / interface engine (half-open SYN scan).
    PumpPivotToEhr,
    /// A compromised pump sends 1.5 MB to a host on the internet.
    ExfiltrationToInternet,
    /// A device with a pump's MAC but another DHCP fingerprint joins the VLAN.
    RogueDeviceClonedMac,
    /// A device nobody inventoried (a Raspberry Pi) joins the pump VLAN.
    NewUnknownDevice,
    /// A SYN flood against a pump server.
    DosOnPumpServer,
    /// A host that is not the pump server pushes a drug library to a pump
    /// (cf. CVE-2014-5406: libraries accepted without authentication).
    DruglibPushFromUnknownHost,
    /// A pump forwards an alarm over TLS 1.2 to the alarm manager, whose certificate
    /// expired before the capture; the pump does not check and carries on.
    ExpiredServerCertificate,
    /// The biomed workstation opens a pump's web console, which only speaks TLS 1.0 and
    /// picks TLS_RSA_WITH_3DES_EDE_CBC_SHA, with a self-signed factory certificate.
    WeakTlsVersion,
    /// The laptop, spoofing the EHR's MSH-3, sends a pump server a PCD-03 order
    /// (RGV^O15) for Dopamine at 60 ug/kg/min, above the library's hard maximum of 25;
    /// the server accepts it (ACK^O15 CA) without checking.
    TamperedPcd03OverHardLimit,
    /// A pump sends its device data (ORU^R01) straight to the EHR in cleartext MLLP,
    /// with the patient's name and birth date (PID-5, PID-7).
    CleartextHl7WithPhi,
}

impl Scenario {
    /// Every scenario implemented so far, in the order `all` plays them.
    pub const ALL: &'static [Scenario] = &[
        Scenario::TelnetToPump,
        Scenario::FtpUploadToPump,
        Scenario::PumpPivotToEhr,
        Scenario::ExfiltrationToInternet,
        Scenario::RogueDeviceClonedMac,
        Scenario::NewUnknownDevice,
        Scenario::DosOnPumpServer,
        Scenario::DruglibPushFromUnknownHost,
        Scenario::ExpiredServerCertificate,
        Scenario::WeakTlsVersion,
        Scenario::TamperedPcd03OverHardLimit,
        Scenario::CleartextHl7WithPhi,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Scenario::TelnetToPump => "telnet_to_pump",
            Scenario::FtpUploadToPump => "ftp_upload_to_pump",
            Scenario::PumpPivotToEhr => "pump_pivot_to_ehr",
            Scenario::ExfiltrationToInternet => "exfiltration_to_internet",
            Scenario::RogueDeviceClonedMac => "rogue_device_cloned_mac",
            Scenario::NewUnknownDevice => "new_unknown_device",
            Scenario::DosOnPumpServer => "dos_on_pump_server",
            Scenario::DruglibPushFromUnknownHost => "druglib_push_from_unknown_host",
            Scenario::ExpiredServerCertificate => "expired_server_certificate",
            Scenario::WeakTlsVersion => "weak_tls_version",
            Scenario::TamperedPcd03OverHardLimit => "tampered_pcd03_over_hard_limit",
            Scenario::CleartextHl7WithPhi => "cleartext_hl7_with_phi",
        }
    }

    pub fn from_name(name: &str) -> Option<Scenario> {
        Scenario::ALL.iter().copied().find(|s| s.name() == name)
    }
}

/// A host in a scenario's truth.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Party {
    /// `None` for a host behind the router (its MAC is not on the captured segment).
    pub mac: Option<String>,
    pub ip: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
}

/// What an HL7 scenario's message says, for scoring content checks.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hl7Evidence {
    /// MSH-9 of the offending message.
    pub message_type: &'static str,
    /// MSH-3 as sent (spoofed or not).
    pub sending_application: &'static str,
    /// The drug ordered (RXG-4-2), its rate (RXG-15), unit and library hard maximum.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drug: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ordered_rate: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate_unit: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hard_max: Option<f64>,
    /// The answer the receiver gave (e.g. `ACK^O15 CA`).
    pub answer: &'static str,
    /// Fields carrying PHI in clear (e.g. `PID-5`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub phi_fields: Vec<&'static str>,
}

/// One played scenario, as the truth file lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScenarioTruth {
    pub name: &'static str,
    /// RFC 3339 window of the attack traffic.
    pub start: String,
    pub end: String,
    pub attacker: Party,
    pub target: Party,
    pub protocol: &'static str,
    pub port: u16,
    /// The alert kind a sensor should raise.
    pub expected_alert: &'static str,
    /// Further alerts the same traffic should raise.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub also_expected_alerts: Vec<&'static str>,
    pub severity: &'static str,
    pub description: &'static str,
    /// HL7 scenarios: what the message says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hl7: Option<Hl7Evidence>,
}

/// RFC 3339 of epoch nanoseconds.
pub(crate) fn rfc3339(ns: u64) -> String {
    jiff::Timestamp::from_nanosecond(i128::from(ns))
        .map_or_else(|_| ns.to_string(), |t| format!("{t:.6}"))
}

pub(crate) fn mac_text(m: &Mac) -> String {
    m.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// The attacker and its target, for one scenario.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Parties<'a> {
    pub attacker: (Mac, Ipv4Addr, &'a str),
    pub target: (Mac, Ipv4Addr, &'a str),
}

impl Parties<'_> {
    fn truth(&self) -> (Party, Party) {
        let party = |(mac, ip, name): (Mac, Ipv4Addr, &str)| Party {
            mac: Some(mac_text(&mac)),
            ip: ip.to_string(),
            hostname: Some(name.to_owned()),
        };
        (party(self.attacker), party(self.target))
    }
}

/// Who is on stage for a scenario.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cast<'a> {
    pub plan: &'a Plan,
    /// The compromised biomed laptop.
    pub laptop: (Mac, Ipv4Addr, &'a str),
    /// The biomed engineering workstation (not compromised).
    pub workstation: (Mac, Ipv4Addr, &'a str),
    /// The pump the scenario is about (target, compromised, or cloned).
    pub pump: (Mac, Ipv4Addr, &'a str),
    /// That pump's server and service port.
    pub server: (Ipv4Addr, u16, &'a str),
    /// That pump's family.
    pub profile: &'a Profile,
    /// Its family's index in [`PROFILES`](crate::profiles::PROFILES).
    pub family: usize,
    /// Its infusion, once it has one.
    pub infusion: Option<&'a Infusion>,
    /// The ward's HL7 applications.
    pub hl7: &'a Interfaces,
}

/// Plays `scenario` from `t`; returns its truth.
pub(crate) fn play<W: Write>(
    sink: &mut Sink<W>,
    scenario: Scenario,
    cast: &Cast<'_>,
    rng: &mut Rng,
    t: u64,
) -> ScenarioTruth {
    let mut truth = play_one(sink, scenario, cast, rng, t);
    // What else the same traffic truly shows, beyond the scenario's point.
    let also: &[&'static str] = match scenario {
        // The upload starts with an anonymous login: cleartext management.
        Scenario::FtpUploadToPump => &["cleartext_management_to_pump"],
        // The console's factory certificate is self-signed.
        Scenario::WeakTlsVersion => &["self_signed_certificate"],
        // The forged order names the patient (PID-5, PID-7) in cleartext.
        Scenario::TamperedPcd03OverHardLimit => &["cleartext_hl7_phi"],
        _ => &[],
    };
    truth.also_expected_alerts.extend_from_slice(also);
    truth
}

fn play_one<W: Write>(
    sink: &mut Sink<W>,
    scenario: Scenario,
    cast: &Cast<'_>,
    rng: &mut Rng,
    t: u64,
) -> ScenarioTruth {
    let outcome = match scenario {
        Scenario::TelnetToPump | Scenario::FtpUploadToPump => {
            let parties = Parties {
                attacker: cast.laptop,
                target: cast.pump,
            };
            return laptop_to_pump(sink, scenario, &parties, rng, t);
        }
        Scenario::PumpPivotToEhr => pivot(sink, cast, rng, t),
        Scenario::ExfiltrationToInternet => exfiltrate(sink, cast, rng, t),
        Scenario::RogueDeviceClonedMac => clone_mac(sink, cast, rng, t),
        Scenario::NewUnknownDevice => new_device(sink, cast, rng, t),
        Scenario::DosOnPumpServer => syn_flood(sink, cast, rng, t),
        Scenario::DruglibPushFromUnknownHost => druglib_push(sink, cast, rng, t),
        Scenario::ExpiredServerCertificate => expired_certificate(sink, cast, rng, t),
        Scenario::WeakTlsVersion => weak_tls(sink, cast, rng, t),
        Scenario::TamperedPcd03OverHardLimit => tampered_order(sink, cast, rng, t),
        Scenario::CleartextHl7WithPhi => phi_in_clear(sink, cast, rng, t),
    };
    ScenarioTruth {
        name: scenario.name(),
        start: rfc3339(t),
        end: rfc3339(outcome.end),
        ..outcome.truth
    }
}

/// What a scenario function reports: its truth (start/end filled in by [`play`]).
struct Outcome {
    end: u64,
    truth: ScenarioTruth,
}

fn party(mac: Option<Mac>, ip: Ipv4Addr, hostname: Option<&str>) -> Party {
    Party {
        mac: mac.map(|m| mac_text(&m)),
        ip: ip.to_string(),
        hostname: hostname.map(str::to_owned),
    }
}

fn outcome(
    end: u64,
    attacker: Party,
    target: Party,
    (protocol, port, expected_alert, severity, description): (
        &'static str,
        u16,
        &'static str,
        &'static str,
        &'static str,
    ),
) -> Outcome {
    Outcome {
        end,
        truth: ScenarioTruth {
            name: "",
            start: String::new(),
            end: String::new(),
            attacker,
            target,
            protocol,
            port,
            expected_alert,
            also_expected_alerts: Vec::new(),
            severity,
            description,
            hl7: None,
        },
    }
}

fn isn(rng: &mut Rng) -> (u32, u32) {
    (rng.next_u64() as u32, rng.next_u64() as u32)
}

/// Half-open SYN scan of the EHR from a pump: RST for closed ports, SYN/ACK (answered
/// by the pump's RST) for open ones.
fn pivot<W: Write>(sink: &mut Sink<W>, cast: &Cast<'_>, rng: &mut Rng, t: u64) -> Outcome {
    let (mac, ip, name) = cast.pump;
    let ehr = cast.plan.ehr;
    let mut t = t;
    let base = rng.range(40_000, 48_000) as u16;
    let rtt = rng.range(800_000, 2_000_000);
    let open = [445u16, 2575];
    for (k, port) in [22u16, 80, 135, 139, 445, 1433, 2575, 3389, 5900]
        .into_iter()
        .enumerate()
    {
        let pump = Endpoint {
            mac,
            ip,
            port: base + k as u16,
        };
        let target = cast.plan.behind(ehr, port);
        sink.flow(true, &pump, &target, "scan");
        let seq = rng.next_u64() as u32;
        let syn = Flags::SYN;
        sink.emit(t, frame::tcp(pump, target, 64, seq, 0, syn, 1_024, &[]));
        if open.contains(&port) {
            let synack = Flags::SYN_ACK;
            sink.emit(
                t + rtt,
                frame::tcp(
                    target,
                    pump,
                    127,
                    rng.next_u64() as u32,
                    seq + 1,
                    synack,
                    64_240,
                    &[],
                ),
            );
            let rst = Flags::RST;
            sink.emit(
                t + rtt + 50_000,
                frame::tcp(pump, target, 64, seq + 1, 0, rst, 0, &[]),
            );
        } else {
            let rst = Flags::RST_ACK;
            sink.emit(
                t + rtt,
                frame::tcp(target, pump, 127, 0, seq + 1, rst, 0, &[]),
            );
        }
        t += 15_000_000;
    }
    outcome(
        t,
        party(Some(mac), ip, Some(name)),
        party(None, ehr, Some("ehr-interface-engine")),
        (
            "tcp",
            2_575,
            "pump_pivot",
            "high",
            "a pump SYN-scans the EHR interface engine (9 ports, 445 and 2575 open)",
        ),
    )
}

/// A pump uploads 1.5 MB to an internet host (TEST-NET-3 address, RFC 5737).
fn exfiltrate<W: Write>(sink: &mut Sink<W>, cast: &Cast<'_>, rng: &mut Rng, t: u64) -> Outcome {
    let (mac, ip, name) = cast.pump;
    let outside = Ipv4Addr::new(203, 0, 113, 45);
    let pump = Endpoint {
        mac,
        ip,
        port: rng.range(49_152, 65_000) as u16,
    };
    let server = cast.plan.behind(outside, 4_444);
    let (mut c, t1) = TcpConn::open(
        sink,
        t,
        pump,
        server,
        isn(rng),
        rng.range(40_000_000, 90_000_000),
        "exfil",
    );
    let mut data = Rng::new(rng.next_u64());
    let bytes: Vec<u8> = (0..1_500_000).map(|_| data.next_u64() as u8).collect();
    let t2 = c.client_sends(sink, t1, &bytes);
    let end = c.close(sink, t2 + 1_000_000);
    outcome(
        end,
        party(Some(mac), ip, Some(name)),
        party(None, outside, None),
        (
            "tcp",
            4_444,
            "pump_to_internet",
            "critical",
            "a pump sends 1.5 MB to an internet host on TCP 4444",
        ),
    )
}

/// How Raspberry Pi OS's dhcpcd introduces itself (options 12, 60, 55).
const PI_HOSTNAME: &str = "raspberrypi";
const PI_VENDOR_CLASS: &str = "dhcpcd-9.4.1:Linux-6.1.21-v8+:aarch64:BCM2835";
const PI_PARAMS: &[u8] = &[1, 121, 33, 3, 6, 12, 15, 26, 28, 42, 51, 54, 58, 59, 119];

/// A Raspberry Pi joins the VLAN by DHCP with `mac` and `ip`; returns when it holds the
/// lease, and the endpoint it then talks from.
fn join_as_pi<W: Write>(
    sink: &mut Sink<W>,
    cast: &Cast<'_>,
    rng: &mut Rng,
    mac: Mac,
    ip: Ipv4Addr,
    t: u64,
) -> (u64, Endpoint) {
    let pi = DhcpClient {
        mac,
        ip,
        hostname: PI_HOSTNAME,
        vendor_class: PI_VENDOR_CLASS,
        params: PI_PARAMS,
    };
    let t1 = join(sink, cast.plan, &pi, rng.next_u64() as u32, t);
    let port = rng.range(32_768, 60_999) as u16;
    (t1, Endpoint { mac, ip, port })
}

/// A Raspberry Pi with a pump's MAC (the pump stays on the VLAN): a DHCP fingerprint
/// that is not the pump's, a new address, then it talks to the pump server.
fn clone_mac<W: Write>(sink: &mut Sink<W>, cast: &Cast<'_>, rng: &mut Rng, t: u64) -> Outcome {
    let (mac, pump_ip, pump_name) = cast.pump;
    let ip = Ipv4Addr::new(10, 20, 9, 88);
    let (t1, me) = join_as_pi(sink, cast, rng, mac, ip, t);
    let server = cast.plan.behind(cast.server.0, cast.server.1);
    let (c, t2) = TcpConn::open(
        sink,
        t1 + 2_000_000_000,
        me,
        server,
        isn(rng),
        1_500_000,
        "clone",
    );
    let end = c.close(sink, t2 + 50_000_000);
    outcome(
        end,
        party(Some(mac), ip, Some(PI_HOSTNAME)),
        party(Some(mac), pump_ip, Some(pump_name)),
        (
            "dhcp",
            67,
            "mac_clone",
            "high",
            "a Linux device uses a pump's MAC with another DHCP fingerprint and address",
        ),
    )
}

/// A Raspberry Pi nobody inventoried joins the pump VLAN and looks around.
fn new_device<W: Write>(sink: &mut Sink<W>, cast: &Cast<'_>, rng: &mut Rng, t: u64) -> Outcome {
    let mut mac = [0xdc, 0xa6, 0x32, 0, 0, 0]; // Raspberry Pi Trading
    mac[3..].copy_from_slice(&rng.next_u64().to_be_bytes()[..3]);
    let ip = Ipv4Addr::new(10, 20, 9, 77);
    let (t1, me) = join_as_pi(sink, cast, rng, mac, ip, t);
    let dns = cast.plan.behind(cast.plan.dns, 53);
    sink.flow(false, &me, &dns, "dns");
    let id = rng.next_u64() as u16;
    let name = "raspberrypi.local.hospital.example";
    sink.emit(t1, frame::udp(me, dns, 64, &proto::dns(id, name, None)));
    let end = t1 + 1_500_000;
    sink.emit(
        end,
        frame::udp(
            dns,
            me,
            63,
            &proto::dns(id, name, Some((Ipv4Addr::new(10, 20, 9, 77), 60))),
        ),
    );
    outcome(
        end,
        party(Some(mac), ip, Some(PI_HOSTNAME)),
        party(Some(cast.plan.gateway.mac), cast.plan.gateway.ip, None),
        (
            "dhcp",
            67,
            "new_device_on_pump_segment",
            "medium",
            "an uninventoried Raspberry Pi joins the pump VLAN",
        ),
    )
}

/// 3,000 SYNs in 3 s from the laptop to a pump server; the server answers the first
/// 200, then its backlog is full. No handshake completes.
fn syn_flood<W: Write>(sink: &mut Sink<W>, cast: &Cast<'_>, rng: &mut Rng, t: u64) -> Outcome {
    let (lmac, lip, lname) = cast.laptop;
    let server = cast.plan.behind(cast.server.0, cast.server.1);
    let mut end = t;
    for k in 0..3_000u16 {
        let me = Endpoint {
            mac: lmac,
            ip: lip,
            port: 10_000 + k,
        };
        sink.flow(true, &me, &server, "dos");
        let ts = t + u64::from(k) * 1_000_000;
        let seq = rng.next_u64() as u32;
        let syn = Flags::SYN;
        sink.emit(ts, frame::tcp(me, server, 64, seq, 0, syn, 1_024, &[]));
        if k < 200 {
            let synack = Flags::SYN_ACK;
            sink.emit(
                ts + 1_000_000,
                frame::tcp(
                    server,
                    me,
                    63,
                    rng.next_u64() as u32,
                    seq + 1,
                    synack,
                    64_240,
                    &[],
                ),
            );
        }
        end = ts + 1_000_000;
    }
    outcome(
        end,
        party(Some(lmac), lip, Some(lname)),
        party(None, cast.server.0, Some(cast.server.2)),
        (
            "tcp",
            cast.server.1,
            "dos",
            "high",
            "a SYN flood (3,000 SYNs in 3 s) against a pump server",
        ),
    )
}

/// The laptop pushes a 64 KB "drug library" to a pump over its family's own protocol
/// (the pump's service port), as only the pump server should.
fn druglib_push<W: Write>(sink: &mut Sink<W>, cast: &Cast<'_>, rng: &mut Rng, t: u64) -> Outcome {
    let (lmac, lip, lname) = cast.laptop;
    let (pmac, pip, pname) = cast.pump;
    let p = cast.profile;
    sink.emit(t, frame::arp((lmac, lip), ([0; 6], pip), false));
    sink.emit(t + 300_000, frame::arp((pmac, pip), (lmac, lip), true));
    let laptop = Endpoint {
        mac: lmac,
        ip: lip,
        port: rng.range(49_152, 65_000) as u16,
    };
    let pump = Endpoint {
        mac: pmac,
        ip: pip,
        port: p.server_port,
    };
    let mut lib = Rng::new(rng.next_u64());
    let body: Vec<u8> = (0..65_536).map(|_| lib.next_u64() as u8).collect();
    let (head, reply): (Vec<u8>, &[u8]) = match p.link {
        Link::Proprietary { magic } => (
            format!("{magic} PUSHLIB version=UNSIGNED-0001 bytes={}\r\n", body.len()).into_bytes(),
            b"OK LIB INSTALLED\r\n",
        ),
        Link::Http => (
            format!(
                "PUT /api/druglibrary HTTP/1.1\r\nHost: {pip}\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\n\r\n",
                body.len()
            )
            .into_bytes(),
            b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n",
        ),
    };
    // A TLS family's pump listens with TLS too, presenting its factory certificate.
    let factory = match tls_version(p) {
        Some(_) => pki::web_console_certificate(p.vendor, p.model).ok(),
        None => None,
    };
    let chain = factory.map(|c| vec![c]);
    let hs = tls_version(p)
        .zip(chain.as_deref())
        .map(|(version, chain)| Handshake {
            version,
            sni: None,
            chain,
            key: ServerKey::Rsa2048,
        });
    let rtt = rng.range(300_000, 900_000);
    let (mut c, t1) = Session::open(
        sink,
        t + 1_000_000,
        laptop,
        pump,
        isn(rng),
        rtt,
        crate::ward::app_name(p),
        hs.as_ref().map(|hs| (hs, rng.fork())),
    );
    let mut push = head;
    push.extend_from_slice(&body);
    let t2 = c.client_sends(sink, t1, &push);
    let t3 = c.server_sends(sink, t2 + 20_000_000, reply);
    let end = c.close(sink, t3 + 1_000_000);
    outcome(
        end,
        party(Some(lmac), lip, Some(lname)),
        party(Some(pmac), pip, Some(pname)),
        (
            match crate::ward::app_name(p) {
                "tls" => "tls",
                "http" => "http",
                _ => "tcp",
            },
            p.server_port,
            "druglib_transfer_from_unknown_host",
            "critical",
            "a laptop, not the pump server, pushes an unsigned drug library to a pump",
        ),
    )
}

/// A pump resolves the alarm manager and forwards an alarm to it over TLS 1.2; the
/// server presents a certificate from the hospital's CA that expired 12 days before
/// the capture started. The pump does not check the validity dates.
fn expired_certificate<W: Write>(
    sink: &mut Sink<W>,
    cast: &Cast<'_>,
    rng: &mut Rng,
    t: u64,
) -> Outcome {
    let (mac, ip, name) = cast.pump;
    let plan = cast.plan;
    let leaf = Leaf {
        common_name: ALARMS_NAME,
        dns_name: ALARMS_NAME,
        valid_since_days: 397 + 12,
        lifetime_days: 397,
    };
    let chain = plan.ca.server_chain(rng, &leaf).unwrap_or_default();
    let pump = Endpoint {
        mac,
        ip,
        port: rng.range(49_152, 65_000) as u16,
    };
    let dns = plan.behind(plan.dns, 53);
    sink.flow(false, &pump, &dns, "dns");
    let id = rng.next_u64() as u16;
    sink.emit(
        t,
        frame::udp(pump, dns, 64, &proto::dns(id, ALARMS_NAME, None)),
    );
    let rtt = rng.range(800_000, 3_000_000);
    let answer = Some((plan.alarms, 300));
    let t1 = t + rtt + 300_000;
    sink.emit(
        t1,
        frame::udp(dns, pump, 63, &proto::dns(id, ALARMS_NAME, answer)),
    );
    let client = Endpoint {
        port: pump.port.wrapping_add(1).max(49_152),
        ..pump
    };
    let server = plan.behind(plan.alarms, 443);
    let hs = Handshake {
        version: tls::Version::Tls12,
        sni: Some(ALARMS_NAME),
        chain: &chain,
        key: ServerKey::Ed25519,
    };
    let (mut c, t2) = Session::open(
        sink,
        t1 + 200_000,
        client,
        server,
        isn(rng),
        rtt,
        "tls",
        Some((&hs, rng.fork())),
    );
    // An alarm as JSON in an HTTP POST, and the manager's 202: sizes only.
    let t3 = c.client_sends(sink, t2, &[0; 412]);
    let t4 = c.server_sends(sink, t3 + 3_000_000, &[0; 96]);
    let end = c.close(sink, t4 + 1_000_000);
    outcome(
        end,
        party(Some(mac), ip, Some(name)),
        party(None, plan.alarms, Some(ALARMS_NAME)),
        (
            "tls",
            443,
            "expired_certificate",
            "medium",
            "the alarm manager presents a certificate that expired 12 days before the capture; the pump accepts it",
        ),
    )
}

/// The biomed workstation opens a pump's web console (HTTPS on 443, by address): the
/// pump's old TLS stack negotiates TLS 1.0 with TLS_RSA_WITH_3DES_EDE_CBC_SHA and sends
/// the self-signed certificate made with its vendor's factory key.
fn weak_tls<W: Write>(sink: &mut Sink<W>, cast: &Cast<'_>, rng: &mut Rng, t: u64) -> Outcome {
    let (wmac, wip, wname) = cast.workstation;
    let (pmac, pip, pname) = cast.pump;
    let p = cast.profile;
    let chain: Vec<Vec<u8>> = pki::web_console_certificate(p.vendor, p.model)
        .into_iter()
        .collect();
    sink.emit(t, frame::arp((wmac, wip), ([0; 6], pip), false));
    sink.emit(t + 300_000, frame::arp((pmac, pip), (wmac, wip), true));
    let workstation = Endpoint {
        mac: wmac,
        ip: wip,
        port: rng.range(49_152, 65_000) as u16,
    };
    let pump = Endpoint {
        mac: pmac,
        ip: pip,
        port: 443,
    };
    let hs = Handshake {
        version: tls::Version::Tls10,
        sni: None,
        chain: &chain,
        key: ServerKey::Rsa2048,
    };
    let rtt = rng.range(300_000, 900_000);
    let (mut c, t1) = Session::open(
        sink,
        t + 1_000_000,
        workstation,
        pump,
        isn(rng),
        rtt,
        "tls",
        Some((&hs, rng.fork())),
    );
    // GET / and the console's status page: sizes only.
    let t2 = c.client_sends(sink, t1, &[0; 318]);
    let t3 = c.server_sends(sink, t2 + 8_000_000, &[0; 5_210]);
    let end = c.close(sink, t3 + 2_000_000_000);
    outcome(
        end,
        party(Some(wmac), wip, Some(wname)),
        party(Some(pmac), pip, Some(pname)),
        (
            "tls",
            443,
            "weak_tls_version",
            "medium",
            "a pump's web console negotiates TLS 1.0 with TLS_RSA_WITH_3DES_EDE_CBC_SHA and a self-signed certificate",
        ),
    )
}

/// Telnet or FTP from the laptop to a pump on the same VLAN.
fn laptop_to_pump<W: Write>(
    sink: &mut Sink<W>,
    scenario: Scenario,
    parties: &Parties<'_>,
    rng: &mut Rng,
    t: u64,
) -> ScenarioTruth {
    // Same VLAN: the attacker ARPs for the pump first.
    let (amac, aip, _) = parties.attacker;
    let (pmac, pip, _) = parties.target;
    sink.emit(t, frame::arp((amac, aip), ([0; 6], pip), false));
    sink.emit(t + 300_000, frame::arp((pmac, pip), (amac, aip), true));
    let t0 = t + 1_000_000;
    let sport = rng.range(49_152, 65_000) as u16;
    let attacker = Endpoint {
        mac: amac,
        ip: aip,
        port: sport,
    };
    let rtt = rng.range(300_000, 900_000);
    let (attacker_party, target_party) = parties.truth();
    let end;
    let (protocol, port, expected_alert, severity, description) = if scenario
        == Scenario::TelnetToPump
    {
        {
            let pump = Endpoint {
                mac: pmac,
                ip: pip,
                port: 23,
            };
            let (mut c, t) = TcpConn::open(sink, t0, attacker, pump, isn(rng), rtt, "telnet");
            // DO TERMINAL-TYPE, DO TERMINAL-SPEED, DO X-DISPLAY-LOCATION, DO NEW-ENVIRON.
            let t = c.server_sends(
                sink,
                t + 2_000_000,
                &[
                    0xff, 0xfd, 0x18, 0xff, 0xfd, 0x20, 0xff, 0xfd, 0x23, 0xff, 0xfd, 0x27,
                ],
            );
            let t = c.client_sends(
                sink,
                t + 1_000_000,
                &[
                    0xff, 0xfc, 0x18, 0xff, 0xfc, 0x20, 0xff, 0xfc, 0x23, 0xff, 0xfc, 0x27,
                ],
            );
            let t = c.server_sends(sink, t + 1_000_000, b"\r\npump-comm-module login: ");
            let t = c.client_sends(sink, t + 900_000_000, b"root\r\n");
            let t = c.server_sends(
                sink,
                t + 5_000_000,
                b"\r\nBusyBox built-in shell (ash)\r\n# ",
            );
            let t = c.client_sends(sink, t + 2_500_000_000, b"cat /etc/passwd\r\n");
            let t = c.server_sends(sink, t + 4_000_000, b"root::0:0:root:/root:/bin/sh\r\n# ");
            let t = c.client_sends(sink, t + 3_000_000_000, b"exit\r\n");
            end = c.close(sink, t + 2_000_000);
            (
                "telnet",
                23,
                "cleartext_management_to_pump",
                "high",
                "root shell over Telnet on a pump's communication module, no password (cf. CVE-2015-3459)",
            )
        }
    } else {
        {
            let pump = Endpoint {
                mac: pmac,
                ip: pip,
                port: 21,
            };
            let (mut c, t) = TcpConn::open(sink, t0, attacker, pump, isn(rng), rtt, "ftp");
            let data_port = rng.range(50_000, 60_000) as u16;
            let o = pip.octets();
            let pasv = format!(
                "227 Entering Passive Mode ({},{},{},{},{},{})\r\n",
                o[0],
                o[1],
                o[2],
                o[3],
                data_port >> 8,
                data_port & 0xff
            );
            let mut t = c.server_sends(sink, t + 3_000_000, b"220 pump-comm FTP server ready\r\n");
            for (cmd, reply) in [
                (
                    &b"USER anonymous\r\n"[..],
                    &b"331 Guest login ok, send your e-mail as password\r\n"[..],
                ),
                (b"PASS biomed@\r\n", b"230 Guest login ok\r\n"),
                (b"TYPE I\r\n", b"200 Type set to I\r\n"),
                (b"PASV\r\n", pasv.as_bytes()),
                (
                    b"STOR /update/commmodule.bin\r\n",
                    b"150 Opening BINARY mode data connection\r\n",
                ),
            ] {
                t = c.client_sends(sink, t + 400_000_000, cmd);
                t = c.server_sends(sink, t + 2_000_000, reply);
            }
            // The upload, on the passive data connection.
            let data_client = Endpoint {
                port: sport.wrapping_add(1).max(49_152),
                ..attacker
            };
            let data_server = Endpoint {
                mac: pmac,
                ip: pip,
                port: data_port,
            };
            let (mut d, td) = TcpConn::open(
                sink,
                t + 1_000_000,
                data_client,
                data_server,
                isn(rng),
                rtt,
                "ftp-data",
            );
            let mut image = Rng::new(rng.next_u64());
            let bytes: Vec<u8> = (0..48_000).map(|_| image.next_u64() as u8).collect();
            let td = d.client_sends(sink, td, &bytes);
            let td = d.close(sink, td + 1_000_000);
            let t = c.server_sends(sink, td + 3_000_000, b"226 Transfer complete\r\n");
            let t = c.client_sends(sink, t + 300_000_000, b"QUIT\r\n");
            let t = c.server_sends(sink, t + 1_000_000, b"221 Goodbye\r\n");
            end = c.close(sink, t + 1_000_000);
            (
                "ftp",
                21,
                "ftp_upload_to_pump",
                "critical",
                "anonymous FTP login to a pump and upload of a communication-module image",
            )
        }
    };
    ScenarioTruth {
        name: scenario.name(),
        start: rfc3339(t),
        end: rfc3339(end),
        attacker: attacker_party,
        target: target_party,
        protocol,
        port,
        expected_alert,
        also_expected_alerts: Vec::new(),
        severity,
        description,
        hl7: None,
    }
}

/// One MLLP exchange on a new connection: `message` from `client`, `answer` back; the
/// client closes. Returns when the close completes.
fn mllp_exchange<W: Write>(
    sink: &mut Sink<W>,
    rng: &mut Rng,
    t: u64,
    (client, server): (Endpoint, Endpoint),
    message: &str,
    answer: impl FnOnce(u64) -> String,
) -> u64 {
    let rtt = rng.range(800_000, 2_500_000);
    let (mut c, t) = TcpConn::open(sink, t, client, server, isn(rng), rtt, "hl7");
    let mut frame = Vec::with_capacity(message.len() + 3);
    pumpguard_hl7::mllp::encode(message.as_bytes(), &mut frame);
    let t = c.client_sends(sink, t, &frame);
    let t = t + rng.range(2_000_000, 8_000_000);
    frame.clear();
    pumpguard_hl7::mllp::encode(answer(t).as_bytes(), &mut frame);
    let t = c.server_sends(sink, t, &frame);
    c.close(sink, t + 50_000_000)
}

/// The laptop sends a pump server an order for Dopamine at 60 ug/kg/min (hard maximum
/// 25) with the EHR's application name in MSH-3; the server accepts it.
fn tampered_order<W: Write>(sink: &mut Sink<W>, cast: &Cast<'_>, rng: &mut Rng, t: u64) -> Outcome {
    let (lmac, lip, lname) = cast.laptop;
    let (pmac, _, _) = cast.pump;
    let (sip, _, sname) = cast.server;
    let dopamine = &DRUGS[0];
    let mut order = Infusion::invent(rng, pmac);
    order.drug = dopamine;
    order.rate = 60.0;
    let server_app = cast.hl7.server_app(cast.family);
    let control_id = format!("EHR{:08}", rng.below(100_000_000));
    let message = clinical::order(&control_id, t, &order, &cast.hl7.ehr, server_app);
    let laptop = Endpoint {
        mac: lmac,
        ip: lip,
        port: rng.range(49_152, 65_000) as u16,
    };
    let server = cast.plan.behind(sip, HL7_PORT);
    let accept_id = format!("PS{}-X{:07}", cast.family, rng.below(10_000_000));
    let end = mllp_exchange(sink, rng, t, (laptop, server), &message, |at| {
        clinical::order_accept(&message, &accept_id, at)
    });
    let mut o = outcome(
        end,
        party(Some(lmac), lip, Some(lname)),
        party(None, sip, Some(sname)),
        (
            "hl7",
            HL7_PORT,
            "pcd03_over_hard_limit",
            "critical",
            "a laptop spoofing the EHR orders Dopamine at 60 ug/kg/min (hard maximum 25) on a pump server, which accepts it",
        ),
    );
    o.truth.also_expected_alerts = vec!["pcd03_unexpected_source"];
    o.truth.hl7 = Some(Hl7Evidence {
        message_type: "RGV^O15^RGV_O15",
        sending_application: EHR_APP,
        drug: Some(dopamine.name),
        ordered_rate: Some(order.rate),
        rate_unit: Some(dopamine.unit.ucum),
        hard_max: Some(dopamine.hard_max),
        answer: "ACK^O15 CA",
        phi_fields: Vec::new(),
    });
    o
}

/// A pump reports its infusion to the EHR itself, in cleartext MLLP with the
/// patient's name and birth date; the EHR acknowledges.
fn phi_in_clear<W: Write>(sink: &mut Sink<W>, cast: &Cast<'_>, rng: &mut Rng, t: u64) -> Outcome {
    let (pmac, pip, pname) = cast.pump;
    let ehr = cast.plan.ehr;
    let invented;
    let inf = match cast.infusion {
        Some(inf) => inf,
        None => {
            invented = Infusion::invent(rng, pmac);
            &invented
        }
    };
    // The pump names itself as the sending application.
    let me = clinical::App {
        name: "PUMP_COMM_MODULE",
        facility: "WARD",
        eui64: clinical::eui64(pmac),
    };
    let control_id = format!("PMP{:07}", rng.below(10_000_000));
    let message = clinical::device_data(&control_id, t, inf, 12.0, &me, &cast.hl7.ehr, true);
    let pump = Endpoint {
        mac: pmac,
        ip: pip,
        port: rng.range(49_152, 65_000) as u16,
    };
    let ack_id = format!("EHR{:08}", rng.below(100_000_000));
    let end = mllp_exchange(
        sink,
        rng,
        t,
        (pump, cast.plan.behind(ehr, HL7_PORT)),
        &message,
        |at| clinical::ack(&message, &ack_id, at),
    );
    let mut o = outcome(
        end,
        party(Some(pmac), pip, Some(pname)),
        party(None, ehr, Some("ehr-interface-engine")),
        (
            "hl7",
            HL7_PORT,
            "cleartext_hl7_phi",
            "high",
            "a pump sends device data with the patient's name and birth date to the EHR in cleartext MLLP over the Wi-Fi VLAN",
        ),
    );
    o.truth.hl7 = Some(Hl7Evidence {
        message_type: "ORU^R01^ORU_R01",
        sending_application: "PUMP_COMM_MODULE",
        drug: None,
        ordered_rate: None,
        rate_unit: None,
        hard_max: None,
        answer: "ACK^R01 AA",
        phi_fields: vec!["PID-5", "PID-7"],
    });
    o
}
