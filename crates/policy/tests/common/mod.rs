//! What the policy tests share: the policies under `tests/data/` and the inventory
//! `mixed.yaml` resolves against.

#![allow(dead_code)]

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use ipnet::IpNet;
use pumpguard_model::{Asset, AssetKind, Source};
use pumpguard_policy::{Policy, Zoning};

pub fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

pub fn policy(name: &str) -> Policy {
    let text = std::fs::read_to_string(data(name)).expect("policy file");
    Policy::parse(&text, name).expect("policy parses")
}

pub fn ip(s: &str) -> IpAddr {
    s.parse().expect("address")
}

/// The inventory of `mixed.yaml`: two assets in `ehr` (by kind, by model, one with both
/// families) and one of kind `ehr` inside the pumps range (ranges win).
pub fn inventory() -> Vec<Asset> {
    let mut ehr = Asset::new(
        "EHR-1".parse().expect("id"),
        AssetKind::Ehr,
        Source::Imported,
    );
    ehr.ips = vec![ip("10.50.0.5")];
    let mut bridge = Asset::new(
        "BR-1".parse().expect("id"),
        AssetKind::Other,
        Source::Imported,
    );
    bridge.model = Some("Epic Bridges".into());
    bridge.ips = vec![ip("10.50.0.9"), ip("2001:db8:50::9")];
    let mut pump = Asset::new("P-1".parse().expect("id"), AssetKind::Ehr, Source::Imported);
    pump.ips = vec![ip("10.20.0.7")];
    vec![ehr, bridge, pump]
}

/// Addresses to try: one inside each range of each zone, and two in no zone.
pub fn probes(zoning: &Zoning<'_>) -> Vec<IpAddr> {
    let mut out = vec![ip("192.0.2.1"), ip("2001:db8:ff::1")];
    for i in 0..zoning.policy().zones.len() {
        for net in zoning.members(i) {
            out.push(match net {
                IpNet::V4(n) if n.prefix_len() < 30 => {
                    IpAddr::from(std::net::Ipv4Addr::from(u32::from(n.network()) + 5))
                }
                IpNet::V6(n) if n.prefix_len() < 120 => {
                    IpAddr::from(std::net::Ipv6Addr::from(u128::from(n.network()) + 5))
                }
                other => other.addr(),
            });
        }
    }
    out
}
