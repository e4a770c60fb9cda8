//! Application payloads of the ward: DHCP (via `dhcproto`), DNS and mDNS (via
//! `simple-dns`), SNMPv2c (BER via `yasna`), NTP, syslog, and the pump-server exchanges
//! of each family's [`Link`].

use std::net::Ipv4Addr;

use dhcproto::v4::{DhcpOption, Flags, Message, MessageType, Opcode, OptionCode};
use dhcproto::{Encodable, Encoder};
use simple_dns::rdata::{A, PTR, RData, SRV, TXT};
use simple_dns::{CLASS, Name, Packet, PacketFlag, Question, ResourceRecord, TYPE};

use crate::profiles::{Link, Profile};

/// What a DHCP message of the ward says.
#[derive(Debug, Clone, Copy)]
pub struct Dhcp<'a> {
    pub kind: MessageType,
    pub xid: u32,
    pub mac: [u8; 6],
    /// Client address (renewals).
    pub ciaddr: Ipv4Addr,
    /// Offered/assigned address (server messages), requested address (client REQUEST).
    pub yiaddr: Ipv4Addr,
    pub server: Ipv4Addr,
    /// DHCP option 60.
    pub vendor_class: &'a str,
    /// DHCP option 55.
    pub params: &'a [u8],
    pub hostname: &'a str,
    pub lease_s: u32,
    pub router: Ipv4Addr,
    pub dns: Ipv4Addr,
}

/// Encodes a DHCP message (RFC 2131/2132).
pub fn dhcp(d: &Dhcp<'_>) -> Vec<u8> {
    let from_server = matches!(d.kind, MessageType::Offer | MessageType::Ack);
    let unspecified = Ipv4Addr::UNSPECIFIED;
    let mut m = Message::new_with_id(
        d.xid,
        d.ciaddr,
        if from_server { d.yiaddr } else { unspecified },
        unspecified,
        unspecified,
        &d.mac,
    );
    m.set_opcode(if from_server {
        Opcode::BootReply
    } else {
        Opcode::BootRequest
    });
    if d.ciaddr.is_unspecified() {
        m.set_flags(Flags::default().set_broadcast());
    }
    let opts = m.opts_mut();
    opts.insert(DhcpOption::MessageType(d.kind));
    if from_server {
        opts.insert(DhcpOption::ServerIdentifier(d.server));
        opts.insert(DhcpOption::AddressLeaseTime(d.lease_s));
        opts.insert(DhcpOption::SubnetMask(Ipv4Addr::new(255, 255, 0, 0)));
        opts.insert(DhcpOption::Router(vec![d.router]));
        opts.insert(DhcpOption::DomainNameServer(vec![d.dns]));
    } else {
        if d.kind == MessageType::Request && d.ciaddr.is_unspecified() {
            opts.insert(DhcpOption::RequestedIpAddress(d.yiaddr));
            opts.insert(DhcpOption::ServerIdentifier(d.server));
        }
        opts.insert(DhcpOption::Hostname(d.hostname.to_owned()));
        opts.insert(DhcpOption::ClassIdentifier(
            d.vendor_class.as_bytes().to_vec(),
        ));
        opts.insert(DhcpOption::ParameterRequestList(
            d.params.iter().map(|&c| OptionCode::from(c)).collect(),
        ));
    }
    let mut out = Vec::with_capacity(320);
    // Encoding a well-formed message into a Vec does not fail.
    let _ = m.encode(&mut Encoder::new(&mut out));
    out
}

/// A DNS A query (recursion desired) or its answer.
pub fn dns(id: u16, name: &str, answer: Option<(Ipv4Addr, u32)>) -> Vec<u8> {
    let mut p = match answer {
        None => Packet::new_query(id),
        Some(_) => Packet::new_reply(id),
    };
    p.set_flags(PacketFlag::RECURSION_DESIRED);
    if answer.is_some() {
        p.set_flags(PacketFlag::RECURSION_AVAILABLE);
    }
    let qname = Name::new_unchecked(name);
    p.questions.push(Question::new(
        qname.clone(),
        TYPE::A.into(),
        CLASS::IN.into(),
        false,
    ));
    if let Some((ip, ttl)) = answer {
        p.answers.push(ResourceRecord::new(
            qname,
            CLASS::IN,
            ttl,
            RData::A(A { address: ip.into() }),
        ));
    }
    p.build_bytes_vec_compressed().unwrap_or_default()
}

