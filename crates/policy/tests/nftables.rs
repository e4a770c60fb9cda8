//! nftables: the compiled text is what the module documents (one golden ruleset, sets,
//! omissions, logging, names); `nft` itself accepts the rulesets of several policies and
//! loads them again and again without touching another table (inside `unshare -rn`, so
//! the host's ruleset is never touched); in network namespaces a router loaded with the
//! example's ruleset passes and drops real connections; and for random policies and
//! flows, what the router does is what `Zoning::evaluate` says.
//!
//! Needs `nft` (Debian: `nftables`), `ip` (`iproute2`), `unshare` (`util-linux`) and
//! `python3`; the namespace tests need root and are skipped without it.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
mod common;

use pumpguard_model::{Asset, AssetId, AssetKind, Source};
use pumpguard_policy::compile::nftables::{self, CompileError, DENY_COMMENT, MAX_LOG_PREFIX};
use pumpguard_policy::{Policy, Verdict, Zoning};
use serde_json::{Value, json};

/// IPv6 and IPv4 ranges (adjacent and nested ones in one zone), a name with '-', a zone
/// with IPv6 only, port ranges and ICMP.
const DUAL_STACK: &str = "\
zones:
  - name: pumps
    cidrs: [10.20.0.0/24, 10.20.1.0/24, 10.21.0.0/16, 10.21.4.0/24, 'fd20::/64']
  - name: pump-servers
    vlan: 130
    cidrs: [10.30.0.0/24, 'fd30::/64', 'fd30:0:0:1::10']
  - name: lab
    cidrs: ['fd40::/48']
conduits:
  - from: pumps
    to: pump-servers
    services: [tcp/8443, tcp/1000-2000, udp/5000-5100, icmp]
    log: true
  - from: pump-servers
    to: pumps
    services: [icmp, udp/514]
  - from: lab
    to: pump-servers
    services: [tcp/22]
  - from: lab
    to: pumps
    services: [tcp/443]
    log: true
default: deny
";

/// Zones by the inventory's kinds and models beside ranges; one matches no asset.
const BY_ATTRIBUTES: &str = "\
zones:
  - name: pumps
    kinds: [infusion_pump]
    models: ['Alaris 8015']
  - name: pump_servers
    cidrs: [10.30.0.0/24]
    kinds: [pump_server]
  - name: ehr
    kinds: [ehr]
conduits:
  - from: pumps
    to: pump_servers
    services: [tcp/8443]
  - from: ehr
    to: pump_servers
    services: [tcp/443]
  - from: pump_servers
    to: ehr
    services: [tcp/2575]
    log: true
default: deny
";

const DEFAULT_ALLOW: &str = "\
zones:
  - name: guests
    cidrs: [192.168.0.0/16]
  - name: pumps
    cidrs: [10.20.0.0/16, '2001:db8:20::/48']
  - name: pump_servers
    cidrs: [10.30.0.0/24, '2001:db8:30::/48']
conduits:
  - from: pumps
    to: pump_servers
    services: [tcp/8443, udp/123]
default: allow
";

/// The ruleset of the example, as an operator reads it.
const EXAMPLE_RULESET: &str = r#"# pumpguard segmentation policy for a router forwarding between its zones.
# Load with `nft -f FILE`: it replaces table inet pumpguard and no other table
# (the first statement creates the table if it is missing, the second deletes it).
# 2 zone(s), 1 conduit(s), default deny.

table inet pumpguard
delete table inet pumpguard

table inet pumpguard {
	comment "pumpguard segmentation policy, default deny"

	set zone_pumps {
		type ipv4_addr
		flags interval
		comment "zone pumps, vlan 120"
		elements = {
			10.20.0.0/16
		}
	}

	set zone_pump_servers {
		type ipv4_addr
		flags interval
		comment "zone pump_servers, vlan 130"
		elements = {
			10.30.0.0/24
		}
	}

	chain forward {
		type filter hook forward priority filter; policy drop;
		ct state established,related accept
		ct state invalid drop
		ip saddr @zone_pumps ip daddr @zone_pumps accept comment "zone pumps: traffic inside a zone is not filtered"
		ip saddr @zone_pump_servers ip daddr @zone_pump_servers accept comment "zone pump_servers: traffic inside a zone is not filtered"
		ip saddr @zone_pumps ip daddr @zone_pump_servers tcp dport 8443 ct state new counter log prefix "pg:pumps->pump_servers " accept comment "conduit 1: pumps -> pump_servers tcp/8443 (policy line 9)"
		ip saddr @zone_pumps ip daddr @zone_pump_servers udp dport 123 ct state new counter log prefix "pg:pumps->pump_servers " accept comment "conduit 1: pumps -> pump_servers udp/123 (policy line 9)"
		counter limit rate 10/second log prefix "pg:deny " drop comment "default deny: no conduit allows it"
	}
}
"#;

fn parse(text: &str) -> Policy {
    Policy::parse(text, "policy.yaml").expect("the policy reads")
}

/// The example policy of `tests/data/example.yaml`.
fn example() -> String {
    std::fs::read_to_string(common::data("example.yaml")).expect("example policy")
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("an address")
}

fn asset(id: &str, kind: AssetKind, model: Option<&str>, ips: &[&str]) -> Asset {
    let mut a = Asset::new(id.parse::<AssetId>().expect("id"), kind, Source::Discovered);
    a.model = model.map(str::to_owned);
    a.ips = ips.iter().map(|s| ip(s)).collect();
    a
}

