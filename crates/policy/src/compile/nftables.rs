//! The policy as an nftables ruleset for a Linux router that forwards between the zones
//! (text for `nft -f`).
//!
//! Loading the file replaces `table inet pumpguard` and touches no other table: it starts
//! with `table inet pumpguard` (creating the table if it is missing) and
//! `delete table inet pumpguard`, so the same file loads again and again. In the table:
//!
//! - one interval set per zone and address family, `zone_<name>` (IPv4) and
//!   `zone_<name>_v6` (IPv6), holding the zone's ranges and the addresses of the
//!   inventory's assets in it by kind or model ([`Zoning::members`], overlapping and
//!   adjacent ranges merged). A family the zone has no address of gets no set, and the
//!   rules that would use it are left out; a zone with no address at all, and a
//!   conduit left with no rule, get a `#` comment saying so;
//! - chain `forward` (`hook forward priority filter`, policy `drop` for `default: deny`,
//!   `accept` for `default: allow`): replies of accepted connections (`ct state
//!   established,related`), then `ct state invalid drop`, then traffic inside each zone
//!   (not filtered, as [`Verdict::SameZone`](crate::Verdict::SameZone) says), then one
//!   rule per conduit, service and family accepting new connections with a counter (and
//!   a log line prefixed `pg:<from>-><to> ` when the conduit has `log: true`), commented
//!   `conduit <n>: <from> -> <to> <service>` where `n` counts the policy's conduits from
//!   1 (the [`Verdict::Allowed`](crate::Verdict::Allowed) index plus one), followed by
//!   `(policy line <l>)` when the conduit came from a file;
//! - for `default: deny`, a last rule counting every packet no rule accepted and logging
//!   at most 10 a second of them with the prefix [`DENY_LOG_PREFIX`] before dropping
//!   them (comment [`DENY_COMMENT`]); the ones over the rate are dropped by the chain's
//!   policy. `default: allow` adds nothing.
//!
//! An address in no zone is matched by no set: like [`Zoning::evaluate`], only the
//! default applies to it. The text depends on nothing but the policy and the inventory's
//! addresses, kinds and models (the same input gives the same text).
//!
//! Zone names become set names: the policy file's rule for them (a letter, then letters,
//! digits, `_` or `-`, up to 32) gives names nftables takes as they are (`-` included), so
//! nothing is mapped. A policy built in code may break that rule, or name two zones whose
//! sets would share a name (`lab` and `lab_v6`), or a conduit to a zone it does not
//! have: [`compile`] refuses those with a [`CompileError`].

use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;

use crate::eval::Zoning;
use crate::model::{Conduit, DefaultAction, Service};

/// The table the ruleset owns (family `inet`).
pub const TABLE: &str = "pumpguard";

/// The log prefix of denied traffic (`default: deny`).
pub const DENY_LOG_PREFIX: &str = "pg:deny ";

/// The comment of the rule that counts, logs and drops denied traffic.
pub const DENY_COMMENT: &str = "default deny: no conduit allows it";

/// The longest log prefix the kernel keeps (128 bytes with the terminating NUL).
pub const MAX_LOG_PREFIX: usize = 127;

/// The longest rule, set or table comment nftables takes.
pub const MAX_COMMENT: usize = 128;

/// The longest zone name the compiler takes (as the policy file's).
const MAX_ZONE_NAME: usize = 32;

/// A policy that cannot become a ruleset (only possible for one built in code: the
/// policy file's rules exclude all of these).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CompileError {
    #[error(
        "zone name '{0}' cannot name an nftables set: use letters, digits, '_' or '-' (up to 32, a letter first)"
    )]
    ZoneName(String),
    #[error("zone '{0}' is defined twice")]
    DuplicateZone(String),
    #[error("zones '{zone}' and '{other}' would both use the nftables set '{set}': rename one")]
    SetNameClash {
        zone: String,
        other: String,
        set: String,
    },
    #[error("conduit {conduit} ({from} -> {to}) names unknown zone '{zone}'")]
    UnknownZone {
        /// Counted from 1.
        conduit: usize,
        from: String,
        to: String,
        zone: String,
    },
}

/// The set of a zone's IPv4 addresses.
pub fn set_name(zone: &str) -> String {
    format!("zone_{zone}")
}

/// The set of a zone's IPv6 addresses.
pub fn set_name_v6(zone: &str) -> String {
    format!("zone_{zone}_v6")
}

/// The log prefix of connections a logged conduit accepts: `pg:<from>-><to> `, cut to
/// [`MAX_LOG_PREFIX`].
pub fn log_prefix(from: &str, to: &str) -> String {
    let mut prefix = format!("pg:{from}->{to}");
    cut(&mut prefix, MAX_LOG_PREFIX - 1);
    prefix.push(' ');
    prefix
}

