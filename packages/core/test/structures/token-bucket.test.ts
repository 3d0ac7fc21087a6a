import { createTokenBucket, DEFAULT_MAX_KEYS, TokenBucketLimiter } from '@switchboard/core';
import { testRateLimiter } from '@switchboard/testing';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SwitchboardError } from '../../src/errors.js';

testRateLimiter('TokenBucketLimiter', (options) => createTokenBucket(options));

describe('TokenBucketLimiter', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('refuses bad options with invalid_config naming the option', () => {
    const cases = [
      [{ capacity: 0, refillPerSec: 1 }, 'capacity'],
      [{ capacity: Number.NaN, refillPerSec: 1 }, 'capacity'],
      [{ capacity: 1, refillPerSec: 0 }, 'refillPerSec'],
      [{ capacity: 1, refillPerSec: Number.POSITIVE_INFINITY }, 'refillPerSec'],
      [{ capacity: 1, refillPerSec: 1, maxKeys: 0 }, 'maxKeys'],
      [{ capacity: 1, refillPerSec: 1, maxKeys: 1.5 }, 'maxKeys'],
    ] as const;
    for (const [options, word] of cases) {
      const err = (() => {
        try {
          createTokenBucket(options);
        } catch (e) {
          return e;
        }
      })();
      expect(err).toBeInstanceOf(SwitchboardError);
      expect(err).toMatchObject({ code: 'invalid_config' });
      expect((err as Error).message).toContain(word);
    }
    expect(createTokenBucket({ capacity: 1, refillPerSec: 1 }).maxKeys).toBe(DEFAULT_MAX_KEYS);
  });

  it('evicts a full bucket before a busy one when maxKeys is reached', () => {
    const limiter = new TokenBucketLimiter({ capacity: 2, refillPerSec: 1, maxKeys: 3 });
    limiter.tryAcquire('busy', 2, 0); // empty until t=2000
    limiter.tryAcquire('idle', 0, 0); // stays full
    limiter.tryAcquire('other', 1, 0);
    // 'busy' is the least recently used, yet 'idle' is the one forgotten: it loses nothing.
    limiter.tryAcquire('new', 1, 100);
    expect(limiter.keyCount).toBe(3);
    expect(limiter.tryAcquire('busy', 1, 100)).toMatchObject({ allowed: false, retryAfterMs: 900 });
  });

  it('evicts the least recently used key when no bucket is full, and reuses its slot', () => {
    const limiter = new TokenBucketLimiter({ capacity: 2, refillPerSec: 1, maxKeys: 2 });
    limiter.tryAcquire('a', 2, 0);
    limiter.tryAcquire('b', 2, 0);
    limiter.tryAcquire('a', 0, 0); // a becomes the most recently used
    limiter.tryAcquire('c', 2, 0); // b goes
    expect(limiter.keyCount).toBe(2);
    expect(limiter.tryAcquire('a', 1, 0).allowed).toBe(false);
    expect(limiter.tryAcquire('c', 1, 0).allowed).toBe(false);
    // b was forgotten, so it starts full again (the documented cost of a too small maxKeys).
    expect(limiter.tryAcquire('b', 2, 0).allowed).toBe(true);
  });

  it('stays within maxKeys under churn of many keys', () => {
    const limiter = createTokenBucket({ capacity: 5, refillPerSec: 1, maxKeys: 100 });
    for (let i = 0; i < 5_000; i++) limiter.tryAcquire(`k${i % 700}`, 1, i);
    expect(limiter.keyCount).toBe(100);
    // k50, last used at 4950, is still tracked with its own state (a fresh one would hold 5).
    expect(limiter.tryAcquire('k50', 0, 4_999).remaining).toBe(4);
  });

  it('reuses its arrays after reset()', () => {
    const limiter = createTokenBucket({ capacity: 3, refillPerSec: 1, maxKeys: 64 });
    for (let i = 0; i < 40; i++) limiter.tryAcquire(`k${i}`, 3, 0);
    limiter.reset();
    for (let i = 0; i < 40; i++) {
      expect(limiter.tryAcquire(`k${i}`, 3, 0).allowed).toBe(true);
    }
    expect(limiter.keyCount).toBe(40);
  });

  it('reads Date.now() when no time is given', () => {
    vi.useFakeTimers();
    vi.setSystemTime(1_000_000);
    const limiter = createTokenBucket({ capacity: 1, refillPerSec: 1 });
    expect(limiter.tryAcquire('a').allowed).toBe(true);
    expect(limiter.tryAcquire('a')).toMatchObject({ allowed: false, retryAfterMs: 1000 });
    vi.setSystemTime(1_001_000);
    expect(Array.from(limiter.tryAcquireMany(['a', 'a']))).toEqual([0, 1000]);
  });

  it('refuses a bad clock and a batch with too few costs', () => {
    const limiter = createTokenBucket({ capacity: 1, refillPerSec: 1 });
    expect(() => limiter.tryAcquire('a', 1, Number.NaN)).toThrow(/now must be/);
    expect(() => limiter.tryAcquireMany(['a', 'b'], [1], 0)).toThrow(/2 keys but only 1 costs/);
    expect(limiter.keyCount).toBe(0);
  });

  it('tells a wait after which the request passes, whatever the rounding', () => {
    // 0.3 tokens/s: 1 token needs 3333.33 ms, so the wait is rounded up to 3334.
    const limiter = createTokenBucket({ capacity: 1, refillPerSec: 0.3 });
    limiter.tryAcquire('a', 1, 0);
    const { retryAfterMs } = limiter.tryAcquire('a', 1, 0);
    expect(retryAfterMs).toBe(3334);
    expect(limiter.tryAcquire('a', 1, retryAfterMs - 1).allowed).toBe(false);
    expect(limiter.tryAcquire('a', 1, retryAfterMs).allowed).toBe(true);
  });
});
