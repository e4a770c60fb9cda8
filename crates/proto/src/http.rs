//! HTTP/1.x (RFC 9112) message heads: who asks for what and which software answers.
//!
//! [`HttpStream`] follows each direction of a connection: it parses a head with
//! `httparse` (buffering at most [`MAX_HEAD`] bytes), then skips the body without
//! keeping it — by Content-Length or chunk by chunk — to find the next pipelined head.
//! Credentials are never stored: of an Authorization header only the scheme is kept.

use std::collections::VecDeque;

use crate::Side;
use crate::text::printable;

/// Largest head buffered.
pub const MAX_HEAD: usize = 16 * 1024;
const MAX_HEADERS: usize = 128;
const MAX_CHUNK_LINE: usize = 1024;

/// One request or response head.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct HttpHead {
    /// A request (client → server); else a response.
    pub request: bool,
    /// `HTTP/1.0` or `HTTP/1.1`.
    pub version: String,
    pub method: Option<String>,
    pub target: Option<String>,
    pub status: Option<u16>,
    pub reason: Option<String>,
    pub host: Option<String>,
    pub user_agent: Option<String>,
    /// The scheme of Authorization (`Basic`, `Bearer`, `Digest`…), never its credentials.
    pub authorization_scheme: Option<String>,
    pub content_type: Option<String>,
    pub content_length: Option<u64>,
    pub chunked: bool,
    pub server: Option<String>,
    /// WWW-Authenticate, as sent (a challenge holds no secret).
    pub www_authenticate: Option<String>,
}

const METHODS: [&[u8]; 9] = [
    b"GET ",
    b"POST ",
    b"PUT ",
    b"HEAD ",
    b"DELETE ",
    b"OPTIONS ",
    b"PATCH ",
    b"CONNECT ",
    b"TRACE ",
];

/// True when `data` starts like an HTTP/1 request or response: the classifier's rule.
pub fn looks_like(data: &[u8]) -> bool {
    data.starts_with(b"HTTP/1.") || METHODS.iter().any(|m| data.starts_with(m))
}

/// Whether `data` could still become [`looks_like`] with more bytes.
pub fn may_become(data: &[u8]) -> bool {
    let prefix = |p: &[u8]| p.starts_with(data) || data.starts_with(p);
    prefix(b"HTTP/1.") || METHODS.iter().any(|m| prefix(m))
}

#[derive(Debug, Clone, PartialEq)]
enum State {
    /// Reading a head.
    Head,
    /// Skipping this many body bytes.
    Body(u64),
    /// Reading a chunk-size line.
    ChunkSize,
    /// Skipping chunk data, then its CRLF.
    ChunkData(u64),
    /// Reading trailer lines until an empty one.
    Trailers,
    /// After a gap: looking for the start of a head.
    Resync,
    /// Body until close, a tunnel, or not HTTP: nothing more to read.
    Stopped,
}

#[derive(Debug)]
struct Direction {
    state: State,
    buf: Vec<u8>,
}

impl Default for Direction {
    fn default() -> Self {
        Direction {
            state: State::Head,
            buf: Vec::new(),
        }
    }
}

/// Both directions of one HTTP/1 connection.
#[derive(Debug, Default)]
pub struct HttpStream {
    dirs: [Direction; 2],
    /// Methods of requests not yet answered (a response to HEAD has no body).
    pending: VecDeque<bool>,
}

impl HttpStream {
    pub fn new() -> HttpStream {
        HttpStream::default()
    }

