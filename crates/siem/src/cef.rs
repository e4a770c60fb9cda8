//! ArcSight Common Event Format, version 0: an alert as one CEF line, and our parser of
//! the same grammar (used to check round trips field for field).
//!
//! ```text
//! CEF:0|pumpguard|pumpguard|<version>|<kind>|<sentence>|<severity>|<extension>
//! ```
//!
//! Escaping follows the CEF specification: in the header `\` and `|` are escaped with a
//! backslash; in extension values `\` and `=` are, and line breaks are written `\n` and
//! `\r`. The header may hold no line break at all, so the sentence in the Name field has
//! them replaced by spaces; the exact sentence is in `msg`.
//!
//! Which end is which: the alert's subject (the asset it is about: the pump, the server
//! attacked) is the destination, its peer (the attacker, the internet host) the source,
//! because every detector reports the port on the subject's side.
//!
//! | alert field | extension key |
//! |---|---|
//! | `last_seen` | `rt` and `end` (milliseconds since the epoch: CEF has no finer time) |
//! | `first_seen` | `start` |
//! | `count` | `cnt` |
//! | `id` | `externalId` |
//! | `kind` | `cat` (and the header's signature ID) |
//! | peer IP | `src` (IPv4) or `c6a2` labelled `Source IPv6 Address` |
//! | peer MAC | `smac` |
//! | subject IP | `dst` (IPv4) or `c6a3` labelled `Destination IPv6 Address` |
//! | subject MAC | `dmac` |
//! | `port` | `dpt` |
//! | `proto` | `proto` for a transport (`tcp`, `udp`, …), `app` for anything else |
//! | `evidence.sentence` | `msg` |
//! | `action` | `cs1`, labelled `action` |
//! | `asset_id` | `cs2`, labelled `asset` |
//! | `status` | `cs3`, labelled `status` |
//! | `evidence.flows` | `cs4`, labelled `flows`: keys joined by `;` |
//! | `evidence.facts` | `cs5`, labelled `facts`: `name=value` joined by `;` |
//! | `peer_asset_id` | `cs6`, labelled `peerAsset` |
//!
//! Inside the `cs4` and `cs5` lists, `\`, `;` (and `=` in a fact's name) are escaped
//! with a backslash before the CEF escaping, so any text survives. Absent values are
//! left out; an empty list is left out, and a peer with neither address reads back as
//! no peer.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use jiff::Timestamp;
use pumpguard_model::{
    Alert, AlertEvidence, AlertFact, AlertKind, AlertStatus, Endpoint, MacAddr, Severity,
};

/// The header's Device Vendor.
pub const DEVICE_VENDOR: &str = "pumpguard";
/// The header's Device Product.
pub const DEVICE_PRODUCT: &str = "pumpguard";
/// The header's Device Version: this crate's version.
pub const DEVICE_VERSION: &str = env!("CARGO_PKG_VERSION");

const SOURCE_IPV6_LABEL: &str = "Source IPv6 Address";
const DESTINATION_IPV6_LABEL: &str = "Destination IPv6 Address";

/// Transport names that go in `proto`; every other protocol goes in `app`.
const TRANSPORTS: &[&str] = &["tcp", "udp", "icmp", "icmpv6", "sctp"];

/// CEF severity (0–10) of an alert severity; ECS's `event.severity` uses the same.
pub fn severity_number(severity: Severity) -> u8 {
    match severity {
        Severity::Info => 1,
        Severity::Low => 3,
        Severity::Medium => 5,
        Severity::High => 8,
        Severity::Critical => 10,
    }
}

/// The alert severity of a CEF severity, by CEF's bands (0–3 low, 4–6 medium, 7–8 high,
/// 9–10 very high), with 0–1 as info so that [`severity_number`] reads back exactly.
fn severity_of_number(n: u8) -> Option<Severity> {
    Some(match n {
        0..=1 => Severity::Info,
        2..=3 => Severity::Low,
        4..=6 => Severity::Medium,
        7..=8 => Severity::High,
        9..=10 => Severity::Critical,
        _ => return None,
    })
}

