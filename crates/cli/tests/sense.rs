//! `pumpguard sense` end to end: simulated wards against their ground truth, and the
//! shared third-party captures against tshark's conversations, nDPI's classification
//! and tcpdump's DHCP decoding (peers we did not write).

mod common;

use common::sim;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use assert_cmd::Command as Bin;
use serde_json::Value;

fn pumpguard(db: &Path) -> Bin {
    let mut c = Bin::cargo_bin("pumpguard").expect("binary");
    c.arg("--db").arg(format!("sqlite://{}", db.display()));
    c.env("PUMPGUARD_ACTOR", "test");
    c
}

/// Senses `files` into `db`; the JSON report.
fn sense(db: &Path, files: &[&Path]) -> Value {
    let out = pumpguard(db)
        .arg("sense")
        .arg("--format")
        .arg("json")
        .arg("--pcap")
        .args(files)
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "sense {files:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("report JSON")
}

fn json(db: &Path, args: &[&str]) -> Value {
    let out = pumpguard(db).args(args).output().expect("runs");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON")
}

fn assets(db: &Path) -> Vec<Value> {
    let v = json(db, &["assets", "list", "--format", "json"]);
    v.as_array().expect("array").clone()
}

fn flows(db: &Path) -> Vec<Value> {
    let v = json(db, &["flows", "list", "--format", "json"]);
    v.as_array().expect("array").clone()
}

fn text(v: &Value) -> Option<&str> {
    v.as_str()
}

/// Every device of the truth is in the inventory with its MAC, address, hostname,
/// kind, vendor and (pumps) firmware; the flows are the truth's. The two devices that
/// share a MAC in `rogue_device_cloned_mac` are one asset to a MAC-keyed inventory
/// (telling them apart is the detection issue's cloned-MAC alert): both of their
/// hostnames must be in that asset's evidence.
#[test]
fn simulated_wards_are_identified_as_the_truth_says() {
    let dir = tempfile::tempdir().expect("tempdir");
    for seed in ["1", "7", "23"] {
        let pcap = dir.path().join(format!("ward-{seed}.pcapng"));
        let truth = sim(
            &pcap,
            &[
                "--pumps",
                "25",
                "--minutes",
                "10",
                "--seed",
                seed,
                "--scenario",
                "all",
            ],
        );
        let db = dir.path().join(format!("ward-{seed}.db"));
        let report = sense(&db, &[&pcap]);
        assert_eq!(report["frames"], truth["packets"], "seed {seed}");

        let cloned: BTreeSet<String> = truth["scenarios"]
            .as_array()
            .expect("scenarios")
            .iter()
            .filter(|s| s["name"] == "rogue_device_cloned_mac")
            .filter_map(|s| s["attacker"]["mac"].as_str().map(str::to_owned))
            .collect();
        let stored = assets(&db);
        let mut checked = 0;
        for d in truth["devices"].as_array().expect("devices") {
            let found = match text(&d["mac"]) {
                Some(mac) => stored.iter().find(|a| a["mac"] == mac),
                None => stored.iter().find(|a| {
                    a["mac"].is_null()
                        && a["ips"]
                            .as_array()
                            .is_some_and(|ips| ips.contains(&d["ip"]))
                }),
            };
            let a = found.unwrap_or_else(|| panic!("seed {seed}: not in the inventory: {d}"));
            if text(&d["mac"]).is_some_and(|m| cloned.contains(m)) {
                continue;
            }
            let ctx = format!("seed {seed}: {d}\n  stored: {a}");
            assert!(
                a["ips"]
                    .as_array()
                    .is_some_and(|ips| ips.contains(&d["ip"])),
                "address: {ctx}"
            );
            assert_eq!(a["kind"], d["kind"], "kind: {ctx}");
            assert_eq!(a["source"], "discovered", "{ctx}");
            for field in ["hostname", "vendor"] {
                if !d[field].is_null() {
                    assert_eq!(a[field], d[field], "{field}: {ctx}");
                }
            }
            if d["kind"] == "infusion_pump" {
                assert_eq!(a["firmware"], d["firmware"], "firmware: {ctx}");
                let model = text(&a["model"]).expect("a pump's model");
                assert!(
                    text(&d["model"]).is_some_and(|m| m.starts_with(model)),
                    "model: {ctx}"
                );
            }
            checked += 1;
        }
        assert!(checked >= 25 + 10, "seed {seed}: {checked} devices checked");
        for mac in &cloned {
            let a = stored
                .iter()
                .find(|a| a["mac"] == mac.as_str())
                .expect("cloned MAC");
            let id = text(&a["asset_id"]).expect("id");
            let shown = json(&db, &["assets", "show", id, "--format", "json"]);
            let names: BTreeSet<&str> = shown["evidence"]
                .as_array()
                .expect("evidence")
                .iter()
                .filter(|e| e["field"] == "hostname" && e["source"] == "dhcp.option12")
                .filter_map(|e| e["value"].as_str())
                .collect();
            let pump = truth["devices"]
                .as_array()
                .expect("devices")
                .iter()
                .find(|d| d["mac"] == mac.as_str() && d["kind"] == "infusion_pump")
                .expect("the cloned pump");
            assert!(
                names.contains("raspberrypi")
                    && names.contains(text(&pump["hostname"]).expect("name")),
                "seed {seed}: both DHCP hostnames of the cloned MAC are evidence: {names:?}"
            );
        }

        // One flow per 5-tuple, as many as the truth's; protocols where the truth
        // names one we dissect.
        let stored = flows(&db);
        assert_eq!(
            stored.len() as u64,
            truth["flows"].as_u64().expect("flows"),
            "seed {seed}"
        );
        let mut by_app: BTreeMap<String, u64> = BTreeMap::new();
        for f in &stored {
            *by_app
                .entry(text(&f["app"]).expect("app").to_owned())
                .or_default() += 1;
        }
        for app in [
            "dns", "hl7", "http", "tls", "ntp", "syslog", "telnet", "ftp", "ftp-data", "mdns",
        ] {
            assert_eq!(
                by_app.get(app).copied().unwrap_or(0),
                truth["flows_by_protocol"][app].as_u64().unwrap_or(0),
                "seed {seed}: {app} flows (ours: {by_app:?})"
            );
        }
    }
}

