//! `pumpguard sim` end to end, checked with tshark (a peer we did not write): the file
//! reads without warnings, its conversations are the truth's flows, its protocols are
//! dissected as what they are, and a seed decides every byte.

mod common;

use common::sim;

use std::path::Path;
use std::process::Command;

use assert_cmd::Command as Bin;

/// tshark's stdout; its stderr must hold nothing but the note about running as root.
fn tshark(file: &Path, args: &[&str]) -> String {
    let out = Command::new("tshark")
        .arg("-r")
        .arg(file)
        .args(args)
        .output()
        .expect("tshark is installed (.ci/run installs it)");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let warnings: Vec<&str> = stderr
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with("Running as user"))
        .collect();
    assert!(
        out.status.success() && warnings.is_empty(),
        "tshark {args:?}: {stderr}"
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// tshark's TCP and UDP conversations are exactly the truth's flows, counted as
/// 5-tuples: tshark's SNMP dissector opens a second conversation for the answers to a
/// request (to catch agents that answer from another port), so one SNMP 5-tuple is two
/// rows of `conv,udp`.
fn assert_conversations_are_the_truths_flows(file: &Path, truth: &serde_json::Value) {
    let mut tuples = std::collections::BTreeSet::new();
    for (proto, table) in [("tcp", "conv,tcp"), ("udp", "conv,udp")] {
        let conv = tshark(file, &["-q", "-z", table]);
        for row in conv.lines().filter(|l| l.contains("<->")) {
            let f: Vec<&str> = row.split_whitespace().collect();
            let (a, b) = (f[0].to_owned(), f[2].to_owned());
            tuples.insert((proto, a.clone().min(b.clone()), a.max(b)));
        }
    }
    assert_eq!(tuples.len() as u64, truth["flows"].as_u64().expect("flows"));
}

#[test]
fn tshark_reads_the_ward_and_agrees_with_the_truth() {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("ward.pcapng");
    let truth = sim(&file, &["--pumps", "25", "--minutes", "4", "--seed", "11"]);

    let io = tshark(&file, &["-q", "-z", "io,stat,0"]);
    let frames: u64 = io
        .lines()
        .find(|l| l.contains("<>"))
        .and_then(|l| l.split('|').nth(2))
        .and_then(|f| f.trim().parse().ok())
        .expect("io,stat frame count");
    assert_eq!(frames, truth["packets"].as_u64().expect("packets"));

    assert_conversations_are_the_truths_flows(&file, &truth);

    let phs = tshark(&file, &["-q", "-z", "io,phs"]);
    for proto in [
        "dhcp", "dns", "http", "arp", "tcp", "udp", "ntp", "syslog", "hl7",
    ] {
        assert!(
            phs.lines()
                .any(|l| l.trim_start().starts_with(&format!("{proto} "))),
            "{proto} not dissected:\n{phs}"
        );
    }

    // Every pump's DHCP hostname and vendor class, as tshark decodes them, match truth.
    let dhcp = tshark(
        &file,
        &[
            "-Y",
            "dhcp.option.dhcp == 1",
            "-T",
            "fields",
            "-e",
            "eth.src",
            "-e",
            "dhcp.option.hostname",
            "-e",
            "dhcp.option.vendor_class_id",
        ],
    );
    let devices = truth["devices"].as_array().expect("devices");
    let pumps: Vec<&serde_json::Value> = devices
        .iter()
        .filter(|d| d["kind"] == "infusion_pump")
        .collect();
    assert_eq!(pumps.len(), 25);
    for pump in &pumps {
        let mac = pump["mac"].as_str().expect("mac");
        let line = dhcp
            .lines()
            .find(|l| l.starts_with(mac))
            .unwrap_or_else(|| panic!("no DISCOVER from {mac}"));
        assert!(
            line.contains(pump["hostname"].as_str().expect("hostname")),
            "{line}"
        );
    }
    // All five families' OUIs among 25 pumps (for this seed).
    let mut ouis: Vec<&str> = pumps
        .iter()
        .map(|p| &p["mac"].as_str().expect("mac")[..8])
        .collect();
    ouis.sort_unstable();
    ouis.dedup();
    assert_eq!(
        ouis,
        ["00:12:21", "00:13:38", "00:1a:01", "58:42:e4", "9c:c8:ae"],
        "B. Braun, Fresenius, Smiths, Baxter, BD"
    );

    // DNS answers resolve each family's server name to its server.
    let dns = tshark(
        &file,
        &[
            "-Y",
            "dns.flags.response == 1",
            "-T",
            "fields",
            "-e",
            "dns.qry.name",
            "-e",
            "dns.a",
        ],
    );
    assert!(
        dns.lines()
            .any(|l| l.contains(".pumps.hospital.example\t10.30.0.")),
        "{dns}"
    );
}

#[test]
fn a_seed_decides_every_byte() {
    let dir = tempfile::tempdir().expect("dir");
    let (a, b, c) = (
        dir.path().join("a.pcapng"),
        dir.path().join("b.pcapng"),
        dir.path().join("c.pcapng"),
    );
    // With every scenario, so the certificates they make are covered too.
    let args = |seed| {
        [
            "--pumps",
            "8",
            "--minutes",
            "3",
            "--scenario",
            "all",
            "--seed",
            seed,
        ]
    };
    sim(&a, &args("42"));
    sim(&b, &args("42"));
    let tc = sim(&c, &args("43"));
    let (ba, bb, bc) = (
        std::fs::read(&a).expect("a"),
        std::fs::read(&b).expect("b"),
        std::fs::read(&c).expect("c"),
    );
    assert_eq!(ba, bb, "same seed, different bytes");
    assert_ne!(ba, bc, "different seeds, same ward");
    let ta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("a.truth.json")).expect("truth"))
            .expect("json");
    assert_ne!(
        ta["devices"], tc["devices"],
        "different seeds, same devices"
    );
}

