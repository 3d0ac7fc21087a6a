//! A bucket priority queue over 256 integer levels that holds no payloads: each queued
//! entry is a sequence number and a *slot*, the index of the payload in the JavaScript
//! wrapper's array. Strict priority across levels (0 first), FIFO within one.
//!
//! Handles are `seq * 256 + level`, exactly as the TypeScript `BucketQueue` in core makes
//! them, so both implementations hand out the same handles for the same operations.

use std::collections::VecDeque;

/// The number of priority levels (0..=255).
pub const LEVELS: usize = 256;
/// The largest sequence number whose handle (`seq * 256 + 255`) is still below 2^53.
const MAX_SEQ: u64 = (1 << 45) - 1;
/// A removed entry keeps its sequence number (the ring stays sorted) but loses its slot.
const TOMBSTONE: u32 = u32::MAX;
/// What an emptied queue keeps per ring.
const MIN_RING: usize = 16;
/// Rings at or below this many entries (16 KiB) are not shrunk while the queue is in use: a
/// level that drains and refills every batch would otherwise reallocate every batch, and
/// that churn once made batches in a deep queue much slower (see bench/RESULTS.md, Figures
/// quoted in code comments before). When the whole queue empties, they are still shrunk to
/// `MIN_RING`.
const KEEP_RING: usize = 1024;
/// A ring is compacted when it spans more than this many entries and tombstones
/// outnumber live entries, so `remove` stays amortized O(log n) with bounded waste.
const COMPACT_MIN: usize = 32;
/// Free slots kept after the queue empties; beyond this the free list is given back.
const KEEP_FREE: usize = 256;

/// Why an operation was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueError {
    /// Every handle below 2^53 has been issued.
    HandlesExhausted,
    /// 2^32 - 1 items are queued at once: no slot index is left.
    SlotsExhausted,
    /// The output buffers of a batch are shorter than its input.
    BufferTooShort,
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    seq: u64,
    slot: u32,
}

/// One level's FIFO. It counts its tombstones rather than its live entries (live is
/// `ring.len() - dead`), so a push touches nothing but the ring.
#[derive(Default)]
struct Level {
    ring: VecDeque<Entry>,
    dead: usize,
}

impl Level {
    fn live(&self) -> usize {
        self.ring.len() - self.dead
    }

    /// Drops tombstones from the head so the head is live (or the ring is empty).
    fn skip_head(&mut self) {
        while self.ring.front().is_some_and(|e| e.slot == TOMBSTONE) {
            self.ring.pop_front();
            self.dead -= 1;
        }
    }

    fn trim_tail(&mut self) {
        while self.ring.back().is_some_and(|e| e.slot == TOMBSTONE) {
            self.ring.pop_back();
            self.dead -= 1;
        }
    }

    /// Takes the first `out.len()` live entries (at most `live()`), writing their slots.
    fn take_into(&mut self, out: &mut [u32]) {
        if self.dead == 0 {
            // No tombstones: the first entries are the ones, copied without a check each.
            let (front, back) = self.ring.as_slices();
            let split = out.len().min(front.len());
            let (head, tail) = out.split_at_mut(split);
            for (slot, entry) in head.iter_mut().zip(front) {
                *slot = entry.slot;
            }
            for (slot, entry) in tail.iter_mut().zip(back) {
                *slot = entry.slot;
            }
            self.ring.drain(..out.len());
            return;
        }
        for slot in out {
            // The head is live by invariant; later heads are after `skip_head`.
            let Some(entry) = self.ring.pop_front() else {
                break;
            };
            *slot = entry.slot;
            self.skip_head();
        }
    }

    /// Gives back memory when a quarter or less of a large ring is used.
    fn shrink_if_sparse(&mut self) {
        let cap = self.ring.capacity();
        if cap > KEEP_RING && self.ring.len() * 4 <= cap {
            self.ring.shrink_to((self.ring.len() * 2).max(KEEP_RING));
        }
    }
}

/// `seq * 256 + level`: below 2^53 (`seq` ≤ `MAX_SEQ`), so the signed conversion, cheaper
/// than the unsigned one on x86-64, is exact.
fn handle_of(seq: u64, level: u8) -> f64 {
    ((seq << 8) | u64::from(level)) as i64 as f64
}

/// The slot-and-priority half of a priority queue; the payloads live with the caller.
pub struct Queue {
    levels: Vec<Level>,
    /// Bit `l` set when level `l` has a live entry.
    non_empty: [u64; LEVELS / 64],
    /// Bit `l` set when level `l`'s ring may hold more than `MIN_RING` entries, so that
    /// emptying visits only those (a queue that empties after every pop stays cheap).
    grown: [u64; LEVELS / 64],
    len: usize,
    seq: u64,
    free: Vec<u32>,
    next_slot: u32,
}