    pub fn on_data(&mut self, side: Side, data: &[u8], out: &mut Vec<HttpHead>) {
        let mut data = data;
        let request = side == Side::Client;
        while !data.is_empty() {
            let Some(dir) = self.dirs.get_mut(side.index()) else {
                return;
            };
            match dir.state.clone() {
                State::Stopped => return,
                State::Body(n) => {
                    let k = usize::try_from(n).unwrap_or(usize::MAX).min(data.len());
                    data = data.get(k..).unwrap_or(&[]);
                    let left = n - k as u64;
                    dir.state = if left == 0 {
                        State::Head
                    } else {
                        State::Body(left)
                    };
                }
                State::ChunkData(n) => {
                    let k = usize::try_from(n).unwrap_or(usize::MAX).min(data.len());
                    data = data.get(k..).unwrap_or(&[]);
                    let left = n - k as u64;
                    if left == 0 {
                        // The CRLF after the data is read as an empty size line.
                        dir.state = State::ChunkSize;
                        dir.buf.clear();
                    } else {
                        dir.state = State::ChunkData(left);
                    }
                }
                State::ChunkSize | State::Trailers => {
                    let Some(line) = take_line(&mut dir.buf, &mut data, MAX_CHUNK_LINE) else {
                        if dir.buf.len() >= MAX_CHUNK_LINE {
                            dir.state = State::Stopped;
                        }
                        continue;
                    };
                    let line = String::from_utf8_lossy(&line).trim().to_string();
                    if dir.state == State::Trailers {
                        if line.is_empty() {
                            dir.state = State::Head;
                        }
                        continue;
                    }
                    if line.is_empty() {
                        continue; // the CRLF ending the previous chunk's data
                    }
                    let size = line.split(';').next().unwrap_or("").trim();
                    dir.state = match u64::from_str_radix(size, 16) {
                        Ok(0) => State::Trailers,
                        Ok(n) => State::ChunkData(n),
                        Err(_) => State::Stopped,
                    };
                }
                State::Resync => {
                    // Keep the last few bytes in case a start line straddles chunks.
                    dir.buf.extend_from_slice(data);
                    data = &[];
                    match find_start(&dir.buf) {
                        Some(at) => {
                            let rest = dir.buf.split_off(at);
                            dir.buf = Vec::new();
                            dir.state = State::Head;
                            data_reinject(self, side, &rest, out);
                        }
                        None => {
                            let keep = dir.buf.len().saturating_sub(16);
                            dir.buf.drain(..keep);
                        }
                    }
                }
                State::Head => {
                    let room = MAX_HEAD.saturating_sub(dir.buf.len());
                    let k = room.min(data.len());
                    let before = dir.buf.len();
                    dir.buf.extend_from_slice(data.get(..k).unwrap_or(&[]));
                    let Some(end) = head_end(&dir.buf, before) else {
                        data = data.get(k..).unwrap_or(&[]);
                        if dir.buf.len() >= MAX_HEAD {
                            dir.state = State::Stopped;
                            dir.buf = Vec::new();
                        }
                        continue;
                    };
                    // Bytes of this call past the head go back to the loop.
                    let used = end - before;
                    data = data.get(used..).unwrap_or(&[]);
                    let head_bytes = std::mem::take(&mut dir.buf);
                    let head = head_bytes.get(..end).unwrap_or(&[]);
                    match parse_head(head, request) {
                        Some((h, next)) => {
                            let next = self.body_after(&h, next);
                            if let Some(dir) = self.dirs.get_mut(side.index()) {
                                dir.state = next;
                            }
                            out.push(h);
                        }
                        None => {
                            if let Some(dir) = self.dirs.get_mut(side.index()) {
                                dir.state = State::Stopped;
                            }
                        }
                    }
                }
            }
        }
    }

    /// A hole of `len` bytes: skipped inside a body when it fits, else look for the
    /// next head.
    pub fn on_gap(&mut self, side: Side, len: u64) {
        let Some(dir) = self.dirs.get_mut(side.index()) else {
            return;
        };
        dir.state = match dir.state {
            State::Body(n) if len < n => State::Body(n - len),
            State::Body(n) if len == n => State::Head,
            State::ChunkData(n) if len < n => State::ChunkData(n - len),
            State::Stopped => State::Stopped,
            _ => State::Resync,
        };
        dir.buf.clear();
    }

