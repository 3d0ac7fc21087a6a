//! A token bucket per key id, with the arithmetic of core's TypeScript `TokenBucketLimiter`
//! reproduced operation for operation (IEEE-754 doubles, same order, no fused multiply-add),
//! so that both give identical answers. Key strings stay in JavaScript: the wrapper interns
//! them to ids that this limiter allocates (`admit`) and may evict.

/// "No entry" in the recency list.
const NONE: u32 = u32::MAX;
/// How many of the least recently used keys an eviction looks through for a full bucket.
const EVICTION_SCAN: usize = 8;

/// Why a call was refused; nothing changed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LimiterError {
    /// The options are out of range.
    InvalidOptions,
    /// The cost at this index is negative, NaN or infinite.
    BadCost(usize),
    /// The id at this index is not a key currently tracked.
    UnknownId(usize),
    /// Output shorter than input, or costs shorter than ids.
    BufferTooShort,
}

/// Token buckets for up to `max_keys` key ids, with a least-recently-used list for eviction.
pub struct Limiter {
    capacity: f64,
    refill_per_sec: f64,
    max_keys: usize,
    tokens: Vec<f64>,
    updated_at: Vec<f64>,
    prev: Vec<u32>,
    next: Vec<u32>,
    live: Vec<bool>,
    head: u32,
    tail: u32,
    free: Vec<u32>,
    count: usize,
}

impl Limiter {
    /// A limiter with bursts of `capacity`, refilled at `refill_per_sec`, at most `max_keys` keys.
    pub fn new(capacity: f64, refill_per_sec: f64, max_keys: f64) -> Result<Self, LimiterError> {
        let positive = |x: f64| x.is_finite() && x > 0.0;
        if !positive(capacity) || !positive(refill_per_sec) {
            return Err(LimiterError::InvalidOptions);
        }
        if !(max_keys >= 1.0 && max_keys.fract() == 0.0 && max_keys <= 9_007_199_254_740_991.0) {
            return Err(LimiterError::InvalidOptions);
        }
        Ok(Limiter {
            capacity,
            refill_per_sec,
            // Ids are u32: more keys than that would not fit in memory anyway.
            max_keys: (max_keys as u64).min(u64::from(NONE - 1)) as usize,
            tokens: Vec::new(),
            updated_at: Vec::new(),
            prev: Vec::new(),
            next: Vec::new(),
            live: Vec::new(),
            head: NONE,
            tail: NONE,
            free: Vec::new(),
            count: 0,
        })
    }

    /// The number of keys tracked.
    pub fn key_count(&self) -> usize {
        self.count
    }

    /// Id slots allocated, a measure of the memory held.
    pub fn capacity(&self) -> usize {
        self.tokens.capacity()
    }

    /// True when `id` names a tracked key.
    pub fn is_live(&self, id: u32) -> bool {
        self.live.get(id as usize).copied().unwrap_or(false)
    }

    /// Starts tracking a new key, full, as the most recently used. When `max_keys` are
    /// tracked, first forgets one (see [`Limiter::evict`]) and returns its id as well.
    pub fn admit(&mut self, now: f64) -> (u32, Option<u32>) {
        let evicted = if self.count >= self.max_keys {
            self.evict(now)
        } else {
            None
        };
        let id = match self.free.pop() {
            Some(id) => id,
            None => {
                self.tokens.push(0.0);
                self.updated_at.push(0.0);
                self.prev.push(NONE);
                self.next.push(NONE);
                self.live.push(false);
                (self.tokens.len() - 1) as u32
            }
        };
        let i = id as usize;
        self.tokens[i] = self.capacity;
        self.updated_at[i] = now;
        self.live[i] = true;
        self.count += 1;
        self.push_front(id);
        (id, evicted)
    }

    /// Forgets a full bucket among the least recently used if any, else the oldest key.
    fn evict(&mut self, now: f64) -> Option<u32> {
        let mut id = self.tail;
        let mut scanned = 0;
        while id != NONE && scanned < EVICTION_SCAN {
            let i = id as usize;
            let elapsed = (now - self.updated_at[i]).max(0.0);
            if self.tokens[i] + (elapsed * self.refill_per_sec) / 1000.0 >= self.capacity {
                self.release(id);
                return Some(id);
            }
            id = self.prev[i];
            scanned += 1;
        }
        let oldest = self.tail;
        (oldest != NONE).then(|| {
            self.release(oldest);
            oldest
        })
    }

