//! The policy as Cisco IOS extended ACLs, one per zone and address family, applied
//! inbound on the zone's SVI: they filter what the zone's hosts send to be routed.
//!
//! For zone `pumps` the ACLs are `PG-PUMPS-IN` (`ip access-list extended`) and
//! `PG-PUMPS-IN-V6` (`ipv6 access-list`): the zone's name upper-cased, `_` turned into
//! `-` (anything else outside letters, digits and `-` too). Zones whose names map to the
//! same ACL name (`lab_a` and `lab-a`), or to [`NO_ZONE_ACL`]'s, get `-Z<n>` added, `n`
//! counting the zones from 1; names are cut to fit IOS's 64 characters. Each ACL holds,
//! in this order:
//!
//! - traffic inside the zone, which the policy does not filter (`Verdict::SameZone`):
//!   nothing when the zone has one range (its hosts talk without being routed), else
//!   `permit ip <range> <other range>` for each pair of the zone's ranges (an inventory
//!   host in the zone by kind or model is a range of its own), since that is routed;
//! - in policy order, for a conduit out of the zone: a `remark conduit <n>: <from> ->
//!   <to>` (`n` counts the policy's conduits from 1, like the nftables comments; `(policy
//!   line <l>)` when the conduit came from a file), then one `permit` per service, zone
//!   range and peer range: `permit tcp 10.20.0.0 0.0.255.255 10.30.0.0 0.0.0.255 eq 8443`
//!   (`range 1000 2000` for port ranges, `permit icmp …` for ICMP), with `log` when the
//!   conduit has `log: true`;
//! - for a conduit into the zone, its replies, which leave through this ACL: `permit tcp
//!   <zone> eq 8443 <peer> established` for TCP; for UDP `permit udp <zone> eq 123
//!   <peer>`, which is stateless (any datagram from that port passes; a remark says so:
//!   reflexive ACLs or a zone-based firewall keep state); for ICMP `permit icmp <zone>
//!   <peer> echo-reply`;
//! - the default: `deny ip any any log` (`deny ipv6 any any log`) or `permit ip any any`
//!   (`permit ipv6 any any`). Before an explicit IPv6 deny, neighbor discovery and router
//!   solicitations are permitted (the deny would otherwise drop IOS's implicit permits
//!   for them).
//!
//! Hosts are `host A.B.C.D`, IPv4 networks an address and a wildcard mask (`10.20.0.0
//! 0.0.255.255`), IPv6 networks `2001:db8::/64`, `/0` is `any`. Then `interface
//! Vlan<vlan>` with `ip access-group PG-PUMPS-IN in` and `ipv6 traffic-filter
//! PG-PUMPS-IN-V6 in`. A zone without a vlan gets `!` comments saying to apply the ACLs
//! inbound on the interfaces facing its hosts; a zone sharing a vlan with an earlier zone
//! gets a warning instead (an interface takes one ACL per direction and family). A zone
//! with no known address gets no ACL, a family the zone has no address in none either;
//! a conduit whose peer has no address in the family gets a remark saying nothing is
//! permitted (like [`Zoning::evaluate`], which allows nothing through it).
//!
//! Inbound ACLs on the zones' SVIs do not see what enters from addresses in no zone
//! (uplinks, VLANs of no zone), which `default: deny` denies into every zone. For it,
//! with `default: deny`, [`NO_ZONE_ACL`] (and `-V6`) denies (and logs) every zone range
//! as destination and permits the rest (traffic between addresses in no zone is not the
//! policy's to filter), with `!` comments saying to apply it inbound on every routed
//! interface facing no zone. An interface facing both hosts of a zone without vlan (one
//! by kind or model) and hosts of no zone needs the zone's entries merged in front.
//!
//! Every ACL is preceded by `no ip access-list extended …` (`no ipv6 access-list …`):
//! pasting an ACL into a configuration that has it adds to its entries rather than
//! replacing them. Until the new ACL is in, the interface filters nothing.
//!
//! The ACLs also filter what the hosts send to the switch itself (DHCP relay, HSRP or
//! VRRP, routing protocols, the SVI's own address); the header says to permit that first
//! where it is needed. Output is deterministic: policy order and [`Zoning::members`]
//! order.

use std::fmt::Write as _;
use std::net::Ipv4Addr;

use ipnet::{IpNet, Ipv4Net};

use crate::eval::Zoning;
use crate::model::{DefaultAction, Policy, Service};

/// The ACL for interfaces facing no zone (`default: deny` only); the IPv6 one adds
/// `-V6`.
pub const NO_ZONE_ACL: &str = "PG-NO-ZONE-IN";