/// The alert as one CEF:0 line (no line break in it, none at its end).
pub fn cef(alert: &Alert) -> String {
    let mut out = String::with_capacity(512);
    out.push_str("CEF:0|");
    for field in [
        DEVICE_VENDOR,
        DEVICE_PRODUCT,
        DEVICE_VERSION,
        alert.kind.as_str(),
        &alert.evidence.sentence,
    ] {
        push_header(&mut out, field);
        out.push('|');
    }
    out.push_str(&severity_number(alert.severity).to_string());
    out.push('|');

    let mut ext = Extension {
        out: &mut out,
        first: true,
    };
    ext.push("rt", &alert.last_seen.as_millisecond().to_string());
    ext.push("start", &alert.first_seen.as_millisecond().to_string());
    ext.push("end", &alert.last_seen.as_millisecond().to_string());
    ext.push("cnt", &alert.count.to_string());
    ext.push("externalId", &alert.id.to_string());
    ext.push("cat", alert.kind.as_str());
    if let Some(peer) = &alert.peer {
        match peer.ip {
            Some(IpAddr::V4(ip)) => ext.push("src", &ip.to_string()),
            Some(IpAddr::V6(ip)) => {
                ext.push("c6a2Label", SOURCE_IPV6_LABEL);
                ext.push("c6a2", &ip.to_string());
            }
            None => {}
        }
        if let Some(mac) = peer.mac {
            ext.push("smac", &mac.to_string());
        }
    }
    match alert.subject.ip {
        Some(IpAddr::V4(ip)) => ext.push("dst", &ip.to_string()),
        Some(IpAddr::V6(ip)) => {
            ext.push("c6a3Label", DESTINATION_IPV6_LABEL);
            ext.push("c6a3", &ip.to_string());
        }
        None => {}
    }
    if let Some(mac) = alert.subject.mac {
        ext.push("dmac", &mac.to_string());
    }
    if let Some(port) = alert.port {
        ext.push("dpt", &port.to_string());
    }
    if !alert.proto.is_empty() {
        let key = if TRANSPORTS
            .iter()
            .any(|t| t.eq_ignore_ascii_case(&alert.proto))
        {
            "proto"
        } else {
            "app"
        };
        ext.push(key, &alert.proto);
    }
    ext.push("msg", &alert.evidence.sentence);
    ext.push("cs1Label", "action");
    ext.push("cs1", &alert.action);
    if let Some(asset) = &alert.asset_id {
        ext.push("cs2Label", "asset");
        ext.push("cs2", asset);
    }
    ext.push("cs3Label", "status");
    ext.push("cs3", alert.status.as_str());
    if !alert.evidence.flows.is_empty() {
        let flows: Vec<String> = alert
            .evidence
            .flows
            .iter()
            .map(|f| list_item(f, false))
            .collect();
        ext.push("cs4Label", "flows");
        ext.push("cs4", &flows.join(";"));
    }
    if !alert.evidence.facts.is_empty() {
        let facts: Vec<String> = alert
            .evidence
            .facts
            .iter()
            .map(|f| {
                format!(
                    "{}={}",
                    list_item(&f.name, true),
                    list_item(&f.value, false)
                )
            })
            .collect();
        ext.push("cs5Label", "facts");
        ext.push("cs5", &facts.join(";"));
    }
    if let Some(peer_asset) = &alert.peer_asset_id {
        ext.push("cs6Label", "peerAsset");
        ext.push("cs6", peer_asset);
    }
    out
}

/// A header field: `\` and `|` escaped; line breaks, which the header may not hold,
/// become spaces.
fn push_header(out: &mut String, field: &str) {
    for c in field.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '|' => out.push_str("\\|"),
            '\r' | '\n' => out.push(' '),
            c => out.push(c),
        }
    }
}

struct Extension<'a> {
    out: &'a mut String,
    first: bool,
}

