//! A TCP connection as the capture point (next to the client) sees it: three-way
//! handshake, data in MSS-sized segments with acknowledgements, FIN teardown.

use std::io::Write;

use crate::frame::{self, Endpoint, Flags};
use crate::sink::{Anomaly, Sink};

/// Maximum segment size of the simulated Wi-Fi clients.
pub const MSS: usize = 1_400;

#[derive(Debug)]
pub struct TcpConn {
    pub client: Endpoint,
    pub server: Endpoint,
    client_seq: u32,
    server_seq: u32,
    /// Round trip between the capture point and the server, in ns.
    rtt: u64,
}

const WINDOW: u16 = 64_240;
/// Retransmission timeout of the simulated stacks (RFC 6298's 1 s minimum is often
/// lowered to 200 ms in embedded and Linux stacks).
const RTO: u64 = 200_000_000;
const TTL_CLIENT: u8 = 64;
const TTL_SERVER: u8 = 63;

/// Which end sends a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum From {
    Client,
    Server,
}

impl TcpConn {
    /// Opens a connection at `t`; returns when the client's ACK is on the wire.
    pub fn open<W: Write>(
        sink: &mut Sink<W>,
        t: u64,
        client: Endpoint,
        server: Endpoint,
        isn: (u32, u32),
        rtt: u64,
        app: &'static str,
    ) -> (TcpConn, u64) {
        sink.flow(true, &client, &server, app);
        let mut c = TcpConn {
            client,
            server,
            client_seq: isn.0,
            server_seq: isn.1,
            rtt,
        };
        sink.emit(t, c.segment(From::Client, Flags::SYN, &[]));
        c.client_seq = c.client_seq.wrapping_add(1);
        sink.emit(t + rtt, c.segment(From::Server, Flags::SYN_ACK, &[]));
        c.server_seq = c.server_seq.wrapping_add(1);
        let t = t + rtt + 20_000;
        sink.emit(t, c.segment(From::Client, Flags::ACK, &[]));
        (c, t)
    }

    /// A segment from one end, carrying that end's sequence number and acknowledging
    /// everything the other end has sent.
    fn segment(&self, from: From, flags: Flags, payload: &[u8]) -> Vec<u8> {
        match from {
            From::Client => frame::tcp(
                self.client,
                self.server,
                TTL_CLIENT,
                self.client_seq,
                self.server_seq,
                flags,
                WINDOW,
                payload,
            ),
            From::Server => frame::tcp(
                self.server,
                self.client,
                TTL_SERVER,
                self.server_seq,
                self.client_seq,
                flags,
                WINDOW,
                payload,
            ),
        }
    }

    fn data_flags(last: bool) -> Flags {
        if last { Flags::PSH_ACK } else { Flags::ACK }
    }

    /// The client sends `data` from `t`; returns when the server's last ACK arrives.
    /// A last segment may be lost beyond the capture point and retransmitted after
    /// the RTO; an even, non-last segment may arrive after the next one.
    pub fn client_sends<W: Write>(&mut self, sink: &mut Sink<W>, t: u64, data: &[u8]) -> u64 {
        let mut t = t;
        let chunks: Vec<&[u8]> = data.chunks(MSS).collect();
        for (i, chunk) in chunks.iter().enumerate() {
            let last = i + 1 == chunks.len();
            let segment = self.segment(From::Client, Self::data_flags(last), chunk);
            let mut ack_at = t + self.rtt;
            if last && sink.anomaly(Anomaly::Retransmit) {
                sink.emit(t, segment.clone());
                sink.emit(t + RTO, segment);
                ack_at += RTO;
                t += RTO;
            } else if !last && i % 2 == 0 && sink.anomaly(Anomaly::OutOfOrder) {
                sink.emit(t + 45_000, segment);
            } else {
                sink.emit(t, segment);
            }
            self.client_seq = self.client_seq.wrapping_add(chunk.len() as u32);
            if i % 2 == 1 || last {
                sink.emit(ack_at, self.segment(From::Server, Flags::ACK, &[]));
            }
            t += 30_000;
        }
        t + self.rtt
    }

    /// The server sends `data` starting `t` (as seen at the capture point); returns
    /// when the client's last ACK leaves. An even, non-last segment may arrive after
    /// the next one (no ACK between them).
    pub fn server_sends<W: Write>(&mut self, sink: &mut Sink<W>, t: u64, data: &[u8]) -> u64 {
        let mut t = t;
        let chunks: Vec<&[u8]> = data.chunks(MSS).collect();
        for (i, chunk) in chunks.iter().enumerate() {
            let last = i + 1 == chunks.len();
            let segment = self.segment(From::Server, Self::data_flags(last), chunk);
            if !last && i % 2 == 0 && sink.anomaly(Anomaly::OutOfOrder) {
                sink.emit(t + 18_000, segment);
            } else {
                sink.emit(t, segment);
            }
            self.server_seq = self.server_seq.wrapping_add(chunk.len() as u32);
            t += 12_000;
            if i % 2 == 1 || last {
                sink.emit(t, self.segment(From::Client, Flags::ACK, &[]));
                t += 2_000;
            }
        }
        t
    }

    /// The client closes at `t`; returns when the last ACK leaves.
    pub fn close<W: Write>(mut self, sink: &mut Sink<W>, t: u64) -> u64 {
        sink.emit(t, self.segment(From::Client, Flags::FIN_ACK, &[]));
        self.client_seq = self.client_seq.wrapping_add(1);
        sink.emit(
            t + self.rtt,
            self.segment(From::Server, Flags::FIN_ACK, &[]),
        );
        self.server_seq = self.server_seq.wrapping_add(1);
        let t = t + self.rtt + 15_000;
        sink.emit(t, self.segment(From::Client, Flags::ACK, &[]));
        t
    }
}