/// A status heartbeat and the server's answer.
pub fn heartbeat(p: &Profile, serial: &str, seq: u64, battery: u64) -> (Vec<u8>, Vec<u8>) {
    match p.link {
        Link::Proprietary { magic } => (
            format!(
                "{magic} HB serial={serial} fw={} lib={} seq={seq} state=infusing battery={battery}\r\n",
                p.firmware, p.druglib_version
            )
            .into_bytes(),
            format!("{magic} OK seq={seq}\r\n").into_bytes(),
        ),
        Link::Http => {
            let body = format!(
                "{{\"serial\":\"{serial}\",\"firmware\":\"{}\",\"library\":\"{}\",\"seq\":{seq},\"state\":\"infusing\",\"battery\":{battery}}}",
                p.firmware, p.druglib_version
            );
            (
                format!(
                    "POST /api/pump/status HTTP/1.1\r\nHost: {}\r\nUser-Agent: {}/{}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                    p.server_name,
                    p.vendor_class,
                    p.firmware,
                    body.len()
                )
                .into_bytes(),
                b"HTTP/1.1 204 No Content\r\nServer: pump-server\r\n\r\n".to_vec(),
            )
        }
    }
}

/// A drug-library download request and the response header; `body` bytes follow it.
pub fn druglib_request(p: &Profile, serial: &str) -> (Vec<u8>, Vec<u8>) {
    match p.link {
        Link::Proprietary { magic } => (
            format!("{magic} GETLIB serial={serial} have={}\r\n", p.druglib_version).into_bytes(),
            format!("{magic} LIB version={} bytes={}\r\n", p.druglib_version, p.druglib_bytes).into_bytes(),
        ),
        Link::Http => (
            format!(
                "GET /api/druglibrary/current HTTP/1.1\r\nHost: {}\r\nUser-Agent: {}/{}\r\n\r\n",
                p.server_name, p.vendor_class, p.firmware
            )
            .into_bytes(),
            format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\nETag: \"{}\"\r\n\r\n",
                p.druglib_bytes, p.druglib_version
            )
            .into_bytes(),
        ),
    }
}

/// Seconds from the NTP era (1900) to the Unix epoch.
const NTP_UNIX_OFFSET: u64 = 2_208_988_800;

/// An NTP timestamp (RFC 5905 §6) of epoch nanoseconds.
fn ntp_time(ns: u64) -> [u8; 8] {
    let secs = ns / 1_000_000_000 + NTP_UNIX_OFFSET;
    let frac = ((ns % 1_000_000_000) << 32) / 1_000_000_000;
    let mut out = [0u8; 8];
    out[..4].copy_from_slice(&(secs as u32).to_be_bytes());
    out[4..].copy_from_slice(&(frac as u32).to_be_bytes());
    out
}

/// An NTPv4 client request (mode 3) sent at `sent`, or the server's reply (mode 4,
/// stratum 2) at `now` to a request sent at `sent`.
pub fn ntp(reply: bool, sent: u64, now: u64) -> Vec<u8> {
    let mut p = vec![0u8; 48];
    if reply {
        p[0] = 0x24; // LI 0, version 4, mode 4 (server)
        p[1] = 2; // stratum
        p[2] = 10; // poll 2^10
        p[3] = 0xe9; // precision 2^-23
        p[4..8].copy_from_slice(&0x0000_0120u32.to_be_bytes()); // root delay
        p[8..12].copy_from_slice(&0x0000_0310u32.to_be_bytes()); // root dispersion
        p[12..16].copy_from_slice(&[10, 10, 0, 1]); // reference id: its upstream
        p[16..24].copy_from_slice(&ntp_time(now.saturating_sub(64_000_000_000)));
        p[24..32].copy_from_slice(&ntp_time(sent));
        p[32..40].copy_from_slice(&ntp_time(now - 40_000));
        p[40..48].copy_from_slice(&ntp_time(now - 20_000));
    } else {
        p[0] = 0x23; // LI 0, version 4, mode 3 (client)
        p[2] = 10;
        p[3] = 0xe7;
        p[40..48].copy_from_slice(&ntp_time(sent));
    }
    p
}

/// An RFC 5424 syslog line, facility local0 (16).
pub fn syslog(ns: u64, host: &str, severity: u8, msgid: &str, text: &str) -> String {
    let pri = 16 * 8 + u32::from(severity);
    let time = jiff::Timestamp::from_nanosecond(i128::from(ns))
        .map_or_else(|_| "-".to_owned(), |t| format!("{t:.3}"));
    format!("<{pri}>1 {time} {host} pumpd - {msgid} - {text}")
}

/// What an SNMP agent of the ward reports about itself (the MIB-II system group).
#[derive(Debug, Clone, Copy)]
pub struct SnmpSystem<'a> {
    pub descr: &'a str,
    /// Hundredths of a second since the agent started.
    pub uptime: u32,
    pub name: &'a str,
}

/// sysDescr.0, sysUpTime.0, sysName.0 (RFC 1213).
const SYS_DESCR: [u64; 9] = [1, 3, 6, 1, 2, 1, 1, 1, 0];
const SYS_UPTIME: [u64; 9] = [1, 3, 6, 1, 2, 1, 1, 3, 0];
const SYS_NAME: [u64; 9] = [1, 3, 6, 1, 2, 1, 1, 5, 0];

