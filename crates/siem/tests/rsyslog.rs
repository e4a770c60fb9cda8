//! CEF over syslog to a receiver we did not write: Debian's rsyslogd, started by each test
//! on loopback with its own configuration (no system socket), accepts our messages over
//! UDP, TCP (octet counting) and TLS (its OpenSSL driver, anonymous and with client
//! certificates from a throwaway CA made here by rcgen) and writes each as a JSON line
//! (its own `jsonf` template: PRI, TIMESTAMP, HOSTNAME, APP-NAME, MSGID, SD and MSG as it
//! parsed them). Every MSG is parsed back with `parse_cef` and compared with the alert,
//! field for field.
//!
//! Without rsyslogd the tests say so and pass, except in CI (`CI` set), where `.ci/run`
//! installs it and its absence fails them.

use std::net::{IpAddr, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use pumpguard_model::{
    Alert, AlertEvidence, AlertFact, AlertKind, AlertStatus, Endpoint, Severity,
};
use pumpguard_siem::{
    DEVICE_VERSION, Facility, SinkError, SinkOptions, SyslogSink, parse_cef, syslog_severity,
};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use serde_json::Value;

const HOSTNAME: &str = "sensor-1.ward4.hospital.example";
const APP_NAME: &str = "pumpguard";

fn rsyslogd() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/sbin".into()])
        .map(|d| d.join("rsyslogd"))
        .find(|p| p.is_file())
}

/// rsyslog's OpenSSL network stream driver (Debian's `rsyslog-openssl`).
fn has_openssl_driver() -> bool {
    ["/usr/lib", "/usr/lib64"].iter().any(|root| {
        let Ok(dirs) = std::fs::read_dir(root) else {
            return false;
        };
        dirs.flatten()
            .any(|d| d.path().join("rsyslog/lmnsd_ossl.so").is_file())
            || Path::new(root).join("rsyslog/lmnsd_ossl.so").is_file()
    })
}

fn in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty())
}

/// What is missing to run, if anything; in CI nothing may be.
fn missing(need_tls: bool) -> Option<&'static str> {
    let missing = if rsyslogd().is_none() {
        "rsyslogd is not installed (apt-get install rsyslog)"
    } else if need_tls && !has_openssl_driver() {
        "rsyslog's OpenSSL driver is not installed (apt-get install rsyslog-openssl)"
    } else {
        return None;
    };
    assert!(!in_ci(), "{missing}: .ci/run installs it");
    Some(missing)
}

/// A throwaway PKI in PEM files: a CA, the receiver's certificate (for 127.0.0.1) and a
/// sender's, and a second CA that vouches for neither.
struct Pki {
    ca: PathBuf,
    other_ca: PathBuf,
    server_cert: PathBuf,
    server_key: PathBuf,
    client_cert: PathBuf,
    client_key: PathBuf,
}

fn ca(name: &str) -> (CertificateParams, KeyPair) {
    let key = KeyPair::generate().expect("key");
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    (params, key)
}

fn pki(dir: &Path) -> Pki {
    let write = |name: &str, pem: String| {
        let path = dir.join(name);
        std::fs::write(&path, pem).expect("writes PEM");
        path
    };
    let (ca_params, ca_key) = ca("pumpguard test CA");
    let ca_pem = ca_params.self_signed(&ca_key).expect("CA").pem();
    let issuer = Issuer::new(ca_params, ca_key);
    let leaf = |cn: &str, usage: ExtendedKeyUsagePurpose, file: &str| {
        let key = KeyPair::generate().expect("key");
        let mut params = CertificateParams::new(vec!["localhost".to_owned()]).expect("params");
        params
            .subject_alt_names
            .push(SanType::IpAddress([127, 0, 0, 1].into()));
        params.distinguished_name.push(DnType::CommonName, cn);
        params.extended_key_usages = vec![usage];
        let cert = params.signed_by(&key, &issuer).expect("signed");
        (
            write(&format!("{file}.pem"), cert.pem()),
            write(&format!("{file}.key"), key.serialize_pem()),
        )
    };
    let (server_cert, server_key) =
        leaf("localhost", ExtendedKeyUsagePurpose::ServerAuth, "server");
    let (client_cert, client_key) = leaf("sensor-1", ExtendedKeyUsagePurpose::ClientAuth, "client");
    let (other_params, other_key) = ca("some other CA");
    let other_pem = other_params.self_signed(&other_key).expect("CA").pem();
    Pki {
        ca: write("ca.pem", ca_pem),
        other_ca: write("other-ca.pem", other_pem),
        server_cert,
        server_key,
        client_cert,
        client_key,
    }
}

