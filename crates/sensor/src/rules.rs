//! Identification rules: what each protocol event says about the devices at either end
//! of its flow, as facts with a source and a confidence (0–100). The numbers rank
//! sources against each other: a device's own DHCP request outranks its OUI, which
//! outranks a role guessed from who it talks to.

use std::net::IpAddr;

use pumpguard_model::{AssetKind, Field};
use pumpguard_proto::{Event, Side};

use crate::fingerprints::{dhcp_vendor_class, is_pump_vendor, is_virtualization, vendor_of_mac};
use crate::identity::{Identity, Mac, Subject, bind, is_unicast};

/// The flow an event came from.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FlowCtx {
    pub client: (IpAddr, u16),
    pub server: (IpAddr, u16),
    /// Who sent the event's bytes.
    pub side: Side,
    pub ts: i64,
}

impl FlowCtx {
    fn sender(&self) -> IpAddr {
        match self.side {
            Side::Client => self.client.0,
            Side::Server => self.server.0,
        }
    }
    fn receiver(&self) -> IpAddr {
        match self.side {
            Side::Client => self.server.0,
            Side::Server => self.client.0,
        }
    }
}

/// A MAC first seen sending: what its OUI says.
pub(crate) fn new_mac(id: &mut Identity, mac: Mac, ts: i64) {
    if let Some(vendor) = vendor_of_mac(&mac) {
        if is_virtualization(vendor) {
            // The NIC of a virtual machine: the hypervisor's vendor, not the device's.
            let role = format!("virtual_machine:{vendor}");
            id.fact(Subject::Mac(mac), Field::Role, &role, "oui", 70, ts);
            return;
        }
        id.fact(Subject::Mac(mac), Field::Vendor, vendor, "oui", 70, ts);
        if is_pump_vendor(vendor) {
            // Most of these vendors' MA-L blocks on a pump network are pumps.
            id.fact(
                Subject::Mac(mac),
                Field::Kind,
                AssetKind::InfusionPump.as_str(),
                "oui",
                50,
                ts,
            );
        }
    }
}

/// An ARP packet: the sender holds its address.
pub(crate) fn arp(id: &mut Identity, sender_mac: Mac, sender_ip: std::net::Ipv4Addr, ts: i64) {
    if !sender_ip.is_unspecified() {
        id.bind(IpAddr::V4(sender_ip), sender_mac, bind::ARP, ts);
    }
}

/// What one event says.
pub(crate) fn event(id: &mut Identity, ctx: &FlowCtx, e: &Event) {
    let ts = ctx.ts;
    match e {
        Event::Dhcp(d) => dhcp(id, ctx, d),
        Event::Dns(d) => dns(id, ctx, d),
        Event::Tls(t) => tls(id, ctx, t),
        Event::Http(h) => http(id, ctx, h),
        Event::Hl7(h) => hl7(id, ctx, h),
        Event::Snmp(s) => snmp(id, ctx, s),
        Event::Ntp(n) if n.mode == 4 && ctx.side == Side::Server => {
            let s = Subject::Ip(ctx.sender());
            id.fact(s, Field::Role, "ntp_server", "ntp.server", 70, ts);
            id.fact(
                s,
                Field::Kind,
                AssetKind::Network.as_str(),
                "ntp.server",
                60,
                ts,
            );
        }
        Event::Ntp(_) => {}
        Event::Syslog(s) => {
            let collector = Subject::Ip(ctx.receiver());
            id.fact(
                collector,
                Field::Role,
                "syslog_collector",
                "syslog.receiver",
                70,
                ts,
            );
            id.fact(
                collector,
                Field::Kind,
                AssetKind::Network.as_str(),
                "syslog.receiver",
                60,
                ts,
            );
            let sender = Subject::Ip(ctx.sender());
            if let Some(fw) = firmware_in(&s.message) {
                id.fact(sender, Field::Firmware, fw, "syslog.message", 60, ts);
            }
            if let Some(h) = &s.hostname
                && h != "-"
                && h.parse::<IpAddr>().is_err()
            {
                id.fact(sender, Field::Hostname, h, "syslog.hostname", 50, ts);
            }
        }
        Event::Telnet(pumpguard_proto::telnet::Telnet::LoginPrompt(_)) => {
            let server = Subject::Ip(ctx.server.0);
            id.fact(server, Field::Role, "telnet_server", "telnet.login", 80, ts);
        }
        Event::Ftp(pumpguard_proto::ftp::Ftp::Banner(_)) => {
            id.fact(
                Subject::Ip(ctx.server.0),
                Field::Role,
                "ftp_server",
                "ftp.banner",
                80,
                ts,
            );
        }
        Event::Ssh(b) if b.from_server => {
            let s = Subject::Ip(ctx.server.0);
            id.fact(s, Field::Role, "ssh_server", "ssh.banner", 80, ts);
            id.fact(s, Field::Os, &b.software, "ssh.banner", 40, ts);
        }
        Event::Telnet(_) | Event::Ftp(_) | Event::Ssh(_) => {}
    }
}