/// The inventory of [`BY_ATTRIBUTES`]: two pumps by kind (one with an IPv6 address too),
/// one by model only, a pump server outside the server range, and a pump inside it
/// (the range wins: it stays a server).
fn inventory() -> Vec<Asset> {
    vec![
        asset(
            "P2",
            AssetKind::InfusionPump,
            None,
            &["10.20.0.12", "fd20::12"],
        ),
        asset("P1", AssetKind::InfusionPump, None, &["10.20.0.11"]),
        asset("P3", AssetKind::Other, Some("Alaris 8015"), &["10.20.9.3"]),
        asset("S2", AssetKind::PumpServer, None, &["10.31.0.5"]),
        asset("P9", AssetKind::InfusionPump, None, &["10.30.0.99"]),
        asset("W1", AssetKind::Workstation, None, &["10.50.0.5"]),
    ]
}

fn compile(policy: &Policy, assets: &[Asset]) -> String {
    nftables::compile(&Zoning::new(policy, assets)).expect("the policy compiles")
}

/// The four policies `nft` must take, by name.
fn policies() -> Vec<(&'static str, String)> {
    vec![
        ("example", compile(&parse(&example()), &[])),
        ("dual_stack", compile(&parse(DUAL_STACK), &[])),
        (
            "by_attributes",
            compile(&parse(BY_ATTRIBUTES), &inventory()),
        ),
        ("default_allow", compile(&parse(DEFAULT_ALLOW), &[])),
    ]
}

// ---------------------------------------------------------------------------------------
// The text.

#[test]
fn the_example_compiles_to_the_documented_ruleset() {
    assert_eq!(compile(&parse(&example()), &[]), EXAMPLE_RULESET);
}

#[test]
fn the_same_policy_and_inventory_give_the_same_text() {
    let policy = parse(BY_ATTRIBUTES);
    let assets = inventory();
    let mut reversed = assets.clone();
    reversed.reverse();
    let first = compile(&policy, &assets);
    assert_eq!(compile(&policy, &assets), first);
    assert_eq!(compile(&policy, &reversed), first);
}

/// The lines of `text` that are rules of chain forward.
fn rules(text: &str) -> Vec<&str> {
    let start = text.find("chain forward").expect("a forward chain");
    text[start..]
        .lines()
        .map(str::trim)
        .filter(|l| l.contains(" accept") || l.contains(" drop"))
        .filter(|l| !l.starts_with("type "))
        .collect()
}

#[test]
fn attribute_zones_hold_their_assets_and_an_empty_zone_has_no_set_and_no_rules() {
    let text = compile(&parse(BY_ATTRIBUTES), &inventory());
    let set = |name: &str| {
        let start = text
            .find(&format!("set {name} {{"))
            .unwrap_or_else(|| panic!("set {name} in\n{text}"));
        let end = start + text[start..].find("\n\t}").expect("set end");
        text[start..end].to_owned()
    };
    let pumps = set("zone_pumps");
    for a in ["10.20.0.11", "10.20.0.12", "10.20.9.3"] {
        assert!(pumps.contains(a), "{a} in {pumps}");
    }
    assert!(
        !pumps.contains("10.30.0.99"),
        "the server range wins: {pumps}"
    );
    assert!(set("zone_pumps_v6").contains("fd20::12"));
    let servers = set("zone_pump_servers");
    assert!(servers.contains("10.30.0.0/24") && servers.contains("10.31.0.5"));
    assert!(!text.contains("zone_pump_servers_v6"));
    assert!(!text.contains("10.50.0.5"), "a workstation is in no zone");

    // ehr has no asset: no set, nothing refers to one, and the file says why.
    assert!(!text.contains("@zone_ehr") && !text.contains("set zone_ehr"));
    assert!(text.contains("# zone ehr: no address in it"), "{text}");
    let rules = rules(&text);
    // Only pumps -> servers has rules, and in IPv4 only: the servers have no IPv6.
    let conduit_rules: Vec<&&str> = rules
        .iter()
        .filter(|r| r.contains("comment \"conduit"))
        .collect();
    assert_eq!(conduit_rules.len(), 1, "{rules:#?}");
    assert!(
        conduit_rules[0]
            .starts_with("ip saddr @zone_pumps ip daddr @zone_pump_servers tcp dport 8443 ")
    );
    assert!(text.contains("# conduit 2: ehr -> pump_servers: zone ehr has no address: no rules\n"));
    assert!(text.contains("# conduit 3: pump_servers -> ehr: zone ehr has no address: no rules\n"));
}

#[test]
fn rules_count_always_log_when_asked_and_match_each_family_and_service() {
    let text = compile(&parse(DUAL_STACK), &[]);
    let rules = rules(&text);
    let conduit = |n: usize| -> Vec<&str> {
        rules
            .iter()
            .copied()
            .filter(|r| r.contains(&format!("comment \"conduit {n}: ")))
            .collect()
    };
    // Conduit 1: four services; pumps and pump-servers both have IPv4 and IPv6.
    let c1 = conduit(1);
    assert_eq!(c1.len(), 8, "{c1:#?}");
    assert!(c1.iter().all(|r| {
        r.contains(" ct state new counter log prefix \"pg:pumps->pump-servers \" accept ")
    }));
    assert!(c1.contains(&"ip saddr @zone_pumps ip daddr @zone_pump-servers tcp dport 1000-2000 ct state new counter log prefix \"pg:pumps->pump-servers \" accept comment \"conduit 1: pumps -> pump-servers tcp/1000-2000 (policy line 10)\""));
    assert!(c1.iter().any(|r| r.starts_with(
        "ip6 saddr @zone_pumps_v6 ip6 daddr @zone_pump-servers_v6 udp dport 5000-5100 "
    )));
    assert!(c1.iter().any(|r| {
        r.starts_with("ip saddr @zone_pumps ip daddr @zone_pump-servers meta l4proto icmp ")
    }));
    assert!(c1.iter().any(|r| r.starts_with(
        "ip6 saddr @zone_pumps_v6 ip6 daddr @zone_pump-servers_v6 meta l4proto ipv6-icmp "
    )));
    // Conduit 2: counted, not logged.
    let c2 = conduit(2);
    assert_eq!(c2.len(), 4);
    assert!(
        c2.iter()
            .all(|r| r.contains(" counter accept ") && !r.contains(" log "))
    );
    // lab has IPv6 only: its conduits have IPv6 rules only.
    assert_eq!(conduit(3).len(), 1);
    assert!(
        conduit(4)[0].starts_with("ip6 saddr @zone_lab_v6 ip6 daddr @zone_pumps_v6 tcp dport 443 ")
    );
    assert!(!text.contains("set zone_lab {"));
    // Adjacent and nested ranges merge: an interval set takes no overlap.
    assert!(
        text.contains("\t\t\t10.20.0.0/23,\n\t\t\t10.21.0.0/16\n"),
        "{text}"
    );
    assert!(
        text.contains("\t\t\tfd30::/64,\n\t\t\tfd30:0:0:1::10\n"),
        "{text}"
    );
    // Same zone: not filtered, for each family.
    assert!(rules.contains(&"ip6 saddr @zone_lab_v6 ip6 daddr @zone_lab_v6 accept comment \"zone lab: traffic inside a zone is not filtered\""));
    assert_eq!(
        rules.last().copied(),
        Some(
            "counter limit rate 10/second log prefix \"pg:deny \" drop comment \"default deny: no conduit allows it\""
        )
    );
}