fn shared_pcaps() -> Vec<PathBuf> {
    let root = pumpguard_testkit::shared_data().join("pcap");
    let mut out = Vec::new();
    for sub in ["ndpi", "tcpdump", "packetgen"] {
        let Ok(dir) = std::fs::read_dir(root.join(sub)) else {
            continue;
        };
        for e in dir.flatten() {
            let p = e.path();
            let name = p.to_string_lossy();
            if name.ends_with(".pcap") || name.ends_with(".pcapng") {
                out.push(p);
            }
        }
    }
    out.sort();
    assert!(out.len() >= 35, "shared captures missing: {out:?}");
    out
}

fn tshark_installed() -> bool {
    Command::new("tshark").arg("--version").output().is_ok()
}

/// tshark's distinct TCP and UDP conversations, as `proto lo hi` with endpoints sorted.
fn tshark_conversations(file: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for proto in ["tcp", "udp"] {
        let run = Command::new("tshark")
            .arg("-r")
            .arg(file)
            .args(["-q", "-z", &format!("conv,{proto}")])
            .output()
            .expect("tshark");
        for row in String::from_utf8_lossy(&run.stdout)
            .lines()
            .filter(|l| l.contains("<->"))
        {
            let f: Vec<&str> = row.split_whitespace().collect();
            let (a, b) = (endpoint(f[0]), endpoint(f[2]));
            let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
            out.insert(format!("{proto} {lo} {hi}"));
        }
    }
    out
}

/// `ip:port` (IPv6 unbracketed in tshark's table) as a comparable string.
fn endpoint(s: &str) -> String {
    let (ip, port) = s.rsplit_once(':').expect("ip:port");
    let ip: std::net::IpAddr = ip.trim_matches(['[', ']']).parse().expect("ip");
    format!("{ip}#{port:0>5}")
}

fn our_conversations(flows: &[Value]) -> BTreeSet<String> {
    flows
        .iter()
        .filter(|f| f["proto"] == "tcp" || f["proto"] == "udp")
        .map(|f| {
            let a = endpoint(&format!(
                "{}:{}",
                text(&f["client_ip"]).expect("ip"),
                f["client_port"]
            ));
            let b = endpoint(&format!(
                "{}:{}",
                text(&f["server_ip"]).expect("ip"),
                f["server_port"]
            ));
            let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
            format!("{} {lo} {hi}", text(&f["proto"]).expect("proto"))
        })
        .collect()
}