/// An SNMPv2c message (RFC 1901, RFC 3416): a GetRequest for the three system objects,
/// or, with `answer`, the agent's Response. BER (DER, a subset) via `yasna`.
pub fn snmp(community: &str, request_id: i32, answer: Option<&SnmpSystem<'_>>) -> Vec<u8> {
    use yasna::Tag;
    use yasna::models::ObjectIdentifier;
    // PDU tags: GetRequest-PDU [0], Response-PDU [2]; TimeTicks is [APPLICATION 3].
    let pdu = Tag::context(if answer.is_some() { 2 } else { 0 });
    yasna::construct_der(|w| {
        w.write_sequence(|w| {
            w.next().write_i64(1); // version-2c
            w.next().write_bytes(community.as_bytes());
            w.next().write_tagged_implicit(pdu, |w| {
                w.write_sequence(|w| {
                    w.next().write_i32(request_id);
                    w.next().write_i64(0); // error-status: noError
                    w.next().write_i64(0); // error-index
                    w.next().write_sequence(|w| {
                        for (k, oid) in [SYS_DESCR, SYS_UPTIME, SYS_NAME].iter().enumerate() {
                            w.next().write_sequence(|w| {
                                w.next().write_oid(&ObjectIdentifier::from_slice(oid));
                                let value = w.next();
                                match (answer, k) {
                                    (None, _) => value.write_null(),
                                    (Some(a), 0) => value.write_bytes(a.descr.as_bytes()),
                                    (Some(a), 1) => value
                                        .write_tagged_implicit(Tag::application(3), |w| {
                                            w.write_u32(a.uptime)
                                        }),
                                    (Some(a), _) => value.write_bytes(a.name.as_bytes()),
                                }
                            });
                        }
                    });
                });
            });
        });
    })
}

/// A pump's web console as it advertises it by DNS-SD over mDNS.
#[derive(Debug, Clone, Copy)]
pub struct WebConsole<'a> {
    /// The pump's host name (`<host>.local`) and service instance name.
    pub host: &'a str,
    pub ip: Ipv4Addr,
    pub port: u16,
}

/// The DNS-SD service type browsed for web consoles.
pub const HTTP_SERVICE: &str = "_http._tcp.local";

/// An mDNS query for `_http._tcp.local` PTR records (RFC 6762 §5, RFC 6763 §4):
/// id 0, no flags.
pub fn mdns_query() -> Vec<u8> {
    let mut p = Packet::new_query(0);
    p.questions.push(Question::new(
        Name::new_unchecked(HTTP_SERVICE),
        TYPE::PTR.into(),
        CLASS::IN.into(),
        false,
    ));
    p.build_bytes_vec_compressed().unwrap_or_default()
}

/// An mDNS response (an answer or an unsolicited announcement, RFC 6762 §6, §8.3):
/// the shared PTR record as answer, the unique SRV, TXT and A records (cache-flush
/// bit set) as additional records, with the TTLs RFC 6762 §10 recommends.
pub fn mdns_announcement(c: &WebConsole<'_>) -> Vec<u8> {
    let instance = format!("{}.{HTTP_SERVICE}", c.host);
    let target = format!("{}.local", c.host);
    let mut p = Packet::new_reply(0);
    p.set_flags(PacketFlag::AUTHORITATIVE_ANSWER);
    p.answers.push(ResourceRecord::new(
        Name::new_unchecked(HTTP_SERVICE),
        CLASS::IN,
        4_500,
        RData::PTR(PTR(Name::new_unchecked(&instance))),
    ));
    let mut txt = TXT::new();
    let _ = txt.add_string("path=/");
    p.additional_records.extend([
        ResourceRecord::new(
            Name::new_unchecked(&instance),
            CLASS::IN,
            120,
            RData::SRV(SRV {
                priority: 0,
                weight: 0,
                port: c.port,
                target: Name::new_unchecked(&target),
            }),
        )
        .with_cache_flush(true),
        ResourceRecord::new(
            Name::new_unchecked(&instance),
            CLASS::IN,
            4_500,
            RData::TXT(txt),
        )
        .with_cache_flush(true),
        ResourceRecord::new(
            Name::new_unchecked(&target),
            CLASS::IN,
            120,
            RData::A(A {
                address: c.ip.into(),
            }),
        )
        .with_cache_flush(true),
    ]);
    p.build_bytes_vec_compressed().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_snmp_get_request_is_ber_encoded() {
        let m = super::snmp("public", 0x1234, None);
        // SEQUENCE, version 1, "public", GetRequest [0] constructed.
        assert_eq!(&m[2..5], &[0x02, 0x01, 0x01]);
        assert_eq!(&m[5..13], b"\x04\x06public");
        assert_eq!(m[13], 0xa0);
        assert_eq!(usize::from(m[1]) + 2, m.len());
    }

    #[test]
    fn an_snmp_response_carries_timeticks() {
        let system = super::SnmpSystem {
            descr: "pump",
            uptime: 4_200,
            name: "P-1",
        };
        let m = super::snmp("public", 7, Some(&system));
        assert_eq!(m[13], 0xa2);
        assert!(m.windows(4).any(|w| w == [0x43, 0x02, 0x10, 0x68]));
    }
}
