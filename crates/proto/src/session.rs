//! [`Session`]: the application state of one flow — classification, then the stream
//! dissector or per-datagram parser of the protocol found.
//!
//! A sensor keeps one per live flow, so an idle session is 16 bytes: the ports, the
//! protocol and one boxed state that is `None` once there is nothing more to inspect.
//! While a TCP flow is being classified its first bytes (at most
//! [`classify::LIMIT`] per side) are kept and replayed into the dissector once the
//! protocol is known.

use crate::classify::{self, Ports, Verdict};
use crate::{
    App, Event, Side, Transport, dhcp, dns, ftp, hl7, http, ntp, snmp, ssh, syslog, telnet,
    text::LineBuffer, tls,
};

/// Application state of one flow.
#[derive(Debug)]
pub struct Session {
    state: Option<Box<State>>,
    client_port: u16,
    server_port: u16,
    transport: Transport,
    app: App,
}

#[derive(Debug)]
enum State {
    /// TCP bytes seen before classification, per side, and the order they came in.
    Pending {
        bufs: [Vec<u8>; 2],
        order: Vec<(Side, u32)>,
    },
    /// UDP before classification: bytes seen per side.
    PendingUdp {
        seen: [usize; 2],
    },
    /// UDP, classified: each datagram parsed on its own.
    Datagrams,
    // The larger stream states are boxed so that `State` stays the size of `Pending`:
    // one is allocated per live flow, most of which never get past it.
    Tls(Box<tls::TlsStream>),
    Http(Box<http::HttpStream>),
    Hl7(hl7::MllpStream),
    Telnet(Box<telnet::TelnetStream>),
    Ftp(Box<ftp::FtpStream>),
    Ssh(ssh::SshStream),
    DnsTcp(DnsTcp),
    SyslogTcp([LineBuffer; 2]),
}

/// Longest syslog line on TCP.
const MAX_SYSLOG_LINE: usize = 8192;

impl Session {
    pub fn new(transport: Transport, client_port: u16, server_port: u16) -> Session {
        let state = match transport {
            Transport::Tcp => State::Pending {
                bufs: [Vec::new(), Vec::new()],
                order: Vec::new(),
            },
            Transport::Udp => State::PendingUdp { seen: [0, 0] },
        };
        Session {
            state: Some(Box::new(state)),
            client_port,
            server_port,
            transport,
            app: App::Unknown,
        }
    }

    /// The protocol found; [`App::Unknown`] until classified (and after giving up).
    pub fn app(&self) -> App {
        self.app
    }

    /// The transport given at creation.
    pub fn transport(&self) -> Transport {
        self.transport
    }

