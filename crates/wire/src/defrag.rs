//! IPv4 and IPv6 fragment reassembly (RFC 791 §3.2, RFC 8200 §4.5), bounded in
//! concurrent datagrams, buffered bytes and time (capture time, not wall time).
//!
//! Our own rather than etherparse's `defrag::IpDefragPool`: that pool documents itself as
//! not safe against memory exhaustion (no cap on concurrent datagrams, and no way to
//! count them from outside), expires by rebuilding its whole map, lets a later
//! overlapping fragment overwrite earlier bytes, and only takes a strict `SlicedPacket`.
//! Here overlapping bytes keep the first-received copy (the same "first" policy as TCP
//! reassembly), so a Teardrop-style rewrite cannot change what the sensor sees.

use std::collections::VecDeque;
use std::net::IpAddr;

use hashbrown::HashMap;

use crate::decode::IpHeader;

/// The largest payload an IP datagram can carry (the IPv4 total length and the IPv6
/// payload length are 16-bit); a fragment ending beyond it is an attack, not data.
const MAX_PAYLOAD: u32 = 65_535;
/// Buffers kept for reuse, so steady fragmented traffic does not allocate per datagram.
const SPARE_BUFFERS: usize = 4;

/// Bounds on reassembly state.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub max_datagrams: usize,
    pub max_bytes: usize,
    pub timeout_us: i64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_datagrams: 4096,
            max_bytes: 32 * 1024 * 1024,
            timeout_us: 30_000_000,
        }
    }
}

/// What identifies the fragments of one datagram: RFC 791 uses source, destination,
/// protocol and identification; RFC 8200 source, destination and identification (the
/// protocol is 0 for IPv6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct FragKey {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub id: u32,
    pub proto: u8,
}

/// One fragment as the decoder found it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fragment<'a> {
    pub key: FragKey,
    /// Byte offset of `data` in the datagram's payload.
    pub offset: u32,
    pub more: bool,
    pub data: &'a [u8],
    pub ts_us: i64,
    /// The header of this fragment (its `proto` is what follows the fragment header).
    pub header: IpHeader,
    /// Bytes from the start of the IP header to the fragmentable part.
    pub header_len: u32,
}

/// A reassembled datagram.
#[derive(Debug)]
pub(crate) struct Complete {
    /// The first fragment's header.
    pub header: IpHeader,
    pub header_len: u32,
    pub payload: Vec<u8>,
}

#[derive(Debug)]
pub(crate) enum Outcome {
    /// Kept; the datagram is not complete yet.
    Pending,
    /// This fragment completed its datagram.
    Complete(Complete),
    /// This many fragments were thrown away (this one, and perhaps its datagram's).
    Dropped(u64),
}

#[derive(Debug)]
struct Datagram {
    created_us: i64,
    serial: u64,
    data: Vec<u8>,
    /// Received byte ranges of the payload, sorted, disjoint and not touching.
    ranges: Vec<(u32, u32)>,
    /// Payload length, known once the last fragment (MF clear) arrived.
    total: Option<u32>,
    /// From the fragment at offset 0.
    header: Option<(IpHeader, u32)>,
    fragments: u64,
}

/// Counters the decoder folds into its statistics.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Counters {
    /// Fragments thrown away because their datagram timed out.
    pub expired: u64,
    /// Fragments thrown away to stay under the datagram or byte limits.
    pub evicted: u64,
    /// Payload bytes that arrived twice; the first copy was kept.
    pub overlap_bytes: u64,
}

/// Datagrams being reassembled.
#[derive(Debug)]
pub(crate) struct Reassembler {
    datagrams: HashMap<FragKey, Datagram, foldhash::fast::RandomState>,
    /// Datagram keys by creation; entries whose datagram is gone (or was replaced, see
    /// `serial`) are skipped when they reach the front.
    order: VecDeque<(FragKey, u64)>,
    serial: u64,
    /// Buffer capacity held by `datagrams`.
    bytes: usize,
    spare: Vec<Vec<u8>>,
    limits: Limits,
    pub counters: Counters,
}

impl Reassembler {
    pub fn new(limits: Limits) -> Self {
        Reassembler {
            datagrams: HashMap::default(),
            order: VecDeque::new(),
            serial: 0,
            bytes: 0,
            spare: Vec::new(),
            limits,
            counters: Counters::default(),
        }
    }

    /// Datagrams in progress.
    pub fn pending(&self) -> usize {
        self.datagrams.len()
    }

