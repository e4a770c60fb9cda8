//! Capture files: pcap (both byte orders, microsecond and nanosecond magic) and pcapng
//! (several sections and interfaces, each with its own link type and timestamp resolution),
//! read as a stream of [`Frame`]s through a bounded buffer. Blocks are parsed by
//! `pcap-parser`; this module keeps the per-interface state it leaves to its callers and
//! turns timestamps into epoch microseconds.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;
use std::sync::{Arc, Mutex};

use pcap_parser::pcapng::{Block, EnhancedPacketBlock, InterfaceDescriptionBlock, OptionCode};
use pcap_parser::traits::{PcapNGPacketBlock, PcapReaderIterator};
use pcap_parser::{LegacyPcapReader, PcapBlockOwned, PcapError, PcapNGReader};

/// The link layer a frame starts with, from the pcap LINKTYPE/DLT numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkType {
    /// 1: Ethernet II / 802.3.
    Ethernet,
    /// 113: Linux "cooked" capture v1 (`tcpdump -i any` before libpcap 1.10).
    LinuxSll,
    /// 276: Linux "cooked" capture v2.
    LinuxSll2,
    /// 101 (and DLT_RAW 12/14, LINKTYPE_IPV4 228, LINKTYPE_IPV6 229): the frame is an IP packet.
    RawIp,
    /// 0 (BSD loopback, family in the capturing host's byte order) and 108 (OpenBSD LOOP).
    Null,
    /// Anything else: counted as unsupported by the decoder.
    Other(u32),
}

impl LinkType {
    /// The link type a pcap header, pcapng interface or libpcap handle names.
    pub fn from_linktype(n: u32) -> LinkType {
        match n {
            1 => LinkType::Ethernet,
            113 => LinkType::LinuxSll,
            276 => LinkType::LinuxSll2,
            101 | 12 | 14 | 228 | 229 => LinkType::RawIp,
            0 | 108 => LinkType::Null,
            other => LinkType::Other(other),
        }
    }
}

/// One captured frame, borrowed from the reader until the next call.
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a> {
    /// Capture time, microseconds since the Unix epoch.
    pub ts_us: i64,
    /// How `data` starts.
    pub link: LinkType,
    /// The captured bytes (at most the snapshot length).
    pub data: &'a [u8],
    /// The frame's length on the wire (≥ `data.len()` when the capture cut it).
    pub wire_len: u32,
    /// The pcapng interface the frame was captured on (0 for pcap and live capture).
    pub interface: u32,
}

/// Why a capture could not be read. Display is one line naming where (byte offset of the
/// block or record) and what is wrong, without the file name (the caller adds it).
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// Reading from the file failed.
    #[error("offset {offset}: read failed: {source}")]
    Io {
        /// Where the read started.
        offset: u64,
        /// What the operating system said.
        #[source]
        source: io::Error,
    },
    /// The file does not start with a pcap or pcapng magic number.
    #[error("offset 0: not a pcap or pcapng file (magic {magic:#010x})")]
    NotCapture {
        /// The first four bytes, big-endian.
        magic: u32,
    },
    /// The file ends inside a header, block or record.
    #[error("offset {offset}: truncated {what}")]
    Truncated {
        /// Where the incomplete block or record starts.
        offset: u64,
        /// "pcap header", "pcap record", "pcapng block", ...
        what: &'static str,
    },
    /// A block or record cannot be parsed.
    #[error("offset {offset}: malformed {what}")]
    Malformed {
        /// Where the block or record starts.
        offset: u64,
        /// What is wrong with it.
        what: String,
    },
    /// A block or record is longer than the reader's buffer may grow.
    #[error("offset {offset}: {what} larger than the {max}-byte limit")]
    TooLarge {
        /// Where the block or record starts.
        offset: u64,
        /// "pcapng block" or "pcap record".
        what: &'static str,
        /// The limit.
        max: usize,
    },
    /// A packet block names an interface its section did not describe.
    #[error(
        "offset {offset}: packet block names interface {interface}, but its section describes {described}"
    )]
    UnknownInterface {
        /// Where the packet block starts.
        offset: u64,
        /// The interface id in the block.
        interface: u32,
        /// How many interfaces the section described so far.
        described: usize,
    },
    /// libpcap could not open or read the interface (live capture).
    #[error("interface {interface}: {message}")]
    Live {
        /// The interface name.
        interface: String,
        /// What libpcap said.
        message: String,
    },
    /// libpcap rejected the BPF filter expression (live capture).
    #[error("BPF filter {filter:?}: {message}")]
    Filter {
        /// The expression as given.
        filter: String,
        /// What libpcap said.
        message: String,
    },
}