    /// Feeds one UDP datagram or the next in-order TCP bytes from `side`, pushing what
    /// they say to `out`. Classifies on the first bytes; after [`classify::LIMIT`] bytes
    /// on a side without a match the flow is [`App::Unknown`] and later calls return at
    /// once. Never panics; buffering per flow is bounded.
    pub fn on_data(&mut self, side: Side, data: &[u8], out: &mut Vec<Event>) {
        let Some(state) = self.state.as_deref_mut() else {
            return;
        };
        let ports = Ports {
            client: self.client_port,
            server: self.server_port,
        };
        match state {
            State::Pending { bufs, order } => {
                let Some(buf) = bufs.get_mut(side.index()) else {
                    return;
                };
                let room = classify::LIMIT.saturating_sub(buf.len());
                let take = room.min(data.len());
                if buf.capacity() == 0 {
                    // Exactly what came: most flows classify (or not) on one chunk.
                    buf.reserve_exact(take);
                }
                buf.extend_from_slice(data.get(..take).unwrap_or(&[]));
                // Consecutive chunks from one side replay as one. `take` is at most
                // `classify::LIMIT`, so it fits a u32.
                let take32 = u32::try_from(take).unwrap_or(u32::MAX);
                match order.last_mut() {
                    _ if take == 0 => {}
                    Some((last, len)) if *last == side => *len = len.saturating_add(take32),
                    _ => {
                        if order.capacity() == 0 {
                            order.reserve_exact(2);
                        }
                        order.push((side, take32));
                    }
                }
                let [c, s] = &*bufs;
                match classify::stream(ports, c, s) {
                    Verdict::NeedMore => {}
                    Verdict::App(app) => {
                        let bufs = std::mem::take(bufs);
                        let order = std::mem::take(order);
                        self.start_stream(app);
                        // Replay what was kept, then the part of this call beyond it.
                        let mut at = [0usize; 2];
                        for (side, len) in order {
                            let len = len as usize;
                            let i = side.index();
                            let (Some(buf), Some(pos)) = (bufs.get(i), at.get_mut(i)) else {
                                continue;
                            };
                            let chunk = buf.get(*pos..*pos + len).unwrap_or(&[]);
                            *pos += len;
                            self.dispatch(side, chunk, out);
                        }
                        if let Some(rest) = data.get(take..)
                            && !rest.is_empty()
                        {
                            self.dispatch(side, rest, out);
                        }
                    }
                }
            }
            State::PendingUdp { seen } => match classify::datagram(ports, side, data) {
                Verdict::App(app) => {
                    self.app = app;
                    self.state = Some(Box::new(State::Datagrams));
                    self.dispatch(side, data, out);
                }
                Verdict::NeedMore => {
                    if let Some(n) = seen.get_mut(side.index()) {
                        *n = n.saturating_add(data.len());
                        if *n >= classify::LIMIT {
                            self.app = App::Unknown;
                            self.state = None;
                        }
                    }
                }
            },
            _ => self.dispatch(side, data, out),
        }
    }

    /// A hole of `len` bytes in the TCP stream from `side`: partial state is dropped and
    /// the dissector resynchronises where its protocol allows.
    pub fn on_gap(&mut self, side: Side, len: u64) {
        let Some(state) = self.state.as_deref_mut() else {
            return;
        };
        match state {
            State::Pending { bufs, order } => {
                // The flow's start is gone on this side: classify on what follows.
                if let Some(buf) = bufs.get_mut(side.index()) {
                    buf.clear();
                }
                order.retain(|(s, _)| *s != side);
            }
            State::PendingUdp { .. } | State::Datagrams => {}
            State::Tls(t) => t.on_gap(side),
            State::Http(h) => h.on_gap(side, len),
            State::Hl7(h) => h.on_gap(side),
            State::Telnet(t) => t.on_gap(side),
            State::Ftp(f) => f.on_gap(side),
            State::Ssh(_) => {}
            State::DnsTcp(d) => d.on_gap(side),
            State::SyslogTcp(lines) => {
                if let Some(l) = lines.get_mut(side.index()) {
                    l.clear();
                }
            }
        }
    }

    fn start_stream(&mut self, app: App) {
        self.app = app;
        let state = match app {
            App::Tls => State::Tls(Box::new(tls::TlsStream::new())),
            App::Http => State::Http(Box::new(http::HttpStream::new())),
            App::Hl7 => State::Hl7(hl7::MllpStream::new()),
            App::Telnet => State::Telnet(Box::new(telnet::TelnetStream::new())),
            App::Ftp => State::Ftp(Box::new(ftp::FtpStream::new())),
            App::Ssh => State::Ssh(ssh::SshStream::new()),
            App::Dns => State::DnsTcp(DnsTcp::default()),
            App::Syslog => State::SyslogTcp(Default::default()),
            _ => {
                self.state = None;
                return;
            }
        };
        self.state = Some(Box::new(state));
    }

