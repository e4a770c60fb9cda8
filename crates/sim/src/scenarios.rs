//! Attack scenarios: what an attacker on the pump VLAN does, and the ground truth a
//! sensor is scored against (window, hosts, protocol, the alert it should raise).
//! The attacker is a compromised biomedical laptop that joins the VLAN by DHCP.

use std::io::Write;
use std::net::Ipv4Addr;

use serde::Serialize;

use crate::frame::{self, Endpoint, Mac};
use crate::rng::Rng;
use crate::sink::Sink;
use crate::tcp::TcpConn;

/// A scenario the simulator can play.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// Telnet into a pump's communication module, root shell without a password
    /// (the Hospira LifeCare PCA case, CVE-2015-3459).
    TelnetToPump,
    /// Anonymous FTP upload to a pump (the LifeCare PCA exploit path).
    FtpUploadToPump,
}

impl Scenario {
    /// Every scenario implemented so far, in the order `all` plays them.
    pub const ALL: &'static [Scenario] = &[Scenario::TelnetToPump, Scenario::FtpUploadToPump];

    pub fn name(self) -> &'static str {
        match self {
            Scenario::TelnetToPump => "telnet_to_pump",
            Scenario::FtpUploadToPump => "ftp_upload_to_pump",
        }
    }

    pub fn from_name(name: &str) -> Option<Scenario> {
        Scenario::ALL.iter().copied().find(|s| s.name() == name)
    }
}

/// A host in a scenario's truth.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Party {
    pub mac: String,
    pub ip: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
}

/// One played scenario, as the truth file lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
    pub severity: &'static str,
    pub description: &'static str,
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
            mac: mac_text(&mac),
            ip: ip.to_string(),
            hostname: Some(name.to_owned()),
        };
        (party(self.attacker), party(self.target))
    }
}

/// Plays `scenario` from `t`; returns its truth.
pub(crate) fn play<W: Write>(
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
    let isn = |rng: &mut Rng| (rng.next_u64() as u32, rng.next_u64() as u32);
    let (attacker_party, target_party) = parties.truth();
    let end;
    let (protocol, port, expected_alert, severity, description) = match scenario {
        Scenario::TelnetToPump => {
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
        Scenario::FtpUploadToPump => {
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
        severity,
        description,
    }
}