/// The buffer starts at this size: large enough that most reads fill many records.
const INITIAL_BUFFER: usize = 256 * 1024;
/// The buffer grows (for one huge block) up to this size, and no further.
pub const MAX_BLOCK: usize = 16 * 1024 * 1024;

/// pcapng Section Header Block type, the same in both byte orders.
const SHB_TYPE: u32 = 0x0A0D_0D0A;
/// pcapng obsolete Packet Block type (pcap-parser hands it over as an unknown block).
const OBSOLETE_PB_TYPE: u32 = 0x0000_0002;

/// What a pcapng Interface Description Block says about the packets that name it.
#[derive(Debug, Clone, Copy)]
struct Interface {
    link: LinkType,
    snaplen: u32,
    tsresol: u8,
    tsoffset: i64,
}

/// The last I/O error, which pcap-parser reduces to a bare `ReadError`.
type Stash = Arc<Mutex<Option<io::Error>>>;

/// The caller's reader, keeping its errors for [`CaptureError::Io`].
#[derive(Debug)]
struct Source<R> {
    inner: R,
    error: Stash,
}

impl<R: Read> Read for Source<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.inner.read(buf) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    let copy = io::Error::new(e.kind(), e.to_string());
                    if let Ok(mut slot) = self.error.lock() {
                        *slot = Some(e);
                    }
                    return Err(copy);
                }
                ok => return ok,
            }
        }
    }
}

/// The caller's reader with the four magic bytes we read to pick the format put back.
/// Its first read fills at least the file and section headers: pcap-parser reads its
/// header with a single `read` call and would take a short read for a truncated file.
#[derive(Debug)]
struct Stream<R> {
    magic: [u8; 4],
    given: usize,
    source: Source<R>,
}

/// What the first read must hold when the file is that long: the 24-byte pcap header,
/// or a pcapng section header block with a few options.
const FIRST_READ: usize = 4096;

impl<R: Read> Read for Stream<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let first = self.given == 0;
        let mut n = 0;
        if let Some(rest) = self.magic.get(self.given..) {
            let k = rest.len().min(buf.len());
            if let (Some(dst), Some(src)) = (buf.get_mut(..k), rest.get(..k)) {
                dst.copy_from_slice(src);
            }
            self.given += k;
            n += k;
        }
        let want = if first {
            FIRST_READ.min(buf.len())
        } else {
            n + 1
        };
        while n < want {
            let Some(space) = buf.get_mut(n..) else { break };
            match self.source.read(space) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) if n == 0 => return Err(e),
                Err(_) => break,
            }
        }
        Ok(n)
    }
}

enum Inner<R: Read> {
    Legacy(LegacyPcapReader<Stream<R>>),
    Ng(PcapNGReader<Stream<R>>),
}

impl<R: Read> Inner<R> {
    fn it(&mut self) -> &mut dyn PcapReaderIterator {
        match self {
            Inner::Legacy(r) => r,
            Inner::Ng(r) => r,
        }
    }
    fn it_ref(&self) -> &dyn PcapReaderIterator {
        match self {
            Inner::Legacy(r) => r,
            Inner::Ng(r) => r,
        }
    }
}

/// What the block at the front of the buffer turned out to be, without borrowing it.
enum Step {
    Frame {
        consume: usize,
        start: usize,
        len: usize,
        ts_us: i64,
        link: LinkType,
        wire_len: u32,
        interface: u32,
    },
    Skip(usize),
    Eof,
    Refill,
    Grow,
    Io,
    Fail(CaptureError),
}

/// Streams the frames of a pcap or pcapng file through a bounded buffer.
pub struct PcapReader<R: Read> {
    inner: Inner<R>,
    error: Stash,
    /// The buffer's size: starts at [`INITIAL_BUFFER`], doubles for a large block.
    capacity: usize,
    /// Bytes of the last returned frame's block, consumed on the next call.
    pending: usize,
    /// Legacy pcap: the header's link type and timestamp unit.
    legacy_link: LinkType,
    legacy_nanos: bool,
    /// pcapng: the current section's interfaces and byte order.
    interfaces: Vec<Interface>,
    big_endian: bool,
    /// After an error the reader reports a clean end.
    done: bool,
}