    /// Hands bytes to the classified flow's dissector.
    fn dispatch(&mut self, side: Side, data: &[u8], out: &mut Vec<Event>) {
        let Some(state) = self.state.as_deref_mut() else {
            return;
        };
        let mut finished = false;
        match state {
            State::Pending { .. } | State::PendingUdp { .. } => {}
            State::Datagrams => datagram(self.app, data, out),
            State::Tls(t) => {
                let mut evs = Vec::new();
                t.on_data(side, data, &mut evs);
                out.extend(evs.into_iter().map(Event::Tls));
                finished = t.done();
            }
            State::Http(h) => {
                let mut evs = Vec::new();
                h.on_data(side, data, &mut evs);
                out.extend(evs.into_iter().map(Event::Http));
            }
            State::Hl7(h) => {
                let mut evs = Vec::new();
                h.on_data(side, data, &mut evs);
                out.extend(evs.into_iter().map(Event::Hl7));
            }
            State::Telnet(t) => {
                let mut evs = Vec::new();
                t.on_data(side, data, &mut evs);
                out.extend(evs.into_iter().map(Event::Telnet));
            }
            State::Ftp(f) => {
                let mut evs = Vec::new();
                f.on_data(side, data, &mut evs);
                out.extend(evs.into_iter().map(Event::Ftp));
            }
            State::Ssh(s) => {
                let mut evs = Vec::new();
                s.on_data(side, data, &mut evs);
                out.extend(evs.into_iter().map(Event::Ssh));
                finished = s.done();
            }
            State::DnsTcp(d) => d.on_data(side, data, out),
            State::SyslogTcp(lines) => {
                if let Some(l) = lines.get_mut(side.index()) {
                    l.feed(data, MAX_SYSLOG_LINE, |line| {
                        // RFC 6587 octet counting: "LEN <PRI>…"
                        let line = match line.iter().position(|&b| b == b'<') {
                            Some(i)
                                if line.get(..i).is_some_and(|p| {
                                    p.iter().all(|b| b.is_ascii_digit() || *b == b' ')
                                }) =>
                            {
                                line.get(i..).unwrap_or(&[])
                            }
                            _ => line,
                        };
                        if let Ok(s) = syslog::parse(line) {
                            out.push(Event::Syslog(s));
                        }
                    });
                }
            }
        }
        if finished {
            // Nothing more to learn (encrypted, or banners read): free the state.
            self.state = None;
        }
    }
}

/// Parses one datagram of a classified UDP flow.
fn datagram(app: App, data: &[u8], out: &mut Vec<Event>) {
    let ev = match app {
        App::Dhcp => dhcp::parse(data).ok().map(Event::Dhcp),
        App::Dns => dns::parse_with(data, false).ok().map(Event::Dns),
        App::Mdns => dns::parse_with(data, true).ok().map(Event::Dns),
        App::Snmp => snmp::parse(data).ok().map(Event::Snmp),
        App::Ntp => ntp::parse(data).ok().map(Event::Ntp),
        App::Syslog => syslog::parse(data).ok().map(Event::Syslog),
        _ => None,
    };
    out.extend(ev);
}

/// DNS over TCP (RFC 1035 §4.2.2): each message after a 2-byte length.
#[derive(Debug, Default)]
struct DnsTcp {
    bufs: [Vec<u8>; 2],
    lost: [bool; 2],
}

impl DnsTcp {
    fn on_data(&mut self, side: Side, data: &[u8], out: &mut Vec<Event>) {
        let i = side.index();
        if self.lost.get(i).copied().unwrap_or(true) {
            return;
        }
        let Some(buf) = self.bufs.get_mut(i) else {
            return;
        };
        // At most one 64 KiB message plus its prefix is ever buffered.
        buf.extend_from_slice(data);
        while let Some(len) = crate::text::be16(buf, 0).map(usize::from) {
            if buf.len() < 2 + len {
                break;
            }
            if let Ok(d) = dns::parse_with(buf.get(2..2 + len).unwrap_or(&[]), false) {
                out.push(Event::Dns(d));
            }
            buf.drain(..2 + len);
        }
    }

