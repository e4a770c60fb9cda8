//! FTP control channel (RFC 959, EPSV/EPRT RFC 2428): the server banner, each command
//! (file names of transfers, logins — a password only as "given"), reply codes, and the
//! data-connection addresses that PASV/PORT/EPSV/EPRT announce, so the sensor can label
//! the data flow `ftp-data`.
//!
//! Our own parser: the control channel is CRLF-terminated text lines.

use std::net::IpAddr;

use crate::Side;
use crate::text::{LineBuffer, printable};

/// Longest control line kept.
const MAX_LINE: usize = 2048;

/// Something said on an FTP control channel.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub enum Ftp {
    /// The server's first reply (220): its greeting, often naming the software.
    Banner(String),
    /// A client command. `argument` is `None` for PASS (the password is never kept).
    Command(FtpCommand),
    /// A server reply (the last line of a multi-line one).
    Reply(FtpReply),
    /// A data connection will be opened to this address (from PORT/EPRT, or a
    /// 227/229 reply to PASV/EPSV; an EPSV reply has no address: `ip` is `None`, the
    /// server's own address is meant).
    DataChannel(DataChannel),
    /// 230 after USER/PASS.
    LoginSucceeded {
        user: Option<String>,
        anonymous: bool,
    },
    /// 530.
    LoginFailed { user: Option<String> },
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FtpCommand {
    /// Upper-cased verb (`USER`, `STOR`, `RETR`…).
    pub verb: String,
    pub argument: Option<String>,
    /// For PASS: a password was sent (its value is dropped).
    pub password_given: bool,
    /// USER anonymous / ftp.
    pub anonymous: bool,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FtpReply {
    pub code: u16,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DataChannel {
    /// Who will listen: the server (PASV/EPSV) or the client (PORT/EPRT).
    pub passive: bool,
    pub ip: Option<IpAddr>,
    pub port: u16,
}

/// True for a client's first line: `USER ` or another FTP verb.
pub fn looks_like_client(data: &[u8]) -> bool {
    let upper: Vec<u8> = data.iter().take(5).map(u8::to_ascii_uppercase).collect();
    [&b"USER "[..], b"AUTH ", b"FEAT", b"SYST", b"OPTS "]
        .iter()
        .any(|v| upper.starts_with(v))
}

/// True for a server greeting `220 ` / `220-`.
pub fn looks_like_banner(data: &[u8]) -> bool {
    data.starts_with(b"220 ") || data.starts_with(b"220-")
}

/// Parses a PORT/227 `h1,h2,h3,h4,p1,p2` tuple.
pub fn parse_host_port(s: &str) -> Option<(IpAddr, u16)> {
    let start = s.find(|c: char| c.is_ascii_digit())?;
    let digits: Vec<u8> = s
        .get(start..)?
        .split(|c: char| !c.is_ascii_digit() && c != ',')
        .next()?
        .split(',')
        .map(|n| n.parse::<u8>().ok())
        .collect::<Option<Vec<u8>>>()?;
    let [a, b, c, d, p1, p2] = <[u8; 6]>::try_from(digits).ok()?;
    Some((
        IpAddr::from([a, b, c, d]),
        u16::from(p1) << 8 | u16::from(p2),
    ))
}

/// Parses an EPRT argument `|proto|addr|port|` or an EPSV reply `(|||port|)`.
pub fn parse_extended(s: &str) -> Option<(Option<IpAddr>, u16)> {
    let open = s.find('(').map_or(0, |i| i + 1);
    let inner = s.get(open..)?.trim_end_matches(')').trim();
    let delim = inner.chars().next()?;
    let parts: Vec<&str> = inner.split(delim).collect();
    // "", proto, addr, port, ""
    let addr = parts.get(2)?.trim();
    let port = parts.get(3)?.trim().parse().ok()?;
    let ip = if addr.is_empty() {
        None
    } else {
        Some(addr.parse().ok()?)
    };
    Some((ip, port))
}

/// Both directions of an FTP control connection.
#[derive(Debug, Default)]
pub struct FtpStream {
    lines: [LineBuffer; 2],
    banner_seen: bool,
    user: Option<String>,
    anonymous: bool,
}

impl FtpStream {
    pub fn new() -> FtpStream {
        FtpStream::default()
    }

    pub fn on_data(&mut self, side: Side, data: &[u8], out: &mut Vec<Ftp>) {
        let mut lines = Vec::new();
        if let Some(lb) = self.lines.get_mut(side.index()) {
            lb.feed(data, MAX_LINE, |l| lines.push(l.to_vec()));
        }
        for l in lines {
            match side {
                Side::Client => self.command(&l, out),
                Side::Server => self.reply(&l, out),
            }
        }
    }

    /// A hole: the partial line is dropped; lines resynchronise at the next CRLF.
    pub fn on_gap(&mut self, side: Side) {
        if let Some(lb) = self.lines.get_mut(side.index()) {
            lb.clear();
        }
    }

    fn command(&mut self, line: &[u8], out: &mut Vec<Ftp>) {
        let text = printable(line);
        if text.is_empty() {
            return;
        }
        let (verb, arg) = match text.split_once(' ') {
            Some((v, a)) => (v.to_ascii_uppercase(), Some(a.trim().to_string())),
            None => (text.to_ascii_uppercase(), None),
        };
        let mut cmd = FtpCommand {
            verb: verb.clone(),
            argument: arg.clone(),
            password_given: false,
            anonymous: false,
        };
        match verb.as_str() {
            "USER" => {
                let anon = arg.as_deref().is_some_and(|u| {
                    u.eq_ignore_ascii_case("anonymous") || u.eq_ignore_ascii_case("ftp")
                });
                cmd.anonymous = anon;
                self.anonymous = anon;
                self.user = arg.clone();
            }
            "PASS" => {
                cmd.argument = None;
                cmd.password_given = true;
            }
            "PORT" => {
                if let Some((ip, port)) = arg.as_deref().and_then(parse_host_port) {
                    out.push(Ftp::Command(cmd));
                    out.push(Ftp::DataChannel(DataChannel {
                        passive: false,
                        ip: Some(ip),
                        port,
                    }));
                    return;
                }
            }
            "EPRT" => {
                if let Some((ip, port)) = arg.as_deref().and_then(parse_extended) {
                    out.push(Ftp::Command(cmd));
                    out.push(Ftp::DataChannel(DataChannel {
                        passive: false,
                        ip,
                        port,
                    }));
                    return;
                }
            }
            _ => {}
        }
        out.push(Ftp::Command(cmd));
    }

    fn reply(&mut self, line: &[u8], out: &mut Vec<Ftp>) {
        let text = printable(line);
        let code = text
            .get(..3)
            .filter(|c| c.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|c| c.parse::<u16>().ok());
        let Some(code) = code else {
            return; // a continuation line of a multi-line reply
        };
        // "123-" opens a multi-line reply; its last line is "123 ".
        let last = text.as_bytes().get(3) != Some(&b'-');
        let msg = text.get(4..).unwrap_or("").trim().to_string();
        if code == 220 && !self.banner_seen {
            self.banner_seen = true;
            out.push(Ftp::Banner(msg.clone()));
        }
        if !last {
            return;
        }
        out.push(Ftp::Reply(FtpReply {
            code,
            text: msg.clone(),
        }));
        match code {
            227 => {
                if let Some((ip, port)) = parse_host_port(&msg) {
                    out.push(Ftp::DataChannel(DataChannel {
                        passive: true,
                        ip: Some(ip),
                        port,
                    }));
                }
            }
            229 => {
                if let Some((ip, port)) = parse_extended(&msg) {
                    out.push(Ftp::DataChannel(DataChannel {
                        passive: true,
                        ip,
                        port,
                    }));
                }
            }
            230 => out.push(Ftp::LoginSucceeded {
                user: self.user.clone(),
                anonymous: self.anonymous,
            }),
            530 => out.push(Ftp::LoginFailed {
                user: self.user.clone(),
            }),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session() {
        let mut s = FtpStream::new();
        let mut out = Vec::new();
        s.on_data(
            Side::Server,
            b"220-Welcome\r\n220 PumpFTP 1.0 ready\r\n",
            &mut out,
        );
        s.on_data(Side::Client, b"USER anonymous\r\nPASS me@x\r\n", &mut out);
        s.on_data(Side::Server, b"331 ok\r\n230 Logged in\r\n", &mut out);
        s.on_data(Side::Client, b"PASV\r\nSTOR lib", &mut out);
        s.on_data(
            Side::Client,
            b"rary.bin\r\nEPRT |1|10.0.0.5|6446|\r\n",
            &mut out,
        );
        s.on_data(Side::Server, b"227 Entering Passive Mode (10,0,0,9,195,80).\r\n229 Entering Extended Passive Mode (|||6446|)\r\n", &mut out);
        assert_eq!(out[0], Ftp::Banner("Welcome".into()));
        assert!(!format!("{out:?}").contains("me@x"));
        assert!(out.contains(&Ftp::LoginSucceeded {
            user: Some("anonymous".into()),
            anonymous: true
        }));
        assert!(out.iter().any(|e| matches!(e, Ftp::Command(c) if c.verb == "STOR" && c.argument.as_deref() == Some("library.bin"))));
        assert!(out.contains(&Ftp::DataChannel(DataChannel {
            passive: true,
            ip: Some("10.0.0.9".parse().unwrap()),
            port: 50000
        })));
        assert!(out.contains(&Ftp::DataChannel(DataChannel {
            passive: false,
            ip: Some("10.0.0.5".parse().unwrap()),
            port: 6446
        })));
        assert!(out.contains(&Ftp::DataChannel(DataChannel {
            passive: true,
            ip: None,
            port: 6446
        })));
    }
}
