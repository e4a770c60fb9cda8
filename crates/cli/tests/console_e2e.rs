//! The console end to end, as a new user meets it: `pumpguard demo` simulates, senses,
//! imports, matches and assesses a ward and serves the console; headless Chromium
//! (Debian's, driven by playwright-core from npm: `tests/e2e/console.mjs`) logs in
//! through the real login form, follows the navigation to every page, opens an asset
//! and an alert, acknowledges the alert with the form, and takes screenshots at 1280×800
//! and at tablet size. The screenshots are kept as test artifacts in
//! `target/e2e-screenshots/`.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const PASSWORD: &str = "e2e-admin-password-42";

/// The console's pages: the navigation link's text and where it leads, and words each
/// must show for this ward.
const PAGES: &[(&str, &str, &str, &[&str])] = &[
    (
        "Overview",
        "/",
        "Overview",
        &["Pumps", "Open alerts", "Risk"],
    ),
    ("Assets", "/assets", "Assets", &["infusion pump"]),
    (
        "Alerts",
        "/alerts",
        "Alerts",
        &["Telnet", "cleartext management to pump"],
    ),
    (
        "Vulnerabilities",
        "/vulnerabilities",
        "Vulnerabilities",
        &["CVE-"],
    ),
    (
        "Risk assessment",
        "/assessment",
        "Risk assessment",
        &["79 questions", "INV-01", "Risk register"],
    ),
    ("Policy", "/policy", "Policy", &["pumps"]),
    ("PKI", "/pki", "PKI", &[]),
    // The demo has no remote sensor: the page says how to add one.
    (
        "Sensors",
        "/sensors",
        "Sensors",
        &[
            "No remote sensor has been added",
            "pumpguard sensors add NAME",
            "pumpguard sensors nats-config",
            "--sensor-name NAME",
        ],
    ),
    (
        "Audit",
        "/audit",
        "Audit",
        &["The chain is intact", "auth.login", "vuln.import"],
    ),
];

fn e2e_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("e2e")
}

fn artifacts() -> PathBuf {
    // target/ beside the workspace (CARGO_TARGET_DIR when set).
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("..")
                .join("..")
                .join("target")
        });
    target.join("e2e-screenshots")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A running `pumpguard demo`, killed when dropped.