/// IOS's longest ACL name.
const MAX_NAME: usize = 64;
/// IOS's longest remark.
const MAX_REMARK: usize = 100;

/// The IPv4 ACL name of every zone of the policy, in policy order (the IPv6 one adds
/// `-V6`).
pub fn acl_names(policy: &Policy) -> Vec<String> {
    let base = |name: &str| {
        let mut s = String::from("PG-");
        s.extend(name.chars().map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '-'
            }
        }));
        s
    };
    let bases: Vec<String> = policy.zones.iter().map(|z| base(&z.name)).collect();
    let reserved = NO_ZONE_ACL.trim_end_matches("-IN");
    bases
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let mut name = b.clone();
            let shared = bases.iter().filter(|o| *o == b).count() > 1 || b == reserved;
            let suffix = if shared {
                format!("-Z{}-IN", i + 1)
            } else {
                "-IN".to_owned()
            };
            // Room for the suffix and the IPv6 ACL's `-V6`.
            name.truncate(MAX_NAME - suffix.len() - 3);
            name.push_str(&suffix);
            name
        })
        .collect()
}

/// The IOS configuration of the policy's ACLs and their interfaces.
pub fn compile(zoning: &Zoning<'_>) -> String {
    let policy = zoning.policy();
    let members: Vec<Vec<IpNet>> = (0..policy.zones.len()).map(|i| zoning.members(i)).collect();
    let names = acl_names(policy);
    let mut out = String::new();
    out.push_str(
        "! pumpguard segmentation policy: one extended ACL per zone and address family,\n\
         ! applied inbound on the zone's SVI (what the zone's hosts send to be routed).\n",
    );
    out.push_str(match policy.default {
        DefaultAction::Deny => "! default: deny\n",
        DefaultAction::Allow => "! default: allow\n",
    });
    out.push_str(
        "! The ACLs also filter what the hosts send to the switch itself (DHCP relay,\n\
         ! HSRP/VRRP, routing protocols, the SVI's address): permit that first where needed.\n!\n",
    );

    for (index, zone) in policy.zones.iter().enumerate() {
        if members[index].is_empty() {
            let _ = writeln!(out, "! zone {}: no known address, no ACL\n!", zone.name);
            continue;
        }
        let mut applied: Vec<String> = Vec::new();
        for v6 in [false, true] {
            if !members[index].iter().any(|n| is_v6(n) == v6) {
                continue;
            }
            let name = acl_name(&names[index], v6);
            write_acl(
                &mut out,
                &name,
                v6,
                &zone_entries(zoning, &members, index, v6),
            );
            applied.push(access_group(&name, v6));
        }
        let shared = zone.vlan.and_then(|v| {
            policy.zones[..index]
                .iter()
                .enumerate()
                .find(|(j, o)| o.vlan == Some(v) && !members[*j].is_empty())
                .map(|(_, o)| &o.name)
        });
        match (zone.vlan, shared) {
            (Some(v), Some(other)) => {
                let _ = writeln!(
                    out,
                    "! warning: zone {} shares Vlan{v} with zone {other}: an interface takes one\n\
                     ! ACL per direction and family, so merge the two zones' ACLs before applying:",
                    zone.name
                );
                for a in &applied {
                    let _ = writeln!(out, "!  {a}");
                }
            }
            (Some(v), None) => {
                let _ = writeln!(out, "interface Vlan{v}");
                for a in &applied {
                    let _ = writeln!(out, " {a}");
                }
            }
            (None, _) => {
                let _ = writeln!(
                    out,
                    "! zone {} has no vlan: apply inbound on the interfaces facing its hosts:",
                    zone.name
                );
                for a in &applied {
                    let _ = writeln!(out, "!  {a}");
                }
            }
        }
        out.push_str("!\n");
    }

    if policy.default == DefaultAction::Deny {
        let mut applied = Vec::new();
        for v6 in [false, true] {
            let mut ranges: Vec<IpNet> = Vec::new();
            for n in members.iter().flatten().filter(|n| is_v6(n) == v6) {
                if !ranges.contains(n) {
                    ranges.push(*n);
                }
            }
            if ranges.is_empty() {
                continue;
            }
            let ip = if v6 { "ipv6" } else { "ip" };
            let mut entries = vec![remark(
                "from addresses in no zone: default deny into every zone",
            )];
            entries.extend(
                ranges
                    .iter()
                    .map(|n| format!("deny {ip} any {} log", addr(n))),
            );
            entries.push(remark("between addresses in no zone: not this policy's"));
            entries.push(format!("permit {ip} any any"));
            let name = acl_name(NO_ZONE_ACL, v6);
            write_acl(&mut out, &name, v6, &entries);
            applied.push(access_group(&name, v6));
        }
        if !applied.is_empty() {
            out.push_str(
                "! apply inbound on every routed interface facing no zone (uplinks, other VLANs):\n",
            );
            for a in &applied {
                let _ = writeln!(out, "!  {a}");
            }
            out.push_str("!\n");
        }
    }
    out
}