#[test]
fn an_unknown_scenario_is_bad_input() {
    let dir = tempfile::tempdir().expect("dir");
    let out = Bin::cargo_bin("pumpguard")
        .expect("binary")
        .args(["sim", "--scenario", "no_such_attack", "--out"])
        .arg(dir.path().join("x.pcapng"))
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with(
            "error: unknown scenario 'no_such_attack' (available so far: telnet_to_pump"
        ),
        "{err}"
    );
    assert!(!dir.path().join("x.pcapng").exists());
}

#[test]
fn scenarios_are_in_the_capture_where_the_truth_says() {
    use pumpguard_model::time::Timestamp;
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("attack.pcapng");
    let truth = sim(
        &file,
        &[
            "--pumps",
            "12",
            "--minutes",
            "4",
            "--seed",
            "5",
            "--scenario",
            "all",
        ],
    );
    let scenarios = truth["scenarios"].as_array().expect("scenarios");
    let names: Vec<&str> = scenarios
        .iter()
        .map(|s| s["name"].as_str().expect("name"))
        .collect();
    assert_eq!(
        names,
        [
            "telnet_to_pump",
            "ftp_upload_to_pump",
            "pump_pivot_to_ehr",
            "exfiltration_to_internet",
            "rogue_device_cloned_mac",
            "new_unknown_device",
            "dos_on_pump_server",
            "druglib_push_from_unknown_host",
            "expired_server_certificate",
            "weak_tls_version",
            "tampered_pcd03_over_hard_limit",
            "cleartext_hl7_with_phi",
        ]
    );
    assert_conversations_are_the_truths_flows(&file, &truth);
    // The attacker is a device of the truth, on the pump VLAN.
    let attacker_ip = scenarios[0]["attacker"]["ip"].as_str().expect("ip");
    assert!(
        truth["devices"]
            .as_array()
            .expect("devices")
            .iter()
            .any(|d| d["ip"] == attacker_ip)
    );

    for (scenario, filter, needle) in [
        (&scenarios[0], "telnet", "cat /etc/passwd"),
        (&scenarios[1], "ftp.request.command == \"STOR\"", "STOR"),
    ] {
        let rows = tshark(
            &file,
            &[
                "-Y",
                filter,
                "-T",
                "fields",
                "-e",
                "frame.time_epoch",
                "-e",
                "ip.src",
                "-e",
                "ip.dst",
                "-e",
                "telnet.data",
                "-e",
                "ftp.request.command",
            ],
        );
        assert!(!rows.is_empty(), "{filter}: nothing dissected");
        let start: Timestamp = scenario["start"]
            .as_str()
            .expect("start")
            .parse()
            .expect("rfc3339");
        let end: Timestamp = scenario["end"]
            .as_str()
            .expect("end")
            .parse()
            .expect("rfc3339");
        let target_ip = scenario["target"]["ip"].as_str().expect("ip");
        for row in rows.lines() {
            let f: Vec<&str> = row.split('\t').collect();
            let secs: f64 = f[0].parse().expect("epoch");
            let t = Timestamp::from_microsecond((secs * 1e6) as i64).expect("time");
            assert!(
                start <= t && t <= end,
                "{filter} at {t} outside {start}..{end}"
            );
            assert!(
                f[1..3].contains(&attacker_ip) && f[1..3].contains(&target_ip),
                "{row}"
            );
        }
        assert!(rows.contains(needle), "{filter}: {rows}");
    }
    // The upload itself is dissected as FTP data.
    let phs = tshark(&file, &["-q", "-z", "io,phs"]);
    assert!(phs.contains("ftp-data"), "{phs}");
}

#[test]
fn tcp_retransmissions_and_reordering_are_where_the_truth_counts_them() {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("lossy.pcapng");
    let truth = sim(
        &file,
        &[
            "--pumps",
            "20",
            "--minutes",
            "8",
            "--seed",
            "9",
            "--tcp-anomalies",
            "25",
        ],
    );
    let retrans = truth["tcp_retransmissions"].as_u64().expect("count");
    let ooo = truth["tcp_out_of_order"].as_u64().expect("count");
    assert!(retrans > 0 && ooo > 0, "{retrans} {ooo}");
    let count = |filter: &str| tshark(&file, &["-Y", filter]).lines().count() as u64;
    assert_eq!(count("tcp.analysis.retransmission"), retrans);
    assert_eq!(count("tcp.analysis.out_of_order"), ooo);
    assert_conversations_are_the_truths_flows(&file, &truth);

    let clean = dir.path().join("clean.pcapng");
    let truth = sim(
        &clean,
        &[
            "--pumps",
            "20",
            "--minutes",
            "8",
            "--seed",
            "9",
            "--tcp-anomalies",
            "0",
        ],
    );
    assert_eq!(truth["tcp_retransmissions"], 0);
    assert_eq!(
        tshark(
            &clean,
            &["-Y", "tcp.analysis.flags && !tcp.analysis.window_update"]
        )
        .lines()
        .count(),
        0
    );
}

/// Frames matching `filter` inside the scenario's window.
fn in_window(file: &Path, scenario: &serde_json::Value, filter: &str) -> Vec<String> {
    use pumpguard_model::time::Timestamp;
    let epoch = |key: &str| -> String {
        let t: Timestamp = scenario[key]
            .as_str()
            .expect("time")
            .parse()
            .expect("rfc3339");
        format!("{}.{:09}", t.as_second(), t.subsec_nanosecond())
    };
    let window = format!(
        "frame.time_epoch >= {} && frame.time_epoch <= {}",
        epoch("start"),
        epoch("end")
    );
    tshark(
        file,
        &[
            "-Y",
            &format!("({window}) && ({filter})"),
            "-T",
            "fields",
            "-e",
            "frame.number",
        ],
    )
    .lines()
    .map(str::to_owned)
    .collect()
}