struct Demo(std::process::Child);

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_demo_console_works_in_chromium() {
    assert!(
        e2e_dir()
            .join("node_modules")
            .join("playwright-core")
            .exists(),
        "playwright-core is not installed: run `npm ci --prefix crates/cli/tests/e2e` (.ci/run does)"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("pumpguard"))
        .env_remove("PUMPGUARD_DB")
        .args([
            "demo",
            "--pumps",
            "12",
            "--seed",
            "5",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--admin-password",
            PASSWORD,
            "--dir",
        ])
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("pumpguard demo starts");
    let stderr = child.stderr.take().expect("stderr");
    let stdout = child.stdout.take().expect("stdout");
    let demo = Demo(child);
    let (tx, rx) = mpsc::channel();
    let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let keep = log.clone();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if line.contains("serving on") {
                let _ = tx.send(());
            }
            if let Ok(mut l) = keep.lock() {
                l.push_str(&line);
                l.push('\n');
            }
        }
    });
    let printed = std::thread::spawn(move || {
        let mut out = String::new();
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            out.push_str(&line);
            out.push('\n');
            if line.contains("password") {
                break;
            }
        }
        out
    });
    rx.recv_timeout(Duration::from_secs(180))
        .unwrap_or_else(|_| {
            panic!(
                "the demo did not start serving: {}",
                log.lock().map(|l| l.clone()).unwrap_or_default()
            )
        });
    let printed = printed.join().expect("stdout");
    let base = format!("http://127.0.0.1:{port}");
    assert!(
        printed.contains(&format!("{base}/")),
        "URL printed: {printed}"
    );
    assert!(
        printed.contains("admin") && printed.contains(PASSWORD),
        "{printed}"
    );

    let shots = artifacts();
    let _ = std::fs::remove_dir_all(&shots);
    let pages: Vec<serde_json::Value> = PAGES
        .iter()
        .map(|(nav, path, _, _)| serde_json::json!({ "nav": nav, "path": path }))
        .collect();
    let out = Command::new("node")
        .current_dir(e2e_dir())
        .arg("console.mjs")
        .args([&base, "admin", PASSWORD])
        .arg(&shots)
        .arg(serde_json::Value::Array(pages).to_string())
        .output()
        .expect("node runs");
    assert!(
        out.status.success(),
        "console.mjs failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    let result: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON result");

    // Login: anonymous lands on the form, a wrong password is said so, the right one
    // leads in with an HttpOnly, SameSite=Strict session cookie.
    let login = &result["login"];
    assert!(
        login["anonymous_url"]
            .as_str()
            .is_some_and(|u| u.contains("/login")),
        "{login}"
    );
    assert!(
        login["wrong_password_text"]
            .as_str()
            .is_some_and(|t| t.to_lowercase().contains("wrong")),
        "{login}"
    );
    assert!(
        !login["after_url"]
            .as_str()
            .unwrap_or("/login")
            .contains("/login"),
        "{login}"
    );
    assert!(
        login["problems"]
            .as_array()
            .is_some_and(|p| p.len() == 1 && p[0].as_str().is_some_and(|t| t.contains("401"))),
        "only the wrong password's 401: {login}"
    );
    let cookie = login["cookie"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["name"] == "pumpguard_session"))
        .unwrap_or_else(|| panic!("session cookie: {login}"));
    assert_eq!(cookie["httpOnly"], true);
    assert_eq!(cookie["sameSite"], "Strict");

    // Every page, reached through the navigation, with its heading and content.
    let visited = result["pages"].as_array().expect("pages");
    assert_eq!(visited.len(), PAGES.len());
    for (page, (nav, path, h1, words)) in visited.iter().zip(PAGES) {
        let url = page["url"].as_str().unwrap_or_default();
        assert!(
            url == format!("{base}{path}") || url.starts_with(&format!("{base}{path}?")),
            "{nav} leads to {path}: {url}"
        );
        assert!(
            page["h1"].as_str().is_some_and(|h| h.contains(h1)),
            "{nav}: h1 {}",
            page["h1"]
        );
        let main = page["main"].as_str().unwrap_or_default();
        for w in *words {
            assert!(main.contains(w), "{nav} shows '{w}': {main}");
        }
    }
    for (key, what) in [("asset", "asset detail"), ("alert", "alert detail")] {
        let d = &result["details"][key];
        assert!(
            d["h1"].as_str().is_some_and(|h| !h.is_empty()),
            "{what}: {d}"
        );
    }
    assert!(
        result["triage"]["after"]
            .as_str()
            .is_some_and(|t| t.to_lowercase().contains("acknowledged")),
        "acknowledging an alert in the browser: {}",
        result["triage"]
    );
    // No CSP violation, script error, failed request or server error on the way.
    assert_eq!(
        result["problems"],
        serde_json::json!([]),
        "{}",
        result["problems"]
    );
    // The keyboard reaches the page's controls.
    assert!(
        !result["keyboard_focus"].is_null(),
        "{}",
        result["keyboard_focus"]
    );
    // Tablet: no page scrolls sideways as a whole (wide tables scroll in their box).
    for t in result["tablet"].as_array().expect("tablet") {
        assert!(
            t["overflow"].as_i64().unwrap_or(1) <= 0,
            "tablet overflow: {t}"
        );
    }
    for name in ["login", "overview", "assets", "alerts", "tablet_overview"] {
        assert!(
            shots.join(format!("{name}.png")).exists(),
            "screenshot {name}.png in {}",
            shots.display()
        );
    }
    drop(demo);
}