    /// What follows head `h`: its body, per RFC 9112 §6.3.
    fn body_after(&mut self, h: &HttpHead, framing: Framing) -> State {
        if h.request {
            if self.pending.len() < 64 {
                self.pending.push_back(h.method.as_deref() == Some("HEAD"));
            }
            if h.method.as_deref() == Some("CONNECT") {
                return State::Stopped;
            }
            return match framing {
                Framing::Chunked => State::ChunkSize,
                Framing::Length(n) if n > 0 => State::Body(n),
                _ => State::Head,
            };
        }
        let status = h.status.unwrap_or(0);
        if (100..200).contains(&status) {
            return if status == 101 {
                State::Stopped
            } else {
                State::Head
            };
        }
        let head_request = self.pending.pop_front().unwrap_or(false);
        if head_request || status == 204 || status == 304 {
            return State::Head;
        }
        match framing {
            Framing::Chunked => State::ChunkSize,
            Framing::Length(0) => State::Head,
            Framing::Length(n) => State::Body(n),
            Framing::None => State::Stopped,
        }
    }
}

/// Re-feeds bytes found after a resynchronisation.
fn data_reinject(s: &mut HttpStream, side: Side, rest: &[u8], out: &mut Vec<HttpHead>) {
    s.on_data(side, rest, out);
}

/// Offset where a request or status line starts (at the start of a line).
fn find_start(buf: &[u8]) -> Option<usize> {
    (0..buf.len()).find(|&i| {
        (i == 0 || buf.get(i - 1) == Some(&b'\n')) && looks_like(buf.get(i..).unwrap_or(&[]))
    })
}

/// Takes one line (CRLF or LF) from `buf` + `data`; `None` when incomplete.
fn take_line(buf: &mut Vec<u8>, data: &mut &[u8], cap: usize) -> Option<Vec<u8>> {
    match memchr::memchr(b'\n', data) {
        Some(i) => {
            let room = cap.saturating_sub(buf.len());
            buf.extend_from_slice(data.get(..i.min(room)).unwrap_or(&[]));
            *data = data.get(i + 1..).unwrap_or(&[]);
            Some(std::mem::take(buf))
        }
        None => {
            let room = cap.saturating_sub(buf.len());
            buf.extend_from_slice(data.get(..data.len().min(room)).unwrap_or(&[]));
            *data = &[];
            None
        }
    }
}

