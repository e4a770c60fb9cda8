//! DHCPv4 (RFC 2131, options RFC 2132, MUD URL RFC 8520): what a device announces about
//! itself when it asks for an address — hostname, vendor class, parameter request list
//! and the order of its options, which together fingerprint the DHCP client.
//!
//! Our own parser rather than `dhcproto`: dhcproto keeps options in a `BTreeMap`, which
//! loses the order options were sent in (we need it for the fingerprint), and it stops
//! at the first option it cannot decode (e.g. a hostname that is not UTF-8), dropping
//! every option after it. The format is a fixed header and a TLV list, so ours is short.

use std::net::Ipv4Addr;

use crate::ProtoError;
use crate::text::{be32, printable};

/// The magic cookie that starts the options (RFC 2131 §3).
pub const MAGIC_COOKIE: [u8; 4] = [99, 130, 83, 99];
/// Offset of the magic cookie: after the 236-byte BOOTP header.
pub const COOKIE_OFFSET: usize = 236;

/// One DHCP message.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Dhcp {
    /// BOOTP op: 1 request (client → server), 2 reply.
    pub op: u8,
    /// Option 53 as a name (`DISCOVER`, `OFFER`, `REQUEST`, `DECLINE`, `ACK`, `NAK`,
    /// `RELEASE`, `INFORM`, …); `BOOTP` when absent.
    pub message_type: String,
    pub xid: u32,
    /// chaddr, as `aa:bb:cc:dd:ee:ff` for Ethernet (htype 1, hlen 6), else hex.
    pub client_mac: String,
    pub ciaddr: Ipv4Addr,
    pub yiaddr: Ipv4Addr,
    pub siaddr: Ipv4Addr,
    pub giaddr: Ipv4Addr,
    /// Option 12.
    pub hostname: Option<String>,
    /// Option 60.
    pub vendor_class: Option<String>,
    /// Option 55, in the order sent.
    pub parameter_request_list: Vec<u8>,
    /// Option 61 as hex (first byte is the type, 1 for an Ethernet MAC).
    pub client_id: Option<String>,
    /// Option 50.
    pub requested_address: Option<Ipv4Addr>,
    /// Option 54.
    pub server_id: Option<Ipv4Addr>,
    /// Option 1.
    pub subnet_mask: Option<Ipv4Addr>,
    /// Option 3.
    pub routers: Vec<Ipv4Addr>,
    /// Option 6.
    pub dns_servers: Vec<Ipv4Addr>,
    /// Option 15.
    pub domain_name: Option<String>,
    /// Option 51, seconds.
    pub lease_time: Option<u32>,
    /// Option 161 (RFC 8520).
    pub mud_url: Option<String>,
    /// Option 81 (client FQDN), the name part.
    pub client_fqdn: Option<String>,
    /// Option 124 (vendor-identifying vendor class, RFC 3925): enterprise numbers.
    pub vendor_enterprises: Vec<u32>,
    /// Every option code in the order sent (pad and end excluded): with the parameter
    /// request list, the client's fingerprint.
    pub option_codes: Vec<u8>,
}

/// The name of a DHCP message type (option 53).
pub fn message_type_name(t: u8) -> String {
    match t {
        1 => "DISCOVER",
        2 => "OFFER",
        3 => "REQUEST",
        4 => "DECLINE",
        5 => "ACK",
        6 => "NAK",
        7 => "RELEASE",
        8 => "INFORM",
        9 => "FORCERENEW",
        10 => "LEASEQUERY",
        11 => "LEASEUNASSIGNED",
        12 => "LEASEUNKNOWN",
        13 => "LEASEACTIVE",
        other => return format!("TYPE{other}"),
    }
    .to_string()
}

/// True when `data` has a BOOTP header and the DHCP magic cookie.
pub fn looks_like(data: &[u8]) -> bool {
    matches!(data.first(), Some(1 | 2))
        && data.get(COOKIE_OFFSET..COOKIE_OFFSET + 4) == Some(&MAGIC_COOKIE[..])
}

fn ip(b: &[u8], at: usize) -> Ipv4Addr {
    Ipv4Addr::from(be32(b, at).unwrap_or(0))
}

fn ips(v: &[u8]) -> Vec<Ipv4Addr> {
    v.chunks_exact(4)
        .map(|c| Ipv4Addr::new(c[0], c[1], c[2], c[3]))
        .collect()
}

fn one_ip(v: &[u8]) -> Option<Ipv4Addr> {
    ips(v).into_iter().next()
}

/// MAC-style rendering of hardware addresses: colon-separated lower-case hex.
pub(crate) fn colon_hex(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len() * 3);
    for (i, x) in b.iter().enumerate() {
        if i > 0 {
            s.push(':');
        }
        s.push_str(&format!("{x:02x}"));
    }
    s
}

