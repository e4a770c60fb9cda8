//! `pumpguard sim` end to end, checked with tshark (a peer we did not write): the file
//! reads without warnings, its conversations are the truth's flows, its protocols are
//! dissected as what they are, and a seed decides every byte.

use std::path::Path;
use std::process::Command;

use assert_cmd::Command as Bin;

fn sim(out: &Path, args: &[&str]) -> serde_json::Value {
    let run = Bin::cargo_bin("pumpguard")
        .expect("binary")
        .arg("sim")
        .arg("--out")
        .arg(out)
        .args(args)
        .output()
        .expect("runs");
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let truth = out.with_file_name(format!(
        "{}.truth.json",
        out.file_stem().expect("stem").to_string_lossy()
    ));
    serde_json::from_slice(&std::fs::read(truth).expect("truth file")).expect("truth JSON")
}

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

/// tshark's TCP and UDP conversations are exactly the truth's flows.
fn assert_conversations_are_the_truths_flows(file: &Path, truth: &serde_json::Value) {
    let conv = tshark(file, &["-q", "-z", "conv,tcp", "-z", "conv,udp"]);
    let conversations = conv.lines().filter(|l| l.contains("<->")).count() as u64;
    assert_eq!(conversations, truth["flows"].as_u64().expect("flows"));
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
    for proto in ["dhcp", "dns", "http", "arp", "tcp", "udp", "ntp", "syslog"] {
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
    sim(&a, &["--pumps", "8", "--minutes", "3", "--seed", "42"]);
    sim(&b, &["--pumps", "8", "--minutes", "3", "--seed", "42"]);
    let tc = sim(&c, &["--pumps", "8", "--minutes", "3", "--seed", "43"]);
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
        .args(["sim", "--scenario", "weak_tls_version", "--out"])
        .arg(dir.path().join("x.pcapng"))
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with(
            "error: unknown scenario 'weak_tls_version' (available so far: telnet_to_pump"
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
        .args(["-v", "1"])
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
    ] {
        assert!(
            detected
                .lines()
                .any(|l| l.trim_start().starts_with(&format!("{proto} "))),
            "nDPI did not classify {proto}:\n{detected}"
        );
    }
}
