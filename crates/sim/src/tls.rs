//! TLS sessions as a passive capture sees them (RFC 2246, RFC 5246, RFC 8446): the
//! cleartext handshake messages byte for byte, and encrypted records of the right
//! sizes filled with random bytes.
//!
//! Written here, not taken from a TLS crate: a TLS stack (rustls) runs a real key
//! exchange with fresh system randomness, refuses TLS 1.0 and RC4/3DES suites, and costs
//! far more per connection than a simulator writing a million packets can pay. A
//! capture only shows the bytes below, so the bytes are what we write: ciphertext,
//! key shares and handshake signatures are random-looking bytes from the seed's [`Rng`];
//! certificates are real DER (see [`crate::pki`]).

use std::io::Write;

use crate::frame::Endpoint;
use crate::rng::Rng;
use crate::sink::Sink;
use crate::tcp::TcpConn;

/// The protocol version a session negotiates, which also decides what the client
/// offers in its ClientHello.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// A legacy client (a vendor's old Java tool) offering only TLS 1.0 and
    /// RSA-key-exchange suites; the server picks TLS_RSA_WITH_3DES_EDE_CBC_SHA.
    Tls10,
    /// An embedded TLS 1.2 client offering ECDHE AEAD suites.
    Tls12,
    /// A TLS 1.3 client (with the middlebox-compatibility session id and
    /// ChangeCipherSpec, RFC 8446 appendix D.4).
    Tls13,
}

/// The kind of key the server's certificate holds, which decides the suite and the
/// handshake signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerKey {
    Ed25519,
    Rsa2048,
}

/// What a handshake shows.
#[derive(Debug, Clone, Copy)]
pub struct Handshake<'a> {
    pub version: Version,
    /// The server name the client asks for (SNI); `None` when it connects by address.
    pub sni: Option<&'a str>,
    /// The certificates the server sends, leaf first (DER).
    pub chain: &'a [Vec<u8>],
    pub key: ServerKey,
}

// Record content types (RFC 5246 §6.2.1).
const CHANGE_CIPHER_SPEC: u8 = 20;
const ALERT: u8 = 21;
const HANDSHAKE: u8 = 22;
const APPLICATION_DATA: u8 = 23;

// Handshake message types (RFC 5246 §7.4, RFC 8446 §4).
const CLIENT_HELLO: u8 = 1;
const SERVER_HELLO: u8 = 2;
const CERTIFICATE: u8 = 11;
const SERVER_KEY_EXCHANGE: u8 = 12;
const SERVER_HELLO_DONE: u8 = 14;
const CLIENT_KEY_EXCHANGE: u8 = 16;

// Protocol versions on the wire.
const TLS10: u16 = 0x0301;
const TLS12: u16 = 0x0303;
const TLS13: u16 = 0x0304;

// Cipher suites (IANA TLS registry).
const TLS_AES_128_GCM_SHA256: u16 = 0x1301;
const TLS_AES_256_GCM_SHA384: u16 = 0x1302;
const TLS_CHACHA20_POLY1305_SHA256: u16 = 0x1303;
const TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: u16 = 0xc02b;
const TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: u16 = 0xc02c;
const TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: u16 = 0xc02f;
const TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: u16 = 0xc030;
const TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: u16 = 0xcca9;
const TLS_RSA_WITH_RC4_128_MD5: u16 = 0x0004;
const TLS_RSA_WITH_RC4_128_SHA: u16 = 0x0005;
const TLS_RSA_WITH_3DES_EDE_CBC_SHA: u16 = 0x000a;
const TLS_RSA_WITH_AES_128_CBC_SHA: u16 = 0x002f;
const TLS_RSA_WITH_AES_256_CBC_SHA: u16 = 0x0035;
const TLS_EMPTY_RENEGOTIATION_INFO_SCSV: u16 = 0x00ff;

// Extensions (IANA TLS ExtensionType registry).
const SERVER_NAME: u16 = 0;
const SUPPORTED_GROUPS: u16 = 10;
const EC_POINT_FORMATS: u16 = 11;
const SIGNATURE_ALGORITHMS: u16 = 13;
const EXTENDED_MASTER_SECRET: u16 = 23;
const SUPPORTED_VERSIONS: u16 = 43;
const PSK_KEY_EXCHANGE_MODES: u16 = 45;
const KEY_SHARE: u16 = 51;
const RENEGOTIATION_INFO: u16 = 0xff01;

