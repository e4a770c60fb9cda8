//! The policy as Manufacturer Usage Description files (RFC 8520), one per zone, with
//! their access lists in the YANG ACL model (RFC 8519), as JSON (RFC 7951).
//!
//! **Device classes.** Every zone gets one MUD file, named after it (`pumps.json`): a
//! zone is the unit the policy gives rights to, whether it is defined by address ranges
//! (a pump VLAN), by inventory kind or by model, so every zone is a device class. A MUD
//! manager applies the file of a zone to the devices of that zone.
//!
//! **Peers.** MUD files usually name peers by abstractions (`ietf-acldns:dst-dnsname`,
//! `ietf-mud:mud` `controller`, `local-networks`, `same-manufacturer`). pumpguard knows
//! the peers' addresses ([`Zoning::members`]), so every ACE names one of the peer zone's
//! ranges explicitly (`destination-ipv4-network` / `source-ipv6-network` …).
//! `local-networks` is never used: it matches every local network, so it would let the
//! device reach zones its conduits do not name. A conduit whose peer zone has no known
//! address gives no ACE, as [`Zoning::evaluate`] allows nothing through it either.
//!
//! **What each file allows** (the RFC's own example pairs each ACE with its return):
//! - a conduit out of the zone (the zone is `from`): in `from-device-policy`, the peer
//!   range as destination with the service's destination port (`direction-initiated:
//!   from-device` for TCP); in `to-device-policy`, its return: the peer range as source
//!   with the service's port as source port;
//! - a conduit into the zone (the zone is `to`): in `to-device-policy`, the peer range
//!   as source with the service's destination port (`direction-initiated: to-device` for
//!   TCP); in `from-device-policy`, its return, from the service's port;
//! - ICMP (protocol 1, or 58 in IPv6 ACLs): any ICMP towards the peer that the conduit
//!   lets open, and echo replies (type 0, or 129) back;
//! - traffic within the zone, which the policy does not filter (`Verdict::SameZone`):
//!   any protocol to and from the zone's own ranges;
//! - last, an ACE matching everything (RFC 8519: an ACE without matches matches every
//!   packet): `default-deny` (drop, logged) or `default-allow` (accept), the policy's
//!   default.
//!
//! Conduits with `log` have `logging: log-syslog` on the ACE that opens the connection.
//! There is one ACL per address family and direction (`pg-<zone>-v4fr`, `-v4to`,
//! `-v6fr`, `-v6to`), for each family the zone or one of its ACEs has addresses in
//! (IPv4 alone when there is none). ACEs are named `c<n>-<service>-n<m>`
//! (`c1-tcp-8443-n1`: conduit `n` counting the policy's conduits from 1, as the nftables
//! comments do, i.e. the `Verdict::Allowed` index plus one, and the peer zone's `m`th
//! range), `same-zone-n<m>` and `default-deny`/`default-allow`. A service listed twice
//! in a conduit gives its ACEs once.
//!
//! Output is deterministic: policy order, [`Zoning::members`] order, the caller's
//! `last_update`.

use ipnet::IpNet;
use serde_json::{Map, Value, json};

use crate::eval::Zoning;
use crate::model::{DefaultAction, Service};

/// What goes into every MUD file besides the policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MudOptions {
    /// Where the files are published, without the file name:
    /// `https://mud.hospital.example/pumpguard` (RFC 8520 wants `https`).
    pub mud_url_base: String,
    /// `systeminfo` of every file; `None` describes the zone.
    pub systeminfo: Option<String>,
    /// `last-update` (RFC 3339 date and time), given so that the output is
    /// deterministic.
    pub last_update: String,
    /// `cache-validity` in hours; RFC 8520 allows 1 to 168 (its default is 48), and
    /// values outside are clamped to that range.
    pub cache_validity_hours: u8,
}

/// The MUD file of one zone.
#[derive(Debug, Clone, PartialEq)]
pub struct MudFile {
    pub zone: String,
    /// `<zone>.json`; the file's `mud-url` ends with it.
    pub file_name: String,
    pub json: Value,
}

impl MudFile {
    /// The file's text: indented JSON and a final newline.
    pub fn to_pretty_string(&self) -> String {
        format!("{:#}\n", self.json)
    }
}

