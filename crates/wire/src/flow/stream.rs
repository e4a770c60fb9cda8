//! TCP stream reassembly for one direction of a flow: in-order bytes pass straight
//! through from the packet, out-of-order segments wait in a bounded buffer, bytes seen
//! before are dropped, and a hole the reassembler gives up on becomes `Data::Gap`.
//!
//! Overlaps keep the first-received bytes (the "first" policy of most IDS), so a
//! retransmission with different content cannot rewrite what the dissectors saw.
//! Sequence numbers wrap: every comparison is a wrapping difference read as `i32`
//! (RFC 9293 §3.4), valid while the two numbers are less than 2^31 apart.

use std::collections::VecDeque;

use super::{Data, Dir, Flow, FlowConfig};

/// Bytes charged per buffered segment on top of its data (allocation, queue slot), so
/// a flood of one-byte segments cannot hold much more memory than the byte budget says.
pub(crate) const SEGMENT_OVERHEAD: usize = 64;

/// One direction's reassembly state: 16 bytes while nothing waits out of order.
#[derive(Debug, Default)]
pub(crate) struct Stream {
    /// The next sequence number to deliver (valid once `synced`).
    next_seq: u32,
    synced: bool,
    pending: Option<Box<Pending>>,
}

#[derive(Debug, Default)]
struct Pending {
    /// Sorted by sequence relative to `next_seq`, disjoint, all after `next_seq`.
    segs: VecDeque<Segment>,
    /// Bytes charged against the budgets for these segments.
    charged: usize,
}

#[derive(Debug)]
struct Segment {
    seq: u32,
    data: Box<[u8]>,
}

impl Segment {
    fn charge(&self) -> usize {
        self.data.len() + SEGMENT_OVERHEAD
    }
}

impl Stream {
    /// Bytes from `next_seq` to the end of the last buffered segment: what is lost if
    /// the flow ends now.
    pub(crate) fn unfinished(&self) -> u64 {
        self.pending
            .as_ref()
            .and_then(|p| p.segs.back())
            .map(|s| u64::from(rel(s.seq, self.next_seq).max(0) as u32) + s.data.len() as u64)
            .unwrap_or(0)
    }

    /// Frees the out-of-order buffer; returns the bytes it was charged.
    pub(crate) fn release(&mut self) -> usize {
        self.pending.take().map(|p| p.charged).unwrap_or(0)
    }
}

/// Counters shared by every flow of a table.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Counters {
    pub gaps: u64,
    pub gap_bytes: u64,
    pub retransmitted_bytes: u64,
    pub out_of_order_segments: u64,
}

/// The table-wide state a segment may touch.
pub(crate) struct Ctx<'a> {
    pub cfg: &'a FlowConfig,
    /// Bytes charged by every flow's out-of-order buffers.
    pub buffered: &'a mut usize,
    pub counters: &'a mut Counters,
}

/// A TCP segment's place in its direction's sequence space.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TcpSegment<'a> {
    pub seq: u32,
    pub syn: bool,
    pub data: &'a [u8],
    /// Bytes the IP header declares beyond `data` (cut by the capture's snaplen).
    pub missing: u32,
}

fn rel(seq: u32, base: u32) -> i32 {
    seq.wrapping_sub(base) as i32
}

fn stream<S>(flow: &mut Flow<S>, d: Dir) -> &mut Stream {
    &mut flow.streams[d.index()]
}

