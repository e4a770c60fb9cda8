//! Sending alerts to a syslog receiver named by a URL: `udp://HOST:PORT` (RFC 5426),
//! `tcp://HOST:PORT` (RFC 6587 octet counting) or `tls://HOST:PORT` (RFC 5425, rustls).
//!
//! Ours rather than fasyslog's senders, which DESIGN.md proposed: fasyslog frames TCP and
//! TLS with a trailer (RFC 6587 non-transparent framing) where RFC 5425 requires octet
//! counting; it owns its sockets without connect or write timeouts, so a stalled SIEM
//! would stall the sensor; and its formatter stamps the current time, where we stamp the
//! alert's. What is left over its sockets is a few lines.
//!
//! A stream that fails is reconnected once and the message sent again; if that fails too
//! the error is returned and the next send tries again. Nothing is ever sent anywhere but
//! the addresses the URL's host resolves to.

use std::io::{self, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs, UdpSocket};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use pumpguard_model::Alert;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};

use crate::syslog::{Facility, rfc5424};

/// How a [`SyslogSink`] names itself and trusts the receiver.
#[derive(Debug, Clone)]
pub struct SinkOptions {
    /// RFC 5424 HOSTNAME. Defaults to this machine's host name (`-` when unknown).
    pub hostname: String,
    /// RFC 5424 APP-NAME. Defaults to `pumpguard`.
    pub app_name: String,
    /// Defaults to `auth`.
    pub facility: Facility,
    /// PEM file of the CA certificates that may sign a `tls://` receiver's certificate.
    /// Without it, the system's trust store is used.
    pub ca_file: Option<PathBuf>,
    /// PEM certificate chain (with [`client_key`](Self::client_key)) for receivers that
    /// authenticate their senders (RFC 5425 §5.2).
    pub client_cert: Option<PathBuf>,
    /// PEM private key of `client_cert`.
    pub client_key: Option<PathBuf>,
    /// For connecting, the TLS handshake and each write. Defaults to 10 seconds.
    pub timeout: Duration,
}

impl Default for SinkOptions {
    fn default() -> Self {
        SinkOptions {
            hostname: local_hostname().unwrap_or_else(|| "-".into()),
            app_name: "pumpguard".into(),
            facility: Facility::default(),
            ca_file: None,
            client_cert: None,
            client_key: None,
            timeout: Duration::from_secs(10),
        }
    }
}

fn local_hostname() -> Option<String> {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").ok()?;
    let name = name.trim();
    (!name.is_empty()).then(|| name.to_owned())
}

/// Why a syslog destination could not be opened or written; each names the URL.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    #[error("syslog URL '{url}': {why}")]
    Url { url: String, why: String },
    #[error("{url}: {why}")]
    Tls { url: String, why: String },
    #[error("{url}: cannot connect: {source}")]
    Connect { url: String, source: io::Error },
    #[error("{url}: cannot send: {source}")]
    Send { url: String, source: io::Error },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transport {
    Udp,
    Tcp,
    Tls,
}

enum Link {
    Udp(UdpSocket),
    Tcp(TcpStream),
    Tls(Box<StreamOwned<ClientConnection, TcpStream>>),
}

/// An open syslog destination that alerts are sent to, one RFC 5424 message each (see
/// [`rfc5424`]).
pub struct SyslogSink {
    url: String,
    transport: Transport,
    addrs: Vec<SocketAddr>,
    tls: Option<(Arc<ClientConfig>, ServerName<'static>)>,
    link: Option<Link>,
    options: SinkOptions,
}

impl std::fmt::Debug for SyslogSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyslogSink")
            .field("url", &self.url)
            .field("connected", &self.link.is_some())
            .finish_non_exhaustive()
    }
}