fn dhcp(id: &mut Identity, ctx: &FlowCtx, d: &pumpguard_proto::dhcp::Dhcp) {
    let ts = ctx.ts;
    let Some(mac) = parse_mac(&d.client_mac).filter(is_unicast) else {
        return;
    };
    let client = Subject::Mac(mac);
    match d.message_type.as_str() {
        "DISCOVER" | "REQUEST" | "INFORM" => {
            if let Some(h) = &d.hostname {
                id.fact(client, Field::Hostname, h, "dhcp.option12", 90, ts);
            }
            if let Some(fqdn) = &d.client_fqdn {
                id.fact(client, Field::Hostname, fqdn, "dhcp.option81", 85, ts);
            }
            if let Some(vc) = &d.vendor_class {
                if let Some(class) = dhcp_vendor_class(vc) {
                    let src = "dhcp.option60";
                    if let Some(k) = class.kind {
                        id.fact(client, Field::Kind, k.as_str(), src, 85, ts);
                    }
                    if let Some(v) = class.vendor {
                        id.fact(client, Field::Vendor, v, src, 85, ts);
                    }
                    if let Some(m) = class.model {
                        id.fact(client, Field::Model, m, src, 80, ts);
                    }
                    if let Some(os) = class.os {
                        id.fact(client, Field::Os, os, src, 80, ts);
                    }
                }
                let params: Vec<String> =
                    d.parameter_request_list.iter().map(u8::to_string).collect();
                let fp = format!("55={};60={vc}", params.join(","));
                id.fact(client, Field::DhcpFingerprint, &fp, "dhcp", 90, ts);
            }
            if let Some(url) = &d.mud_url {
                id.fact(client, Field::MudUrl, url, "dhcp.option161", 95, ts);
            }
            if let Some(ip) = d.requested_address {
                id.bind(IpAddr::V4(ip), mac, bind::DHCP_REQUEST, ts);
            }
            if !d.ciaddr.is_unspecified() {
                id.bind(IpAddr::V4(d.ciaddr), mac, bind::DHCP_REQUEST, ts);
            }
        }
        "OFFER" | "ACK" => {
            if d.message_type == "ACK" && !d.yiaddr.is_unspecified() {
                id.bind(IpAddr::V4(d.yiaddr), mac, bind::DHCP_ACK, ts);
            }
            let server = Subject::Ip(d.server_id.map_or(ctx.sender(), IpAddr::V4));
            id.fact(server, Field::Role, "dhcp_server", "dhcp.server", 85, ts);
            id.fact(
                server,
                Field::Kind,
                AssetKind::Network.as_str(),
                "dhcp.server",
                75,
                ts,
            );
            for r in &d.routers {
                let ip = IpAddr::V4(*r);
                id.announce_router(ip);
                id.fact(
                    Subject::Ip(ip),
                    Field::Role,
                    "router",
                    "dhcp.option3",
                    80,
                    ts,
                );
                id.fact(
                    Subject::Ip(ip),
                    Field::Kind,
                    AssetKind::Network.as_str(),
                    "dhcp.option3",
                    75,
                    ts,
                );
            }
            for dns in &d.dns_servers {
                let s = Subject::Ip(IpAddr::V4(*dns));
                id.fact(s, Field::Role, "dns_server", "dhcp.option6", 60, ts);
            }
        }
        _ => {}
    }
}

