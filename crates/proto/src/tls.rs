//! TLS (RFC 5246, RFC 8446) handshakes seen in the clear: what a client offers, what a
//! server picks, the certificate chain a TLS ≤ 1.2 server presents, and alerts.
//!
//! [`TlsStream`] reassembles records and handshake messages per direction across TCP
//! segments (a ClientHello split over three segments is one message); `tls-parser`
//! decodes the handshake messages and `x509-parser` the certificates. Extension bodies
//! are read by our own small walkers so the raw values (GREASE included) and their
//! order survive. After ChangeCipherSpec or the first application-data record a
//! direction is encrypted and is no longer parsed.
//!
//! ## Our ClientHello fingerprint (`pg1_…`)
//!
//! Not JA3/JA4 (their code and JA4's licence are not ours). The canonical string is
//! `v=<version>;c=<ciphers>;e=<extensions>;g=<groups>;s=<signature algorithms>;a=<alpn>`
//! where every number is 4 lower-case hex digits, lists are joined by `,`, and:
//! - GREASE values (RFC 8701: `0x?a?a` with both bytes equal) are dropped everywhere;
//! - `version` is the highest non-GREASE `supported_versions` entry, else the legacy
//!   version;
//! - ciphers, groups and signature algorithms keep the client's order (a client's
//!   preference is part of its identity);
//! - extensions are sorted (browsers randomise their order since 2023) and leave out
//!   those whose presence depends on the session rather than the client: server_name
//!   (0; absent when connecting to an address), padding (21; depends on the hello's
//!   length), pre_shared_key (41) and early_data (42; resumption);
//! - ALPN protocols keep their order, joined by `,`, non-printable bytes as `\xNN`.
//!
//! The fingerprint is `pg1_` and the first 24 hex digits (96 bits) of the SHA-256 of
//! that string; [`ClientHello::fingerprint_input`] keeps the string itself.

use sha2::{Digest, Sha256};
use tls_parser::{TlsMessage, TlsMessageHandshake};
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate, X509Error};

use crate::text::{be16, printable};
use crate::{ProtoError, Side};

/// Largest handshake message reassembled; bigger ones are skipped.
pub const MAX_HANDSHAKE: usize = 64 * 1024;
/// Largest record (RFC 8446 §5.2: 2^14 + 256 for ciphertext; 2^14 + 2048 in TLS 1.2).
const MAX_RECORD: usize = (1 << 14) + 2048;
/// Most certificates kept from one chain.
const MAX_CHAIN: usize = 16;

