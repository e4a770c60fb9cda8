//! A pcapng writer: one Section Header Block, one Interface Description Block
//! (Ethernet, nanosecond timestamps declared with `if_tsresol`), then one Enhanced
//! Packet Block per frame (draft-ietf-opsawg-pcapng).
//!
//! Ours rather than `pcap-file`: three fixed block layouts are all we need, the output
//! must be byte-identical for a seed (no clock or host options), and the hot path writes
//! a million frames without allocating.

use std::io::{self, Write};

const SHB: u32 = 0x0A0D_0D0A;
const IDB: u32 = 0x0000_0001;
const EPB: u32 = 0x0000_0006;
const BYTE_ORDER_MAGIC: u32 = 0x1A2B_3C4D;
const LINKTYPE_ETHERNET: u16 = 1;
const OPT_IF_TSRESOL: u16 = 9;
const SNAPLEN: u32 = 65_535;

/// Writes frames with nanosecond timestamps (epoch nanoseconds).
#[derive(Debug)]
pub struct PcapngWriter<W: Write> {
    out: W,
    packets: u64,
}

impl<W: Write> PcapngWriter<W> {
    /// Writes the section and interface headers.
    pub fn new(mut out: W) -> io::Result<Self> {
        // SHB: type, length, byte-order magic, version 1.0, section length unknown (-1).
        let len: u32 = 28;
        out.write_all(&SHB.to_le_bytes())?;
        out.write_all(&len.to_le_bytes())?;
        out.write_all(&BYTE_ORDER_MAGIC.to_le_bytes())?;
        out.write_all(&1u16.to_le_bytes())?;
        out.write_all(&0u16.to_le_bytes())?;
        out.write_all(&(-1i64).to_le_bytes())?;
        out.write_all(&len.to_le_bytes())?;
        // IDB with if_tsresol = 9 (10^-9 s) and opt_endofopt.
        // type, length, linktype, reserved, snaplen (16) + if_tsresol option (8) +
        // opt_endofopt (4) + trailing length (4).
        let len: u32 = 16 + 8 + 4 + 4;
        out.write_all(&IDB.to_le_bytes())?;
        out.write_all(&len.to_le_bytes())?;
        out.write_all(&LINKTYPE_ETHERNET.to_le_bytes())?;
        out.write_all(&0u16.to_le_bytes())?;
        out.write_all(&SNAPLEN.to_le_bytes())?;
        out.write_all(&OPT_IF_TSRESOL.to_le_bytes())?;
        out.write_all(&1u16.to_le_bytes())?;
        out.write_all(&[9, 0, 0, 0])?;
        out.write_all(&0u32.to_le_bytes())?; // opt_endofopt
        out.write_all(&len.to_le_bytes())?;
        Ok(PcapngWriter { out, packets: 0 })
    }

    /// Writes one Ethernet frame captured at `ts_ns` (nanoseconds since the epoch).
    pub fn frame(&mut self, ts_ns: u64, frame: &[u8]) -> io::Result<()> {
        let pad = (4 - frame.len() % 4) % 4;
        let len = (32 + frame.len() + pad) as u32;
        let caplen = frame.len() as u32;
        let mut head = [0u8; 28];
        head[0..4].copy_from_slice(&EPB.to_le_bytes());
        head[4..8].copy_from_slice(&len.to_le_bytes());
        // interface id 0 at bytes 8..12
        head[12..16].copy_from_slice(&((ts_ns >> 32) as u32).to_le_bytes());
        head[16..20].copy_from_slice(&(ts_ns as u32).to_le_bytes());
        head[20..24].copy_from_slice(&caplen.to_le_bytes());
        head[24..28].copy_from_slice(&caplen.to_le_bytes());
        self.out.write_all(&head)?;
        self.out.write_all(frame)?;
        self.out.write_all(&[0u8; 3][..pad])?;
        self.out.write_all(&len.to_le_bytes())?;
        self.packets += 1;
        Ok(())
    }

    pub fn packets(&self) -> u64 {
        self.packets
    }

    /// Flushes and returns the writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}