// Named groups and signature schemes.
const X25519: u16 = 0x001d;
const SECP256R1: u16 = 0x0017;
const SECP384R1: u16 = 0x0018;
const ED25519: u16 = 0x0807;
const ECDSA_SECP256R1_SHA256: u16 = 0x0403;
const ECDSA_SECP384R1_SHA384: u16 = 0x0503;
const RSA_PSS_RSAE_SHA256: u16 = 0x0804;
const RSA_PKCS1_SHA256: u16 = 0x0401;
const RSA_PKCS1_SHA384: u16 = 0x0501;

/// Largest plaintext of one record (RFC 5246 §6.2.1).
const MAX_PLAINTEXT: usize = 16_384;

/// Alert close_notify (warning, 0).
const CLOSE_NOTIFY: [u8; 2] = [1, 0];

fn u16be(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_be_bytes());
}

fn u24be(out: &mut Vec<u8>, v: usize) {
    out.extend_from_slice(&(v as u32).to_be_bytes()[1..]);
}

/// Appends `body` behind a 1-, 2- or 3-byte length.
fn vec8(out: &mut Vec<u8>, body: &[u8]) {
    out.push(body.len() as u8);
    out.extend_from_slice(body);
}

fn vec16(out: &mut Vec<u8>, body: &[u8]) {
    u16be(out, body.len() as u16);
    out.extend_from_slice(body);
}

fn list16(values: &[u16]) -> Vec<u8> {
    let mut body = Vec::with_capacity(values.len() * 2);
    for v in values {
        u16be(&mut body, *v);
    }
    body
}

fn extension(out: &mut Vec<u8>, kind: u16, data: &[u8]) {
    u16be(out, kind);
    vec16(out, data);
}

fn handshake_message(out: &mut Vec<u8>, kind: u8, body: &[u8]) {
    out.push(kind);
    u24be(out, body.len());
    out.extend_from_slice(body);
}

fn record(out: &mut Vec<u8>, kind: u8, version: u16, payload: &[u8]) {
    out.push(kind);
    u16be(out, version);
    vec16(out, payload);
}

fn random_bytes<const N: usize>(rng: &mut Rng) -> [u8; N] {
    let mut b = [0u8; N];
    rng.fill(&mut b);
    b
}

/// A hello's 32-byte random. TLS 1.0-era stacks put the time in its first four bytes
/// (RFC 2246 §7.4.1.2); later ones do not.
fn hello_random(version: Version, rng: &mut Rng, t_ns: u64) -> [u8; 32] {
    let mut r = random_bytes::<32>(rng);
    if version == Version::Tls10 {
        r[..4].copy_from_slice(&((t_ns / 1_000_000_000) as u32).to_be_bytes());
    }
    r
}

impl Version {
    /// The version in ClientHello.legacy_version / ServerHello.legacy_version.
    fn hello(self) -> u16 {
        match self {
            Version::Tls10 => TLS10,
            Version::Tls12 | Version::Tls13 => TLS12,
        }
    }

    /// The version in record headers after the first ClientHello.
    fn record(self) -> u16 {
        self.hello()
    }

    /// Bytes on the wire for `plain` bytes protected with the negotiated suite:
    /// AES-GCM in TLS 1.2 (8-byte explicit nonce, 16-byte tag), AES-GCM in TLS 1.3
    /// (inner content type, 16-byte tag), 3DES-CBC with HMAC-SHA1 in TLS 1.0 (20-byte
    /// MAC, padding with its length byte to the 8-byte block).
    fn sealed_len(self, plain: usize) -> usize {
        match self {
            Version::Tls12 => plain + 24,
            Version::Tls13 => plain + 17,
            Version::Tls10 => (plain + 20 + 1).div_ceil(8) * 8,
        }
    }

    /// The content type protected data travels under (TLS 1.3 hides the real one).
    fn outer_type(self, inner: u8) -> u8 {
        if self == Version::Tls13 {
            APPLICATION_DATA
        } else {
            inner
        }
    }
}

