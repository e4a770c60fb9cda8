//! Baselines: what each device and each device model normally does on the network —
//! the peers and services it uses, and how many bytes it moves per hour of the day —
//! learned from traffic over a window and stored as numbered versions. Detectors
//! compare live traffic with the newest version.

use std::net::IpAddr;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::MacAddr;

/// A service a device uses as a client: the server's address, port and transport, and
/// the application found on it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PeerService {
    pub ip: IpAddr,
    pub port: u16,
    /// `tcp` or `udp`.
    pub proto: String,
    /// Application protocol (`hl7`, `tls`, …; `unknown`).
    pub app: String,
}

/// One device's normal behaviour.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceBaseline {
    pub mac: Option<MacAddr>,
    pub ip: Option<IpAddr>,
    /// `vendor model` as the sensor knew it, when known.
    pub model: Option<String>,
    /// Services it opened connections to (at most a few hundred).
    pub peers: Vec<PeerService>,
    /// Ports on which others connected to it.
    pub listens: Vec<u16>,
    /// For each hour of the day (UTC, 0–23): the most bytes it moved in one such
    /// clock hour while learning (both directions).
    pub hourly_bytes: Vec<u64>,
    /// Clock hours it was seen in while learning.
    pub hours_seen: u32,
}

/// What devices of one model do: the union of their services.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelBaseline {
    pub model: String,
    pub peers: Vec<PeerService>,
    /// Devices of the model seen while learning.
    pub devices: u32,
}

/// A learned baseline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    /// The traffic window it was learned from.
    pub learned_from: Timestamp,
    pub learned_until: Timestamp,
    pub devices: Vec<DeviceBaseline>,
    pub models: Vec<ModelBaseline>,
}

/// A stored baseline version, without its body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BaselineInfo {
    pub version: i64,
    pub created: Timestamp,
    pub learned_from: Timestamp,
    pub learned_until: Timestamp,
    pub devices: u64,
    pub models: u64,
    /// Who stored it (`sense` with its origin, e.g. the capture files).
    pub origin: String,
}