#[test]
fn every_scenario_shows_in_its_window_as_the_truth_describes() {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("all.pcapng");
    let args = [
        "--pumps",
        "15",
        "--minutes",
        "6",
        "--seed",
        "4",
        "--scenario",
        "all",
        "--tcp-anomalies",
        "0",
    ];
    let truth = sim(&file, &args);
    let by_name = |name: &str| -> serde_json::Value {
        truth["scenarios"]
            .as_array()
            .expect("scenarios")
            .iter()
            .find(|s| s["name"] == name)
            .cloned()
            .expect(name)
    };
    let ip = |s: &serde_json::Value, who: &str| s[who]["ip"].as_str().expect("ip").to_owned();
    let mac = |s: &serde_json::Value, who: &str| s[who]["mac"].as_str().expect("mac").to_owned();

    let s = by_name("pump_pivot_to_ehr");
    let probes = in_window(
        &file,
        &s,
        &format!(
            "ip.src == {} && ip.dst == {} && tcp.flags.syn == 1",
            ip(&s, "attacker"),
            ip(&s, "target")
        ),
    );
    assert_eq!(probes.len(), 9);
    let resets = in_window(
        &file,
        &s,
        &format!("ip.src == {} && tcp.flags.reset == 1", ip(&s, "target")),
    );
    assert_eq!(resets.len(), 7, "closed ports answer RST");

    let s = by_name("exfiltration_to_internet");
    let lens = tshark(
        &file,
        &[
            "-Y",
            &format!(
                "ip.src == {} && ip.dst == {}",
                ip(&s, "attacker"),
                ip(&s, "target")
            ),
            "-T",
            "fields",
            "-e",
            "tcp.len",
        ],
    );
    let sent: u64 = lens
        .lines()
        .filter_map(|l| l.trim().parse::<u64>().ok())
        .sum();
    assert_eq!(sent, 1_500_000);

    let s = by_name("rogue_device_cloned_mac");
    assert_eq!(mac(&s, "attacker"), mac(&s, "target"), "same MAC");
    let dhcp = in_window(
        &file,
        &s,
        &format!(
            "eth.src == {} && dhcp.option.hostname == \"raspberrypi\"",
            mac(&s, "attacker")
        ),
    );
    assert_eq!(
        dhcp.len(),
        2,
        "DISCOVER and REQUEST with a Linux fingerprint"
    );
    let pump_dhcp = tshark(
        &file,
        &[
            "-Y",
            &format!(
                "eth.src == {} && dhcp.option.hostname != \"raspberrypi\"",
                mac(&s, "target")
            ),
            "-T",
            "fields",
            "-e",
            "frame.number",
        ],
    );
    assert!(
        !pump_dhcp.is_empty(),
        "the real pump's own DHCP is there too"
    );

    let s = by_name("new_unknown_device");
    let discover = in_window(
        &file,
        &s,
        &format!(
            "eth.src == {} && dhcp.option.dhcp == 1",
            mac(&s, "attacker")
        ),
    );
    assert_eq!(discover.len(), 1);
    assert!(mac(&s, "attacker").starts_with("dc:a6:32"));

    let s = by_name("dos_on_pump_server");
    let syns = in_window(
        &file,
        &s,
        &format!(
            "ip.src == {} && ip.dst == {} && tcp.flags.syn == 1 && tcp.flags.ack == 0",
            ip(&s, "attacker"),
            ip(&s, "target")
        ),
    );
    assert_eq!(syns.len(), 3_000);

    let s = by_name("druglib_push_from_unknown_host");
    let pushed = tshark(
        &file,
        &[
            "-Y",
            &format!(
                "ip.src == {} && ip.dst == {} && tcp.dstport == {}",
                ip(&s, "attacker"),
                ip(&s, "target"),
                s["port"]
            ),
            "-T",
            "fields",
            "-e",
            "tcp.len",
        ],
    );
    let bytes: u64 = pushed
        .lines()
        .filter_map(|l| l.trim().parse::<u64>().ok())
        .sum();
    assert!(bytes > 65_536, "{bytes} bytes pushed");

    // The alarm manager's certificate had expired before the capture began.
    let s = by_name("expired_server_certificate");
    let capture_start: pumpguard_model::time::Timestamp = truth["start"]
        .as_str()
        .expect("start")
        .parse()
        .expect("rfc3339");
    let between = format!(
        "ip.src == {} && ip.dst == {} && tcp.srcport == {}",
        ip(&s, "target"),
        ip(&s, "attacker"),
        s["port"]
    );
    assert_eq!(
        in_window(&file, &s, &format!("tls.handshake.type == 11 && {between}")).len(),
        1
    );
    let certs = certificates(&file, &between);
    let leaf = openssl_x509(&certs[0]);
    assert!(leaf.not_after < capture_start, "{leaf:?}");
    // tshark's X.509 dissector reads the same validity: the leaf's notAfter (its
    // second time) is before the capture.
    let times = tshark(
        &file,
        &[
            "-Y",
            &format!("tls.handshake.type == 11 && {between}"),
            "-T",
            "fields",
            "-e",
            "x509af.utcTime",
        ],
    );
    let not_after: pumpguard_model::time::Timestamp = times
        .trim()
        .split(',')
        .nth(1)
        .and_then(|t| t.strip_suffix(" (UTC)"))
        .map(|t| format!("{}Z", t.replacen(' ', "T", 1)))
        .expect("notAfter")
        .parse()
        .expect("time");
    assert_eq!(not_after, leaf.not_after);
    assert!(
        leaf.subject
            .contains(s["target"]["hostname"].as_str().expect("name")),
        "{leaf:?}"
    );
    assert_eq!(leaf.issuer, openssl_x509(&certs[1]).subject);
    // ...and the pump carried on: application data follows.
    assert!(!in_window(&file, &s, &format!("tls.app_data && {between}")).is_empty());

    // The pump's web console negotiates TLS 1.0 and a 3DES suite, with a
    // self-signed certificate; nothing else in the ward does.
    let s = by_name("weak_tls_version");
    let between = format!(
        "ip.src == {} && ip.dst == {} && tcp.srcport == {}",
        ip(&s, "target"),
        ip(&s, "attacker"),
        s["port"]
    );
    let tls10 = "tls.handshake.type == 2 && tls.handshake.version == 0x0301 && tls.record.version == 0x0301";
    let hello = in_window(
        &file,
        &s,
        &format!("{tls10} && tls.handshake.ciphersuite == 0x000a && {between}"),
    );
    assert_eq!(hello.len(), 1);
    assert_eq!(tshark(&file, &["-Y", tls10]).lines().count(), 1);
    let offered = in_window(
        &file,
        &s,
        &format!(
            "tls.handshake.type == 1 && tls.handshake.version == 0x0301 && tls.handshake.ciphersuite == 0x0005 && ip.src == {}",
            ip(&s, "attacker")
        ),
    );
    assert_eq!(offered.len(), 1, "the client offers RC4 too");
    let certs = certificates(&file, &between);
    assert_eq!(certs.len(), 1);
    let cert = openssl_x509(&certs[0]);
    assert_eq!(cert.issuer, cert.subject, "self-signed");

    // Devices the scenarios bring are in the truth's device list.
    let devices = truth["devices"].as_array().expect("devices");
    for name in ["new_unknown_device", "rogue_device_cloned_mac"] {
        let s = by_name(name);
        assert!(
            devices
                .iter()
                .any(|d| d["ip"] == s["attacker"]["ip"] && d["mac"] == s["attacker"]["mac"]),
            "{name}"
        );
    }
    assert_conversations_are_the_truths_flows(&file, &truth);
}