/// End of the head (after its blank line), searching from a little before `from`.
fn head_end(buf: &[u8], from: usize) -> Option<usize> {
    let start = from.saturating_sub(3);
    let hay = buf.get(start..)?;
    let mut i = 0;
    while let Some(k) = memchr::memchr(b'\n', hay.get(i..)?) {
        let at = start + i + k;
        match (buf.get(at + 1), buf.get(at + 2)) {
            (Some(b'\n'), _) => return Some(at + 2),
            (Some(b'\r'), Some(b'\n')) => return Some(at + 3),
            _ => {}
        }
        i += k + 1;
    }
    None
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Framing {
    Chunked,
    Length(u64),
    None,
}

fn parse_head(head: &[u8], request: bool) -> Option<(HttpHead, Framing)> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut h = HttpHead {
        request,
        version: String::new(),
        method: None,
        target: None,
        status: None,
        reason: None,
        host: None,
        user_agent: None,
        authorization_scheme: None,
        content_type: None,
        content_length: None,
        chunked: false,
        server: None,
        www_authenticate: None,
    };
    let (version, fields): (u8, &[httparse::Header<'_>]) = if request {
        let mut req = httparse::Request::new(&mut headers);
        if !matches!(req.parse(head), Ok(httparse::Status::Complete(_))) {
            return None;
        }
        h.method = req.method.map(str::to_string);
        h.target = req.path.map(|p| printable(p.as_bytes()));
        let v = req.version.unwrap_or(1);
        let n = req.headers.len();
        (v, &headers[..n])
    } else {
        let mut resp = httparse::Response::new(&mut headers);
        if !matches!(resp.parse(head), Ok(httparse::Status::Complete(_))) {
            return None;
        }
        h.status = resp.code;
        h.reason = resp.reason.map(|r| printable(r.as_bytes()));
        let v = resp.version.unwrap_or(1);
        let n = resp.headers.len();
        (v, &headers[..n])
    };
    h.version = format!("HTTP/1.{version}");
    let mut framing = Framing::None;
    for f in fields {
        let value = || Some(printable(f.value));
        let name = f.name;
        if name.eq_ignore_ascii_case("host") {
            h.host = value();
        } else if name.eq_ignore_ascii_case("user-agent") {
            h.user_agent = value();
        } else if name.eq_ignore_ascii_case("authorization")
            || name.eq_ignore_ascii_case("proxy-authorization")
        {
            let v = printable(f.value);
            h.authorization_scheme = v.split_whitespace().next().map(str::to_string);
        } else if name.eq_ignore_ascii_case("content-type") {
            h.content_type = value();
        } else if name.eq_ignore_ascii_case("content-length") {
            let n = std::str::from_utf8(f.value)
                .ok()
                .and_then(|s| s.trim().parse::<u64>().ok());
            h.content_length = n;
            if let (Some(n), false) = (n, framing == Framing::Chunked) {
                framing = Framing::Length(n);
            }
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            let v = printable(f.value).to_ascii_lowercase();
            if v.split(',').next_back().map(str::trim) == Some("chunked") {
                h.chunked = true;
                framing = Framing::Chunked;
            }
        } else if name.eq_ignore_ascii_case("server") {
            h.server = value();
        } else if name.eq_ignore_ascii_case("www-authenticate") {
            h.www_authenticate = value();
        }
    }
    if request && framing == Framing::None {
        framing = Framing::Length(0);
    }
    Some((h, framing))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pipelining_with_chunked_and_length_bodies() {
        let mut s = HttpStream::new();
        let mut out = Vec::new();
        let req = b"POST /api HTTP/1.1\r\nHost: pumpsrv\r\nAuthorization: Basic dXNlcjpwYXNz\r\nContent-Length: 5\r\n\r\nhelloGET /lib HTTP/1.1\r\nHost: pumpsrv\r\nUser-Agent: Pump/2.1\r\n\r\nHEAD / HTTP/1.1\r\n\r\n";
        for chunk in req.chunks(7) {
            s.on_data(Side::Client, chunk, &mut out);
        }
        let resp = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nServer: pumpd\r\n\r\n4\r\nabcd\r\n3;x=y\r\nefg\r\n0\r\nTrailer: 1\r\n\r\nHTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"pump\"\r\nContent-Length: 3\r\n\r\nno!HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\nHTTP/1.0 404 Not Found\r\n\r\n";
        for chunk in resp.chunks(5) {
            s.on_data(Side::Server, chunk, &mut out);
        }
        let reqs: Vec<_> = out.iter().filter(|h| h.request).collect();
        let resps: Vec<_> = out.iter().filter(|h| !h.request).collect();
        assert_eq!(reqs.len(), 3);
        assert_eq!(reqs[0].authorization_scheme.as_deref(), Some("Basic"));
        assert_eq!(reqs[1].user_agent.as_deref(), Some("Pump/2.1"));
        assert!(!format!("{out:?}").contains("dXNlcjpwYXNz"));
        let codes: Vec<_> = resps.iter().map(|h| h.status.unwrap()).collect();
        assert_eq!(codes, vec![200, 401, 200, 404], "HEAD response has no body");
        assert_eq!(resps[0].server.as_deref(), Some("pumpd"));
        assert!(
            resps[1]
                .www_authenticate
                .as_deref()
                .unwrap()
                .contains("realm")
        );
    }

    #[test]
    fn gap_in_body_and_resync_after_lost_head() {
        let mut s = HttpStream::new();
        let mut out = Vec::new();
        s.on_data(
            Side::Server,
            b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123",
            &mut out,
        );
        s.on_gap(Side::Server, 90);
        s.on_data(
            Side::Server,
            b"456789HTTP/1.1 204 No Content\r\n\r\n",
            &mut out,
        );
        assert_eq!(out.len(), 2);
        s.on_gap(Side::Server, 1000);
        s.on_data(
            Side::Server,
            b"tail of something\r\nHTTP/1.1 500 Oops\r\n\r\n",
            &mut out,
        );
        assert_eq!(out.last().unwrap().status, Some(500));
    }
}