impl Default for Queue {
    fn default() -> Self {
        Self::new()
    }
}

impl Queue {
    /// An empty queue.
    pub fn new() -> Self {
        Queue {
            levels: (0..LEVELS).map(|_| Level::default()).collect(),
            non_empty: [0; LEVELS / 64],
            grown: [0; LEVELS / 64],
            len: 0,
            seq: 0,
            free: Vec::new(),
            next_slot: 0,
        }
    }

    /// The number of live entries.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The number of live entries at `level`.
    pub fn len_at(&self, level: u8) -> usize {
        self.levels[level as usize].live()
    }

    /// One past the highest slot index in use: the length the caller's payload array needs.
    pub fn slot_span(&self) -> u32 {
        self.next_slot
    }

    /// Entries and slots allocated, a measure of the memory held (in entries).
    pub fn capacity(&self) -> usize {
        self.levels.iter().map(|l| l.ring.capacity()).sum::<usize>() + self.free.capacity()
    }

    fn alloc_slot(&mut self) -> Result<u32, QueueError> {
        if let Some(slot) = self.free.pop() {
            return Ok(slot);
        }
        if self.next_slot == TOMBSTONE {
            return Err(QueueError::SlotsExhausted);
        }
        self.next_slot += 1;
        Ok(self.next_slot - 1)
    }

    /// Queues one entry at `level`; returns its handle and slot.
    pub fn push(&mut self, level: u8) -> Result<(f64, u32), QueueError> {
        if self.seq >= MAX_SEQ {
            return Err(QueueError::HandlesExhausted);
        }
        let slot = self.alloc_slot()?;
        Ok((self.push_at(level, slot), slot))
    }

    fn push_at(&mut self, level: u8, slot: u32) -> f64 {
        self.seq += 1;
        let l = &mut self.levels[level as usize];
        l.ring.push_back(Entry {
            seq: self.seq,
            slot,
        });
        let bit = 1 << (level & 63);
        self.non_empty[level as usize >> 6] |= bit;
        if l.ring.capacity() > MIN_RING {
            self.grown[level as usize >> 6] |= bit;
        }
        self.len += 1;
        handle_of(self.seq, level)
    }

    /// Queues `levels.len()` entries in order, writing each handle and slot. Nothing is
    /// queued when the batch is refused. The slots are the most recently freed ones first
    /// (the top of the free stack), then fresh ones.
    pub fn push_many(
        &mut self,
        levels: &[u8],
        handles: &mut [f64],
        slots: &mut [u32],
    ) -> Result<(), QueueError> {
        let n = levels.len();
        if handles.len() < n || slots.len() < n {
            return Err(QueueError::BufferTooShort);
        }
        if self.seq + n as u64 > MAX_SEQ {
            return Err(QueueError::HandlesExhausted);
        }
        if self.len + n > TOMBSTONE as usize {
            return Err(QueueError::SlotsExhausted);
        }
        // Slots in bulk: reused ones from the free list, then fresh ones.
        let reuse = n.min(self.free.len());
        let from = self.free.len() - reuse;
        slots[..reuse].copy_from_slice(&self.free[from..]);
        self.free.truncate(from);
        for (k, slot) in slots[reuse..n].iter_mut().enumerate() {
            *slot = self.next_slot + k as u32;
        }
        // Cannot overflow: `next_slot` is `len` + free slots, so it becomes at most `len + n`,
        // checked above.
        self.next_slot += (n - reuse) as u32;
        // The per-item loop only appends: counts and bitmaps are settled per level after.
        let base = self.seq;
        let mut touched = [0u64; LEVELS / 64];
        let entries = levels.iter().zip(handles.iter_mut()).zip(slots.iter());
        for (seq, ((&level, handle), &slot)) in (base + 1..).zip(entries) {
            self.levels[level as usize]
                .ring
                .push_back(Entry { seq, slot });
            touched[level as usize >> 6] |= 1 << (level & 63);
            *handle = handle_of(seq, level);
        }
        for (w, &word) in touched.iter().enumerate() {
            self.non_empty[w] |= word;
            let mut rest = word;
            while rest != 0 {
                let index = (w << 6) + rest.trailing_zeros() as usize;
                rest &= rest - 1;
                if self.levels[index].ring.capacity() > MIN_RING {
                    self.grown[w] |= 1 << (index & 63);
                }
            }
        }
        self.seq += n as u64;
        self.len += n;
        Ok(())
    }

