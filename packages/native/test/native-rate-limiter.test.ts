import { TokenBucketLimiter, type TokenBucketOptions } from '@switchboard/core';
import { testRateLimiter } from '@switchboard/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { NativeAddon } from '../src/addon.js';
import { NativeRateLimiter } from '../src/native-rate-limiter.js';
import { addon, native } from './native-available.js';

const raw = addon as NativeAddon;
const T0 = 1_000_000;

type Op =
  | { kind: 'one'; key: number; cost: number; dt: number }
  | { kind: 'many'; items: { key: number; cost: number }[]; dt: number; unit: boolean }
  | { kind: 'reset'; key: number | undefined };

describe.skipIf(!native)('NativeRateLimiter', () => {
  testRateLimiter('native', (options) => new NativeRateLimiter(raw, options));

  const key = fc.nat(9);
  const cost = fc.constantFrom(0, 0.25, 0.5, 1, 1, 1, 2, 3, 7, 1000);
  const dt = fc.oneof(fc.constant(0), fc.nat(50), fc.nat(5000), fc.integer({ min: -100, max: 0 }));
  const op: fc.Arbitrary<Op> = fc.oneof(
    { weight: 6, arbitrary: fc.record({ kind: fc.constant('one' as const), key, cost, dt }) },
    {
      weight: 3,
      arbitrary: fc.record({
        kind: fc.constant('many' as const),
        items: fc.array(fc.record({ key, cost }), { maxLength: 12 }),
        dt,
        unit: fc.boolean(),
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
  const options: fc.Arbitrary<TokenBucketOptions> = fc.record({
    capacity: fc.constantFrom(1, 2, 2.5, 5, 10, 100),
    refillPerSec: fc.constantFrom(0.3, 1, 3, 7, 10, 1000),
    // Small bounds make eviction (full buckets first, then least recently used) common.
    maxKeys: fc.constantFrom(1, 2, 3, 5, 1000),
  });

  it('answers every operation sequence exactly as the TypeScript token bucket', () => {
    fc.assert(
      fc.property(options, fc.array(op, { maxLength: 80 }), (opts, ops) => {
        const rust = new NativeRateLimiter(raw, opts);
        const ts = new TokenBucketLimiter(opts);
        let now = T0;
        for (const o of ops) {
          if (o.kind === 'reset') {
            const k = o.key === undefined ? undefined : `k${o.key}`;
            rust.reset(k);
            ts.reset(k);
          } else if (o.kind === 'one') {
            now += o.dt;
            const k = `k${o.key}`;
            expect(rust.tryAcquire(k, o.cost, now)).toEqual(ts.tryAcquire(k, o.cost, now));
          } else {
            now += o.dt;
            const keys = o.items.map((i) => `k${i.key}`);
            const costs = o.unit ? undefined : Float64Array.from(o.items, (i) => i.cost);
            expect(rust.tryAcquireMany(keys, costs, now)).toEqual(
              ts.tryAcquireMany(keys, costs, now),
            );
          }
          expect(rust.keyCount).toBe(ts.keyCount);
        }
      }),
      { numRuns: 400 },
    );
  });

  it('evicts a key met earlier in a batch exactly when the TypeScript one does', () => {
    const opts = { capacity: 1, refillPerSec: 1, maxKeys: 2 };
    const rust = new NativeRateLimiter(raw, opts);
    const ts = new TokenBucketLimiter(opts);
    const keys = ['a', 'b', 'c', 'a', 'b', 'c', 'a'];
    const want = ts.tryAcquireMany(keys, undefined, T0);
    expect(Array.from(rust.tryAcquireMany(keys, undefined, T0))).toEqual(Array.from(want));
    // Each new key evicts the oldest, so every request meets a fresh, full bucket.
    expect(Array.from(want)).toEqual([0, 0, 0, 0, 0, 0, 0]);
    expect(rust.keyCount).toBe(2);
  });

  it('refuses bad options with invalid_config and a bad now with invalid_request', () => {
    expect(() => new NativeRateLimiter(raw, { capacity: 0, refillPerSec: 1 })).toThrow(
      expect.objectContaining({ code: 'invalid_config' }),
    );
    const limiter = new NativeRateLimiter(raw, { capacity: 1, refillPerSec: 1 });
    expect(() => limiter.tryAcquire('a', 1, Number.NaN)).toThrow(
      expect.objectContaining({ code: 'invalid_request' }),
    );
    expect(() => limiter.tryAcquireMany(['a'], [1, 2, 3].slice(0, 0), T0)).toThrow(
      expect.objectContaining({ code: 'invalid_request' }),
    );
    expect(limiter.keyCount).toBe(0);
  });

  it('gives its memory back when its keys are forgotten', () => {
    const limiter = new NativeRateLimiter(raw, { capacity: 5, refillPerSec: 1 });
    const keys = Array.from({ length: 50_000 }, (_, i) => `submitter-${i}`);
    limiter.tryAcquireMany(keys, undefined, T0);
    expect(limiter.keyCount).toBe(50_000);
    expect(limiter.memory).toBeGreaterThanOrEqual(100_000);
    for (const k of keys.slice(0, 25_000)) limiter.reset(k);
    limiter.reset();
    expect(limiter.memory).toBe(0);
    for (const k of keys.slice(0, 10)) limiter.tryAcquire(k, 1, T0);
    for (const k of keys.slice(0, 10)) limiter.reset(k);
    expect([limiter.keyCount, limiter.memory]).toEqual([0, 0]);
  });

  it('answers 10k requests on 100 keys with waits the TypeScript one agrees on', () => {
    const opts = { capacity: 50, refillPerSec: 200 };
    const rust = new NativeRateLimiter(raw, opts);
    const ts = new TokenBucketLimiter(opts);
    const keys = Array.from({ length: 10_000 }, (_, i) => `k${(i * 7919) % 100}`);
    const a = rust.tryAcquireMany(keys, undefined, T0);
    expect(a).toEqual(ts.tryAcquireMany(keys, undefined, T0));
    expect(a.filter((w) => w === 0).length).toBe(100 * 50);
  });
});
