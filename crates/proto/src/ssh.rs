//! SSH (RFC 4253 §4.2) identification strings: `SSH-2.0-softwareversion comments`,
//! the one cleartext line each side sends before key exchange. Our own parser: one line.

use crate::Side;
use crate::text::printable;

/// Longest identification line (RFC 4253: 255 bytes with CRLF).
const MAX_BANNER: usize = 255;

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SshBanner {
    /// Sent by the server (else the client).
    pub from_server: bool,
    /// The protocol version (`2.0`, `1.99`).
    pub proto_version: String,
    /// softwareversion (`OpenSSH_9.6p1`).
    pub software: String,
    /// Comments after a space (`Ubuntu-3ubuntu13`), if any.
    pub comments: Option<String>,
}

/// True when `data` starts with `SSH-`: the classifier's rule.
pub fn looks_like(data: &[u8]) -> bool {
    data.starts_with(b"SSH-")
}

/// Parses an identification line (without its CRLF).
pub fn parse_banner(line: &[u8], from_server: bool) -> Option<SshBanner> {
    let text = printable(line);
    let rest = text.strip_prefix("SSH-")?;
    let (proto, software) = rest.split_once('-')?;
    let (software, comments) = match software.split_once(' ') {
        Some((s, c)) => (s.to_string(), Some(c.to_string())),
        None => (software.to_string(), None),
    };
    Some(SshBanner {
        from_server,
        proto_version: proto.to_string(),
        software,
        comments,
    })
}

/// Reads the identification line of each direction; servers may send other lines
/// first (RFC 4253 §4.2), which are skipped. Everything after it is binary and ignored.
#[derive(Debug, Default)]
pub struct SshStream {
    lines: [Vec<u8>; 2],
    done: [bool; 2],
}

impl SshStream {
    pub fn new() -> SshStream {
        SshStream::default()
    }

    pub fn on_data(&mut self, side: Side, data: &[u8], out: &mut Vec<SshBanner>) {
        let i = side.index();
        let (Some(line), Some(done)) = (self.lines.get_mut(i), self.done.get_mut(i)) else {
            return;
        };
        let mut rest = data;
        while !*done && !rest.is_empty() {
            let (part, tail, ended) = match memchr::memchr(b'\n', rest) {
                Some(k) => (
                    rest.get(..k).unwrap_or(&[]),
                    rest.get(k + 1..).unwrap_or(&[]),
                    true,
                ),
                None => (rest, &[][..], false),
            };
            rest = tail;
            let room = MAX_BANNER.saturating_sub(line.len());
            line.extend_from_slice(part.get(..part.len().min(room)).unwrap_or(&[]));
            if !ended {
                if line.len() >= MAX_BANNER {
                    *done = true;
                }
                return;
            }
            let l = std::mem::take(line);
            if l.starts_with(b"SSH-") {
                *done = true;
                if let Some(b) =
                    parse_banner(l.strip_suffix(b"\r").unwrap_or(&l), side == Side::Server)
                {
                    out.push(b);
                }
            }
        }
    }

    /// Both banners read.
    pub fn done(&self) -> bool {
        self.done.iter().all(|d| *d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn banners() {
        let mut s = SshStream::new();
        let mut out = Vec::new();
        s.on_data(
            Side::Server,
            b"SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13\r\n\x00\x00",
            &mut out,
        );
        s.on_data(Side::Client, b"SSH-2.0-libssh", &mut out);
        s.on_data(Side::Client, b"_0.10\r\n", &mut out);
        assert_eq!(out[0].software, "OpenSSH_9.6p1");
        assert_eq!(out[0].comments.as_deref(), Some("Ubuntu-3ubuntu13"));
        assert_eq!(out[1].software, "libssh_0.10");
        assert!(!out[1].from_server && s.done());
    }
}