/// Every shared capture senses without error, and its TCP/UDP flows are tshark's
/// conversations (as 5-tuples: tshark splits some 5-tuples into several rows).
#[test]
fn shared_captures_have_tsharks_conversations() {
    if !tshark_installed() {
        eprintln!("skipped: tshark is not installed (.ci/run installs it)");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    for (i, pcap) in shared_pcaps().iter().enumerate() {
        let db = dir.path().join(format!("{i}.db"));
        sense(&db, &[pcap]);
        let ours = our_conversations(&flows(&db));
        let theirs = tshark_conversations(pcap);
        assert_eq!(
            ours,
            theirs,
            "{}: only ours {:?}, only tshark's {:?}",
            pcap.display(),
            ours.difference(&theirs).collect::<Vec<_>>(),
            theirs.difference(&ours).collect::<Vec<_>>()
        );
    }
}

/// nDPI's name for each application protocol we dissect.
fn ndpi_name(app: &str) -> Option<&'static str> {
    Some(match app {
        "dhcp" => "DHCP",
        "dns" => "DNS",
        "mdns" => "MDNS",
        "tls" => "TLS",
        "http" => "HTTP",
        "hl7" => "HL7",
        "telnet" => "Telnet",
        "ftp" => "FTP_CONTROL",
        "ftp-data" => "FTP_DATA",
        "snmp" => "SNMP",
        "ntp" => "NTP",
        "syslog" => "Syslog",
        "ssh" => "SSH",
        _ => return None,
    })
}

/// The flows of an nDPI `.pcap.out`: `proto lo hi` → nDPI's protocol names
/// (master and application, e.g. `TLS.Google` → both).
fn ndpi_flows(out: &Path) -> BTreeMap<String, Vec<String>> {
    let text = std::fs::read_to_string(out).expect("nDPI ground truth");
    let mut flows = BTreeMap::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 6 || !(f[1] == "TCP" || f[1] == "UDP") || !(f[3] == "<->" || f[3] == "->") {
            continue;
        }
        let Some(proto_at) = line.find("[proto: ") else {
            continue;
        };
        let rest = &line[proto_at + 8..];
        let names = rest[..rest.find(']').expect("]")]
            .split_once('/')
            .expect("id/name")
            .1;
        let (a, b) = (endpoint(f[2]), endpoint(f[4]));
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        // nDPI keys flows by VLAN too, so a 5-tuple whose directions carry different
        // tags is two rows there: one flow with both rows' names here.
        let entry: &mut Vec<String> = flows
            .entry(format!("{} {lo} {hi}", f[1].to_ascii_lowercase()))
            .or_default();
        entry.extend(names.split('.').map(str::to_owned));
    }
    flows
}

/// For every nDPI capture, each flow nDPI puts in a protocol we dissect is that
/// protocol to us too, and no flow nDPI calls something else is one of ours
/// (we may leave flows of other protocols unknown).
#[test]
fn protocols_match_ndpis_ground_truth() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ours_names: BTreeSet<&str> = [
        "dhcp", "dns", "mdns", "tls", "http", "hl7", "telnet", "ftp", "ftp-data", "snmp", "ntp",
        "syslog", "ssh",
    ]
    .into_iter()
    .collect();
    let mut compared = 0;
    for (i, pcap) in shared_pcaps().iter().enumerate() {
        let out = PathBuf::from(format!("{}.out", pcap.display()));
        if !pcap.to_string_lossy().contains("/ndpi/") || !out.exists() {
            continue;
        }
        let db = dir.path().join(format!("{i}.db"));
        sense(&db, &[pcap]);
        let mut ours: BTreeMap<String, String> = BTreeMap::new();
        for f in flows(&db) {
            let key = our_conversations(std::slice::from_ref(&f));
            if let Some(k) = key.into_iter().next() {
                ours.insert(k, text(&f["app"]).expect("app").to_owned());
            }
        }
        for (key, names) in ndpi_flows(&out) {
            let Some(app) = ours.get(&key) else {
                panic!("{}: nDPI's flow {key} is not one of ours", pcap.display());
            };
            let theirs_ours: Vec<&str> = ours_names
                .iter()
                .copied()
                .filter(|a| ndpi_name(a).is_some_and(|n| names.iter().any(|x| x == n)))
                .collect();
            match theirs_ours.first() {
                Some(expected) => {
                    assert_eq!(
                        app,
                        expected,
                        "{}: {key} is {names:?} to nDPI",
                        pcap.display()
                    );
                    compared += 1;
                }
                // An FTP data connection is known from its control connection's PASV
                // or PORT, which nDPI does not follow in this version.
                None if app == "ftp-data" && names.iter().all(|n| n == "Unknown") => {}
                None => assert!(
                    !ours_names.contains(app.as_str()),
                    "{}: {key} is {names:?} to nDPI but {app} to us",
                    pcap.display()
                ),
            }
        }
    }
    assert!(compared >= 20, "{compared} flows compared");
}

