//! Where live flows are kept: a slab of fixed-size chunks (no reallocation, so a
//! million flows never move), two intrusive least-recently-seen lists of slab indices
//! (TCP, and everything else, since their idle timeouts differ), and an index from
//! [`FlowKey`] to slot that stores only the 4-byte slot number: the key itself lives
//! once, in the flow.
//!
//! hashbrown's `HashTable` makes that possible (std's `HashMap` would store the 68-byte
//! key a second time); foldhash, hashbrown's own default hasher, is fast on small keys
//! and seeded per table, so an attacker choosing 5-tuples cannot predict collisions
//! across sensors.

use std::hash::BuildHasher;

use hashbrown::HashTable;

use super::{Flow, FlowKey};

const NIL: u32 = u32::MAX;
const CHUNK_BITS: u32 = 10;
const CHUNK: usize = 1 << CHUNK_BITS;

/// The two recency lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    Tcp = 0,
    Other = 1,
}

impl Class {
    pub fn of(key: &FlowKey) -> Class {
        if key.proto == 6 {
            Class::Tcp
        } else {
            Class::Other
        }
    }
}

#[derive(Debug)]
struct Slot<S> {
    /// Towards the more recently seen flow (or the next free slot).
    prev: u32,
    /// Towards the less recently seen flow.
    next: u32,
    flow: Option<Flow<S>>,
}

#[derive(Debug, Clone, Copy)]
struct List {
    /// Most recently seen.
    head: u32,
    /// Least recently seen.
    tail: u32,
}

pub(crate) struct Store<S> {
    chunks: Vec<Vec<Slot<S>>>,
    free: u32,
    index: HashTable<u32>,
    hasher: foldhash::fast::RandomState,
    lists: [List; 2],
    len: usize,
}

impl<S> std::fmt::Debug for Store<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("len", &self.len)
            .field("chunks", &self.chunks.len())
            .finish_non_exhaustive()
    }
}

fn slot_of<S>(chunks: &[Vec<Slot<S>>], i: u32) -> Option<&Slot<S>> {
    chunks
        .get((i >> CHUNK_BITS) as usize)?
        .get(i as usize & (CHUNK - 1))
}

fn slot_mut<S>(chunks: &mut [Vec<Slot<S>>], i: u32) -> Option<&mut Slot<S>> {
    chunks
        .get_mut((i >> CHUNK_BITS) as usize)?
        .get_mut(i as usize & (CHUNK - 1))
}

