//! Remote sensing end to end, on real NATS JetStream servers (the machine's own at
//! 127.0.0.1:4222 through `PUMPGUARD_TEST_NATS`, and nats-server processes of the
//! tests' own where a test must stop the server or give it users) and the central
//! store on PostgreSQL (`PUMPGUARD_TEST_PG`; SQLite when it is unset).
//!
//! The oracle for "nothing lost, nothing duplicated" is the same capture sensed into
//! a local store by `pumpguard sense`: flow counters add up across messages, so a
//! message written twice doubles them and one lost drops a flow or some of its
//! packets. The simulator's truth file checks that the devices arrived at all.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::cargo::CommandCargoExt;
use pumpguard_testkit::TestDb;
use pumpguard_testkit::nats::{Nats, system_url};
use serde_json::Value;

fn pumpguard() -> Command {
    Command::cargo_bin("pumpguard").expect("binary")
}

fn ok(out: Output, what: &str) -> Output {
    assert!(
        out.status.success(),
        "{what} failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    out
}

fn run(args: &[&str]) -> Output {
    let out = pumpguard().args(args).output().expect("runs");
    ok(out, &args.join(" "))
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

/// The central database: PostgreSQL when the tests have one, else SQLite.
async fn central(test: &str) -> TestDb {
    match pumpguard_testkit::pg_url(test) {
        Some(url) => TestDb::postgres(&url).await,
        None => TestDb::sqlite(),
    }
}

/// A simulated ward's capture and truth.
fn sim(dir: &Path, pumps: u32, minutes: u32, seed: u32) -> PathBuf {
    let pcap = dir.join(format!("ward-{seed}.pcapng"));
    run(&[
        "sim",
        "--out",
        pcap.to_str().expect("utf-8"),
        "--pumps",
        &pumps.to_string(),
        "--minutes",
        &minutes.to_string(),
        "--seed",
        &seed.to_string(),
    ]);
    pcap
}

/// What a store holds that a lost or doubled message would change: every flow's
/// counters by 5-tuple, and every asset's identity.
#[derive(Debug, PartialEq)]
struct Holdings {
    flows: BTreeMap<String, (u64, u64, u64, u64)>,
    assets: BTreeSet<(String, String, String, String, String)>,
}

fn holdings(db: &str) -> Holdings {
    let flows = json(&run(&["--db", db, "flows", "list", "--format", "json"]));
    let assets = json(&run(&["--db", db, "assets", "list", "--format", "json"]));
    let s = |v: &Value| v.as_str().unwrap_or("").to_owned();
    let n = |v: &Value| v.as_u64().expect("count");
    Holdings {
        flows: flows
            .as_array()
            .expect("flows")
            .iter()
            .map(|f| {
                (
                    format!(
                        "{} {}:{} {}:{}",
                        s(&f["proto"]),
                        s(&f["client_ip"]),
                        f["client_port"],
                        s(&f["server_ip"]),
                        f["server_port"]
                    ),
                    (
                        n(&f["packets_to_server"]),
                        n(&f["packets_to_client"]),
                        n(&f["bytes_to_server"]),
                        n(&f["bytes_to_client"]),
                    ),
                )
            })
            .collect(),
        assets: assets
            .as_array()
            .expect("assets")
            .iter()
            .map(|a| {
                (
                    s(&a["mac"]),
                    s(&a["ip"]),
                    s(&a["hostname"]),
                    s(&a["kind"]),
                    s(&a["vendor"]),
                )
            })
            .collect(),
    }
}

/// The capture sensed into a store of its own, as one local `sense` would.
fn reference(dir: &Path, pcap: &Path) -> Holdings {
    let db = format!("sqlite://{}", dir.join("reference.db").display());
    run(&[
        "--db",
        &db,
        "sense",
        "--pcap",
        pcap.to_str().expect("utf-8"),
        "--learn-minutes",
        "0",
        "--format",
        "json",
    ]);
    holdings(&db)
}

/// A child process killed when dropped (also when the test fails first).
struct Running(Option<Child>);

impl Running {
    fn spawn(cmd: &mut Command) -> Running {
        Running(Some(
            cmd.stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("starts"),
        ))
    }

    fn pid(&self) -> String {
        self.0.as_ref().expect("running").id().to_string()
    }

    fn signal(&self, sig: &str) {
        let status = Command::new("kill")
            .args([sig, &self.pid()])
            .status()
            .expect("kill");
        assert!(status.success());
    }

    /// Waits for the process to exit by itself (within `limit`).
    fn wait(mut self, limit: Duration) -> Output {
        let mut child = self.0.take().expect("running");
        let started = Instant::now();
        while child.try_wait().expect("wait").is_none() {
            if started.elapsed() > limit {
                let _ = child.kill();
                let out = child.wait_with_output().expect("output");
                panic!(
                    "did not exit within {limit:?}: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        child.wait_with_output().expect("output")
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn ingester(db: &str, url: &str, extra: &[&str]) -> Running {
    Running::spawn(
        pumpguard()
            .args([
                "--db",
                db,
                "sensor-ingest",
                "--from",
                url,
                "--format",
                "json",
            ])
            .args(extra),
    )
}

/// Runs an ingester just long enough to create the stream and its consumer.
fn set_up_stream(db: &str, url: &str, extra: &[&str]) {
    let mut args = vec!["--exit-when-idle", "1"];
    args.extend_from_slice(extra);
    let out = ingester(db, url, &args).wait(Duration::from_secs(30));
    ok(out, "sensor-ingest (setting up)");
}

fn publish(pcap: &Path, url: &str, sensor: &str, spool: &Path, extra: &[&str]) -> Value {
    let out = pumpguard()
        .args(["sense", "--pcap", pcap.to_str().expect("utf-8")])
        .args(["--publish", url, "--sensor-name", sensor, "--spool"])
        .arg(spool)
        .args(["--format", "json"])
        .args(extra)
        .output()
        .expect("runs");
    json(&ok(out, "sense --publish"))
}

fn sensors(db: &str) -> BTreeMap<String, Value> {
    json(&run(&["--db", db, "sensors", "list", "--format", "json"]))
        .as_array()
        .expect("sensors")
        .iter()
        .map(|s| (s["name"].as_str().expect("name").to_owned(), s.clone()))
        .collect()
}

fn add_sensor(db: &str, name: &str, password_file: &Path) {
    run(&[
        "--db",
        db,
        "sensors",
        "add",
        name,
        "--password-file",
        password_file.to_str().expect("utf-8"),
    ]);
}

fn password_file(dir: &Path, name: &str, password: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, format!("{password}\n")).expect("write");
    p
}

#[tokio::test]
async fn a_remote_sensors_pumps_appear_in_the_central_inventory() {
    let Some(url) = system_url("a_remote_sensors_pumps_appear_in_the_central_inventory") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let db = central("remote_sensor").await;
    let pcap = sim(dir.path(), 8, 3, 11);
    let expected = reference(dir.path(), &pcap);
    add_sensor(
        &db.url,
        "ward-a",
        &password_file(dir.path(), "pw", "not-used-without-auth"),
    );
    set_up_stream(&db.url, &url, &[]);
    let ingest = ingester(&db.url, &url, &["--exit-when-idle", "4"]);
    // Small messages, so that the capture is many of them.
    let sent = publish(
        &pcap,
        &url,
        "ward-a",
        &dir.path().join("a.spool"),
        &["--message-items", "7"],
    );
    let published = &sent["published"];
    let messages = published["messages"].as_u64().expect("messages");
    assert!(messages > 20, "{sent}");
    assert_eq!(published["published"], messages, "{sent}");
    assert_eq!(published["spooled"], 0, "{sent}");
    // A sensor the central store does not know: everything it sends is rejected.
    let ghost = format!("ghost-{}", std::process::id());
    let ghostly = publish(&pcap, &url, &ghost, &dir.path().join("g.spool"), &[]);
    let ghost_messages = ghostly["published"]["published"].as_u64().expect("sent");
    assert!(ghost_messages > 0);

    let report = json(&ok(ingest.wait(Duration::from_secs(120)), "sensor-ingest"));
    assert_eq!(report["applied"], messages, "{report}");
    assert_eq!(report["duplicates"], 0, "{report}");
    assert!(
        report["rejected"].as_u64().expect("rejected") >= ghost_messages,
        "{report}"
    );
    assert_eq!(holdings(&db.url), expected);

    let truth: Value =
        serde_json::from_slice(&std::fs::read(pcap.with_extension("truth.json")).expect("truth"))
            .expect("truth JSON");
    let central = holdings(&db.url);
    for d in truth["devices"].as_array().expect("devices") {
        // Hosts beyond a router are known by address only.
        let Some(mac) = d["mac"].as_str() else {
            continue;
        };
        assert!(
            central.assets.iter().any(|a| a.0 == mac
                && a.1 == d["ip"].as_str().unwrap_or("")
                && a.3 == d["kind"].as_str().unwrap_or("")),
            "{d} is not in the central inventory"
        );
    }
    assert_eq!(
        central.flows.len() as u64,
        truth["flows"].as_u64().expect("flows")
    );

    let s = &sensors(&db.url)["ward-a"];
    assert_eq!(s["messages"], messages, "{s}");
    assert_eq!(s["observations"], published["observations"], "{s}");
    assert!(s["last_contact"].is_string(), "{s}");
    assert!(s["lag_ms"].as_i64().expect("lag") >= 0, "{s}");
    assert_eq!(sensors(&db.url).len(), 1, "the ghost is no sensor");
}

#[tokio::test]
async fn killing_the_ingester_mid_stream_loses_and_duplicates_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let nats = Nats::start(None);
    let url = nats.url();
    let db = central("ingester_killed").await;
    let pcap = sim(dir.path(), 20, 4, 12);
    let expected = reference(dir.path(), &pcap);
    add_sensor(
        &db.url,
        "ward-b",
        &password_file(dir.path(), "pw", "x".repeat(12).as_str()),
    );
    set_up_stream(&db.url, &url, &["--ack-wait-seconds", "2"]);
    let sent = publish(
        &pcap,
        &url,
        "ward-b",
        &dir.path().join("b.spool"),
        &["--message-items", "2"],
    );
    let total = sent["published"]["published"].as_u64().expect("published");
    assert!(total > 100, "{sent}");

    // One message per transaction, killed (SIGKILL) once some are written.
    let first = ingester(&db.url, &url, &["--batch", "1", "--ack-wait-seconds", "2"]);
    let started = Instant::now();
    let written = loop {
        let n = sensors(&db.url)["ward-b"]["messages"]
            .as_u64()
            .expect("messages");
        if n >= 10 {
            break n;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the first ingester wrote nothing"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    first.signal("-KILL");
    drop(first);
    let at_kill = sensors(&db.url)["ward-b"]["messages"]
        .as_u64()
        .expect("messages");
    assert!(
        written <= at_kill && at_kill < total,
        "killed mid-stream: {at_kill} of {total} written"
    );

    // A new ingester takes over; what the first had taken but not acknowledged comes
    // again after the acknowledgement wait.
    let second = ingester(
        &db.url,
        &url,
        &["--ack-wait-seconds", "2", "--exit-when-idle", "6"],
    );
    let report = json(&ok(
        second.wait(Duration::from_secs(180)),
        "second ingester",
    ));
    assert_eq!(
        report["applied"].as_u64().expect("applied") + at_kill,
        total,
        "{report}"
    );
    assert_eq!(report["rejected"], 0, "{report}");
    assert_eq!(sensors(&db.url)["ward-b"]["messages"].as_u64(), Some(total));
    assert_eq!(holdings(&db.url), expected);
}

#[cfg(feature = "live")]
#[tokio::test]
async fn stopping_nats_while_a_sensor_runs_loses_nothing() {
    use std::net::UdpSocket;

    if !pumpguard_testkit::running_as_root() {
        eprintln!("skipped: live capture needs root or CAP_NET_RAW");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let mut nats = Nats::start(None);
    let url = nats.url();
    let db = central("nats_restart").await;
    add_sensor(
        &db.url,
        "ward-c",
        &password_file(dir.path(), "pw", &"y".repeat(12)),
    );
    set_up_stream(&db.url, &url, &[]);
    let ingest = ingester(&db.url, &url, &[]);
    let port = 20_000 + (std::process::id() % 20_000) as u16;
    let spool = dir.path().join("c.spool");
    let sensor = Running::spawn(
        pumpguard()
            .args(["sense", "--interface", "lo", "--flush-seconds", "1"])
            .args([
                "--bpf",
                &format!("udp and dst portrange {port}-{}", port + 2),
            ])
            .args(["--publish", &url, "--sensor-name", "ward-c", "--spool"])
            .arg(&spool)
            .args(["--format", "json"]),
    );
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let send = |to: u16, n: usize| {
        for i in 0..n {
            let line = format!("<14>Dec  5 10:00:{:02} pump-9 comm: beat {i}", i % 60);
            socket
                .send_to(line.as_bytes(), ("127.0.0.1", to))
                .expect("send");
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    let central_udp = || {
        holdings(&db.url)
            .flows
            .into_iter()
            .filter(|(k, _)| k.starts_with("udp 127.0.0.1"))
            .collect::<BTreeMap<_, _>>()
    };
    let wait_for = |n: usize, limit: Duration| {
        let started = Instant::now();
        loop {
            let flows = central_udp();
            if flows.len() >= n || started.elapsed() > limit {
                return flows;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    };
    // Until the capture is open, datagrams go unseen: send until one arrives centrally.
    let started = Instant::now();
    while central_udp().is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "nothing reached the central store"
        );
        send(port, 5);
        std::thread::sleep(Duration::from_millis(1_500));
    }

    // NATS goes away while the sensor captures; the sensor spools.
    nats.stop();
    send(port + 1, 10);
    std::thread::sleep(Duration::from_secs(8));
    assert!(
        spool.metadata().map(|m| m.len()).unwrap_or(0) > 0,
        "nothing was spooled"
    );
    nats.resume();
    send(port + 2, 10);
    let flows = wait_for(3, Duration::from_secs(60));
    assert_eq!(flows.len(), 3, "{flows:?}");

    sensor.signal("-TERM");
    let report = json(&ok(sensor.wait(Duration::from_secs(60)), "sense --publish"));
    let published = &report["published"];
    assert!(
        published["spooled"].as_u64().expect("spooled") > 0,
        "{report}"
    );
    assert_eq!(published["waiting"], 0, "{report}");
    assert_eq!(published["replayed"], published["spooled"], "{report}");
    // The last batch (flows ended at the stop) may still be on its way.
    std::thread::sleep(Duration::from_secs(3));
    ingest.signal("-TERM");
    let ingested = json(&ok(ingest.wait(Duration::from_secs(60)), "sensor-ingest"));
    assert_eq!(ingested["rejected"], 0, "{ingested}");
    let flows = central_udp();
    let packets: u64 = flows.values().map(|c| c.0).sum();
    assert_eq!(
        Some(packets),
        report["frames"].as_u64(),
        "every captured datagram counted once centrally: {flows:?} {report}"
    );
    assert_eq!(
        sensors(&db.url)["ward-c"]["messages"],
        published["published"],
        "{report}"
    );
}

#[tokio::test]
async fn sensors_publish_only_as_themselves_with_their_nats_credentials() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = central("nats_credentials").await;
    let d_pw = password_file(dir.path(), "d", "sensor-d-password");
    let e_pw = password_file(dir.path(), "e", "sensor-e-password");
    let ingest_pw = password_file(dir.path(), "i", "ingest-password-1");
    let wrong = password_file(dir.path(), "w", "not-the-password");
    add_sensor(&db.url, "ward-d", &d_pw);
    add_sensor(&db.url, "ward-e", &e_pw);
    let auth = dir.path().join("auth.conf");
    run(&[
        "--db",
        &db.url,
        "sensors",
        "nats-config",
        "--ingest-password-file",
        ingest_pw.to_str().expect("utf-8"),
        "--out",
        auth.to_str().expect("utf-8"),
    ]);
    let text = std::fs::read_to_string(&auth).expect("config");
    assert!(text.contains("sensor-ward-d") && !text.contains("sensor-d-password"));
    let nats = Nats::start(Some(&auth));
    let url = nats.url();
    let as_ingester = ["--nats-password-file", ingest_pw.to_str().expect("utf-8")];
    set_up_stream(&db.url, &url, &as_ingester);
    let pcap = sim(dir.path(), 4, 2, 13);
    let spool = |n: &str| dir.path().join(format!("{n}.spool"));
    let quick = ["--drain-seconds", "1"];

    // With its own credentials a sensor publishes.
    let mut args = vec!["--nats-password-file", d_pw.to_str().expect("utf-8")];
    args.extend_from_slice(&quick);
    let d = publish(&pcap, &url, "ward-d", &spool("d"), &args);
    assert_eq!(d["published"]["spooled"], 0, "{d}");
    let d_messages = d["published"]["published"].as_u64().expect("published");
    assert!(d_messages > 0);

    // ward-d's credentials cannot publish as ward-e: NATS refuses the subjects, and
    // the messages stay in the spool.
    let mut args = vec![
        "--nats-user",
        "sensor-ward-d",
        "--nats-password-file",
        d_pw.to_str().expect("utf-8"),
    ];
    args.extend_from_slice(&quick);
    let e = publish(&pcap, &url, "ward-e", &spool("e"), &args);
    assert_eq!(e["published"]["published"], 0, "{e}");
    assert_eq!(e["published"]["waiting"], e["published"]["messages"], "{e}");

    // A wrong password or none: NATS refuses the connection.
    let mut args = vec!["--nats-password-file", wrong.to_str().expect("utf-8")];
    args.extend_from_slice(&quick);
    let w = publish(&pcap, &url, "ward-d", &spool("w"), &args);
    assert_eq!(w["published"]["published"], 0, "{w}");
    let none = publish(&pcap, &url, "ward-d", &spool("n"), &quick);
    assert_eq!(none["published"]["published"], 0, "{none}");

    let mut args = vec!["--exit-when-idle", "3"];
    args.extend_from_slice(&as_ingester);
    let report = json(&ok(
        ingester(&db.url, &url, &args).wait(Duration::from_secs(60)),
        "ingest",
    ));
    assert_eq!(report["applied"], d_messages, "{report}");
    let s = sensors(&db.url);
    assert_eq!(s["ward-d"]["messages"], d_messages);
    assert_eq!(s["ward-e"]["messages"], 0);
    // The ingester's user cannot publish as a sensor either.
    let mut args = vec![
        "--nats-user",
        "pumpguard-ingest",
        "--nats-password-file",
        ingest_pw.to_str().expect("utf-8"),
    ];
    args.extend_from_slice(&quick);
    let i = publish(&pcap, &url, "ward-d", &spool("i"), &args);
    assert_eq!(i["published"]["published"], 0, "{i}");
}
