import { describe, expect, it } from 'vitest';
import type { LimiterRef, NativeAddon, QueueRef } from '../src/addon.js';
import { addon, native } from './native-available.js';

const raw = addon as NativeAddon;
// The raw functions are called with wrong types on purpose: widen them to take anything.
const loose = raw as unknown as Record<string, (...args: unknown[]) => unknown>;

function typeError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(TypeError);
    return (err as Error).message;
  }
  throw new Error('expected a TypeError');
}

describe.skipIf(!native)('the raw addon', () => {
  it('throws a TypeError naming the function when the first argument is not its object', () => {
    const limiter: LimiterRef = raw.limiterCreate(1, 1, 10);
    for (const bad of [undefined, null, 1, 'q', {}, [], limiter]) {
      expect(typeError(() => loose.queuePop!(bad))).toBe(
        'switchboard-native queuePop: the first argument must be a queue made by queueCreate()',
      );
    }
    const queue: QueueRef = raw.queueCreate();
    expect(typeError(() => loose.limiterKeyCount!(queue))).toMatch(
      /limiterKeyCount: .* limiterCreate/,
    );
  });

  it('throws a TypeError for a level that is not an integer 0..255', () => {
    const q = raw.queueCreate();
    expect(typeError(() => loose.queuePush!(q, '1'))).toMatch(/queuePush: level must be a number/);
    for (const bad of [-1, 256, 1.5, Number.NaN]) {
      expect(typeError(() => raw.queuePush(q, bad))).toMatch(/level must be an integer 0\.\.255/);
    }
    expect(typeError(() => raw.queueSizeAt(q, 300))).toMatch(/queueSizeAt: level/);
    expect(raw.queueSize(q)).toBe(0);
  });

  it('throws a TypeError for wrong typed arrays or sizes, queuing nothing', () => {
    const q = raw.queueCreate();
    const h = new Float64Array(2);
    const s = new Uint32Array(2);
    expect(typeError(() => loose.queuePushMany!(q, [1, 2], h, s))).toMatch(
      /levels must be a Uint8Array/,
    );
    expect(
      typeError(() => loose.queuePushMany!(q, new Uint8Array(2), new Float32Array(2), s)),
    ).toMatch(/handlesOut must be a Float64Array/);
    expect(
      typeError(() => loose.queuePushMany!(q, new Uint8Array(2), h, new Int32Array(2))),
    ).toMatch(/slotsOut must be a Uint32Array/);
    expect(typeError(() => raw.queuePushMany(q, new Uint8Array(3), h, s))).toMatch(
      /at least as long/,
    );
    const shared = new ArrayBuffer(64);
    expect(
      typeError(() =>
        raw.queuePushMany(q, new Uint8Array(shared, 0, 2), new Float64Array(shared, 0, 2), s),
      ),
    ).toMatch(/must not share memory/);
    expect(typeError(() => loose.queuePopMany!(q, -1, s))).toMatch(/max must be a number ≥ 0/);
    expect(typeError(() => loose.queuePopMany!(q, 1, [0]))).toMatch(
      /slotsOut must be a Uint32Array/,
    );
    expect(raw.queueSize(q)).toBe(0);
  });

  it('answers -1 to remove with anything that is not a live handle', () => {
    const q = raw.queueCreate();
    raw.queuePush(q, 1);
    for (const bad of ['257', null, {}, Number.NaN, -1, 2 ** 60]) {
      expect(loose.queueRemove!(q, bad)).toBe(-1);
    }
    expect(raw.queueRemove(q, 257)).toBe(0);
  });

  it('throws a TypeError for bad limiter arguments, changing nothing', () => {
    expect(typeError(() => raw.limiterCreate(0, 1, 1))).toMatch(
      /limiterCreate: capacity and refillPerSec/,
    );
    expect(typeError(() => loose.limiterCreate!('5', 1, 1))).toMatch(/capacity must be a number/);
    const l = raw.limiterCreate(2, 1, 10);
    const out = new Float64Array(1);
    expect(typeError(() => raw.limiterAdmit(l, Number.NaN, out))).toMatch(
      /now must be a finite number/,
    );
    expect(typeError(() => raw.limiterAdmit(l, 0, new Float64Array(0)))).toMatch(/out must hold/);
    const id = raw.limiterAdmit(l, 0, out);
    expect(typeError(() => raw.limiterAcquire(l, 7, 1, 0, out))).toMatch(/is not a tracked key/);
    expect(typeError(() => raw.limiterAcquire(l, -1, 1, 0, out))).toMatch(/id must be an integer/);
    expect(typeError(() => raw.limiterAcquire(l, id, -1, 0, out))).toMatch(/cost at index 0/);
    const ids = Uint32Array.of(id, id);
    const waits = new Float64Array(2);
    expect(typeError(() => loose.limiterAcquireMany!(l, [id], undefined, 0, waits))).toMatch(
      /ids must be a Uint32Array/,
    );
    expect(typeError(() => raw.limiterAcquireMany(l, ids, new Float64Array(1), 0, waits))).toMatch(
      /at least as long as ids/,
    );
    expect(
      typeError(() => raw.limiterAcquireMany(l, Uint32Array.of(id, 9), undefined, 0, waits)),
    ).toMatch(/id at index 1 is not a tracked key/);
    // A bad cost is reported by index, and nothing is taken.
    expect(raw.limiterAcquireMany(l, ids, Float64Array.of(1, Number.NaN), 0, waits)).toBe(1);
    expect(raw.limiterAcquireMany(l, ids, Float64Array.of(1, 1), 0, waits)).toBe(-1);
    expect(Array.from(waits)).toEqual([0, 0]);
  });
});
