//! The hospital simulator: a ward of wireless infusion pumps of five families, their
//! pump servers and the network infrastructure they use (DHCP, DNS, ARP), written as a
//! pcapng capture (as a SPAN port on the pump VLAN would see it) with the ground truth
//! beside it. Deterministic: a seed decides every byte.
//!
//! Besides the pumps' own traffic (DHCP, DNS, NTP, syslog, their server links in clear,
//! proprietary or TLS 1.2/1.3), a biomed workstation polls pumps by SNMPv2c and
//! browses their web consoles by mDNS.
//!
//! This crate generates traffic; it does not read captures, store anything or know the
//! sensor. Ten of issue 3's scenarios are played (see [`Scenario`]); HL7/MLLP traffic
//! and the scenarios that need it are still to come.

pub mod clinical;
pub mod frame;
pub mod pcapng;
pub mod pki;
pub mod profiles;
mod proto;
pub mod rng;
pub mod scenarios;
mod sink;
mod tcp;
mod tls;
mod ward;

pub use scenarios::{Scenario, ScenarioTruth};
pub use ward::{Config, Device, START_S, Truth, simulate};