/// A ClientHello (RFC 5246 §7.4.1.2, RFC 8446 §4.1.2) and what the server needs of it.
fn client_hello(hs: &Handshake<'_>, rng: &mut Rng, t: u64) -> (Vec<u8>, [u8; 32]) {
    let v = hs.version;
    let session_id = random_bytes::<32>(rng);
    let mut body = Vec::with_capacity(256);
    u16be(&mut body, v.hello());
    body.extend_from_slice(&hello_random(v, rng, t));
    match v {
        Version::Tls13 => vec8(&mut body, &session_id),
        Version::Tls10 | Version::Tls12 => vec8(&mut body, &[]),
    }
    let suites: &[u16] = match v {
        Version::Tls10 => &[
            TLS_RSA_WITH_AES_128_CBC_SHA,
            TLS_RSA_WITH_AES_256_CBC_SHA,
            TLS_RSA_WITH_3DES_EDE_CBC_SHA,
            TLS_RSA_WITH_RC4_128_SHA,
            TLS_RSA_WITH_RC4_128_MD5,
            TLS_EMPTY_RENEGOTIATION_INFO_SCSV,
        ],
        Version::Tls12 => &[
            TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
            TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
            TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
            TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
            TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        ],
        Version::Tls13 => &[
            TLS_AES_128_GCM_SHA256,
            TLS_AES_256_GCM_SHA384,
            TLS_CHACHA20_POLY1305_SHA256,
            TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
            TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        ],
    };
    vec16(&mut body, &list16(suites));
    vec8(&mut body, &[0]); // compression: null only
    if v == Version::Tls10 {
        // The legacy tool sends no extensions at all (renegotiation is signalled by
        // the SCSV above, RFC 5746 §3.3).
        return (body, session_id);
    }
    let mut ext = Vec::with_capacity(160);
    if let Some(name) = hs.sni {
        // server_name_list { host_name(0), name } (RFC 6066 §3).
        let mut entry = vec![0];
        vec16(&mut entry, name.as_bytes());
        let mut list = Vec::with_capacity(entry.len() + 2);
        vec16(&mut list, &entry);
        extension(&mut ext, SERVER_NAME, &list);
    }
    let mut groups = Vec::new();
    vec16(&mut groups, &list16(&[X25519, SECP256R1, SECP384R1]));
    extension(&mut ext, SUPPORTED_GROUPS, &groups);
    extension(&mut ext, EC_POINT_FORMATS, &[1, 0]);
    let mut sigs = Vec::new();
    vec16(
        &mut sigs,
        &list16(&[
            ED25519,
            ECDSA_SECP256R1_SHA256,
            ECDSA_SECP384R1_SHA384,
            RSA_PSS_RSAE_SHA256,
            RSA_PKCS1_SHA256,
            RSA_PKCS1_SHA384,
        ]),
    );
    extension(&mut ext, SIGNATURE_ALGORITHMS, &sigs);
    extension(&mut ext, EXTENDED_MASTER_SECRET, &[]);
    extension(&mut ext, RENEGOTIATION_INFO, &[0]);
    if v == Version::Tls13 {
        let mut versions = Vec::new();
        vec8(&mut versions, &list16(&[TLS13, TLS12]));
        extension(&mut ext, SUPPORTED_VERSIONS, &versions);
        extension(&mut ext, PSK_KEY_EXCHANGE_MODES, &[1, 1]); // psk_dhe_ke
        let mut share = Vec::with_capacity(38);
        u16be(&mut share, X25519);
        vec16(&mut share, &random_bytes::<32>(rng));
        let mut shares = Vec::with_capacity(40);
        vec16(&mut shares, &share);
        extension(&mut ext, KEY_SHARE, &shares);
    }
    vec16(&mut body, &ext);
    (body, session_id)
}

/// The suite the server picks for the version and its key.
fn chosen_suite(hs: &Handshake<'_>) -> u16 {
    match (hs.version, hs.key) {
        (Version::Tls10, _) => TLS_RSA_WITH_3DES_EDE_CBC_SHA,
        (Version::Tls12, ServerKey::Ed25519) => TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        (Version::Tls12, ServerKey::Rsa2048) => TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        (Version::Tls13, _) => TLS_AES_128_GCM_SHA256,
    }
}

/// The server's signature scheme and signature length.
fn signature(key: ServerKey) -> (u16, usize) {
    match key {
        ServerKey::Ed25519 => (ED25519, 64),
        ServerKey::Rsa2048 => (RSA_PKCS1_SHA256, 256),
    }
}