    /// Returns a completed payload's buffer for reuse.
    pub fn recycle(&mut self, mut buf: Vec<u8>) {
        if self.spare.len() < SPARE_BUFFERS {
            buf.clear();
            self.spare.push(buf);
        }
    }

    /// Adds one fragment.
    pub fn add(&mut self, frag: Fragment<'_>) -> Outcome {
        self.expire(frag.ts_us);
        let len = u32::try_from(frag.data.len()).unwrap_or(u32::MAX);
        let Some(end) = frag.offset.checked_add(len).filter(|&e| e <= MAX_PAYLOAD) else {
            return Outcome::Dropped(1 + self.drop_datagram(&frag.key));
        };
        if !self.datagrams.contains_key(&frag.key) {
            while self.datagrams.len() >= self.limits.max_datagrams.max(1) {
                let n = self.evict_oldest();
                self.counters.evicted += n;
                if n == 0 {
                    break;
                }
            }
            self.serial += 1;
            let data = self.spare.pop().unwrap_or_default();
            self.bytes = self.bytes.saturating_add(data.capacity());
            self.datagrams.insert(
                frag.key,
                Datagram {
                    created_us: frag.ts_us,
                    serial: self.serial,
                    data,
                    ranges: Vec::new(),
                    total: None,
                    header: None,
                    fragments: 0,
                },
            );
            self.order.push_back((frag.key, self.serial));
            self.compact_order();
        }
        let Some(d) = self.datagrams.get_mut(&frag.key) else {
            return Outcome::Dropped(1);
        };
        d.fragments += 1;
        let conflict = if frag.more {
            d.total.is_some_and(|t| end > t)
        } else {
            d.total.is_some_and(|t| t != end) || d.ranges.last().is_some_and(|&(_, e)| e > end)
        };
        if conflict {
            return Outcome::Dropped(self.drop_datagram(&frag.key));
        }
        if !frag.more {
            d.total = Some(end);
        }
        if frag.offset == 0 && d.header.is_none() {
            d.header = Some((frag.header, frag.header_len));
        }
        let before = d.data.capacity();
        if d.data.len() < end as usize {
            d.data.resize(end as usize, 0);
        }
        let grown = d.data.capacity().saturating_sub(before);
        let overlap = insert_first(&mut d.ranges, &mut d.data, frag.offset, frag.data);
        self.counters.overlap_bytes += overlap;
        let complete = d.total.is_some_and(|t| d.ranges == [(0, t)]) && d.header.is_some();
        self.bytes = self.bytes.saturating_add(grown);
        if complete {
            return match self.datagrams.remove(&frag.key) {
                Some(mut d) => {
                    self.bytes = self.bytes.saturating_sub(d.data.capacity());
                    let (header, header_len) = d.header.unwrap_or((frag.header, frag.header_len));
                    d.data.truncate(d.total.unwrap_or(0) as usize);
                    Outcome::Complete(Complete {
                        header,
                        header_len,
                        payload: d.data,
                    })
                }
                None => Outcome::Pending,
            };
        }
        while self.bytes > self.limits.max_bytes {
            let n = self.evict_oldest();
            self.counters.evicted += n;
            if n == 0 {
                break;
            }
            if !self.datagrams.contains_key(&frag.key) {
                // This fragment's own datagram was the oldest: it is gone with it.
                return Outcome::Pending;
            }
        }
        Outcome::Pending
    }

    /// Drops datagrams whose first fragment is older than the timeout at `now_us`.
    pub fn expire(&mut self, now_us: i64) {
        while let Some(&(key, serial)) = self.order.front() {
            match self.datagrams.get(&key) {
                Some(d) if d.serial == serial => {
                    if d.created_us.saturating_add(self.limits.timeout_us) > now_us {
                        return;
                    }
                    let n = self.drop_datagram(&key);
                    self.counters.expired += n;
                }
                _ => {}
            }
            self.order.pop_front();
        }
    }

    /// Drops the oldest datagram; returns how many fragments went with it.
    fn evict_oldest(&mut self) -> u64 {
        while let Some((key, serial)) = self.order.pop_front() {
            if self.datagrams.get(&key).is_some_and(|d| d.serial == serial) {
                return self.drop_datagram(&key);
            }
        }
        0
    }

    /// Keeps the creation queue from filling with completed datagrams' keys.
    fn compact_order(&mut self) {
        if self.order.len() > 2 * self.datagrams.len() + 64 {
            let datagrams = &self.datagrams;
            self.order
                .retain(|(k, s)| datagrams.get(k).is_some_and(|d| d.serial == *s));
        }
    }

