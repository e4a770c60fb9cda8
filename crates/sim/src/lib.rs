//! The hospital simulator: a ward of wireless infusion pumps of five families, their
//! pump servers and the network infrastructure they use (DHCP, DNS, ARP), written as a
//! pcapng capture (as a SPAN port on the pump VLAN would see it) with the ground truth
//! beside it. Deterministic: a seed decides every byte.
//!
//! This crate generates traffic; it does not read captures, store anything or know the
//! sensor. Eight of issue 3's twelve scenarios are played (see [`Scenario`]); HL7/MLLP,
//! TLS and SNMP traffic and the scenarios that need them are still to come.

pub mod clinical;
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
