//! DNS (RFC 1035) and multicast DNS / DNS-SD (RFC 6762, RFC 6763): the names devices
//! look up and, on mDNS, the names and services they announce about themselves.
//!
//! Our own parser rather than `simple-dns`: simple-dns fails a whole packet when one
//! record or question does not decode (e.g. a query type it does not know), where the
//! sensor wants every record it can read; and it preallocates by the header's counts
//! (up to 65,535 records per section) before reading any, which an attacker controls.
//! Here counts are bounded by the bytes actually present, names by RFC 1035's 255
//! bytes and a pointer-hop limit, and each record's data is read within its RDLENGTH.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::ProtoError;
use crate::text::{be16, be32, printable};

/// The mDNS port.
pub const MDNS_PORT: u16 = 5353;
/// Most records (questions included) kept from one message.
pub const MAX_RECORDS: usize = 256;
const MAX_NAME: usize = 255;
const MAX_HOPS: usize = 32;

/// One DNS or mDNS message.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Dns {
    /// Multicast DNS (port 5353).
    pub mdns: bool,
    pub id: u16,
    /// QR: a response.
    pub response: bool,
    pub opcode: u8,
    /// RCODE (the low 4 bits from the header).
    pub rcode: u8,
    pub authoritative: bool,
    pub truncated: bool,
    pub questions: Vec<Question>,
    pub answers: Vec<Record>,
    pub authorities: Vec<Record>,
    pub additionals: Vec<Record>,
    /// mDNS / DNS-SD service instance names announced or asked about (the targets of
    /// PTR records under a `_service._proto` name, and the owners of SRV and TXT
    /// records), deduplicated in order of appearance.
    pub service_instances: Vec<String>,
}

/// One entry of the question section.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Question {
    pub name: String,
    /// Type mnemonic (`A`, `PTR`…), or `TYPE<n>`.
    pub qtype: String,
    /// mDNS QU bit (unicast response wanted); the class is the low 15 bits.
    pub unicast_response: bool,
}

/// One resource record.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Record {
    pub name: String,
    /// Type mnemonic (`A`, `AAAA`, `PTR`…), or `TYPE<n>`.
    pub rtype: String,
    pub ttl: u32,
    /// mDNS cache-flush bit (top bit of the class).
    pub cache_flush: bool,
    /// The data as text: an address for A/AAAA; a name for PTR/CNAME/NS/DNAME;
    /// `target:port` for SRV; the strings joined by a space for TXT (each quoted when it
    /// holds a space); `cpu os` for HINFO; `preference exchange` for MX; `mname rname
    /// serial` for SOA; hex otherwise.
    pub data: String,
}

/// The mnemonic of a record type.
pub fn type_name(t: u16) -> String {
    let s = match t {
        1 => "A",
        2 => "NS",
        5 => "CNAME",
        6 => "SOA",
        12 => "PTR",
        13 => "HINFO",
        15 => "MX",
        16 => "TXT",
        28 => "AAAA",
        33 => "SRV",
        35 => "NAPTR",
        39 => "DNAME",
        41 => "OPT",
        43 => "DS",
        46 => "RRSIG",
        47 => "NSEC",
        48 => "DNSKEY",
        64 => "SVCB",
        65 => "HTTPS",
        251 => "IXFR",
        252 => "AXFR",
        255 => "ANY",
        257 => "CAA",
        other => return format!("TYPE{other}"),
    };
    s.to_string()
}

/// Header sanity for classification: a plausible opcode, at most a few questions, and
/// section counts the datagram could hold.
pub fn looks_like(data: &[u8]) -> bool {
    let (Some(flags), Some(qd), Some(an), Some(ns), Some(ar)) = (
        be16(data, 2),
        be16(data, 4),
        be16(data, 6),
        be16(data, 8),
        be16(data, 10),
    ) else {
        return false;
    };
    let opcode = (flags >> 11) & 0xf;
    let response = flags & 0x8000 != 0;
    let total = u32::from(qd) + u32::from(an) + u32::from(ns) + u32::from(ar);
    let rest = data.len().saturating_sub(12) as u64;
    matches!(opcode, 0 | 2 | 4 | 5)
        && qd <= 16
        && (qd > 0 || response)
        && total > 0
        // every question takes at least 5 bytes and every record 11
        && u64::from(qd) * 5 + (u64::from(total) - u64::from(qd)) * 11 <= rest
        && parse_with(data, false).is_ok()
}

/// Parses one DNS message (a UDP payload, or a TCP message without its length prefix).
pub fn parse(data: &[u8]) -> Result<Dns, ProtoError> {
    parse_with(data, false)
}

