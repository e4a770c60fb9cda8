//! The hospital simulator: a ward of wireless infusion pumps of five families, their
//! pump servers and the network infrastructure they use (DHCP, DNS, ARP), written as a
//! pcapng capture (as a SPAN port on the pump VLAN would see it) with the ground truth
//! beside it. Deterministic: a seed decides every byte.
//!
//! This crate generates traffic; it does not read captures, store anything or know the
//! sensor. Attack scenarios, HL7/MLLP, TLS, NTP, syslog, Telnet, FTP and SNMP traffic
//! are still to come (see issue 3).

pub mod frame;
pub mod pcapng;
pub mod profiles;
mod proto;
pub mod rng;
mod sink;
mod tcp;
mod ward;

pub use ward::{Config, Device, START_S, Truth, simulate};
