//! MUD files (RFC 8520) compiled from a policy: every file validated by `yanglint`
//! (libyang) against the IETF's own YANG modules (ietf-mud@2019-01-28,
//! ietf-access-control-list@2019-03-04, ietf-acldns, ietf-packet-fields and what they
//! import, as shipped by pyang), their content checked field by field, and the access
//! they grant replayed against [`Zoning::evaluate`] flow by flow.
//!
//! Oracles (CI installs them): `apt-get install -y libyang2-tools` (yanglint) and
//! `python3 -m pip install pyang==2.7.1` (the YANG modules, under
//! `<python data dir>/share/yang/modules/ietf`); `PUMPGUARD_YANG_DIR` points elsewhere.
//! `PUMPGUARD_BLESS=1` rewrites the golden files.

mod common;

use common::*;

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

use ipnet::IpNet;
use pumpguard_model::Asset;
use pumpguard_policy::compile::mud::{self, MudFile, MudOptions};
use pumpguard_policy::{Policy, Verdict, Zoning};
use serde_json::Value;

fn opts() -> MudOptions {
    MudOptions {
        mud_url_base: "https://mud.hospital.example/pumpguard/".into(),
        systeminfo: None,
        last_update: "2025-01-02T03:04:05+00:00".into(),
        cache_validity_hours: 48,
    }
}

fn allow(p: &Policy) -> Policy {
    let mut p = p.clone();
    p.default = pumpguard_policy::DefaultAction::Allow;
    p
}

/// Every policy the tests compile, with its inventory.
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

fn file<'a>(files: &'a [MudFile], zone: &str) -> &'a Value {
    &files
        .iter()
        .find(|f| f.zone == zone)
        .unwrap_or_else(|| panic!("no MUD file for {zone}"))
        .json
}

fn acl<'a>(json: &'a Value, name: &str) -> &'a Value {
    json["ietf-access-control-list:acls"]["acl"]
        .as_array()
        .expect("acl list")
        .iter()
        .find(|a| a["name"] == name)
        .unwrap_or_else(|| panic!("no ACL {name}"))
}

fn ace<'a>(acl: &'a Value, name: &str) -> &'a Value {
    acl["aces"]["ace"]
        .as_array()
        .expect("ace list")
        .iter()
        .find(|a| a["name"] == name)
        .unwrap_or_else(|| panic!("no ACE {name} in {}", acl["name"]))
}

fn ace_names(acl: &Value) -> Vec<&str> {
    acl["aces"]["ace"]
        .as_array()
        .expect("ace list")
        .iter()
        .map(|a| a["name"].as_str().expect("name"))
        .collect()
}

fn policy_acls<'a>(json: &'a Value, dir: &str) -> Vec<&'a str> {
    json["ietf-mud:mud"][dir]["access-lists"]["access-list"]
        .as_array()
        .expect("access-list")
        .iter()
        .map(|a| a["name"].as_str().expect("name"))
        .collect()
}

// ---------------------------------------------------------------- yanglint, the oracle

/// The directory holding the IETF YANG modules.
fn yang_dir() -> PathBuf {
    let found = |d: &Path| d.join("ietf-mud.yang").is_file().then(|| d.to_path_buf());
    if let Some(d) = std::env::var_os("PUMPGUARD_YANG_DIR") {
        return found(Path::new(&d))
            .unwrap_or_else(|| panic!("PUMPGUARD_YANG_DIR {d:?} has no ietf-mud.yang"));
    }
    let out = Command::new("python3")
        .args([
            "-c",
            "import site, sys, sysconfig\n\
             print(sysconfig.get_path('data')); print(site.USER_BASE); print(sys.prefix)",
        ])
        .output()
        .expect("python3 runs (it finds pyang's YANG modules)");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| found(&Path::new(l.trim()).join("share/yang/modules/ietf")))
        .unwrap_or_else(|| {
            panic!(
                "the IETF YANG modules are missing (CI installs them: \
                 python3 -m pip install pyang==2.7.1), or set PUMPGUARD_YANG_DIR"
            )
        })
}

