//! Devices on the segment: a device never seen before joining the pump segment, one
//! MAC used by two devices (different DHCP fingerprints: a clone), and one address
//! claimed by two MACs in ARP (a conflict or spoofing).

use std::net::IpAddr;

use foldhash::HashMap;
use pumpguard_model::{AlertKind, Endpoint, MacAddr, Severity};
use pumpguard_proto::dhcp::Dhcp;

use crate::{Finding, Findings, World, is_pump, who};

/// Bounds of the per-MAC and per-address memories.
const MAX_TRACKED: usize = 65_536;
const MAX_CANDIDATES: usize = 4_096;
/// ARP claims by two MACs this close together (µs) are a conflict.
const CONFLICT_WINDOW_US: i64 = 60 * 1_000_000;
/// A new device whose address never shows is forgotten after this long (µs).
const CANDIDATE_TTL_US: i64 = 10 * 60 * 1_000_000;

#[derive(Debug, Default)]
pub(crate) struct Devices {
    /// The first DHCP fingerprint (option 55 list and option 60) each MAC sent.
    fingerprints: HashMap<MacAddr, String>,
    /// The last ARP claim of each address: MAC and time.
    claims: HashMap<IpAddr, (MacAddr, i64)>,
    /// Prefix length of the subnet DHCP gave each address.
    prefixes: HashMap<IpAddr, u8>,
    /// MACs first seen after the warm-up, waiting for an address: first-seen time.
    candidates: Vec<(MacAddr, i64)>,
}

fn fingerprint(d: &Dhcp) -> String {
    let list: Vec<String> = d.parameter_request_list.iter().map(u8::to_string).collect();
    format!(
        "{}|{}",
        list.join(","),
        d.vendor_class.as_deref().unwrap_or("")
    )
}

fn same_network(a: IpAddr, b: IpAddr, prefix: u8) -> bool {
    match (a, b) {
        (IpAddr::V4(a), IpAddr::V4(b)) => {
            let mask = u32::MAX
                .checked_shl(32 - u32::from(prefix.min(32)))
                .unwrap_or(0);
            u32::from(a) & mask == u32::from(b) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(b)) => {
            let mask = u128::MAX
                .checked_shl(128 - u32::from(prefix.min(128)))
                .unwrap_or(0);
            u128::from(a) & mask == u128::from(b) & mask
        }
        _ => false,
    }
}

impl Devices {
    pub(crate) fn dhcp(&mut self, f: &mut Findings, ts: i64, d: &Dhcp, world: &dyn World) {
        let Ok(mac) = d.client_mac.parse::<MacAddr>() else {
            return;
        };
        if d.op == 2 {
            if let Some(mask) = d.subnet_mask
                && !d.yiaddr.is_unspecified()
                && self.prefixes.len() < MAX_TRACKED
            {
                self.prefixes
                    .insert(IpAddr::V4(d.yiaddr), u32::from(mask).count_ones() as u8);
            }
            return;
        }
        if d.parameter_request_list.is_empty() {
            return;
        }
        let print = fingerprint(d);
        match self.fingerprints.get(&mac) {
            None => {
                if self.fingerprints.len() < MAX_TRACKED {
                    self.fingerprints.insert(mac, print);
                }
            }
            Some(first) if *first != print => {
                let first = first.clone();
                let ip = world.ip_of(mac);
                let pump = ip.is_some_and(|i| is_pump(world, i));
                let name = ip.map(|i| who(world, i)).unwrap_or_else(|| mac.to_string());
                f.raise(Finding {
                    kind: AlertKind::MacClone,
                    severity: Severity::High,
                    subject: Endpoint { ip, mac: Some(mac) },
                    peer: None,
                    proto: "dhcp",
                    port: Some(67),
                    ts,
                    flow: None,
                    facts: vec![
                        ("mac", mac.to_string()),
                        ("dhcp.fingerprint.first", first),
                        ("dhcp.fingerprint.now", print),
                        ("dhcp.hostname", d.hostname.clone().unwrap_or_default()),
                        (
                            "dhcp.requested_address",
                            d.requested_address
                                .map(|a| a.to_string())
                                .unwrap_or_default(),
                        ),
                    ],
                    sentence: format!(
                        "{}MAC {mac} of {name} now asks DHCP with another fingerprint \
                         (hostname '{}'): two devices share one MAC",
                        if pump { "the pump " } else { "" },
                        d.hostname.as_deref().unwrap_or("")
                    ),
                    action: "Find the second device (switch port of the MAC) and remove it; \
                        enforce 802.1X so a copied MAC cannot join the pump network.",
                });
            }
            Some(_) => {}
        }
    }

