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
        let c = TcpConn {
            client,
            server,
            client_seq: isn.0,
            server_seq: isn.1,
            rtt,
        };
        let syn = Flags {
            syn: true,
            ..Flags::default()
        };
        sink.emit(
            t,
            frame::tcp(
                client,
                server,
                TTL_CLIENT,
                c.client_seq,
                0,
                syn,
                WINDOW,
                &[],
            ),
        );
        let synack = Flags {
            syn: true,
            ack: true,
            ..Flags::default()
        };
        sink.emit(
            t + rtt,
            frame::tcp(
                server,
                client,
                TTL_SERVER,
                c.server_seq,
                c.client_seq + 1,
                synack,
                WINDOW,
                &[],
            ),
        );
        let mut c = c;
        c.client_seq += 1;
        c.server_seq += 1;
        let t = t + rtt + 20_000;
        c.ack_from_client(sink, t);
        (c, t)
    }

    fn ack_from_client<W: Write>(&self, sink: &mut Sink<W>, t: u64) {
        let ack = Flags {
            ack: true,
            ..Flags::default()
        };
        sink.emit(
            t,
            frame::tcp(
                self.client,
                self.server,
                TTL_CLIENT,
                self.client_seq,
                self.server_seq,
                ack,
                WINDOW,
                &[],
            ),
        );
    }

    fn ack_from_server<W: Write>(&self, sink: &mut Sink<W>, t: u64) {
        let ack = Flags {
            ack: true,
            ..Flags::default()
        };
        sink.emit(
            t,
            frame::tcp(
                self.server,
                self.client,
                TTL_SERVER,
                self.server_seq,
                self.client_seq,
                ack,
                WINDOW,
                &[],
            ),
        );
    }

    /// The client sends `data` from `t`; returns when the server's last ACK arrives.
    /// A last segment may be lost beyond the capture point and retransmitted after
    /// the RTO; an even, non-last segment may arrive after the next one.
    pub fn client_sends<W: Write>(&mut self, sink: &mut Sink<W>, t: u64, data: &[u8]) -> u64 {
        let mut t = t;
        let chunks: Vec<&[u8]> = data.chunks(MSS).collect();
        for (i, chunk) in chunks.iter().enumerate() {
            let psh = i + 1 == chunks.len();
            let flags = Flags {
                ack: true,
                psh,
                ..Flags::default()
            };
            let segment = frame::tcp(
                self.client,
                self.server,
                TTL_CLIENT,
                self.client_seq,
                self.server_seq,
                flags,
                WINDOW,
                chunk,
            );
            let mut ack_at = t + self.rtt;
            if psh && sink.anomaly(Anomaly::Retransmit) {
                sink.emit(t, segment.clone());
                sink.emit(t + RTO, segment);
                ack_at += RTO;
                t += RTO;
            } else if !psh && i % 2 == 0 && sink.anomaly(Anomaly::OutOfOrder) {
                sink.emit(t + 45_000, segment);
            } else {
                sink.emit(t, segment);
            }
            self.client_seq = self.client_seq.wrapping_add(chunk.len() as u32);
            if i % 2 == 1 || psh {
                self.ack_from_server(sink, ack_at);
            }
            t += 30_000;
        }
        t + self.rtt
    }

    /// The server sends `data` starting `t` (as seen at the capture point); returns
    /// when the client's last ACK leaves.
    pub fn server_sends<W: Write>(&mut self, sink: &mut Sink<W>, t: u64, data: &[u8]) -> u64 {
        let mut t = t;
        let chunks: Vec<&[u8]> = data.chunks(MSS).collect();
        for (i, chunk) in chunks.iter().enumerate() {
            let psh = i + 1 == chunks.len();
            let flags = Flags {
                ack: true,
                psh,
                ..Flags::default()
            };
            let segment = frame::tcp(
                self.server,
                self.client,
                TTL_SERVER,
                self.server_seq,
                self.client_seq,
                flags,
                WINDOW,
                chunk,
            );
            // An even, non-last segment may arrive after the next one (no ACK between).
            if !psh && i % 2 == 0 && sink.anomaly(Anomaly::OutOfOrder) {
                sink.emit(t + 18_000, segment);
            } else {
                sink.emit(t, segment);
            }
            self.server_seq = self.server_seq.wrapping_add(chunk.len() as u32);
            t += 12_000;
            if i % 2 == 1 || psh {
                self.ack_from_client(sink, t);
                t += 2_000;
            }
        }
        t
    }

    /// The client closes at `t`; returns when the last ACK leaves.
    pub fn close<W: Write>(mut self, sink: &mut Sink<W>, t: u64) -> u64 {
        let finack = Flags {
            fin: true,
            ack: true,
            ..Flags::default()
        };
        sink.emit(
            t,
            frame::tcp(
                self.client,
                self.server,
                TTL_CLIENT,
                self.client_seq,
                self.server_seq,
                finack,
                WINDOW,
                &[],
            ),
        );
        self.client_seq = self.client_seq.wrapping_add(1);
        sink.emit(
            t + self.rtt,
            frame::tcp(
                self.server,
                self.client,
                TTL_SERVER,
                self.server_seq,
                self.client_seq,
                finack,
                WINDOW,
                &[],
            ),
        );
        self.server_seq = self.server_seq.wrapping_add(1);
        let t = t + self.rtt + 15_000;
        self.ack_from_client(sink, t);
        t
    }
}
