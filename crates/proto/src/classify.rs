//! Which application protocol a flow speaks, decided from its first bytes.
//!
//! Content rules come first, so a protocol on a non-standard port is still recognised
//! (HL7 on 6661, TLS on 8443, HTTP on 8080): a TLS handshake record with a hello (or,
//! for a connection picked up late, a run of well-formed TLS record headers), an
//! HTTP method or status line, an MLLP block starting `MSH` or bare `MSH|`, `SSH-`, a
//! Telnet IAC negotiation, an FTP `220` greeting answered by `USER`, the DHCP magic
//! cookie, an SNMP message that decodes, a syslog `<PRI>` with an RFC 3164/5424 header.
//! Ports are only a hint, used for the protocols whose signature is weak on its own:
//! DNS (53) and mDNS (5353) header sanity, NTP (123), syslog (514) `<PRI>` alone, FTP
//! (21) greeting alone, Telnet (23) without negotiation.

use crate::{App, Side, dhcp, dns, ftp, hl7, http, ntp, snmp, ssh, syslog, telnet, tls};

/// Bytes per side inspected before giving up (the flow is then [`App::Unknown`]).
pub const LIMIT: usize = 4096;

/// The outcome of looking at a flow's first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The flow speaks this protocol.
    App(App),
    /// Not decided yet: more bytes may tell.
    NeedMore,
}

/// The ports a rule may use as a hint.
#[derive(Debug, Clone, Copy)]
pub struct Ports {
    pub client: u16,
    pub server: u16,
}

impl Ports {
    fn any(self, p: u16) -> bool {
        self.client == p || self.server == p
    }
}

/// Classifies a TCP flow from the first bytes each side sent (in order, possibly empty).
pub fn stream(ports: Ports, client: &[u8], server: &[u8]) -> Verdict {
    let either = |f: fn(&[u8]) -> bool| f(client) || f(server);
    if either(tls::looks_like) || either(tls::looks_like_records) {
        return Verdict::App(App::Tls);
    }
    if either(ssh::looks_like) {
        return Verdict::App(App::Ssh);
    }
    if http::looks_like(client) || server.starts_with(b"HTTP/1.") {
        return Verdict::App(App::Http);
    }
    if either(hl7::looks_like) {
        return Verdict::App(App::Hl7);
    }
    if either(telnet::looks_like) {
        return Verdict::App(App::Telnet);
    }
    let banner = ftp::looks_like_banner(server);
    if banner && (ftp::looks_like_client(client) || ports.server == 21) {
        return Verdict::App(App::Ftp);
    }
    if ports.server == 21 && ftp::looks_like_client(client) {
        return Verdict::App(App::Ftp);
    }
    if syslog_strong(client) || (ports.server == 514 && syslog::looks_like(client)) {
        return Verdict::App(App::Syslog);
    }
    if ports.server == 53 && dns_over_tcp(client) {
        return Verdict::App(App::Dns);
    }
    let port_hint = || (ports.server == 23).then_some(App::Telnet);
    if client.len() >= LIMIT || server.len() >= LIMIT {
        return Verdict::App(port_hint().unwrap_or(App::Unknown));
    }
    // Too few bytes to rule out a content signature: wait.
    let short = |d: &[u8]| !d.is_empty() && d.len() < 8;
    if short(client) || short(server) {
        return Verdict::NeedMore;
    }
    match port_hint() {
        Some(app) if !client.is_empty() || !server.is_empty() => Verdict::App(app),
        _ => Verdict::NeedMore,
    }
}

/// A 2-byte length then a DNS message (RFC 1035 §4.2.2).
fn dns_over_tcp(data: &[u8]) -> bool {
    let Some(len) = crate::text::be16(data, 0) else {
        return false;
    };
    let msg = data
        .get(2..2 + usize::from(len))
        .unwrap_or(data.get(2..).unwrap_or(&[]));
    len >= 12 && dns::looks_like(msg)
}

/// `<PRI>` followed by an RFC 5424 version or an RFC 3164 timestamp, optionally after
/// an RFC 6587 octet count.
fn syslog_strong(data: &[u8]) -> bool {
    let data = match data.iter().position(|b| !b.is_ascii_digit()) {
        Some(i) if i > 0 && data.get(i) == Some(&b' ') => data.get(i + 1..).unwrap_or(&[]),
        _ => data,
    };
    if !syslog::looks_like(data) {
        return false;
    }
    let Some(end) = data.iter().position(|&b| b == b'>') else {
        return false;
    };
    let rest = data.get(end + 1..).unwrap_or(&[]);
    rest.starts_with(b"1 ")
        || [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ]
        .iter()
        .any(|m| rest.starts_with(m.as_bytes()) && rest.get(3) == Some(&b' '))
}