    pub(crate) fn arp(
        &mut self,
        f: &mut Findings,
        mac: MacAddr,
        ip: IpAddr,
        ts: i64,
        world: &dyn World,
    ) {
        if ip.is_unspecified() || world.is_router(mac) {
            return;
        }
        if let Some(&(other, at)) = self.claims.get(&ip)
            && other != mac
            && ts.saturating_sub(at) < CONFLICT_WINDOW_US
            && !world.is_router(other)
        {
            f.raise(Finding {
                kind: AlertKind::IpConflict,
                severity: Severity::Medium,
                subject: Endpoint {
                    ip: Some(ip),
                    mac: Some(other),
                },
                peer: Some(Endpoint {
                    ip: Some(ip),
                    mac: Some(mac),
                }),
                proto: "arp",
                port: None,
                ts,
                flow: None,
                facts: vec![
                    ("ip", ip.to_string()),
                    ("mac.first", other.to_string()),
                    ("mac.second", mac.to_string()),
                ],
                sentence: format!(
                    "{} is claimed by {other} and {mac} within a minute (ARP)",
                    who(world, ip)
                ),
                action: "Find both devices (switch ports of the MACs): a duplicate static \
                    address, or ARP spoofing to intercept the device's traffic.",
            });
        }
        if self.claims.len() < MAX_TRACKED || self.claims.contains_key(&ip) {
            self.claims.insert(ip, (mac, ts));
        }
    }

    pub(crate) fn new_mac(&mut self, mac: MacAddr, after_warmup: bool, ts: i64, world: &dyn World) {
        if after_warmup && !world.is_router(mac) && self.candidates.len() < MAX_CANDIDATES {
            self.candidates.push((mac, ts));
        }
    }

    /// New MACs whose address is known now: an alert when it is on a pump segment.
    pub(crate) fn decide(&mut self, f: &mut Findings, world: &dyn World) {
        let candidates = std::mem::take(&mut self.candidates);
        let newest = candidates.iter().map(|c| c.1).max().unwrap_or(0);
        for (mac, ts) in candidates {
            let Some(ip) = world.ip_of(mac) else {
                if newest.saturating_sub(ts) < CANDIDATE_TTL_US {
                    self.candidates.push((mac, ts));
                }
                continue;
            };
            if world.is_router(mac) || is_pump(world, ip) {
                continue;
            }
            let prefix = self.prefixes.get(&ip).copied().unwrap_or(24);
            let pump_neighbour = self
                .prefixes
                .keys()
                .chain(self.claims.keys())
                .find(|a| **a != ip && same_network(**a, ip, prefix) && is_pump(world, **a))
                .copied();
            let Some(pump) = pump_neighbour else {
                continue;
            };
            f.raise(Finding {
                kind: AlertKind::NewDeviceOnPumpSegment,
                severity: Severity::Medium,
                subject: Endpoint {
                    ip: Some(ip),
                    mac: Some(mac),
                },
                peer: None,
                proto: "ethernet",
                port: None,
                ts,
                flow: None,
                facts: vec![
                    ("mac", mac.to_string()),
                    ("ip", ip.to_string()),
                    ("segment", format!("{ip}/{prefix}")),
                    ("pump_on_segment", pump.to_string()),
                    (
                        "kind",
                        world
                            .kind_of(ip)
                            .map(|k| k.as_str())
                            .unwrap_or("unknown")
                            .into(),
                    ),
                ],
                sentence: format!(
                    "a device not seen before, {} ({mac}), joined the pump segment of {}",
                    who(world, ip),
                    who(world, pump)
                ),
                action: "Identify the device and its owner; if it does not belong, remove it \
                    and enforce 802.1X on the pump network.",
            });
        }
    }
}
