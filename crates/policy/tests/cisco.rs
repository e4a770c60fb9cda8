//! Cisco IOS ACLs compiled from a policy: the text read back by ciscoconfparse2 (an IOS
//! configuration parser: ACLs and their entries, interfaces and their `ip access-group`
//! / `ipv6 traffic-filter`), its addresses and wildcard masks turned back into networks
//! by Python's `ipaddress`, then the access they grant replayed against
//! [`Zoning::evaluate`] flow by flow.
//!
//! Oracle (CI installs it): `python3 -m pip install ciscoconfparse2==0.9.18`.
//! `PUMPGUARD_BLESS=1` rewrites the golden file.

mod common;

use common::*;

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;
use std::process::Command;

use ipnet::IpNet;
use pumpguard_model::Asset;
use pumpguard_policy::compile::cisco;
use pumpguard_policy::{DefaultAction, Policy, Verdict, Zoning};
use serde::Deserialize;

fn allow(p: &Policy) -> Policy {
    let mut p = p.clone();
    p.default = DefaultAction::Allow;
    p
}

fn cases() -> Vec<(&'static str, Policy, Vec<Asset>)> {
    let example = policy("example.yaml");
    let mixed = policy("mixed.yaml");
    vec![
        ("example", example.clone(), Vec::new()),
        ("example-allow", allow(&example), Vec::new()),
        ("mixed", mixed.clone(), inventory()),
        ("mixed-allow", allow(&mixed), inventory()),
        ("mixed-no-inventory", mixed, Vec::new()),
    ]
}

// ---------------------------------------------------------------- ciscoconfparse2

/// Reads the configuration with ciscoconfparse2 and prints what it found as JSON; the
/// entries' addresses go through `ipaddress` (a wildcard mask is a "hostmask" to it).
const ORACLE: &str = r#"
import ipaddress, json, sys
try:
    from ciscoconfparse2 import CiscoConfParse
except ImportError as e:
    print(f"ciscoconfparse2 is missing ({e})", file=sys.stderr)
    sys.exit(3)

def address(tok, i, v6):
    t = tok[i]
    if t == "any":
        return ("::/0" if v6 else "0.0.0.0/0"), i + 1
    if t == "host":
        return str(ipaddress.ip_network(tok[i + 1])), i + 2
    if v6:
        return str(ipaddress.IPv6Network(t)), i + 1
    # strict: a network with host bits set under its mask is refused
    return str(ipaddress.IPv4Network(f"{t}/{tok[i + 1]}")), i + 2

def ports(tok, i):
    if i < len(tok) and tok[i] == "eq":
        return [int(tok[i + 1]), int(tok[i + 1])], i + 2
    if i < len(tok) and tok[i] == "range":
        return [int(tok[i + 1]), int(tok[i + 2])], i + 3
    return None, i

def entry(text, v6):
    tok = text.split()
    if tok[0] == "remark":
        return {"remark": text.strip()[len("remark "):]}
    action, proto = tok[0], tok[1]
    assert action in ("permit", "deny"), text
    src, i = address(tok, 2, v6)
    sport, i = ports(tok, i) if proto in ("tcp", "udp") else (None, i)
    dst, i = address(tok, i, v6)
    dport, i = ports(tok, i) if proto in ("tcp", "udp") else (None, i)
    return {"action": action, "proto": proto, "src": src, "sport": sport,
            "dst": dst, "dport": dport, "flags": tok[i:]}

lines = open(sys.argv[1]).read().splitlines()
parse = CiscoConfParse(lines, syntax="ios")
acls = {}
for pattern, v6 in ((r"^ip\s+access-list\s+extended\s+(\S+)", False),
                    (r"^ipv6\s+access-list\s+(\S+)", True)):
    for obj in parse.find_objects(pattern):
        name = obj.re_match_typed(pattern)
        assert name not in acls, f"ACL {name} twice"
        acls[name] = {"v6": v6, "entries": [entry(c.text, v6) for c in obj.children]}
