//! Live capture from a network interface through libpcap (cargo feature `live`; needs
//! libpcap-dev to build and root or CAP_NET_RAW to run). Frames come out as the same
//! [`Frame`]s a capture file gives.

use crate::capture::{CaptureError, Frame, LinkType};

/// Read timeout: short enough for the caller to notice a stop flag between packets.
const READ_TIMEOUT_MS: i32 = 200;
const SNAPLEN: i32 = 65535;
/// How long an idle non-blocking read waits before reporting "no packet yet".
const IDLE_PAUSE: std::time::Duration = std::time::Duration::from_millis(5);

/// An open libpcap handle on one interface.
pub struct LiveCapture {
    cap: pcap::Capture<pcap::Active>,
    interface: String,
    link: LinkType,
}

impl std::fmt::Debug for LiveCapture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveCapture")
            .field("interface", &self.interface)
            .field("link", &self.link)
            .finish_non_exhaustive()
    }
}

impl LiveCapture {
    /// Opens `interface` in promiscuous mode with an optional BPF filter (compiled by
    /// libpcap; a bad expression is an error naming it), snaplen 65535 and a read
    /// timeout of 200 ms so the caller can check a stop flag.
    pub fn open(interface: &str, bpf: Option<&str>) -> Result<Self, CaptureError> {
        let live = |e: pcap::Error| CaptureError::Live {
            interface: interface.to_owned(),
            message: e.to_string(),
        };
        let mut cap = pcap::Capture::from_device(interface)
            .map_err(live)?
            .promisc(true)
            .snaplen(SNAPLEN)
            .timeout(READ_TIMEOUT_MS)
            .immediate_mode(true)
            .open()
            .map_err(live)?
            // Linux's TPACKET_V3 read timeout does not expire while no packet arrives
            // (pcap_set_timeout(3PCAP) warns of this), which would leave a stop flag
            // unread: poll without blocking and pause briefly when idle instead.
            .setnonblock()
            .map_err(live)?;
        if let Some(filter) = bpf {
            cap.filter(filter, true).map_err(|e| CaptureError::Filter {
                filter: filter.to_owned(),
                message: e.to_string(),
            })?;
        }
        let link = LinkType::from_linktype(cap.get_datalink().0 as u32);
        Ok(LiveCapture {
            cap,
            interface: interface.to_owned(),
            link,
        })
    }

    /// The next frame; `Ok(None)` when none is waiting (after a 5 ms pause).
    pub fn next_frame(&mut self) -> Result<Option<Frame<'_>>, CaptureError> {
        match self.cap.next_packet() {
            Ok(packet) => {
                let ts = packet.header.ts;
                // time_t and suseconds_t are narrower than i64 on 32-bit targets.
                #[allow(clippy::useless_conversion)]
                let ts_us = i64::from(ts.tv_sec)
                    .saturating_mul(1_000_000)
                    .saturating_add(i64::from(ts.tv_usec));
                Ok(Some(Frame {
                    ts_us,
                    link: self.link,
                    data: packet.data,
                    wire_len: packet.header.len,
                    interface: 0,
                }))
            }
            Err(pcap::Error::TimeoutExpired) => {
                std::thread::sleep(IDLE_PAUSE);
                Ok(None)
            }
            Err(e) => Err(CaptureError::Live {
                interface: self.interface.clone(),
                message: e.to_string(),
            }),
        }
    }

    /// libpcap's counters: packets received and dropped (by the kernel buffer), or `None`
    /// when the platform cannot tell.
    pub fn stats(&mut self) -> Option<(u32, u32)> {
        self.cap.stats().ok().map(|s| (s.received, s.dropped))
    }
}
