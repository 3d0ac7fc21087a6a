import {
  type RateDecision,
  type RateLimiter,
  resolveTokenBucketOptions,
  SwitchboardError,
  type TokenBucketOptions,
} from '@switchboard/core';
import type { LimiterRef, NativeAddon } from './addon.js';

const SCRATCH_MIN = 256;

function badCost(cost: unknown, index?: number): SwitchboardError {
  const where = index === undefined ? '' : ` at index ${index}`;
  return new SwitchboardError(
    'invalid_request',
    `cost${where} must be a finite number >= 0, got ${String(cost)}`,
  );
}

function isCost(cost: unknown): cost is number {
  return typeof cost === 'number' && Number.isFinite(cost) && cost >= 0;
}

function checkNow(now: unknown): void {
  if (typeof now !== 'number' || !Number.isFinite(now)) {
    throw new SwitchboardError(
      'invalid_request',
      `now must be a finite number, got ${String(now)}`,
    );
  }
}

/**
 * The Rust {@link RateLimiter}: a token bucket per key with exactly the arithmetic (and the
 * eviction order) of core's `TokenBucketLimiter`, so both answer every sequence of calls
 * identically.
 *
 * Key strings stay in JavaScript, interned to u32 ids in a `Map`; Rust keeps the buckets
 * and the least-recently-used list, and tells which id it evicted when `maxKeys` is
 * reached. `tryAcquireMany` crosses once per batch (ids in a `Uint32Array`, costs in a
 * `Float64Array`), except that it splits a batch where admitting a new key evicts one, so
 * that a key evicted mid-batch is seen as new by later requests, as in the TypeScript one.
 *
 * @example
 * ```ts
 * const { addon } = loadNative()
 * if (addon) {
 *   const limiter = new NativeRateLimiter(addon, { capacity: 100, refillPerSec: 50 })
 *   const waits = limiter.tryAcquireMany(submitters, undefined, Date.now())
 * }
 * ```
 */
export class NativeRateLimiter implements RateLimiter {
  /** Which implementation this is. */
  readonly backend = 'native' as const;
  readonly capacity: number;
  readonly refillPerSec: number;
  readonly maxKeys: number;
  readonly #addon: NativeAddon;
  readonly #limiter: LimiterRef;
  readonly #ids = new Map<string, number>();
  #keys: (string | undefined)[] = [];
  readonly #out = new Float64Array(1);
  #idScratch = new Uint32Array(SCRATCH_MIN);
  #costScratch = new Float64Array(SCRATCH_MIN);

  /** @throws SwitchboardError `invalid_config` for options out of range. */
  constructor(addon: NativeAddon, options: TokenBucketOptions) {
    const resolved = resolveTokenBucketOptions(options);
    this.capacity = resolved.capacity;
    this.refillPerSec = resolved.refillPerSec;
    this.maxKeys = resolved.maxKeys;
    this.#addon = addon;
    this.#limiter = addon.limiterCreate(resolved.capacity, resolved.refillPerSec, resolved.maxKeys);
  }

  /** The number of keys tracked. */
  get keyCount(): number {
    return this.#ids.size;
  }

  /** Key ids allocated in Rust plus the key array here: a measure of memory held. */
  get memory(): number {
    return this.#addon.limiterCapacity(this.#limiter) + this.#keys.length;
  }

  /** Takes `cost` tokens (default 1) from `key`'s bucket when it has them. */
  tryAcquire(key: string, cost = 1, now: number = Date.now()): RateDecision {
    if (!isCost(cost)) throw badCost(cost);
    checkNow(now);
    const id = this.#ids.get(key) ?? this.#admit(key, now);
    const out = this.#out;
    const wait = this.#addon.limiterAcquire(this.#limiter, id, cost, now, out);
    return { allowed: wait === 0, retryAfterMs: wait, remaining: out[0]! };
  }

  /** Batched `tryAcquire`: per request 0 when allowed, else the wait in ms. */
  tryAcquireMany(
    keys: readonly string[],
    costs?: ArrayLike<number>,
    now: number = Date.now(),
  ): Float64Array {
    checkNow(now);
    const n = keys.length;
    let costArray: Float64Array | undefined;
    // Every cost is checked before any key is admitted: a bad batch changes nothing.
    if (costs !== undefined) {
      if (costs.length < n) {
        throw new SwitchboardError('invalid_request', `${n} keys but only ${costs.length} costs`);
      }
      if (this.#costScratch.length < n) this.#costScratch = new Float64Array(n);
      costArray = this.#costScratch.subarray(0, n);
      for (let i = 0; i < n; i++) {
        const cost = costs[i];
        if (!isCost(cost)) throw badCost(cost, i);
        costArray[i] = cost;
      }
    }
    if (this.#idScratch.length < n) this.#idScratch = new Uint32Array(n);
    const ids = this.#idScratch;
    const out = new Float64Array(n);
    const map = this.#ids;
    let start = 0;
    for (let i = 0; i < n; i++) {
      const key = keys[i]!;
      let id = map.get(key);
      if (id === undefined) {
        // Admitting may evict a key met earlier in this batch: settle those requests first.
        if (map.size >= this.maxKeys && i > start) {
          this.#run(ids, costArray, now, out, start, i);
          start = i;
        }
        id = this.#admit(key, now);
      }
      ids[i] = id;
    }
    this.#run(ids, costArray, now, out, start, n);
    return out;
  }

  /** Forgets one key's bucket, or every bucket. */
  reset(key?: string): void {
    if (key === undefined) {
      this.#addon.limiterReset(this.#limiter);
      this.#ids.clear();
      this.#keys = [];
      this.#idScratch = new Uint32Array(SCRATCH_MIN);
      this.#costScratch = new Float64Array(SCRATCH_MIN);
      return;
    }
    const id = this.#ids.get(key);
    if (id === undefined) return;
    this.#addon.limiterRelease(this.#limiter, id);
    this.#ids.delete(key);
    this.#keys[id] = undefined;
    if (this.#ids.size === 0) this.#keys = [];
  }

  #run(
    ids: Uint32Array,
    costs: Float64Array | undefined,
    now: number,
    out: Float64Array,
    start: number,
    end: number,
  ): void {
    const whole = start === 0 && end === out.length;
    this.#addon.limiterAcquireMany(
      this.#limiter,
      ids.subarray(start, end),
      costs === undefined || whole ? costs : costs.subarray(start, end),
      now,
      whole ? out : out.subarray(start, end),
    );
  }

  #admit(key: string, now: number): number {
    const id = this.#addon.limiterAdmit(this.#limiter, now, this.#out);
    const evicted = this.#out[0]!;
    if (evicted >= 0) {
      this.#ids.delete(this.#keys[evicted]!);
      this.#keys[evicted] = undefined;
    }
    this.#ids.set(key, id);
    this.#keys[id] = key;
    return id;
  }
}