impl SyslogSink {
    /// Resolves the URL's host and connects (for `tls://`, completes the handshake, so
    /// a certificate the CA does not vouch for fails here). Ports default to 514 for
    /// `udp` and `tcp`, 6514 for `tls`.
    pub fn open(url: &str, options: &SinkOptions) -> Result<SyslogSink, SinkError> {
        let bad = |why: &str| SinkError::Url {
            url: url.to_owned(),
            why: why.to_owned(),
        };
        let (transport, host, port) = parse_url(url).map_err(bad)?;
        let addrs: Vec<SocketAddr> = (host.as_str(), port)
            .to_socket_addrs()
            .map_err(|e| bad(&format!("cannot resolve '{host}': {e}")))?
            .collect();
        if addrs.is_empty() {
            return Err(bad(&format!("'{host}' resolves to no address")));
        }
        let tls = match transport {
            Transport::Tls => {
                let name = ServerName::try_from(host.clone())
                    .map_err(|e| bad(&format!("'{host}' is no TLS server name: {e}")))?;
                let config = tls_config(options).map_err(|why| SinkError::Tls {
                    url: url.to_owned(),
                    why,
                })?;
                Some((config, name))
            }
            _ => None,
        };
        let mut sink = SyslogSink {
            url: url.to_owned(),
            transport,
            addrs,
            tls,
            link: None,
            options: options.clone(),
        };
        sink.link = Some(sink.connect()?);
        Ok(sink)
    }

    /// The URL this sink sends to.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Sends one alert.
    pub fn send(&mut self, alert: &Alert) -> Result<(), SinkError> {
        let o = &self.options;
        let message = rfc5424(alert, &o.hostname, &o.app_name, o.facility);
        self.send_message(&message)
    }

    /// Sends one already formatted syslog message, framed for the transport.
    pub fn send_message(&mut self, message: &str) -> Result<(), SinkError> {
        let frame = match self.transport {
            Transport::Udp => message.as_bytes().to_vec(),
            // RFC 6587 §3.4.1 and RFC 5425 §4.3: MSG-LEN SP SYSLOG-MSG.
            Transport::Tcp | Transport::Tls => format!("{} {message}", message.len()).into_bytes(),
        };
        if let Some(link) = self.link.take() {
            match self.write(link, &frame) {
                Ok(()) => return Ok(()),
                Err(e) if self.transport == Transport::Udp => return Err(e),
                // A stream the receiver closed: once more on a new connection.
                Err(_) => {}
            }
        }
        // Also where an earlier failure left no connection.
        let link = self.connect()?;
        self.write(link, &frame)
    }

    /// Ends the connection cleanly (TLS close_notify), reporting a failure to do so.
    pub fn close(mut self) -> Result<(), SinkError> {
        let result = match self.link.take() {
            Some(Link::Tls(mut s)) => {
                s.conn.send_close_notify();
                s.flush()
            }
            Some(Link::Tcp(mut s)) => s.flush(),
            Some(Link::Udp(_)) | None => Ok(()),
        };
        result.map_err(|source| SinkError::Send {
            url: self.url.clone(),
            source,
        })
    }

    /// Writes a frame; on success the link is kept for the next message.
    fn write(&mut self, mut link: Link, frame: &[u8]) -> Result<(), SinkError> {
        let result = match &mut link {
            Link::Udp(s) => s.send(frame).and_then(|n| {
                if n == frame.len() {
                    Ok(())
                } else {
                    Err(io::Error::other(format!(
                        "sent {n} of {} bytes",
                        frame.len()
                    )))
                }
            }),
            Link::Tcp(s) => s.write_all(frame).and_then(|()| s.flush()),
            Link::Tls(s) => s.write_all(frame).and_then(|()| s.flush()),
        };
        match result {
            Ok(()) => {
                self.link = Some(link);
                Ok(())
            }
            Err(source) => Err(SinkError::Send {
                url: self.url.clone(),
                source,
            }),
        }
    }

    fn connect(&self) -> Result<Link, SinkError> {
        let err = |source| SinkError::Connect {
            url: self.url.clone(),
            source,
        };
        if self.transport == Transport::Udp {
            return self.connect_udp().map(Link::Udp).map_err(err);
        }
        let tcp = self.connect_tcp().map_err(err)?;
        let Some((config, name)) = &self.tls else {
            return Ok(Link::Tcp(tcp));
        };
        let mut conn =
            ClientConnection::new(config.clone(), name.clone()).map_err(|e| SinkError::Tls {
                url: self.url.clone(),
                why: format!("TLS: {e}"),
            })?;
        let mut tcp = tcp;
        while conn.is_handshaking() {
            conn.complete_io(&mut tcp).map_err(|e| SinkError::Tls {
                url: self.url.clone(),
                why: format!("TLS handshake: {e}"),
            })?;
        }
        Ok(Link::Tls(Box::new(StreamOwned::new(conn, tcp))))
    }