    fn first_level(&self) -> Option<usize> {
        self.non_empty
            .iter()
            .position(|&w| w != 0)
            .map(|w| (w << 6) + self.non_empty[w].trailing_zeros() as usize)
    }

    fn mark_empty(&mut self, level: usize) {
        self.non_empty[level >> 6] &= !(1 << (level & 63));
    }

    /// The slot `pop` would return.
    pub fn peek(&self) -> Option<u32> {
        let level = self.first_level()?;
        self.levels[level].ring.front().map(|e| e.slot)
    }

    /// Removes the most urgent, oldest entry and returns its slot (now free).
    pub fn pop(&mut self) -> Option<u32> {
        let mut out = [0u32; 1];
        (self.pop_many(&mut out) == 1).then_some(out[0])
    }

    /// Removes up to `out.len()` entries in pop order, writing their slots; returns how many.
    pub fn pop_many(&mut self, out: &mut [u32]) -> usize {
        let want = out.len().min(self.len);
        let mut n = 0;
        while n < want {
            let Some(index) = self.first_level() else {
                break;
            };
            let level = &mut self.levels[index];
            let take = (want - n).min(level.live());
            level.take_into(&mut out[n..n + take]);
            level.shrink_if_sparse();
            if level.live() == 0 {
                self.mark_empty(index);
            }
            n += take;
        }
        self.free.extend_from_slice(&out[..n]);
        self.len -= n;
        if self.len == 0 {
            self.release();
        }
        n
    }

    /// Removes the entry of `handle`; returns its slot, or `None` when it is not queued
    /// (popped, removed, never issued, or not a handle at all).
    pub fn remove(&mut self, handle: f64) -> Option<u32> {
        if !(handle.is_finite() && handle >= LEVELS as f64 && handle.fract() == 0.0) {
            return None;
        }
        if handle > ((MAX_SEQ * LEVELS as u64) + LEVELS as u64 - 1) as f64 {
            return None;
        }
        let handle = handle as u64;
        let index = (handle % LEVELS as u64) as usize;
        let seq = handle / LEVELS as u64;
        if seq > self.seq {
            return None;
        }
        let level = &mut self.levels[index];
        let at = level.ring.binary_search_by_key(&seq, |e| e.seq).ok()?;
        let entry = level.ring.get_mut(at)?;
        if entry.slot == TOMBSTONE {
            return None;
        }
        let slot = entry.slot;
        entry.slot = TOMBSTONE;
        level.dead += 1;
        if at == 0 {
            level.skip_head();
        } else if at + 1 == level.ring.len() {
            level.trim_tail();
        }
        if level.ring.len() > COMPACT_MIN && level.dead > level.live() {
            level.ring.retain(|e| e.slot != TOMBSTONE);
            level.dead = 0;
        }
        level.shrink_if_sparse();
        if level.live() == 0 {
            self.mark_empty(index);
        }
        self.free.push(slot);
        self.len -= 1;
        if self.len == 0 {
            self.release();
        }
        Some(slot)
    }

    /// Removes every entry. Sequence numbers go on, so old handles never name new entries.
    pub fn clear(&mut self) {
        for level in &mut self.levels {
            level.ring.clear();
            level.dead = 0;
        }
        self.non_empty = [0; LEVELS / 64];
        self.len = 0;
        self.release();
    }