impl Extension<'_> {
    /// `key=value`, the value escaped as the CEF specification says.
    fn push(&mut self, key: &str, value: &str) {
        if !self.first {
            self.out.push(' ');
        }
        self.first = false;
        self.out.push_str(key);
        self.out.push('=');
        for c in value.chars() {
            match c {
                '\\' => self.out.push_str("\\\\"),
                '=' => self.out.push_str("\\="),
                '\n' => self.out.push_str("\\n"),
                '\r' => self.out.push_str("\\r"),
                c => self.out.push(c),
            }
        }
    }
}

/// One item of a `;`-separated list: `\` and `;` escaped, and `=` too in a fact's name.
fn list_item(text: &str, is_name: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c == '\\' || c == ';' || (is_name && c == '=') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A CEF line taken apart: the seven header fields and the extension's values, unescaped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CefRecord {
    pub version: u32,
    pub device_vendor: String,
    pub device_product: String,
    pub device_version: String,
    pub signature_id: String,
    pub name: String,
    /// As written: a number from 0 to 10 in our lines (CEF also allows words).
    pub severity: String,
    pub extension: BTreeMap<String, String>,
}

/// Why a line is not CEF as we write it, or does not describe an alert.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CefError {
    #[error("not a CEF line: it does not start with 'CEF:'")]
    NotCef,
    #[error("CEF version '{0}' is not a number")]
    Version(String),
    #[error("CEF header has {0} of its 7 fields")]
    Header(usize),
    #[error("unknown escape '\\{escape}' at byte {at}")]
    Escape { at: usize, escape: char },
    #[error("backslash at the end of a field")]
    TrailingBackslash,
    #[error("expected key=value at byte {at} of the extension")]
    Extension { at: usize },
    #[error("extension key '{0}' appears twice")]
    DuplicateKey(String),
    #[error("{field}: {why}")]
    Field { field: String, why: String },
}

/// Takes a CEF line apart: header fields split at unescaped `|` and unescaped, then the
/// extension as `key=value` pairs separated by single spaces. A value runs until the
/// next ` key=` (keys are letters, digits and `_`; an `=` inside a value is always
/// escaped), so values may hold spaces.
pub fn parse_cef(line: &str) -> Result<CefRecord, CefError> {
    let rest = line.strip_prefix("CEF:").ok_or(CefError::NotCef)?;
    let base = line.len() - rest.len();
    let mut fields = Vec::with_capacity(7);
    let bytes = rest.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while fields.len() < 7 && i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'|' => {
                fields.push(unescape_header(&rest[start..i], base + start)?);
                i += 1;
                start = i;
            }
            _ => i += 1,
        }
    }
    if fields.len() < 7 {
        return Err(CefError::Header(
            fields.len() + usize::from(start < bytes.len()),
        ));
    }
    let extension = parse_extension(&rest[start..], base + start)?;
    let mut fields = fields.into_iter();
    let mut next = || fields.next().unwrap_or_default();
    let version_text = next();
    let version = version_text
        .parse()
        .map_err(|_| CefError::Version(version_text.clone()))?;
    Ok(CefRecord {
        version,
        device_vendor: next(),
        device_product: next(),
        device_version: next(),
        signature_id: next(),
        name: next(),
        severity: next(),
        extension,
    })
}

fn unescape_header(text: &str, at: usize) -> Result<String, CefError> {
    unescape(text, at, |c| matches!(c, '\\' | '|').then_some(c))
}

fn unescape_value(text: &str, at: usize) -> Result<String, CefError> {
    unescape(text, at, |c| match c {
        '\\' | '=' => Some(c),
        'n' => Some('\n'),
        'r' => Some('\r'),
        _ => None,
    })
}

fn unescape(
    text: &str,
    at: usize,
    escape: impl Fn(char) -> Option<char>,
) -> Result<String, CefError> {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.char_indices();
    while let Some((_, c)) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some((i, e)) => out.push(escape(e).ok_or(CefError::Escape {
                at: at + i - 1,
                escape: e,
            })?),
            None => return Err(CefError::TrailingBackslash),
        }
    }
    Ok(out)
}

fn is_key_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// The length of the key at the start of `bytes` when `=` follows it.
fn key_len(bytes: &[u8]) -> Option<usize> {
    let n = bytes.iter().take_while(|&&b| is_key_byte(b)).count();
    (n > 0 && bytes.get(n) == Some(&b'=')).then_some(n)
}