fn server_hello(hs: &Handshake<'_>, rng: &mut Rng, t: u64, client_session: &[u8]) -> Vec<u8> {
    let v = hs.version;
    let mut body = Vec::with_capacity(128);
    u16be(&mut body, v.hello());
    body.extend_from_slice(&hello_random(v, rng, t));
    match v {
        // TLS 1.3 echoes the client's session id (RFC 8446 §4.1.3).
        Version::Tls13 => vec8(&mut body, client_session),
        Version::Tls10 | Version::Tls12 => vec8(&mut body, &random_bytes::<32>(rng)),
    }
    u16be(&mut body, chosen_suite(hs));
    body.push(0);
    let mut ext = Vec::with_capacity(48);
    match v {
        Version::Tls13 => {
            extension(&mut ext, SUPPORTED_VERSIONS, &TLS13.to_be_bytes());
            let mut share = Vec::with_capacity(36);
            u16be(&mut share, X25519);
            vec16(&mut share, &random_bytes::<32>(rng));
            extension(&mut ext, KEY_SHARE, &share);
        }
        Version::Tls12 => {
            if hs.sni.is_some() {
                extension(&mut ext, SERVER_NAME, &[]);
            }
            extension(&mut ext, RENEGOTIATION_INFO, &[0]);
            extension(&mut ext, EC_POINT_FORMATS, &[1, 0]);
            extension(&mut ext, EXTENDED_MASTER_SECRET, &[]);
        }
        Version::Tls10 => extension(&mut ext, RENEGOTIATION_INFO, &[0]),
    }
    vec16(&mut body, &ext);
    body
}

/// A Certificate message body: TLS 1.2 `certificate_list`, or TLS 1.3's with an empty
/// request context and empty per-certificate extensions.
fn certificate_body(chain: &[Vec<u8>], tls13: bool) -> Vec<u8> {
    let per_cert = if tls13 { 5 } else { 3 };
    let list_len: usize = chain.iter().map(|c| c.len() + per_cert).sum();
    let mut body = Vec::with_capacity(list_len + 4);
    if tls13 {
        body.push(0);
    }
    u24be(&mut body, list_len);
    for cert in chain {
        u24be(&mut body, cert.len());
        body.extend_from_slice(cert);
        if tls13 {
            u16be(&mut body, 0);
        }
    }
    body
}

/// Which end writes a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Client,
    Server,
}

/// A TLS session over a TCP connection, after its handshake.
#[derive(Debug)]
pub struct TlsConn {
    tcp: TcpConn,
    version: Version,
    rng: Rng,
    /// Protected records written by each end (the TLS 1.2 explicit nonce).
    sent: [u64; 2],
}