/// Runs yanglint on MUD files: `Ok` or its complaint.
fn yanglint(paths: &[PathBuf]) -> Vec<Result<(), String>> {
    let dir = yang_dir();
    for (module, revision) in [
        ("ietf-mud", "2019-01-28"),
        ("ietf-access-control-list", "2019-03-04"),
        ("ietf-acldns", "2019-01-28"),
        ("ietf-packet-fields", "2019-03-04"),
    ] {
        let text = std::fs::read_to_string(dir.join(format!("{module}.yang"))).expect("module");
        assert!(
            text.contains(&format!("revision {revision}")),
            "{module} in {dir:?} is not revision {revision}"
        );
    }
    paths
        .iter()
        .map(|p| {
            let out = Command::new("yanglint")
                .arg("-p")
                .arg(&dir)
                .args(["-t", "config"])
                .arg(dir.join("ietf-mud.yang"))
                .arg(dir.join("ietf-acldns.yang"))
                .arg(p)
                .output()
                .unwrap_or_else(|e| {
                    panic!("yanglint is missing (CI installs it: apt-get install -y libyang2-tools): {e}")
                });
            if out.status.success() {
                Ok(())
            } else {
                Err(format!(
                    "{}: {}",
                    p.display(),
                    String::from_utf8_lossy(&out.stderr)
                ))
            }
        })
        .collect()
}

fn write_files(case: &str, files: &[MudFile]) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("mud-{case}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    files
        .iter()
        .map(|f| {
            let path = dir.join(&f.file_name);
            std::fs::write(&path, f.to_pretty_string()).expect("write");
            path
        })
        .collect()
}

#[test]
fn yanglint_accepts_every_file() {
    for (case, policy, assets) in cases() {
        let zoning = Zoning::new(&policy, &assets);
        let files = mud::compile(&zoning, &opts());
        let paths = write_files(case, &files);
        let faults: Vec<String> = yanglint(&paths)
            .into_iter()
            .filter_map(Result::err)
            .collect();
        assert!(faults.is_empty(), "{case}: {faults:#?}");
    }
}

#[test]
fn yanglint_rejects_broken_files() {
    // The oracle is not vacuous: an ACL reference without its ACL, a protocol field that
    // does not exist and a cache validity beyond RFC 8520's week are refused.
    let zoning_policy = policy("example.yaml");
    let zoning = Zoning::new(&zoning_policy, &[]);
    let good = mud::compile(&zoning, &opts()).remove(0);
    let mut dangling = good.clone();
    dangling.json["ietf-mud:mud"]["from-device-policy"]["access-lists"]["access-list"][0]["name"] =
        "nowhere".into();
    let mut unknown = good.clone();
    unknown.json["ietf-access-control-list:acls"]["acl"][0]["aces"]["ace"][0]["matches"]["ipv4"]
        ["port"] = 1.into();
    let mut week = good.clone();
    week.json["ietf-mud:mud"]["cache-validity"] = 200.into();
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("mud-broken");
    std::fs::create_dir_all(&dir).expect("temp dir");
    let broken: Vec<PathBuf> = [dangling, unknown, week]
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let path = dir.join(format!("broken-{i}.json"));
            std::fs::write(&path, f.to_pretty_string()).expect("write");
            path
        })
        .collect();
    assert_eq!(yanglint(&write_files("good", &[good])), [Ok(())]);
    for r in yanglint(&broken) {
        assert!(r.is_err(), "yanglint accepted a broken file");
    }
}

// ---------------------------------------------------------------- content

#[test]
fn example_files_match_their_golden_files() {
    let p = policy("example.yaml");
    let zoning = Zoning::new(&p, &[]);
    let files = mud::compile(&zoning, &opts());
    assert_eq!(
        files
            .iter()
            .map(|f| f.file_name.as_str())
            .collect::<Vec<_>>(),
        ["pumps.json", "pump_servers.json"]
    );
    for f in &files {
        let path = data(&format!("example-{}", f.file_name));
        if std::env::var_os("PUMPGUARD_BLESS").is_some() {
            std::fs::write(&path, f.to_pretty_string()).expect("bless");
        }
        // Compared as JSON values: the key order of the text depends on serde_json's
        // `preserve_order` feature, which another crate could turn on.
        let golden: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("golden file"))
                .expect("golden JSON");
        assert_eq!(
            f.json,
            golden,
            "{} (PUMPGUARD_BLESS=1 rewrites it)",
            path.display()
        );
    }
    // The same input gives the same files.
    assert_eq!(files, mud::compile(&zoning, &opts()));
}

