//! A real RADIUS server and supplicant for tests: Debian's `freeradius` 3.2 started on a
//! configuration directory (killed when dropped), and `eapol_test` (wpa_supplicant) doing
//! one 802.1X EAP-TLS authentication against it, with the RADIUS attributes of its
//! replies decoded from what it prints.

use std::fs::File;
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const FREERADIUS: &str = "/usr/sbin/freeradius";
pub const EAPOL_TEST: &str = "/usr/bin/eapol_test";

/// A UDP port free on 127.0.0.1 (just now).
pub fn free_port() -> u16 {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
    socket.local_addr().expect("address").port()
}

/// A running `freeradius`, killed when dropped (also when a test panics).
#[derive(Debug)]
pub struct Radius {
    child: Child,
    log: PathBuf,
}

impl Radius {
    /// Starts `freeradius -f -d raddb` (with `-x -l stdout` into a log file for the
    /// diagnostics) and waits until it is ready.
    pub fn start(raddb: &Path, log: PathBuf) -> Radius {
        let out = File::create(&log).expect("log");
        let child = Command::new(FREERADIUS)
            .arg("-f")
            .arg("-x")
            .args(["-l", "stdout", "-d"])
            .arg(raddb)
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("log"))
            .stderr(out)
            .spawn()
            .expect("freeradius is installed (.ci/run installs it)");
        let mut radius = Radius { child, log };
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if radius.log().contains("Ready to process requests") {
                return radius;
            }
            if let Some(status) = radius.child.try_wait().expect("wait") {
                panic!("freeradius exited ({status}):\n{}", radius.log());
            }
            assert!(
                Instant::now() < deadline,
                "freeradius did not get ready:\n{}",
                radius.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// What the server has logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Radius {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What `eapol_test` made of one authentication.
#[derive(Debug)]
pub struct Outcome {
    pub success: bool,
    pub output: String,
}

impl Outcome {
    /// The attributes of the last `code` (`Access-Accept`, `Access-Reject`) as
    /// `eapol_test` dumps them, number and value: `Attribute 81
    /// (Tunnel-Private-Group-Id) length=4` then `Value: 3330` (hex), or
    /// `Value: 'PUMP-0001'` for a text attribute it knows.
    pub fn attributes(&self, code: &str) -> Vec<(u8, Vec<u8>)> {
        let mut attrs = Vec::new();
        let mut in_reply = false;
        let mut lines = self.output.lines().map(str::trim).peekable();
        while let Some(line) = lines.next() {
            if line.starts_with("RADIUS message:") {
                in_reply = line.contains(&format!("({code})"));
                if in_reply {
                    attrs.clear();
                }
            } else if in_reply && let Some(rest) = line.strip_prefix("Attribute ") {
                let number: u8 = rest
                    .split_whitespace()
                    .next()
                    .and_then(|n| n.parse().ok())
                    .expect("attribute number");
                let value = lines
                    .next_if(|l| l.starts_with("Value:"))
                    .map(|l| decode(l.trim_start_matches("Value:").trim()))
                    .unwrap_or_default();
                attrs.push((number, value));
            }
        }
        attrs
    }

    /// Asserts an Access-Accept that puts the device in `vlan`: Tunnel-Type VLAN (13),
    /// Tunnel-Medium-Type IEEE-802 (6), Tunnel-Private-Group-Id the VLAN id.
    pub fn assert_accepted_into(&self, radius: &Radius, vlan: u16) {
        let attrs = self.attributes("Access-Accept");
        let has = |n: u8, v: &[u8]| attrs.iter().any(|(a, b)| *a == n && b == v);
        assert!(
            self.success
                && has(64, &[0, 0, 0, 13])
                && has(65, &[0, 0, 0, 6])
                && has(81, vlan.to_string().as_bytes()),
            "expected an Access-Accept into VLAN {vlan}:\n{}\n---- freeradius ----\n{}",
            self.output,
            radius.log()
        );
    }

    /// Asserts an Access-Reject with an EAP-Failure, nothing of an admission in it
    /// (no VLAN, no session keys), and `why` in the server's log.
    pub fn assert_rejected(&self, radius: &Radius, why: &str) {
        let log = radius.log();
        let attrs = self.attributes("Access-Reject");
        let failure = attrs.iter().any(|(n, v)| *n == 79 && v.first() == Some(&4));
        let admitted = attrs.iter().any(|(n, _)| matches!(n, 26 | 64 | 65 | 81));
        assert!(
            !self.success && failure && !admitted && log.contains(why),
            "expected an Access-Reject with EAP-Failure, and {why:?} in the log:\n{}\n---- freeradius ----\n{log}",
            self.output
        );
    }
}

/// An attribute value as `eapol_test` prints it: `'text'` or hex digits.
fn decode(printed: &str) -> Vec<u8> {
    if let Some(text) = printed
        .strip_prefix('\'')
        .and_then(|t| t.strip_suffix('\''))
    {
        return text.as_bytes().to_vec();
    }
    (0..printed.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&printed[i..i + 2], 16).expect("hex value"))
        .collect()
}

/// Where and how `eapol_test` authenticates.
#[derive(Debug, Clone, Copy)]
pub struct Supplicant<'a> {
    pub port: u16,
    pub secret: &'a str,
    /// The CA chain the server's certificate must verify against.
    pub chain: &'a Path,
    /// The name the server's certificate must carry.
    pub server_name: &'a str,
}

/// One EAP-TLS authentication by `eapol_test` as `identity` with `cert`/`key`, its
/// configuration written into `dir`.
pub fn authenticate(
    dir: &Path,
    s: &Supplicant<'_>,
    identity: &str,
    cert: &str,
    key: &str,
) -> Outcome {
    let conf = dir.join(format!("eapol-{identity}-{}.conf", s.port));
    std::fs::write(
        &conf,
        format!(
            r#"network={{
	key_mgmt=WPA-EAP
	eap=TLS
	identity="{identity}"
	ca_cert="{chain}"
	domain_match="{server}"
	client_cert="{cert}"
	private_key="{key}"
	eapol_flags=0
}}
"#,
            chain = s.chain.display(),
            server = s.server_name,
        ),
    )
    .expect("eapol_test configuration");
    let out = Command::new(EAPOL_TEST)
        .arg("-c")
        .arg(&conf)
        .args(["-a", "127.0.0.1", "-p", &s.port.to_string(), "-s", s.secret])
        .args(["-r", "0", "-t", "10"])
        .output()
        .expect("eapol_test is installed (.ci/run installs eapoltest)");
    let output = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let success = out.status.success() && output.trim_end().ends_with("SUCCESS");
    Outcome { success, output }
}