/// What one TLS direction said.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub enum Tls {
    ClientHello(ClientHello),
    ServerHello(ServerHello),
    /// The Certificate message (TLS ≤ 1.2; TLS 1.3 encrypts it).
    Certificates(Vec<Certificate>),
    Alert(Alert),
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ClientHello {
    /// legacy_version, e.g. 0x0303.
    pub legacy_version: u16,
    /// supported_versions (43), as sent.
    pub supported_versions: Vec<u16>,
    /// server_name (0), the first host name.
    pub sni: Option<String>,
    /// application_layer_protocol_negotiation (16).
    pub alpn: Vec<String>,
    pub cipher_suites: Vec<u16>,
    /// Extension types in the order sent.
    pub extensions: Vec<u16>,
    /// supported_groups (10).
    pub supported_groups: Vec<u16>,
    /// signature_algorithms (13).
    pub signature_algorithms: Vec<u16>,
    /// Our fingerprint (see the module documentation).
    pub fingerprint: String,
    /// The canonical string the fingerprint hashes.
    pub fingerprint_input: String,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ServerHello {
    pub legacy_version: u16,
    /// The negotiated version: supported_versions (TLS 1.3) or the legacy version.
    pub version: u16,
    pub cipher_suite: u16,
    pub alpn: Option<String>,
    pub extensions: Vec<u16>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Certificate {
    /// Subject distinguished name, attributes in certificate order (`C=US, O=…, CN=…`).
    pub subject: String,
    pub issuer: String,
    /// Serial number, lower-case hex of its DER content bytes.
    pub serial: String,
    /// notBefore, seconds since the epoch.
    pub not_before: i64,
    /// notAfter, seconds since the epoch.
    pub not_after: i64,
    /// `RSA`, `EC`, `DSA`, `Ed25519`, `Ed448`, or the algorithm OID.
    pub public_key_algorithm: String,
    /// RSA modulus bits, EC field bits; 0 when unknown.
    pub public_key_bits: u32,
    /// Signature algorithm short name (`sha256WithRSAEncryption`…) or OID.
    pub signature_algorithm: String,
    pub san_dns: Vec<String>,
    pub san_ips: Vec<String>,
    /// Issuer equals subject and the certificate's signature verifies with its own key
    /// (or the algorithm cannot be checked here and issuer equals subject).
    pub self_signed: bool,
    /// basicConstraints CA.
    pub is_ca: bool,
    /// SHA-256 of the DER, lower-case hex.
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Alert {
    /// 1 warning, 2 fatal.
    pub level: u8,
    /// RFC 8446 §6 AlertDescription.
    pub description: u8,
    /// Its name (`handshake_failure`, `unknown_ca`…).
    pub name: String,
}

/// True for RFC 8701 GREASE values.
pub fn is_grease(v: u16) -> bool {
    v & 0x0f0f == 0x0a0a && (v >> 8) == (v & 0xff)
}

/// True when `data` starts with a TLS handshake record carrying a ClientHello (or a
/// ServerHello): the classifier's rule.
pub fn looks_like(data: &[u8]) -> bool {
    matches!(data, [0x16, 0x03, 0x00..=0x04, _, _, 0x01 | 0x02, ..])
        && be16(data, 3).is_some_and(|l| l >= 4 && usize::from(l) <= MAX_RECORD)
}

/// True when `data` starts with a run of well-formed TLS record headers: two chained
/// records, or one that ends exactly where `data` does. Recognises a connection picked
/// up after its hellos (a capture that starts mid-handshake or mid-session).
pub fn looks_like_records(data: &[u8]) -> bool {
    let header_ok = |at: usize| {
        matches!(data.get(at..at + 3), Some([20..=23, 3, 1..=4]))
            && be16(data, at + 3).is_some_and(|l| l > 0 && usize::from(l) <= MAX_RECORD)
    };
    if !header_ok(0) {
        return false;
    }
    let next = 5 + usize::from(be16(data, 3).unwrap_or(0));
    next == data.len() || header_ok(next)
}

/// The name of an alert description.
pub fn alert_name(d: u8) -> String {
    let s = match d {
        0 => "close_notify",
        10 => "unexpected_message",
        20 => "bad_record_mac",
        21 => "decryption_failed",
        22 => "record_overflow",
        30 => "decompression_failure",
        40 => "handshake_failure",
        41 => "no_certificate",
        42 => "bad_certificate",
        43 => "unsupported_certificate",
        44 => "certificate_revoked",
        45 => "certificate_expired",
        46 => "certificate_unknown",
        47 => "illegal_parameter",
        48 => "unknown_ca",
        49 => "access_denied",
        50 => "decode_error",
        51 => "decrypt_error",
        60 => "export_restriction",
        70 => "protocol_version",
        71 => "insufficient_security",
        80 => "internal_error",
        86 => "inappropriate_fallback",
        90 => "user_canceled",
        100 => "no_renegotiation",
        109 => "missing_extension",
        110 => "unsupported_extension",
        112 => "unrecognized_name",
        113 => "bad_certificate_status_response",
        115 => "unknown_psk_identity",
        116 => "certificate_required",
        120 => "no_application_protocol",
        other => return format!("alert{other}"),
    };
    s.to_string()
}

/// Reassembles and dissects both directions of one TLS connection.
#[derive(Debug, Default)]
pub struct TlsStream {
    dirs: [Direction; 2],
}

#[derive(Debug, Default)]
struct Direction {
    /// Some bytes of this direction were already read (an SSLv2-compatible
    /// ClientHello can only come first).
    started: bool,
    /// Bytes of the record being read (header included).
    record: Vec<u8>,
    /// Handshake bytes not yet forming a whole message.
    handshake: Vec<u8>,
    /// Handshake bytes still to drop from an over-long message.
    skip: usize,
    /// Encrypted (after ChangeCipherSpec / application data) or desynchronised.
    stopped: bool,
    /// Reading an SSLv2-compatible ClientHello.
    sslv2: bool,
}

impl TlsStream {
    pub fn new() -> TlsStream {
        TlsStream::default()
    }

    /// Feeds the next in-order bytes from `side`.
    pub fn on_data(&mut self, side: Side, data: &[u8], out: &mut Vec<Tls>) {
        let Some(dir) = self.dirs.get_mut(side.index()) else {
            return;
        };
        dir.feed(data, out);
    }

    /// A hole in `side`'s stream: records cannot be found again reliably, so the
    /// direction stops.
    pub fn on_gap(&mut self, side: Side) {
        if let Some(dir) = self.dirs.get_mut(side.index()) {
            dir.record = Vec::new();
            dir.handshake = Vec::new();
            dir.stopped = true;
        }
    }

    /// True when both directions stopped: nothing more to learn.
    pub fn done(&self) -> bool {
        self.dirs.iter().all(|d| d.stopped)
    }
}

impl Direction {
    fn feed(&mut self, mut data: &[u8], out: &mut Vec<Tls>) {
        if self.stopped {
            return;
        }
        if !self.started && !data.is_empty() {
            self.started = true;
            if data.first().is_some_and(|b| b & 0x80 != 0) {
                self.sslv2 = true;
            }
        }
        if self.sslv2 {
            // RFC 6101 appendix E.2 / RFC 5246 appendix E.2: a 2-byte header with the
            // top bit set, then the message.
            while self.record.len() < 2 {
                let Some((&b, rest)) = data.split_first() else {
                    return;
                };
                self.record.push(b);
                data = rest;
            }
            let (hi, lo) = (self.record.first().copied(), self.record.get(1).copied());
            let len = (usize::from(hi.unwrap_or(0) & 0x7f) << 8) | usize::from(lo.unwrap_or(0));
            let total = 2 + len;
            if total > MAX_RECORD {
                self.stop();
                return;
            }
            let take = total.saturating_sub(self.record.len()).min(data.len());
            self.record
                .extend_from_slice(data.get(..take).unwrap_or(&[]));
            data = data.get(take..).unwrap_or(&[]);
            if self.record.len() < total {
                return;
            }
            if let Ok(hello) = parse_sslv2_client_hello(self.record.get(2..).unwrap_or(&[])) {
                out.push(Tls::ClientHello(hello));
            }
            self.record.clear();
            self.sslv2 = false;
        }
        while !data.is_empty() && !self.stopped {
            // Read the header, then the body, of one record.
            let need = if self.record.len() < 5 {
                5 - self.record.len()
            } else {
                let len = usize::from(be16(&self.record, 3).unwrap_or(0));
                (5 + len).saturating_sub(self.record.len())
            };
            let take = need.min(data.len());
            let (head, tail) = data.split_at(take);
            self.record.extend_from_slice(head);
            data = tail;
            if self.record.len() == 5 {
                let ok = matches!(self.record.as_slice(), [20..=24, 3, 0..=4, ..])
                    && usize::from(be16(&self.record, 3).unwrap_or(0)) <= MAX_RECORD;
                if !ok {
                    self.stop();
                    return;
                }
            }
            let len = usize::from(be16(&self.record, 3).unwrap_or(0));
            if self.record.len() >= 5 && self.record.len() == 5 + len {
                let record = std::mem::take(&mut self.record);
                self.on_record(&record, out);
            }
        }
    }

    fn stop(&mut self) {
        self.stopped = true;
        self.sslv2 = false;
        self.record = Vec::new();
        self.handshake = Vec::new();
    }

    fn on_record(&mut self, record: &[u8], out: &mut Vec<Tls>) {
        let body = record.get(5..).unwrap_or(&[]);
        match record.first() {
            Some(20) | Some(23) => self.stop(),
            // A plaintext alert is two bytes with level 1 or 2; anything else is an
            // encrypted alert (after a resumed handshake) and tells nothing.
            Some(21) => {
                if let [level @ (1 | 2), description] = *body {
                    out.push(Tls::Alert(Alert {
                        level,
                        description,
                        name: alert_name(description),
                    }));
                }
            }
            Some(22) => self.on_handshake_bytes(body, out),
            _ => {}
        }
    }

    fn on_handshake_bytes(&mut self, mut body: &[u8], out: &mut Vec<Tls>) {
        if self.skip > 0 {
            let n = self.skip.min(body.len());
            self.skip -= n;
            body = body.get(n..).unwrap_or(&[]);
        }
        self.handshake.extend_from_slice(body);
        loop {
            let hs = &self.handshake;
            if hs.len() < 4 {
                return;
            }
            let len = (usize::from(hs[1]) << 16) | (usize::from(hs[2]) << 8) | usize::from(hs[3]);
            if len > MAX_HANDSHAKE {
                let have = hs.len() - 4;
                self.skip = len.saturating_sub(have);
                self.handshake.clear();
                return;
            }
            if hs.len() < 4 + len {
                return;
            }
            let rest = self.handshake.split_off(4 + len);
            let msg = std::mem::replace(&mut self.handshake, rest);
            if let Some(ev) = handshake_message(&msg) {
                out.push(ev);
            }
        }
    }
}

/// Dissects one whole handshake message (4-byte header included).
pub fn handshake_message(msg: &[u8]) -> Option<Tls> {
    match msg.first()? {
        1 => parse_client_hello(msg).ok().map(Tls::ClientHello),
        2 => parse_server_hello(msg).ok().map(Tls::ServerHello),
        11 => parse_certificates(msg).ok().map(Tls::Certificates),
        _ => None,
    }
}

/// Walks an extensions block: (type, body) pairs, stopping at the first malformed one.
fn extensions(mut ext: &[u8]) -> Vec<(u16, &[u8])> {
    let mut out = Vec::new();
    while let (Some(t), Some(l)) = (be16(ext, 0), be16(ext, 2)) {
        let end = 4 + usize::from(l);
        let Some(body) = ext.get(4..end) else { break };
        out.push((t, body));
        ext = ext.get(end..).unwrap_or(&[]);
    }
    out
}

/// A list of u16 with a length prefix of `prefix` bytes (1 or 2).
fn u16_list(body: &[u8], prefix: usize) -> Vec<u16> {
    let len = match prefix {
        1 => body.first().map(|&b| usize::from(b)),
        _ => be16(body, 0).map(usize::from),
    }
    .unwrap_or(0);
    let list = body.get(prefix..prefix + len).unwrap_or(&[]);
    list.chunks_exact(2)
        .map(|c| u16::from_be_bytes([c[0], c[1]]))
        .collect()
}

/// ALPN (RFC 7301): a 2-byte length then 1-byte-length-prefixed names.
fn alpn_list(body: &[u8]) -> Vec<String> {
    let len = usize::from(be16(body, 0).unwrap_or(0));
    let mut list = body.get(2..2 + len).unwrap_or(&[]);
    let mut out = Vec::new();
    while let Some((&l, tail)) = list.split_first() {
        let l = usize::from(l);
        let Some(name) = tail.get(..l) else { break };
        out.push(alpn_text(name));
        list = tail.get(l..).unwrap_or(&[]);
    }
    out
}

fn alpn_text(name: &[u8]) -> String {
    let mut s = String::new();
    for &b in name {
        if (0x21..=0x7e).contains(&b) && b != b'\\' && b != b',' {
            s.push(char::from(b));
        } else {
            s.push_str(&format!("\\x{b:02x}"));
        }
    }
    s
}

/// server_name (RFC 6066 §3): the first host_name entry.
fn sni(body: &[u8]) -> Option<String> {
    let len = usize::from(be16(body, 0)?);
    let mut list = body.get(2..2 + len)?;
    while let (Some(&kind), Some(l)) = (list.first(), be16(list, 1)) {
        let name = list.get(3..3 + usize::from(l))?;
        if kind == 0 {
            return Some(printable(name));
        }
        list = list.get(3 + usize::from(l)..)?;
    }
    None
}

fn hex_list(v: &[u16]) -> String {
    // Written in place: a string per item and a join cost an allocation per cipher
    // suite, on every ClientHello.
    let mut out = String::with_capacity(v.len() * 5);
    for &x in v.iter().filter(|x| !is_grease(**x)) {
        if !out.is_empty() {
            out.push(',');
        }
        for shift in [12, 8, 4, 0] {
            out.push(char::from_digit(u32::from((x >> shift) & 0xf), 16).unwrap_or('0'));
        }
    }
    out
}

/// Extensions left out of the fingerprint: their presence depends on the session.
const SESSION_EXTENSIONS: [u16; 4] = [0, 21, 41, 42];

/// Our ClientHello fingerprint and its canonical input (see the module documentation).
pub fn fingerprint(ch: &ClientHello) -> (String, String) {
    let version = ch
        .supported_versions
        .iter()
        .copied()
        .filter(|v| !is_grease(*v))
        .max()
        .unwrap_or(ch.legacy_version);
    let mut ext: Vec<u16> = ch
        .extensions
        .iter()
        .copied()
        .filter(|e| !is_grease(*e) && !SESSION_EXTENSIONS.contains(e))
        .collect();
    ext.sort_unstable();
    let input = format!(
        "v={version:04x};c={};e={};g={};s={};a={}",
        hex_list(&ch.cipher_suites),
        hex_list(&ext),
        hex_list(&ch.supported_groups),
        hex_list(&ch.signature_algorithms),
        ch.alpn.join(",")
    );
    let digest = Sha256::digest(input.as_bytes());
    let hexd = hex::encode(digest);
    (format!("pg1_{}", hexd.get(..24).unwrap_or("")), input)
}

/// Parses a ClientHello handshake message (4-byte header included).
pub fn parse_client_hello(msg: &[u8]) -> Result<ClientHello, ProtoError> {
    let Ok((_, TlsMessage::Handshake(TlsMessageHandshake::ClientHello(ch)))) =
        tls_parser::parse_tls_message_handshake(msg)
    else {
        return Err(ProtoError::malformed("tls", "not a ClientHello"));
    };
    let mut hello = ClientHello {
        legacy_version: ch.version.0,
        supported_versions: Vec::new(),
        sni: None,
        alpn: Vec::new(),
        cipher_suites: ch.ciphers.iter().map(|c| c.0).collect(),
        extensions: Vec::new(),
        supported_groups: Vec::new(),
        signature_algorithms: Vec::new(),
        fingerprint: String::new(),
        fingerprint_input: String::new(),
    };
    for (t, body) in extensions(ch.ext.unwrap_or(&[])) {
        hello.extensions.push(t);
        match t {
            0 => hello.sni = sni(body),
            10 => hello.supported_groups = u16_list(body, 2),
            13 => hello.signature_algorithms = u16_list(body, 2),
            16 => hello.alpn = alpn_list(body),
            43 => hello.supported_versions = u16_list(body, 1),
            _ => {}
        }
    }
    let (fp, input) = fingerprint(&hello);
    hello.fingerprint = fp;
    hello.fingerprint_input = input;
    Ok(hello)
}

/// Parses an SSLv2-compatible ClientHello (the message after the 2-byte header: type 1,
/// version, cipher-spec, session-id and challenge lengths, then 3-byte cipher specs).
/// Old clients send it to offer SSL 3.0/TLS; only the specs with a zero first byte are
/// TLS cipher suites. Such a hello has no extensions.
pub fn parse_sslv2_client_hello(msg: &[u8]) -> Result<ClientHello, ProtoError> {
    let (Some(1), Some(version), Some(spec_len)) = (msg.first(), be16(msg, 1), be16(msg, 3)) else {
        return Err(ProtoError::malformed("tls", "not an SSLv2 ClientHello"));
    };
    let specs = msg
        .get(9..9 + usize::from(spec_len))
        .ok_or(ProtoError::Truncated("sslv2 cipher specs"))?;
    let mut hello = ClientHello {
        legacy_version: version,
        supported_versions: Vec::new(),
        sni: None,
        alpn: Vec::new(),
        cipher_suites: specs
            .chunks_exact(3)
            .filter(|c| c[0] == 0)
            .map(|c| u16::from_be_bytes([c[1], c[2]]))
            .collect(),
        extensions: Vec::new(),
        supported_groups: Vec::new(),
        signature_algorithms: Vec::new(),
        fingerprint: String::new(),
        fingerprint_input: String::new(),
    };
    let (fp, input) = fingerprint(&hello);
    hello.fingerprint = fp;
    hello.fingerprint_input = input;
    Ok(hello)
}

/// Parses a ServerHello handshake message (4-byte header included).
pub fn parse_server_hello(msg: &[u8]) -> Result<ServerHello, ProtoError> {
    let parsed = tls_parser::parse_tls_message_handshake(msg);
    let (legacy_version, cipher, ext) = match parsed {
        Ok((_, TlsMessage::Handshake(TlsMessageHandshake::ServerHello(sh)))) => {
            (sh.version.0, sh.cipher.0, sh.ext)
        }
        Ok((_, TlsMessage::Handshake(TlsMessageHandshake::ServerHelloV13Draft18(sh)))) => {
            (sh.version.0, sh.cipher.0, sh.ext)
        }
        _ => return Err(ProtoError::malformed("tls", "not a ServerHello")),
    };
    let mut hello = ServerHello {
        legacy_version,
        version: legacy_version,
        cipher_suite: cipher,
        alpn: None,
        extensions: Vec::new(),
    };
    for (t, body) in extensions(ext.unwrap_or(&[])) {
        hello.extensions.push(t);
        match t {
            43 => {
                if let Some(v) = be16(body, 0) {
                    hello.version = v;
                }
            }
            16 => hello.alpn = alpn_list(body).into_iter().next(),
            _ => {}
        }
    }
    Ok(hello)
}

/// Parses a Certificate handshake message (TLS ≤ 1.2, 4-byte header included).
pub fn parse_certificates(msg: &[u8]) -> Result<Vec<Certificate>, ProtoError> {
    let Ok((_, TlsMessage::Handshake(TlsMessageHandshake::Certificate(c)))) =
        tls_parser::parse_tls_message_handshake(msg)
    else {
        return Err(ProtoError::malformed("tls", "not a Certificate message"));
    };
    Ok(c.cert_chain
        .iter()
        .take(MAX_CHAIN)
        .filter_map(|raw| certificate(raw.data).ok())
        .collect())
}

/// Certificates described per thread, by their DER, at most this many…
const MEMO_MAX: usize = 1_024;
/// …each of at most this many bytes (a few KiB is usual), so the memo stays small.
const MEMO_DER_MAX: usize = 8 * 1024;

thread_local! {
    /// A memo, not state: the same DER always describes the same way. Pump fleets show
    /// the same few server chains in every handshake, and parsing and verifying them
    /// (a self-signed root's signature) was 8 % of a sensed ward's time. Keyed by the
    /// DER itself: hashing it with foldhash and comparing it costs a fraction of the
    /// SHA-256 a description needs, which only a new certificate pays.
    static MEMO: std::cell::RefCell<Memo> = std::cell::RefCell::new(Memo::default());
}

/// Descriptions by DER.
type Memo = std::collections::HashMap<Box<[u8]>, Certificate, foldhash::fast::RandomState>;

/// Describes one DER certificate.
pub fn certificate(der: &[u8]) -> Result<Certificate, ProtoError> {
    if let Some(known) = MEMO.with(|m| m.borrow().get(der).cloned()) {
        return Ok(known);
    }
    let digest: [u8; 32] = Sha256::digest(der).into();
    let described = describe(der, hex::encode(digest))?;
    if der.len() <= MEMO_DER_MAX {
        MEMO.with(|m| {
            let mut m = m.borrow_mut();
            if m.len() >= MEMO_MAX {
                m.clear();
            }
            m.insert(der.into(), described.clone());
        });
    }
    Ok(described)
}

fn describe(der: &[u8], sha256: String) -> Result<Certificate, ProtoError> {
    let (_, cert) =
        X509Certificate::from_der(der).map_err(|e| ProtoError::malformed("x509", e.to_string()))?;
    let registry = x509_parser::objects::oid_registry();
    let spki = cert.public_key();
    let alg_oid = &spki.algorithm.algorithm;
    let parsed = spki.parsed();
    let public_key_algorithm = match &parsed {
        Ok(x509_parser::public_key::PublicKey::RSA(_)) => "RSA".to_string(),
        Ok(x509_parser::public_key::PublicKey::EC(_)) => "EC".to_string(),
        Ok(x509_parser::public_key::PublicKey::DSA(_)) => "DSA".to_string(),
        _ => match alg_oid.to_id_string().as_str() {
            "1.3.101.112" => "Ed25519".to_string(),
            "1.3.101.113" => "Ed448".to_string(),
            other => other.to_string(),
        },
    };
    let public_key_bits = match alg_oid.to_id_string().as_str() {
        "1.3.101.112" => 256,
        "1.3.101.113" => 456,
        _ => parsed.as_ref().map_or(0, |k| k.key_size()),
    };
    let sig_oid = &cert.signature_algorithm.algorithm;
    let signature_algorithm = x509_parser::objects::oid2sn(sig_oid, registry)
        .map(str::to_string)
        .unwrap_or_else(|_| sig_oid.to_id_string());
    let mut san_dns = Vec::new();
    let mut san_ips = Vec::new();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            match name {
                GeneralName::DNSName(n) => san_dns.push(printable(n.as_bytes())),
                GeneralName::IPAddress(b) => san_ips.push(ip_text(b)),
                _ => {}
            }
        }
    }
    let same_name = cert.subject().as_raw() == cert.issuer().as_raw();
    let self_signed = same_name
        && match cert.verify_signature(None) {
            Ok(()) => true,
            Err(X509Error::SignatureUnsupportedAlgorithm) => true,
            Err(_) => false,
        };
    let validity = cert.validity();
    Ok(Certificate {
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        serial: hex::encode(cert.raw_serial()),
        not_before: validity.not_before.timestamp(),
        not_after: validity.not_after.timestamp(),
        public_key_algorithm,
        public_key_bits: u32::try_from(public_key_bits).unwrap_or(0),
        signature_algorithm,
        san_dns,
        san_ips,
        self_signed,
        is_ca: cert.is_ca(),
        sha256,
    })
}

fn ip_text(b: &[u8]) -> String {
    match b.len() {
        4 => std::net::Ipv4Addr::new(b[0], b[1], b[2], b[3]).to_string(),
        16 => <[u8; 16]>::try_from(b)
            .map(|a| std::net::Ipv6Addr::from(a).to_string())
            .unwrap_or_default(),
        _ => hex::encode(b),
    }
}

/// The IANA name of a cipher suite (`TLS_RSA_WITH_3DES_EDE_CBC_SHA`), when known.
pub fn cipher_suite_name(id: u16) -> Option<&'static str> {
    tls_parser::TlsCipherSuite::from_id(id).map(|c| c.name)
}