    /// Forgets one key; an id that is not tracked is ignored.
    pub fn release(&mut self, id: u32) {
        if !self.is_live(id) {
            return;
        }
        self.unlink(id);
        self.live[id as usize] = false;
        self.free.push(id);
        self.count -= 1;
        if self.count == 0 {
            self.reset();
        }
    }

    /// Forgets every key and gives their memory back.
    pub fn reset(&mut self) {
        self.tokens = Vec::new();
        self.updated_at = Vec::new();
        self.prev = Vec::new();
        self.next = Vec::new();
        self.live = Vec::new();
        self.free = Vec::new();
        self.head = NONE;
        self.tail = NONE;
        self.count = 0;
    }

    fn push_front(&mut self, id: u32) {
        self.prev[id as usize] = NONE;
        self.next[id as usize] = self.head;
        if self.head != NONE {
            self.prev[self.head as usize] = id;
        }
        self.head = id;
        if self.tail == NONE {
            self.tail = id;
        }
    }

    fn unlink(&mut self, id: u32) {
        let (prev, next) = (self.prev[id as usize], self.next[id as usize]);
        if prev == NONE {
            self.head = next;
        } else {
            self.next[prev as usize] = next;
        }
        if next == NONE {
            self.tail = prev;
        } else {
            self.prev[next as usize] = prev;
        }
    }

    /// Makes `id` the most recently used and refills it. Precondition: `id` is live.
    fn touch(&mut self, id: u32, now: f64) {
        if id != self.head {
            self.unlink(id);
            self.push_front(id);
        }
        let i = id as usize;
        let elapsed = now - self.updated_at[i];
        if elapsed > 0.0 {
            self.tokens[i] = self
                .capacity
                .min(self.tokens[i] + (elapsed * self.refill_per_sec) / 1000.0);
            self.updated_at[i] = now;
        }
    }

    /// Takes `cost` from a refilled bucket; 0 when allowed, else the wait in ms.
    fn take(&mut self, id: u32, cost: f64) -> f64 {
        let i = id as usize;
        let tokens = self.tokens[i];
        if tokens >= cost {
            self.tokens[i] = tokens - cost;
            return 0.0;
        }
        if cost > self.capacity {
            return f64::INFINITY;
        }
        let rate = self.refill_per_sec;
        // The estimate can be off by one either way through rounding; the refill formula
        // itself settles it, so the answer is the least wait that the refill honours.
        let mut wait = (((cost - tokens) * 1000.0) / rate).ceil();
        if tokens + (wait * rate) / 1000.0 < cost {
            wait += 1.0;
        } else if wait > 1.0 && tokens + ((wait - 1.0) * rate) / 1000.0 >= cost {
            wait -= 1.0;
        }
        wait
    }

    /// One request: returns the wait (0 when allowed) and the tokens left, floored.
    pub fn acquire(&mut self, id: u32, cost: f64, now: f64) -> Result<(f64, f64), LimiterError> {
        if !self.is_live(id) {
            return Err(LimiterError::UnknownId(0));
        }
        if !(cost.is_finite() && cost >= 0.0) {
            return Err(LimiterError::BadCost(0));
        }
        self.touch(id, now);
        let wait = self.take(id, cost);
        Ok((wait, self.tokens[id as usize].floor()))
    }

