import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { BucketQueue } from '@switchboard/core';
import { testPriorityQueue } from '@switchboard/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { NativeAddon } from '../src/addon.js';
import { NativePriorityQueue } from '../src/native-priority-queue.js';
import { addon, native } from './native-available.js';

const raw = addon as NativeAddon;

/** A full garbage collection, after the current job so that fresh `WeakRef`s can clear. */
async function collect(): Promise<void> {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  await new Promise((resolve) => setTimeout(resolve, 0));
  gc();
}

/** Queues `n` fresh objects at `level`, keeping only weak references to them. */
function pushTracked(q: NativePriorityQueue<object>, n: number, level: number): WeakRef<object>[] {
  const items = Array.from({ length: n }, (_, i) => ({ i }));
  q.pushMany(items, new Uint8Array(n).fill(level));
  return items.map((item) => new WeakRef(item));
}

const alive = (refs: WeakRef<object>[]) => refs.filter((r) => r.deref() !== undefined).length;

describe.skipIf(!native)('NativePriorityQueue', () => {
  testPriorityQueue('native', <T>() => new NativePriorityQueue<T>(raw));

  type Command =
    | { op: 'push'; level: number }
    | { op: 'pushMany'; levels: number[]; typed: boolean }
    | { op: 'pop' | 'peek' | 'clear' }
    | { op: 'popMany'; max: number }
    | { op: 'remove'; pick: number };

  const level = fc.oneof(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 255 }));
  const command: fc.Arbitrary<Command> = fc.oneof(
    { weight: 5, arbitrary: fc.record({ op: fc.constant('push' as const), level }) },
    {
      weight: 3,
      arbitrary: fc.record({
        op: fc.constant('pushMany' as const),
        levels: fc.array(level, { maxLength: 40 }),
        typed: fc.boolean(),
      }),
    },
    { weight: 3, arbitrary: fc.record({ op: fc.constant('pop' as const) }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('popMany' as const), max: fc.nat(50) }) },
    { weight: 3, arbitrary: fc.record({ op: fc.constant('remove' as const), pick: fc.nat() }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('peek' as const) }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('clear' as const) }) },
  );

  it('gives the same handles and results as the TypeScript queue for any operation sequence', () => {
    fc.assert(
      fc.property(fc.array(command, { maxLength: 200 }), (commands) => {
        const rust = new NativePriorityQueue<number>(raw);
        const ts = new BucketQueue<number>();
        const handles: number[] = [];
        let next = 0;
        for (const c of commands) {
          switch (c.op) {
            case 'push': {
              const h = rust.push(next, c.level);
              expect(ts.push(next++, c.level)).toBe(h);
              handles.push(h);
              break;
            }
            case 'pushMany': {
              const items = c.levels.map(() => next++);
              const levels = c.typed ? Uint8Array.from(c.levels) : c.levels;
              const hs = rust.pushMany(items, levels);
              expect(ts.pushMany(items, levels)).toEqual(hs);
              handles.push(...hs);
              break;
            }
            case 'pop':
              expect(rust.pop()).toBe(ts.pop());
              break;
            case 'peek':
              expect(rust.peek()).toBe(ts.peek());
              break;
            case 'popMany':
              expect(rust.popMany(c.max)).toEqual(ts.popMany(c.max));
              break;
            case 'remove': {
              const h = handles.length === 0 ? c.pick : handles[c.pick % handles.length]!;
              expect(rust.remove(h)).toBe(ts.remove(h));
              break;
            }
            case 'clear':
              rust.clear();
              ts.clear();
              break;
          }
          expect(rust.size).toBe(ts.size);
        }
        for (let l = 0; l < 256; l += 17) expect(rust.sizeAt(l)).toBe(ts.sizeAt(l));
        expect(rust.popMany(Number.POSITIVE_INFINITY)).toEqual(
          ts.popMany(Number.POSITIVE_INFINITY),
        );
      }),
      { numRuns: 300 },
    );
  });

  it('gives the same results as the TypeScript queue for batches past the stale-cell bound', () => {
    const op = fc.oneof(
      fc.record({ push: fc.integer({ min: 1, max: 3000 }), level: fc.nat(3) }),
      fc.record({ pop: fc.integer({ min: 0, max: 6000 }) }),
      fc.record({ remove: fc.nat() }),
      fc.record({ single: fc.boolean() }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 30 }), (ops) => {
        const rust = new NativePriorityQueue<number>(raw);
        const ts = new BucketQueue<number>();
        const handles: number[] = [];
        let next = 0;
        for (const o of ops) {
          if ('push' in o) {
            const items = Array.from({ length: o.push }, () => next++);
            const levels = Uint8Array.from(items, (i) => (i * 7 + o.level) % 4);
            const hs = rust.pushMany(items, levels);
            expect(ts.pushMany(items, levels)).toEqual(hs);
            handles.push(...hs);
          } else if ('pop' in o) {
            expect(rust.popMany(o.pop)).toEqual(ts.popMany(o.pop));
          } else if ('remove' in o) {
            const h = handles[o.remove % Math.max(1, handles.length)] ?? 0;
            expect(rust.remove(h)).toBe(ts.remove(h));
          } else if (o.single) {
            expect(rust.pop()).toBe(ts.pop());
          } else {
            expect(rust.push(next, 1)).toBe(ts.push(next++, 1));
          }
          expect(rust.peek()).toBe(ts.peek());
        }
        expect(rust.popMany(Number.POSITIVE_INFINITY)).toEqual(
          ts.popMany(Number.POSITIVE_INFINITY),
        );
      }),
      { numRuns: 40 },
    );
  });

  it('never clears a freed cell that a later push reused', () => {
    const q = new NativePriorityQueue<string>(raw);
    q.push('keeper', 9);
    q.pushMany(Array.from({ length: 4_500 }, String), new Uint8Array(4_500));
    q.popMany(3_000);
    // 'x' lands in the most recently freed cell; the next pop passes 4096 freed cells and
    // clears them all, which must not include that one.
    q.push('x', 5);
    q.pushMany(['y'], [6]);
    expect(q.popMany(1_500)).toHaveLength(1_500);
    expect(q.popMany(10)).toEqual(['x', 'y', 'keeper']);
  });

  it('lets popped payloads be collected: past 4096 freed cells, or at once when emptied', async () => {
    const q = new NativePriorityQueue<object>(raw);
    q.push({ keeper: true }, 9);
    const early = pushTracked(q, 100, 0);
    pushTracked(q, 5_000, 1);
    q.popMany(100);
    // 100 freed cells, no push to overwrite them: then 4000 more pass the bound.
    q.popMany(4_000);
    const big = pushTracked(q, 5_000, 0);
    q.popMany(5_000);
    await collect();
    expect([alive(early), alive(big)]).toEqual([0, 0]);

    q.clear();
    const small = pushTracked(q, 100, 0);
    const large = pushTracked(q, 3_000, 0);
    q.popMany(3_100);
    expect(q.size).toBe(0);
    await collect();
    expect([alive(small), alive(large)]).toEqual([0, 0]);
  });

  it('returns handle arrays that never alias, even after one was transferred', () => {
    const rust = new NativePriorityQueue<number>(raw);
    const ts = new BucketQueue<number>();
    const levels = Uint8Array.of(0, 1, 2);
    const a = rust.pushMany([1, 2, 3], levels);
    const b = rust.pushMany([4, 5, 6], levels);
    const wantA = ts.pushMany([1, 2, 3], levels);
    const wantB = ts.pushMany([4, 5, 6], levels);
    expect([a, b]).toEqual([wantA, wantB]);
    // The caller owns its handles: overwriting one batch's must not touch another's.
    a.fill(0);
    expect(b).toEqual(wantB);
    expect(rust.remove(b[1]!)).toBe(ts.remove(wantB[1]!));
    // Moving the shared block to another owner detaches it; later batches still work.
    structuredClone(b.buffer, { transfer: [b.buffer] });
    const big = Array.from({ length: 2_000 }, (_, i) => i);
    const bigLevels = new Uint8Array(2_000);
    expect(rust.pushMany([7, 8, 9], levels)).toEqual(ts.pushMany([7, 8, 9], levels));
    expect(rust.pushMany(big, bigLevels)).toEqual(ts.pushMany(big, bigLevels));
    expect(rust.popMany(Number.POSITIVE_INFINITY)).toEqual(ts.popMany(Number.POSITIVE_INFINITY));
  });

  it('gives its memory back once emptied, by pops, removes or clear', () => {
    const q = new NativePriorityQueue<object>(raw);
    const idle = q.capacity;
    const n = 200_000;
    const levels = Uint8Array.from({ length: n }, (_, i) => i % 4);
    const fill = () =>
      q.pushMany(
        Array.from({ length: n }, () => ({})),
        levels,
      );
    const handles = fill();
    expect(q.capacity).toBeGreaterThan(n);
    q.popMany(n / 2);
    for (const h of handles) q.remove(h);
    expect(q.size).toBe(0);
    // A small reserve (a few rings of 16 entries, 256 free slots) is kept; 200k are not.
    expect(q.capacity).toBeLessThan(idle + 1_000);
    fill();
    q.clear();
    expect(q.capacity).toBeLessThan(idle + 1_000);
    q.push({}, 1);
    expect([q.size, q.peek()]).toEqual([1, {}]);
  });

  it('shrinks its rings while draining, before it is empty', () => {
    const q = raw.queueCreate();
    const n = 100_000;
    raw.queuePushMany(q, new Uint8Array(n), new Float64Array(n), new Uint32Array(n));
    // A ring grown by doubling past 100k entries.
    expect(raw.queueCapacity(q)).toBeGreaterThanOrEqual(131_072);
    const slots = new Uint32Array(n);
    expect(raw.queuePopMany(q, n - 10, slots)).toBe(n - 10);
    expect(raw.queueSize(q)).toBe(10);
    // Left: the popped slots' free list (~n) and a ring of at most 1024 entries.
    expect(raw.queueCapacity(q)).toBeLessThan(n + 2_000);
    expect(raw.queuePopMany(q, 100, slots)).toBe(10);
    expect(raw.queueSlotSpan(q)).toBe(0);
  });
});