impl<R: Read> std::fmt::Debug for PcapReader<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PcapReader")
            .field("format", &self.format())
            .field("bytes_read", &self.bytes_read())
            .field("interfaces", &self.interfaces.len())
            .finish_non_exhaustive()
    }
}

impl PcapReader<File> {
    /// Opens a pcap or pcapng file.
    pub fn open(path: &Path) -> Result<Self, CaptureError> {
        let file = File::open(path).map_err(|source| CaptureError::Io { offset: 0, source })?;
        PcapReader::new(file)
    }
}

impl<R: Read> PcapReader<R> {
    /// Reads the file header and picks pcap or pcapng by its magic number.
    pub fn new(mut reader: R) -> Result<Self, CaptureError> {
        let mut magic = [0u8; 4];
        let mut got = 0;
        while got < magic.len() {
            let rest = magic.get_mut(got..).unwrap_or_default();
            match reader.read(rest) {
                Ok(0) => {
                    return Err(CaptureError::Truncated {
                        offset: 0,
                        what: "capture file header",
                    });
                }
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(source) => return Err(CaptureError::Io { offset: 0, source }),
            }
        }
        let error = Stash::default();
        let source = Source {
            inner: reader,
            error: Arc::clone(&error),
        };
        let stream = Stream {
            magic,
            given: 0,
            source,
        };
        let le = u32::from_le_bytes(magic);
        let inner = match le {
            SHB_TYPE => PcapNGReader::new(INITIAL_BUFFER, stream)
                .map(Inner::Ng)
                .map_err(|e| opening_error(e, "pcapng section header"))?,
            0xa1b2_c3d4 | 0xd4c3_b2a1 | 0xa1b2_3c4d | 0x4d3c_b2a1 | 0xa1b2_cd34 => {
                LegacyPcapReader::new(INITIAL_BUFFER, stream)
                    .map(Inner::Legacy)
                    .map_err(|e| opening_error(e, "pcap header"))?
            }
            _ => {
                return Err(CaptureError::NotCapture {
                    magic: u32::from_be_bytes(magic),
                });
            }
        };
        Ok(PcapReader {
            inner,
            error,
            capacity: INITIAL_BUFFER,
            pending: 0,
            legacy_link: LinkType::Ethernet,
            legacy_nanos: false,
            interfaces: Vec::new(),
            big_endian: false,
            done: false,
        })
    }

