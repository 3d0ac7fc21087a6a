/** Successes and failures seen over the last window. */
export interface Counts {
  ok: number;
  failed: number;
}

/** Counts outcomes over a sliding window, in a fixed number of buckets (bounded memory). */
export interface RollingCount {
  add(now: number, ok: boolean): void;
  totals(now: number): Counts;
  reset(): void;
}

/**
 * A sliding window of `windowMs` made of `buckets` slices: an outcome leaves the count
 * between `windowMs - windowMs/buckets` and `windowMs` after it happened. Memory stays
 * constant however many tasks an agent runs, which exact timestamps would not.
 */
export function rollingCount(windowMs: number, buckets = 10): RollingCount {
  const size = windowMs / buckets;
  // The absolute slice number each bucket currently holds (-Infinity: never used).
  const slice = new Float64Array(buckets).fill(Number.NEGATIVE_INFINITY);
  const ok = new Float64Array(buckets);
  const failed = new Float64Array(buckets);
  const bucketOf = (s: number): number => ((s % buckets) + buckets) % buckets;

  return {
    add(now, success) {
      const s = Math.floor(now / size);
      const b = bucketOf(s);
      if (slice[b] !== s) {
        slice[b] = s;
        ok[b] = 0;
        failed[b] = 0;
      }
      if (success) ok[b]!++;
      else failed[b]!++;
    },
    totals(now) {
      const s = Math.floor(now / size);
      const counts = { ok: 0, failed: 0 };
      for (let b = 0; b < buckets; b++) {
        if (slice[b]! > s - buckets && slice[b]! <= s) {
          counts.ok += ok[b]!;
          counts.failed += failed[b]!;
        }
      }
      return counts;
    },
    reset() {
      slice.fill(Number.NEGATIVE_INFINITY);
    },
  };
}