/// Parses one DHCP message (the UDP payload).
pub fn parse(data: &[u8]) -> Result<Dhcp, ProtoError> {
    if data.len() < COOKIE_OFFSET + 4 {
        return Err(ProtoError::Truncated("dhcp"));
    }
    if !looks_like(data) {
        return Err(ProtoError::malformed("dhcp", "no BOOTP op or magic cookie"));
    }
    let op = data.first().copied().unwrap_or(0);
    let htype = data.get(1).copied().unwrap_or(0);
    let hlen = usize::from(data.get(2).copied().unwrap_or(0)).min(16);
    let chaddr = data.get(28..28 + hlen).unwrap_or(&[]);
    let client_mac = if htype == 1 && hlen == 6 {
        colon_hex(chaddr)
    } else {
        hex::encode(chaddr)
    };
    let mut d = Dhcp {
        op,
        message_type: "BOOTP".to_string(),
        xid: be32(data, 4).unwrap_or(0),
        client_mac,
        ciaddr: ip(data, 12),
        yiaddr: ip(data, 16),
        siaddr: ip(data, 20),
        giaddr: ip(data, 24),
        hostname: None,
        vendor_class: None,
        parameter_request_list: Vec::new(),
        client_id: None,
        requested_address: None,
        server_id: None,
        subnet_mask: None,
        routers: Vec::new(),
        dns_servers: Vec::new(),
        domain_name: None,
        lease_time: None,
        mud_url: None,
        client_fqdn: None,
        vendor_enterprises: Vec::new(),
        option_codes: Vec::new(),
    };
    let mut rest = data.get(COOKIE_OFFSET + 4..).unwrap_or(&[]);
    while let Some((&code, tail)) = rest.split_first() {
        match code {
            0 => {
                rest = tail;
                continue;
            }
            255 => break,
            _ => {}
        }
        let Some((&len, tail)) = tail.split_first() else {
            break;
        };
        let len = usize::from(len);
        // A truncated last option is kept as far as it goes: a capture cut short still
        // tells what it can.
        let value = tail.get(..len).unwrap_or(tail);
        rest = tail.get(len..).unwrap_or(&[]);
        d.option_codes.push(code);
        apply(&mut d, code, value);
    }
    Ok(d)
}

fn apply(d: &mut Dhcp, code: u8, v: &[u8]) {
    match code {
        1 => d.subnet_mask = one_ip(v),
        3 => d.routers = ips(v),
        6 => d.dns_servers = ips(v),
        12 => d.hostname = Some(printable(v)),
        15 => d.domain_name = Some(printable(v)),
        50 => d.requested_address = one_ip(v),
        51 => d.lease_time = be32(v, 0),
        53 => {
            if let Some(&t) = v.first() {
                d.message_type = message_type_name(t);
            }
        }
        54 => d.server_id = one_ip(v),
        55 => d.parameter_request_list = v.to_vec(),
        60 => d.vendor_class = Some(printable(v)),
        61 => d.client_id = Some(hex::encode(v)),
        81 => d.client_fqdn = Some(fqdn_name(v)),
        124 => d.vendor_enterprises = enterprises(v),
        161 => d.mud_url = Some(printable(v)),
        _ => {}
    }
}

/// Option 81: flags, two obsolete rcode bytes, then the name — DNS wire format when
/// the E flag (0x04) is set, else ASCII.
fn fqdn_name(v: &[u8]) -> String {
    let flags = v.first().copied().unwrap_or(0);
    let name = v.get(3..).unwrap_or(&[]);
    if flags & 0x04 == 0 {
        return printable(name);
    }
    let mut labels = Vec::new();
    let mut rest = name;
    while let Some((&len, tail)) = rest.split_first() {
        if len == 0 {
            break;
        }
        let len = usize::from(len);
        labels.push(printable(tail.get(..len).unwrap_or(tail)));
        rest = tail.get(len..).unwrap_or(&[]);
    }
    labels.join(".")
}

/// Option 124: (enterprise number u32, data length u8, data) repeated.
fn enterprises(v: &[u8]) -> Vec<u32> {
    let mut out = Vec::new();
    let mut at = 0usize;
    while let Some(e) = be32(v, at) {
        out.push(e);
        let len = usize::from(v.get(at + 4).copied().unwrap_or(0));
        at = at.saturating_add(5).saturating_add(len);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn discover() -> Vec<u8> {
        let mut m = vec![0u8; 236];
        m[0] = 1;
        m[1] = 1;
        m[2] = 6;
        m[4..8].copy_from_slice(&0x1234_5678u32.to_be_bytes());
        m[28..34].copy_from_slice(&[0, 0x1b, 0x21, 1, 2, 3]);
        m.extend_from_slice(&MAGIC_COOKIE);
        m.extend_from_slice(&[53, 1, 1, 12, 4, b'p', b'u', b'm', b'p', 55, 3, 1, 3, 6]);
        m.extend_from_slice(&[0, 161, 5, b'h', b't', b't', b'p', b's', 255]);
        m
    }

    #[test]
    fn discover_fields() {
        let d = parse(&discover()).unwrap();
        assert_eq!(d.message_type, "DISCOVER");
        assert_eq!(d.xid, 0x1234_5678);
        assert_eq!(d.client_mac, "00:1b:21:01:02:03");
        assert_eq!(d.hostname.as_deref(), Some("pump"));
        assert_eq!(d.parameter_request_list, vec![1, 3, 6]);
        assert_eq!(d.mud_url.as_deref(), Some("https"));
        assert_eq!(d.option_codes, vec![53, 12, 55, 161]);
    }

    #[test]
    fn truncated_option_is_kept_partly() {
        let mut m = discover();
        m.truncate(m.len() - 4);
        let d = parse(&m).unwrap();
        assert_eq!(d.mud_url.as_deref(), Some("ht"));
        assert!(parse(&m[..100]).is_err());
    }
}
