//! Telnet (RFC 854, options RFC 855 and the option RFCs): cleartext remote logins to
//! pumps and their servers. IAC command sequences are stripped from the text and the
//! option negotiations listed; server text is cut into lines; login and password
//! prompts, failed logins and the first shell prompt after a login are flagged, and the
//! user name the client types after a login prompt is reported.
//!
//! Passwords are never kept: what the client types after a password prompt is dropped
//! byte by byte. Our own parser: the protocol is a byte-level state machine and no
//! maintained crate dissects it passively.

use crate::Side;
use crate::text::printable;

const IAC: u8 = 255;
const SB: u8 = 250;
const SE: u8 = 240;
/// Longest line (or typed user name) kept.
const MAX_LINE: usize = 512;
/// Most server lines reported per connection; flags keep working after it.
pub const MAX_LINES: usize = 1000;

/// Something a Telnet connection showed.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub enum Telnet {
    /// New option negotiations from one side (`DO ECHO`, `WILL NAWS`…), each listed
    /// once per connection and side.
    Negotiation {
        from_server: bool,
        options: Vec<String>,
    },
    /// A line of server text, IAC sequences stripped.
    ServerLine(String),
    /// The server asks for a user name (`login:`, `Username:`).
    LoginPrompt(String),
    /// The server asks for a password.
    PasswordPrompt(String),
    /// The user name the client typed after a login prompt.
    Username(String),
    /// The server says the login failed.
    LoginFailed(String),
    /// A shell prompt after a login: someone is in.
    ShellPrompt(String),
}

/// True when `data` starts with an IAC option negotiation: the classifier's rule.
pub fn looks_like(data: &[u8]) -> bool {
    matches!(data, [IAC, 251..=254, _, ..] | [IAC, SB, _, ..])
}

fn option_name(o: u8) -> String {
    let s = match o {
        0 => "BINARY",
        1 => "ECHO",
        3 => "SUPPRESS-GO-AHEAD",
        5 => "STATUS",
        6 => "TIMING-MARK",
        24 => "TERMINAL-TYPE",
        31 => "NAWS",
        32 => "TERMINAL-SPEED",
        33 => "REMOTE-FLOW-CONTROL",
        34 => "LINEMODE",
        35 => "X-DISPLAY-LOCATION",
        36 => "ENVIRON",
        37 => "AUTHENTICATION",
        38 => "ENCRYPT",
        39 => "NEW-ENVIRON",
        other => return other.to_string(),
    };
    s.to_string()
}

fn command_name(c: u8) -> &'static str {
    match c {
        251 => "WILL",
        252 => "WONT",
        253 => "DO",
        _ => "DONT",
    }
}

#[derive(Debug, Default, Clone, Copy, PartialEq)]
enum Scan {
    #[default]
    Data,
    Iac,
    Option(u8),
    Sub,
    SubIac,
}

#[derive(Debug, Default)]
struct Direction {
    scan: Scan,
    negotiated: Vec<String>,
    line: Vec<u8>,
    /// A prompt on the current (unfinished) line was already reported.
    prompted: bool,
}

#[derive(Debug, Default, Clone, Copy, PartialEq)]
enum Login {
    #[default]
    Idle,
    /// Login prompt seen: the client's next line is the user name.
    AwaitUser,
    /// Password prompt seen: the client's next line is dropped.
    AwaitPassword,
    /// A password was sent: a shell prompt now means success.
    Submitted,
    /// Shell prompt seen.
    In,
}

/// Both directions of a Telnet connection.
#[derive(Debug, Default)]
pub struct TelnetStream {
    dirs: [Direction; 2],
    login: Login,
    typed: Vec<u8>,
    lines: usize,
}

impl TelnetStream {
    pub fn new() -> TelnetStream {
        TelnetStream::default()
    }

    pub fn on_data(&mut self, side: Side, data: &[u8], out: &mut Vec<Telnet>) {
        let mut text = Vec::with_capacity(data.len());
        let mut new_options = Vec::new();
        if let Some(dir) = self.dirs.get_mut(side.index()) {
            for &b in data {
                dir.scan = match (dir.scan, b) {
                    (Scan::Data, IAC) => Scan::Iac,
                    (Scan::Data, _) => {
                        text.push(b);
                        Scan::Data
                    }
                    (Scan::Iac, IAC) => {
                        text.push(IAC);
                        Scan::Data
                    }
                    (Scan::Iac, 251..=254) => Scan::Option(b),
                    (Scan::Iac, SB) => Scan::Sub,
                    (Scan::Iac, _) => Scan::Data,
                    (Scan::Option(c), o) => {
                        let n = format!("{} {}", command_name(c), option_name(o));
                        if !dir.negotiated.contains(&n) && dir.negotiated.len() < 64 {
                            dir.negotiated.push(n.clone());
                            new_options.push(n);
                        }
                        Scan::Data
                    }
                    (Scan::Sub, IAC) => Scan::SubIac,
                    (Scan::Sub, _) => Scan::Sub,
                    (Scan::SubIac, SE) => Scan::Data,
                    (Scan::SubIac, _) => Scan::Sub,
                };
            }
        }
        if !new_options.is_empty() {
            out.push(Telnet::Negotiation {
                from_server: side == Side::Server,
                options: new_options,
            });
        }
        match side {
            Side::Server => self.server_text(&text, out),
            Side::Client => self.client_text(&text, out),
        }
    }

    /// A hole in `side`'s stream: partial lines and option state are dropped.
    pub fn on_gap(&mut self, side: Side) {
        if let Some(dir) = self.dirs.get_mut(side.index()) {
            dir.scan = Scan::Data;
            dir.line.clear();
            dir.prompted = false;
        }
        if side == Side::Client {
            self.typed.clear();
        }
    }

