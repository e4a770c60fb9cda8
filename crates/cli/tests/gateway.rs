//! `pumpguard gateway` driven by python-hl7's `MLLPClient` (a real third-party HL7
//! client) against a stand-in pump server: in-limit orders reach the pump server and
//! the sender gets its reply; over-hard-limit, unknown-drug, unit-mismatch and
//! malformed orders get RRG^O16 with MSA AR/AE and an ERR, never reach the pump server,
//! and are audited and alerted; other messages pass unchanged. A library edited after
//! signing, or checked with another key, keeps the gateway from starting. Senders
//! without a certificate from `--client-ca` are refused at the TLS handshake.

mod common;

use std::io::{BufRead, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use common::*;

const LIBRARY: &str = "\
name: ICU Adult
version: 2026.11.1
care_area: ICU
entries:
  - drug: Dopamine
    code: \"1234\"
    dose_unit: ug/kg/min
    soft_min: 2
    soft_max: 20
    hard_min: 1
    hard_max: 25
  - drug: Heparin
    code: \"2001\"
    dose_unit: U/h
    soft_max: 1500
    hard_max: 2000
";

const UG_KG_MIN: &str = "265619^MDC_DIM_MICRO_G_PER_KG_PER_MIN^MDC^ug/kg/min^ug/kg/min^UCUM";
const MG_KG_H: &str = "^^^mg/kg/h^mg/kg/h^UCUM";
const ML_H: &str = "265266^MDC_DIM_MILLI_L_PER_HR^MDC^mL/h^mL/h^UCUM";

/// A PCD-03 order shaped like the simulator's.
fn order(id: &str, drug: &str, rate: &str, unit: &str) -> String {
    format!(
        "MSH|^~\\&|EHR_BCMA|HOSP|PUMPSRV|PHARM|20261129010000+0000||RGV^O15^RGV_O15|{id}|P|2.6|||AL|ER\r\
         PID|||HO0000001^^^HOSP^MR||Smith^Maria^^^^^L||19600101|F\r\
         ORC|NW|{id}|||||||20261129010000+0000\r\
         RXG|1|||{drug}|250||263762^MDC_DIM_MILLI_L^MDC^mL^mL^UCUM||||||||{rate}|{unit}\r\
         RXR|IV^Intravenous^HL70162\r\
         OBX|1||69986^MDC_DEV_PUMP_INFUS_VMD^MDC|1.0.0.0|||||||X|||||||9CC8AEFFFE000101^^9CC8AEFFFE000101^EUI-64\r"
    )
}

fn device_data(id: &str) -> String {
    format!(
        "MSH|^~\\&|PUMP|HOSP|EHR|HOSP|20261129010000+0000||ORU^R01^ORU_R01|{id}|P|2.6\r\
         PID|||HO0000001^^^HOSP^MR\r\
         OBR|1|||69837^MDC_DEV_PUMP_INFUS_MDS^MDC\r\
         OBX|1|NM|157784^MDC_FLOW_FLUID_PUMP^MDC|1.1.1.1|10|265266^MDC_DIM_MILLI_L_PER_HR^MDC|||||R\r"
    )
}

/// What the stand-in pump server received, message by message.
type Received = Arc<Mutex<Vec<Vec<u8>>>>;

/// A stand-in pump server: answers each MLLP message with an RRG^O16 AA (for orders)
/// or an ACK AA, and keeps what it got.
fn pump_server() -> (SocketAddr, Received) {
    pump_server_on(TcpListener::bind("127.0.0.1:0").expect("bind"))
}

fn pump_server_on(listener: TcpListener) -> (SocketAddr, Received) {
    let addr = listener.local_addr().expect("addr");
    let got: Received = Arc::new(Mutex::new(Vec::new()));
    let keep = got.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { break };
            let keep = keep.clone();
            std::thread::spawn(move || {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    let Ok(n) = conn.read(&mut chunk) else { return };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    while let Some(end) = buf.windows(2).position(|w| w == [0x1c, 0x0d]) {
                        let start = buf.iter().position(|b| *b == 0x0b).unwrap_or(0);
                        let msg = buf[start + 1..end].to_vec();
                        buf.drain(..end + 2);
                        let text = String::from_utf8_lossy(&msg).into_owned();
                        let id = text
                            .split('\r')
                            .next()
                            .and_then(|msh| msh.split('|').nth(9))
                            .unwrap_or("")
                            .to_owned();
                        let kind = if text.contains("|RGV^O15") {
                            "RRG^O16^RRG_O16"
                        } else {
                            "ACK^R01^ACK"
                        };
                        keep.lock().expect("lock").push(msg);
                        let reply = format!(
                            "\x0bMSH|^~\\&|PUMPSRV|PHARM|EHR_BCMA|HOSP|20261129010001+0000||{kind}|UP{id}|P|2.6\rMSA|AA|{id}\r\x1c\r"
                        );
                        if conn.write_all(reply.as_bytes()).is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    (addr, got)
}

/// A running `pumpguard gateway`, stopped with SIGTERM (or killed) when dropped.
struct Gateway {
    child: Child,
    addr: String,
    log: Arc<Mutex<String>>,
}

impl Gateway {
    fn start(db: &TestDb, args: &[&str]) -> Gateway {
        let mut child = Command::new(assert_cmd::cargo::cargo_bin("pumpguard"))
            .env_remove("PUMPGUARD_DB")
            .env("PUMPGUARD_ACTOR", "test:gateway")
            .args(["--db", &db.url, "gateway", "--listen", "127.0.0.1:0"])
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("gateway starts");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = std::sync::mpsc::channel();
        let log = Arc::new(Mutex::new(String::new()));
        let keep = log.clone();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                keep.lock().expect("lock").push_str(&format!("{line}\n"));
                if let Some(rest) = line.split("listening on ").nth(1) {
                    let addr = rest.split([' ', ',']).next().unwrap_or_default().to_owned();
                    let _ = tx.send(Some(addr));
                }
            }
            let _ = tx.send(None);
        });
        let addr = rx
            .recv_timeout(std::time::Duration::from_secs(60))
            .ok()
            .flatten()
            .expect("the gateway says where it listens");
        Gateway { child, addr, log }
    }

    /// Waits (up to 20 s) until the gateway has written `text` to stderr.
    fn wait_for(&self, text: &str) {
        for _ in 0..200 {
            if self.log.lock().expect("lock").contains(text) {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!(
            "the gateway never said {text:?}: {}",
            self.log.lock().expect("lock")
        );
    }

    fn hangup(&self) {
        let status = Command::new("kill")
            .args(["-HUP", &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
    }

    fn port(&self) -> &str {
        self.addr.rsplit(':').next().expect("port")
    }

    fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let status = self.child.wait().expect("wait");
        assert!(status.success(), "gateway exit {status}");
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends each message with python-hl7's MLLPClient and returns, per message, the
/// reply's MSH-9, MSA-1, MSA-2 and ERR segment as python-hl7 reads them.
fn python_send(port: &str, messages: &[String]) -> Vec<serde_json::Value> {
    let script = r#"
import json, sys
import hl7
from hl7.client import MLLPClient
port = int(sys.argv[1])
out = []
with MLLPClient("127.0.0.1", port) as client:
    for text in json.load(sys.stdin):
        raw = client.send_message(text)
        reply = hl7.parse(raw.decode("utf-8").strip("\x0b\x1c\r"))
        err = [str(s) for s in reply if str(s[0]) == "ERR"]
        out.append({"type": str(reply.segment("MSH")[9]),
                    "code": str(reply.segment("MSA")[1]),
                    "acks": str(reply.segment("MSA")[2]),
                    "err": err})
print(json.dumps(out))
"#;
    let mut child = Command::new("python3")
        .args(["-c", script, port])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(serde_json::to_string(messages).expect("json").as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("python finishes");
    assert!(
        out.status.success(),
        "python-hl7: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice::<Vec<serde_json::Value>>(&out.stdout).expect("replies")
}

fn druglib(args: &[&str]) {
    let out = Command::new(assert_cmd::cargo::cargo_bin("pumpguard"))
        .arg("druglib")
        .args(args)
        .output()
        .expect("runs");
    assert!(out.status.success(), "druglib {args:?}: {}", stderr(&out));
}

/// A key pair and the library signed with it: (signed, public key).
fn signed_library(dir: &Path) -> (String, String) {
    let key = dir.join("pharmacy.key");
    let lib = write(dir, "icu.yaml", LIBRARY);
    let signed = dir.join("icu.cose");
    druglib(&["keygen", "--out", key.to_str().expect("utf-8")]);
    druglib(&[
        "sign",
        "--key",
        key.to_str().expect("utf-8"),
        "--library",
        &lib,
        "--out",
        signed.to_str().expect("utf-8"),
    ]);
    (
        signed.display().to_string(),
        format!("{}.pub", key.display()),
    )
}

#[test]
fn orders_are_passed_or_blocked_as_the_signed_library_says() {
    let db = TestDb::sqlite();
    let dir = tempfile::tempdir().expect("tempdir");
    let (signed, pubkey) = signed_library(dir.path());
    let (upstream, received) = pump_server();
    let gw = Gateway::start(
        &db,
        &[
            "--upstream",
            &upstream.to_string(),
            "--drug-library",
            &signed,
            "--pubkey",
            &pubkey,
        ],
    );
    let messages = vec![
        order("100", "1234^Dopamine^LOCAL", "10", UG_KG_MIN),
        order("101", "1234^Dopamine^LOCAL", "22", UG_KG_MIN),
        order("102", "1234^Dopamine^LOCAL", "60", UG_KG_MIN),
        order("103", "9999^Unobtainium^LOCAL", "1", UG_KG_MIN),
        order("104", "1234^Dopamine^LOCAL", "0.6", MG_KG_H),
        order("105", "1234^Dopamine^LOCAL", "10", ML_H),
        order("106", "1234^Dopamine^LOCAL", "", UG_KG_MIN),
        order("107", "^Heparin", "2500", "^^^U/h^U/h^UCUM"),
        device_data("108"),
    ];
    let replies = python_send(gw.port(), &messages);
    assert_eq!(replies.len(), messages.len());
    let by_id = |id: &str| {
        replies
            .iter()
            .find(|r| r["acks"] == id)
            .unwrap_or_else(|| panic!("a reply to {id}: {replies:?}"))
    };
    // Forwarded: the pump server's own reply comes back.
    for id in ["100", "101", "104"] {
        let r = by_id(id);
        assert_eq!(r["code"], "AA", "{id}: {r}");
        assert_eq!(r["type"], "RRG^O16^RRG_O16", "{id}: {r}");
        assert!(r["err"].as_array().expect("err").is_empty(), "{r}");
    }
    assert_eq!(by_id("108")["type"], "ACK^R01^ACK", "passed through");
    // Blocked: answered by the gateway, with why.
    for (id, code, why) in [
        ("102", "AR", "25"),
        ("103", "AR", "Unobtainium"),
        ("105", "AR", "mL/h"),
        ("106", "AE", ""),
        ("107", "AR", "2000"),
    ] {
        let r = by_id(id);
        assert_eq!(r["code"], code, "{id}: {r}");
        assert_eq!(r["type"], "RRG^O16^RRG_O16", "{id}: {r}");
        let err = r["err"].as_array().expect("err");
        assert_eq!(err.len(), 1, "{id}: {r}");
        assert!(err[0].as_str().expect("text").contains(why), "{id}: {r}");
    }
    // The pump server got exactly the forwarded messages, byte for byte.
    let got: Vec<Vec<u8>> = received.lock().expect("lock").clone();
    let forwarded: Vec<Vec<u8>> = [0usize, 1, 4, 8]
        .iter()
        .map(|&i| messages[i].as_bytes().to_vec())
        .collect();
    assert_eq!(got, forwarded);
    gw.stop();

    // Each block is audited; blocks and the soft-limit order raised alerts.
    let trail = String::from_utf8_lossy(&ok(&db, &["audit", "export"]).stdout).into_owned();
    assert_eq!(trail.matches("\"gateway.block\"").count(), 5, "{trail}");
    assert!(trail.contains("\"gateway.start\""));
    ok(&db, &["audit", "verify"]);
    let alerts = stdout_json(&ok(&db, &["alerts", "list", "--format", "json"]));
    let kinds: Vec<(&str, u64)> = alerts
        .as_array()
        .expect("alerts")
        .iter()
        .map(|a| {
            (
                a["kind"].as_str().expect("kind"),
                a["count"].as_u64().expect("count"),
            )
        })
        .collect();
    assert!(kinds.contains(&("order_blocked", 5)), "{kinds:?}");
    assert!(kinds.contains(&("order_soft_limit", 1)), "{kinds:?}");
}

#[test]
fn a_library_changed_after_signing_or_another_key_keeps_it_from_starting() {
    let db = TestDb::sqlite();
    let dir = tempfile::tempdir().expect("tempdir");
    let (signed, pubkey) = signed_library(dir.path());
    let mut bytes = std::fs::read(&signed).expect("signed");
    let at = bytes
        .windows(12)
        .position(|w| w == b"hard_max: 25")
        .expect("the limit is in the envelope");
    bytes[at + 10] = b'9';
    let tampered = dir.path().join("tampered.cose");
    std::fs::write(&tampered, &bytes).expect("write");
    let other = dir.path().join("other.key");
    druglib(&["keygen", "--out", other.to_str().expect("utf-8")]);
    for (library, key) in [
        (tampered.to_str().expect("utf-8").to_owned(), pubkey.clone()),
        (signed.clone(), format!("{}.pub", other.display())),
    ] {
        let out = run(
            &db,
            &[
                "gateway",
                "--listen",
                "127.0.0.1:0",
                "--upstream",
                "127.0.0.1:9",
                "--drug-library",
                &library,
                "--pubkey",
                &key,
            ],
        );
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(
            stderr(&out).contains("signature does not verify"),
            "{}",
            stderr(&out)
        );
    }
}

#[test]
fn an_unreachable_pump_server_means_ae_not_delivered() {
    let db = TestDb::sqlite();
    let dir = tempfile::tempdir().expect("tempdir");
    let (signed, pubkey) = signed_library(dir.path());
    // A port nothing listens on.
    let closed = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = closed.local_addr().expect("addr");
    drop(closed);
    let gw = Gateway::start(
        &db,
        &[
            "--upstream",
            &addr.to_string(),
            "--drug-library",
            &signed,
            "--pubkey",
            &pubkey,
        ],
    );
    let replies = python_send(
        gw.port(),
        &[order("200", "1234^Dopamine^LOCAL", "10", UG_KG_MIN)],
    );
    assert_eq!(replies[0]["code"], "AE", "{replies:?}");
    assert!(
        replies[0]["err"][0]
            .as_str()
            .expect("err")
            .contains("not delivered"),
        "{replies:?}"
    );
    gw.stop();
    let alerts = stdout_json(&ok(
        &db,
        &[
            "alerts",
            "list",
            "--kind",
            "gateway_upstream_down",
            "--format",
            "json",
        ],
    ));
    assert_eq!(alerts.as_array().expect("alerts").len(), 1);
}

fn openssl(args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA and leaf certificates signed by it, by openssl (P-256): `leaves` are (file
/// name, common name, one extension line; webpki takes v3 certificates only, so each
/// leaf needs one). Writes NAME.key and NAME.pem into `d`; returns the CA's file.
fn openssl_pki(d: &Path, ca_cn: &str, leaves: &[(&str, &str, &str)]) -> String {
    let p = |n: &str| d.join(n).display().to_string();
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    let (ca, cakey) = (p("ca.pem"), p("ca.key"));
    let subj = format!("/CN={ca_cn}");
    let mut a = vec!["req", "-x509"];
    a.extend(ec);
    a.extend([
        "-keyout", &cakey, "-out", &ca, "-subj", &subj, "-days", "30",
    ]);
    openssl(&a);
    for (name, cn, extension) in leaves {
        let (key, csr, cert) = (
            p(&format!("{name}.key")),
            p(&format!("{name}.csr")),
            p(&format!("{name}.pem")),
        );
        let ext = write(d, &format!("{name}.ext"), &format!("{extension}\n"));
        let subj = format!("/CN={cn}");
        let mut a = vec!["req", "-new"];
        a.extend(ec);
        a.extend(["-keyout", &key, "-out", &csr, "-subj", &subj]);
        openssl(&a);
        openssl(&[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            &ca,
            "-CAkey",
            &cakey,
            "-CAcreateserial",
            "-out",
            &cert,
            "-days",
            "30",
            "-extfile",
            &ext,
        ]);
    }
    ca
}

#[test]
fn senders_without_a_client_certificate_are_refused_at_the_handshake() {
    let db = TestDb::sqlite();
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let p = |n: &str| d.join(n).display().to_string();
    let (signed, pubkey) = signed_library(d);
    // A CA, the gateway's certificate and an EHR's client certificate, by openssl.
    let ca = openssl_pki(
        d,
        "Interface CA",
        &[
            (
                "gw",
                "localhost",
                "subjectAltName = DNS:localhost, IP:127.0.0.1",
            ),
            ("ehr", "EHR-1", "extendedKeyUsage = clientAuth"),
        ],
    );
    let (upstream, received) = pump_server();
    let gw = Gateway::start(
        &db,
        &[
            "--upstream",
            &upstream.to_string(),
            "--drug-library",
            &signed,
            "--pubkey",
            &pubkey,
            "--tls-cert",
            &p("gw.pem"),
            "--tls-key",
            &p("gw.key"),
            "--client-ca",
            &ca,
        ],
    );
    // python's ssl, as an interface engine would use it: with the EHR's certificate
    // the order goes through; without one the handshake fails.
    let script = r#"
import socket, ssl, sys
port, ca, cert, key, msg = sys.argv[1:6]
ctx = ssl.create_default_context(cafile=ca)
if cert:
    ctx.load_cert_chain(cert, key)
try:
    with socket.create_connection(("127.0.0.1", int(port))) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as s:
            s.sendall(b"\x0b" + msg.encode() + b"\x1c\r")
            data = b""
            while not data.endswith(b"\x1c\r"):
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
            print("REPLY" if data else "CLOSED", data.decode(errors="replace"))
except (ssl.SSLError, ConnectionResetError, BrokenPipeError) as e:
    print("REFUSED", e)
"#;
    let msg = order("300", "1234^Dopamine^LOCAL", "10", UG_KG_MIN);
    let send = |cert: &str, key: &str| {
        let out = Command::new("python3")
            .args(["-c", script, gw.port(), &ca, cert, key, &msg])
            .output()
            .expect("python3");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let with = send(&p("ehr.pem"), &p("ehr.key"));
    assert!(
        with.starts_with("REPLY") && with.contains("MSA|AA|300"),
        "{with}"
    );
    let without = send("", "");
    assert!(
        !without.contains("MSA|"),
        "no reply without a certificate: {without}"
    );
    assert_eq!(
        received.lock().expect("lock").len(),
        1,
        "only the authenticated order"
    );
    gw.stop();
    let alerts = stdout_json(&ok(
        &db,
        &[
            "alerts",
            "list",
            "--kind",
            "gateway_client_refused",
            "--format",
            "json",
        ],
    ));
    assert_eq!(alerts.as_array().expect("alerts").len(), 1, "{alerts}");
}

#[test]
fn fail_open_holds_checked_orders_until_the_pump_server_is_back() {
    let db = TestDb::sqlite();
    let dir = tempfile::tempdir().expect("tempdir");
    let (signed, pubkey) = signed_library(dir.path());
    // The pump server's port, free for now.
    let reserved = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = reserved.local_addr().expect("addr");
    drop(reserved);
    let gw = Gateway::start(
        &db,
        &[
            "--upstream",
            &addr.to_string(),
            "--drug-library",
            &signed,
            "--pubkey",
            &pubkey,
            "--fail-open-on-upstream-down",
            "--hold-seconds",
            "20",
        ],
    );
    let port = gw.port().to_owned();
    // An order over the hard limit is refused at once: fail-open never skips the check.
    let blocked = python_send(
        &port,
        &[order("400", "1234^Dopamine^LOCAL", "60", UG_KG_MIN)],
    );
    assert_eq!(blocked[0]["code"], "AR", "{blocked:?}");
    let held = std::thread::spawn(move || {
        python_send(
            &port,
            &[order("401", "1234^Dopamine^LOCAL", "10", UG_KG_MIN)],
        )
    });
    gw.wait_for("holding");
    // The pump server comes back: the held order is delivered and its reply relayed.
    let (_, received) = pump_server_on(TcpListener::bind(addr).expect("the same port"));
    let replies = held.join().expect("sender");
    assert_eq!(replies[0]["code"], "AA", "{replies:?}");
    assert_eq!(replies[0]["acks"], "401");
    assert_eq!(received.lock().expect("lock").len(), 1);
    gw.stop();
    let alerts = stdout_json(&ok(
        &db,
        &[
            "alerts",
            "list",
            "--kind",
            "gateway_upstream_down",
            "--format",
            "json",
        ],
    ));
    let alert = &alerts[0];
    assert_eq!(alert["severity"], "critical", "{alert}");
    assert!(alert.to_string().contains("fail-open"), "{alert}");
    let trail = String::from_utf8_lossy(&ok(&db, &["audit", "export"]).stdout).into_owned();
    assert!(trail.contains("\"gateway.hold\""));
}

#[test]
fn sighup_reloads_a_verified_library_and_keeps_the_old_one_otherwise() {
    let db = TestDb::sqlite();
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let (signed, pubkey) = signed_library(d);
    let (upstream, received) = pump_server();
    let gw = Gateway::start(
        &db,
        &[
            "--upstream",
            &upstream.to_string(),
            "--drug-library",
            &signed,
            "--pubkey",
            &pubkey,
        ],
    );
    let thirty = |id: &str| order(id, "1234^Dopamine^LOCAL", "30", UG_KG_MIN);
    assert_eq!(python_send(gw.port(), &[thirty("500")])[0]["code"], "AR");
    // The pharmacy raises the hard maximum to 50 and signs the new library in place.
    let lib = write(
        d,
        "icu-v2.yaml",
        &LIBRARY.replace("hard_max: 25", "hard_max: 50"),
    );
    druglib(&[
        "sign",
        "--key",
        d.join("pharmacy.key").to_str().expect("utf-8"),
        "--library",
        &lib,
        "--out",
        &signed,
    ]);
    gw.hangup();
    gw.wait_for("reloaded");
    assert_eq!(python_send(gw.port(), &[thirty("501")])[0]["code"], "AA");
    // A tampered file is refused on reload; the library in force stays.
    let mut bytes = std::fs::read(&signed).expect("signed");
    let at = bytes
        .windows(12)
        .position(|w| w == b"hard_max: 50")
        .expect("limit");
    bytes[at + 10] = b'9';
    std::fs::write(&signed, &bytes).expect("write");
    gw.hangup();
    gw.wait_for("reload refused");
    assert_eq!(python_send(gw.port(), &[thirty("502")])[0]["code"], "AA");
    assert_eq!(received.lock().expect("lock").len(), 2);
    gw.stop();
    let trail = String::from_utf8_lossy(&ok(&db, &["audit", "export"]).stdout).into_owned();
    assert_eq!(trail.matches("\"gateway.reload\"").count(), 1);
}

/// A stand-in pump server speaking MLLP over TLS that requires a client certificate
/// from `ca` (python's ssl): prints its port, then one line per refused handshake.
const TLS_PUMP_SERVER: &str = r#"
import socket, ssl, sys
ca, cert, key = sys.argv[1:4]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
ctx.load_verify_locations(ca)
ctx.verify_mode = ssl.CERT_REQUIRED
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen()
print(srv.getsockname()[1], flush=True)
while True:
    raw, _ = srv.accept()
    try:
        s = ctx.wrap_socket(raw, server_side=True)
    except (ssl.SSLError, OSError) as e:
        print("REFUSED", e, flush=True)
        raw.close()
        continue
    peer = s.getpeercert()["subject"]
    data = b""
    while True:
        try:
            chunk = s.recv(65536)
        except (ssl.SSLError, OSError):
            break
        if not chunk:
            break
        data += chunk
        while b"\x1c\r" in data:
            msg, data = data.split(b"\x1c\r", 1)
            cid = msg.lstrip(b"\x0b").split(b"\r")[0].split(b"|")[9]
            s.sendall(b"\x0bMSH|^~\\&|PUMPSRV|PHARM|EHR|HOSP|20261129010001||RRG^O16^RRG_O16|U" + cid + b"|P|2.6\rMSA|AA|" + cid + b"\r\x1c\r")
    s.close()
"#;

#[test]
fn orders_reach_a_tls_pump_server_with_the_gateways_own_certificate() {
    let db = TestDb::sqlite();
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let p = |n: &str| d.join(n).display().to_string();
    let (signed, pubkey) = signed_library(d);
    let ca = openssl_pki(
        d,
        "Pump Server CA",
        &[
            ("srv", "localhost", "subjectAltName = DNS:localhost"),
            ("gwc", "pumpguard-gateway", "extendedKeyUsage = clientAuth"),
        ],
    );
    let mut server = Command::new("python3")
        .args(["-c", TLS_PUMP_SERVER, &ca, &p("srv.pem"), &p("srv.key")])
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3");
    let mut lines = std::io::BufReader::new(server.stdout.take().expect("stdout")).lines();
    let port = lines.next().expect("a port").expect("a line");
    let upstream = format!("localhost:{port}");
    // With the gateway's certificate: delivered, the pump server's reply relayed.
    let gw = Gateway::start(
        &db,
        &[
            "--upstream",
            &upstream,
            "--drug-library",
            &signed,
            "--pubkey",
            &pubkey,
            "--upstream-ca",
            &ca,
            "--upstream-cert",
            &p("gwc.pem"),
            "--upstream-key",
            &p("gwc.key"),
        ],
    );
    let replies = python_send(
        gw.port(),
        &[order("600", "1234^Dopamine^LOCAL", "10", UG_KG_MIN)],
    );
    assert_eq!(replies[0]["code"], "AA", "{replies:?}");
    assert_eq!(replies[0]["acks"], "600");
    gw.stop();
    // Without it the pump server refuses the handshake: not delivered.
    let gw = Gateway::start(
        &db,
        &[
            "--upstream",
            &upstream,
            "--drug-library",
            &signed,
            "--pubkey",
            &pubkey,
            "--upstream-ca",
            &ca,
        ],
    );
    let replies = python_send(
        gw.port(),
        &[order("601", "1234^Dopamine^LOCAL", "10", UG_KG_MIN)],
    );
    assert_eq!(replies[0]["code"], "AE", "{replies:?}");
    let refused = lines.next().expect("a line").expect("text");
    assert!(refused.starts_with("REFUSED"), "{refused}");
    gw.stop();
    let _ = server.kill();
    let _ = server.wait();
}
