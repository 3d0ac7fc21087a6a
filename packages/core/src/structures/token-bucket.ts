import type { RateDecision, RateLimiter, TokenBucketOptions } from '../contracts/rate-limiter.js';
import { SwitchboardError } from '../errors.js';

/** The default {@link TokenBucketOptions.maxKeys}: bounds memory when keys come from clients. */
export const DEFAULT_MAX_KEYS = 100_000;

/** How many of the least recently used keys an eviction looks through for a full bucket. */
const EVICTION_SCAN = 8;

/**
 * Checks token-bucket options and fills the default `maxKeys`.
 *
 * @throws SwitchboardError `invalid_config` naming the bad option.
 */
export function resolveTokenBucketOptions(
  options: TokenBucketOptions,
): Required<TokenBucketOptions> {
  const { capacity, refillPerSec, maxKeys = DEFAULT_MAX_KEYS } = options;
  const bad = (what: string, value: unknown) =>
    new SwitchboardError('invalid_config', `[token-bucket] ${what}, got ${String(value)}`);
  if (typeof capacity !== 'number' || !Number.isFinite(capacity) || capacity <= 0) {
    throw bad('capacity must be a finite number > 0', capacity);
  }
  if (typeof refillPerSec !== 'number' || !Number.isFinite(refillPerSec) || refillPerSec <= 0) {
    throw bad('refillPerSec must be a finite number > 0', refillPerSec);
  }
  if (!Number.isSafeInteger(maxKeys) || maxKeys < 1) {
    throw bad('maxKeys must be an integer >= 1', maxKeys);
  }
  return { capacity, refillPerSec, maxKeys };
}

function checkCost(cost: number): void {
  if (typeof cost !== 'number' || !Number.isFinite(cost) || cost < 0) {
    throw new SwitchboardError('invalid_request', `cost must be a finite number >= 0, got ${cost}`);
  }
}

function checkNow(now: number): void {
  if (typeof now !== 'number' || !Number.isFinite(now)) {
    throw new SwitchboardError('invalid_request', `now must be a finite number, got ${now}`);
  }
}

/**
 * The TypeScript token bucket. The arithmetic, which the native limiter reproduces
 * operation for operation (IEEE-754 doubles, same order), is:
 *
 * - A key seen for the first time starts full: `tokens = capacity`, `updatedAt = now`.
 * - Refill on every call for that key: when `now > updatedAt`,
 *   `tokens = min(capacity, tokens + ((now - updatedAt) * refillPerSec) / 1000)` and
 *   `updatedAt = now`. A `now` earlier than `updatedAt` counts as no time passed.
 * - `tokens >= cost` → allowed, `tokens -= cost`, `retryAfterMs = 0`.
 * - `cost > capacity` → denied with `retryAfterMs = Infinity`: no wait makes it fit.
 * - else denied, nothing taken, and `retryAfterMs` is the least whole `w ≥ 1` with
 *   `tokens + (w * refillPerSec) / 1000 >= cost`: the estimate
 *   `w = ceil(((cost - tokens) * 1000) / refillPerSec)`, then `w + 1` when that test fails
 *   for `w`, or `w - 1` when `w > 1` and it passes for `w - 1` (rounding can be off by one
 *   either way). So the same request made `retryAfterMs` later passes, one ms earlier not.
 * - `remaining = floor(tokens)` after the decision.
 *
 * Costs must be finite and ≥ 0 (0 always succeeds); else `invalid_request`. At most `maxKeys`
 * keys are kept: adding one more first forgets a full bucket among the least recently used
 * (lossless: a full bucket and a fresh one behave the same while time does not go back),
 * else the least recently used key (which then starts full again).
 *
 * @example
 * ```ts
 * const limiter = createTokenBucket({ capacity: 10, refillPerSec: 5 })
 * const d = limiter.tryAcquire('submitter-1')
 * if (!d.allowed) throw new SwitchboardError('rate_limited', 'slow down', { details: d })
 * ```
 */
export class TokenBucketLimiter implements RateLimiter {
  readonly capacity: number;
  readonly refillPerSec: number;
  readonly maxKeys: number;
  readonly #slots = new Map<string, number>();
  // One slot per key in parallel typed arrays (no object per key), and a doubly linked
  // recency list through `#prev`/`#next`: `#head` is the most, `#tail` the least recently used.
  #keys: (string | undefined)[] = [];
  #tokens = new Float64Array(16);
  #updatedAt = new Float64Array(16);
  #prev = new Int32Array(16);
  #next = new Int32Array(16);
  #head = -1;
  #tail = -1;
  #free: number[] = [];

  constructor(options: TokenBucketOptions) {
    const resolved = resolveTokenBucketOptions(options);
    this.capacity = resolved.capacity;
    this.refillPerSec = resolved.refillPerSec;
    this.maxKeys = resolved.maxKeys;
  }

  get keyCount(): number {
    return this.#slots.size;
  }