/// Feeds one segment of direction `d`, calling `cb` with what becomes deliverable.
pub(crate) fn segment<S, F>(
    flow: &mut Flow<S>,
    d: Dir,
    seg: TcpSegment<'_>,
    ctx: &mut Ctx<'_>,
    cb: &mut F,
) where
    F: FnMut(&mut Flow<S>, Dir, Data<'_>),
{
    let st = stream(flow, d);
    let mut seq = seg.seq;
    if seg.syn {
        // The SYN takes one sequence number; its data (if any) follows it.
        seq = seq.wrapping_add(1);
        if !st.synced {
            st.next_seq = seq;
            st.synced = true;
        }
    }
    if seg.data.is_empty() && seg.missing == 0 {
        return;
    }
    if !st.synced {
        // Midstream: the first data segment seen defines the stream's start.
        st.next_seq = seq;
        st.synced = true;
    }
    let off = rel(seq, st.next_seq);
    if off > 0 {
        ctx.counters.out_of_order_segments += 1;
        if buffer(flow, d, seq, seg.data, ctx) {
            return;
        }
        // Over budget: give up on the holes before this segment.
        flush(flow, d, ctx, cb);
        let next = stream(flow, d).next_seq;
        let off = rel(seq, next);
        if off > 0 {
            gap(flow, d, off as u32, ctx, cb);
            stream(flow, d).next_seq = seq;
        }
    }
    in_order(flow, d, seq, seg.data, ctx, cb);
    let end = seq.wrapping_add(seg.data.len() as u32);
    if seg.missing > 0 && stream(flow, d).next_seq == end {
        gap(flow, d, seg.missing, ctx, cb);
        let st = stream(flow, d);
        st.next_seq = end.wrapping_add(seg.missing);
        drain(flow, d, ctx, cb);
    }
}

/// Delivers a segment that starts at or before `next_seq`: skips what was delivered
/// before, and lets buffered bytes (received first) win where they overlap.
fn in_order<S, F>(
    flow: &mut Flow<S>,
    d: Dir,
    mut seq: u32,
    mut data: &[u8],
    ctx: &mut Ctx<'_>,
    cb: &mut F,
) where
    F: FnMut(&mut Flow<S>, Dir, Data<'_>),
{
    while !data.is_empty() {
        let st = stream(flow, d);
        let next = st.next_seq;
        let off = rel(seq, next);
        if off > 0 {
            // Only reachable if the buffer changed under us; keep the rest for later.
            if !buffer(flow, d, seq, data, ctx) {
                ctx.counters.retransmitted_bytes += data.len() as u64;
            }
            return;
        }
        let skip = off.unsigned_abs() as usize;
        if skip >= data.len() {
            ctx.counters.retransmitted_bytes += data.len() as u64;
            return;
        }
        ctx.counters.retransmitted_bytes += skip as u64;
        data = data.get(skip..).unwrap_or_default();
        seq = next;
        let limit = st
            .pending
            .as_ref()
            .and_then(|p| p.segs.front())
            .map(|s| rel(s.seq, next).max(0) as usize)
            .unwrap_or(usize::MAX);
        let n = data.len().min(limit);
        if n > 0 {
            let (now, rest) = data.split_at(n);
            st.next_seq = next.wrapping_add(n as u32);
            cb(flow, d, Data::Bytes(now));
            data = rest;
            seq = seq.wrapping_add(n as u32);
        }
        drain(flow, d, ctx, cb);
    }
}

/// Delivers buffered segments that `next_seq` has reached.
fn drain<S, F>(flow: &mut Flow<S>, d: Dir, ctx: &mut Ctx<'_>, cb: &mut F)
where
    F: FnMut(&mut Flow<S>, Dir, Data<'_>),
{
    loop {
        let st = stream(flow, d);
        let next = st.next_seq;
        let Some(p) = st.pending.as_mut() else {
            return;
        };
        let ready = p.segs.front().is_some_and(|s| rel(s.seq, next) <= 0);
        if !ready {
            if p.segs.is_empty() {
                let freed = st.release();
                *ctx.buffered = ctx.buffered.saturating_sub(freed);
            }
            return;
        }
        let Some(seg) = p.segs.pop_front() else {
            return;
        };
        p.charged = p.charged.saturating_sub(seg.charge());
        *ctx.buffered = ctx.buffered.saturating_sub(seg.charge());
        let skip = rel(seg.seq, next).unsigned_abs() as usize;
        match seg.data.get(skip..) {
            Some(rest) if !rest.is_empty() => {
                ctx.counters.retransmitted_bytes += skip as u64;
                st.next_seq = next.wrapping_add(rest.len() as u32);
                cb(flow, d, Data::Bytes(rest));
            }
            _ => ctx.counters.retransmitted_bytes += seg.data.len() as u64,
        }
    }
}

/// Gives up on every hole in direction `d`: reports each as a gap and delivers the
/// buffered bytes behind it.
pub(crate) fn flush<S, F>(flow: &mut Flow<S>, d: Dir, ctx: &mut Ctx<'_>, cb: &mut F)
where
    F: FnMut(&mut Flow<S>, Dir, Data<'_>),
{
    loop {
        drain(flow, d, ctx, cb);
        let st = stream(flow, d);
        let next = st.next_seq;
        let Some(first) = st.pending.as_ref().and_then(|p| p.segs.front()) else {
            return;
        };
        let first_seq = first.seq;
        let hole = rel(first_seq, next);
        if hole > 0 {
            gap(flow, d, hole as u32, ctx, cb);
        }
        stream(flow, d).next_seq = first_seq;
    }
}

fn gap<S, F>(flow: &mut Flow<S>, d: Dir, n: u32, ctx: &mut Ctx<'_>, cb: &mut F)
where
    F: FnMut(&mut Flow<S>, Dir, Data<'_>),
{
    flow.gaps[d.index()] += u64::from(n);
    ctx.counters.gaps += 1;
    ctx.counters.gap_bytes += u64::from(n);
    cb(flow, d, Data::Gap(u64::from(n)));
}

/// Buffers the parts of an out-of-order segment that no buffered segment covers yet.
/// Returns false, buffering nothing, when that would exceed the per-direction or the
/// table-wide budget.
fn buffer<S>(flow: &mut Flow<S>, d: Dir, seq: u32, data: &[u8], ctx: &mut Ctx<'_>) -> bool {
    if data.is_empty() {
        return true;
    }
    let st = stream(flow, d);
    let next = st.next_seq;
    let charged = st.pending.as_ref().map_or(0, |p| p.charged);
    let cost = data.len() + SEGMENT_OVERHEAD;
    if charged + cost > ctx.cfg.max_stream_buffer
        || ctx.buffered.saturating_add(cost) > ctx.cfg.max_buffered_total
    {
        return false;
    }
    let p = st.pending.get_or_insert_with(Box::default);
    let start = i64::from(rel(seq, next));
    let end = start + data.len() as i64;
    // Walk the buffered segments (sorted) and collect the uncovered pieces.
    let mut cur = start;
    let mut pieces: [(i64, i64); 4] = [(0, 0); 4];
    let mut n_pieces = 0;
    let mut overflow = false;
    let mut push = |from: i64, to: i64, n: &mut usize| {
        if let Some(slot) = pieces.get_mut(*n) {
            *slot = (from, to);
            *n += 1;
        } else {
            overflow = true;
        }
    };
    for s in &p.segs {
        let s_start = i64::from(rel(s.seq, next));
        let s_end = s_start + s.data.len() as i64;
        if s_end <= cur {
            continue;
        }
        if s_start >= end {
            break;
        }
        if s_start > cur {
            push(cur, s_start, &mut n_pieces);
        }
        ctx.counters.retransmitted_bytes += (s_end.min(end) - s_start.max(cur)) as u64;
        cur = s_end;
        if cur >= end {
            break;
        }
    }
    if cur < end {
        push(cur, end, &mut n_pieces);
    }
    if overflow {
        // A segment straddling more than three buffered ones: rare enough to refuse
        // (the caller then gives up on the holes) rather than allocate a list.
        return false;
    }
    for &(from, to) in pieces.iter().take(n_pieces) {
        let Some(bytes) = data.get((from - start) as usize..(to - start) as usize) else {
            continue;
        };
        let seg = Segment {
            seq: next.wrapping_add(from as u32),
            data: bytes.into(),
        };
        p.charged += seg.charge();
        *ctx.buffered += seg.charge();
        let at = p
            .segs
            .partition_point(|s| i64::from(rel(s.seq, next)) < from);
        p.segs.insert(at, seg);
    }
    true
}
