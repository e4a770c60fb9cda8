//! `pumpguard sense --interface` on the loopback interface (needs the `live` feature and
//! CAP_NET_RAW; CI runs as root): datagrams sent while it runs are in the store after a
//! flush, and SIGTERM stops it cleanly with every flow written.
#![cfg(feature = "live")]

use std::net::UdpSocket;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::cargo::CommandCargoExt;

fn flows(db: &str) -> Vec<serde_json::Value> {
    let out = Command::cargo_bin("pumpguard")
        .expect("binary")
        .args([
            "--db", db, "flows", "list", "--format", "json", "--proto", "udp",
        ])
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice::<serde_json::Value>(&out.stdout)
        .expect("json")
        .as_array()
        .expect("array")
        .clone()
}

struct Guard(Option<std::process::Child>);

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

#[test]
fn live_capture_on_loopback_flushes_and_stops_cleanly() {
    // Opening a capture needs CAP_NET_RAW; CI runs as root.
    if !pumpguard_testkit::running_as_root() {
        eprintln!("skipped: live capture needs root or CAP_NET_RAW");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let db = format!("sqlite://{}", dir.path().join("live.db").display());
    let port = 40_000 + (std::process::id() % 20_000) as u16;
    let child = Command::cargo_bin("pumpguard")
        .expect("binary")
        .args([
            "--db",
            &db,
            "sense",
            "--interface",
            "lo",
            "--flush-seconds",
            "1",
            "--format",
            "json",
        ])
        .args(["--bpf", &format!("udp port {port}")])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    // Killed if the test fails before it stops the sensor (or the test run would hang
    // on the sensor's open pipes).
    let mut guard = Guard(Some(child));
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
    // Syslog datagrams: the sensor names the application by content.
    let send = |n: usize| {
        for i in 0..n {
            let line = format!(
                "<14>Nov 29 10:00:{:02} pump-7 comm: heartbeat {i} fw=1.2.3",
                i % 60
            );
            socket
                .send_to(line.as_bytes(), ("127.0.0.1", port))
                .expect("send");
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    // Until the capture is open, datagrams go unseen: send until a flush shows them.
    let started = Instant::now();
    let mut seen = Vec::new();
    while started.elapsed() < Duration::from_secs(20) {
        send(10);
        std::thread::sleep(Duration::from_millis(1_500));
        seen = flows(&db);
        if !seen.is_empty() {
            break;
        }
    }
    assert_eq!(
        seen.len(),
        1,
        "the live flow is written before it ends: {seen:?}"
    );
    assert_eq!(seen[0]["app"], "syslog");
    assert_eq!(seen[0]["server_port"], port);
    // Ten more, then SIGTERM: the clean stop writes them too.
    send(10);
    std::thread::sleep(Duration::from_millis(300));
    let child = guard.0.take().expect("running");
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill")
            .success()
    );
    let out = child.wait_with_output().expect("exits");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("report");
    let frames = report["frames"].as_u64().expect("frames");
    let after = flows(&db);
    assert_eq!(after.len(), 1, "{after:?}");
    let f = &after[0];
    assert_eq!(
        f["packets_to_server"].as_u64(),
        Some(frames),
        "every captured datagram is counted once: {f}"
    );
    assert_eq!(f["sessions"], 1);
    // The first datagrams may precede the capture; the last ten may not.
    assert!(frames > 10, "{frames} frames");
}