    fn connect_udp(&self) -> io::Result<UdpSocket> {
        let mut last = None;
        for addr in &self.addrs {
            let local: SocketAddr = if addr.is_ipv4() {
                ([0, 0, 0, 0], 0).into()
            } else {
                ([0u16; 8], 0).into()
            };
            match UdpSocket::bind(local).and_then(|s| s.connect(addr).map(|()| s)) {
                Ok(s) => return Ok(s),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| io::ErrorKind::AddrNotAvailable.into()))
    }

    fn connect_tcp(&self) -> io::Result<TcpStream> {
        let timeout = self.options.timeout;
        let mut last = None;
        for addr in &self.addrs {
            match TcpStream::connect_timeout(addr, timeout) {
                Ok(s) => {
                    s.set_nodelay(true)?;
                    s.set_write_timeout(Some(timeout))?;
                    // Only the TLS handshake reads.
                    s.set_read_timeout(Some(timeout))?;
                    return Ok(s);
                }
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| io::ErrorKind::AddrNotAvailable.into()))
    }
}

/// `scheme://host[:port]`, the host a name, an IPv4 address or a bracketed IPv6 one.
fn parse_url(url: &str) -> Result<(Transport, String, u16), &'static str> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or("expected udp://HOST:PORT, tcp://HOST:PORT or tls://HOST:PORT")?;
    let (transport, default_port) = match scheme.to_ascii_lowercase().as_str() {
        "udp" => (Transport::Udp, 514),
        "tcp" => (Transport::Tcp, 514),
        "tls" => (Transport::Tls, 6514),
        _ => return Err("the scheme must be udp, tcp or tls"),
    };
    if rest.contains(['/', '?', '#', '@']) {
        return Err("only HOST:PORT may follow the scheme");
    }
    let (host, port) = if let Some(v6) = rest.strip_prefix('[') {
        let (host, after) = v6.split_once(']').ok_or("unclosed '[' in the host")?;
        match after {
            "" => (host, None),
            _ => (
                host,
                Some(after.strip_prefix(':').ok_or("expected ':' after ']'")?),
            ),
        }
    } else {
        match rest.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (rest, None),
        }
    };
    if host.is_empty() {
        return Err("no host");
    }
    let port = match port {
        Some(p) => match p.parse::<u16>() {
            Ok(p) if p > 0 => p,
            _ => return Err("the port must be a number from 1 to 65535"),
        },
        None => default_port,
    };
    Ok((transport, host.to_owned(), port))
}

fn tls_config(options: &SinkOptions) -> Result<Arc<ClientConfig>, String> {
    let provider = rustls::crypto::CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::aws_lc_rs::default_provider()));
    let mut roots = RootCertStore::empty();
    match &options.ca_file {
        Some(path) => {
            for cert in certificates(path)? {
                roots
                    .add(cert)
                    .map_err(|e| format!("CA file {}: {e}", path.display()))?;
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            roots.add_parsable_certificates(found.certs);
            if roots.is_empty() {
                return Err("no CA certificate in the system trust store: give a CA file".into());
            }
        }
    }
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_root_certificates(roots);
    let config = match (&options.client_cert, &options.client_key) {
        (Some(cert), Some(key)) => {
            let chain = certificates(cert)?;
            let key = PrivateKeyDer::from_pem_file(key)
                .map_err(|e| format!("client key {}: {e}", key.display()))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| format!("client certificate {}: {e}", cert.display()))?
        }
        (None, None) => builder.with_no_client_auth(),
        _ => return Err("a client certificate needs its key, and a key its certificate".into()),
    };
    Ok(Arc::new(config))
}