impl TlsConn {
    /// Plays the handshake over `tcp` from `t`; returns the session and when the
    /// client may send application data.
    pub fn handshake<W: Write>(
        tcp: TcpConn,
        sink: &mut Sink<W>,
        t: u64,
        hs: &Handshake<'_>,
        mut rng: Rng,
    ) -> (TlsConn, u64) {
        let v = hs.version;
        let (hello, session_id) = client_hello(hs, &mut rng, t);
        let mut flight = Vec::with_capacity(512);
        let mut msg = Vec::with_capacity(hello.len() + 4);
        handshake_message(&mut msg, CLIENT_HELLO, &hello);
        // A TLS 1.3 client writes its first record as TLS 1.0 (RFC 8446 §5.1).
        let first = if v == Version::Tls13 {
            TLS10
        } else {
            v.record()
        };
        record(&mut flight, HANDSHAKE, first, &msg);
        let mut s = TlsConn {
            tcp,
            version: v,
            rng,
            sent: [0; 2],
        };
        let t = s.tcp.client_sends(sink, t, &flight);

        // The server's flight.
        let t = t + 1_500_000;
        flight.clear();
        msg.clear();
        let sh = server_hello(hs, &mut s.rng, t, &session_id);
        handshake_message(&mut msg, SERVER_HELLO, &sh);
        record(&mut flight, HANDSHAKE, v.record(), &msg);
        let (scheme, sig_len) = signature(hs.key);
        if v == Version::Tls13 {
            record(&mut flight, CHANGE_CIPHER_SPEC, TLS12, &[1]);
            let cert = certificate_body(hs.chain, true);
            // EncryptedExtensions (no extensions), Certificate, CertificateVerify,
            // Finished: each in its own protected record, so only sizes show.
            for inner in [6, cert.len() + 4, 4 + 4 + sig_len, 4 + 32] {
                s.protected(&mut flight, Side::Server, HANDSHAKE, inner);
            }
        } else {
            msg.clear();
            handshake_message(&mut msg, CERTIFICATE, &certificate_body(hs.chain, false));
            record(&mut flight, HANDSHAKE, v.record(), &msg);
            if v == Version::Tls12 {
                // ECDHE parameters: named_curve x25519, the point, the signature.
                let mut ske = Vec::with_capacity(48 + sig_len);
                ske.push(3);
                u16be(&mut ske, X25519);
                vec8(&mut ske, &random_bytes::<32>(&mut s.rng));
                u16be(&mut ske, scheme);
                let mut sig = vec![0u8; sig_len];
                s.rng.fill(&mut sig);
                vec16(&mut ske, &sig);
                msg.clear();
                handshake_message(&mut msg, SERVER_KEY_EXCHANGE, &ske);
                record(&mut flight, HANDSHAKE, v.record(), &msg);
            }
            msg.clear();
            handshake_message(&mut msg, SERVER_HELLO_DONE, &[]);
            record(&mut flight, HANDSHAKE, v.record(), &msg);
        }
        let t = s.tcp.server_sends(sink, t, &flight);

        // The client's second flight.
        let t = t + 800_000;
        flight.clear();
        if v == Version::Tls13 {
            record(&mut flight, CHANGE_CIPHER_SPEC, TLS12, &[1]);
        } else {
            let mut cke = Vec::with_capacity(262);
            if v == Version::Tls12 {
                vec8(&mut cke, &random_bytes::<32>(&mut s.rng));
            } else {
                // The premaster secret, RSA-encrypted to the server's 2048-bit key.
                let mut encrypted = vec![0u8; 256];
                s.rng.fill(&mut encrypted);
                vec16(&mut cke, &encrypted);
            }
            msg.clear();
            handshake_message(&mut msg, CLIENT_KEY_EXCHANGE, &cke);
            record(&mut flight, HANDSHAKE, v.record(), &msg);
            record(&mut flight, CHANGE_CIPHER_SPEC, v.record(), &[1]);
        }
        // Finished: 12 bytes of verify_data (TLS 1.2), or the SHA-256 MAC (TLS 1.3).
        let finished = if v == Version::Tls13 { 4 + 32 } else { 4 + 12 };
        s.protected(&mut flight, Side::Client, HANDSHAKE, finished);
        let t = s.tcp.client_sends(sink, t, &flight);

        // The server's answer: its ChangeCipherSpec and Finished, or a session ticket.
        let t = t + 600_000;
        flight.clear();
        if v == Version::Tls13 {
            // NewSessionTicket: lifetime, age_add, nonce, a 192-byte ticket, no extensions.
            s.protected(
                &mut flight,
                Side::Server,
                HANDSHAKE,
                4 + 4 + 4 + 9 + 194 + 2,
            );
        } else {
            record(&mut flight, CHANGE_CIPHER_SPEC, v.record(), &[1]);
            s.protected(&mut flight, Side::Server, HANDSHAKE, finished);
        }
        let t = s.tcp.server_sends(sink, t, &flight);
        (s, t + 200_000)
    }

    /// Appends one protected record holding `plain` bytes of `inner` content.
    fn protected(&mut self, out: &mut Vec<u8>, side: Side, inner: u8, plain: usize) {
        let v = self.version;
        let len = v.sealed_len(plain);
        out.push(v.outer_type(inner));
        u16be(out, v.record());
        u16be(out, len as u16);
        let start = out.len();
        out.resize(start + len, 0);
        self.rng.fill(&mut out[start..]);
        let n = &mut self.sent[side as usize];
        if v == Version::Tls12 {
            // The explicit nonce: the record sequence number, as common stacks do.
            out[start..start + 8].copy_from_slice(&n.to_be_bytes());
        }
        *n += 1;
    }

    /// Application data of `len` plaintext bytes in records of at most 16 KiB.
    fn application_data(&mut self, side: Side, len: usize) -> Vec<u8> {
        let records = len.div_ceil(MAX_PLAINTEXT).max(1);
        let mut out = Vec::with_capacity(len + records * 48);
        let mut left = len;
        for _ in 0..records {
            let n = left.min(MAX_PLAINTEXT);
            self.protected(&mut out, side, APPLICATION_DATA, n);
            left -= n;
        }
        out
    }