#[test]
fn header_follows_rfc_8520() {
    let p = policy("example.yaml");
    let zoning = Zoning::new(&p, &[]);
    let files = mud::compile(&zoning, &opts());
    let mud = &file(&files, "pumps")["ietf-mud:mud"];
    assert_eq!(mud["mud-version"], 1);
    assert_eq!(
        mud["mud-url"],
        "https://mud.hospital.example/pumpguard/pumps.json"
    );
    assert_eq!(mud["last-update"], "2025-01-02T03:04:05+00:00");
    assert_eq!(mud["cache-validity"], 48);
    assert_eq!(mud["is-supported"], true);
    assert!(
        mud["systeminfo"]
            .as_str()
            .expect("systeminfo")
            .contains("pumps")
    );

    let mut o = opts();
    o.systeminfo = Some("Infusion pumps, ward network".into());
    o.cache_validity_hours = 0;
    let files = mud::compile(&zoning, &o);
    let mud = &file(&files, "pump_servers")["ietf-mud:mud"];
    assert_eq!(mud["systeminfo"], "Infusion pumps, ward network");
    assert_eq!(mud["cache-validity"], 1, "clamped to RFC 8520's 1..168");
    o.cache_validity_hours = 255;
    assert_eq!(
        file(&mud::compile(&zoning, &o), "pumps")["ietf-mud:mud"]["cache-validity"],
        168
    );
}

#[test]
fn outgoing_conduit_and_its_replies() {
    let p = policy("example.yaml");
    let zoning = Zoning::new(&p, &[]);
    let files = mud::compile(&zoning, &opts());
    let pumps = file(&files, "pumps");
    assert_eq!(policy_acls(pumps, "from-device-policy"), ["pg-pumps-v4fr"]);
    assert_eq!(policy_acls(pumps, "to-device-policy"), ["pg-pumps-v4to"]);
    let fr = acl(pumps, "pg-pumps-v4fr");
    assert_eq!(fr["type"], "ipv4-acl-type");
    assert_eq!(
        ace_names(fr),
        [
            "c1-tcp-8443-n1",
            "c1-udp-123-n1",
            "same-zone-n1",
            "default-deny"
        ]
    );
    assert_eq!(
        ace(fr, "c1-tcp-8443-n1"),
        &serde_json::json!({
            "name": "c1-tcp-8443-n1",
            "matches": {
                "ipv4": {"protocol": 6, "destination-ipv4-network": "10.30.0.0/24"},
                "tcp": {
                    "destination-port": {"operator": "eq", "port": 8443},
                    "ietf-mud:direction-initiated": "from-device"
                }
            },
            "actions": {"forwarding": "accept", "logging": "log-syslog"}
        })
    );
    assert_eq!(
        ace(fr, "c1-udp-123-n1")["matches"],
        serde_json::json!({
            "ipv4": {"protocol": 17, "destination-ipv4-network": "10.30.0.0/24"},
            "udp": {"destination-port": {"operator": "eq", "port": 123}}
        })
    );
    assert_eq!(
        ace(fr, "same-zone-n1")["matches"],
        serde_json::json!({"ipv4": {"destination-ipv4-network": "10.20.0.0/16"}})
    );
    assert_eq!(
        ace(fr, "default-deny"),
        &serde_json::json!({
            "name": "default-deny",
            "matches": {},
            "actions": {"forwarding": "drop", "logging": "log-syslog"}
        })
    );
    // The replies: from the server's port, not logged.
    let to = acl(pumps, "pg-pumps-v4to");
    assert_eq!(
        ace(to, "c1-tcp-8443-n1"),
        &serde_json::json!({
            "name": "c1-tcp-8443-n1",
            "matches": {
                "ipv4": {"protocol": 6, "source-ipv4-network": "10.30.0.0/24"},
                "tcp": {
                    "source-port": {"operator": "eq", "port": 8443},
                    "ietf-mud:direction-initiated": "from-device"
                }
            },
            "actions": {"forwarding": "accept"}
        })
    );
}