/// Every certificate of a PEM file; none is an error.
fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let what = |e: &dyn std::fmt::Display| format!("certificate file {}: {e}", path.display());
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| what(&e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| what(&e))?;
    if certs.is_empty() {
        return Err(what(&"no PEM certificate in it"));
    }
    Ok(certs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader};
    use std::net::TcpListener;

    use crate::parse_cef;
    use crate::test_alerts::alert;

    #[test]
    fn urls() {
        let ok = |u: &str| parse_url(u).expect(u);
        assert_eq!(
            ok("udp://127.0.0.1:5514"),
            (Transport::Udp, "127.0.0.1".into(), 5514)
        );
        assert_eq!(
            ok("tcp://siem.example"),
            (Transport::Tcp, "siem.example".into(), 514)
        );
        assert_eq!(ok("TLS://[::1]"), (Transport::Tls, "::1".into(), 6514));
        assert_eq!(ok("tls://[::1]:7000"), (Transport::Tls, "::1".into(), 7000));
        for bad in [
            "127.0.0.1:514",
            "http://x:1",
            "udp://",
            "udp://:514",
            "udp://x:0",
            "udp://x:99999",
            "udp://x:514/path",
            "udp://u@x:514",
            "udp://[::1",
            "udp://[::1]514",
        ] {
            assert!(parse_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn errors_are_one_line_naming_the_url() {
        let e =
            SyslogSink::open("smtp://127.0.0.1:25", &SinkOptions::default()).expect_err("refused");
        assert_eq!(
            e.to_string(),
            "syslog URL 'smtp://127.0.0.1:25': the scheme must be udp, tcp or tls"
        );
        // A port nothing listens on: bind one, then free it.
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let url = format!("tcp://127.0.0.1:{port}");
        let e = SyslogSink::open(&url, &SinkOptions::default()).expect_err("refused");
        let text = e.to_string();
        assert!(
            text.starts_with(&format!("{url}: cannot connect: ")),
            "{text}"
        );
        assert!(!text.contains('\n'));

        let options = SinkOptions {
            ca_file: Some("/nonexistent/ca.pem".into()),
            ..SinkOptions::default()
        };
        let url = format!("tls://127.0.0.1:{port}");
        let e = SyslogSink::open(&url, &options).expect_err("no CA file");
        assert!(
            e.to_string()
                .starts_with(&format!("{url}: certificate file /nonexistent/ca.pem: ")),
            "{e}"
        );
    }

    /// Octet counting, checked against our own reading of RFC 6587; rsyslog checks it
    /// too in `tests/rsyslog.rs`.
    #[test]
    fn tcp_frames_count_octets_and_reconnect_after_a_close() {
        fn read_frame(r: &mut impl BufRead) -> Option<String> {
            let mut len = Vec::new();
            r.read_until(b' ', &mut len).expect("length");
            let digits = std::str::from_utf8(len.strip_suffix(b" ")?).expect("digits");
            let mut msg = vec![0; digits.parse().expect("a number")];
            r.read_exact(&mut msg).expect("message");
            Some(String::from_utf8(msg).expect("UTF-8"))
        }
        let listener = TcpListener::bind("127.0.0.1:0").expect("listens");
        let url = format!("tcp://{}", listener.local_addr().expect("address"));
        let reconnected = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let receiver = std::thread::spawn({
            let reconnected = reconnected.clone();
            move || {
                // The first connection: one frame, then closed by the receiver.
                let (first, _) = listener.accept().expect("accepts");
                let mut frames = vec![read_frame(&mut BufReader::new(first)).expect("frame")];
                // The second: frames until the sink closes it.
                let (second, _) = listener.accept().expect("accepts again");
                reconnected.store(true, std::sync::atomic::Ordering::SeqCst);
                let mut r = BufReader::new(second);
                frames.extend(std::iter::from_fn(|| read_frame(&mut r)));
                frames
            }
        });
        let mut sink = SyslogSink::open(&url, &SinkOptions::default()).expect("opens");
        let a = alert();
        sink.send(&a).expect("first");
        // Writes into the closed connection fail sooner or later; the sink reconnects.
        for _ in 0..100 {
            if reconnected.load(std::sync::atomic::Ordering::SeqCst) {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
            sink.send(&a).expect("sends or reconnects");
        }
        sink.send(&a).expect("on the new connection");
        sink.close().expect("closes");
        let frames = receiver.join().expect("receiver");
        assert!(frames.len() >= 2, "{frames:?}");
        for f in &frames {
            let cef_at = f.find("CEF:").expect("CEF in MSG");
            assert_eq!(parse_cef(&f[cef_at..]), parse_cef(&crate::cef(&a)));
        }
    }
}