  tryAcquire(key: string, cost = 1, now: number = Date.now()): RateDecision {
    checkCost(cost);
    checkNow(now);
    const slot = this.#slot(key, now);
    const wait = this.#take(slot, cost);
    return { allowed: wait === 0, retryAfterMs: wait, remaining: Math.floor(this.#tokens[slot]!) };
  }

  tryAcquireMany(
    keys: readonly string[],
    costs?: ArrayLike<number>,
    now: number = Date.now(),
  ): Float64Array {
    checkNow(now);
    // Every cost is checked before any is taken: a bad batch changes nothing.
    if (costs !== undefined) {
      if (costs.length < keys.length) {
        throw new SwitchboardError(
          'invalid_request',
          `${keys.length} keys but only ${costs.length} costs`,
        );
      }
      for (let i = 0; i < keys.length; i++) checkCost(costs[i]!);
    }
    const out = new Float64Array(keys.length);
    for (let i = 0; i < keys.length; i++) {
      out[i] = this.#take(this.#slot(keys[i]!, now), costs === undefined ? 1 : costs[i]!);
    }
    return out;
  }

  reset(key?: string): void {
    if (key === undefined) {
      this.#slots.clear();
      this.#keys = [];
      this.#free = [];
      this.#head = -1;
      this.#tail = -1;
      return;
    }
    const slot = this.#slots.get(key);
    if (slot !== undefined) this.#release(slot);
  }

  /** Takes `cost` from a refilled slot; answers 0 when allowed, else the wait in ms. */
  #take(slot: number, cost: number): number {
    const tokens = this.#tokens[slot]!;
    if (tokens >= cost) {
      this.#tokens[slot] = tokens - cost;
      return 0;
    }
    if (cost > this.capacity) return Number.POSITIVE_INFINITY;
    const rate = this.refillPerSec;
    // The estimate can be off by one either way through rounding; settle it with the
    // refill formula itself, so the answer is the least wait that the refill honours.
    let wait = Math.ceil(((cost - tokens) * 1000) / rate);
    if (tokens + (wait * rate) / 1000 < cost) wait += 1;
    else if (wait > 1 && tokens + ((wait - 1) * rate) / 1000 >= cost) wait -= 1;
    return wait;
  }

  /** The refilled slot of `key`, created full when new, made the most recently used. */
  #slot(key: string, now: number): number {
    let slot = this.#slots.get(key);
    if (slot === undefined) {
      if (this.#slots.size >= this.maxKeys) this.#evict(now);
      slot = this.#allocate();
      this.#slots.set(key, slot);
      this.#keys[slot] = key;
      this.#tokens[slot] = this.capacity;
      this.#updatedAt[slot] = now;
      this.#pushFront(slot);
      return slot;
    }
    if (slot !== this.#head) {
      this.#unlink(slot);
      this.#pushFront(slot);
    }
    const elapsed = now - this.#updatedAt[slot]!;
    if (elapsed > 0) {
      this.#tokens[slot] = Math.min(
        this.capacity,
        this.#tokens[slot]! + (elapsed * this.refillPerSec) / 1000,
      );
      this.#updatedAt[slot] = now;
    }
    return slot;
  }

  /** Forgets one key: a full bucket among the least recently used if any, else the oldest. */
  #evict(now: number): void {
    let slot = this.#tail;
    for (let scanned = 0; slot !== -1 && scanned < EVICTION_SCAN; scanned++) {
      const elapsed = Math.max(0, now - this.#updatedAt[slot]!);
      if (this.#tokens[slot]! + (elapsed * this.refillPerSec) / 1000 >= this.capacity) {
        this.#release(slot);
        return;
      }
      slot = this.#prev[slot]!;
    }
    this.#release(this.#tail);
  }

  #allocate(): number {
    const reused = this.#free.pop();
    if (reused !== undefined) return reused;
    const slot = this.#keys.length;
    if (slot === this.#tokens.length) this.#grow(Math.min(slot * 2, Math.max(this.maxKeys, 16)));
    return slot;
  }

  #grow(size: number): void {
    const grow = <A extends Float64Array | Int32Array>(old: A, made: A): A => {
      made.set(old);
      return made;
    };
    this.#tokens = grow(this.#tokens, new Float64Array(size));
    this.#updatedAt = grow(this.#updatedAt, new Float64Array(size));
    this.#prev = grow(this.#prev, new Int32Array(size));
    this.#next = grow(this.#next, new Int32Array(size));
  }

  #release(slot: number): void {
    this.#slots.delete(this.#keys[slot]!);
    this.#keys[slot] = undefined;
    this.#unlink(slot);
    this.#free.push(slot);
  }

  #pushFront(slot: number): void {
    this.#prev[slot] = -1;
    this.#next[slot] = this.#head;
    if (this.#head !== -1) this.#prev[this.#head] = slot;
    this.#head = slot;
    if (this.#tail === -1) this.#tail = slot;
  }

  #unlink(slot: number): void {
    const prev = this.#prev[slot]!;
    const next = this.#next[slot]!;
    if (prev === -1) this.#head = next;
    else this.#next[prev] = next;
    if (next === -1) this.#tail = prev;
    else this.#prev[next] = prev;
  }
}

/**
 * Creates a {@link TokenBucketLimiter}: bursts of up to `capacity`, refilled continuously
 * at `refillPerSec`.
 *
 * @throws SwitchboardError `invalid_config` for a capacity or rate that is not a finite
 * number > 0, or a `maxKeys` that is not an integer ≥ 1.
 * @example
 * ```ts
 * const perSubmitter = createTokenBucket({ capacity: 100, refillPerSec: 50, maxKeys: 10_000 })
 * perSubmitter.tryAcquireMany(['a', 'b', 'a'], [1, 1, 5], Date.now()) // Float64Array [0, 0, 0]
 * ```
 */
export function createTokenBucket(options: TokenBucketOptions): TokenBucketLimiter {
  return new TokenBucketLimiter(options);
}