/// One MUD file per zone of the policy, in policy order.
pub fn compile(zoning: &Zoning<'_>, opts: &MudOptions) -> Vec<MudFile> {
    let policy = zoning.policy();
    let members: Vec<Vec<IpNet>> = (0..policy.zones.len()).map(|i| zoning.members(i)).collect();
    policy
        .zones
        .iter()
        .enumerate()
        .map(|(i, zone)| {
            let file_name = format!("{}.json", zone.name);
            MudFile {
                zone: zone.name.clone(),
                json: zone_file(zoning, &members, i, &file_name, opts),
                file_name,
            }
        })
        .collect()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Family {
    V4,
    V6,
}

impl Family {
    fn of(net: &IpNet) -> Family {
        match net {
            IpNet::V4(_) => Family::V4,
            IpNet::V6(_) => Family::V6,
        }
    }

    fn index(self) -> usize {
        match self {
            Family::V4 => 0,
            Family::V6 => 1,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Family::V4 => "ipv4",
            Family::V6 => "ipv6",
        }
    }
}

/// Which end of a packet the peer range (or the service's port) is.
#[derive(Clone, Copy)]
enum End {
    Source,
    Destination,
}

impl End {
    fn name(self) -> &'static str {
        match self {
            End::Source => "source",
            End::Destination => "destination",
        }
    }
}

/// The ACEs of one direction, per family (`[v4, v6]`).
type Aces = [Vec<Value>; 2];

fn zone_file(
    zoning: &Zoning<'_>,
    members: &[Vec<IpNet>],
    index: usize,
    file_name: &str,
    opts: &MudOptions,
) -> Value {
    let policy = zoning.policy();
    let zone = &policy.zones[index];
    let zone_index = |name: &str| policy.zones.iter().position(|z| z.name == name);
    let mut from_device: Aces = [Vec::new(), Vec::new()];
    let mut to_device: Aces = [Vec::new(), Vec::new()];

    for (ci, conduit) in policy.conduits.iter().enumerate() {
        let outgoing = conduit.from == zone.name;
        if !outgoing && conduit.to != zone.name {
            continue;
        }
        let peer = if outgoing { &conduit.to } else { &conduit.from };
        let Some(peer) = zone_index(peer) else {
            continue;
        };
        let mut seen: Vec<Service> = Vec::new();
        for service in &conduit.services {
            if seen.contains(service) {
                continue;
            }
            seen.push(*service);
            for (ni, net) in members[peer].iter().enumerate() {
                let fam = Family::of(net).index();
                let name = format!("c{}-{}-n{}", ci + 1, slug(service), ni + 1);
                // The ACE that opens the connection, and the one its replies take: the
                // peer is the destination of what the device sends and the source of
                // what it receives.
                let (open_dir, open_end, return_dir, return_end) = if outgoing {
                    (
                        &mut from_device,
                        End::Destination,
                        &mut to_device,
                        End::Source,
                    )
                } else {
                    (
                        &mut to_device,
                        End::Source,
                        &mut from_device,
                        End::Destination,
                    )
                };
                let open = Rule {
                    name: &name,
                    service: *service,
                    net,
                    net_end: open_end,
                    reply: false,
                    initiated: if outgoing { "from-device" } else { "to-device" },
                    log: conduit.log,
                };
                open_dir[fam].push(open.ace());
                return_dir[fam].push(
                    Rule {
                        net_end: return_end,
                        reply: true,
                        log: false,
                        ..open
                    }
                    .ace(),
                );
            }
        }
    }

    // Traffic inside the zone is not filtered by the policy.
    for (ni, net) in members[index].iter().enumerate() {
        let fam = Family::of(net);
        let name = format!("same-zone-n{}", ni + 1);
        from_device[fam.index()].push(network_ace(&name, fam, End::Destination, net));
        to_device[fam.index()].push(network_ace(&name, fam, End::Source, net));
    }

    let mut families: Vec<Family> = [Family::V4, Family::V6]
        .into_iter()
        .filter(|f| {
            !from_device[f.index()].is_empty()
                || !to_device[f.index()].is_empty()
                || members[index].iter().any(|n| Family::of(n) == *f)
        })
        .collect();
    if families.is_empty() {
        families.push(Family::V4);
    }

    let default = match policy.default {
        DefaultAction::Deny => json!({
            "name": "default-deny",
            "matches": {},
            "actions": {"forwarding": "drop", "logging": "log-syslog"}
        }),
        DefaultAction::Allow => json!({
            "name": "default-allow",
            "matches": {},
            "actions": {"forwarding": "accept"}
        }),
    };

    let mut acls = Vec::new();
    let mut from_names = Vec::new();
    let mut to_names = Vec::new();
    for fam in families {
        for (suffix, aces, names) in [
            ("fr", &mut from_device, &mut from_names),
            ("to", &mut to_device, &mut to_names),
        ] {
            let name = format!(
                "pg-{}-{}{suffix}",
                zone.name,
                match fam {
                    Family::V4 => "v4",
                    Family::V6 => "v6",
                }
            );
            let mut list = std::mem::take(&mut aces[fam.index()]);
            list.push(default.clone());
            acls.push(json!({
                "name": name,
                "type": format!("{}-acl-type", fam.name()),
                "aces": {"ace": list}
            }));
            names.push(json!({ "name": name }));
        }
    }

    let systeminfo = opts.systeminfo.clone().unwrap_or_else(|| {
        format!(
            "Devices of segmentation zone '{}' (pumpguard policy)",
            zone.name
        )
    });
    json!({
        "ietf-mud:mud": {
            "mud-version": 1,
            "mud-url": format!("{}/{file_name}", opts.mud_url_base.trim_end_matches('/')),
            "last-update": opts.last_update,
            "cache-validity": opts.cache_validity_hours.clamp(1, 168),
            "is-supported": true,
            "systeminfo": systeminfo,
            "from-device-policy": {"access-lists": {"access-list": from_names}},
            "to-device-policy": {"access-lists": {"access-list": to_names}}
        },
        "ietf-access-control-list:acls": {"acl": acls}
    })
}

