import type { RateDecision, RateLimiter, TokenBucketOptions } from '@switchboard/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

/**
 * The reference model of a token bucket: the arithmetic documented on core's
 * `TokenBucketLimiter`, written as plainly as possible, with no key bound.
 */
export class ReferenceTokenBucket {
  readonly buckets = new Map<string, { tokens: number; updatedAt: number }>();

  constructor(readonly options: TokenBucketOptions) {}

  acquire(key: string, cost: number, now: number): RateDecision {
    const { capacity, refillPerSec } = this.options;
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      bucket = { tokens: capacity, updatedAt: now };
      this.buckets.set(key, bucket);
    } else if (now > bucket.updatedAt) {
      bucket.tokens = Math.min(
        capacity,
        bucket.tokens + ((now - bucket.updatedAt) * refillPerSec) / 1000,
      );
      bucket.updatedAt = now;
    }
    if (bucket.tokens >= cost) {
      bucket.tokens -= cost;
      return { allowed: true, retryAfterMs: 0, remaining: Math.floor(bucket.tokens) };
    }
    let wait = Number.POSITIVE_INFINITY;
    if (cost <= capacity) {
      // The least whole wait after which the refill formula covers the cost.
      wait = Math.max(1, Math.ceil(((cost - bucket.tokens) * 1000) / refillPerSec) - 1);
      while (bucket.tokens + (wait * refillPerSec) / 1000 < cost) wait += 1;
    }
    return { allowed: false, retryAfterMs: wait, remaining: Math.floor(bucket.tokens) };
  }
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}

type Op =
  | { kind: 'one'; key: string; cost: number; dt: number }
  | { kind: 'many'; items: { key: string; cost: number }[]; dt: number }
  | { kind: 'reset'; key: string | undefined };

/**
 * The conformance suite of a {@link RateLimiter}: every implementation (core's TypeScript
 * token bucket, the native one) calls it with a factory, then adds its own cases.
 *
 * @example
 * ```ts
 * testRateLimiter('TokenBucketLimiter', (opts) => createTokenBucket(opts))
 * ```
 */