#[test]
fn incoming_conduit_and_its_replies() {
    let p = policy("example.yaml");
    let zoning = Zoning::new(&p, &[]);
    let files = mud::compile(&zoning, &opts());
    let servers = file(&files, "pump_servers");
    let to = acl(servers, "pg-pump_servers-v4to");
    assert_eq!(
        ace(to, "c1-tcp-8443-n1")["matches"],
        serde_json::json!({
            "ipv4": {"protocol": 6, "source-ipv4-network": "10.20.0.0/16"},
            "tcp": {
                "destination-port": {"operator": "eq", "port": 8443},
                "ietf-mud:direction-initiated": "to-device"
            }
        })
    );
    assert_eq!(
        ace(to, "c1-tcp-8443-n1")["actions"]["logging"],
        "log-syslog"
    );
    let fr = acl(servers, "pg-pump_servers-v4fr");
    assert_eq!(
        ace(fr, "c1-udp-123-n1")["matches"],
        serde_json::json!({
            "ipv4": {"protocol": 17, "destination-ipv4-network": "10.20.0.0/16"},
            "udp": {"source-port": {"operator": "eq", "port": 123}}
        })
    );
}

#[test]
fn families_ranges_icmp_and_inventory_zones() {
    let p = policy("mixed.yaml");
    let assets = inventory();
    let zoning = Zoning::new(&p, &assets);
    let files = mud::compile(&zoning, &opts());
    assert_eq!(
        files.iter().map(|f| f.zone.as_str()).collect::<Vec<_>>(),
        ["pumps", "pump_servers", "ehr", "biomed", "imaging"]
    );
    let pumps = file(&files, "pumps");
    assert_eq!(
        policy_acls(pumps, "from-device-policy"),
        ["pg-pumps-v4fr", "pg-pumps-v6fr"]
    );
    let v6 = acl(pumps, "pg-pumps-v6fr");
    assert_eq!(v6["type"], "ipv6-acl-type");
    assert_eq!(
        ace(v6, "c1-icmp-n3")["matches"],
        serde_json::json!({"ipv6": {"protocol": 58, "destination-ipv6-network": "2001:db8:30::/64"}})
    );
    let v4 = acl(pumps, "pg-pumps-v4fr");
    assert_eq!(
        ace(v4, "c1-icmp-n2")["matches"],
        serde_json::json!({"ipv4": {"protocol": 1, "destination-ipv4-network": "10.31.0.9/32"}})
    );
    // The ssh service listed twice gives its ACEs once; a port range is a range.
    let to = acl(pumps, "pg-pumps-v4to");
    assert_eq!(
        ace_names(to)
            .into_iter()
            .filter(|n| n.starts_with("c3-"))
            .collect::<Vec<_>>(),
        ["c3-tcp-22-n1", "c3-udp-161-162-n1"]
    );
    assert_eq!(
        ace(to, "c3-udp-161-162-n1")["matches"]["udp"],
        serde_json::json!({"destination-port": {"lower-port": 161, "upper-port": 162}})
    );
    // ehr is its inventory's addresses; its v6 ACLs exist for the bridge's address.
    let ehr = file(&files, "ehr");
    let to = acl(ehr, "pg-ehr-v4to");
    assert_eq!(
        ace_names(to),
        [
            "c2-tcp-6661-6662-n1",
            "c2-tcp-6661-6662-n2",
            "c2-udp-514-n1",
            "c2-udp-514-n2",
            "same-zone-n1",
            "same-zone-n2",
            "default-deny"
        ]
    );
    assert_eq!(
        ace(to, "same-zone-n2")["matches"],
        serde_json::json!({"ipv4": {"source-ipv4-network": "10.50.0.9/32"}})
    );
    assert_eq!(
        ace_names(acl(ehr, "pg-ehr-v6to")),
        [
            "c2-tcp-6661-6662-n3",
            "c2-udp-514-n3",
            "same-zone-n3",
            "default-deny"
        ]
    );
    // imaging has no address yet: its file still says what its devices may do (for
    // those the inventory will have), and no other file names it.
    let imaging = file(&files, "imaging");
    assert_eq!(
        ace_names(acl(imaging, "pg-imaging-v4fr")),
        [
            "c4-tcp-443-n1",
            "c4-tcp-443-n2",
            "c5-icmp-n1",
            "default-deny"
        ]
    );
    assert_eq!(
        ace(acl(imaging, "pg-imaging-v4fr"), "c5-icmp-n1")["matches"],
        serde_json::json!({
            "ipv4": {"protocol": 1, "destination-ipv4-network": "10.40.0.0/24"},
            "icmp": {"type": 0}
        })
    );
    assert_eq!(
        ace_names(acl(imaging, "pg-imaging-v6fr")),
        ["c4-tcp-443-n3", "default-deny"]
    );
    let biomed = file(&files, "biomed");
    assert!(
        !ace_names(acl(biomed, "pg-biomed-v4fr"))
            .iter()
            .any(|n| n.starts_with("c5-"))
    );
}

