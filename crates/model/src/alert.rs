//! Alerts: what the detectors concluded from the wire, tied to inventory assets,
//! de-duplicated per (kind, asset, peer) and worked by analysts (open → acknowledged →
//! resolved).

use std::net::IpAddr;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::{Criticality, MacAddr};

domain_enum! {
    /// How urgently an alert needs a person.
    Severity, "severity" {
        Info => "info",
        Low => "low",
        Medium => "medium",
        High => "high",
        Critical => "critical",
    }
}

impl Severity {
    /// One step up (critical stays critical).
    pub fn raised(self) -> Severity {
        match self {
            Severity::Info => Severity::Low,
            Severity::Low => Severity::Medium,
            Severity::Medium => Severity::High,
            Severity::High | Severity::Critical => Severity::Critical,
        }
    }

    /// The severity an alert gets on an asset of this criticality: one step up for
    /// `life_sustaining` assets.
    pub fn for_asset(self, criticality: Option<Criticality>) -> Severity {
        match criticality {
            Some(Criticality::LifeSustaining) => self.raised(),
            _ => self,
        }
    }
}

domain_enum! {
    /// Where an alert is in an analyst's work.
    AlertStatus, "alert status" {
        Open => "open",
        Acknowledged => "acknowledged",
        Resolved => "resolved",
    }
}

domain_enum! {
    /// What a detector found.
    AlertKind, "alert kind" {
        /// Telnet, FTP, HTTP administration or SNMPv1/v2c (community) into a pump.
        CleartextManagementToPump => "cleartext_management_to_pump",
        /// The same into a device that is not a pump.
        CleartextManagement => "cleartext_management",
        /// A file stored on a pump over FTP.
        FtpUploadToPump => "ftp_upload_to_pump",
        /// A pump opening connections to hosts that are not its servers or infrastructure.
        PumpPivot => "pump_pivot",
        /// A pump exchanging traffic with an internet address.
        PumpToInternet => "pump_to_internet",
        /// A device not seen before joins the pump segment.
        NewDeviceOnPumpSegment => "new_device_on_pump_segment",
        /// One MAC used by two devices (different DHCP fingerprints).
        MacClone => "mac_clone",
        /// One address claimed by two MACs.
        IpConflict => "ip_conflict",
        /// A device's kind changed (e.g. a "pump" that now behaves like a PC).
        DeviceClassChange => "device_class_change",
        /// HL7 with patient identifiers (name, birth date, address…) in cleartext.
        CleartextHl7Phi => "cleartext_hl7_phi",
        /// An infusion order (PCD-03 RGV^O15) from a host that does not send orders.
        Pcd03UnexpectedSource => "pcd03_unexpected_source",
        /// An infusion order above the drug library's hard limit.
        Pcd03OverHardLimit => "pcd03_over_hard_limit",
        /// A drug library or firmware pushed to a pump by a host that is not its server.
        DruglibTransferFromUnknownHost => "druglib_transfer_from_unknown_host",
        /// TLS 1.1 or older negotiated.
        WeakTlsVersion => "weak_tls_version",
        /// A weak cipher suite (NULL, export, anonymous, RC4, DES, 3DES) negotiated.
        WeakTlsCipher => "weak_tls_cipher",
        /// A server certificate outside its validity period.
        ExpiredCertificate => "expired_certificate",
        /// A self-signed server certificate.
        SelfSignedCertificate => "self_signed_certificate",
        /// A server certificate that does not name the server the client asked for.
        CertificateNameMismatch => "certificate_name_mismatch",
        /// A SYN/UDP flood or connection storm against one service.
        Dos => "dos",
        /// A device moving far more bytes in an hour than its baseline says it does.
        VolumeAnomaly => "volume_anomaly",
        /// A connection between zones that the segmentation policy does not allow.
        PolicyViolation => "policy_violation",
        /// A device certificate from pumpguard's CA that expires soon (or has expired)
        /// with no newer one for its subject.
        CertificateExpiring => "certificate_expiring",
        /// An infusion order the gateway did not forward: outside the drug library's
        /// hard limits, unknown drug, unit mismatch or malformed.
        OrderBlocked => "order_blocked",
        /// An infusion order outside the soft limits, forwarded (the clinician confirms
        /// at the pump).
        OrderSoftLimit => "order_soft_limit",
        /// Orders the gateway could not deliver: the pump server was unreachable.
        GatewayUpstreamDown => "gateway_upstream_down",
        /// A sender the gateway turned away (no valid client certificate, broken frames).
        GatewayClientRefused => "gateway_client_refused",
        /// A pump reporting a drug-library version (IHE PCD-10) that matches no library
        /// the pharmacy approved (`druglib approve`).
        DruglibUnknownVersion => "druglib_unknown_version",
    }
}