/// An rsyslogd of our own, killed on drop.
struct Receiver {
    child: Child,
    dir: tempfile::TempDir,
    udp: u16,
    tcp: u16,
    tls: u16,
    /// TLS that requires a client certificate from the CA.
    mtls: u16,
    pki: Option<Pki>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Receiver {
    /// An rsyslogd listening on every port it was given. The ports are released just
    /// before it binds them, so another process may take one first (a TLS handshake
    /// then meets someone else's socket): such a receiver is replaced, up to three times.
    #[allow(clippy::print_stderr)] // says in the test's output why it started another
    fn start(tls: bool) -> Receiver {
        let mut tries = 0;
        loop {
            let receiver = Receiver::spawn(tls);
            match receiver.wait_ready() {
                Ok(()) => return receiver,
                Err(why) if tries < 2 => {
                    eprintln!("rsyslogd not ready, starting another: {why}");
                    tries += 1;
                }
                Err(why) => panic!("{why}\n{}", receiver.log()),
            }
        }
    }

    fn spawn(tls: bool) -> Receiver {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        let pki = tls.then(|| pki(d));
        // Ports the kernel picked as free, released just before rsyslogd takes them.
        let udp_socket = UdpSocket::bind("127.0.0.1:0").expect("udp port");
        let tcp_sockets: Vec<TcpListener> = (0..3)
            .map(|_| TcpListener::bind("127.0.0.1:0").expect("tcp port"))
            .collect();
        let udp = udp_socket.local_addr().expect("addr").port();
        let [tcp, tls_port, mtls] =
            [0, 1, 2].map(|i| tcp_sockets[i].local_addr().expect("addr").port());
        let out = d.join("out.jsonl");
        let mut conf = format!(
            r#"global(workDirectory="{dir}" maxMessageSize="64k"
       parser.escapeControlCharactersOnReceive="off")
module(load="imudp")
module(load="imtcp")
input(type="imudp" address="127.0.0.1" port="{udp}" ruleset="record")
input(type="imtcp" address="127.0.0.1" port="{tcp}" ruleset="record")
"#,
            dir = d.display(),
        );
        if let Some(p) = &pki {
            for (port, auth) in [(tls_port, "anon"), (mtls, "x509/certvalid")] {
                conf.push_str(&format!(
                    r#"input(type="imtcp" address="127.0.0.1" port="{port}" ruleset="record"
      streamDriver.name="ossl" streamDriver.mode="1" streamDriver.authMode="{auth}"
      streamDriver.CAFile="{ca}" streamDriver.certFile="{cert}" streamDriver.keyFile="{key}")
"#,
                    ca = p.ca.display(),
                    cert = p.server_cert.display(),
                    key = p.server_key.display(),
                ));
            }
        }
        conf.push_str(&format!(
            r#"template(name="record" type="list" option.jsonf="on") {{
  property(outname="input" name="inputname" format="jsonf")
  property(outname="pri" name="pri" format="jsonf")
  property(outname="version" name="protocol-version" format="jsonf")
  property(outname="timestamp" name="timereported" dateFormat="rfc3339" format="jsonf")
  property(outname="hostname" name="hostname" format="jsonf")
  property(outname="app" name="app-name" format="jsonf")
  property(outname="procid" name="procid" format="jsonf")
  property(outname="msgid" name="msgid" format="jsonf")
  property(outname="sd" name="structured-data" format="jsonf")
  property(outname="msg" name="msg" format="jsonf")
}}
ruleset(name="record") {{
  action(type="omfile" file="{out}" template="record")
}}
"#,
            out = out.display()
        ));
        let conf_path = d.join("rsyslog.conf");
        std::fs::write(&conf_path, conf).expect("writes config");
        let log = std::fs::File::create(d.join("rsyslogd.log")).expect("log file");
        drop((udp_socket, tcp_sockets));
        let child = Command::new(rsyslogd().expect("rsyslogd"))
            .arg("-n")
            .arg("-f")
            .arg(&conf_path)
            .arg("-i")
            .arg(d.join("rsyslogd.pid"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .spawn()
            .expect("starts rsyslogd");
        Receiver {
            child,
            dir,
            udp,
            tcp,
            tls: tls_port,
            mtls,
            pki,
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("rsyslogd.log")).unwrap_or_default()
    }

    /// The TCP input accepts connections, a UDP probe has reached the file, and both
    /// TLS inputs complete a handshake (with a client certificate where one is needed).
    fn wait_ready(&self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", self.tcp)).is_err() {
            if Instant::now() >= deadline {
                return Err("rsyslogd did not listen".into());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let probe = UdpSocket::bind("127.0.0.1:0").expect("udp");
        loop {
            probe
                .send_to(b"<14>1 - - - - - - probe", ("127.0.0.1", self.udp))
                .expect("probe");
            if self.records().iter().any(|r| r["msg"] == "probe") {
                break;
            }
            if Instant::now() >= deadline {
                return Err("rsyslogd wrote nothing".into());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let Some(pki) = &self.pki else {
            return Ok(());
        };
        let trusting = SinkOptions {
            ca_file: Some(pki.ca.clone()),
            ..options()
        };
        let with_certificate = SinkOptions {
            client_cert: Some(pki.client_cert.clone()),
            client_key: Some(pki.client_key.clone()),
            ..trusting.clone()
        };
        for (port, options) in [(self.tls, &trusting), (self.mtls, &with_certificate)] {
            // A handshake and a close: rsyslogd records nothing for it.
            let url = format!("tls://127.0.0.1:{port}");
            loop {
                match SyslogSink::open(&url, options).and_then(|sink| sink.close()) {
                    Ok(()) => break,
                    Err(e) if Instant::now() >= deadline => return Err(format!("{url}: {e}")),
                    Err(_) => std::thread::sleep(Duration::from_millis(100)),
                }
            }
        }
        Ok(())
    }

    fn records(&self) -> Vec<Value> {
        std::fs::read_to_string(self.dir.path().join("out.jsonl"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// The records of CEF messages, once there are `n`.
    fn wait_for_cef(&self, n: usize) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let cef: Vec<Value> = self
                .records()
                .into_iter()
                .filter(|r| r["msg"].as_str().is_some_and(|m| m.starts_with("CEF:")))
                .collect();
            if cef.len() >= n {
                return cef;
            }
            assert!(
                Instant::now() < deadline,
                "{} of {n} messages arrived:\n{}",
                cef.len(),
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn at(us: i64) -> Timestamp {
    Timestamp::from_microsecond(us).expect("in range")
}

#[allow(clippy::needless_update)]
fn evidence(flows: Vec<String>, facts: Vec<AlertFact>, sentence: &str) -> AlertEvidence {
    AlertEvidence {
        flows,
        facts,
        sentence: sentence.to_owned(),
        ..AlertEvidence::default()
    }
}

/// Alerts whose texts need every kind of escaping, over IPv4 and IPv6, with and
/// without a peer; `base` makes their ids unique per transport.
fn alerts(base: i64) -> Vec<Alert> {
    let fact = |name: &str, value: &str| AlertFact {
        name: name.into(),
        value: value.into(),
    };
    let telnet = Alert {
        id: base + 1,
        kind: AlertKind::CleartextManagementToPump,
        severity: Severity::Critical,
        status: AlertStatus::Open,
        asset_id: Some("PUMP-0017".into()),
        peer_asset_id: Some("WS 1 | biomed=yes".into()),
        subject: Endpoint {
            ip: Some("10.20.1.17".parse().expect("ip")),
            mac: Some("00:1a:01:2b:3c:4d".parse().expect("mac")),
        },
        peer: Some(Endpoint {
            ip: Some("10.20.0.5".parse().expect("ip")),
            mac: Some("00:1a:01:00:00:09".parse().expect("mac")),
        }),
        proto: "telnet".into(),
        port: Some(23),
        first_seen: at(1_795_999_000_000_000),
        last_seen: at(1_796_000_000_123_456),
        count: 7,
        evidence: evidence(
            vec!["tcp 10.20.0.5 50000 10.20.1.17 23".into()],
            vec![fact("user", "admin"), fact("banner", "PCA;3 a=b \\ c")],
            "Telnet into pump PCA-3 | ward=4 from C:\\Users\\biomed\nsecond line\r\nthird\tcolumn",
        ),
        action: "Disable Telnet; use the vendor's TLS console".into(),
    };
    let internet = Alert {
        id: base + 2,
        kind: AlertKind::PumpToInternet,
        severity: Severity::High,
        status: AlertStatus::Acknowledged,
        asset_id: None,
        peer_asset_id: None,
        subject: Endpoint {
            ip: Some("fd00:20::17".parse().expect("ip")),
            mac: None,
        },
        peer: Some(Endpoint {
            ip: Some("2001:db8::66".parse().expect("ip")),
            mac: None,
        }),
        proto: "udp".into(),
        port: None,
        first_seen: at(1_796_000_100_000_000),
        last_seen: at(1_796_000_200_999_000),
        count: u64::MAX,
        evidence: evidence(
            Vec::new(),
            vec![fact("país", "Ελλάδα ✓"), fact("x=y", "")],
            "Pump ⚕ talked to 2001:db8::66 — ünïcödé 😀",
        ),
        action: String::new(),
    };
    let druglib = Alert {
        id: base + 3,
        kind: AlertKind::DruglibTransferFromUnknownHost,
        severity: Severity::Info,
        status: AlertStatus::Resolved,
        asset_id: Some("PUMP-0099".into()),
        peer_asset_id: None,
        subject: Endpoint {
            ip: None,
            mac: Some("58:42:e4:00:00:01".parse().expect("mac")),
        },
        peer: None,
        proto: String::new(),
        port: Some(65535),
        first_seen: at(1_796_000_000_000_000),
        last_seen: at(1_796_000_000_000_000),
        count: 1,
        // Sixteen flows and long facts: a message of a few kilobytes.
        evidence: evidence(
            (0..16)
                .map(|i| format!("tcp 10.20.0.{i} {} 10.20.1.99 8443", 40000 + i))
                .collect(),
            (0..8)
                .map(|i| fact(&format!("file{i}"), &"ä=\\;".repeat(40)))
                .collect(),
            "",
        ),
        action: "cs1=not a key \\= ok".into(),
    };
    vec![telnet, internet, druglib]
}

/// What an alert reads back as: times in whole milliseconds (CEF's resolution).
fn comparable(a: &Alert) -> Alert {
    let ms = |t: Timestamp| Timestamp::from_millisecond(t.as_millisecond()).expect("in range");
    let mut a = a.clone();
    a.first_seen = ms(a.first_seen);
    a.last_seen = ms(a.last_seen);
    a
}

fn options() -> SinkOptions {
    SinkOptions {
        hostname: HOSTNAME.into(),
        app_name: APP_NAME.into(),
        facility: Facility::Local4,
        ..SinkOptions::default()
    }
}

fn send_all(url: &str, options: &SinkOptions, alerts: &[Alert]) {
    let mut sink = SyslogSink::open(url, options).unwrap_or_else(|e| panic!("{e}"));
    for a in alerts {
        sink.send(a).unwrap_or_else(|e| panic!("{e}"));
    }
    sink.close().unwrap_or_else(|e| panic!("{e}"));
}

/// Each sent alert arrived once through `input`, rsyslog read our RFC 5424 header as we
/// meant it, and the CEF line parses back to the alert field for field.
fn check(records: &[Value], input: &str, sent: &[Alert]) {
    for a in sent {
        let id = a.id.to_string();
        let mine: Vec<&Value> = records
            .iter()
            .filter(|r| {
                r["msg"]
                    .as_str()
                    .and_then(|m| parse_cef(m).ok())
                    .is_some_and(|c| c.get("externalId") == Some(id.as_str()))
            })
            .collect();
        assert_eq!(mine.len(), 1, "alert {id} arrived {} times", mine.len());
        let r = mine[0];
        assert_eq!(r["input"], input, "{r}");
        let pri = u16::from(Facility::Local4.code()) * 8 + u16::from(syslog_severity(a.severity));
        assert_eq!(r["pri"], pri.to_string(), "{r}");
        assert_eq!(r["version"], "1");
        assert_eq!(
            r["timestamp"]
                .as_str()
                .and_then(|t| t.parse::<Timestamp>().ok()),
            Some(a.last_seen),
            "{r}"
        );
        assert_eq!(r["hostname"], HOSTNAME);
        assert_eq!(r["app"], APP_NAME);
        assert_eq!(r["procid"], "-");
        let msgid: String = a.kind.as_str().chars().take(32).collect();
        assert_eq!(r["msgid"], msgid);
        assert_eq!(
            r["sd"],
            format!("[origin software=\"pumpguard\" swVersion=\"{DEVICE_VERSION}\"]")
        );

        let msg = r["msg"].as_str().expect("msg");
        let cef = parse_cef(msg).unwrap_or_else(|e| panic!("{e}: {msg}"));
        assert_eq!(cef.version, 0);
        assert_eq!(
            (cef.device_vendor.as_str(), cef.device_product.as_str()),
            ("pumpguard", "pumpguard")
        );
        assert_eq!(cef.device_version, DEVICE_VERSION);
        assert_eq!(cef.signature_id, a.kind.as_str());
        assert_eq!(cef.name, a.evidence.sentence.replace(['\r', '\n'], " "));
        assert_eq!(cef.get("msg"), Some(a.evidence.sentence.as_str()));
        assert_eq!(cef.get("cat"), Some(a.kind.as_str()));
        assert_eq!(cef.get("rt"), cef.get("end"));
        let back = cef.to_alert().unwrap_or_else(|e| panic!("{e}: {msg}"));
        assert_eq!(back, comparable(a), "{msg}");
        match a.subject.ip {
            Some(IpAddr::V4(ip)) => assert_eq!(cef.get("dst"), Some(ip.to_string().as_str())),
            Some(IpAddr::V6(ip)) => assert_eq!(cef.get("c6a3"), Some(ip.to_string().as_str())),
            None => assert_eq!((cef.get("dst"), cef.get("c6a3")), (None, None)),
        }
    }
}

#[test]
fn udp_and_tcp_messages_parse_back_field_for_field() {
    if let Some(why) = missing(false) {
        eprintln!("skipped: {why}");
        return;
    }
    let rsyslog = Receiver::start(false);
    let (over_udp, over_tcp) = (alerts(100), alerts(200));
    send_all(
        &format!("udp://127.0.0.1:{}", rsyslog.udp),
        &options(),
        &over_udp,
    );
    send_all(
        &format!("tcp://127.0.0.1:{}", rsyslog.tcp),
        &options(),
        &over_tcp,
    );
    let records = rsyslog.wait_for_cef(over_udp.len() + over_tcp.len());
    check(&records, "imudp", &over_udp);
    check(&records, "imtcp", &over_tcp);
}

#[test]
fn tls_to_rsyslogs_openssl_driver_with_and_without_client_certificates() {
    if let Some(why) = missing(true) {
        eprintln!("skipped: {why}");
        return;
    }
    let rsyslog = Receiver::start(true);
    let pki = rsyslog.pki.as_ref().expect("pki");
    let trusting = SinkOptions {
        ca_file: Some(pki.ca.clone()),
        ..options()
    };
    let tls = format!("tls://127.0.0.1:{}", rsyslog.tls);
    let over_tls = alerts(300);
    send_all(&tls, &trusting, &over_tls);

    let with_certificate = SinkOptions {
        client_cert: Some(pki.client_cert.clone()),
        client_key: Some(pki.client_key.clone()),
        ..trusting.clone()
    };
    let over_mtls = alerts(400);
    send_all(
        &format!("tls://localhost:{}", rsyslog.mtls),
        &with_certificate,
        &over_mtls,
    );

    let records = rsyslog.wait_for_cef(over_tls.len() + over_mtls.len());
    check(&records, "imtcp", &over_tls);
    check(&records, "imtcp", &over_mtls);

    // A receiver whose certificate the given CA did not sign is refused at open.
    let distrusting = SinkOptions {
        ca_file: Some(pki.other_ca.clone()),
        ..options()
    };
    match SyslogSink::open(&tls, &distrusting) {
        Err(e @ SinkError::Tls { .. }) => {
            let text = e.to_string();
            assert!(
                text.starts_with(&format!("{tls}: TLS handshake: ")),
                "{text}"
            );
            assert!(text.contains("certificate"), "{text}");
        }
        other => panic!("expected a TLS error, got {other:?}"),
    }
}