    /// The client sends `len` bytes of application data; returns when acknowledged.
    pub fn client_sends<W: Write>(&mut self, sink: &mut Sink<W>, t: u64, len: usize) -> u64 {
        let data = self.application_data(Side::Client, len);
        self.tcp.client_sends(sink, t, &data)
    }

    /// The server sends `len` bytes of application data; returns when acknowledged.
    pub fn server_sends<W: Write>(&mut self, sink: &mut Sink<W>, t: u64, len: usize) -> u64 {
        let data = self.application_data(Side::Server, len);
        self.tcp.server_sends(sink, t, &data)
    }

    /// The client sends close_notify, then closes the connection; returns when done.
    pub fn close<W: Write>(mut self, sink: &mut Sink<W>, t: u64) -> u64 {
        let mut alert = Vec::with_capacity(40);
        self.protected(&mut alert, Side::Client, ALERT, CLOSE_NOTIFY.len());
        let t = self.tcp.client_sends(sink, t, &alert);
        self.tcp.close(sink, t + 50_000)
    }
}

/// A connection whose application data is either readable (plain TCP) or in TLS
/// records: what a pump link or a scenario's exchange runs over.
#[derive(Debug)]
pub enum Session {
    Plain(TcpConn),
    Tls(TlsConn),
}

impl Session {
    /// Opens a TCP connection and, given a handshake, plays it; returns when the
    /// client may send.
    #[allow(clippy::too_many_arguments)]
    pub fn open<W: Write>(
        sink: &mut Sink<W>,
        t: u64,
        client: Endpoint,
        server: Endpoint,
        isn: (u32, u32),
        rtt: u64,
        app: &'static str,
        tls: Option<(&Handshake<'_>, Rng)>,
    ) -> (Session, u64) {
        let (tcp, t) = TcpConn::open(sink, t, client, server, isn, rtt, app);
        match tls {
            None => (Session::Plain(tcp), t),
            Some((hs, rng)) => {
                let (s, t) = TlsConn::handshake(tcp, sink, t, hs, rng);
                (Session::Tls(s), t)
            }
        }
    }

    /// The client sends `data` (in TLS: as many bytes of application data).
    pub fn client_sends<W: Write>(&mut self, sink: &mut Sink<W>, t: u64, data: &[u8]) -> u64 {
        match self {
            Session::Plain(c) => c.client_sends(sink, t, data),
            Session::Tls(s) => s.client_sends(sink, t, data.len()),
        }
    }

    /// The server sends `data` (in TLS: as many bytes of application data).
    pub fn server_sends<W: Write>(&mut self, sink: &mut Sink<W>, t: u64, data: &[u8]) -> u64 {
        match self {
            Session::Plain(c) => c.server_sends(sink, t, data),
            Session::Tls(s) => s.server_sends(sink, t, data.len()),
        }
    }

    pub fn close<W: Write>(self, sink: &mut Sink<W>, t: u64) -> u64 {
        match self {
            Session::Plain(c) => c.close(sink, t),
            Session::Tls(s) => s.close(sink, t),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_sizes_follow_the_suites() {
        assert_eq!(Version::Tls12.sealed_len(16), 40);
        assert_eq!(Version::Tls13.sealed_len(36), 53);
        // 3DES-CBC-SHA: 16 + 20 MAC = 36, padded (with its length byte) to 40.
        assert_eq!(Version::Tls10.sealed_len(16), 40);
        assert_eq!(Version::Tls10.sealed_len(2), 24);
    }

    #[test]
    fn a_client_hello_is_well_framed() {
        let hs = Handshake {
            version: Version::Tls13,
            sni: Some("alaris-sm.pumps.hospital.example"),
            chain: &[],
            key: ServerKey::Ed25519,
        };
        let (body, _) = client_hello(&hs, &mut Rng::new(1), 0);
        // version, random, session id (1 + 32), suites (2 + 10), compression (2).
        let ext_at = 2 + 32 + 33 + 12 + 2;
        let ext_len = u16::from_be_bytes([body[ext_at], body[ext_at + 1]]) as usize;
        assert_eq!(ext_at + 2 + ext_len, body.len());
        let legacy = Handshake {
            version: Version::Tls10,
            ..hs
        };
        let (body, _) = client_hello(&legacy, &mut Rng::new(1), 0);
        assert_eq!(body.len(), 2 + 32 + 1 + 14 + 2, "no extensions");
    }
}