/// Classifies a UDP flow from one datagram sent by `side`.
pub fn datagram(ports: Ports, _side: Side, data: &[u8]) -> Verdict {
    if dhcp::looks_like(data) && (ports.any(67) || ports.any(68) || data.len() >= 240) {
        return Verdict::App(App::Dhcp);
    }
    if ports.any(dns::MDNS_PORT) && dns::looks_like(data) {
        return Verdict::App(App::Mdns);
    }
    if ports.any(53) && dns::looks_like(data) {
        return Verdict::App(App::Dns);
    }
    if snmp::looks_like(data) {
        return Verdict::App(App::Snmp);
    }
    if syslog_strong(data) || (ports.any(514) && syslog::looks_like(data)) {
        return Verdict::App(App::Syslog);
    }
    if ports.any(123) && ntp::looks_like(data) {
        return Verdict::App(App::Ntp);
    }
    Verdict::NeedMore
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(client: u16, server: u16) -> Ports {
        Ports { client, server }
    }

    #[test]
    fn content_beats_ports() {
        let hello = crate::tls::tests::client_hello_record("x", false);
        assert_eq!(stream(p(50000, 8443), &hello, b""), Verdict::App(App::Tls));
        assert_eq!(stream(p(50000, 23), &hello, b""), Verdict::App(App::Tls));
        assert_eq!(
            stream(p(50000, 8080), b"GET / HTTP/1.1\r\n", b""),
            Verdict::App(App::Http)
        );
        assert_eq!(
            stream(p(50000, 6661), b"\x0bMSH|^~\\&|", b""),
            Verdict::App(App::Hl7)
        );
        assert_eq!(
            stream(p(50000, 2575), b"MSH|^~\\&|", b""),
            Verdict::App(App::Hl7)
        );
        assert_eq!(
            stream(p(50000, 2222), b"", b"SSH-2.0-x\r\n"),
            Verdict::App(App::Ssh)
        );
        assert_eq!(
            stream(p(50000, 2121), b"", b"220 ready\r\n"),
            Verdict::NeedMore
        );
        assert_eq!(
            stream(p(50000, 2121), b"USER bob\r\n", b"220 ready\r\n"),
            Verdict::App(App::Ftp)
        );
        assert_eq!(
            stream(p(50000, 21), b"", b"220 ready\r\n"),
            Verdict::App(App::Ftp)
        );
        assert_eq!(
            stream(p(50000, 2323), b"", b"\xff\xfd\x18"),
            Verdict::App(App::Telnet)
        );
        assert_eq!(
            stream(p(50000, 23), b"", b"Welcome to pump\r\n"),
            Verdict::App(App::Telnet)
        );
        assert_eq!(
            stream(p(50000, 9999), b"", b"Welcome to pump\r\n"),
            Verdict::NeedMore
        );
        assert_eq!(
            stream(p(50000, 9999), &[0u8; LIMIT], b""),
            Verdict::App(App::Unknown)
        );
    }

    #[test]
    fn datagrams() {
        assert_eq!(
            datagram(
                p(40000, 9999),
                Side::Client,
                b"<34>Oct 11 22:14:15 host su: x"
            ),
            Verdict::App(App::Syslog)
        );
        assert_eq!(
            datagram(p(40000, 9999), Side::Client, b"<34>x"),
            Verdict::NeedMore
        );
        assert_eq!(
            datagram(p(40000, 514), Side::Client, b"<34>x"),
            Verdict::App(App::Syslog)
        );
        let q = [
            0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, b'a', 0, 0, 1, 0, 1,
        ];
        assert_eq!(
            datagram(p(40000, 53), Side::Client, &q),
            Verdict::App(App::Dns)
        );
        assert_eq!(
            datagram(p(5353, 5353), Side::Client, &q),
            Verdict::App(App::Mdns)
        );
        assert_eq!(
            datagram(p(40000, 9999), Side::Client, &q),
            Verdict::NeedMore
        );
    }
}