    fn drop_datagram(&mut self, key: &FragKey) -> u64 {
        match self.datagrams.remove(key) {
            Some(d) => {
                self.bytes = self.bytes.saturating_sub(d.data.capacity());
                let n = d.fragments;
                self.recycle(d.data);
                n
            }
            None => 0,
        }
    }
}

/// Copies the bytes of `[offset, offset + data.len())` that no earlier fragment supplied
/// into `buf`, records the range in `ranges` and returns how many bytes were already
/// there. `buf` is at least `offset + data.len()` long.
fn insert_first(ranges: &mut Vec<(u32, u32)>, buf: &mut [u8], offset: u32, data: &[u8]) -> u64 {
    let end = offset.saturating_add(u32::try_from(data.len()).unwrap_or(u32::MAX));
    if end <= offset {
        return 0;
    }
    let mut cur = offset;
    let mut overlap = 0u64;
    let copy = |from: u32, to: u32, buf: &mut [u8]| {
        let src = data.get((from - offset) as usize..(to - offset) as usize);
        let dst = buf.get_mut(from as usize..to as usize);
        if let (Some(src), Some(dst)) = (src, dst) {
            dst.copy_from_slice(src);
        }
    };
    for &(s, e) in ranges.iter() {
        if e <= cur {
            continue;
        }
        if s >= end {
            break;
        }
        if s > cur {
            copy(cur, s, buf);
        }
        overlap += u64::from(e.min(end) - s.max(cur));
        cur = e;
        if cur >= end {
            break;
        }
    }
    if cur < end {
        copy(cur, end, buf);
    }
    // Merge [offset, end) into the sorted list, joining neighbours that touch.
    let mut merged = (offset, end);
    ranges.retain(|&(s, e)| {
        if e < merged.0 || s > merged.1 {
            true
        } else {
            merged = (merged.0.min(s), merged.1.max(e));
            false
        }
    });
    let at = ranges.partition_point(|&(s, _)| s < merged.0);
    ranges.insert(at, merged);
    overlap
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    fn key() -> FragKey {
        FragKey {
            src: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
            dst: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
            id: 7,
            proto: 17,
        }
    }

    fn frag(offset: u32, more: bool, data: &[u8], ts_us: i64) -> Fragment<'_> {
        Fragment {
            key: key(),
            offset,
            more,
            data,
            ts_us,
            header: IpHeader {
                src: key().src,
                dst: key().dst,
                proto: 17,
                ttl: 64,
            },
            header_len: 20,
        }
    }

    #[test]
    fn reverse_order_and_overlap_keep_first_bytes() {
        let mut r = Reassembler::new(Limits::default());
        let payload: Vec<u8> = (0..48u8).collect();
        assert!(matches!(
            r.add(frag(32, false, &payload[32..], 0)),
            Outcome::Pending
        ));
        // Overlaps 8..24 with a different copy of 16..24: the later bytes must lose.
        let evil = [0xEEu8; 16];
        assert!(matches!(
            r.add(frag(16, true, &payload[16..32], 1)),
            Outcome::Pending
        ));
        assert!(matches!(r.add(frag(8, true, &evil, 2)), Outcome::Pending));
        match r.add(frag(0, true, &payload[..16], 3)) {
            Outcome::Complete(c) => {
                let mut want = payload.clone();
                want[8..16].copy_from_slice(&[0xEE; 8]);
                assert_eq!(c.payload, want);
            }
            other => panic!("expected completion, got {other:?}"),
        }
        assert_eq!(r.counters.overlap_bytes, 16);
        assert_eq!(r.pending(), 0);
    }

    #[test]
    fn limits_hold() {
        let limits = Limits {
            max_datagrams: 3,
            max_bytes: 1 << 20,
            timeout_us: 10,
        };
        let mut r = Reassembler::new(limits);
        for id in 0..10 {
            let mut f = frag(0, true, &[0; 8], 0);
            f.key.id = id;
            r.add(f);
            assert!(r.pending() <= 3);
        }
        assert_eq!(r.counters.evicted, 7);
        r.expire(11);
        assert_eq!(r.pending(), 0);
        assert_eq!(r.counters.expired, 3);
        assert!(matches!(
            r.add(frag(65_530, true, &[0; 8], 20)),
            Outcome::Dropped(1)
        ));
    }

    #[test]
    fn conflicting_ends_drop_the_datagram() {
        let mut r = Reassembler::new(Limits::default());
        r.add(frag(8, false, &[1; 8], 0));
        assert!(matches!(
            r.add(frag(16, true, &[1; 8], 0)),
            Outcome::Dropped(2)
        ));
        assert_eq!(r.pending(), 0);
    }
}
