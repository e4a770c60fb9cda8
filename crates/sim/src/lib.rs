//! The hospital simulator: a ward of wireless infusion pumps of five families, their
//! pump servers and the network infrastructure they use (DHCP, DNS, ARP), written as a
//! pcapng capture (as a SPAN port on the pump VLAN would see it) with the ground truth
//! beside it. Deterministic: a seed decides every byte.
//!
//! This crate generates traffic; it does not read captures, store anything or know the
//! sensor. Scenarios so far: `telnet_to_pump`, `ftp_upload_to_pump`. HL7/MLLP, TLS,
//! NTP, syslog and SNMP traffic and the other scenarios of issue 3 are still to come.

pub mod frame;
pub mod pcapng;
pub mod profiles;
mod proto;
pub mod rng;
pub mod scenarios;
mod sink;
mod tcp;
mod ward;

pub use scenarios::{Scenario, ScenarioTruth};
pub use ward::{Config, Device, START_S, Truth, simulate};