    /// Called when the queue is empty (every ring is empty then): every slot is free again,
    /// so slot numbering restarts and memory beyond a small reserve goes back.
    fn release(&mut self) {
        for (w, word) in self.grown.iter_mut().enumerate() {
            while *word != 0 {
                let index = (w << 6) + word.trailing_zeros() as usize;
                *word &= *word - 1;
                self.levels[index].ring.shrink_to(MIN_RING);
            }
        }
        self.free.clear();
        self.free.shrink_to(KEEP_FREE);
        self.next_slot = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(q: &mut Queue) -> Vec<u32> {
        std::iter::from_fn(|| q.pop()).collect()
    }

    #[test]
    fn pops_by_strict_priority_then_fifo() {
        let mut q = Queue::new();
        let slots: Vec<u32> = [3u8, 0, 2, 3, 0, 200, 1]
            .iter()
            .map(|&l| q.push(l).map(|(_, s)| s).unwrap_or(u32::MAX))
            .collect();
        assert_eq!(q.len(), 7);
        let order = drain(&mut q);
        let expected: Vec<u32> = [1, 4, 6, 2, 0, 3, 5].iter().map(|&i| slots[i]).collect();
        assert_eq!(order, expected);
        assert!(q.is_empty());
    }

    #[test]
    fn handles_match_the_typescript_encoding() {
        let mut q = Queue::new();
        assert_eq!(q.push(2), Ok((258.0, 0)));
        assert_eq!(q.push(0), Ok((512.0, 1)));
        let mut handles = [0.0; 2];
        let mut slots = [0u32; 2];
        assert_eq!(q.push_many(&[255, 7], &mut handles, &mut slots), Ok(()));
        assert_eq!(handles, [3.0 * 256.0 + 255.0, 4.0 * 256.0 + 7.0]);
        assert_eq!(slots, [2, 3]);
    }

    #[test]
    fn removes_once_by_handle_and_ignores_unknown_handles() {
        let mut q = Queue::new();
        let (a, _) = q.push(1).unwrap_or_default();
        let (b, sb) = q.push(1).unwrap_or_default();
        let (c, _) = q.push(5).unwrap_or_default();
        assert_eq!(q.remove(b), Some(sb));
        assert_eq!(q.remove(b), None);
        assert_eq!(q.len_at(1), 1);
        for bad in [f64::NAN, -1.0, 0.5, 255.0, 1e300, f64::INFINITY, 9e15] {
            assert_eq!(q.remove(bad), None);
        }
        assert_eq!(q.remove(a + 256.0 * 100.0), None);
        q.pop();
        assert_eq!(q.remove(a), None);
        assert!(q.remove(c).is_some());
        assert!(q.is_empty());
    }

    #[test]
    fn removing_head_tail_and_middle_keeps_order() {
        let mut q = Queue::new();
        let pushed: Vec<(f64, u32)> = (0..10).map(|_| q.push(4).unwrap_or_default()).collect();
        for i in [0, 9, 5, 1, 8] {
            assert!(q.remove(pushed[i].0).is_some());
        }
        assert_eq!(q.peek(), Some(pushed[2].1));
        let want: Vec<u32> = [2, 3, 4, 6, 7].iter().map(|&i| pushed[i].1).collect();
        assert_eq!(drain(&mut q), want);
    }

    #[test]
    fn pop_many_is_capped_and_matches_single_pops() {
        let mut q = Queue::new();
        let levels: Vec<u8> = (0..50).map(|i| (i * 7 % 5) as u8).collect();
        let mut handles = vec![0.0; 50];
        let mut slots = vec![0u32; 50];
        assert!(q.push_many(&levels, &mut handles, &mut slots).is_ok());
        let mut out = vec![0u32; 7];
        assert_eq!(q.pop_many(&mut out), 7);
        let mut rest = vec![0u32; 100];
        assert_eq!(q.pop_many(&mut rest), 43);
        let mut order: Vec<usize> = (0..50).collect();
        order.sort_by_key(|&i| (levels[i], i));
        let got: Vec<u32> = out.iter().chain(&rest[..43]).copied().collect();
        let want: Vec<u32> = order.iter().map(|&i| slots[i]).collect();
        assert_eq!(got, want);
        assert_eq!(q.pop_many(&mut out), 0);
    }

    #[test]
    fn reuses_the_most_recently_freed_slots_first() {
        // The JavaScript wrapper relies on this: the cells it has not cleared yet are the
        // top of this stack, and the next pushes overwrite them.
        let mut q = Queue::new();
        let mut handles = [0.0; 6];
        let mut slots = [0u32; 6];
        assert!(q.push_many(&[1; 6], &mut handles, &mut slots).is_ok());
        let mut popped = [0u32; 3];
        assert_eq!(q.pop_many(&mut popped), 3);
        let removed = q.remove(handles[5]);
        assert_eq!(removed, Some(slots[5]));
        let mut again = [0u32; 5];
        assert!(
            q.push_many(&[2; 4], &mut handles[..4], &mut again[..4])
                .is_ok()
        );
        // The top four of the stack: the removed slot and the three popped ones.
        let mut reused = again[..4].to_vec();
        reused.sort_unstable();
        let mut want = vec![slots[5], popped[0], popped[1], popped[2]];
        want.sort_unstable();
        assert_eq!(reused, want);
        assert_eq!(q.push(2).map(|(_, s)| s), Ok(6));
    }

    #[test]
    fn pop_many_reads_wrapped_rings_and_skips_tombstones() {
        let mut q = Queue::new();
        let mut handles = vec![0.0; 40];
        let mut slots = [0u32; 40];
        // 10 in, 6 out, 10 in: the ring of 16 wraps around.
        assert!(
            q.push_many(&[3; 10], &mut handles[..10], &mut slots[..10])
                .is_ok()
        );
        let mut out = vec![0u32; 40];
        assert_eq!(q.pop_many(&mut out[..6]), 6);
        assert_eq!(out[..6], slots[..6]);
        assert!(
            q.push_many(&[3; 10], &mut handles[10..20], &mut slots[10..20])
                .is_ok()
        );
        assert_eq!(q.pop_many(&mut out[..5]), 5);
        let want: Vec<u32> = slots[6..10].iter().chain(&slots[10..11]).copied().collect();
        assert_eq!(out[..5], want[..]);
        // Tombstones in the middle: the slow path must step over them.
        assert!(q.remove(handles[12]).is_some());
        assert!(q.remove(handles[14]).is_some());
        assert_eq!(q.pop_many(&mut out), 7);
        let want: Vec<u32> = [11, 13, 15, 16, 17, 18, 19]
            .iter()
            .map(|&i| slots[i])
            .collect();
        assert_eq!(out[..7], want[..]);
        assert!(q.is_empty());
    }

    #[test]
    fn refuses_short_buffers_without_queuing() {
        let mut q = Queue::new();
        let mut handles = [0.0; 1];
        let mut slots = [0u32; 2];
        assert_eq!(
            q.push_many(&[1, 2], &mut handles, &mut slots),
            Err(QueueError::BufferTooShort)
        );
        assert!(q.is_empty());
    }

    #[test]
    fn clear_keeps_old_handles_dead() {
        let mut q = Queue::new();
        let (old, _) = q.push(0).unwrap_or_default();
        q.clear();
        assert!(q.is_empty());
        assert_eq!(q.peek(), None);
        let (new, _) = q.push(0).unwrap_or_default();
        assert_ne!(old, new);
        assert_eq!(q.remove(old), None);
        assert_eq!(q.len(), 1);
    }

    #[test]
    fn gives_memory_back_when_emptied() {
        let mut q = Queue::new();
        let n = 100_000;
        let levels: Vec<u8> = (0..n).map(|i| (i % 4) as u8).collect();
        let mut handles = vec![0.0; n];
        let mut slots = vec![0u32; n];
        assert!(q.push_many(&levels, &mut handles, &mut slots).is_ok());
        assert!(q.capacity() >= n);
        let mut out = vec![0u32; n / 2];
        q.pop_many(&mut out);
        assert!(q.capacity() < n * 2);
        for h in &handles[..n - 1] {
            q.remove(*h);
        }
        assert_eq!(q.len(), 1);
        q.pop();
        assert!(q.capacity() <= LEVELS * MIN_RING + KEEP_FREE);
        assert_eq!(q.slot_span(), 0);
    }

    #[test]
    fn compacts_rings_full_of_tombstones() {
        let mut q = Queue::new();
        let pushed: Vec<f64> = (0..1000).map(|_| q.push(9).unwrap_or_default().0).collect();
        for h in pushed.iter().skip(1).take(997) {
            assert!(q.remove(*h).is_some());
        }
        assert_eq!(q.len(), 3);
        assert!(q.levels[9].ring.len() <= COMPACT_MIN * 2);
        assert_eq!(drain(&mut q).len(), 3);
    }

    #[test]
    fn matches_a_reference_model_on_pseudo_random_operations() {
        let mut q = Queue::new();
        let mut model: Vec<(u8, u64, f64, u32)> = Vec::new();
        let mut issued: Vec<f64> = Vec::new();
        let mut x: u64 = 88172645463325252;
        let mut seq = 0u64;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            match x % 5 {
                0 | 1 => {
                    let level = ((x >> 8) % 6) as u8;
                    let (h, s) = q.push(level).unwrap_or_default();
                    seq += 1;
                    model.push((level, seq, h, s));
                    issued.push(h);
                }
                2 => {
                    let best = model
                        .iter()
                        .enumerate()
                        .min_by_key(|(_, e)| (e.0, e.1))
                        .map(|(i, _)| i);
                    let want = best.map(|i| model.remove(i).3);
                    assert_eq!(q.pop(), want);
                }
                3 if !issued.is_empty() => {
                    let h = issued[(x >> 16) as usize % issued.len()];
                    let at = model.iter().position(|e| e.2 == h);
                    let want = at.map(|i| model.remove(i).3);
                    assert_eq!(q.remove(h), want);
                }
                _ => {
                    let best = model.iter().min_by_key(|e| (e.0, e.1));
                    assert_eq!(q.peek(), best.map(|e| e.3));
                }
            }
            assert_eq!(q.len(), model.len());
        }
    }
}