/// tcpdump's decoding of the DHCP captures (`.out`): the client's MAC, hostname, vendor
/// class, parameter list, MUD URL and address are the sensor's evidence.
#[test]
fn dhcp_fields_match_tcpdumps_decoding() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = pumpguard_testkit::shared_data().join("pcap/tcpdump");
    let db = dir.path().join("mud.db");
    sense(&db, &[&root.join("dhcp-mud.pcap")]);
    let expected = std::fs::read_to_string(root.join("dhcp-mud.out")).expect(".out");
    let quoted = |key: &str| -> String {
        let line = expected
            .lines()
            .find(|l| l.trim_start().starts_with(key))
            .expect(key);
        line[line.find('"').expect("quote") + 1..line.rfind('"').expect("quote")].to_owned()
    };
    let mac = expected
        .lines()
        .find_map(|l| l.trim().strip_prefix("Client-Ethernet-Address "))
        .expect("client MAC")
        .trim();
    let your_ip = expected
        .lines()
        .find_map(|l| l.trim().strip_prefix("Your-IP "))
        .expect("Your-IP")
        .trim();
    // Parameter-Request (55): the option numbers in parentheses on the following lines.
    let mut params = Vec::new();
    let mut in_params = false;
    for l in expected.lines() {
        let t = l.trim();
        if t.starts_with("Parameter-Request (55)") {
            in_params = true;
            continue;
        }
        if in_params {
            if !l.starts_with("\t      ") {
                break;
            }
            for part in t.split(')') {
                if let Some(n) = part
                    .rsplit('(')
                    .next()
                    .and_then(|n| n.trim().parse::<u8>().ok())
                {
                    params.push(n.to_string());
                }
            }
        }
    }
    assert!(params.len() >= 10, "{params:?}");

    let stored = assets(&db);
    let a = stored
        .iter()
        .find(|a| a["mac"] == mac)
        .expect("the DHCP client is an asset");
    assert_eq!(a["hostname"], quoted("Hostname (12)"));
    assert!(
        a["ips"]
            .as_array()
            .is_some_and(|ips| ips.iter().any(|i| i == your_ip)),
        "{a}"
    );
    assert_eq!(a["vendor"], "Raspberry Pi", "OUI and vendor class: {a}");
    let id = text(&a["asset_id"]).expect("id");
    let shown = json(&db, &["assets", "show", id, "--format", "json"]);
    let evidence = shown["evidence"].as_array().expect("evidence");
    let value = |field: &str| -> Vec<&str> {
        evidence
            .iter()
            .filter(|e| e["field"] == field)
            .filter_map(|e| e["value"].as_str())
            .collect()
    };
    assert_eq!(value("mud_url"), [quoted("MUD-URL (161)")]);
    let fingerprint = format!("55={};60={}", params.join(","), quoted("Vendor-Class (60)"));
    assert_eq!(value("dhcp_fingerprint"), [fingerprint.as_str()]);
}

/// A file that is not a capture is refused before anything is written; a capture cut
/// short is read up to the cut, with a warning that names the place.
#[test]
fn bad_captures_are_refused_whole_and_cut_captures_warned() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("bad.db");
    let good = pumpguard_testkit::shared_data().join("pcap/ndpi/hl7.pcap");
    let junk = dir.path().join("junk.pcap");
    std::fs::write(&junk, b"this is not a capture at all").expect("write");
    let out = pumpguard(&db)
        .args(["sense", "--pcap"])
        .arg(&good)
        .arg(&junk)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with(&format!("error: {}: offset 0: ", junk.display()))
            && err.lines().count() == 1,
        "{err}"
    );
    assert!(assets(&db).is_empty(), "nothing written");
    assert!(flows(&db).is_empty(), "nothing written");

    let bytes = std::fs::read(&good).expect("read");
    let cut = dir.path().join("cut.pcap");
    std::fs::write(&cut, &bytes[..bytes.len() - 7]).expect("write");
    let out = pumpguard(&db)
        .args(["sense", "--format", "json", "--pcap"])
        .arg(&cut)
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with(&format!("warning: {}: offset ", cut.display())),
        "{err}"
    );
    assert_eq!(flows(&db).len(), 1, "the HL7 conversation up to the cut");
}

