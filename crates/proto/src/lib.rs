//! Application-layer dissection for pumpguard's passive sensor.
//!
//! Given the bytes of one flow — UDP datagrams, or the in-order reassembled TCP stream
//! of each direction, delivered by the packet plumbing — a [`Session`] classifies the
//! application protocol by content (ports are only a hint, see [`classify`]) and emits
//! typed, owned [`Event`]s describing what the devices say on the wire: DHCP options,
//! DNS/mDNS records, TLS hellos and certificates, HTTP heads, HL7 message summaries,
//! Telnet/FTP logins, SNMP varbinds, NTP, syslog and SSH banners.
//!
//! The crate does no I/O, keeps no state across flows and knows no database. Every
//! parser is total: any input yields events, nothing or an error, never a panic, and
//! every buffer a flow keeps has a cap (see each module).
//!
//! Each protocol is one module, usable on its own: datagram protocols have a
//! `parse(&[u8]) -> Result<_, ProtoError>`, stream protocols a stream parser type fed per
//! direction.

pub mod classify;
pub mod dhcp;
pub mod dns;
mod error;
pub mod ftp;
pub mod hl7;
pub mod http;
pub mod ntp;
mod session;
pub mod snmp;
pub mod ssh;
pub mod syslog;
pub mod telnet;
pub mod text;
pub mod tls;

pub use error::ProtoError;
pub use session::Session;

/// The application protocol of a flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub enum App {
    Dhcp,
    Dns,
    Mdns,
    Tls,
    Http,
    Hl7,
    Telnet,
    Ftp,
    /// An FTP data connection; only the sensor can tell (from a PASV/PORT reply seen on
    /// the control channel), so a [`Session`] never classifies a flow as this by itself.
    FtpData,
    Snmp,
    Ntp,
    Syslog,
    Ssh,
    Unknown,
}

impl App {
    /// Lower-case name: `"dhcp"`, `"dns"`, `"mdns"`, `"tls"`, `"http"`, `"hl7"`,
    /// `"telnet"`, `"ftp"`, `"ftp-data"`, `"snmp"`, `"ntp"`, `"syslog"`, `"ssh"`, `"unknown"`.
    pub fn as_str(self) -> &'static str {
        match self {
            App::Dhcp => "dhcp",
            App::Dns => "dns",
            App::Mdns => "mdns",
            App::Tls => "tls",
            App::Http => "http",
            App::Hl7 => "hl7",
            App::Telnet => "telnet",
            App::Ftp => "ftp",
            App::FtpData => "ftp-data",
            App::Snmp => "snmp",
            App::Ntp => "ntp",
            App::Syslog => "syslog",
            App::Ssh => "ssh",
            App::Unknown => "unknown",
        }
    }
}

impl std::fmt::Display for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The transport a flow runs over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Tcp,
    Udp,
}

/// Who sent the bytes: the flow initiator is the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Client,
    Server,
}

impl Side {
    /// The other direction.
    pub fn peer(self) -> Side {
        match self {
            Side::Client => Side::Server,
            Side::Server => Side::Client,
        }
    }

    fn index(self) -> usize {
        match self {
            Side::Client => 0,
            Side::Server => 1,
        }
    }
}

/// What a dissector saw on the wire. Each variant's struct tells its own direction where
/// it matters (a request or a response, a ClientHello or a ServerHello…).
// Events are short-lived values handed to the sensor; boxing the big variants would
// cost an allocation each and change the agreed API for no gain.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub enum Event {
    Dhcp(dhcp::Dhcp),
    /// DNS and mDNS (see [`dns::Dns::mdns`]).
    Dns(dns::Dns),
    Tls(tls::Tls),
    Http(http::HttpHead),
    Hl7(hl7::Hl7Summary),
    Telnet(telnet::Telnet),
    Ftp(ftp::Ftp),
    Snmp(snmp::Snmp),
    Ntp(ntp::Ntp),
    Syslog(syslog::Syslog),
    Ssh(ssh::SshBanner),
}