impl<S> Store<S> {
    pub fn new() -> Self {
        Store {
            chunks: Vec::new(),
            free: NIL,
            index: HashTable::new(),
            hasher: foldhash::fast::RandomState::default(),
            lists: [List {
                head: NIL,
                tail: NIL,
            }; 2],
            len: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    /// Approximate heap bytes: slots (live and free) and the index.
    pub fn footprint(&self) -> usize {
        let slots: usize = self.chunks.iter().map(Vec::capacity).sum();
        slots * std::mem::size_of::<Slot<S>>()
            + self.index.capacity() * (std::mem::size_of::<u32>() + 1)
            + self.chunks.capacity() * std::mem::size_of::<Vec<Slot<S>>>()
    }

    pub fn find(&self, key: &FlowKey) -> Option<u32> {
        let hash = self.hasher.hash_one(key);
        let chunks = &self.chunks;
        self.index
            .find(hash, |&i| {
                slot_of(chunks, i)
                    .and_then(|s| s.flow.as_ref())
                    .is_some_and(|f| f.key == *key)
            })
            .copied()
    }

    /// Every live flow, in slab order.
    pub fn for_each_mut(&mut self, mut f: impl FnMut(&mut Flow<S>)) {
        for chunk in &mut self.chunks {
            for slot in chunk.iter_mut() {
                if let Some(flow) = slot.flow.as_mut() {
                    f(flow);
                }
            }
        }
    }

    pub fn get(&self, i: u32) -> Option<&Flow<S>> {
        slot_of(&self.chunks, i)?.flow.as_ref()
    }

    pub fn get_mut(&mut self, i: u32) -> Option<&mut Flow<S>> {
        slot_mut(&mut self.chunks, i)?.flow.as_mut()
    }

    /// Stores a flow as the most recently seen of its class; `None` when the slab is at
    /// its 2^32 - 1 slot limit.
    pub fn insert(&mut self, flow: Flow<S>) -> Option<u32> {
        let hash = self.hasher.hash_one(flow.key);
        let class = Class::of(&flow.key);
        let i = if self.free != NIL {
            let i = self.free;
            let slot = slot_mut(&mut self.chunks, i)?;
            self.free = slot.next;
            slot.flow = Some(flow);
            i
        } else {
            let full = self.chunks.last().is_none_or(|c| c.len() >= CHUNK);
            if full {
                let first = self.chunks.is_empty();
                // The first chunk grows as needed (small tables stay small); later ones
                // are allocated whole, so no chunk ever reallocates past CHUNK slots.
                self.chunks
                    .push(Vec::with_capacity(if first { 16 } else { CHUNK }));
            }
            let n = self.chunks.len() - 1;
            let chunk = self.chunks.last_mut()?;
            let i = u32::try_from(n * CHUNK + chunk.len())
                .ok()
                .filter(|&i| i != NIL)?;
            chunk.push(Slot {
                prev: NIL,
                next: NIL,
                flow: Some(flow),
            });
            i
        };
        let (chunks, hasher) = (&self.chunks, &self.hasher);
        self.index.insert_unique(hash, i, |&j| {
            slot_of(chunks, j)
                .and_then(|s| s.flow.as_ref())
                .map_or(0, |f| hasher.hash_one(f.key))
        });
        self.push_front(class, i);
        self.len += 1;
        Some(i)
    }

    /// Takes a flow out, freeing its slot.
    pub fn remove(&mut self, i: u32) -> Option<Flow<S>> {
        let key = self.get(i)?.key;
        let hash = self.hasher.hash_one(key);
        if let Ok(entry) = self.index.find_entry(hash, |&j| j == i) {
            entry.remove();
        }
        self.unlink(Class::of(&key), i);
        let free = self.free;
        let slot = slot_mut(&mut self.chunks, i)?;
        let flow = slot.flow.take();
        slot.next = free;
        slot.prev = NIL;
        self.free = i;
        self.len = self.len.saturating_sub(1);
        flow
    }

    /// Marks a flow as the most recently seen of its class.
    pub fn touch(&mut self, i: u32) {
        let Some(class) = self.get(i).map(|f| Class::of(&f.key)) else {
            return;
        };
        if self.lists[class as usize].head == i {
            return;
        }
        self.unlink(class, i);
        self.push_front(class, i);
    }

    /// The least recently seen flow of a class.
    pub fn tail(&self, class: Class) -> Option<u32> {
        let t = self.lists[class as usize].tail;
        (t != NIL).then_some(t)
    }

    /// The least recently seen flow of either class.
    pub fn oldest(&self) -> Option<u32> {
        match (self.tail(Class::Tcp), self.tail(Class::Other)) {
            (Some(a), Some(b)) => {
                let seen = |i| self.get(i).map_or(i64::MIN, |f| f.last_seen_us);
                Some(if seen(a) <= seen(b) { a } else { b })
            }
            (a, b) => a.or(b),
        }
    }

    fn push_front(&mut self, class: Class, i: u32) {
        let list = &mut self.lists[class as usize];
        let old = list.head;
        list.head = i;
        if old == NIL {
            list.tail = i;
        }
        if let Some(s) = slot_mut(&mut self.chunks, i) {
            s.prev = NIL;
            s.next = old;
        }
        if let Some(s) = slot_mut(&mut self.chunks, old) {
            s.prev = i;
        }
    }

    fn unlink(&mut self, class: Class, i: u32) {
        let Some((prev, next)) = slot_of(&self.chunks, i).map(|s| (s.prev, s.next)) else {
            return;
        };
        match slot_mut(&mut self.chunks, prev) {
            Some(p) => p.next = next,
            None => self.lists[class as usize].head = next,
        }
        match slot_mut(&mut self.chunks, next) {
            Some(n) => n.prev = prev,
            None => self.lists[class as usize].tail = prev,
        }
        if let Some(s) = slot_mut(&mut self.chunks, i) {
            s.prev = NIL;
            s.next = NIL;
        }
    }
}

/// Bytes one slot takes in the slab (for the footprint test).
pub(crate) fn slot_size<S>() -> usize {
    std::mem::size_of::<Slot<S>>()
}