#[test]
fn default_allow_accepts_by_policy_and_adds_no_deny_rule() {
    let text = compile(&parse(DEFAULT_ALLOW), &[]);
    assert!(text.contains("type filter hook forward priority filter; policy accept;"));
    assert!(!text.contains("pg:deny") && !text.contains(" drop comment"));
    assert!(text.contains("ct state invalid drop"));
    assert!(text.contains("tcp dport 8443 ct state new counter accept comment"));
}

#[test]
fn log_prefixes_and_comments_fit_for_the_longest_names() {
    let a = "a".repeat(32);
    let b = format!("b{}", "-".repeat(31));
    let text = compile(
        &parse(&format!(
            "zones:\n  - name: {a}\n    cidrs: [10.1.0.0/16]\n  - name: '{b}'\n    cidrs: [10.2.0.0/16]\n\
             conduits:\n  - from: {a}\n    to: '{b}'\n    services: [tcp/65000-65535]\n    log: true\n"
        )),
        &[],
    );
    let quoted = |after: &str| -> Vec<String> {
        text.match_indices(after)
            .map(|(i, _)| {
                let rest = &text[i + after.len()..];
                rest[..rest.find('"').expect("closing quote")].to_owned()
            })
            .collect()
    };
    let prefixes = quoted("log prefix \"");
    assert!(prefixes.contains(&format!("pg:{a}->{b} ")));
    assert!(prefixes.iter().all(|p| p.len() <= MAX_LOG_PREFIX));
    assert!(
        quoted("comment \"")
            .iter()
            .all(|c| c.len() <= nftables::MAX_COMMENT)
    );
    assert_eq!(
        nftables::log_prefix(&"x".repeat(100), &"y".repeat(100)).len(),
        MAX_LOG_PREFIX
    );
}

#[test]
fn names_nftables_cannot_take_apart_are_refused() {
    // Both zone names are valid in a policy file, but zone 'lab' would have an IPv6 set
    // named like zone 'lab_v6''s IPv4 set.
    let policy = parse(
        "zones:\n  - name: lab_v6\n    cidrs: [10.1.0.0/16]\n  - name: lab\n    cidrs: ['fd00::/64']\n",
    );
    let err = nftables::compile(&Zoning::new(&policy, &[])).expect_err("refused");
    assert_eq!(
        err,
        CompileError::SetNameClash {
            zone: "lab_v6".into(),
            other: "lab".into(),
            set: "zone_lab_v6".into()
        }
    );
    assert!(err.to_string().contains("rename one"), "{err}");

    let mut policy = parse(&example());
    policy.zones[1].name = "pump servers\"; flush ruleset".into();
    policy.conduits[0].to = policy.zones[1].name.clone();
    let err = nftables::compile(&Zoning::new(&policy, &[])).expect_err("refused");
    assert!(matches!(err, CompileError::ZoneName(_)), "{err}");

    let mut policy = parse(&example());
    policy.conduits[0].to = "ehr".into();
    let err = nftables::compile(&Zoning::new(&policy, &[])).expect_err("refused");
    assert_eq!(
        err.to_string(),
        "conduit 1 (pumps -> ehr) names unknown zone 'ehr'"
    );

    let mut policy = parse(&example());
    policy.zones[1].name = "pumps".into();
    let err = nftables::compile(&Zoning::new(&policy, &[])).expect_err("refused");
    assert_eq!(err, CompileError::DuplicateZone("pumps".into()));
}

// ---------------------------------------------------------------------------------------
// Tools and files.