fn dns(id: &mut Identity, ctx: &FlowCtx, d: &pumpguard_proto::dns::Dns) {
    let ts = ctx.ts;
    if !d.response {
        return;
    }
    if !d.mdns {
        // A unicast DNS response comes from the flow's server.
        let s = Subject::Ip(ctx.server.0);
        id.fact(s, Field::Role, "dns_server", "dns.server", 70, ts);
        id.fact(
            s,
            Field::Kind,
            AssetKind::Network.as_str(),
            "dns.server",
            65,
            ts,
        );
    }
    let (source, confidence) = if d.mdns {
        ("mdns.answer", 85)
    } else {
        ("dns.answer", 70)
    };
    for r in d.answers.iter().chain(&d.additionals) {
        if !matches!(r.rtype.as_str(), "A" | "AAAA") {
            continue;
        }
        let Ok(ip) = r.data.parse::<IpAddr>() else {
            continue;
        };
        let name = r.name.trim_end_matches('.');
        id.fact(
            Subject::Ip(ip),
            Field::Hostname,
            name,
            source,
            confidence,
            ts,
        );
    }
}

fn tls(id: &mut Identity, ctx: &FlowCtx, t: &pumpguard_proto::tls::Tls) {
    use pumpguard_proto::tls::Tls;
    let ts = ctx.ts;
    match t {
        Tls::ClientHello(h) => {
            id.fact(
                Subject::Ip(ctx.client.0),
                Field::TlsFingerprint,
                &h.fingerprint,
                "tls.client_hello",
                80,
                ts,
            );
            if let Some(sni) = &h.sni {
                id.fact(
                    Subject::Ip(ctx.server.0),
                    Field::Hostname,
                    sni,
                    "tls.sni",
                    60,
                    ts,
                );
            }
        }
        Tls::Certificates(chain) => {
            if let Some(leaf) = chain.first() {
                let name = leaf
                    .san_dns
                    .first()
                    .cloned()
                    .or_else(|| common_name(&leaf.subject));
                if let Some(name) = name {
                    let s = Subject::Ip(ctx.server.0);
                    id.fact(s, Field::Hostname, &name, "tls.certificate", 65, ts);
                }
            }
        }
        Tls::ServerHello(_) | Tls::Alert(_) => {}
    }
}

fn http(id: &mut Identity, ctx: &FlowCtx, h: &pumpguard_proto::http::HttpHead) {
    let ts = ctx.ts;
    if !h.request {
        return;
    }
    if let Some(ua) = &h.user_agent {
        // `Product/Version`: when the product is a known device family, the version is
        // its firmware.
        let mut parts = ua.split_whitespace().next().unwrap_or("").splitn(2, '/');
        let (product, version) = (parts.next().unwrap_or(""), parts.next());
        if let (Some(class), Some(version)) = (dhcp_vendor_class(product), version)
            && class.kind == Some(AssetKind::InfusionPump)
        {
            let c = Subject::Ip(ctx.client.0);
            id.fact(c, Field::Firmware, version, "http.user_agent", 70, ts);
            if let Some(m) = class.model {
                id.fact(c, Field::Model, m, "http.user_agent", 70, ts);
            }
        }
    }
    if let Some(host) = &h.host {
        let name = host.rsplit_once(':').map_or(host.as_str(), |(n, p)| {
            if p.bytes().all(|b| b.is_ascii_digit()) {
                n
            } else {
                host.as_str()
            }
        });
        if name.parse::<IpAddr>().is_err() && !name.starts_with('[') {
            id.fact(
                Subject::Ip(ctx.server.0),
                Field::Hostname,
                name,
                "http.host",
                55,
                ts,
            );
        }
    }
}