    fn server_text(&mut self, text: &[u8], out: &mut Vec<Telnet>) {
        let mut rest = text;
        while !rest.is_empty() {
            let nl = memchr::memchr2(b'\n', b'\r', rest);
            let (part, tail) = match nl {
                Some(i) => (
                    rest.get(..i).unwrap_or(&[]),
                    rest.get(i + 1..).unwrap_or(&[]),
                ),
                None => (rest, &[][..]),
            };
            rest = tail;
            if let Some(dir) = self.dirs.get_mut(1) {
                let room = MAX_LINE.saturating_sub(dir.line.len());
                dir.line
                    .extend_from_slice(part.get(..part.len().min(room)).unwrap_or(&[]));
            }
            self.check_prompt(out);
            if nl.is_some() {
                let Some(dir) = self.dirs.get_mut(1) else {
                    return;
                };
                let line = printable(&std::mem::take(&mut dir.line));
                dir.prompted = false;
                if line.is_empty() {
                    continue;
                }
                if is_failure(&line) {
                    out.push(Telnet::LoginFailed(line.clone()));
                    self.login = Login::Idle;
                }
                if self.lines < MAX_LINES {
                    self.lines += 1;
                    out.push(Telnet::ServerLine(line));
                }
            }
        }
    }

    /// Looks at the unfinished server line: prompts do not end with a newline.
    fn check_prompt(&mut self, out: &mut Vec<Telnet>) {
        let Some(dir) = self.dirs.get_mut(1) else {
            return;
        };
        if dir.prompted || dir.line.is_empty() {
            return;
        }
        let text = printable(&dir.line);
        let lower = text.to_ascii_lowercase();
        let ends = |p: &str| lower.trim_end().ends_with(p);
        if ends("login:") || ends("username:") || ends("user name:") || ends("user:") {
            dir.prompted = true;
            self.login = Login::AwaitUser;
            self.typed.clear();
            out.push(Telnet::LoginPrompt(text));
        } else if ends("password:") || ends("passcode:") || ends("passwd:") {
            dir.prompted = true;
            self.login = Login::AwaitPassword;
            self.typed.clear();
            out.push(Telnet::PasswordPrompt(text));
        } else if self.login == Login::Submitted
            && (text.ends_with("$ ")
                || text.ends_with("# ")
                || text.ends_with("> ")
                || text.ends_with('$')
                || text.ends_with('#'))
        {
            dir.prompted = true;
            self.login = Login::In;
            out.push(Telnet::ShellPrompt(text));
        }
    }

    fn client_text(&mut self, text: &[u8], out: &mut Vec<Telnet>) {
        for &b in text {
            if matches!(b, b'\r' | b'\n')
                && let Some(server) = self.dirs.get_mut(1)
                && server.prompted
            {
                // The answer to a prompt: the server's next text is a new line even when
                // it does not echo the newline.
                server.line.clear();
                server.prompted = false;
            }
            match self.login {
                Login::AwaitUser => match b {
                    b'\r' | b'\n' => {
                        let name = printable(&self.typed);
                        self.typed.clear();
                        if !name.is_empty() {
                            out.push(Telnet::Username(name));
                            self.login = Login::Idle;
                        }
                    }
                    0x08 | 0x7f => {
                        self.typed.pop();
                    }
                    0 => {}
                    _ => {
                        if self.typed.len() < MAX_LINE {
                            self.typed.push(b);
                        }
                    }
                },
                // Never kept: only the end of the line matters.
                Login::AwaitPassword if b == b'\r' || b == b'\n' => {
                    self.login = Login::Submitted;
                }
                _ => {}
            }
        }
    }
}

fn is_failure(line: &str) -> bool {
    let l = line.to_ascii_lowercase();
    [
        "login incorrect",
        "login failed",
        "incorrect password",
        "authentication failed",
        "access denied",
        "invalid login",
        "invalid password",
        "bad password",
    ]
    .iter()
    .any(|p| l.contains(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_with_iac_inside_text() {
        let mut s = TelnetStream::new();
        let mut out = Vec::new();
        s.on_data(
            Side::Server,
            b"\xff\xfd\x18\xff\xfb\x01Pump OS 2.1\r\nlog",
            &mut out,
        );
        s.on_data(Side::Server, b"in\xff\xfb\x03: ", &mut out);
        for c in b"roo\x7ft\r" {
            s.on_data(Side::Client, &[*c], &mut out);
        }
        s.on_data(Side::Server, b"Password: ", &mut out);
        s.on_data(Side::Client, b"secret\r\n", &mut out);
        s.on_data(Side::Server, b"\r\nLogin incorrect\r\nlogin: ", &mut out);
        s.on_data(Side::Client, b"admin\r\n", &mut out);
        s.on_data(Side::Server, b"Password: ", &mut out);
        s.on_data(Side::Client, b"x\r\n", &mut out);
        s.on_data(Side::Server, b"\r\n# ", &mut out);
        let dump = format!("{out:?}");
        assert!(!dump.contains("secret"));
        assert!(out.contains(&Telnet::Negotiation {
            from_server: true,
            options: vec!["DO TERMINAL-TYPE".into(), "WILL ECHO".into()]
        }));
        assert!(out.contains(&Telnet::ServerLine("Pump OS 2.1".into())));
        assert!(out.contains(&Telnet::LoginPrompt("login:".into())));
        assert!(out.contains(&Telnet::Username("rot".into())));
        assert!(out.contains(&Telnet::Username("admin".into())));
        assert!(out.contains(&Telnet::LoginFailed("Login incorrect".into())));
        assert_eq!(out.last(), Some(&Telnet::ShellPrompt("#".into())));
    }
}