/// The comment of the rules of conduit `index` (counted from 0, as in
/// [`Verdict::Allowed`](crate::Verdict::Allowed)) for `service`.
pub fn conduit_comment(index: usize, conduit: &Conduit, service: &Service) -> String {
    let mut comment = format!(
        "conduit {}: {} -> {} {service}",
        index + 1,
        conduit.from,
        conduit.to
    );
    if conduit.line > 0 {
        comment.push_str(&format!(" (policy line {})", conduit.line));
    }
    cut(&mut comment, MAX_COMMENT);
    comment
}

/// Cuts `s` to at most `max` bytes, at a character boundary.
fn cut(s: &mut String, max: usize) {
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
}

fn valid_zone_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_ZONE_NAME
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// A zone's sets: the name of each that has members.
#[derive(Debug, Default)]
struct ZoneSets {
    v4: Option<String>,
    v6: Option<String>,
}

impl ZoneSets {
    /// The `(saddr, daddr)` selectors of traffic from `self` to `to`, per family both
    /// zones have addresses of.
    fn selectors(&self, to: &ZoneSets) -> Vec<(Family, String)> {
        let mut out = Vec::new();
        if let (Some(a), Some(b)) = (&self.v4, &to.v4) {
            out.push((Family::V4, format!("ip saddr @{a} ip daddr @{b}")));
        }
        if let (Some(a), Some(b)) = (&self.v6, &to.v6) {
            out.push((Family::V6, format!("ip6 saddr @{a} ip6 daddr @{b}")));
        }
        out
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    V4,
    V6,
}

/// The match of a service's connections in `family`.
fn service_match(service: &Service, family: Family) -> String {
    let ports = |first: u16, last: u16| {
        if first == last {
            first.to_string()
        } else {
            format!("{first}-{last}")
        }
    };
    match *service {
        Service::Tcp { first, last } => format!("tcp dport {}", ports(first, last)),
        Service::Udp { first, last } => format!("udp dport {}", ports(first, last)),
        Service::Icmp => match family {
            Family::V4 => "meta l4proto icmp".to_owned(),
            Family::V6 => "meta l4proto ipv6-icmp".to_owned(),
        },
    }
}

/// An interval set element: a bare address for a single address, else the range.
struct Element(IpNet);

impl fmt::Display for Element {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.prefix_len() == self.0.max_prefix_len() {
            write!(f, "{}", self.0.addr())
        } else {
            write!(f, "{}", self.0)
        }
    }
}

fn push_set(out: &mut String, name: &str, ty: &str, comment: &str, members: &[IpNet]) {
    out.push_str(&format!(
        "\tset {name} {{\n\t\ttype {ty}\n\t\tflags interval\n\t\tcomment \"{comment}\"\n\t\telements = {{\n"
    ));
    let lines: Vec<String> = members
        .iter()
        .map(|m| format!("\t\t\t{}", Element(*m)))
        .collect();
    out.push_str(&lines.join(",\n"));
    out.push_str("\n\t\t}\n\t}\n\n");
}

/// Checks the names: valid, distinct, no two sets alike, every conduit's zones known.
fn check(zoning: &Zoning<'_>) -> Result<(), CompileError> {
    let policy = zoning.policy();
    for (i, zone) in policy.zones.iter().enumerate() {
        if !valid_zone_name(&zone.name) {
            return Err(CompileError::ZoneName(zone.name.clone()));
        }
        for other in &policy.zones[..i] {
            if other.name == zone.name {
                return Err(CompileError::DuplicateZone(zone.name.clone()));
            }
            for (a, b) in [(zone, other), (other, zone)] {
                if set_name(&a.name) == set_name_v6(&b.name) {
                    return Err(CompileError::SetNameClash {
                        zone: other.name.clone(),
                        other: zone.name.clone(),
                        set: set_name(&a.name),
                    });
                }
            }
        }
    }
    for (i, c) in policy.conduits.iter().enumerate() {
        for end in [&c.from, &c.to] {
            if policy.zone(end).is_none() {
                return Err(CompileError::UnknownZone {
                    conduit: i + 1,
                    from: c.from.clone(),
                    to: c.to.clone(),
                    zone: end.clone(),
                });
            }
        }
    }
    Ok(())
}