    /// "pcap" or "pcapng".
    pub fn format(&self) -> &'static str {
        match self.inner {
            Inner::Legacy(_) => "pcap",
            Inner::Ng(_) => "pcapng",
        }
    }

    /// Bytes of the file parsed so far (block boundaries), for a progress bar.
    pub fn bytes_read(&self) -> u64 {
        let consumed = self.inner.it_ref().consumed() as u64;
        consumed.saturating_add(self.pending as u64)
    }

    /// Next frame; `Ok(None)` at a clean end of file. A truncated last record is an error
    /// (the caller decides whether to keep what it read); after any error the reader
    /// reports `Ok(None)`.
    pub fn next_frame(&mut self) -> Result<Option<Frame<'_>>, CaptureError> {
        if self.done {
            return Ok(None);
        }
        if self.pending > 0 {
            // Without the shift `consume` does past half the buffer: refilling moves the
            // few bytes of a partial block instead of up to half the buffer, often.
            self.inner.it().consume_noshift(self.pending);
            self.pending = 0;
        }
        loop {
            match self.step() {
                Step::Frame {
                    consume,
                    start,
                    len,
                    ts_us,
                    link,
                    wire_len,
                    interface,
                } => {
                    self.pending = consume;
                    let data = self
                        .inner
                        .it_ref()
                        .data()
                        .get(start..start.saturating_add(len))
                        .unwrap_or_default();
                    return Ok(Some(Frame {
                        ts_us,
                        link,
                        data,
                        wire_len,
                        interface,
                    }));
                }
                Step::Skip(n) => self.inner.it().consume_noshift(n),
                Step::Eof => {
                    self.done = true;
                    return Ok(None);
                }
                Step::Refill => {
                    let it = self.inner.it();
                    let before = it.data().len();
                    let refilled = it.refill().is_ok();
                    let after = it.data().len();
                    if !refilled {
                        return Err(self.fail_io());
                    }
                    if after == before && !it.reader_exhausted() {
                        // A parser asking for more while the buffer is full: grow it.
                        if let Some(e) = self.grow() {
                            return Err(e);
                        }
                    }
                }
                Step::Grow => {
                    if let Some(e) = self.grow() {
                        return Err(e);
                    }
                }
                Step::Io => return Err(self.fail_io()),
                Step::Fail(e) => {
                    self.done = true;
                    return Err(e);
                }
            }
        }
    }

    fn what(&self) -> &'static str {
        match self.inner {
            Inner::Legacy(_) => "pcap record",
            Inner::Ng(_) => "pcapng block",
        }
    }

    fn offset(&self) -> u64 {
        self.inner.it_ref().consumed() as u64
    }

    fn grow(&mut self) -> Option<CaptureError> {
        let new = self.capacity.saturating_mul(2).min(MAX_BLOCK);
        if self.capacity >= MAX_BLOCK || !self.inner.it().grow(new) {
            self.done = true;
            return Some(CaptureError::TooLarge {
                offset: self.offset(),
                what: self.what(),
                max: MAX_BLOCK,
            });
        }
        self.capacity = new;
        None
    }

    fn fail_io(&mut self) -> CaptureError {
        self.done = true;
        let offset = self.offset();
        let stashed = self.error.lock().ok().and_then(|mut slot| slot.take());
        CaptureError::Io {
            offset,
            source: stashed.unwrap_or_else(|| io::Error::other("read failed")),
        }
    }

    /// Parses the block at the front of the buffer into a [`Step`] that borrows nothing,
    /// so the caller may consume, refill or slice afterwards.
    fn step(&mut self) -> Step {
        let offset = self.offset();
        let what = self.what();
        let it = self.inner.it();
        let base = it.data().as_ptr() as usize;
        let (consume, block) = match it.next() {
            Ok(ok) => ok,
            Err(PcapError::Eof) => return Step::Eof,
            Err(PcapError::Incomplete(_)) => return Step::Refill,
            Err(PcapError::BufferTooSmall) => return Step::Grow,
            Err(PcapError::UnexpectedEof) => {
                return Step::Fail(CaptureError::Truncated { offset, what });
            }
            Err(PcapError::ReadError) => return Step::Io,
            Err(PcapError::HeaderNotRecognized) => {
                return Step::Fail(CaptureError::Malformed {
                    offset,
                    what: format!("{what}: header not recognised"),
                });
            }
            Err(PcapError::NomError(_, kind)) | Err(PcapError::OwnedNomError(_, kind)) => {
                return Step::Fail(CaptureError::Malformed {
                    offset,
                    what: format!("{what} ({})", kind.description()),
                });
            }
        };
        let at = |data: &[u8]| (data.as_ptr() as usize).saturating_sub(base);
        match block {
            PcapBlockOwned::LegacyHeader(h) => {
                self.legacy_link = LinkType::from_linktype(h.network.0 as u32);
                self.legacy_nanos = h.is_nanosecond_precision();
                Step::Skip(consume)
            }
            PcapBlockOwned::Legacy(b) => {
                let sub = i64::from(b.ts_usec);
                let sub_us = if self.legacy_nanos { sub / 1000 } else { sub };
                Step::Frame {
                    consume,
                    start: at(b.data),
                    len: b.data.len(),
                    ts_us: i64::from(b.ts_sec)
                        .saturating_mul(1_000_000)
                        .saturating_add(sub_us),
                    link: self.legacy_link,
                    wire_len: b.origlen.max(b.data.len() as u32),
                    interface: 0,
                }
            }
            PcapBlockOwned::NG(Block::SectionHeader(shb)) => {
                self.interfaces.clear();
                self.big_endian = shb.big_endian();
                Step::Skip(consume)
            }
            PcapBlockOwned::NG(Block::InterfaceDescription(idb)) => {
                self.interfaces.push(interface(&idb, self.big_endian));
                Step::Skip(consume)
            }
            PcapBlockOwned::NG(Block::EnhancedPacket(epb)) => {
                match packet(&self.interfaces, offset, epb.if_id, epb_ts(&epb)) {
                    Ok((iface, ts_us)) => {
                        let data = epb.packet_data();
                        Step::Frame {
                            consume,
                            start: at(data),
                            len: data.len(),
                            ts_us,
                            link: iface.link,
                            wire_len: epb.origlen.max(data.len() as u32),
                            interface: epb.if_id,
                        }
                    }
                    Err(e) => Step::Fail(e),
                }
            }
            PcapBlockOwned::NG(Block::SimplePacket(spb)) => {
                // RFC draft-ietf-opsawg-pcapng §4.4: no timestamp, interface 0, and the
                // captured length is the smaller of the original length and the snaplen.
                let Some(iface) = self.interfaces.first().copied() else {
                    return Step::Fail(CaptureError::UnknownInterface {
                        offset,
                        interface: 0,
                        described: 0,
                    });
                };
                let mut data = spb.packet_data();
                if iface.snaplen > 0 {
                    data = data.get(..iface.snaplen as usize).unwrap_or(data);
                }
                Step::Frame {
                    consume,
                    start: at(data),
                    len: data.len(),
                    ts_us: 0,
                    link: iface.link,
                    wire_len: spb.origlen.max(data.len() as u32),
                    interface: 0,
                }
            }
            // pcap-parser reads an unknown block's type little-endian in either byte order.
            PcapBlockOwned::NG(Block::Unknown(u))
                if u.block_type == OBSOLETE_PB_TYPE
                    || (self.big_endian && u.block_type.swap_bytes() == OBSOLETE_PB_TYPE) =>
            {
                // The obsolete Packet Block (pcapng draft, appendix A): interface id (u16),
                // drops count (u16), timestamp high and low, captured and original length.
                let be = self.big_endian;
                let u16_at = |i: usize| {
                    u.data
                        .get(i..i + 2)
                        .and_then(|s| s.try_into().ok())
                        .map(|b: [u8; 2]| {
                            if be {
                                u16::from_be_bytes(b)
                            } else {
                                u16::from_le_bytes(b)
                            }
                        })
                };
                let u32_at = |i: usize| {
                    u.data
                        .get(i..i + 4)
                        .and_then(|s| s.try_into().ok())
                        .map(|b: [u8; 4]| {
                            if be {
                                u32::from_be_bytes(b)
                            } else {
                                u32::from_le_bytes(b)
                            }
                        })
                };
                let (Some(if_id), Some(hi), Some(lo), Some(caplen), Some(origlen)) =
                    (u16_at(0), u32_at(4), u32_at(8), u32_at(12), u32_at(16))
                else {
                    return Step::Fail(CaptureError::Malformed {
                        offset,
                        what: "obsolete packet block: header too short".into(),
                    });
                };
                let raw = (u64::from(hi) << 32) | u64::from(lo);
                match packet(&self.interfaces, offset, u32::from(if_id), raw) {
                    Ok((iface, ts_us)) => {
                        let body = u.data.get(20..).unwrap_or_default();
                        let Some(data) = body.get(..caplen as usize) else {
                            return Step::Fail(CaptureError::Malformed {
                                offset,
                                what: format!(
                                    "obsolete packet block: captured length {caplen} exceeds the block"
                                ),
                            });
                        };
                        Step::Frame {
                            consume,
                            start: at(data),
                            len: data.len(),
                            ts_us,
                            link: iface.link,
                            wire_len: origlen.max(caplen),
                            interface: u32::from(if_id),
                        }
                    }
                    Err(e) => Step::Fail(e),
                }
            }
            PcapBlockOwned::NG(_) => Step::Skip(consume),
        }
    }
}

