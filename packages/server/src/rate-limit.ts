import { createTokenBucket, type RateLimiter, SwitchboardError } from '@switchboard/core';

/** A token bucket: bursts of `capacity` requests, refilled at `refillPerSec`. */
export interface BucketOptions {
  capacity: number;
  refillPerSec: number;
  /** Keys tracked at most (least recently used forgotten first); default 100,000. */
  maxKeys?: number;
}

/** Request rate limits of the HTTP server; each is off unless given. */
export interface HttpRateLimits {
  /** Per bearer token (or per anonymous caller when auth is off, which is per IP). */
  perToken?: BucketOptions;
  /** Per client IP address. */
  perIp?: BucketOptions;
}

/** Checks one request against the configured limits. */
export interface RequestLimiter {
  /**
   * Takes one token from the client IP's bucket (before authentication, so that a flood of
   * bad tokens is limited too).
   *
   * @throws SwitchboardError `rate_limited` with `details.retryAfterMs`.
   */
  checkIp(ip: string): void;
  /**
   * Takes one token from the caller's bucket (its token id, or its IP when auth is off).
   *
   * @throws SwitchboardError `rate_limited` with `details.retryAfterMs`.
   */
  checkToken(key: string): void;
}

function take(limiter: RateLimiter, key: string, now: number, what: string): void {
  const d = limiter.tryAcquire(key, 1, now);
  if (d.allowed) return;
  throw new SwitchboardError('rate_limited', `over the ${what} rate limit`, {
    details: { retryAfterMs: d.retryAfterMs },
  });
}

/**
 * Builds the per-token and per-IP limiter of the server from core's token bucket.
 *
 * @throws SwitchboardError `invalid_config` for a bad capacity or rate.
 * @example
 * ```ts
 * const limiter = createRequestLimiter({ perIp: { capacity: 200, refillPerSec: 100 } })
 * limiter.checkIp('127.0.0.1')
 * ```
 */
export function createRequestLimiter(
  limits: HttpRateLimits = {},
  now: () => number = Date.now,
): RequestLimiter {
  const perToken = limits.perToken === undefined ? undefined : createTokenBucket(limits.perToken);
  const perIp = limits.perIp === undefined ? undefined : createTokenBucket(limits.perIp);
  // A limit that is off costs nothing per request: not even a clock read.
  const off = () => undefined;
  return {
    checkIp: perIp === undefined ? off : (ip) => take(perIp, ip, now(), 'per-IP'),
    checkToken: perToken === undefined ? off : (key) => take(perToken, key, now(), 'per-token'),
  };
}