/// An imported pump seen on the wire is linked to its inventory row, not duplicated:
/// the inventory keeps its own fields and gains the observed ones.
#[test]
fn imported_assets_are_linked_not_duplicated() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pcap = dir.path().join("ward.pcapng");
    let truth = sim(&pcap, &["--pumps", "10", "--minutes", "5", "--seed", "3"]);
    let pump = truth["devices"]
        .as_array()
        .expect("devices")
        .iter()
        .find(|d| d["kind"] == "infusion_pump")
        .expect("a pump")
        .clone();
    let csv = dir.path().join("inventory.csv");
    std::fs::write(
        &csv,
        format!(
            "asset_id,kind,vendor,mac,location,criticality\nCMMS-0001,infusion_pump,Our Vendor Name,{},ICU bed 4,life_sustaining\n",
            text(&pump["mac"]).expect("mac")
        ),
    )
    .expect("write");
    let db = dir.path().join("linked.db");
    pumpguard(&db)
        .args(["assets", "import"])
        .arg(&csv)
        .assert()
        .success();
    sense(&db, &[&pcap]);
    let stored = assets(&db);
    let same_mac: Vec<&Value> = stored.iter().filter(|a| a["mac"] == pump["mac"]).collect();
    assert_eq!(same_mac.len(), 1, "{same_mac:?}");
    let a = same_mac[0];
    assert_eq!(a["asset_id"], "CMMS-0001");
    assert_eq!(a["source"], "imported");
    assert_eq!(
        a["vendor"], "Our Vendor Name",
        "the inventory's word stands"
    );
    assert_eq!(a["criticality"], "life_sustaining");
    assert_eq!(a["hostname"], pump["hostname"], "gained from the wire");
    assert_eq!(a["firmware"], pump["firmware"], "gained from the wire");
    assert!(
        a["ips"]
            .as_array()
            .is_some_and(|ips| ips.contains(&pump["ip"]))
    );
    // Sensing the same capture again changes nothing but counts.
    let again = sense(&db, &[&pcap]);
    assert_eq!(again["assets_created"], 0);
    assert_eq!(again["assets_updated"], 0);
    assert_eq!(again["alerts_raised"], 0, "alerts recur, none is new");
    pumpguard(&db).args(["audit", "verify"]).assert().success();
}

/// `sim` writes its ward's drug library beside the capture, `sense --drug-library`
/// reads it; a broken library stops `sense` before anything is read or written, with
/// the file, line and column.
#[test]
fn drug_libraries_are_loaded_or_refused_with_their_place() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("lib.db");
    let ward = dir.path().join("ward.pcapng");
    sim(&ward, &["--pumps", "4", "--minutes", "2"]);
    let library = dir.path().join("ward.druglib.yaml");
    let text = std::fs::read_to_string(&library).expect("sim wrote the library");
    assert!(
        text.contains("drug: Dopamine") && text.contains("hard_max: 25"),
        "{text}"
    );
    let out = pumpguard(&db)
        .args(["sense", "--format", "json", "--drug-library"])
        .arg(&library)
        .arg("--pcap")
        .arg(&ward)
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let broken = dir.path().join("broken.yaml");
    std::fs::write(&broken, text.replacen("hard_max: 25", "hard_max: [25", 1)).expect("write");
    let db2 = dir.path().join("lib2.db");
    let out = pumpguard(&db2)
        .args(["sense", "--drug-library"])
        .arg(&broken)
        .arg("--pcap")
        .arg(&ward)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    let place = format!("error: {}:", broken.display());
    assert!(err.starts_with(&place) && err.lines().count() == 1, "{err}");
    let line: usize = err[place.len()..]
        .split(':')
        .next()
        .and_then(|n| n.parse().ok())
        .expect("a line number");
    assert!(
        text.lines()
            .nth(line - 1)
            .is_some_and(|l| l.contains("hard_max") || l.contains("- drug")),
        "line {line} of {text}"
    );
    assert!(!db2.exists() || assets(&db2).is_empty(), "nothing written");
}