    /// Requests in order, writing each wait to `out`. Every id and cost is checked before
    /// any token is taken: a refused batch changes nothing.
    pub fn acquire_many(
        &mut self,
        ids: &[u32],
        costs: Option<&[f64]>,
        now: f64,
        out: &mut [f64],
    ) -> Result<(), LimiterError> {
        if out.len() < ids.len() || costs.is_some_and(|c| c.len() < ids.len()) {
            return Err(LimiterError::BufferTooShort);
        }
        if let Some(i) = ids.iter().position(|&id| !self.is_live(id)) {
            return Err(LimiterError::UnknownId(i));
        }
        if let Some(costs) = costs {
            if let Some(i) = costs[..ids.len()]
                .iter()
                .position(|c| !(c.is_finite() && *c >= 0.0))
            {
                return Err(LimiterError::BadCost(i));
            }
            for ((&id, &cost), slot) in ids.iter().zip(costs).zip(out.iter_mut()) {
                self.touch(id, now);
                *slot = self.take(id, cost);
            }
        } else {
            for (&id, slot) in ids.iter().zip(out.iter_mut()) {
                self.touch(id, now);
                *slot = self.take(id, 1.0);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: f64 = 1_000_000.0;

    fn limiter(capacity: f64, rate: f64, max_keys: f64) -> Limiter {
        match Limiter::new(capacity, rate, max_keys) {
            Ok(l) => l,
            Err(e) => panic!("options refused: {e:?}"),
        }
    }

    #[test]
    fn refuses_bad_options() {
        for (c, r, m) in [
            (0.0, 1.0, 1.0),
            (1.0, f64::NAN, 1.0),
            (1.0, 1.0, 0.5),
            (f64::INFINITY, 1.0, 1.0),
        ] {
            assert!(Limiter::new(c, r, m).is_err());
        }
    }

    #[test]
    fn allows_a_burst_then_tells_the_wait() {
        let mut l = limiter(5.0, 2.0, 10.0);
        let (a, _) = l.admit(T0);
        for left in [4.0, 3.0, 2.0, 1.0, 0.0] {
            assert_eq!(l.acquire(a, 1.0, T0), Ok((0.0, left)));
        }
        assert_eq!(l.acquire(a, 1.0, T0), Ok((500.0, 0.0)));
        // 0.998 tokens: (1 - 0.998) * 1000 / 2 rounds up to 1.000000000000001, which ceils
        // to 2; the check against the refill formula brings it back to the true 1 ms.
        assert_eq!(l.acquire(a, 1.0, T0 + 499.0), Ok((1.0, 0.0)));
        assert_eq!(l.acquire(a, 1.0, T0 + 500.0), Ok((0.0, 0.0)));
        assert_eq!(l.acquire(a, 6.0, T0 + 500.0), Ok((f64::INFINITY, 0.0)));
    }

    #[test]
    fn a_clock_going_back_counts_as_no_time() {
        let mut l = limiter(2.0, 1.0, 10.0);
        let (a, _) = l.admit(T0);
        assert_eq!(l.acquire(a, 2.0, T0), Ok((0.0, 0.0)));
        assert_eq!(l.acquire(a, 1.0, T0 - 10_000.0), Ok((1000.0, 0.0)));
        assert_eq!(l.acquire(a, 1.0, T0 + 1000.0), Ok((0.0, 0.0)));
    }

    #[test]
    fn batches_check_everything_before_taking_anything() {
        let mut l = limiter(3.0, 4.0, 10.0);
        let (a, _) = l.admit(T0);
        let mut out = [0.0; 3];
        assert_eq!(
            l.acquire_many(&[a, a, a], Some(&[1.0, -1.0, 1.0]), T0, &mut out),
            Err(LimiterError::BadCost(1))
        );
        assert_eq!(
            l.acquire_many(&[a, 7], None, T0, &mut out),
            Err(LimiterError::UnknownId(1))
        );
        assert_eq!(
            l.acquire_many(&[a, a, a], None, T0, &mut out[..2]),
            Err(LimiterError::BufferTooShort)
        );
        assert_eq!(
            l.acquire_many(&[a, a, a], Some(&[1.0, 2.0, 1.0]), T0, &mut out),
            Ok(())
        );
        assert_eq!(out, [0.0, 0.0, 250.0]);
    }

    #[test]
    fn evicts_a_full_bucket_first_then_the_least_recently_used() {
        let mut l = limiter(2.0, 1.0, 3.0);
        let (a, _) = l.admit(T0);
        let (b, _) = l.admit(T0);
        let (c, _) = l.admit(T0);
        for id in [a, b, c] {
            assert!(l.acquire(id, 1.0, T0).is_ok());
        }
        // No bucket is full at T0, so the least recently used (a) goes.
        let (d, evicted) = l.admit(T0);
        assert_eq!(evicted, Some(a));
        assert_eq!(l.key_count(), 3);
        assert!(l.acquire(b, 0.0, T0).is_ok());
        // At T0 + 1000 c (now least recently used) is full again and goes first.
        let (_, evicted) = l.admit(T0 + 1000.0);
        assert_eq!(evicted, Some(c));
        assert!(l.is_live(b) && l.is_live(d));
    }

    #[test]
    fn release_and_reset_give_memory_back() {
        let mut l = limiter(1.0, 1.0, 1e6);
        let ids: Vec<u32> = (0..10_000).map(|_| l.admit(T0).0).collect();
        assert!(l.capacity() >= 10_000);
        for id in &ids {
            l.release(*id);
        }
        assert_eq!(l.key_count(), 0);
        assert_eq!(l.capacity(), 0);
        l.release(3);
        assert_eq!(l.acquire(3, 1.0, T0), Err(LimiterError::UnknownId(0)));
    }
}