    /// Message boundaries are lost after a gap.
    fn on_gap(&mut self, side: Side) {
        let i = side.index();
        if let (Some(b), Some(l)) = (self.bufs.get_mut(i), self.lost.get_mut(i)) {
            *b = Vec::new();
            *l = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_is_small() {
        assert!(
            std::mem::size_of::<Session>() <= 32,
            "{}",
            std::mem::size_of::<Session>()
        );
        assert_eq!(std::mem::size_of::<Session>(), 16);
    }

    #[test]
    fn gives_up_after_limit_and_returns_quickly() {
        let mut s = Session::new(Transport::Tcp, 40000, 9999);
        let mut out = Vec::new();
        s.on_data(Side::Client, &[0x42; 3000], &mut out);
        assert_eq!(s.app(), App::Unknown);
        s.on_data(Side::Client, &[0x42; 3000], &mut out);
        assert!(s.state.is_none());
        s.on_data(Side::Client, b"GET / HTTP/1.1\r\n\r\n", &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn replays_both_sides_after_classification() {
        let mut s = Session::new(Transport::Tcp, 40000, 2121);
        let mut out = Vec::new();
        s.on_data(Side::Server, b"220 PumpFTP\r\n", &mut out);
        assert_eq!(s.app(), App::Unknown);
        s.on_data(Side::Client, b"USER bob\r\nPASS x\r\n", &mut out);
        assert_eq!(s.app(), App::Ftp);
        assert_eq!(out.len(), 4, "{out:?}");
        assert!(matches!(&out[0], Event::Ftp(ftp::Ftp::Banner(b)) if b == "PumpFTP"));
    }

    #[test]
    fn hl7_on_6661_and_http_on_8080() {
        let mut s = Session::new(Transport::Tcp, 40000, 6661);
        let mut out = Vec::new();
        s.on_data(
            Side::Client,
            b"\x0bMSH|^~\\&|A|B|C|D|2026||ORU^R01|1|P|2.6\rPID|||7\x1c\r",
            &mut out,
        );
        assert_eq!(s.app(), App::Hl7);
        assert!(matches!(&out[..], [Event::Hl7(h)] if h.patient_id_present && h.framed));
        let mut s = Session::new(Transport::Tcp, 40000, 8080);
        s.on_data(
            Side::Client,
            b"GET /x HTTP/1.1\r\nHost: a\r\n\r\n",
            &mut out,
        );
        assert_eq!(s.app(), App::Http);
    }

    #[test]
    fn gap_mid_stream_resynchronises() {
        let mut s = Session::new(Transport::Tcp, 40000, 8080);
        let mut out = Vec::new();
        s.on_data(
            Side::Client,
            b"GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n",
            &mut out,
        );
        s.on_data(
            Side::Server,
            b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nxx",
            &mut out,
        );
        // 998 bytes of body lost: the next response head is still found.
        s.on_gap(Side::Server, 998);
        s.on_data(
            Side::Server,
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
            &mut out,
        );
        // A gap that swallows a head: resynchronise on the next status line.
        s.on_gap(Side::Server, 5000);
        s.on_data(Side::Server, b"ody\r\nHTTP/1.1 500 Oops\r\n\r\n", &mut out);
        let codes: Vec<_> = out
            .iter()
            .filter_map(|e| match e {
                Event::Http(h) => h.status,
                _ => None,
            })
            .collect();
        assert_eq!(codes, vec![200, 404, 500]);
    }

    #[test]
    fn dns_over_tcp() {
        let q = [
            0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, b'a', 0, 0, 1, 0, 1,
        ];
        let mut m = vec![0, q.len() as u8];
        m.extend_from_slice(&q);
        m.extend_from_slice(&m.clone());
        let mut s = Session::new(Transport::Tcp, 40000, 53);
        let mut out = Vec::new();
        for c in m.chunks(5) {
            s.on_data(Side::Client, c, &mut out);
        }
        assert_eq!(s.app(), App::Dns);
        assert_eq!(out.len(), 2);
    }
}