fn acl_name(base: &str, v6: bool) -> String {
    if v6 {
        format!("{base}-V6")
    } else {
        base.to_owned()
    }
}

fn access_group(name: &str, v6: bool) -> String {
    if v6 {
        format!("ipv6 traffic-filter {name} in")
    } else {
        format!("ip access-group {name} in")
    }
}

fn write_acl(out: &mut String, name: &str, v6: bool, entries: &[String]) {
    let kind = if v6 {
        "ipv6 access-list"
    } else {
        "ip access-list extended"
    };
    let _ = writeln!(out, "no {kind} {name}\n{kind} {name}");
    for e in entries {
        let _ = writeln!(out, " {e}");
    }
    out.push_str("!\n");
}

/// The entries of one zone's ACL for one family.
fn zone_entries(
    zoning: &Zoning<'_>,
    members: &[Vec<IpNet>],
    index: usize,
    v6: bool,
) -> Vec<String> {
    let policy = zoning.policy();
    let zone = &policy.zones[index];
    let family = |nets: &[IpNet]| -> Vec<IpNet> {
        nets.iter().copied().filter(|n| is_v6(n) == v6).collect()
    };
    let (ip, fam_name) = if v6 { ("ipv6", "IPv6") } else { ("ip", "IPv4") };
    let mine = family(&members[index]);
    let mut out = Vec::new();

    if mine.len() > 1 {
        out.push(remark(&format!(
            "within zone {}: between its ranges (routed, not filtered)",
            zone.name
        )));
        for a in &mine {
            for b in mine.iter().filter(|b| *b != a) {
                out.push(format!("permit {ip} {} {}", addr(a), addr(b)));
            }
        }
    }

    let mut udp_note = false;
    for (ci, c) in policy.conduits.iter().enumerate() {
        let outgoing = c.from == zone.name;
        if !outgoing && c.to != zone.name {
            continue;
        }
        let place = if c.line > 0 {
            format!(" (policy line {})", c.line)
        } else {
            String::new()
        };
        let head = format!("conduit {}: {} -> {}{place}", ci + 1, c.from, c.to);
        out.push(remark(&if outgoing {
            head
        } else {
            format!("replies of {head}")
        }));
        let peer_name = if outgoing { &c.to } else { &c.from };
        let Some(peer) = policy.zones.iter().position(|z| &z.name == peer_name) else {
            out.push(remark(&format!(
                "zone {peer_name} is not in the policy: nothing permitted"
            )));
            continue;
        };
        let theirs = family(&members[peer]);
        if theirs.is_empty() {
            out.push(remark(&format!(
                "zone {peer_name} has no known {fam_name} address: nothing permitted"
            )));
            continue;
        }
        let mut seen: Vec<Service> = Vec::new();
        for service in &c.services {
            if seen.contains(service) {
                continue;
            }
            seen.push(*service);
            if !outgoing && matches!(service, Service::Udp { .. }) && !udp_note {
                udp_note = true;
                out.push(remark(
                    "udp replies pass by source port, statelessly: reflexive ACLs or ZBF keep state",
                ));
            }
            for a in &mine {
                for b in &theirs {
                    let (a, b) = (addr(a), addr(b));
                    let line = match (outgoing, *service) {
                        (true, Service::Tcp { first, last }) => {
                            format!("permit tcp {a} {b} {}", ports(first, last))
                        }
                        (true, Service::Udp { first, last }) => {
                            format!("permit udp {a} {b} {}", ports(first, last))
                        }
                        (true, Service::Icmp) => format!("permit icmp {a} {b}"),
                        (false, Service::Tcp { first, last }) => {
                            format!("permit tcp {a} {} {b} established", ports(first, last))
                        }
                        (false, Service::Udp { first, last }) => {
                            format!("permit udp {a} {} {b}", ports(first, last))
                        }
                        (false, Service::Icmp) => format!("permit icmp {a} {b} echo-reply"),
                    };
                    out.push(if outgoing && c.log {
                        format!("{line} log")
                    } else {
                        line
                    });
                }
            }
        }
    }

    match policy.default {
        DefaultAction::Deny => {
            if v6 {
                out.push(remark(
                    "neighbor discovery and router solicitations, which the deny would drop",
                ));
                for t in ["nd-na", "nd-ns", "router-solicitation"] {
                    out.push(format!("permit icmp any any {t}"));
                }
            }
            out.push(remark("default deny"));
            out.push(format!("deny {ip} any any log"));
        }
        DefaultAction::Allow => {
            out.push(remark("default allow"));
            out.push(format!("permit {ip} any any"));
        }
    }
    out
}

