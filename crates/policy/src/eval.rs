//! Which zone an address is in, and what the policy says about a connection.

use std::collections::HashMap;
use std::net::IpAddr;

use ipnet::IpNet;
use pumpguard_model::Asset;
use serde::Serialize;

use crate::model::{DefaultAction, Policy, Service};

/// The policy's zones resolved against the inventory: address ranges first, then the
/// kind or model of the asset at the address.
#[derive(Debug)]
pub struct Zoning<'a> {
    policy: &'a Policy,
    by_ip: HashMap<IpAddr, &'a Asset>,
}

/// What the policy says about one connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "verdict")]
pub enum Verdict {
    /// Both ends in the same zone: not routed through the firewall, not filtered.
    SameZone,
    /// Allowed by the conduit with this index.
    Allowed { conduit: usize },
    /// No conduit allows it and the default is deny.
    Denied,
    /// No conduit allows it and the default is allow.
    DefaultAllowed,
}

impl Verdict {
    pub fn is_violation(self) -> bool {
        self == Verdict::Denied
    }
}

impl<'a> Zoning<'a> {
    pub fn new(policy: &'a Policy, assets: &'a [Asset]) -> Zoning<'a> {
        let mut by_ip = HashMap::new();
        for a in assets {
            for ip in &a.ips {
                by_ip.insert(*ip, a);
            }
        }
        Zoning { policy, by_ip }
    }

    pub fn policy(&self) -> &'a Policy {
        self.policy
    }

    /// The index of the zone `ip` is in: the zone whose range holds it, else the first
    /// zone naming the kind or model of the asset at it.
    pub fn zone_of(&self, ip: IpAddr) -> Option<usize> {
        let zones = &self.policy.zones;
        if let Some(i) = zones
            .iter()
            .position(|z| z.cidrs.iter().any(|n| n.contains(&ip)))
        {
            return Some(i);
        }
        let asset = self.by_ip.get(&ip)?;
        zones.iter().position(|z| {
            z.kinds.contains(&asset.kind)
                || asset
                    .model
                    .as_deref()
                    .is_some_and(|m| z.models.iter().any(|zm| zm == m))
        })
    }

    pub fn zone_name(&self, ip: IpAddr) -> Option<&'a str> {
        self.zone_of(ip).map(|i| self.policy.zones[i].name.as_str())
    }

    /// The asset at an address, if the inventory knows it.
    pub fn asset_at(&self, ip: IpAddr) -> Option<&'a Asset> {
        self.by_ip.get(&ip).copied()
    }

    /// Every address range of zone `index`: its ranges, then (as single-address
    /// ranges, in address order) the addresses of the inventory's assets that are in it
    /// by kind or model and not already in one of those ranges. What a compiled
    /// ruleset matches on.
    pub fn members(&self, index: usize) -> Vec<IpNet> {
        let Some(zone) = self.policy.zones.get(index) else {
            return Vec::new();
        };
        let mut out = zone.cidrs.clone();
        let mut extra: Vec<IpAddr> = self
            .by_ip
            .keys()
            .copied()
            .filter(|ip| {
                !zone.cidrs.iter().any(|n| n.contains(ip)) && self.zone_of(*ip) == Some(index)
            })
            .collect();
        extra.sort();
        out.extend(extra.into_iter().map(IpNet::from));
        out
    }

    /// The verdict on a connection `client` → `server` of transport `proto` to `port`.
    /// An address in no zone is outside every zone: only the default applies to it.
    pub fn evaluate(&self, proto: &str, client: IpAddr, server: IpAddr, port: u16) -> Verdict {
        let (from, to) = (self.zone_of(client), self.zone_of(server));
        if from.is_some() && from == to {
            return Verdict::SameZone;
        }
        if let (Some(f), Some(t)) = (from, to) {
            let (f, t) = (&self.policy.zones[f].name, &self.policy.zones[t].name);
            if let Some(i) = self.policy.conduits.iter().position(|c| {
                &c.from == f && &c.to == t && c.services.iter().any(|s| s.matches(proto, port))
            }) {
                return Verdict::Allowed { conduit: i };
            }
        }
        match self.policy.default {
            DefaultAction::Deny => Verdict::Denied,
            DefaultAction::Allow => Verdict::DefaultAllowed,
        }
    }
}

/// The service a flow used, for reports (`tcp/23`).
pub fn service_name(proto: &str, port: u16) -> String {
    Service::of_flow(proto, port).map_or_else(|| proto.to_owned(), |s| s.to_string())
}
