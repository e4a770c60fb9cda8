//! A least-privilege policy proposed from what was observed: zones from the inventory
//! (its `zone` attribute, else the device kind) and the addressing (the /24 or /64
//! networks a zone's devices alone use), conduits from the flows that crossed zones,
//! with exactly the services they used. By construction the proposal allows every
//! flow it learned from.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use ipnet::IpNet;
use pumpguard_model::{Asset, FlowRecord, Lifecycle};

use crate::check::is_link_local;
use crate::model::{Conduit, DefaultAction, Policy, Service, Zone};

/// The zone hosts seen in flows but in no zone (outside the inventory: the internet,
/// hosts behind a router) are put in, one address each, so that a reviewer sees them.
pub const OUTSIDE: &str = "outside";

/// The zone an asset is proposed for: its inventory zone, else its kind.
fn group_of(a: &Asset) -> String {
    let raw = a
        .zone
        .clone()
        .filter(|z| !z.trim().is_empty())
        .unwrap_or_else(|| a.kind.as_str().to_owned());
    let name: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(32)
        .collect();
    if name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        name
    } else {
        format!("z{}", &name[..name.len().min(31)])
    }
}

fn network_of(ip: IpAddr) -> IpNet {
    let prefix = if ip.is_ipv4() { 24 } else { 64 };
    IpNet::new(ip, prefix).map_or_else(|_| IpNet::from(ip), |n| n.trunc())
}

/// Proposes a policy for `assets` that allows `flows` and nothing else between zones.
pub fn learn(assets: &[Asset], flows: &[FlowRecord]) -> Policy {
    let live: Vec<&Asset> = assets
        .iter()
        .filter(|a| a.lifecycle != Lifecycle::Retired && !a.ips.is_empty())
        .collect();
    // Each group's addresses, and which groups use each network.
    let mut members: BTreeMap<String, BTreeSet<IpAddr>> = BTreeMap::new();
    let mut users: BTreeMap<IpNet, BTreeSet<String>> = BTreeMap::new();
    for a in &live {
        let g = group_of(a);
        for ip in &a.ips {
            if is_link_local(*ip) {
                continue;
            }
            members.entry(g.clone()).or_default().insert(*ip);
            users.entry(network_of(*ip)).or_default().insert(g.clone());
        }
    }
    let mut by_ip: BTreeMap<IpAddr, String> = BTreeMap::new();
    for (g, ips) in &members {
        for ip in ips {
            // An address two assets claim goes to the first group (in name order).
            by_ip.entry(*ip).or_insert_with(|| g.clone());
        }
    }
    // Hosts in flows that no asset has: one outside zone.
    let mut outside: BTreeSet<IpAddr> = BTreeSet::new();
    for f in flows {
        for ip in [f.client_ip, f.server_ip] {
            if !is_link_local(ip) && !by_ip.contains_key(&ip) {
                outside.insert(ip);
            }
        }
    }
    let mut zones: Vec<Zone> = members
        .iter()
        .map(|(g, ips)| {
            let mut cidrs: BTreeSet<IpNet> = BTreeSet::new();
            for ip in ips {
                let net = network_of(*ip);
                let only_us = users.get(&net).is_some_and(|u| u.len() == 1)
                    && !outside.iter().any(|o| net.contains(o));
                if only_us {
                    cidrs.insert(net);
                } else if by_ip.get(ip) == Some(g) {
                    cidrs.insert(IpNet::from(*ip));
                }
            }
            Zone {
                name: g.clone(),
                vlan: None,
                cidrs: cidrs.into_iter().collect(),
                kinds: Vec::new(),
                models: Vec::new(),
                line: 0,
            }
        })
        .filter(|z| !z.cidrs.is_empty())
        .collect();
    if !outside.is_empty() && !zones.iter().any(|z| z.name == OUTSIDE) {
        zones.push(Zone {
            name: OUTSIDE.into(),
            vlan: None,
            cidrs: outside.iter().map(|ip| IpNet::from(*ip)).collect(),
            kinds: Vec::new(),
            models: Vec::new(),
            line: 0,
        });
    }
    let zone_of = |ip: IpAddr| {
        zones
            .iter()
            .find(|z| z.cidrs.iter().any(|n| n.contains(&ip)))
            .map(|z| z.name.clone())
    };
    let mut needs: BTreeMap<(String, String), BTreeSet<Service>> = BTreeMap::new();
    for f in flows {
        if is_link_local(f.client_ip) || is_link_local(f.server_ip) {
            continue;
        }
        let (Some(from), Some(to)) = (zone_of(f.client_ip), zone_of(f.server_ip)) else {
            continue;
        };
        if from == to {
            continue;
        }
        if let Some(s) = Service::of_flow(&f.proto, f.server_port) {
            needs.entry((from, to)).or_default().insert(s);
        }
    }
    let conduits = needs
        .into_iter()
        .map(|((from, to), services)| Conduit {
            from,
            to,
            services: services.into_iter().collect(),
            log: false,
            line: 0,
        })
        .collect();
    Policy {
        zones,
        conduits,
        default: DefaultAction::Deny,
    }
}