export function testRateLimiter(
  name: string,
  make: (options: TokenBucketOptions) => RateLimiter,
): void {
  describe(`RateLimiter conformance: ${name}`, () => {
    const T0 = 1_000_000;

    it('allows a burst up to capacity, then denies with the wait until one token', () => {
      const limiter = make({ capacity: 5, refillPerSec: 2 });
      const remaining = [1, 2, 3, 4, 5].map(() => limiter.tryAcquire('a', 1, T0));
      expect(remaining.map((d) => [d.allowed, d.retryAfterMs, d.remaining])).toEqual([
        [true, 0, 4],
        [true, 0, 3],
        [true, 0, 2],
        [true, 0, 1],
        [true, 0, 0],
      ]);
      expect(limiter.tryAcquire('a', 1, T0)).toEqual({
        allowed: false,
        retryAfterMs: 500,
        remaining: 0,
      });
      // Waiting one ms less than told is not enough; waiting exactly as told is.
      expect(limiter.tryAcquire('a', 1, T0 + 499)).toMatchObject({
        allowed: false,
        retryAfterMs: 1,
      });
      expect(limiter.tryAcquire('a', 1, T0 + 500)).toEqual({
        allowed: true,
        retryAfterMs: 0,
        remaining: 0,
      });
    });

    it('refills continuously by elapsed time, never above capacity', () => {
      const limiter = make({ capacity: 4, refillPerSec: 1 });
      expect(limiter.tryAcquire('a', 4, T0).remaining).toBe(0);
      // 250 ms refill a quarter token: not enough for one, 750 ms more are needed.
      expect(limiter.tryAcquire('a', 1, T0 + 250)).toEqual({
        allowed: false,
        retryAfterMs: 750,
        remaining: 0,
      });
      expect(limiter.tryAcquire('a', 1, T0 + 2_000)).toMatchObject({ allowed: true, remaining: 1 });
      // A day of idling fills the bucket to capacity and no further.
      expect(limiter.tryAcquire('a', 1, T0 + 86_400_000)).toMatchObject({ remaining: 3 });
      expect(limiter.tryAcquire('a', 4, T0 + 86_400_000).allowed).toBe(false);
    });

    it('takes a cost above 1 whole or not at all; cost 0 always passes', () => {
      const limiter = make({ capacity: 5, refillPerSec: 10 });
      expect(limiter.tryAcquire('a', 3, T0)).toEqual({
        allowed: true,
        retryAfterMs: 0,
        remaining: 2,
      });
      expect(limiter.tryAcquire('a', 3, T0)).toEqual({
        allowed: false,
        retryAfterMs: 100,
        remaining: 2,
      });
      expect(limiter.tryAcquire('a', 2, T0)).toMatchObject({ allowed: true, remaining: 0 });
      expect(limiter.tryAcquire('a', 0, T0)).toEqual({
        allowed: true,
        retryAfterMs: 0,
        remaining: 0,
      });
      expect(limiter.tryAcquire('a', 0.5, T0 + 50)).toMatchObject({ allowed: true, remaining: 0 });
    });

    it('never allows a cost above capacity and takes nothing for it', () => {
      const limiter = make({ capacity: 3, refillPerSec: 1 });
      expect(limiter.tryAcquire('a', 4, T0)).toEqual({
        allowed: false,
        retryAfterMs: Number.POSITIVE_INFINITY,
        remaining: 3,
      });
      expect(limiter.tryAcquire('a', 3, T0).allowed).toBe(true);
    });

    it('keeps keys independent', () => {
      const limiter = make({ capacity: 2, refillPerSec: 1 });
      limiter.tryAcquire('a', 2, T0);
      expect(limiter.tryAcquire('a', 1, T0).allowed).toBe(false);
      expect(limiter.tryAcquire('b', 1, T0)).toMatchObject({ allowed: true, remaining: 1 });
      expect(limiter.keyCount).toBe(2);
    });

    it('answers a batch exactly as the same calls made one by one', () => {
      const options = { capacity: 3, refillPerSec: 4 };
      const batched = make(options);
      const looped = make(options);
      const keys = ['a', 'b', 'a', 'a', 'a', 'b', 'c'];
      const costs = [1, 3, 1, 1, 1, 1, 9];
      const one = keys.map((key, i) => looped.tryAcquire(key, costs[i], T0).retryAfterMs);
      expect(Array.from(batched.tryAcquireMany(keys, costs, T0))).toEqual(one);
      expect(one).toEqual([0, 0, 0, 0, 250, 250, Number.POSITIVE_INFINITY]);
      // Costs default to 1 each.
      const later = batched.tryAcquireMany(['a', 'a'], undefined, T0 + 250);
      expect(batched.tryAcquireMany(['a'], undefined, T0 + 250)).toBeInstanceOf(Float64Array);
      expect(Array.from(later)).toEqual([0, 250]);
    });

    it('forgets one key or every key on reset', () => {
      const limiter = make({ capacity: 1, refillPerSec: 1 });
      limiter.tryAcquire('a', 1, T0);
      limiter.tryAcquire('b', 1, T0);
      expect(limiter.keyCount).toBe(2);
      limiter.reset('a');
      expect(limiter.keyCount).toBe(1);
      expect(limiter.tryAcquire('a', 1, T0).allowed).toBe(true);
      expect(limiter.tryAcquire('b', 1, T0).allowed).toBe(false);
      limiter.reset('unknown');
      limiter.reset();
      expect(limiter.keyCount).toBe(0);
      expect(limiter.tryAcquire('b', 1, T0).allowed).toBe(true);
    });

    it('treats a clock going backwards as no time passed', () => {
      const limiter = make({ capacity: 2, refillPerSec: 1 });
      limiter.tryAcquire('a', 2, T0);
      expect(limiter.tryAcquire('a', 1, T0 - 10_000)).toEqual({
        allowed: false,
        retryAfterMs: 1000,
        remaining: 0,
      });
      expect(limiter.tryAcquire('a', 1, T0 + 1000).allowed).toBe(true);
    });

    it('refuses a cost that is negative or not finite with invalid_request, taking nothing', () => {
      const limiter = make({ capacity: 2, refillPerSec: 1 });
      for (const cost of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
        expect(thrown(() => limiter.tryAcquire('a', cost, T0))).toMatchObject({
          code: 'invalid_request',
        });
      }
      expect(thrown(() => limiter.tryAcquireMany(['a', 'a'], [2, -1], T0))).toMatchObject({
        code: 'invalid_request',
      });
      expect(limiter.tryAcquire('a', 2, T0).allowed).toBe(true);
    });

    it('matches the reference model on random sequences', () => {
      const key = fc.constantFrom('a', 'b', 'c', 'd', 'e');
      const cost = fc.constantFrom(0, 0.5, 1, 1, 1, 2, 3, 7, 1000);
      const dt = fc.oneof(
        fc.constant(0),
        fc.integer({ min: 0, max: 50 }),
        fc.integer({ min: 0, max: 5000 }),
      );
      const op: fc.Arbitrary<Op> = fc.oneof(
        { weight: 6, arbitrary: fc.record({ kind: fc.constant('one' as const), key, cost, dt }) },
        {
          weight: 2,
          arbitrary: fc.record({
            kind: fc.constant('many' as const),
            items: fc.array(fc.record({ key, cost }), { maxLength: 8 }),
            dt,
          }),
        },
        {
          weight: 1,
          arbitrary: fc.record({
            kind: fc.constant('reset' as const),
            key: fc.option(key, { nil: undefined }),
          }),
        },
      );
      const options = fc.record({
        capacity: fc.constantFrom(1, 2, 2.5, 5, 10, 100),
        refillPerSec: fc.constantFrom(0.3, 1, 3, 7, 10, 1000),
      });
      fc.assert(
        fc.property(options, fc.array(op, { maxLength: 60 }), (opts, ops) => {
          const limiter = make({ ...opts, maxKeys: 1000 });
          let model = new ReferenceTokenBucket(opts);
          let now = T0;
          for (const o of ops) {
            if (o.kind === 'reset') {
              limiter.reset(o.key);
              if (o.key === undefined) model = new ReferenceTokenBucket(opts);
              else model.buckets.delete(o.key);
              continue;
            }
            now += o.dt;
            if (o.kind === 'one') {
              expect(limiter.tryAcquire(o.key, o.cost, now)).toEqual(
                model.acquire(o.key, o.cost, now),
              );
            } else {
              const waits = limiter.tryAcquireMany(
                o.items.map((i) => i.key),
                o.items.map((i) => i.cost),
                now,
              );
              const expected = o.items.map((i) => model.acquire(i.key, i.cost, now).retryAfterMs);
              expect(Array.from(waits)).toEqual(expected);
            }
            // A limiter may forget full buckets early; it never tracks keys it was not given.
            expect(limiter.keyCount).toBeLessThanOrEqual(model.buckets.size);
          }
        }),
        { numRuns: 300 },
      );
    });
  });
}