/// Parses one DNS message, marking it as mDNS when `mdns`.
pub fn parse_with(data: &[u8], mdns: bool) -> Result<Dns, ProtoError> {
    let (Some(id), Some(flags), Some(qd), Some(an), Some(ns), Some(ar)) = (
        be16(data, 0),
        be16(data, 2),
        be16(data, 4),
        be16(data, 6),
        be16(data, 8),
        be16(data, 10),
    ) else {
        return Err(ProtoError::Truncated("dns header"));
    };
    let mut d = Dns {
        mdns,
        id,
        response: flags & 0x8000 != 0,
        opcode: ((flags >> 11) & 0xf) as u8,
        rcode: (flags & 0xf) as u8,
        authoritative: flags & 0x0400 != 0,
        truncated: flags & 0x0200 != 0,
        questions: Vec::new(),
        answers: Vec::new(),
        authorities: Vec::new(),
        additionals: Vec::new(),
        service_instances: Vec::new(),
    };
    let mut pos = 12usize;
    let mut kept = 0usize;
    for _ in 0..qd {
        let (name, next) = read_name(data, pos)?;
        let (Some(qtype), Some(qclass)) = (be16(data, next), be16(data, next + 2)) else {
            return Err(ProtoError::Truncated("dns question"));
        };
        pos = next + 4;
        if kept < MAX_RECORDS {
            kept += 1;
            d.questions.push(Question {
                name,
                qtype: type_name(qtype),
                unicast_response: mdns && qclass & 0x8000 != 0,
            });
        }
    }
    // Records: a record that does not decode ends the message, keeping those before it.
    for (count, section) in [(an, 0u8), (ns, 1), (ar, 2)] {
        for _ in 0..count {
            let Ok((record, next)) = read_record(data, pos, mdns) else {
                finish(&mut d);
                return Ok(d);
            };
            pos = next;
            if kept >= MAX_RECORDS {
                continue;
            }
            kept += 1;
            match section {
                0 => d.answers.push(record),
                1 => d.authorities.push(record),
                _ => d.additionals.push(record),
            }
        }
    }
    finish(&mut d);
    Ok(d)
}

fn finish(d: &mut Dns) {
    let mut services = Vec::new();
    let records = d.answers.iter().chain(&d.authorities).chain(&d.additionals);
    for r in records {
        let instance = match r.rtype.as_str() {
            "PTR" if is_service_type(&r.name) => Some(&r.data),
            "SRV" | "TXT" if is_service_instance(&r.name) => Some(&r.name),
            _ => None,
        };
        if let Some(i) = instance
            && !services.contains(i)
        {
            services.push(i.clone());
        }
    }
    d.service_instances = services;
}

/// `_ipp._tcp.local` (but not the DNS-SD enumeration name itself).
fn is_service_type(name: &str) -> bool {
    let mut labels = name.split('.');
    let first = labels.next().unwrap_or("");
    let second = labels.next().unwrap_or("");
    first.starts_with('_')
        && matches!(second, "_tcp" | "_udp")
        && !name.starts_with("_services._dns-sd.")
}

/// `My Pump._ipp._tcp.local`: an instance label followed by a service type.
fn is_service_instance(name: &str) -> bool {
    name.split_once('.')
        .is_some_and(|(first, rest)| !first.starts_with('_') && is_service_type(rest))
}

fn read_record(data: &[u8], pos: usize, mdns: bool) -> Result<(Record, usize), ProtoError> {
    let (name, next) = read_name(data, pos)?;
    let (Some(rtype), Some(class), Some(ttl), Some(rdlen)) = (
        be16(data, next),
        be16(data, next + 2),
        be32(data, next + 4),
        be16(data, next + 8),
    ) else {
        return Err(ProtoError::Truncated("dns record"));
    };
    let start = next + 10;
    let end = start + usize::from(rdlen);
    let Some(rdata) = data.get(start..end) else {
        return Err(ProtoError::Truncated("dns rdata"));
    };
    Ok((
        Record {
            name,
            rtype: type_name(rtype),
            ttl,
            cache_flush: mdns && class & 0x8000 != 0,
            data: render(data, start, rdata, rtype),
        },
        end,
    ))
}

/// Renders record data; names inside it may point anywhere in the message.
fn render(msg: &[u8], start: usize, rdata: &[u8], rtype: u16) -> String {
    let name_at = |at: usize| read_name(msg, at).map(|(n, _)| n).unwrap_or_default();
    match rtype {
        1 if rdata.len() == 4 => Ipv4Addr::new(rdata[0], rdata[1], rdata[2], rdata[3]).to_string(),
        28 => match <[u8; 16]>::try_from(rdata) {
            Ok(b) => Ipv6Addr::from(b).to_string(),
            Err(_) => hex::encode(rdata),
        },
        2 | 5 | 12 | 39 => name_at(start),
        15 => format!("{} {}", be16(rdata, 0).unwrap_or(0), name_at(start + 2)),
        33 => format!("{}:{}", name_at(start + 6), be16(rdata, 4).unwrap_or(0)),
        16 => character_strings(rdata).join(" "),
        13 => character_strings(rdata).join(" "),
        6 => match read_name(msg, start) {
            Ok((mname, next)) => match read_name(msg, next) {
                Ok((rname, next)) => {
                    format!("{mname} {rname} {}", be32(msg, next).unwrap_or(0))
                }
                Err(_) => mname,
            },
            Err(_) => String::new(),
        },
        _ => hex::encode(rdata.get(..256).unwrap_or(rdata)),
    }
}