/// The interface a packet block names, and its timestamp in epoch microseconds.
fn packet(
    interfaces: &[Interface],
    offset: u64,
    if_id: u32,
    raw_ts: u64,
) -> Result<(Interface, i64), CaptureError> {
    let iface = interfaces
        .get(if_id as usize)
        .copied()
        .ok_or(CaptureError::UnknownInterface {
            offset,
            interface: if_id,
            described: interfaces.len(),
        })?;
    Ok((iface, pcapng_ts_us(raw_ts, iface.tsresol, iface.tsoffset)))
}

fn opening_error(e: PcapError<&'static [u8]>, what: &'static str) -> CaptureError {
    match e {
        PcapError::Incomplete(_) | PcapError::UnexpectedEof | PcapError::Eof => {
            CaptureError::Truncated { offset: 0, what }
        }
        PcapError::ReadError => CaptureError::Io {
            offset: 0,
            source: io::Error::other("read failed"),
        },
        PcapError::NomError(_, kind) | PcapError::OwnedNomError(_, kind) => {
            CaptureError::Malformed {
                offset: 0,
                what: format!("{what} ({})", kind.description()),
            }
        }
        PcapError::BufferTooSmall => CaptureError::TooLarge {
            offset: 0,
            what,
            max: INITIAL_BUFFER,
        },
        PcapError::HeaderNotRecognized => CaptureError::Malformed {
            offset: 0,
            what: format!("{what}: not recognised"),
        },
    }
}