fn parse_extension(text: &str, at: usize) -> Result<BTreeMap<String, String>, CefError> {
    let mut map = BTreeMap::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let n = key_len(&bytes[i..]).ok_or(CefError::Extension { at: at + i })?;
        let key = &text[i..i + n];
        let value_start = i + n + 1;
        // The value ends at the first unescaped space that a `key=` follows.
        let mut j = value_start;
        let mut end = bytes.len();
        while j < bytes.len() {
            match bytes[j] {
                b'\\' => j += 2,
                b' ' if key_len(&bytes[j + 1..]).is_some() => {
                    end = j;
                    break;
                }
                _ => j += 1,
            }
        }
        let value = unescape_value(&text[value_start..end], at + value_start)?;
        if map.insert(key.to_owned(), value).is_some() {
            return Err(CefError::DuplicateKey(key.to_owned()));
        }
        i = end + 1;
    }
    Ok(map)
}

/// Splits a list at unescaped `sep`, at most `limit` parts, leaving escapes in place.
fn split_unescaped(text: &str, sep: u8, limit: usize) -> Vec<&str> {
    let bytes = text.as_bytes();
    let mut parts = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() && parts.len() + 1 < limit {
        match bytes[i] {
            b'\\' => i += 2,
            b if b == sep => {
                parts.push(&text[start..i]);
                start = i + 1;
                i += 1;
            }
            _ => i += 1,
        }
    }
    parts.push(&text[start..]);
    parts
}

fn unescape_item(text: &str, field: &str) -> Result<String, CefError> {
    unescape(text, 0, |c| matches!(c, '\\' | ';' | '=').then_some(c)).map_err(|e| CefError::Field {
        field: field.to_owned(),
        why: e.to_string(),
    })
}