/// One ACE allowing a service to or from a peer range.
#[derive(Clone, Copy)]
struct Rule<'a> {
    name: &'a str,
    service: Service,
    net: &'a IpNet,
    /// Which end the peer range is.
    net_end: End,
    /// The ACE is for the replies: the service's port is their source port, and ICMP is
    /// echo replies only.
    reply: bool,
    /// `ietf-mud:direction-initiated` (TCP only).
    initiated: &'static str,
    log: bool,
}

impl Rule<'_> {
    fn ace(&self) -> Value {
        let fam = Family::of(self.net);
        let (protocol, ports) = match self.service {
            Service::Tcp { first, last } => (6, Some(("tcp", first, last))),
            Service::Udp { first, last } => (17, Some(("udp", first, last))),
            Service::Icmp => (if fam == Family::V4 { 1 } else { 58 }, None),
        };
        let mut l3 = Map::new();
        l3.insert("protocol".into(), json!(protocol));
        l3.insert(network_key(fam, self.net_end), json!(self.net.to_string()));
        let mut matches = Map::new();
        matches.insert(fam.name().into(), Value::Object(l3));
        if let Some((l4_name, first, last)) = ports {
            let port = if first == last {
                json!({"operator": "eq", "port": first})
            } else {
                json!({"lower-port": first, "upper-port": last})
            };
            let mut l4 = Map::new();
            let port_end = if self.reply {
                End::Source
            } else {
                End::Destination
            };
            l4.insert(format!("{}-port", port_end.name()), port);
            if l4_name == "tcp" {
                l4.insert("ietf-mud:direction-initiated".into(), json!(self.initiated));
            }
            matches.insert(l4_name.into(), Value::Object(l4));
        } else if self.reply {
            // Echo reply (ICMP type 0, ICMPv6 type 129): the conduit's peer may not open
            // anything else towards the device.
            let echo_reply = if fam == Family::V4 { 0 } else { 129 };
            matches.insert("icmp".into(), json!({ "type": echo_reply }));
        }
        let actions = if self.log {
            json!({"forwarding": "accept", "logging": "log-syslog"})
        } else {
            json!({"forwarding": "accept"})
        };
        json!({"name": self.name, "matches": matches, "actions": actions})
    }
}

/// An ACE accepting any protocol to or from a range.
fn network_ace(name: &str, fam: Family, end: End, net: &IpNet) -> Value {
    let mut l3 = Map::new();
    l3.insert(network_key(fam, end), json!(net.to_string()));
    let mut matches = Map::new();
    matches.insert(fam.name().into(), Value::Object(l3));
    json!({"name": name, "matches": matches, "actions": {"forwarding": "accept"}})
}

fn network_key(fam: Family, end: End) -> String {
    format!("{}-{}-network", end.name(), fam.name())
}

/// A service in an ACE name: `tcp-8443`, `udp-1000-2000`, `icmp`.
fn slug(service: &Service) -> String {
    service.to_string().replace('/', "-")
}
