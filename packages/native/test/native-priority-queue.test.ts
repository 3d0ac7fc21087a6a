import { BucketQueue } from '@switchboard/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { testPriorityQueue } from '../../../test/conformance/priority-queue.js';
import type { NativeAddon } from '../src/addon.js';
import { NativePriorityQueue } from '../src/native-priority-queue.js';
import { addon, native } from './native-available.js';

const raw = addon as NativeAddon;

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
