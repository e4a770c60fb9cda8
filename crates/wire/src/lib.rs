//! pumpguard-wire: everything between the capture and the application layer of
//! pumpguard's passive sensor. It knows nothing of application protocols, databases or
//! the command line.
//!
//! Module ownership:
//! - [`capture`]: pcap/pcapng files ([`PcapReader`]) and, behind the `live` feature,
//!   libpcap live capture (`LiveCapture`); both yield [`Frame`]s.
//! - [`decode`]: L2–L4 headers of a frame ([`Decoder`] → [`Decoded`]), including IPv4 and
//!   IPv6 fragment reassembly (`defrag`, bounded) and the cooked/NULL link headers
//!   (`link`).
//! - [`flow`]: the [`FlowTable`]: bidirectional flows, TCP state, per-direction TCP stream
//!   reassembly, idle/active timeouts and LRU eviction under a flow limit.
//!
//! The flow table and both reassemblers are our own, not a crate's: their memory bounds
//! (flows, fragments, out-of-order bytes per direction and in total) and what they drop
//! first are part of the sensor's behaviour under attack, the per-flow footprint must stay
//! near 300 bytes, and in-order TCP data must reach the dissectors without a copy. See
//! each module for the details.
//!
//! A typical loop:
//!
//! ```no_run
//! use pumpguard_wire::{Decoder, FlowConfig, FlowTable, PcapReader};
//! # fn main() -> Result<(), pumpguard_wire::CaptureError> {
//! let mut reader = PcapReader::open(std::path::Path::new("capture.pcapng"))?;
//! let mut decoder = Decoder::new();
//! let mut flows: FlowTable<()> = FlowTable::new(FlowConfig::default());
//! while let Some(frame) = reader.next_frame()? {
//!     decoder.decode(&frame, |pkt| {
//!         flows.expire(pkt.ts_us);
//!         flows.process(pkt, |_flow, _dir, _data| {});
//!     });
//!     flows.take_ended(|_flow, _why| {});
//! }
//! flows.drain();
//! flows.take_ended(|_flow, _why| {});
//! # Ok(()) }
//! ```

pub mod capture;
pub mod decode;
mod defrag;
pub mod flow;
mod link;
#[cfg(feature = "live")]
mod live;

pub use capture::*;
pub use decode::*;
pub use flow::*;
#[cfg(feature = "live")]
pub use live::LiveCapture;

#[cfg(test)]
mod tests {
    /// The sensor may run capture, decoding and flows on threads of its choosing.
    #[test]
    fn pipeline_types_are_send() {
        fn send<T: Send>() {}
        send::<crate::PcapReader<std::fs::File>>();
        send::<crate::Decoder>();
        send::<crate::FlowTable<Vec<u8>>>();
        send::<crate::Flow<Vec<u8>>>();
    }
}
