//! The hospital simulator: a ward of wireless infusion pumps of five families, their
//! pump servers and the network infrastructure they use (DHCP, DNS, ARP), written as a
//! pcapng capture (as a SPAN port on the pump VLAN would see it) with the ground truth
//! beside it. Deterministic: a seed decides every byte.
//!
//! Besides the pumps' own traffic (DHCP, DNS, NTP, syslog, their server links in clear,
//! proprietary or TLS 1.2/1.3), a biomed workstation polls pumps by SNMPv2c and
//! browses their web consoles by mDNS.
//!
//! The capture also sees the pump-server VLAN's traffic to and from the EHR /
//! alarm-manager subnet (a filtered VACL capture on the core switch, see
//! [`CAPTURE_POINT`]): HL7 v2 over MLLP on TCP 2575, with IHE PCD-01 device data,
//! PCD-10 infusion events, PCD-03 orders and PCD-04 alarms about invented patients
//! ([`clinical`]), each acknowledged on its connection.
//!
//! This crate generates traffic; it does not read captures, store anything or know the
//! sensor. Issue 3's twelve scenarios are played (see [`Scenario`]).

pub mod clinical;
pub mod frame;
mod mllp;
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
pub use ward::{CAPTURE_POINT, Config, Device, START_S, Truth, simulate};