/// One end of what an alert is about, as seen on the wire.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Endpoint {
    pub ip: Option<IpAddr>,
    pub mac: Option<MacAddr>,
}

/// A decoded fact backing an alert (`sni` = `alarms.hospital.example`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertFact {
    pub name: String,
    pub value: String,
}

/// What backs an alert: the flows (by 5-tuple key, as `flows list` shows them), decoded
/// facts and a short sentence a person can read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertEvidence {
    /// Flow keys (`proto lo_ip lo_port hi_ip hi_port`), at most [`MAX_EVIDENCE_FLOWS`].
    pub flows: Vec<String>,
    /// The store's `flow_id`s of those of `flows` it holds, in the same order (the store
    /// fills this in; detectors leave it empty).
    #[serde(default)]
    pub flow_ids: Vec<i64>,
    pub facts: Vec<AlertFact>,
    pub sentence: String,
}

/// Flows kept as evidence per alert.
pub const MAX_EVIDENCE_FLOWS: usize = 16;

/// What a detector saw, before the store ties it to inventory assets: the sensor knows
/// devices by MAC and address only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Detection {
    pub kind: AlertKind,
    /// Before any raise for life-sustaining assets (the store knows criticality).
    pub severity: Severity,
    /// The device the alert is about (the pump, the server attacked…).
    pub subject: Endpoint,
    /// The other end, when there is one (the attacker, the internet host…).
    pub peer: Option<Endpoint>,
    /// Transport or application: `telnet`, `ftp`, `hl7`, `tls`, `tcp`, `udp`, `dhcp`…
    pub proto: String,
    pub port: Option<u16>,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    /// Occurrences (connections, messages, packets: the detector says).
    pub count: u64,
    pub evidence: AlertEvidence,
    /// What to do about it.
    pub action: String,
}

/// A stored alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub id: i64,
    pub kind: AlertKind,
    pub severity: Severity,
    pub status: AlertStatus,
    /// The inventory asset the alert is about, when the subject is one.
    pub asset_id: Option<String>,
    /// The peer's asset, when it is one.
    pub peer_asset_id: Option<String>,
    pub subject: Endpoint,
    pub peer: Option<Endpoint>,
    pub proto: String,
    pub port: Option<u16>,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    pub count: u64,
    pub evidence: AlertEvidence,
    pub action: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn life_sustaining_assets_raise_one_step() {
        assert_eq!(
            Severity::Medium.for_asset(Some(Criticality::LifeSustaining)),
            Severity::High
        );
        assert_eq!(
            Severity::Critical.for_asset(Some(Criticality::LifeSustaining)),
            Severity::Critical
        );
        assert_eq!(
            Severity::Low.for_asset(Some(Criticality::High)),
            Severity::Low
        );
        assert_eq!(Severity::Low.for_asset(None), Severity::Low);
        assert!(Severity::Critical > Severity::High && Severity::Info < Severity::Low);
    }

    #[test]
    fn kinds_round_trip_their_names() {
        for k in AlertKind::ALL {
            assert_eq!(k.as_str().parse::<AlertKind>(), Ok(*k));
        }
        assert!("nope".parse::<AlertStatus>().is_err());
    }
}
