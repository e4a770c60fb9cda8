//! Flows: what talked to what, as the sensor summarises a bidirectional IP 5-tuple.

use std::net::IpAddr;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::MacAddr;

/// One bidirectional IP 5-tuple: the client is the side that opened it (the SYN
/// sender, or the first sender seen). Counters add up every session the 5-tuple
/// carried while the sensor watched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowRecord {
    /// `tcp`, `udp`, `icmp`, `icmpv6` or the IP protocol number.
    pub proto: String,
    pub client_ip: IpAddr,
    pub client_port: u16,
    pub server_ip: IpAddr,
    pub server_port: u16,
    pub client_mac: Option<MacAddr>,
    pub server_mac: Option<MacAddr>,
    pub vlan: Option<u16>,
    /// Application protocol found by content (`hl7`, `tls`, `dhcp`, …; `unknown`).
    pub app: String,
    pub packets_to_server: u64,
    pub packets_to_client: u64,
    /// IP bytes (headers included).
    pub bytes_to_server: u64,
    pub bytes_to_client: u64,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    /// TCP connections (or UDP/ICMP activity periods) the 5-tuple carried.
    pub sessions: u64,
    /// The last TCP state seen (`established`, `closed`, `reset`, …; `none` otherwise).
    pub tcp_state: String,
}

impl FlowRecord {
    /// The IP protocol's name as stored.
    pub fn proto_name(proto: u8) -> String {
        match proto {
            6 => "tcp".into(),
            17 => "udp".into(),
            1 => "icmp".into(),
            58 => "icmpv6".into(),
            n => n.to_string(),
        }
    }
}

/// A flow's key as stored: the protocol and both endpoints, the lower endpoint first,
/// so both directions of a 5-tuple have the same key (`udp 10.0.0.1 53 10.0.0.9 5000`).
pub fn flow_key(proto: &str, a: (IpAddr, u16), b: (IpAddr, u16)) -> String {
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    let mut key = String::with_capacity(48);
    key.push_str(proto);
    for (ip, port) in [lo, hi] {
        key.push(' ');
        push_ip(&mut key, ip);
        key.push(' ');
        push_decimal(&mut key, u32::from(port));
    }
    key
}

/// An address as text (what `Display` writes): IPv4 is written here, several times
/// faster than through the formatter, as the store writes two or three per flow.
pub fn ip_text(ip: IpAddr) -> String {
    let mut out = String::with_capacity(15);
    push_ip(&mut out, ip);
    out
}

fn push_ip(out: &mut String, ip: IpAddr) {
    match ip {
        IpAddr::V4(v4) => {
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    out.push('.');
                }
                push_decimal(out, u32::from(octet));
            }
        }
        IpAddr::V6(v6) => {
            use std::fmt::Write;
            let _ = write!(out, "{v6}");
        }
    }
}

fn push_decimal(out: &mut String, mut n: u32) {
    let mut digits = [0u8; 10];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &d in &digits[at..] {
        out.push(char::from(d));
    }
}

impl FlowRecord {
    /// This flow's key (see [`flow_key`]).
    pub fn key(&self) -> String {
        flow_key(
            &self.proto,
            (self.client_ip, self.client_port),
            (self.server_ip, self.server_port),
        )
    }
}

/// Whether an address is on the internet: not private, shared (100.64/10), loopback,
/// link-local, multicast, broadcast, unspecified or reserved (0/8, 240/4), and for IPv6
/// not unique-local or link-local. Detectors (pump to internet) and vulnerability
/// exposure use this one definition.
pub fn is_internet(ip: std::net::IpAddr) -> bool {
    match ip {
        std::net::IpAddr::V4(v4) => {
            let o = v4.octets();
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_multicast()
                || v4.is_broadcast()
                || v4.is_unspecified()
                || (o[0] == 100 && (o[1] & 0xc0) == 64)
                || o[0] == 0
                || o[0] >= 240)
        }
        std::net::IpAddr::V6(v6) => {
            let s = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_multicast()
                || v6.is_unspecified()
                || (s & 0xfe00) == 0xfc00
                || (s & 0xffc0) == 0xfe80)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_addresses_read_as_display_writes_them() {
        let ips: Vec<IpAddr> = [
            "0.0.0.0",
            "10.20.3.45",
            "255.255.255.255",
            "192.168.100.9",
            "::1",
            "fe80::1:2ff:fe03:405",
            "2001:db8::8a2e:370:7334",
        ]
        .iter()
        .map(|s| s.parse().expect("address"))
        .collect();
        for &a in &ips {
            assert_eq!(ip_text(a), a.to_string());
            for &b in &ips {
                for (pa, pb) in [(0u16, 65535u16), (2575, 53), (9, 10)] {
                    let (lo, hi) = if (a, pa) <= (b, pb) {
                        ((a, pa), (b, pb))
                    } else {
                        ((b, pb), (a, pa))
                    };
                    let want = format!("udp {} {} {} {}", lo.0, lo.1, hi.0, hi.1);
                    assert_eq!(flow_key("udp", (a, pa), (b, pb)), want);
                    assert_eq!(flow_key("udp", (b, pb), (a, pa)), want);
                }
            }
        }
    }
}