/// Runs `cmd`, panicking with its output unless it succeeds; `install` says where the
/// program comes from when it is missing.
fn run(cmd: &mut Command, install: &str) -> String {
    let program = cmd.get_program().to_string_lossy().into_owned();
    let out = cmd.output().unwrap_or_else(|e| {
        panic!("cannot run {program} ({e}): the nftables tests need it ({install})")
    });
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

const NFT: &str = "Debian/Ubuntu package nftables";
const IPROUTE: &str = "Debian/Ubuntu package iproute2";
const UNSHARE: &str = "Debian/Ubuntu package util-linux";

/// Fails clearly when `nft` is missing.
fn require_nft() {
    match Command::new("nft").arg("--version").output() {
        Ok(out) if out.status.success() => {}
        Ok(out) => panic!(
            "`nft --version` failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) => panic!(
            "nft is not installed ({e}): the nftables tests run it ({NFT}: apt-get install nftables)"
        ),
    }
}

/// Where this file's artifacts go: `$CARGO_TARGET_TMPDIR/nftables/<what>/`.
fn artifacts(what: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("nftables")
        .join(what);
    std::fs::create_dir_all(&dir).expect("artifact dir");
    dir
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write the ruleset");
    path
}

fn is_root() -> bool {
    run(Command::new("id").arg("-u"), "coreutils").trim() == "0"
}

/// Whether a namespace test can run (as root); says why not once.
#[allow(clippy::print_stderr)]
fn skip_unless_root(test: &str) -> bool {
    if is_root() {
        return false;
    }
    eprintln!("{test}: skipped: creating network namespaces needs root (CI runs as root)");
    true
}

// ---------------------------------------------------------------------------------------
// nft takes the rulesets (in a user and network namespace of its own).

#[test]
fn nft_checks_every_ruleset_and_loads_each_twice_beside_another_table() {
    require_nft();
    let dir = artifacts("check");
    let other = write(
        &dir,
        "other.nft",
        "table inet other {\n\tchain input {\n\t\ttype filter hook input priority 0; policy accept;\n\t}\n}\n",
    );
    for (name, text) in policies() {
        let file = write(&dir, &format!("{name}.nft"), &text);
        run(
            Command::new("unshare")
                .args(["-rn", "nft", "-c", "-f"])
                .arg(&file),
            UNSHARE,
        );
        // Load another table, then ours twice: the second load replaces ours, the
        // other one stays.
        let listed = run(
            Command::new("unshare")
                .args([
                    "-rn",
                    "sh",
                    "-ec",
                    "nft -f \"$1\"; nft -f \"$2\"; nft -f \"$2\"; nft list ruleset",
                    "sh",
                ])
                .arg(&other)
                .arg(&file),
            UNSHARE,
        );
        assert!(listed.contains("table inet other {"), "{name}: {listed}");
        assert_eq!(
            listed.matches("table inet pumpguard {").count(),
            1,
            "{name}: {listed}"
        );
        assert_eq!(
            listed.matches("chain forward {").count(),
            1,
            "{name}: {listed}"
        );
        let expected_rules = rules(&text).len();
        let start = listed.find("chain forward {").expect("chain");
        let loaded_rules = listed[start..]
            .lines()
            .filter(|l| l.contains(" accept") || l.contains(" drop"))
            .filter(|l| !l.contains("type filter"))
            .count();
        assert_eq!(loaded_rules, expected_rules, "{name}: {listed}");
    }
}

// ---------------------------------------------------------------------------------------
// Network namespaces: a router between two or more host namespaces.

/// Network namespaces this test made; deleted when dropped (also on a failure).
#[derive(Debug, Default)]
struct Netns {
    names: Vec<String>,
}

impl Netns {
    fn add(&mut self, name: &str) {
        run(Command::new("ip").args(["netns", "add", name]), IPROUTE);
        self.names.push(name.to_owned());
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        for name in self.names.iter().rev() {
            // Best effort: a namespace that is already gone is fine.
            let _ = Command::new("ip")
                .args(["netns", "del", name])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// Sets `KEY=VALUE` sysctl `settings` in namespace `ns` (through `/proc/sys`, which
/// shows the settings of the reader's network namespace: no `sysctl` program needed).
fn sysctl(ns: &str, settings: &[&str]) {
    let mut args: Vec<String> = Vec::new();
    for s in settings {
        let (key, value) = s.split_once('=').expect("KEY=VALUE");
        args.push(format!("/proc/sys/{}", key.replace('.', "/")));
        args.push(value.to_owned());
    }
    run(
        Command::new("ip")
            .args([
                "netns",
                "exec",
                ns,
                "sh",
                "-ec",
                "while [ $# -gt 0 ]; do echo \"$2\" > \"$1\"; shift 2; done",
                "sh",
            ])
            .args(&args),
        IPROUTE,
    );
}

/// `ip -n NS -batch -` of `lines`.
fn ip_batch(ns: &str, lines: &[String]) {
    let mut child = Command::new("ip")
        .args(["-n", ns, "-batch", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run ip ({e}): {IPROUTE}"));
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(lines.join("\n").as_bytes())
        .expect("write the batch");
    let out = child.wait_with_output().expect("ip -batch");
    assert!(
        out.status.success(),
        "ip -n {ns} -batch failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        lines.join("\n")
    );
}

const AGENT: &str = include_str!("nft_agent.py");

/// `nft_agent.py` running in a namespace; killed when dropped.
#[derive(Debug)]
struct Agent {
    ns: String,
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Agent {
    fn start(ns: &str) -> Agent {
        let mut child = Command::new("ip")
            .args(["netns", "exec", ns, "python3", "-u", "-c", AGENT])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run ip netns exec ({e}): {IPROUTE}"));
        let stdin = child.stdin.take().expect("stdin");
        let stdout = BufReader::new(child.stdout.take().expect("stdout"));
        Agent {
            ns: ns.to_owned(),
            child,
            stdin,
            stdout,
        }
    }

    fn send(&mut self, request: &Value) {
        writeln!(self.stdin, "{request}")
            .unwrap_or_else(|e| panic!("the agent in {} is gone ({e})", self.ns));
    }

    fn answer(&mut self) -> Value {
        let mut line = String::new();
        let n = self.stdout.read_line(&mut line).expect("read the agent");
        assert!(
            n > 0,
            "the agent in {} stopped (is python3 installed?)",
            self.ns
        );
        let v: Value = serde_json::from_str(&line).expect("the agent answers JSON");
        assert!(v.get("error").is_none(), "agent in {}: {v}", self.ns);
        v
    }

    fn listen(&mut self, sockets: &BTreeSet<(String, String, u16)>) {
        let list: Vec<Value> = sockets.iter().map(|(p, a, n)| json!([p, a, n])).collect();
        self.send(&json!({ "listen": list }));
        self.answer();
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One host namespace on its own link to the router: the router's addresses on it and
/// the host's (`ADDR/PREFIX`; IPv6 ones are added without duplicate detection).
#[derive(Debug)]
struct Side {
    ns: String,
    router: Vec<String>,
    hosts: Vec<String>,
}

/// A router namespace with a veth to each side's namespace, forwarding IPv4 and IPv6, and
/// an agent in each side. Dropping it stops the agents, then deletes the namespaces.
#[derive(Debug)]
struct Lab {
    agents: Vec<Agent>,
    router: String,
    _netns: Netns,
}

fn no_prefix(addr: &str) -> &str {
    addr.split_once('/').map_or(addr, |(a, _)| a)
}

fn addr_line(addr: &str, dev: &str) -> String {
    if addr.contains(':') {
        format!("address add {addr} dev {dev} nodad")
    } else {
        format!("address add {addr} dev {dev}")
    }
}

impl Lab {
    fn build(router: &str, sides: &[Side]) -> Lab {
        let mut netns = Netns::default();
        netns.add(router);
        for s in sides {
            netns.add(&s.ns);
        }
        // No duplicate address detection, for the link-local addresses too: while they
        // are tentative, neighbour discovery across the link can fail.
        for ns in &netns.names {
            sysctl(
                ns,
                &[
                    "net.ipv6.conf.all.accept_dad=0",
                    "net.ipv6.conf.default.accept_dad=0",
                ],
            );
        }
        let mut lines = vec!["link set lo up".to_owned()];
        for (k, s) in sides.iter().enumerate() {
            lines.push(format!(
                "link add r{k} type veth peer name eth0 netns {}",
                s.ns
            ));
            lines.extend(s.router.iter().map(|a| addr_line(a, &format!("r{k}"))));
            lines.push(format!("link set r{k} up"));
        }
        ip_batch(router, &lines);
        for s in sides {
            let mut lines = vec!["link set lo up".to_owned()];
            lines.extend(s.hosts.iter().map(|a| addr_line(a, "eth0")));
            lines.push("link set eth0 up".to_owned());
            for family in [false, true] {
                if let Some(gw) = s.router.iter().find(|a| a.contains(':') == family) {
                    lines.push(format!("route add default via {}", no_prefix(gw)));
                }
            }
            ip_batch(&s.ns, &lines);
        }
        sysctl(
            router,
            &["net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1"],
        );
        let agents = sides.iter().map(|s| Agent::start(&s.ns)).collect();
        Lab {
            agents,
            router: router.to_owned(),
            _netns: netns,
        }
    }

    fn load(&self, ruleset: &Path) {
        run(
            Command::new("ip")
                .args(["netns", "exec", &self.router, "nft", "-f"])
                .arg(ruleset),
            NFT,
        );
    }

    /// The router's table as `nft -j` gives it.
    fn table(&self) -> Value {
        let text = run(
            Command::new("ip").args([
                "netns",
                "exec",
                &self.router,
                "nft",
                "-j",
                "list",
                "table",
                "inet",
                "pumpguard",
            ]),
            NFT,
        );
        serde_json::from_str(&text).expect("nft -j gives JSON")
    }

    /// Every flow `(side of client, proto, client, server, port)` tried at once (each
    /// side's in parallel); their results in order.
    fn flows(&mut self, flows: &[(usize, &str, IpAddr, IpAddr, u16)], timeout: f64) -> Vec<String> {
        let mut by_side: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for (i, f) in flows.iter().enumerate() {
            by_side.entry(f.0).or_default().push(i);
        }
        for (side, ids) in &by_side {
            let list: Vec<Value> = ids
                .iter()
                .map(|i| {
                    let (_, proto, c, s, port) = flows[*i];
                    json!([proto, c.to_string(), s.to_string(), port])
                })
                .collect();
            self.agents[*side].send(&json!({ "flows": list, "timeout": timeout }));
        }
        let mut results = vec![String::new(); flows.len()];
        for (side, ids) in &by_side {
            let answer = self.agents[*side].answer();
            let got = answer["results"].as_array().expect("results");
            assert_eq!(got.len(), ids.len());
            for (i, r) in ids.iter().zip(got) {
                results[*i] = r.as_str().expect("a result").to_owned();
            }
        }
        results
    }
}

/// `(comment, packets)` of every counting rule in an `nft -j` listing.
fn counters(table: &Value) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    for item in table["nftables"].as_array().expect("nftables") {
        let Some(rule) = item.get("rule") else {
            continue;
        };
        let comment = rule["comment"].as_str().unwrap_or_default().to_owned();
        for e in rule["expr"].as_array().expect("expr") {
            if let Some(packets) = e.get("counter").and_then(|c| c["packets"].as_u64()) {
                out.push((comment.clone(), packets));
            }
        }
    }
    out
}

#[test]
fn a_router_loaded_with_the_example_passes_the_conduit_and_drops_the_rest() {
    if skip_unless_root("a_router_loaded_with_the_example_passes_the_conduit_and_drops_the_rest") {
        return;
    }
    require_nft();
    // The brief's topology and policy, plus IPv6 ranges in both zones.
    let policy = parse(
        "zones:\n  - name: pumps\n    cidrs: [10.20.0.0/24, 'fd20::/64']\n\
         \x20 - name: pump_servers\n    cidrs: [10.30.0.0/24, 'fd30::/64']\n\
         conduits:\n  - from: pumps\n    to: pump_servers\n    services: [tcp/8443, udp/123]\n    log: true\n\
         default: deny\n",
    );
    let zoning = Zoning::new(&policy, &[]);
    let ruleset = write(
        &artifacts("router"),
        "router.nft",
        &nftables::compile(&zoning).expect("compiles"),
    );

    let n = std::process::id();
    let mut lab = Lab::build(
        &format!("pg-rtr-{n}"),
        &[
            Side {
                ns: format!("pg-pump-{n}"),
                router: vec!["10.20.0.1/24".into(), "fd20::1/64".into()],
                hosts: vec!["10.20.0.10/24".into(), "fd20::10/64".into()],
            },
            Side {
                ns: format!("pg-srv-{n}"),
                router: vec!["10.30.0.1/24".into(), "fd30::1/64".into()],
                hosts: vec!["10.30.0.10/24".into(), "fd30::10/64".into()],
            },
        ],
    );
    // Twice: the second load replaces the first.
    lab.load(&ruleset);
    lab.load(&ruleset);

    let (pump, srv, pump6, srv6) = (
        ip("10.20.0.10"),
        ip("10.30.0.10"),
        ip("fd20::10"),
        ip("fd30::10"),
    );
    let socks = |entries: &[(&str, IpAddr, u16)]| -> BTreeSet<(String, String, u16)> {
        entries
            .iter()
            .map(|(p, a, n)| ((*p).to_owned(), a.to_string(), *n))
            .collect()
    };
    lab.agents[1].listen(&socks(&[
        ("tcp", srv, 8443),
        ("tcp", srv, 23),
        ("tcp", srv, 22),
        ("udp", srv, 123),
        ("tcp", srv6, 8443),
        ("tcp", srv6, 23),
    ]));
    lab.agents[0].listen(&socks(&[
        ("tcp", pump, 22),
        ("tcp", pump, 8443),
        ("udp", pump, 123),
    ]));

    let flows = [
        (0, "tcp", pump, srv, 8443),
        (0, "udp", pump, srv, 123),
        (0, "tcp", pump6, srv6, 8443),
        (0, "tcp", pump, srv, 23),
        (0, "tcp", pump, srv, 22),
        (0, "tcp", pump6, srv6, 23),
        (1, "tcp", srv, pump, 22),
        (1, "tcp", srv, pump, 8443),
        (1, "udp", srv, pump, 123),
    ];
    let results = lab.flows(&flows, 2.0);
    let expected = [
        "pass", "pass", "pass", "drop", "drop", "drop", "drop", "drop", "drop",
    ];
    for ((f, got), want) in flows.iter().zip(&results).zip(expected) {
        assert_eq!(
            got, want,
            "{f:?}: got {got}, wanted {want} (all: {results:?})"
        );
        // What the policy says, too.
        let verdict = zoning.evaluate(f.1, f.2, f.3, f.4);
        assert_eq!(
            verdict == Verdict::Denied,
            want == "drop",
            "{f:?}: {verdict:?}"
        );
    }

    let counters = counters(&lab.table());
    let packets = |prefix: &str| -> Vec<u64> {
        counters
            .iter()
            .filter(|(c, _)| c.starts_with(prefix))
            .map(|(_, p)| *p)
            .collect()
    };
    let tcp = packets("conduit 1: pumps -> pump_servers tcp/8443");
    assert_eq!(tcp.len(), 2, "IPv4 and IPv6: {counters:?}");
    assert!(tcp.iter().all(|p| *p > 0), "{counters:?}");
    let udp = packets("conduit 1: pumps -> pump_servers udp/123");
    assert!(udp.iter().any(|p| *p > 0), "{counters:?}");
    let deny = packets(DENY_COMMENT);
    assert_eq!(deny.len(), 1);
    assert!(deny[0] > 0, "{counters:?}");
}

// ---------------------------------------------------------------------------------------
// Random policies and flows: the router does what `Zoning::evaluate` says.

const KINDS: [AssetKind; 4] = [
    AssetKind::InfusionPump,
    AssetKind::PumpServer,
    AssetKind::Workstation,
    AssetKind::Ehr,
];

/// A generated service: tcp or udp (or icmp), a first port and a range length.
#[derive(Debug, Clone)]
enum GenService {
    Port { tcp: bool, first: u16, len: u16 },
    Icmp,
}

impl GenService {
    fn text(&self) -> String {
        match self {
            GenService::Icmp => "icmp".to_owned(),
            GenService::Port { tcp, first, len } => {
                let proto = if *tcp { "tcp" } else { "udp" };
                let last = first.saturating_add(*len);
                if *len == 0 {
                    format!("{proto}/{first}")
                } else {
                    format!("{proto}/{first}-{last}")
                }
            }
        }
    }
}

/// A generated conduit: zone `from` (modulo the zones), to the zone `to` further on (never
/// the same; see [`Case::live_conduits`]).
#[derive(Debug, Clone)]
struct GenConduit {
    from: usize,
    to: usize,
    services: Vec<GenService>,
    log: bool,
}

/// A flow. Aimed at a conduit (`aim`, when the policy has one): a client in its `from`
/// zone, a server in its `to` zone, the transport of one of its services (or the other
/// one, `flip`) and a port at the first or last of the service's (`upper`) moved by
/// `offset` (-1, 0, +1). Else (or for ICMP) hosts `client` and `server` of
/// [`Case::hosts`], tcp or udp, port `random`.
#[derive(Debug, Clone)]
struct GenFlow {
    aim: bool,
    conduit: usize,
    service: usize,
    flip: bool,
    upper: bool,
    offset: i32,
    client: usize,
    server: usize,
    tcp: bool,
    random: u16,
}

/// A random policy on five networks (`10.x.y.0/24`, each a namespace behind the
/// router): four in zones' ranges or in none, one holding inventory assets that zones
/// take by kind; and flows between them.
#[derive(Debug, Clone)]
struct Case {
    nets: Vec<(u8, u8)>,
    zones: usize,
    net_zone: Vec<Option<usize>>,
    zone_kinds: Vec<Vec<usize>>,
    asset_kinds: Vec<usize>,
    conduits: Vec<GenConduit>,
    deny: bool,
    flows: Vec<GenFlow>,
}

/// The networks holding zones' ranges; the last of [`Case::nets`] holds assets only.
const RANGE_NETS: usize = 4;

impl Case {
    fn net(&self, k: usize) -> String {
        let (x, y) = self.nets[k];
        format!("10.{x}.{y}")
    }

    /// Every host: its network (namespace) and address. Range networks have hosts .10
    /// and .11, the asset network .10, .11 and .12.
    fn hosts(&self) -> Vec<(usize, IpAddr)> {
        let mut out = Vec::new();
        for k in 0..self.nets.len() {
            let n = if k < RANGE_NETS { 2 } else { 3 };
            for h in 0..n {
                out.push((k, ip(&format!("{}.{}", self.net(k), 10 + h))));
            }
        }
        out
    }

    /// The inventory: every host of the asset network, and host .11 of each range
    /// network (its range decides its zone, whatever its kind).
    fn assets(&self) -> Vec<Asset> {
        let mut addrs: Vec<String> = (0..3)
            .map(|h| format!("{}.{}", self.net(RANGE_NETS), 10 + h))
            .collect();
        addrs.extend((0..RANGE_NETS).map(|k| format!("{}.11", self.net(k))));
        addrs
            .iter()
            .zip(&self.asset_kinds)
            .enumerate()
            .map(|(i, (a, k))| asset(&format!("A{i}"), KINDS[*k], None, &[a]))
            .collect()
    }

    fn yaml(&self) -> String {
        let mut out = String::from("zones:\n");
        for z in 0..self.zones {
            out.push_str(&format!("  - name: z{z}\n"));
            let cidrs: Vec<String> = (0..RANGE_NETS)
                .filter(|k| self.net_zone[*k] == Some(z))
                .map(|k| format!("{}.0/24", self.net(k)))
                .collect();
            let mut kinds: Vec<&str> = self.zone_kinds[z]
                .iter()
                .map(|k| KINDS[*k].as_str())
                .collect();
            kinds.dedup();
            if cidrs.is_empty() && kinds.is_empty() {
                kinds.push(KINDS[z % KINDS.len()].as_str());
            }
            if !cidrs.is_empty() {
                out.push_str(&format!("    cidrs: [{}]\n", cidrs.join(", ")));
            }
            if !kinds.is_empty() {
                out.push_str(&format!("    kinds: [{}]\n", kinds.join(", ")));
            }
        }
        let conduits = self.live_conduits();
        out.push_str(if conduits.is_empty() {
            "conduits: []\n"
        } else {
            "conduits:\n"
        });
        for (from, to, c) in conduits {
            let services: Vec<String> = c.services.iter().map(GenService::text).collect();
            out.push_str(&format!(
                "  - from: z{from}\n    to: z{to}\n    services: [{}]\n    log: {}\n",
                services.join(", "),
                c.log
            ));
        }
        out.push_str(if self.deny {
            "default: deny\n"
        } else {
            "default: allow\n"
        });
        out
    }

    /// The conduits with their zones: `from`, and `to` counted on from it (never the
    /// same zone).
    fn live_conduits(&self) -> Vec<(usize, usize, &GenConduit)> {
        self.conduits
            .iter()
            .map(|c| {
                let from = c.from % self.zones;
                let to = (from + 1 + c.to % (self.zones - 1)) % self.zones;
                (from, to, c)
            })
            .collect()
    }

    /// The flows to try: `(network of client, proto, client, server, port)`; none
    /// within one network (it would not cross the router).
    fn flows(&self, zoning: &Zoning<'_>) -> Vec<(usize, &'static str, IpAddr, IpAddr, u16)> {
        let hosts = self.hosts();
        let live = self.live_conduits();
        let in_zone = |z: usize| -> Vec<(usize, IpAddr)> {
            hosts
                .iter()
                .copied()
                .filter(|(_, a)| zoning.zone_of(*a) == Some(z))
                .collect()
        };
        let pick = |among: &[(usize, IpAddr)], i: usize| {
            if among.is_empty() {
                hosts[i % hosts.len()]
            } else {
                among[i % among.len()]
            }
        };
        let mut out = Vec::new();
        for f in &self.flows {
            let aimed = if f.aim && !live.is_empty() {
                let (from, to, c) = live[f.conduit % live.len()];
                match &c.services[f.service % c.services.len()] {
                    GenService::Port { tcp, first, len } => {
                        let base = if f.upper {
                            first.saturating_add(*len)
                        } else {
                            *first
                        };
                        let port = (i32::from(base) + f.offset).clamp(1, 65535);
                        Some((
                            pick(&in_zone(from), f.client),
                            pick(&in_zone(to), f.server),
                            *tcp != f.flip,
                            u16::try_from(port).expect("a port"),
                        ))
                    }
                    GenService::Icmp => None,
                }
            } else {
                None
            };
            let ((cn, client), (sn, server), tcp, port) = aimed.unwrap_or((
                hosts[f.client % hosts.len()],
                hosts[f.server % hosts.len()],
                f.tcp,
                f.random,
            ));
            if cn == sn {
                continue;
            }
            out.push((cn, if tcp { "tcp" } else { "udp" }, client, server, port));
        }
        out
    }
}

fn gen_service() -> impl Strategy<Value = GenService> {
    prop_oneof![
        4 => (any::<bool>(), 1u16..=65535).prop_map(|(tcp, first)| GenService::Port { tcp, first, len: 0 }),
        3 => (any::<bool>(), 1u16..=65535, 1u16..=3000).prop_map(|(tcp, first, len)| GenService::Port { tcp, first, len }),
        1 => Just(GenService::Icmp),
    ]
}

fn gen_case() -> impl Strategy<Value = Case> {
    let nets = prop::collection::btree_set((1u8..=3, 0u8..=7), RANGE_NETS + 1)
        .prop_map(|s| s.into_iter().collect::<Vec<_>>())
        .prop_shuffle();
    let conduit = (
        0usize..3,
        0usize..3,
        prop::collection::vec(gen_service(), 1..=3),
        any::<bool>(),
    )
        .prop_map(|(from, to, services, log)| GenConduit {
            from,
            to,
            services,
            log,
        });
    let flow = (
        prop::bool::weighted(0.6),
        (any::<usize>(), any::<usize>()),
        (prop::bool::weighted(0.15), any::<bool>(), -1i32..=1),
        (any::<usize>(), any::<usize>(), any::<bool>(), 1u16..=65535),
    )
        .prop_map(
            |(aim, (conduit, service), (flip, upper, offset), (client, server, tcp, random))| {
                GenFlow {
                    aim,
                    conduit,
                    service,
                    flip,
                    upper,
                    offset,
                    client,
                    server,
                    tcp,
                    random,
                }
            },
        );
    (
        nets,
        2usize..=3,
        prop::collection::vec(prop::option::weighted(0.8, 0usize..3), RANGE_NETS),
        prop::collection::vec(prop::collection::vec(0..KINDS.len(), 0..=2), 3),
        prop::collection::vec(0..KINDS.len(), 3 + RANGE_NETS),
        prop::collection::vec(conduit, 0..=4),
        prop::bool::weighted(0.75),
        prop::collection::vec(flow, 24..=40),
    )
        .prop_map(
            |(nets, zones, net_zone, zone_kinds, asset_kinds, conduits, deny, flows)| Case {
                net_zone: net_zone
                    .into_iter()
                    .map(|z| z.filter(|z| *z < zones))
                    .collect(),
                nets,
                zones,
                zone_kinds,
                asset_kinds,
                conduits,
                deny,
                flows,
            },
        )
}

static CASE: AtomicUsize = AtomicUsize::new(0);

/// Builds the case's namespaces, loads its ruleset, tries its flows and compares each
/// with the verdict.
fn check_case(case: &Case) -> Result<(), TestCaseError> {
    let yaml = case.yaml();
    let policy = Policy::parse(&yaml, "case.yaml")
        .map_err(|e| TestCaseError::fail(format!("generated policy refused: {e}\n{yaml}")))?;
    let assets = case.assets();
    let zoning = Zoning::new(&policy, &assets);
    let text =
        nftables::compile(&zoning).map_err(|e| TestCaseError::fail(format!("{e}\n{yaml}")))?;
    let dir = artifacts("random");
    write(&dir, "case.yaml", &yaml);
    let ruleset = write(&dir, "case.nft", &text);

    let tag = format!(
        "pgq-{}-{}",
        std::process::id(),
        CASE.fetch_add(1, Ordering::Relaxed)
    );
    let sides: Vec<Side> = (0..case.nets.len())
        .map(|k| {
            let n = if k < RANGE_NETS { 2 } else { 3 };
            Side {
                ns: format!("{tag}-h{k}"),
                router: vec![format!("{}.1/24", case.net(k))],
                hosts: (0..n)
                    .map(|h| format!("{}.{}/24", case.net(k), 10 + h))
                    .collect(),
            }
        })
        .collect();
    let mut lab = Lab::build(&format!("{tag}-r"), &sides);
    lab.load(&ruleset);

    let flows = case.flows(&zoning);
    let mut listen: BTreeMap<usize, BTreeSet<(String, String, u16)>> = BTreeMap::new();
    let hosts = case.hosts();
    for (_, proto, _, server, port) in &flows {
        let net = hosts
            .iter()
            .find(|(_, a)| a == server)
            .map(|(k, _)| *k)
            .expect("a host");
        listen
            .entry(net)
            .or_default()
            .insert(((*proto).to_owned(), server.to_string(), *port));
    }
    for (net, sockets) in &listen {
        lab.agents[*net].listen(sockets);
    }
    let results = lab.flows(&flows, 1.0);

    let mut wrong = Vec::new();
    for (f, got) in flows.iter().zip(&results) {
        let (_, proto, client, server, port) = *f;
        let verdict = zoning.evaluate(proto, client, server, port);
        let want = if verdict == Verdict::Denied {
            "drop"
        } else {
            "pass"
        };
        let seen = if got == "refused" {
            "pass"
        } else {
            got.as_str()
        };
        if seen != want {
            wrong.push(format!(
                "{proto} {client} -> {server}:{port}: {verdict:?} but {got}"
            ));
        }
    }
    drop(lab);
    if wrong.is_empty() {
        Ok(())
    } else {
        Err(TestCaseError::fail(format!(
            "{} of {} flows disagree:\n{}\npolicy:\n{yaml}\nruleset:\n{text}",
            wrong.len(),
            flows.len(),
            wrong.join("\n")
        )))
    }
}

#[test]
fn for_random_policies_the_router_does_what_evaluate_says() {
    if skip_unless_root("for_random_policies_the_router_does_what_evaluate_says") {
        return;
    }
    require_nft();
    let mut runner = TestRunner::new(Config {
        cases: 16,
        max_shrink_iters: 24,
        failure_persistence: None,
        ..Config::default()
    });
    let outcome = runner.run(&gen_case(), |case| check_case(&case));
    if let Err(e) = outcome {
        panic!("{e}");
    }
}