#[test]
fn default_allow_ends_with_a_catch_all_accept() {
    let p = allow(&policy("mixed.yaml"));
    let assets = inventory();
    let zoning = Zoning::new(&p, &assets);
    for f in mud::compile(&zoning, &opts()) {
        for a in f.json["ietf-access-control-list:acls"]["acl"]
            .as_array()
            .expect("acls")
        {
            let last = a["aces"]["ace"]
                .as_array()
                .expect("aces")
                .last()
                .expect("an ACE");
            assert_eq!(
                last,
                &serde_json::json!({"name": "default-allow", "matches": {}, "actions": {"forwarding": "accept"}}),
                "{}",
                a["name"]
            );
        }
    }
}

// ---------------------------------------------------------------- replayed flows

/// One packet as a MUD-enforcing switch sees it.
#[derive(Debug, Clone, Copy)]
struct Packet {
    proto: u8,
    src: IpAddr,
    dst: IpAddr,
    sport: u16,
    dport: u16,
    /// ICMP: echo request (8, ICMPv6 128) opening, echo reply (0, 129) back.
    icmp_type: u8,
    /// For TCP: the connection was opened by the device the file is for.
    device_initiated: bool,
}

fn port_matches(spec: &Value, port: u16) -> bool {
    let num = |k: &str| -> u16 {
        u16::try_from(spec[k].as_u64().unwrap_or_else(|| panic!("{k} in {spec}"))).expect("port")
    };
    if spec.get("lower-port").is_some() {
        (num("lower-port")..=num("upper-port")).contains(&port)
    } else {
        assert_eq!(spec["operator"], "eq", "{spec}");
        num("port") == port
    }
}

fn net_of(v: &Value) -> IpNet {
    v.as_str().expect("prefix").parse().expect("prefix")
}

/// RFC 8519 matching of the fields the compiler writes; any other field fails the test.
fn ace_matches(ace: &Value, p: &Packet) -> bool {
    let matches = ace["matches"].as_object().expect("matches");
    matches.iter().all(|(k, v)| match k.as_str() {
        "ipv4" | "ipv6" => {
            let fam_ok = (k == "ipv6") == p.src.is_ipv6();
            fam_ok
                && v.as_object()
                    .expect("l3")
                    .iter()
                    .all(|(f, x)| match f.as_str() {
                        "protocol" => x.as_u64() == Some(u64::from(p.proto)),
                        "source-ipv4-network" | "source-ipv6-network" => net_of(x).contains(&p.src),
                        "destination-ipv4-network" | "destination-ipv6-network" => {
                            net_of(x).contains(&p.dst)
                        }
                        other => panic!("unexpected l3 match {other}"),
                    })
        }
        "tcp" | "udp" => {
            let proto = if k == "tcp" { 6 } else { 17 };
            p.proto == proto
                && v.as_object()
                    .expect("l4")
                    .iter()
                    .all(|(f, x)| match f.as_str() {
                        "source-port" => port_matches(x, p.sport),
                        "destination-port" => port_matches(x, p.dport),
                        "ietf-mud:direction-initiated" => match x.as_str() {
                            Some("from-device") => p.device_initiated,
                            Some("to-device") => !p.device_initiated,
                            _ => panic!("direction {x}"),
                        },
                        other => panic!("unexpected l4 match {other}"),
                    })
        }
        "icmp" => {
            (p.proto == 1 || p.proto == 58)
                && v.as_object()
                    .expect("icmp")
                    .iter()
                    .all(|(f, x)| match f.as_str() {
                        "type" => x.as_u64() == Some(u64::from(p.icmp_type)),
                        other => panic!("unexpected icmp match {other}"),
                    })
        }
        other => panic!("unexpected match {other}"),
    })
}