/// A cipher suite no one should negotiate: no encryption or authentication (NULL,
/// anonymous), export-grade, RC4, single DES or 3DES (SWEET32).
pub fn is_weak_cipher_suite(id: u16) -> bool {
    cipher_suite_name(id).is_some_and(|n| {
        [
            "_NULL_", "_anon_", "EXPORT", "_RC4_", "_DES_", "_DES40_", "3DES",
        ]
        .iter()
        .any(|w| n.contains(w))
            || n.ends_with("_NULL")
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A ClientHello record with GREASE values, SNI and ALPN.
    pub(crate) fn client_hello_record(sni_name: &str, grease: bool) -> Vec<u8> {
        let mut ext = Vec::new();
        let mut push = |t: u16, body: &[u8]| {
            ext.extend_from_slice(&t.to_be_bytes());
            ext.extend_from_slice(&(body.len() as u16).to_be_bytes());
            ext.extend_from_slice(body);
        };
        if grease {
            push(0x1a1a, &[]);
        }
        let mut sn = vec![];
        sn.extend_from_slice(&((sni_name.len() + 3) as u16).to_be_bytes());
        sn.push(0);
        sn.extend_from_slice(&(sni_name.len() as u16).to_be_bytes());
        sn.extend_from_slice(sni_name.as_bytes());
        push(0, &sn);
        let groups: &[u8] = if grease {
            &[0, 6, 0x3a, 0x3a, 0, 0x1d, 0, 0x17]
        } else {
            &[0, 4, 0, 0x1d, 0, 0x17]
        };
        push(10, groups);
        push(13, &[0, 4, 4, 3, 8, 4]);
        push(
            16,
            &[
                0, 12, 2, b'h', b'2', 8, b'h', b't', b't', b'p', b'/', b'1', b'.', b'1',
            ],
        );
        let sv: &[u8] = if grease {
            &[4, 0x7a, 0x7a, 3, 4]
        } else {
            &[2, 3, 4]
        };
        push(43, sv);
        let mut body = vec![3, 3];
        body.extend_from_slice(&[7u8; 32]);
        body.push(0);
        let ciphers: &[u16] = if grease {
            &[0x0a0a, 0x1301, 0x1302, 0xc02f]
        } else {
            &[0x1301, 0x1302, 0xc02f]
        };
        body.extend_from_slice(&((ciphers.len() * 2) as u16).to_be_bytes());
        for c in ciphers {
            body.extend_from_slice(&c.to_be_bytes());
        }
        body.extend_from_slice(&[1, 0]);
        body.extend_from_slice(&(ext.len() as u16).to_be_bytes());
        body.extend_from_slice(&ext);
        let mut hs = vec![1, 0, (body.len() >> 8) as u8, body.len() as u8];
        hs.extend_from_slice(&body);
        let mut rec = vec![0x16, 3, 1, (hs.len() >> 8) as u8, hs.len() as u8];
        rec.extend_from_slice(&hs);
        rec
    }

    #[test]
    fn grease_is_excluded_from_the_fingerprint() {
        let mut out = Vec::new();
        TlsStream::new().on_data(
            Side::Client,
            &client_hello_record("pump.example", true),
            &mut out,
        );
        let Some(Tls::ClientHello(g)) = out.pop() else {
            panic!("no hello")
        };
        TlsStream::new().on_data(
            Side::Client,
            &client_hello_record("pump.example", false),
            &mut out,
        );
        let Some(Tls::ClientHello(p)) = out.pop() else {
            panic!("no hello")
        };
        assert_eq!(g.fingerprint, p.fingerprint);
        assert_ne!(g.cipher_suites, p.cipher_suites);
        assert!(g.extensions.contains(&0x1a1a));
        assert_eq!(
            g.fingerprint_input,
            "v=0304;c=1301,1302,c02f;e=000a,000d,0010,002b;g=001d,0017;s=0403,0804;a=h2,http/1.1"
        );
        assert!(g.fingerprint.starts_with("pg1_") && g.fingerprint.len() == 28);
        assert_eq!(g.sni.as_deref(), Some("pump.example"));
        assert_eq!(g.alpn, vec!["h2", "http/1.1"]);
        assert_eq!(g.supported_versions, vec![0x7a7a, 0x0304]);
    }

    #[test]
    fn client_hello_split_across_three_segments() {
        let rec = client_hello_record("split.example", false);
        let mut s = TlsStream::new();
        let mut out = Vec::new();
        let (a, rest) = rec.split_at(3);
        let (b, c) = rest.split_at(40);
        s.on_data(Side::Client, a, &mut out);
        s.on_data(Side::Client, b, &mut out);
        assert!(out.is_empty());
        s.on_data(Side::Client, c, &mut out);
        assert!(
            matches!(&out[..], [Tls::ClientHello(h)] if h.sni.as_deref() == Some("split.example"))
        );
    }

    #[test]
    fn handshake_message_across_records_and_alert() {
        let rec = client_hello_record("two.example", false);
        let hs = &rec[5..];
        let (x, y) = hs.split_at(20);
        let mut bytes = Vec::new();
        for part in [x, y] {
            bytes.extend_from_slice(&[0x16, 3, 3, 0, part.len() as u8]);
            bytes.extend_from_slice(part);
        }
        bytes.extend_from_slice(&[0x15, 3, 3, 0, 2, 2, 40]);
        bytes.extend_from_slice(&[0x14, 3, 3, 0, 1, 1, 0x16, 3, 3]);
        let mut out = Vec::new();
        let mut s = TlsStream::new();
        s.on_data(Side::Server, &bytes, &mut out);
        assert_eq!(out.len(), 2);
        assert!(matches!(&out[1], Tls::Alert(a) if a.name == "handshake_failure" && a.level == 2));
        s.on_data(Side::Server, &rec, &mut out);
        assert_eq!(out.len(), 2, "nothing parsed after ChangeCipherSpec");
    }

    #[test]
    fn grease_values() {
        assert!(is_grease(0x0a0a) && is_grease(0xfafa) && !is_grease(0x0a1a) && !is_grease(0x1301));
    }
}
