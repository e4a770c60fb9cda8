//! What the passive sensor learned about a device from the wire: each identity field
//! with the evidence behind it (which protocol said so, when, how often, how sure).

use std::net::IpAddr;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::{AssetKind, MacAddr};

domain_enum! {
    /// An identity field a sensor can observe.
    Field, "field" {
        Mac => "mac",
        Ip => "ip",
        Hostname => "hostname",
        Vendor => "vendor",
        Model => "model",
        Firmware => "firmware",
        Serial => "serial",
        Kind => "kind",
        /// Operating system or software stack (e.g. from a DHCP vendor class).
        Os => "os",
        /// Our DHCP fingerprint: option 55 list and option 60.
        DhcpFingerprint => "dhcp_fingerprint",
        /// Our TLS ClientHello fingerprint.
        TlsFingerprint => "tls_fingerprint",
        /// An IEEE EUI-64 the device is known by in HL7 (OBX-18, MSH-3).
        Eui64 => "eui64",
        /// The Manufacturer Usage Description URL the device announced (RFC 8520).
        MudUrl => "mud_url",
        /// A role on the network (dhcp_server, dns_server, router, snmp_manager, …).
        Role => "role",
    }
}

/// One fact about a device with its evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    pub field: Field,
    pub value: String,
    /// Where it was seen, e.g. `dhcp.option12`, `oui`, `hl7.msh3`.
    pub source: String,
    /// 0–100: how sure the rule that produced it is.
    pub confidence: u8,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    pub count: u64,
}

/// Everything a sensor concluded about one device in one batch: the fields it chose
/// (the most confident evidence of each) and all the evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sighting {
    /// `None` for devices known only by address (behind a router).
    pub mac: Option<MacAddr>,
    /// Addresses in use, most recently confirmed first.
    pub ips: Vec<IpAddr>,
    pub hostname: Option<String>,
    pub kind: Option<AssetKind>,
    pub vendor: Option<String>,
    pub model: Option<String>,
    pub firmware: Option<String>,
    pub serial: Option<String>,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    pub evidence: Vec<Evidence>,
}