fn hl7(id: &mut Identity, ctx: &FlowCtx, h: &pumpguard_proto::hl7::Hl7Summary) {
    let ts = ctx.ts;
    // A session may replay both sides' first bytes in one call: the summary says who
    // sent it.
    let (from, to) = if h.from_server {
        (ctx.server.0, ctx.client.0)
    } else {
        (ctx.client.0, ctx.server.0)
    };
    let (sender, receiver) = (Subject::Ip(from), Subject::Ip(to));
    let kind = |k: AssetKind| k.as_str();
    let src = match (h.message_code.as_str(), h.trigger_event.as_str()) {
        ("RGV", "O15") => {
            id.fact(
                sender,
                Field::Kind,
                kind(AssetKind::Ehr),
                "hl7.rgv_o15",
                80,
                ts,
            );
            id.fact(
                receiver,
                Field::Kind,
                kind(AssetKind::PumpServer),
                "hl7.rgv_o15",
                80,
                ts,
            );
            "hl7.rgv_o15"
        }
        ("ORU", "R01" | "R42") => {
            id.fact(
                sender,
                Field::Kind,
                kind(AssetKind::PumpServer),
                "hl7.oru_r01",
                70,
                ts,
            );
            id.fact(
                receiver,
                Field::Kind,
                kind(AssetKind::Ehr),
                "hl7.oru_r01",
                80,
                ts,
            );
            "hl7.oru_r01"
        }
        ("ORU", "R40") => {
            id.fact(
                sender,
                Field::Kind,
                kind(AssetKind::PumpServer),
                "hl7.oru_r40",
                60,
                ts,
            );
            id.fact(
                receiver,
                Field::Kind,
                kind(AssetKind::AlarmManager),
                "hl7.oru_r40",
                85,
                ts,
            );
            "hl7.oru_r40"
        }
        _ => "hl7.msh",
    };
    if !h.sending_application.is_empty() {
        let app = h.sending_application.split('^').next().unwrap_or("");
        if !app.is_empty() {
            id.fact(
                sender,
                Field::Role,
                &format!("hl7_application:{app}"),
                "hl7.msh3",
                60,
                ts,
            );
        }
    }
    // Devices named in the message by an EUI-64 built from their MAC.
    for eui in &h.device_ids {
        if let Some(mac) = mac_of_eui64(eui)
            && id.knows(Subject::Mac(mac))
        {
            let m = Subject::Mac(mac);
            id.fact(m, Field::Eui64, eui, src, 80, ts);
            id.fact(
                m,
                Field::Kind,
                kind(AssetKind::InfusionPump),
                "hl7.device_id",
                75,
                ts,
            );
        }
    }
}

fn snmp(id: &mut Identity, ctx: &FlowCtx, s: &pumpguard_proto::snmp::Snmp) {
    let ts = ctx.ts;
    let sender = Subject::Ip(ctx.sender());
    if s.pdu_type == "Response" {
        id.fact(sender, Field::Role, "snmp_agent", "snmp.response", 70, ts);
        if let Some(name) = &s.sys_name {
            id.fact(sender, Field::Hostname, name, "snmp.sysName", 75, ts);
        }
        if let Some(descr) = &s.sys_descr
            && let Some(fw) = firmware_in(descr)
        {
            id.fact(sender, Field::Firmware, fw, "snmp.sysDescr", 75, ts);
        }
    } else if matches!(
        s.pdu_type.as_str(),
        "GetRequest" | "GetNextRequest" | "GetBulkRequest"
    ) {
        id.fact(sender, Field::Role, "snmp_manager", "snmp.request", 70, ts);
        id.fact(
            sender,
            Field::Kind,
            AssetKind::Workstation.as_str(),
            "snmp.request",
            40,
            ts,
        );
    }
}