impl CefRecord {
    /// An extension value by key.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.extension.get(key).map(String::as_str)
    }

    /// The custom string (`cs1`…`cs6`) whose `csNLabel` is `label`.
    pub fn custom(&self, label: &str) -> Option<&str> {
        (1..=6).find_map(|n| {
            (self.get(&format!("cs{n}Label")) == Some(label))
                .then(|| self.get(&format!("cs{n}")))
                .flatten()
        })
    }

    /// The alert this record describes, read back from where [`cef`] puts each field
    /// (the kind from the signature ID, the sentence from `msg`). Times come back in
    /// whole milliseconds.
    pub fn to_alert(&self) -> Result<Alert, CefError> {
        let kind = self
            .signature_id
            .parse::<AlertKind>()
            .map_err(|e| field_error("signature ID", e))?;
        let severity = self
            .severity
            .parse::<u8>()
            .ok()
            .and_then(severity_of_number)
            .ok_or_else(|| {
                field_error("severity", format!("'{}' is not 0 to 10", self.severity))
            })?;
        let status = self
            .custom("status")
            .ok_or_else(|| missing("cs3 (status)"))?
            .parse::<AlertStatus>()
            .map_err(|e| field_error("status", e))?;
        let peer = Endpoint {
            ip: self.ip("src", "c6a2")?,
            mac: self.mac("smac")?,
        };
        let subject = Endpoint {
            ip: self.ip("dst", "c6a3")?,
            mac: self.mac("dmac")?,
        };
        let flows = match self.custom("flows") {
            Some(list) => split_unescaped(list, b';', usize::MAX)
                .into_iter()
                .map(|f| unescape_item(f, "flows"))
                .collect::<Result<_, _>>()?,
            None => Vec::new(),
        };
        let facts = match self.custom("facts") {
            Some(list) => split_unescaped(list, b';', usize::MAX)
                .into_iter()
                .map(|fact| {
                    let parts = split_unescaped(fact, b'=', 2);
                    match parts.as_slice() {
                        [name, value] => Ok(AlertFact {
                            name: unescape_item(name, "facts")?,
                            value: unescape_item(value, "facts")?,
                        }),
                        _ => Err(field_error("facts", format!("'{fact}' is not name=value"))),
                    }
                })
                .collect::<Result<_, _>>()?,
            None => Vec::new(),
        };
        let sentence = self.get("msg").ok_or_else(|| missing("msg"))?.to_owned();
        // Another field with a default (flow ids) may join the evidence; it does not
        // travel in CEF.
        #[allow(clippy::needless_update)]
        let evidence = AlertEvidence {
            flows,
            facts,
            sentence,
            ..AlertEvidence::default()
        };
        Ok(Alert {
            id: self.number("externalId")?,
            kind,
            severity,
            status,
            asset_id: self.custom("asset").map(str::to_owned),
            peer_asset_id: self.custom("peerAsset").map(str::to_owned),
            subject,
            peer: (peer != Endpoint::default()).then_some(peer),
            proto: self
                .get("proto")
                .or_else(|| self.get("app"))
                .unwrap_or_default()
                .to_owned(),
            port: self.get("dpt").map(|_| self.number("dpt")).transpose()?,
            first_seen: self.time("start")?,
            last_seen: self.time("end")?,
            count: self.number("cnt")?,
            evidence,
            action: self
                .custom("action")
                .ok_or_else(|| missing("cs1 (action)"))?
                .to_owned(),
        })
    }

    fn number<T: std::str::FromStr>(&self, key: &str) -> Result<T, CefError>
    where
        T::Err: std::fmt::Display,
    {
        self.get(key)
            .ok_or_else(|| missing(key))?
            .parse()
            .map_err(|e| field_error(key, e))
    }

    fn time(&self, key: &str) -> Result<Timestamp, CefError> {
        Timestamp::from_millisecond(self.number(key)?).map_err(|e| field_error(key, e))
    }

    fn ip(&self, v4: &str, v6: &str) -> Result<Option<IpAddr>, CefError> {
        if let Some(text) = self.get(v4) {
            let ip: Ipv4Addr = text.parse().map_err(|e| field_error(v4, e))?;
            return Ok(Some(ip.into()));
        }
        if let Some(text) = self.get(v6) {
            let ip: Ipv6Addr = text.parse().map_err(|e| field_error(v6, e))?;
            return Ok(Some(ip.into()));
        }
        Ok(None)
    }

    fn mac(&self, key: &str) -> Result<Option<MacAddr>, CefError> {
        self.get(key)
            .map(|text| text.parse().map_err(|e| field_error(key, e)))
            .transpose()
    }
}

fn field_error(field: &str, why: impl std::fmt::Display) -> CefError {
    CefError::Field {
        field: field.to_owned(),
        why: why.to_string(),
    }
}

