/** The answer of a rate limiter to one request. */
export interface RateDecision {
  /** Whether the request may go ahead (its cost has been taken). */
  allowed: boolean;
  /** When not allowed: milliseconds until the same request would be allowed; else 0. */
  retryAfterMs: number;
  /** Tokens left in the key's bucket after this decision (floored). */
  remaining: number;
}

/** Options of a token-bucket limiter: a burst of `capacity`, refilled at `refillPerSec`. */
export interface TokenBucketOptions {
  /** The bucket size: the largest burst allowed at once. */
  capacity: number;
  /** Tokens added per second, continuously (by elapsed time). */
  refillPerSec: number;
  /** Keys idle long enough to be full again are forgotten; at most this many keys kept. */
  maxKeys?: number;
}

/**
 * A rate limiter per key (an agent, a submitter, a capability). Implementations: the
 * TypeScript token bucket in core, and the native one in `@switchboard/native`.
 * `now` is in milliseconds on any monotonic-enough clock (defaults to `Date.now()`).
 */
export interface RateLimiter {
  /** Takes `cost` tokens (default 1) from `key`'s bucket when it has them. */
  tryAcquire(key: string, cost?: number, now?: number): RateDecision;
  /**
   * Batched `tryAcquire`, in order: returns per request 0 when allowed, else the
   * milliseconds to wait (always > 0). `costs` defaults to 1 each.
   */
  tryAcquireMany(keys: readonly string[], costs?: ArrayLike<number>, now?: number): Float64Array;
  /** Forgets one key's bucket, or every bucket. */
  reset(key?: string): void;
  /** The number of keys currently tracked. */
  readonly keyCount: number;
}