fn interface(idb: &InterfaceDescriptionBlock<'_>, big_endian: bool) -> Interface {
    // pcap-parser reads if_tsoffset as little-endian whatever the section's byte order,
    // so take it from the raw option (code 14, a signed 64-bit count of seconds).
    let tsoffset = idb
        .options
        .iter()
        .find(|o| o.code == OptionCode::IfTsoffset)
        .and_then(|o| o.value().get(..8)?.try_into().ok())
        .map_or(idb.if_tsoffset, |b: [u8; 8]| {
            if big_endian {
                i64::from_be_bytes(b)
            } else {
                i64::from_le_bytes(b)
            }
        });
    Interface {
        link: LinkType::from_linktype(idb.linktype.0 as u32),
        snaplen: idb.snaplen,
        tsresol: idb.if_tsresol,
        tsoffset,
    }
}

fn epb_ts(epb: &EnhancedPacketBlock<'_>) -> u64 {
    (u64::from(epb.ts_high) << 32) | u64::from(epb.ts_low)
}

/// A pcapng timestamp in epoch microseconds: `raw` units of `if_tsresol` (most significant
/// bit clear: 10^-n s, set: 2^-n s) plus `if_tsoffset` seconds. Saturates instead of
/// overflowing on absurd values.
pub(crate) fn pcapng_ts_us(raw: u64, tsresol: u8, tsoffset: i64) -> i64 {
    let raw = i128::from(raw);
    let n = u32::from(tsresol & 0x7f);
    let us = if tsresol & 0x80 == 0 {
        if n >= 6 {
            match 10i128.checked_pow(n - 6) {
                Some(div) => raw / div,
                None => 0,
            }
        } else {
            raw * 10i128.pow(6 - n)
        }
    } else {
        // 2^-n seconds; n ≤ 127, and raw < 2^64, so raw * 10^6 fits an i128.
        (raw * 1_000_000) >> n.min(127)
    };
    let total = us.saturating_add(i128::from(tsoffset).saturating_mul(1_000_000));
    i64::try_from(total).unwrap_or(if total < 0 { i64::MIN } else { i64::MAX })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pcapng_timestamps_in_every_resolution() {
        // Default: microseconds.
        assert_eq!(
            pcapng_ts_us(1_700_000_000_123_456, 6, 0),
            1_700_000_000_123_456
        );
        // Nanoseconds and milliseconds.
        assert_eq!(
            pcapng_ts_us(1_700_000_000_123_456_789, 9, 0),
            1_700_000_000_123_456
        );
        assert_eq!(pcapng_ts_us(1_700_000_000_123, 3, 0), 1_700_000_000_123_000);
        // Seconds with an offset of -10 s.
        assert_eq!(pcapng_ts_us(100, 0, -10), 90_000_000);
        // 2^-10 s: 1024 units are one second.
        assert_eq!(pcapng_ts_us(1024 * 5 + 512, 0x80 | 10, 0), 5_500_000);
        // Absurd values saturate instead of overflowing.
        assert_eq!(pcapng_ts_us(u64::MAX, 0, i64::MAX), i64::MAX);
        assert_eq!(pcapng_ts_us(u64::MAX, 0x80 | 0x7f, 0), 0);
        assert_eq!(pcapng_ts_us(u64::MAX, 127, 0), 0);
        assert_eq!(pcapng_ts_us(5, 0, i64::MIN), i64::MIN);
    }

    #[test]
    fn link_types_from_their_numbers() {
        for (n, l) in [
            (1, LinkType::Ethernet),
            (113, LinkType::LinuxSll),
            (276, LinkType::LinuxSll2),
            (101, LinkType::RawIp),
            (12, LinkType::RawIp),
            (14, LinkType::RawIp),
            (0, LinkType::Null),
            (108, LinkType::Null),
            (105, LinkType::Other(105)),
        ] {
            assert_eq!(LinkType::from_linktype(n), l);
        }
    }
}