fn missing(field: &str) -> CefError {
    field_error(field, "missing")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_alerts::{alert, arb_alert, comparable};
    use proptest::prelude::*;

    #[test]
    fn a_line_as_the_specification_writes_it() {
        let a = alert();
        let line = cef(&a);
        assert_eq!(
            line,
            format!(
                "CEF:0|pumpguard|pumpguard|{DEVICE_VERSION}|cleartext_management_to_pump|\
                 Telnet into pump \\| PCA-3 ward=4 C:\\\\ok line two|10|rt=1796000000123 \
                 start=1795999000000 end=1796000000123 cnt=7 externalId=42 \
                 cat=cleartext_management_to_pump src=10.20.0.5 smac=00:1a:01:00:00:09 \
                 dst=10.20.1.17 dmac=00:1a:01:2b:3c:4d dpt=23 app=telnet \
                 msg=Telnet into pump | PCA-3 ward\\=4 C:\\\\ok\\nline two \
                 cs1Label=action cs1=Disable Telnet on the pump cs2Label=asset cs2=PUMP-0017 \
                 cs3Label=status cs3=open cs4Label=flows \
                 cs4=tcp 10.20.0.5 50000 10.20.1.17 23;tcp 10.20.0.5 50001 10.20.1.17 23 \
                 cs5Label=facts cs5=user\\=admin;banner\\=PCA\\\\;3 cs6Label=peerAsset cs6=WS-1"
            )
        );
        assert!(!line.contains('\n'));
    }

    #[test]
    fn reads_back_every_field() {
        let a = alert();
        let r = parse_cef(&cef(&a)).expect("parses");
        assert_eq!(r.version, 0);
        assert_eq!(r.device_vendor, "pumpguard");
        assert_eq!(r.device_product, "pumpguard");
        assert_eq!(r.device_version, DEVICE_VERSION);
        assert_eq!(r.signature_id, "cleartext_management_to_pump");
        assert_eq!(r.name, "Telnet into pump | PCA-3 ward=4 C:\\ok line two");
        assert_eq!(r.severity, "10");
        assert_eq!(r.get("rt"), r.get("end"));
        assert_eq!(r.get("cat"), Some(r.signature_id.as_str()));
        assert_eq!(r.to_alert().expect("an alert"), comparable(&a));
    }

    #[test]
    fn ipv6_ends_use_the_custom_address_fields() {
        let mut a = alert();
        a.subject.ip = Some("fd00::17".parse().expect("ip"));
        a.peer = Some(Endpoint {
            ip: Some("fd00::5".parse().expect("ip")),
            mac: None,
        });
        a.proto = "udp".into();
        let r = parse_cef(&cef(&a)).expect("parses");
        assert_eq!(r.get("c6a3"), Some("fd00::17"));
        assert_eq!(r.get("c6a3Label"), Some("Destination IPv6 Address"));
        assert_eq!(r.get("c6a2"), Some("fd00::5"));
        assert_eq!(r.get("c6a2Label"), Some("Source IPv6 Address"));
        assert_eq!(r.get("proto"), Some("udp"));
        assert_eq!(
            (r.get("src"), r.get("dst"), r.get("app")),
            (None, None, None)
        );
        assert_eq!(r.to_alert().expect("an alert"), comparable(&a));
    }

    #[test]
    fn malformed_lines_are_refused() {
        assert_eq!(parse_cef("LEEF:1.0|x"), Err(CefError::NotCef));
        assert_eq!(parse_cef("CEF:0|a|b|c"), Err(CefError::Header(4)));
        assert_eq!(
            parse_cef("CEF:x|a|b|c|d|e|1|"),
            Err(CefError::Version("x".into()))
        );
        assert_eq!(
            parse_cef("CEF:0|a\\x|b|c|d|e|1|"),
            Err(CefError::Escape { at: 7, escape: 'x' })
        );
        assert_eq!(
            parse_cef("CEF:0|a|b|c|d|e|1| k=v"),
            Err(CefError::Extension { at: 18 })
        );
        assert_eq!(
            parse_cef("CEF:0|a|b|c|d|e|1|k=v k=w"),
            Err(CefError::DuplicateKey("k".into()))
        );
        assert_eq!(
            parse_cef("CEF:0|a|b|c|d|e|1|k=v\\"),
            Err(CefError::TrailingBackslash)
        );
        let r = parse_cef("CEF:0|a|b|c|d|e|1|").expect("no extension");
        assert!(r.extension.is_empty());
        let r = parse_cef("CEF:0|a|b|c|d|e|1|k=  two  spaces  x=|y").expect("spaces");
        assert_eq!(r.get("k"), Some("  two  spaces "));
        assert_eq!(r.get("x"), Some("|y"));
    }

    proptest! {
        #[test]
        fn any_alert_survives_a_round_trip(a in arb_alert()) {
            let line = cef(&a);
            prop_assert!(!line.contains('\n') && !line.contains('\r'));
            let r = parse_cef(&line).map_err(|e| TestCaseError::fail(format!("{e}: {line}")))?;
            prop_assert_eq!(&r.name, &a.evidence.sentence.replace(['\r', '\n'], " "));
            prop_assert_eq!(r.get("msg"), Some(a.evidence.sentence.as_str()));
            prop_assert_eq!(r.get("cat"), Some(a.kind.as_str()));
            prop_assert_eq!(r.get("rt"), r.get("end"));
            let back = r.to_alert().map_err(|e| TestCaseError::fail(format!("{e}: {line}")))?;
            prop_assert_eq!(back, comparable(&a));
        }
    }
}