/// Whether the MUD file lets the packet through in one direction: the first matching
/// ACE of the ACL of the packet's family (none matching: dropped).
fn mud_accepts(json: &Value, dir: &str, p: &Packet) -> bool {
    let ty = if p.src.is_ipv6() {
        "ipv6-acl-type"
    } else {
        "ipv4-acl-type"
    };
    for name in policy_acls(json, dir) {
        let a = acl(json, name);
        if a["type"] != ty {
            continue;
        }
        if let Some(hit) = a["aces"]["ace"]
            .as_array()
            .expect("aces")
            .iter()
            .find(|ace| ace_matches(ace, p))
        {
            return hit["actions"]["forwarding"] == "accept";
        }
    }
    false
}

const SERVICES: &[(&str, u8, u16)] = &[
    ("tcp", 6, 22),
    ("tcp", 6, 443),
    ("tcp", 6, 6661),
    ("tcp", 6, 6662),
    ("tcp", 6, 6663),
    ("tcp", 6, 8443),
    ("tcp", 6, 8444),
    ("udp", 17, 123),
    ("udp", 17, 161),
    ("udp", 17, 162),
    ("udp", 17, 163),
    ("udp", 17, 514),
    ("icmp", 1, 0),
];

/// Source ports an opening packet is also tried from: the services' own.
const SOURCE_PORTS: [u16; 6] = [22, 123, 161, 514, 6661, 8443];

#[test]
fn mud_files_allow_what_the_policy_allows() {
    for (case, policy, assets) in cases() {
        let zoning = Zoning::new(&policy, &assets);
        let files = mud::compile(&zoning, &opts());
        let of = |a: IpAddr| zoning.zone_of(a).map(|i| &files[i].json);
        let addrs = probes(&zoning);
        let mut checked = 0;
        for &client in &addrs {
            for &server in &addrs {
                if client == server || client.is_ipv6() != server.is_ipv6() {
                    continue;
                }
                for &(name, proto, port) in SERVICES {
                    let proto = if proto == 1 && client.is_ipv6() {
                        58
                    } else {
                        proto
                    };
                    let verdict = zoning.evaluate(name, client, server, port);
                    let allowed = verdict != Verdict::Denied;
                    let out = Packet {
                        proto,
                        src: client,
                        dst: server,
                        sport: 40000,
                        dport: port,
                        icmp_type: if client.is_ipv6() { 128 } else { 8 },
                        device_initiated: true,
                    };
                    let inn = Packet {
                        device_initiated: false,
                        ..out
                    };
                    let mud = of(client).is_none_or(|f| mud_accepts(f, "from-device-policy", &out))
                        && of(server).is_none_or(|f| mud_accepts(f, "to-device-policy", &inn));
                    assert_eq!(
                        mud, allowed,
                        "{case}: {name}/{port} {client} -> {server}: policy says {verdict:?}"
                    );
                    // Opened from a service's port (what the replies permit): TCP
                    // replies are only for connections the other end opened
                    // (direction-initiated); UDP replies are stateless, so a datagram
                    // from such a port may pass where the policy denies.
                    for sport in SOURCE_PORTS {
                        let out = Packet { sport, ..out };
                        let inn = Packet { sport, ..inn };
                        let mud = of(client)
                            .is_none_or(|f| mud_accepts(f, "from-device-policy", &out))
                            && of(server).is_none_or(|f| mud_accepts(f, "to-device-policy", &inn));
                        if name == "udp" {
                            assert!(mud || !allowed, "{case}: {name}/{port} from {sport}");
                        } else {
                            assert_eq!(
                                mud, allowed,
                                "{case}: {name}/{port} {client}:{sport} -> {server}: {verdict:?}"
                            );
                        }
                    }
                    if allowed {
                        // Its replies pass too.
                        let reply = Packet {
                            src: server,
                            dst: client,
                            sport: if proto == 6 || proto == 17 { port } else { 0 },
                            dport: 40000,
                            icmp_type: if client.is_ipv6() { 129 } else { 0 },
                            ..out
                        };
                        let back = of(server).is_none_or(|f| {
                            mud_accepts(
                                f,
                                "from-device-policy",
                                &Packet {
                                    device_initiated: false,
                                    ..reply
                                },
                            )
                        }) && of(client).is_none_or(|f| {
                            mud_accepts(
                                f,
                                "to-device-policy",
                                &Packet {
                                    device_initiated: true,
                                    ..reply
                                },
                            )
                        });
                        assert!(
                            back,
                            "{case}: reply of {name}/{port} {client} -> {server} is dropped"
                        );
                    }
                    checked += 1;
                }
            }
        }
        assert!(checked > 50, "{case}: {checked} flows");
    }
}