/// A flow ended whose client is a pump: its server, on a private address and a port
/// that is not infrastructure, is the pump's server. The vendor only counts when the
/// device turns out to be a pump server (see `Identity::sighting`).
pub(crate) fn pump_client_flow(id: &mut Identity, client: IpAddr, server: (IpAddr, u16), ts: i64) {
    const INFRA: [u16; 9] = [53, 67, 68, 123, 161, 162, 514, 5353, 2575];
    if INFRA.contains(&server.1) || !crate::identity::is_private(&server.0) {
        return;
    }
    if id.kind_of_ip(client) != Some(AssetKind::InfusionPump) {
        return;
    }
    let s = Subject::Ip(server.0);
    id.fact(
        s,
        Field::Kind,
        AssetKind::PumpServer.as_str(),
        "flow.pump_clients",
        75,
        ts,
    );
    if let Some(v) = id.vendor_of_ip(client) {
        id.fact(s, Field::Vendor, &v, "flow.pump_clients", 65, ts);
    }
}

/// `firmware X` / `fw=X` / `firmware: X` in free text.
fn firmware_in(text: &str) -> Option<&str> {
    let lower = text.to_ascii_lowercase();
    for key in ["firmware ", "firmware: ", "firmware=", "fw=", "fw "] {
        if let Some(at) = lower.find(key) {
            let rest = text.get(at + key.len()..)?;
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')))
                .unwrap_or(rest.len());
            let v = rest.get(..end)?.trim_end_matches('.');
            if !v.is_empty() && v.bytes().any(|b| b.is_ascii_digit()) {
                return Some(v);
            }
        }
    }
    None
}

fn common_name(dn: &str) -> Option<String> {
    dn.split(',')
        .map(str::trim)
        .find_map(|rdn| rdn.strip_prefix("CN="))
        .map(str::to_owned)
}

fn parse_mac(text: &str) -> Option<Mac> {
    let mut mac = [0u8; 6];
    let mut parts = text.split([':', '-']);
    for b in &mut mac {
        *b = u8::from_str_radix(parts.next()?, 16).ok()?;
    }
    parts.next().is_none().then_some(mac)
}

/// The MAC an EUI-64 was built from (`OUI ff:fe NIC`, with or without the IPv6
/// universal/local bit flipped).
pub(crate) fn mac_of_eui64(eui: &str) -> Option<Mac> {
    let hex: String = eui.chars().filter(char::is_ascii_hexdigit).collect();
    if hex.len() != 16 {
        return None;
    }
    let mut b = [0u8; 8];
    for (i, byte) in b.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    if b[3] != 0xff || b[4] != 0xfe {
        return None;
    }
    Some([b[0], b[1], b[2], b[5], b[6], b[7]])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn firmware_in_free_text() {
        assert_eq!(
            firmware_in("B. Braun Infusomat communication module, firmware 686E.U"),
            Some("686E.U")
        );
        assert_eq!(
            firmware_in("comm module started fw=8.00.01 mac=58:42"),
            Some("8.00.01")
        );
        assert_eq!(firmware_in("no version here"), None);
    }

    #[test]
    fn eui64_to_mac() {
        assert_eq!(
            mac_of_eui64("001221FFFE183901"),
            Some([0x00, 0x12, 0x21, 0x18, 0x39, 0x01])
        );
        assert_eq!(mac_of_eui64("0012211234183901"), None);
        assert_eq!(
            parse_mac("00:12:21:18:39:01"),
            Some([0x00, 0x12, 0x21, 0x18, 0x39, 0x01])
        );
        assert_eq!(
            common_name("C=US, O=Hospital, CN=alarms.hospital.example").as_deref(),
            Some("alarms.hospital.example")
        );
    }
}