#[test]
fn ndpi_classifies_the_wards_protocols_and_counts_its_flows() {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("ndpi.pcapng");
    let truth = sim(
        &file,
        &[
            "--pumps",
            "15",
            "--minutes",
            "6",
            "--seed",
            "4",
            "--scenario",
            "all",
        ],
    );
    let out = Command::new("ndpiReader")
        .arg("-i")
        .arg(&file)
        .args(["-v", "2"])
        .output()
        .expect("ndpiReader is installed (.ci/run installs libndpi-bin)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = String::from_utf8_lossy(&out.stdout);
    let flows: u64 = report
        .lines()
        .find_map(|l| l.trim().strip_prefix("Unique flows:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("Unique flows line");
    assert_eq!(flows, truth["flows"].as_u64().expect("flows"));
    let detected = report
        .split("Detected protocols:")
        .nth(1)
        .expect("detected protocols");
    for proto in [
        "DNS",
        "DHCP",
        "HTTP",
        "NTP",
        "Syslog",
        "FTP_CONTROL",
        "Telnet",
        "TLS",
        "SNMP",
        "MDNS",
    ] {
        assert!(
            detected
                .lines()
                .any(|l| l.trim_start().starts_with(&format!("{proto} "))),
            "nDPI did not classify {proto}:\n{detected}"
        );
    }
    // nDPI 4.2 has no HL7 dissector (later releases name it 380/HL7): it leaves every
    // MLLP conversation on 2575 Unknown, seeing cleartext in each. The pivot scenario's
    // SYN probe of 2575 carries no payload, so nDPI sees no text in it.
    let mllp: Vec<&str> = report
        .lines()
        .filter(|l| l.contains(":2575 ") && l.contains("[PLAIN TEXT ("))
        .collect();
    assert_eq!(
        mllp.len() as u64,
        truth["flows_by_protocol"]["hl7"]
            .as_u64()
            .expect("hl7 flows"),
        "{mllp:#?}"
    );
    for flow in &mllp {
        assert!(
            flow.contains("[proto: 0/Unknown]") && flow.contains("[ClearText]"),
            "{flow}"
        );
    }
    // nDPI's own TLS and X.509 parsing flags the certificate and version scenarios, on
    // the flow between the scenario's hosts.
    let flow_of = |name: &str| -> String {
        let s = truth["scenarios"]
            .as_array()
            .expect("scenarios")
            .iter()
            .find(|s| s["name"] == name)
            .expect(name);
        let (a, t) = (
            s["attacker"]["ip"].as_str().expect("ip"),
            s["target"]["ip"].as_str().expect("ip"),
        );
        let port = format!("{t}:{}", s["port"]);
        report
            .lines()
            .find(|l| l.contains(&format!("{a}:")) && l.contains(&port) && l.contains("TLS"))
            .unwrap_or_else(|| panic!("no TLS flow {a} <-> {port}"))
            .to_owned()
    };
    let expired = flow_of("expired_server_certificate");
    assert!(expired.contains("TLS Expired Certificate"), "{expired}");
    let weak = flow_of("weak_tls_version");
    for risk in [
        "Obsolete TLS Version",
        "Weak TLS Cipher",
        "Self-signed Certificate",
    ] {
        assert!(weak.contains(risk), "{risk}: {weak}");
    }
    assert!(weak.contains("[TLSv1]"), "{weak}");
}

/// The certificates (DER) of the TLS Certificate messages matching `filter`, as tshark
/// extracts them.
fn certificates(file: &Path, filter: &str) -> Vec<Vec<u8>> {
    let rows = tshark(
        file,
        &[
            "-Y",
            &format!("tls.handshake.type == 11 && ({filter})"),
            "-T",
            "fields",
            "-e",
            "tls.handshake.certificate",
        ],
    );
    rows.lines()
        .flat_map(|row| row.split(','))
        .filter(|hex| !hex.is_empty())
        .map(|hex| {
            let hex = hex.replace(':', "");
            (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
                .collect()
        })
        .collect()
}

/// What openssl (an X.509 parser we did not write) reads in a DER certificate.
#[derive(Debug)]
struct X509 {
    not_before: pumpguard_model::time::Timestamp,
    not_after: pumpguard_model::time::Timestamp,
    issuer: String,
    subject: String,
}

fn openssl_x509(der: &[u8]) -> X509 {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("cert.der");
    std::fs::write(&path, der).expect("write");
    let out = Command::new("openssl")
        .args(["x509", "-inform", "DER", "-in"])
        .arg(&path)
        .args([
            "-noout", "-dates", "-issuer", "-subject", "-dateopt", "iso_8601", "-nameopt",
            "RFC2253",
        ])
        .output()
        .expect("openssl is installed");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let field = |key: &str| -> String {
        text.lines()
            .find_map(|l| l.strip_prefix(key))
            .unwrap_or_else(|| panic!("{key} in {text}"))
            .to_owned()
    };
    // "2026-11-02 08:00:00Z" → RFC 3339.
    let time = |key: &str| field(key).replacen(' ', "T", 1).parse().expect("date");
    X509 {
        not_before: time("notBefore="),
        not_after: time("notAfter="),
        issuer: field("issuer="),
        subject: field("subject="),
    }
}

/// The pump server of a family, from the truth.
fn server_of(truth: &serde_json::Value, family: &str) -> (String, String) {
    let d = truth["devices"]
        .as_array()
        .expect("devices")
        .iter()
        .find(|d| d["kind"] == "pump_server" && d["family"] == family)
        .expect("server");
    (
        d["ip"].as_str().expect("ip").to_owned(),
        d["hostname"].as_str().expect("name").to_owned(),
    )
}

#[test]
fn tls_links_show_their_handshakes_and_certificates() {
    use pumpguard_model::time::Timestamp;
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("tls.pcapng");
    // No reordered segments: tshark does not reassemble TLS across them by default.
    let truth = sim(
        &file,
        &[
            "--pumps",
            "25",
            "--minutes",
            "4",
            "--seed",
            "11",
            "--tcp-anomalies",
            "0",
        ],
    );
    assert_conversations_are_the_truths_flows(&file, &truth);
    assert!(
        truth["flows_by_protocol"]["tls"]
            .as_u64()
            .expect("tls flows")
            > 0
    );
    let start: Timestamp = truth["start"]
        .as_str()
        .expect("start")
        .parse()
        .expect("rfc3339");

    // Agilia: TLS 1.2, SNI naming its server, an ECDHE suite, the chain in clear.
    let (agilia_ip, agilia_name) = server_of(&truth, "agilia");
    let hellos = tshark(
        &file,
        &[
            "-Y",
            &format!("tls.handshake.type == 1 && ip.dst == {agilia_ip}"),
            "-T",
            "fields",
            "-e",
            "tls.handshake.extensions_server_name",
            "-e",
            "tls.handshake.extension.type",
        ],
    );
    assert!(!hellos.is_empty(), "no ClientHello to the agilia server");
    for row in hellos.lines() {
        assert!(row.starts_with(&format!("{agilia_name}\t")), "{row}");
        let types: Vec<&str> = row.split('\t').nth(1).expect("types").split(',').collect();
        for ext in ["10", "11", "13"] {
            assert!(types.contains(&ext), "extension {ext} missing: {row}");
        }
    }
    let server_hellos = tshark(
        &file,
        &[
            "-Y",
            &format!("tls.handshake.type == 2 && ip.src == {agilia_ip}"),
            "-T",
            "fields",
            "-e",
            "tls.record.version",
            "-e",
            "tls.handshake.version",
            "-e",
            "tls.handshake.ciphersuite",
        ],
    );
    assert_eq!(server_hellos.lines().count(), hellos.lines().count());
    for row in server_hellos.lines() {
        let f: Vec<&str> = row.split('\t').collect();
        assert!(f[0].starts_with("0x0303") && f[1] == "0x0303", "{row}");
        assert_eq!(f[2], "0xc02c", "ECDHE-ECDSA-AES256-GCM-SHA384");
    }
    // ServerKeyExchange, ServerHelloDone, ClientKeyExchange in clear; then each end's
    // ChangeCipherSpec (its Finished is encrypted).
    for filter in [
        "tls.handshake.type == 12",
        "tls.handshake.type == 14",
        "tls.handshake.type == 16",
    ] {
        let n = tshark(
            &file,
            &["-Y", &format!("{filter} && ip.addr == {agilia_ip}")],
        );
        assert_eq!(n.lines().count(), hellos.lines().count(), "{filter}");
    }
    let ccs = tshark(
        &file,
        &[
            "-Y",
            &format!("tls.change_cipher_spec && ip.addr == {agilia_ip}"),
        ],
    );
    assert_eq!(ccs.lines().count(), 2 * hellos.lines().count());
    let app = tshark(
        &file,
        &["-Y", &format!("tls.app_data && ip.src == {agilia_ip}")],
    );
    assert!(
        !app.is_empty(),
        "no application data from the agilia server"
    );
    let alerts = tshark(
        &file,
        &[
            "-Y",
            &format!("tls.record.content_type == 21 && ip.dst == {agilia_ip}"),
        ],
    );
    assert_eq!(
        alerts.lines().count(),
        hellos.lines().count(),
        "one close_notify per connection"
    );

    // The certificates, read by openssl: the server's leaf under the issuing CA,
    // valid at the capture's start.
    let certs = certificates(&file, &format!("ip.src == {agilia_ip}"));
    assert_eq!(
        certs.len(),
        2 * hellos.lines().count(),
        "leaf and issuing CA"
    );
    let leaf = openssl_x509(&certs[0]);
    let ca = openssl_x509(&certs[1]);
    assert!(
        leaf.subject.contains(&format!("CN={agilia_name}")),
        "{leaf:?}"
    );
    assert_eq!(leaf.issuer, ca.subject);
    assert_ne!(ca.issuer, ca.subject, "the issuing CA is under a root");
    assert!(
        leaf.not_before < start && start < leaf.not_after,
        "{leaf:?}"
    );
    // tshark's own X.509 dissection agrees on the leaf's names.
    let names = tshark(
        &file,
        &[
            "-Y",
            &format!("tls.handshake.type == 11 && ip.src == {agilia_ip}"),
            "-T",
            "fields",
            "-e",
            "x509sat.printableString",
            "-e",
            "x509sat.uTF8String",
        ],
    );
    assert!(names.contains(&agilia_name), "{names}");

    // Alaris: TLS 1.3, on 443; the certificate is encrypted.
    let (alaris_ip, alaris_name) = server_of(&truth, "alaris");
    let v13 = tshark(
        &file,
        &[
            "-Y",
            &format!("tls.handshake.type == 2 && ip.src == {alaris_ip} && tcp.srcport == 443"),
            "-T",
            "fields",
            "-e",
            "tls.handshake.extensions.supported_version",
        ],
    );
    assert!(!v13.is_empty(), "no ServerHello from the alaris server");
    assert!(v13.lines().all(|l| l == "0x0304"), "{v13}");
    let hello13 = tshark(
        &file,
        &[
            "-Y",
            &format!("tls.handshake.type == 1 && ip.dst == {alaris_ip}"),
            "-T",
            "fields",
            "-e",
            "tls.handshake.extensions_server_name",
            "-e",
            "tls.handshake.extensions.supported_version",
            "-e",
            "tls.handshake.extensions_key_share_group",
        ],
    );
    for row in hello13.lines() {
        let f: Vec<&str> = row.split('\t').collect();
        assert_eq!(f[0], alaris_name);
        assert!(f[1].split(',').any(|v| v == "0x0304"), "{row}");
        assert_eq!(f[2], "29", "x25519 key share");
    }
    assert!(certificates(&file, &format!("ip.src == {alaris_ip}")).is_empty());
    let ccs = tshark(
        &file,
        &[
            "-Y",
            &format!("tls.change_cipher_spec && ip.src == {alaris_ip}"),
        ],
    );
    assert_eq!(
        ccs.lines().count(),
        v13.lines().count(),
        "middlebox-compatibility ChangeCipherSpec"
    );
}

#[test]
fn the_biomed_workstation_polls_snmp_and_browses_mdns() {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("nms.pcapng");
    let truth = sim(&file, &["--pumps", "25", "--minutes", "8", "--seed", "11"]);
    assert_conversations_are_the_truths_flows(&file, &truth);
    let devices = truth["devices"].as_array().expect("devices");
    let ws = devices
        .iter()
        .find(|d| d["kind"] == "workstation")
        .expect("the biomed workstation");
    let ws_ip = ws["ip"].as_str().expect("ip");
    let pump_named = |ip: &str| -> Option<String> {
        devices
            .iter()
            .find(|d| d["kind"] == "infusion_pump" && d["ip"] == ip)
            .map(|d| d["hostname"].as_str().expect("hostname").to_owned())
    };

    // SNMPv2c: GetRequests with community public from the workstation; every answer
    // names the pump that sends it (sysName.0).
    let requests = tshark(
        &file,
        &[
            "-Y",
            &format!(
                "snmp.community == \"public\" && snmp.version == 1 && snmp.get_request_element && ip.src == {ws_ip}"
            ),
        ],
    );
    assert!(!requests.is_empty(), "no GetRequest");
    let answers = tshark(
        &file,
        &[
            "-Y",
            "snmp.get_response_element && udp.srcport == 161",
            "-T",
            "fields",
            "-e",
            "ip.src",
            "-e",
            "snmp.value.octets",
            "-e",
            "snmp.value.timeticks",
        ],
    );
    assert_eq!(answers.lines().count(), requests.lines().count());
    for row in answers.lines() {
        let f: Vec<&str> = row.split('\t').collect();
        let name = pump_named(f[0]).unwrap_or_else(|| panic!("{row}: not a pump"));
        let values: Vec<String> = f[1]
            .split(',')
            .map(|hex| {
                let bytes: Vec<u8> = (0..hex.len())
                    .step_by(2)
                    .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
                    .collect();
                String::from_utf8(bytes).expect("text")
            })
            .collect();
        assert_eq!(values.len(), 2, "sysDescr.0 and sysName.0: {row}");
        assert!(values[0].contains("communication module"), "{row}");
        assert_eq!(values[1], name);
        assert!(f[2].parse::<u64>().expect("sysUpTime") > 0);
    }
    assert!(
        truth["flows_by_protocol"]["snmp"].as_u64().expect("snmp") > 0,
        "{}",
        truth["flows_by_protocol"]
    );
    // The workstation ARPs for each pump it polls.
    let arp = tshark(
        &file,
        &[
            "-Y",
            &format!("arp.opcode == 1 && arp.src.proto_ipv4 == {ws_ip}"),
        ],
    );
    assert!(arp.lines().count() >= requests.lines().count());

    // mDNS: the workstation asks for _http._tcp.local; pumps answer with their own
    // host names, to the group with TTL 255.
    let queries = tshark(
        &file,
        &[
            "-Y",
            &format!(
                "mdns && ip.src == {ws_ip} && dns.qry.name == \"_http._tcp.local\" && ip.dst == 224.0.0.251"
            ),
        ],
    );
    assert!(!queries.is_empty(), "no mDNS query");
    let answers = tshark(
        &file,
        &[
            "-Y",
            "mdns && dns.flags.response == 1 && ip.ttl == 255",
            "-T",
            "fields",
            "-e",
            "ip.src",
            "-e",
            "dns.srv.target",
            "-e",
            "dns.a",
        ],
    );
    assert!(!answers.is_empty(), "no mDNS answer");
    for row in answers.lines() {
        let f: Vec<&str> = row.split('\t').collect();
        let name = pump_named(f[0]).unwrap_or_else(|| panic!("{row}: not a pump"));
        assert_eq!(f[1], format!("{name}.local"));
        assert_eq!(f[2], f[0]);
    }
    assert!(truth["flows_by_protocol"]["mdns"].as_u64().expect("mdns") > 0);
}

/// The two directions of TCP stream `stream` as tshark reassembles them
/// (`follow,tcp,raw`): what the connection's client sent, then its server.
fn follow(file: &Path, stream: &str) -> (Vec<u8>, Vec<u8>) {
    let text = tshark(file, &["-q", "-z", &format!("follow,tcp,raw,{stream}")]);
    let (mut client, mut server) = (Vec::new(), Vec::new());
    let body = text.split("Node 1:").nth(1).expect("follow output");
    for line in body.lines().skip(1).filter(|l| !l.starts_with("===")) {
        let (to, hex) = match line.strip_prefix('\t') {
            Some(hex) => (&mut server, hex),
            None => (&mut client, line),
        };
        to.extend(
            (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex")),
        );
    }
    (client, server)
}

/// The MLLP-framed messages in `stream`, read by python `hl7` (a parser we did not
/// write): one row per message, the value at each of `paths` (python-hl7 syntax, e.g.
/// `MSH.F9.R1.C1`), empty where the message has none.
fn python_hl7(stream: &[u8], paths: &[&str]) -> Vec<Vec<String>> {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("stream.mllp");
    std::fs::write(&path, stream).expect("write");
    let script = r#"
import sys, hl7
data = open(sys.argv[1], 'rb').read()
for block in data.split(b'\x0b')[1:]:
    text = block.split(b'\x1c')[0].decode('utf-8')
    m = hl7.parse(text)
    row = []
    for p in sys.argv[2:]:
        try:
            row.append(str(m[p]))
        except Exception:
            row.append('')
    print('\t'.join(row))
"#;
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&path)
        .args(paths)
        .output()
        .expect("python3 with hl7 is installed");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.split('\t').map(str::to_owned).collect())
        .collect()
}

#[test]
fn hl7_over_mllp_is_dissected_and_its_scenarios_carry_what_the_truth_says() {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("hl7.pcapng");
    let truth = sim(
        &file,
        &[
            "--pumps",
            "25",
            "--minutes",
            "8",
            "--seed",
            "11",
            "--scenario",
            "all",
            "--tcp-anomalies",
            "0",
        ],
    );
    assert_conversations_are_the_truths_flows(&file, &truth);
    assert!(
        truth["capture_point"]
            .as_str()
            .expect("capture point")
            .contains("VACL")
    );
    // Each frame once: no duplicate, retransmitted or reordered segment anywhere.
    assert_eq!(
        tshark(
            &file,
            &["-Y", "tcp.analysis.flags && !tcp.analysis.window_update"]
        )
        .lines()
        .count(),
        0
    );

    // tshark's HL7 dissector (registered on TCP 2575) reads every message type.
    let rows = tshark(
        &file,
        &[
            "-Y",
            "hl7",
            "-T",
            "fields",
            "-e",
            "tcp.stream",
            "-e",
            "ip.src",
            "-e",
            "ip.dst",
            "-e",
            "eth.src",
            "-e",
            "eth.dst",
            "-e",
            "hl7.message.type",
            "-e",
            "hl7.event.type",
        ],
    );
    let kinds: std::collections::BTreeSet<String> = rows
        .lines()
        .map(|r| {
            let f: Vec<&str> = r.split('\t').collect();
            format!("{}^{}", f[5], f[6])
        })
        .collect();
    for kind in [
        "RGV^O15", "ACK^O15", "ORU^R01", "ACK^R01", "ORU^R42", "ACK^R42", "ORU^R40", "ACK^R40",
    ] {
        assert!(kinds.contains(kind), "{kind} not dissected: {kinds:?}");
    }
    // Every HL7 conversation of the truth carries messages tshark reads.
    let streams: std::collections::BTreeSet<&str> = rows
        .lines()
        .map(|r| r.split('\t').next().expect("stream"))
        .collect();
    assert_eq!(
        streams.len() as u64,
        truth["flows_by_protocol"]["hl7"]
            .as_u64()
            .expect("hl7 flows")
    );

    // On the server VLAN, a pump server's frames carry its own MAC (as the truth lists
    // it) and the EHR's carry the server VLAN gateway's.
    let devices = truth["devices"].as_array().expect("devices");
    let ehr = devices
        .iter()
        .find(|d| d["kind"] == "ehr")
        .expect("the EHR");
    let ehr_ip = ehr["ip"].as_str().expect("ip");
    let server_gateway = devices
        .iter()
        .find(|d| d["ip"] == "10.30.0.1")
        .and_then(|d| d["mac"].as_str())
        .expect("server VLAN gateway");
    let mut seen_servers = 0;
    for server in devices.iter().filter(|d| d["kind"] == "pump_server") {
        let (ip, mac) = (
            server["ip"].as_str().expect("ip"),
            server["mac"]
                .as_str()
                .expect("a server's MAC is on its VLAN"),
        );
        for r in rows.lines() {
            let f: Vec<&str> = r.split('\t').collect();
            if f[1] == ip && f[2] == ehr_ip {
                assert_eq!((f[3], f[4]), (mac, server_gateway), "{r}");
                seen_servers += 1;
            }
        }
    }
    assert!(seen_servers > 0, "no server to EHR message");

    let by_name = |name: &str| -> serde_json::Value {
        truth["scenarios"]
            .as_array()
            .expect("scenarios")
            .iter()
            .find(|s| s["name"] == name)
            .cloned()
            .expect(name)
    };
    let ip = |s: &serde_json::Value, who: &str| s[who]["ip"].as_str().expect("ip").to_owned();

    // The tampered order: from the laptop (not the EHR), to the server's 2575, spoofing
    // the EHR's MSH-3; python hl7 reads an RXG-15 rate above the truth's hard limit,
    // and the server's ACK^O15 CA.
    let s = by_name("tampered_pcd03_over_hard_limit");
    let evidence = &s["hl7"];
    let (laptop, server) = (ip(&s, "attacker"), ip(&s, "target"));
    assert_ne!(laptop, ehr_ip);
    let order = in_window(
        &file,
        &s,
        &format!(
            "hl7.message.type == \"RGV\" && ip.src == {laptop} && ip.dst == {server} && tcp.dstport == {}",
            s["port"]
        ),
    );
    assert_eq!(order.len(), 1);
    let stream = tshark(
        &file,
        &[
            "-Y",
            &format!("hl7 && ip.src == {laptop} && ip.dst == {server}"),
            "-T",
            "fields",
            "-e",
            "tcp.stream",
        ],
    );
    let (sent, answer) = follow(&file, stream.trim());
    let read = python_hl7(
        &sent,
        &[
            "MSH.F9.R1.C1",
            "MSH.F3.R1.C1",
            "RXG.F4.R1.C2",
            "RXG.F15",
            "RXG.F16.R1.C4",
        ],
    );
    assert_eq!(read.len(), 1, "{read:?}");
    let o = &read[0];
    assert_eq!(o[0], "RGV");
    assert_eq!(o[1], evidence["sending_application"].as_str().expect("app"));
    assert_eq!(o[2], evidence["drug"].as_str().expect("drug"));
    let rate: f64 = o[3].parse().expect("RXG-15");
    let hard_max = evidence["hard_max"].as_f64().expect("hard max");
    assert_eq!(rate, evidence["ordered_rate"].as_f64().expect("rate"));
    assert!(rate > hard_max, "{rate} <= {hard_max}");
    assert_eq!(o[4], evidence["rate_unit"].as_str().expect("unit"));
    let ack = python_hl7(&answer, &["MSH.F9.R1.C1", "MSH.F9.R1.C2", "MSA.F1"]);
    assert_eq!(ack, vec![vec!["ACK", "O15", "CA"]]);
    // The real EHR's orders to that server name the same application.
    let real = tshark(
        &file,
        &[
            "-Y",
            &format!("hl7.message.type == \"RGV\" && ip.src == {ehr_ip} && ip.dst == {server}"),
        ],
    );
    assert!(!real.is_empty(), "the EHR orders on that server too");

    // PHI in cleartext: a pump sends the EHR ORU^R01 with PID-5 and PID-7; the
    // servers' own device data carries the record number only.
    let s = by_name("cleartext_hl7_with_phi");
    let (pump, target) = (ip(&s, "attacker"), ip(&s, "target"));
    assert_eq!(target, ehr_ip);
    assert!(
        devices
            .iter()
            .any(|d| d["kind"] == "infusion_pump" && d["ip"] == pump.as_str())
    );
    assert_eq!(
        s["hl7"]["phi_fields"],
        serde_json::json!(["PID-5", "PID-7"])
    );
    let frames = in_window(
        &file,
        &s,
        &format!(
            "hl7.message.type == \"ORU\" && ip.src == {pump} && ip.dst == {target} && eth.src == {}",
            s["attacker"]["mac"].as_str().expect("mac")
        ),
    );
    assert_eq!(frames.len(), 1);
    let stream = tshark(
        &file,
        &[
            "-Y",
            &format!("hl7 && ip.src == {pump}"),
            "-T",
            "fields",
            "-e",
            "tcp.stream",
        ],
    );
    let (sent, _) = follow(&file, stream.trim());
    let paths = [
        "MSH.F9.R1.C2",
        "PID.F3.R1.C1",
        "PID.F5.R1.C1",
        "PID.F5.R1.C2",
        "PID.F7",
    ];
    let phi = python_hl7(&sent, &paths);
    assert_eq!(phi.len(), 1);
    assert_eq!(phi[0][0], "R01");
    assert!(phi[0][1].starts_with("HO"), "record number: {phi:?}");
    assert!(
        phi[0][2..].iter().all(|v| !v.is_empty()),
        "name and birth date: {phi:?}"
    );
    assert_eq!(phi[0][4].len(), 8, "YYYYMMDD: {phi:?}");
    let server_stream = rows
        .lines()
        .find(|r| {
            let f: Vec<&str> = r.split('\t').collect();
            f[1] != pump && f[2] == ehr_ip && r.contains("\tORU\tR01")
        })
        .and_then(|r| r.split('\t').next())
        .expect("server device data");
    let (reports, _) = follow(&file, server_stream);
    let reports = python_hl7(&reports, &paths);
    assert!(!reports.is_empty());
    for r in reports.iter().filter(|r| r[0] == "R01") {
        assert!(
            r[1].starts_with("HO") && r[2..].iter().all(String::is_empty),
            "{r:?}"
        );
    }
}
