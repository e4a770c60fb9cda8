//! A real NATS server for tests: Debian's `nats-server` with JetStream, on a free
//! loopback port with its own store directory, that a test can stop and start again
//! (the same port and store) and give an `authorization` block. Killed when dropped.
//! [`system_url`] names the machine's own NATS (127.0.0.1:4222), for the tests that use
//! it, through `PUMPGUARD_TEST_NATS`.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const NATS_SERVER: &str = "/usr/sbin/nats-server";
/// The environment variable that names the machine's NATS server for tests.
pub const NATS_ENV: &str = "PUMPGUARD_TEST_NATS";

/// `PUMPGUARD_TEST_NATS`, or `None` after printing why the test skips.
pub fn system_url(test: &str) -> Option<String> {
    match std::env::var(NATS_ENV) {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            eprintln!("skipping {test}: {NATS_ENV} is not set");
            None
        }
    }
}

/// A free TCP port on 127.0.0.1 (just now).
pub fn free_tcp_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("address").port()
}

/// A `nats-server -js` of the test's own.
#[derive(Debug)]
pub struct Nats {
    pub port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl Nats {
    /// Starts a server; `authorization` (a block `pumpguard sensors nats-config` wrote,
    /// say) is included in its configuration when given.
    pub fn start(authorization: Option<&Path>) -> Nats {
        let dir = tempfile::tempdir().expect("tempdir");
        let port = free_tcp_port();
        let mut conf = format!(
            "listen: 127.0.0.1:{port}\njetstream {{\n  store_dir: \"{}\"\n}}\n",
            dir.path().join("js").display()
        );
        if let Some(auth) = authorization {
            // nats-server reads an include relative to the including file.
            std::fs::copy(auth, dir.path().join("auth.conf")).expect("copy");
            conf.push_str("include \"auth.conf\"\n");
        }
        std::fs::write(dir.path().join("nats.conf"), conf).expect("config");
        let mut nats = Nats {
            port,
            dir,
            child: None,
        };
        nats.resume();
        nats
    }

    /// `nats://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    fn log(&self) -> PathBuf {
        self.dir.path().join("nats.log")
    }

    /// Starts the server again (after [`Nats::stop`]) and waits until it listens.
    pub fn resume(&mut self) {
        assert!(self.child.is_none(), "already running");
        let child = Command::new(NATS_SERVER)
            .arg("-c")
            .arg(self.dir.path().join("nats.conf"))
            .arg("-l")
            .arg(self.log())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(self.dir.path().join("nats.err")).expect("stderr file"))
            .spawn()
            .expect("nats-server is installed (.ci/run installs it)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok()
                && std::fs::read_to_string(self.log())
                    .unwrap_or_default()
                    .contains("Server is ready")
            {
                return;
            }
            if let Some(c) = self.child.as_mut()
                && let Some(status) = c.try_wait().expect("wait")
            {
                panic!(
                    "nats-server exited ({status}):\n{}{}",
                    std::fs::read_to_string(self.dir.path().join("nats.err")).unwrap_or_default(),
                    std::fs::read_to_string(self.log()).unwrap_or_default()
                );
            }
            assert!(Instant::now() < deadline, "nats-server did not get ready");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops the server (SIGKILL: as abrupt as a crash).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        self.stop();
    }
}
