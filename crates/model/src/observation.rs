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

/// One pump's reports of one drug-library version (IHE PCD-10
/// `MDC_PUMP_DRUG_LIBRARY_VERSION`), as the sensor adds them up and the store's ledger
/// keeps them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LibraryReport {
    /// The pump: the MAC of the EUI-64 the message names (with its address when known),
    /// else the sender; tied to an asset by MAC, then by address. Empty when the
    /// message names a device by an identifier that is no MAC's EUI-64 (then `device`
    /// says which).
    pub pump: crate::Endpoint,
    /// The device identifier the message gave (OBX-18), as written.
    pub device: Option<String>,
    /// Who sent the reports: the pump server, or the pump itself.
    pub reporter: crate::Endpoint,
    /// The version, as reported.
    pub version: String,
    /// The care area, when the message gave one (`MDC_PUMP_DRUG_LIBRARY_CARE_AREA`).
    pub care_area: Option<String>,
    pub first_seen: jiff::Timestamp,
    pub last_seen: jiff::Timestamp,
    pub count: u64,
    /// Keys of the flows that carried the reports (the first few).
    pub flows: Vec<String>,
}
