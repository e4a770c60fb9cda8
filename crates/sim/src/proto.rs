//! Application payloads of the ward: DHCP (via `dhcproto`), DNS (via `simple-dns`)
//! and the pump-server exchanges of each family's [`Link`].

use std::net::Ipv4Addr;

use dhcproto::v4::{DhcpOption, Flags, Message, MessageType, Opcode, OptionCode};
use dhcproto::{Encodable, Encoder};
use simple_dns::rdata::{A, RData};
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