fn is_v6(net: &IpNet) -> bool {
    matches!(net, IpNet::V6(_))
}

/// A `remark` line, its text cut to IOS's 100 characters.
fn remark(text: &str) -> String {
    let cut: String = text.chars().take(MAX_REMARK).collect();
    format!("remark {cut}")
}

/// `eq 8443` or `range 1000 2000`.
fn ports(first: u16, last: u16) -> String {
    if first == last {
        format!("eq {first}")
    } else {
        format!("range {first} {last}")
    }
}

/// The wildcard (inverse) mask of an IPv4 prefix length: `/24` is `0.0.0.255`.
fn wildcard(prefix_len: u8) -> Ipv4Addr {
    let bits = u32::MAX.checked_shr(u32::from(prefix_len)).unwrap_or(0);
    Ipv4Addr::from(bits)
}

/// A range as an ACL address: `any`, `host A`, `A W` (IPv4), `A/len` (IPv6).
fn addr(net: &IpNet) -> String {
    match net {
        IpNet::V4(n) => v4_addr(n),
        IpNet::V6(n) => match n.prefix_len() {
            0 => "any".to_owned(),
            128 => format!("host {}", n.addr()),
            _ => n.trunc().to_string(),
        },
    }
}

fn v4_addr(n: &Ipv4Net) -> String {
    match n.prefix_len() {
        0 => "any".to_owned(),
        32 => format!("host {}", n.addr()),
        len => format!("{} {}", n.network(), wildcard(len)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(s: &str) -> String {
        v4_addr(&s.parse::<Ipv4Net>().expect("net"))
    }

    #[test]
    fn wildcard_masks() {
        assert_eq!(wildcard(0), Ipv4Addr::new(255, 255, 255, 255));
        assert_eq!(wildcard(8), Ipv4Addr::new(0, 255, 255, 255));
        assert_eq!(wildcard(16), Ipv4Addr::new(0, 0, 255, 255));
        assert_eq!(wildcard(20), Ipv4Addr::new(0, 0, 15, 255));
        assert_eq!(wildcard(24), Ipv4Addr::new(0, 0, 0, 255));
        assert_eq!(wildcard(31), Ipv4Addr::new(0, 0, 0, 1));
        assert_eq!(wildcard(32), Ipv4Addr::new(0, 0, 0, 0));
    }

    #[test]
    fn addresses() {
        assert_eq!(v4("0.0.0.0/0"), "any");
        assert_eq!(v4("10.0.0.0/8"), "10.0.0.0 0.255.255.255");
        assert_eq!(v4("10.20.0.0/16"), "10.20.0.0 0.0.255.255");
        assert_eq!(v4("10.30.0.0/24"), "10.30.0.0 0.0.0.255");
        assert_eq!(v4("10.30.0.7/32"), "host 10.30.0.7");
        let v6 = |s: &str| addr(&s.parse::<IpNet>().expect("net"));
        assert_eq!(v6("2001:db8::/64"), "2001:db8::/64");
        assert_eq!(v6("2001:db8::7/128"), "host 2001:db8::7");
        assert_eq!(v6("::/0"), "any");
    }

    #[test]
    fn ports_and_remarks() {
        assert_eq!(ports(8443, 8443), "eq 8443");
        assert_eq!(ports(1000, 2000), "range 1000 2000");
        let long = remark(&"x".repeat(300));
        assert_eq!(long.len(), "remark ".len() + MAX_REMARK);
    }

    #[test]
    fn names() {
        let text = "zones:\n  - name: pump_servers\n    cidrs: [10.0.0.0/8]\n  - name: lab_a\n    cidrs: [11.0.0.0/8]\n  - name: lab-a\n    cidrs: [12.0.0.0/8]\n";
        let p = Policy::parse(text, "p.yaml").expect("policy");
        assert_eq!(
            acl_names(&p),
            ["PG-PUMP-SERVERS-IN", "PG-LAB-A-Z2-IN", "PG-LAB-A-Z3-IN"]
        );
        let mut no_zone = p.clone();
        no_zone.zones[0].name = "no_zone".into();
        assert_eq!(acl_names(&no_zone)[0], "PG-NO-ZONE-Z1-IN");
        let mut long = p.clone();
        long.zones[0].name = "z".repeat(100);
        let n = &acl_names(&long)[0];
        assert!(n.len() + "-V6".len() <= MAX_NAME, "{n}");
        assert!(n.ends_with("ZZZ-IN"), "{n}");
    }
}