/// The <character-string>s of TXT and HINFO, each quoted when it holds a space.
fn character_strings(mut rdata: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    while let Some((&len, tail)) = rdata.split_first() {
        let len = usize::from(len);
        let s = printable(tail.get(..len).unwrap_or(tail));
        out.push(if s.contains(' ') {
            format!("\"{s}\"")
        } else {
            s
        });
        rdata = tail.get(len..).unwrap_or(&[]);
        if out.len() >= 64 {
            break;
        }
    }
    out
}

/// Reads a possibly compressed name at `pos`; returns it (dotted, no trailing dot, `.`
/// for the root) and the offset after it in the original position.
fn read_name(data: &[u8], pos: usize) -> Result<(String, usize), ProtoError> {
    let mut name = String::new();
    let mut at = pos;
    let mut after: Option<usize> = None;
    let mut hops = 0;
    let mut wire_len = 0usize;
    loop {
        let Some(&len) = data.get(at) else {
            return Err(ProtoError::Truncated("dns name"));
        };
        match len & 0xc0 {
            0x00 => {
                if len == 0 {
                    let end = after.unwrap_or(at + 1);
                    if name.is_empty() {
                        name.push('.');
                    }
                    return Ok((name, end));
                }
                let l = usize::from(len);
                let Some(label) = data.get(at + 1..at + 1 + l) else {
                    return Err(ProtoError::Truncated("dns label"));
                };
                wire_len += l + 1;
                if wire_len > MAX_NAME {
                    return Err(ProtoError::malformed("dns name", "longer than 255 bytes"));
                }
                if !name.is_empty() {
                    name.push('.');
                }
                for &b in label {
                    match b {
                        b'.' => name.push_str("\\."),
                        0x20..=0x7e => name.push(char::from(b)),
                        _ => name.push_str(&format!("\\{b:03}")),
                    }
                }
                at += 1 + l;
            }
            0xc0 => {
                let Some(&low) = data.get(at + 1) else {
                    return Err(ProtoError::Truncated("dns pointer"));
                };
                hops += 1;
                if hops > MAX_HOPS {
                    return Err(ProtoError::malformed("dns name", "compression loop"));
                }
                if after.is_none() {
                    after = Some(at + 2);
                }
                at = (usize::from(len & 0x3f) << 8) | usize::from(low);
            }
            _ => return Err(ProtoError::malformed("dns name", "reserved label type")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(out: &mut Vec<u8>, n: &str) {
        for l in n.split('.') {
            out.push(l.len() as u8);
            out.extend_from_slice(l.as_bytes());
        }
        out.push(0);
    }

    #[test]
    fn response_with_compression_and_srv() {
        let mut m = vec![0x12, 0x34, 0x84, 0x00, 0, 0, 0, 2, 0, 0, 0, 1];
        // PTR _ipp._tcp.local -> Pump 7._ipp._tcp.local
        let owner = m.len();
        name(&mut m, "_ipp._tcp.local");
        m.extend_from_slice(&[0, 12, 0, 1, 0, 0, 0x11, 0x94]);
        let mut rd = vec![6];
        rd.extend_from_slice(b"Pump 7");
        rd.extend_from_slice(&[0xc0, owner as u8]);
        m.extend_from_slice(&(rd.len() as u16).to_be_bytes());
        let inst = m.len();
        m.extend_from_slice(&rd);
        // SRV Pump 7 -> pump7.local:631
        m.extend_from_slice(&[0xc0, inst as u8, 0, 33, 0x80, 1, 0, 0, 0, 120]);
        let mut srv = vec![0, 0, 0, 0, 0x02, 0x77];
        name(&mut srv, "pump7.local");
        m.extend_from_slice(&(srv.len() as u16).to_be_bytes());
        m.extend_from_slice(&srv);
        // A pump7.local
        name(&mut m, "pump7.local");
        m.extend_from_slice(&[0, 1, 0x80, 1, 0, 0, 0, 120, 0, 4, 10, 0, 0, 7]);
        let d = parse_with(&m, true).unwrap();
        assert!(d.response && d.authoritative);
        assert_eq!(d.answers[0].data, "Pump 7._ipp._tcp.local");
        assert_eq!(d.answers[1].data, "pump7.local:631");
        assert!(d.answers[1].cache_flush);
        assert_eq!(d.additionals[0].data, "10.0.0.7");
        assert_eq!(d.service_instances, vec!["Pump 7._ipp._tcp.local"]);
    }

    #[test]
    fn pointer_loop_is_an_error() {
        let m = [0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1];
        assert!(parse(&m).is_err());
    }
}