removed = [o.text for o in parse.find_objects(r"^no\s")]
interfaces = {}
for obj in parse.find_objects(r"^interface\s"):
    interfaces[obj.text.split(None, 1)[1]] = {
        # the patterns of ciscoconfparse2's IOSIntfLine.ipv4_accessgroup_in and
        # .ipv6_trafficfilter_in (its `factory` option that builds those is deprecated)
        "ip_in": obj.re_match_iter_typed(r"^\s*ip\saccess-group\s+(\S+)\s+in\s*$",
                                         result_type=str, default="") or None,
        "ipv6_in": obj.re_match_iter_typed(r"^\s*ipv6\straffic-filter\s+(\S+)\s+in\s*$",
                                           result_type=str, default="") or None,
        "children": [c.text.strip() for c in obj.children],
    }
print(json.dumps({"acls": acls, "interfaces": interfaces, "removed": removed}))
"#;

#[derive(Debug, Deserialize)]
struct Parsed {
    acls: BTreeMap<String, Acl>,
    interfaces: BTreeMap<String, Interface>,
    removed: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct Acl {
    v6: bool,
    entries: Vec<Entry>,
}

#[derive(Debug, Deserialize, Clone, PartialEq, Eq, PartialOrd, Ord)]
#[serde(untagged)]
enum Entry {
    Remark {
        remark: String,
    },
    Rule {
        action: String,
        proto: String,
        src: IpNet,
        sport: Option<(u16, u16)>,
        dst: IpNet,
        dport: Option<(u16, u16)>,
        flags: Vec<String>,
    },
}

#[derive(Debug, Deserialize)]
struct Interface {
    ip_in: Option<String>,
    ipv6_in: Option<String>,
    children: Vec<String>,
}

fn parse(case: &str, config: &str) -> Parsed {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let path = dir.join(format!("cisco-{case}.cfg"));
    std::fs::write(&path, config).expect("write");
    let out = Command::new("python3")
        .arg("-c")
        .arg(ORACLE)
        .arg(&path)
        .output()
        .unwrap_or_else(|e| panic!("python3 is needed to read the configuration: {e}"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    match out.status.code() {
        Some(0) => {}
        Some(3) => panic!(
            "python3 ciscoconfparse2 is missing (CI installs it: \
             python3 -m pip install ciscoconfparse2==0.9.18): {stderr}"
        ),
        _ => panic!("{case}: ciscoconfparse2 or the entry reader refused it: {stderr}\n{config}"),
    }
    serde_json::from_slice(&out.stdout).expect("oracle JSON")
}

fn rules(acl: &Acl) -> Vec<&Entry> {
    acl.entries
        .iter()
        .filter(|e| matches!(e, Entry::Rule { .. }))
        .collect()
}

fn rule(action: &str, proto: &str, src: &str, sport: Option<(u16, u16)>, dst: &str) -> Entry {
    Entry::Rule {
        action: action.into(),
        proto: proto.into(),
        src: src.parse().expect("net"),
        sport,
        dst: dst.parse().expect("net"),
        dport: None,
        flags: Vec::new(),
    }
}

fn with(mut e: Entry, dport_: Option<(u16, u16)>, flags_: &[&str]) -> Entry {
    if let Entry::Rule { dport, flags, .. } = &mut e {
        *dport = dport_;
        *flags = flags_.iter().map(|f| (*f).to_owned()).collect();
    }
    e
}

// ---------------------------------------------------------------- tests

#[test]
fn example_matches_its_golden_file() {
    let p = policy("example.yaml");
    let zoning = Zoning::new(&p, &[]);
    let text = cisco::compile(&zoning);
    let path = data("example.ios");
    if std::env::var_os("PUMPGUARD_BLESS").is_some() {
        std::fs::write(&path, &text).expect("bless");
    }
    let golden = std::fs::read_to_string(&path).expect("golden file");
    assert_eq!(
        text,
        golden,
        "{} (PUMPGUARD_BLESS=1 rewrites it)",
        path.display()
    );
    assert_eq!(text, cisco::compile(&zoning), "same input, same text");
}

#[test]
fn ciscoconfparse2_reads_the_example_as_the_policy_says() {
    let p = policy("example.yaml");
    let zoning = Zoning::new(&p, &[]);
    let parsed = parse("example-read", &cisco::compile(&zoning));

    assert_eq!(
        parsed.acls.keys().collect::<Vec<_>>(),
        ["PG-NO-ZONE-IN", "PG-PUMP-SERVERS-IN", "PG-PUMPS-IN"]
    );
    assert_eq!(
        parsed.removed,
        [
            "no ip access-list extended PG-PUMPS-IN",
            "no ip access-list extended PG-PUMP-SERVERS-IN",
            "no ip access-list extended PG-NO-ZONE-IN"
        ]
    );
    let vlan120 = &parsed.interfaces["Vlan120"];
    assert_eq!(vlan120.ip_in.as_deref(), Some("PG-PUMPS-IN"));
    assert_eq!(vlan120.ipv6_in, None);
    assert_eq!(vlan120.children, ["ip access-group PG-PUMPS-IN in"]);
    assert_eq!(
        parsed.interfaces["Vlan130"].ip_in.as_deref(),
        Some("PG-PUMP-SERVERS-IN")
    );
    assert_eq!(parsed.interfaces.len(), 2);

    let pumps = &parsed.acls["PG-PUMPS-IN"];
    assert!(!pumps.v6);
    let (p16, s24) = ("10.20.0.0/16", "10.30.0.0/24");
    assert_eq!(
        pumps.entries,
        [
            Entry::Remark {
                remark: "conduit 1: pumps -> pump_servers (policy line 9)".into()
            },
            with(
                rule("permit", "tcp", p16, None, s24),
                Some((8443, 8443)),
                &["log"]
            ),
            with(
                rule("permit", "udp", p16, None, s24),
                Some((123, 123)),
                &["log"]
            ),
            Entry::Remark {
                remark: "default deny".into()
            },
            with(
                rule("deny", "ip", "0.0.0.0/0", None, "0.0.0.0/0"),
                None,
                &["log"]
            ),
        ]
    );
    let servers = &parsed.acls["PG-PUMP-SERVERS-IN"];
    assert_eq!(
        rules(servers),
        [
            &with(
                rule("permit", "tcp", s24, Some((8443, 8443)), p16),
                None,
                &["established"]
            ),
            &rule("permit", "udp", s24, Some((123, 123)), p16),
            &with(
                rule("deny", "ip", "0.0.0.0/0", None, "0.0.0.0/0"),
                None,
                &["log"]
            ),
        ]
    );
    assert!(servers.entries.iter().any(
        |e| matches!(e, Entry::Remark { remark } if remark.contains("reflexive ACLs or ZBF"))
    ));
    assert_eq!(
        rules(&parsed.acls["PG-NO-ZONE-IN"]),
        [
            &with(rule("deny", "ip", "0.0.0.0/0", None, p16), None, &["log"]),
            &with(rule("deny", "ip", "0.0.0.0/0", None, s24), None, &["log"]),
            &rule("permit", "ip", "0.0.0.0/0", None, "0.0.0.0/0"),
        ]
    );
}

#[test]
fn ciscoconfparse2_reads_both_families_and_inventory_zones() {
    let p = policy("mixed.yaml");
    let assets = inventory();
    let zoning = Zoning::new(&p, &assets);
    let text = cisco::compile(&zoning);
    let parsed = parse("mixed-read", &text);
    assert_eq!(
        parsed.acls.keys().collect::<Vec<_>>(),
        [
            "PG-BIOMED-IN",
            "PG-EHR-IN",
            "PG-EHR-IN-V6",
            "PG-NO-ZONE-IN",
            "PG-NO-ZONE-IN-V6",
            "PG-PUMP-SERVERS-IN",
            "PG-PUMP-SERVERS-IN-V6",
            "PG-PUMPS-IN",
            "PG-PUMPS-IN-V6",
        ],
        "imaging has no address, no ACL"
    );
    assert!(text.contains("! zone imaging: no known address, no ACL"));
    assert!(text.contains("! zone ehr has no vlan"));
    let v120 = &parsed.interfaces["Vlan120"];
    assert_eq!(v120.ip_in.as_deref(), Some("PG-PUMPS-IN"));
    assert_eq!(v120.ipv6_in.as_deref(), Some("PG-PUMPS-IN-V6"));
    assert_eq!(
        parsed.interfaces.keys().collect::<Vec<_>>(),
        ["Vlan120", "Vlan130", "Vlan140"]
    );

    let pumps6 = &parsed.acls["PG-PUMPS-IN-V6"];
    assert!(pumps6.v6);
    let (p6, s6) = ("2001:db8:20::/64", "2001:db8:30::/64");
    let r = rules(pumps6);
    assert!(r.contains(&&with(
        rule("permit", "tcp", p6, None, s6),
        Some((8443, 8443)),
        &["log"]
    )));
    assert!(r.contains(&&with(rule("permit", "icmp", p6, None, s6), None, &["log"])));
    // Replies of biomed's ssh and snmp: ssh once though listed twice; no v6 in biomed.
    assert!(pumps6.entries.contains(&Entry::Remark {
        remark: "zone biomed has no known IPv6 address: nothing permitted".into()
    }));
    let pumps = rules(&parsed.acls["PG-PUMPS-IN"]);
    let b24 = "10.40.0.0/24";
    let ssh = with(
        rule("permit", "tcp", "10.20.0.0/16", Some((22, 22)), b24),
        None,
        &["established"],
    );
    assert_eq!(pumps.iter().filter(|e| ***e == ssh).count(), 1);
    assert!(pumps.contains(&&rule(
        "permit",
        "udp",
        "10.20.0.0/16",
        Some((161, 162)),
        b24
    )));
    // The IPv6 deny keeps neighbor discovery.
    let tail: Vec<&Entry> = r[r.len() - 4..].to_vec();
    assert_eq!(
        tail,
        [
            &with(
                rule("permit", "icmp", "::/0", None, "::/0"),
                None,
                &["nd-na"]
            ),
            &with(
                rule("permit", "icmp", "::/0", None, "::/0"),
                None,
                &["nd-ns"]
            ),
            &with(
                rule("permit", "icmp", "::/0", None, "::/0"),
                None,
                &["router-solicitation"]
            ),
            &with(rule("deny", "ipv6", "::/0", None, "::/0"), None, &["log"]),
        ]
    );
    // pump_servers has two IPv4 ranges: traffic between them is routed and permitted.
    let servers = rules(&parsed.acls["PG-PUMP-SERVERS-IN"]);
    assert!(servers.contains(&&rule("permit", "ip", "10.30.0.0/24", None, "10.31.0.9/32")));
    assert!(servers.contains(&&rule("permit", "ip", "10.31.0.9/32", None, "10.30.0.0/24")));
    // ehr by kind and model: its inventory hosts.
    let ehr = rules(&parsed.acls["PG-EHR-IN"]);
    assert!(ehr.contains(&&with(
        rule(
            "permit",
            "tcp",
            "10.50.0.9/32",
            Some((6661, 6662)),
            "10.31.0.9/32"
        ),
        None,
        &["established"]
    )));
}

// ---------------------------------------------------------------- replayed flows

#[derive(Debug, Clone, Copy)]
struct Packet {
    proto: &'static str,
    src: IpAddr,
    dst: IpAddr,
    sport: u16,
    dport: u16,
    icmp_type: u8,
    /// TCP ACK set (not a connection's first packet).
    established: bool,
}

fn entry_matches(e: &Entry, p: &Packet) -> Option<bool> {
    let Entry::Rule {
        action,
        proto,
        src,
        sport,
        dst,
        dport,
        flags,
    } = e
    else {
        return None;
    };
    let proto_ok = match proto.as_str() {
        "ip" | "ipv6" => true,
        other => other == p.proto,
    };
    let in_range =
        |r: &Option<(u16, u16)>, port: u16| r.is_none_or(|(a, b)| (a..=b).contains(&port));
    let v6 = p.src.is_ipv6();
    let flags_ok = flags.iter().all(|f| match f.as_str() {
        "log" => true,
        "established" => p.established,
        "echo-reply" => p.icmp_type == if v6 { 129 } else { 0 },
        "nd-na" => p.icmp_type == 136,
        "nd-ns" => p.icmp_type == 135,
        "router-solicitation" => p.icmp_type == 133,
        other => panic!("unexpected flag {other}"),
    });
    (proto_ok
        && src.contains(&p.src)
        && dst.contains(&p.dst)
        && in_range(sport, p.sport)
        && in_range(dport, p.dport)
        && flags_ok)
        .then(|| action == "permit")
}

/// First match; no match is IOS's implicit deny.
fn acl_permits(acl: &Acl, p: &Packet) -> bool {
    assert_eq!(acl.v6, p.src.is_ipv6());
    acl.entries
        .iter()
        .find_map(|e| entry_matches(e, p))
        .unwrap_or(false)
}

const SERVICES: &[(&str, u16)] = &[
    ("tcp", 22),
    ("tcp", 443),
    ("tcp", 6661),
    ("tcp", 6662),
    ("tcp", 6663),
    ("tcp", 8443),
    ("tcp", 8444),
    ("udp", 123),
    ("udp", 161),
    ("udp", 162),
    ("udp", 163),
    ("udp", 514),
    ("icmp", 0),
];

/// Source ports an opening packet is also tried from: the services' own.
const SOURCE_PORTS: [u16; 6] = [22, 123, 161, 514, 6661, 8443];

#[test]
fn acls_permit_what_the_policy_allows() {
    for (case, policy, assets) in cases() {
        let zoning = Zoning::new(&policy, &assets);
        let parsed = parse(case, &cisco::compile(&zoning));
        let names = cisco::acl_names(&policy);
        // The ACL a packet from `src` meets: its zone's, by the interface it is applied
        // to when the zone has a vlan; the no-zone ACL (if any) for an address in no zone.
        let acl_for = |src: IpAddr| -> Option<&Acl> {
            let v6 = src.is_ipv6();
            let name = match zoning.zone_of(src) {
                Some(i) => match policy.zones[i].vlan {
                    Some(v) => {
                        let iface = &parsed.interfaces[&format!("Vlan{v}")];
                        if v6 {
                            iface.ipv6_in.clone()
                        } else {
                            iface.ip_in.clone()
                        }
                    }
                    None => Some(if v6 {
                        format!("{}-V6", names[i])
                    } else {
                        names[i].clone()
                    }),
                },
                None => Some(if v6 {
                    format!("{}-V6", cisco::NO_ZONE_ACL)
                } else {
                    cisco::NO_ZONE_ACL.to_owned()
                }),
            }?;
            parsed.acls.get(&name)
        };
        let passes = |p: &Packet| acl_for(p.src).is_none_or(|acl| acl_permits(acl, p));
        let addrs = probes(&zoning);
        let mut checked = 0;
        for &client in &addrs {
            for &server in &addrs {
                if client == server || client.is_ipv6() != server.is_ipv6() {
                    continue;
                }
                let (zc, zs) = (zoning.zone_of(client), zoning.zone_of(server));
                if zc.is_none() && zs.is_none() {
                    // Between addresses in no zone: not the ACLs' business.
                    continue;
                }
                for &(proto, port) in SERVICES {
                    let verdict = zoning.evaluate(proto, client, server, port);
                    let allowed = verdict != Verdict::Denied;
                    let v6 = client.is_ipv6();
                    let out = Packet {
                        proto,
                        src: client,
                        dst: server,
                        sport: 40000,
                        dport: port,
                        icmp_type: if v6 { 128 } else { 8 },
                        established: false,
                    };
                    // Inside one zone nothing is routed unless the two ends are in
                    // different ranges of it.
                    let range_of = |a: IpAddr| {
                        zoning
                            .members(zoning.zone_of(a).expect("zoned"))
                            .into_iter()
                            .position(|n| n.contains(&a))
                    };
                    let routed = zc != zs || range_of(client) != range_of(server);
                    let cisco = !routed || passes(&out);
                    assert_eq!(
                        cisco, allowed,
                        "{case}: {proto}/{port} {client} -> {server}: policy says {verdict:?}"
                    );
                    // Opened from a service's port (what the replies permit): TCP
                    // replies need ACK (`established`); UDP replies are stateless, so
                    // a datagram from such a port may pass where the policy denies.
                    for sport in SOURCE_PORTS {
                        let cisco = !routed || passes(&Packet { sport, ..out });
                        if proto == "udp" {
                            assert!(cisco || !allowed, "{case}: {proto}/{port} from {sport}");
                        } else {
                            assert_eq!(
                                cisco, allowed,
                                "{case}: {proto}/{port} {client}:{sport} -> {server}: {verdict:?}"
                            );
                        }
                    }
                    if allowed {
                        let reply = Packet {
                            src: server,
                            dst: client,
                            sport: port,
                            dport: 40000,
                            icmp_type: if v6 { 129 } else { 0 },
                            established: true,
                            ..out
                        };
                        assert!(
                            !routed || passes(&reply),
                            "{case}: reply of {proto}/{port} {client} -> {server} is dropped"
                        );
                    }
                    checked += 1;
                }
            }
        }
        assert!(checked > 50, "{case}: {checked} flows");
    }
}