/// The ruleset enforcing the policy of `zoning` on a router, for `nft -f`; see the
/// module's documentation for what is in it. Fails only for a policy built in code that
/// the policy file's rules would have refused ([`CompileError`]).
pub fn compile(zoning: &Zoning<'_>) -> Result<String, CompileError> {
    check(zoning)?;
    let policy = zoning.policy();
    let deny = policy.default == DefaultAction::Deny;

    let mut out = String::new();
    out.push_str(
        "# pumpguard segmentation policy for a router forwarding between its zones.\n\
         # Load with `nft -f FILE`: it replaces table inet pumpguard and no other table\n\
         # (the first statement creates the table if it is missing, the second deletes it).\n",
    );
    out.push_str(&format!(
        "# {} zone(s), {} conduit(s), default {}.\n\n",
        policy.zones.len(),
        policy.conduits.len(),
        if deny { "deny" } else { "allow" }
    ));
    out.push_str(&format!(
        "table inet {TABLE}\ndelete table inet {TABLE}\n\ntable inet {TABLE} {{\n"
    ));
    out.push_str(&format!(
        "\tcomment \"pumpguard segmentation policy, default {}\"\n\n",
        if deny { "deny" } else { "allow" }
    ));

    // The sets, in the policy's zone order.
    let mut sets: Vec<ZoneSets> = Vec::with_capacity(policy.zones.len());
    for (i, zone) in policy.zones.iter().enumerate() {
        let members = IpNet::aggregate(&zoning.members(i));
        let (v4, v6): (Vec<IpNet>, Vec<IpNet>) = members
            .into_iter()
            .partition(|n| matches!(n.addr(), IpAddr::V4(_)));
        let vlan = zone.vlan.map(|v| format!(", vlan {v}")).unwrap_or_default();
        let mut zs = ZoneSets::default();
        if v4.is_empty() && v6.is_empty() {
            out.push_str(&format!(
                "\t# zone {}: no address in it (no range, no inventory asset of its kinds or models): no set, no rules\n\n",
                zone.name
            ));
        }
        if !v4.is_empty() {
            let name = set_name(&zone.name);
            let comment = format!("zone {}{vlan}", zone.name);
            push_set(&mut out, &name, "ipv4_addr", &comment, &v4);
            zs.v4 = Some(name);
        }
        if !v6.is_empty() {
            let name = set_name_v6(&zone.name);
            let comment = format!("zone {} (IPv6){vlan}", zone.name);
            push_set(&mut out, &name, "ipv6_addr", &comment, &v6);
            zs.v6 = Some(name);
        }
        sets.push(zs);
    }

    out.push_str(&format!(
        "\tchain forward {{\n\t\ttype filter hook forward priority filter; policy {};\n",
        if deny { "drop" } else { "accept" }
    ));
    out.push_str("\t\tct state established,related accept\n");
    out.push_str("\t\tct state invalid drop\n");

    for (zone, zs) in policy.zones.iter().zip(&sets) {
        for (_, sel) in zs.selectors(zs) {
            out.push_str(&format!(
                "\t\t{sel} accept comment \"zone {}: traffic inside a zone is not filtered\"\n",
                zone.name
            ));
        }
    }

    let index_of = |name: &str| policy.zones.iter().position(|z| z.name == name);
    for (ci, conduit) in policy.conduits.iter().enumerate() {
        // `check` saw both zones.
        let (Some(f), Some(t)) = (index_of(&conduit.from), index_of(&conduit.to)) else {
            continue;
        };
        let selectors = sets[f].selectors(&sets[t]);
        if selectors.is_empty() {
            let why = [(f, &conduit.from), (t, &conduit.to)]
                .into_iter()
                .find(|(i, _)| sets[*i].v4.is_none() && sets[*i].v6.is_none())
                .map_or_else(
                    || "one zone has IPv4 addresses only, the other IPv6 only".to_owned(),
                    |(_, name)| format!("zone {name} has no address"),
                );
            out.push_str(&format!(
                "\t\t# conduit {}: {} -> {}: {why}: no rules\n",
                ci + 1,
                conduit.from,
                conduit.to
            ));
        }
        let log = if conduit.log {
            format!(" log prefix \"{}\"", log_prefix(&conduit.from, &conduit.to))
        } else {
            String::new()
        };
        for service in &conduit.services {
            let comment = conduit_comment(ci, conduit, service);
            for (family, sel) in &selectors {
                out.push_str(&format!(
                    "\t\t{sel} {} ct state new counter{log} accept comment \"{comment}\"\n",
                    service_match(service, *family)
                ));
            }
        }
    }

    if deny {
        out.push_str(&format!(
            "\t\tcounter limit rate 10/second log prefix \"{DENY_LOG_PREFIX}\" drop comment \"{DENY_COMMENT}\"\n"
        ));
    }
    out.push_str("\t}\n}\n");
    Ok(out)
}
