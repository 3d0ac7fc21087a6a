/**
 * The conformance suite of the `PriorityQueue` interface. Every implementation's test calls
 * `testPriorityQueue(name, make)` (the TypeScript bucket queue in core, the Rust queue in
 * `@switchboard/native`), then adds its own cases. It depends only on the interface: errors
 * are checked by their `code`, handles are opaque numbers.
 */

import type { PriorityQueue } from '@switchboard/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

type Make = <T>() => PriorityQueue<T>;

/** The `code` of what `fn` throws, or `undefined` when it does not throw. */
function thrownCode(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return (err as { code?: unknown }).code;
  }
  return undefined;
}

function drain<T>(queue: PriorityQueue<T>): T[] {
  const out: T[] = [];
  for (let item = queue.pop(); item !== undefined; item = queue.pop()) out.push(item);
  return out;
}

/** Indices 0..n-1 ordered by level, stable: the order a conforming queue pops them. */
function expectedOrder(levels: ArrayLike<number>): number[] {
  return Array.from({ length: levels.length }, (_, i) => i).sort(
    (a, b) => levels[a]! - levels[b]! || a - b,
  );
}

/** The simplest correct queue: a list scanned for the lowest (level, sequence). */
class ReferenceQueue {
  private entries: { item: number; level: number; seq: number; handle: number }[] = [];
  private seq = 0;
  get size(): number {
    return this.entries.length;
  }
  push(item: number, level: number, handle: number): void {
    this.entries.push({ item, level, seq: this.seq++, handle });
  }
  private best(): number {
    let best = -1;
    for (let i = 0; i < this.entries.length; i++) {
      const e = this.entries[i]!;
      const b = this.entries[best];
      if (b === undefined || e.level < b.level || (e.level === b.level && e.seq < b.seq)) best = i;
    }
    return best;
  }
  pop(): number | undefined {
    const i = this.best();
    return i < 0 ? undefined : this.entries.splice(i, 1)[0]!.item;
  }
  peek(): number | undefined {
    return this.entries[this.best()]?.item;
  }
  remove(handle: number): boolean {
    const i = this.entries.findIndex((e) => e.handle === handle);
    if (i >= 0) this.entries.splice(i, 1);
    return i >= 0;
  }
  sizeAt(level: number): number {
    return this.entries.filter((e) => e.level === level).length;
  }
  clear(): void {
    this.entries = [];
  }
}

const levelArb = fc.oneof(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 255 }));
const commandArb = fc.oneof(
  { weight: 5, arbitrary: fc.record({ op: fc.constant('push' as const), level: levelArb }) },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('pushMany' as const),
      levels: fc.array(levelArb, { maxLength: 20 }),
    }),
  },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('pop' as const) }) },
  {
    weight: 2,
    arbitrary: fc.record({ op: fc.constant('popMany' as const), max: fc.nat({ max: 12 }) }),
  },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('remove' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('peek' as const) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('sizeAt' as const), level: levelArb }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('clear' as const) }) },
);

/**
 * Registers the conformance tests of a `PriorityQueue` implementation.
 *
 * @example
 * ```ts
 * testPriorityQueue('BucketQueue', () => new BucketQueue())
 * ```
 */
export function testPriorityQueue(name: string, make: Make): void {
  describe(`PriorityQueue conformance: ${name}`, () => {
    it('pops by strict priority across levels and FIFO within one', () => {
      const q = make<string>();
      q.push('low-1', 3);
      q.push('crit-1', 0);
      q.push('normal-1', 2);
      q.push('low-2', 3);
      q.push('crit-2', 0);
      q.push('level-200', 200);
      q.push('high-1', 1);
      expect(q.size).toBe(7);
      expect(drain(q)).toEqual([
        'crit-1',
        'crit-2',
        'high-1',
        'normal-1',
        'low-1',
        'low-2',
        'level-200',
      ]);
      expect(q.size).toBe(0);
    });

    it('queues at level 2 (normal) when no priority is given, and accepts 0 and 255', () => {
      const q = make<string>();
      q.push('last', 255);
      q.push('default');
      q.push('low', 3);
      q.push('high', 1);
      q.push('first', 0);
      expect(q.sizeAt(2)).toBe(1);
      expect(drain(q)).toEqual(['first', 'high', 'default', 'low', 'last']);
    });

    it('is empty when new: pop and peek give undefined, popMany gives []', () => {
      const q = make<number>();
      expect(q.size).toBe(0);
      expect(q.pop()).toBeUndefined();
      expect(q.peek()).toBeUndefined();
      expect(q.popMany(5)).toEqual([]);
      expect(q.sizeAt(0)).toBe(0);
    });

    it('peeks at what pop would return without removing it', () => {
      const q = make<string>();
      q.push('b', 2);
      expect(q.peek()).toBe('b');
      q.push('a', 1);
      expect(q.peek()).toBe('a');
      expect(q.size).toBe(2);
      expect(q.pop()).toBe('a');
      expect(q.peek()).toBe('b');
    });

    it('removes by handle once; a popped, removed or unknown handle answers false', () => {
      const q = make<string>();
      const [a, b, c, d] = [q.push('a', 1), q.push('b', 1), q.push('c', 1), q.push('d', 5)];
      expect(new Set([a, b, c, d]).size).toBe(4);
      for (const h of [a, b, c, d]) {
        expect(Number.isSafeInteger(h) && h >= 0).toBe(true);
      }
      expect(q.remove(b)).toBe(true);
      expect(q.remove(b)).toBe(false);
      expect(q.size).toBe(3);
      expect(q.sizeAt(1)).toBe(2);
      expect(q.pop()).toBe('a');
      expect(q.remove(a)).toBe(false);
      expect(q.remove(d)).toBe(true);
      expect(q.remove(Number.MAX_SAFE_INTEGER)).toBe(false);
      expect(drain(q)).toEqual(['c']);
      expect(q.remove(c)).toBe(false);
    });

    it('removes the head, the tail and the middle of a level and keeps the rest in order', () => {
      const q = make<number>();
      const handles = Array.from({ length: 10 }, (_, i) => q.push(i, 4));
      for (const i of [0, 9, 5, 1, 8]) expect(q.remove(handles[i]!)).toBe(true);
      expect(q.peek()).toBe(2);
      expect(q.popMany(10)).toEqual([2, 3, 4, 6, 7]);
    });

    it('counts items per level with sizeAt, removed and popped items excluded', () => {
      const q = make<string>();
      q.pushMany(['a', 'b', 'c', 'd'], [0, 0, 3, 3]);
      const h = q.push('e', 3);
      expect([q.sizeAt(0), q.sizeAt(1), q.sizeAt(3)]).toEqual([2, 0, 3]);
      q.remove(h);
      q.pop();
      expect([q.sizeAt(0), q.sizeAt(3), q.size]).toEqual([1, 2, 3]);
    });

    it('gives the same order and sizes from pushMany/popMany as from loops of push/pop', () => {
      const items = Array.from({ length: 50 }, (_, i) => i);
      const levels = items.map((i) => (i * 7) % 5);
      const batched = make<number>();
      const looped = make<number>();
      const handles = batched.pushMany(items, Uint8Array.from(levels));
      const loopHandles = items.map((item, i) => looped.push(item, levels[i]));
      expect(handles).toBeInstanceOf(Float64Array);
      expect(Array.from(handles).every((h, i) => h !== handles[i - 1])).toBe(true);
      expect(batched.size).toBe(looped.size);
      expect(batched.remove(handles[3]!)).toBe(true);
      expect(looped.remove(loopHandles[3]!)).toBe(true);
      const viaLoop = drain(looped);
      expect(viaLoop).toEqual(expectedOrder(levels).filter((i) => i !== 3));
      expect([...batched.popMany(7), ...batched.popMany(100)]).toEqual(viaLoop);
    });

    it('caps popMany at max and at size; popMany(0) takes nothing', () => {
      const q = make<number>();
      q.pushMany([1, 2, 3], [2, 2, 2]);
      expect(q.popMany(0)).toEqual([]);
      expect(q.popMany(2)).toEqual([1, 2]);
      expect(q.popMany(10)).toEqual([3]);
      expect(q.size).toBe(0);
    });

    it('keeps order across interleaved pushes and pops', () => {
      const q = make<string>();
      q.push('n1', 2);
      q.push('l1', 3);
      expect(q.pop()).toBe('n1');
      q.push('n2', 2);
      q.push('c1', 0);
      expect(q.pop()).toBe('c1');
      q.push('n3', 2);
      expect(q.popMany(2)).toEqual(['n2', 'n3']);
      q.push('h1', 1);
      expect(drain(q)).toEqual(['h1', 'l1']);
    });

    it('clears everything, stays usable, and old handles never remove new items', () => {
      const q = make<number>();
      const old = Array.from(q.pushMany([1, 2, 3, 4], [0, 1, 2, 3]));
      q.clear();
      expect(q.size).toBe(0);
      expect(q.pop()).toBeUndefined();
      expect(q.sizeAt(0)).toBe(0);
      q.pushMany([5, 6, 7, 8], [0, 1, 2, 3]);
      for (const h of old) expect(q.remove(h)).toBe(false);
      expect(drain(q)).toEqual([5, 6, 7, 8]);
    });

    it('rejects invalid priorities and batches with invalid_request, queuing nothing', () => {
      const q = make<string>();
      for (const bad of [-1, 256, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
        expect(thrownCode(() => q.push('x', bad))).toBe('invalid_request');
      }
      expect(thrownCode(() => q.pushMany(['a', 'b'], [1]))).toBe('invalid_request');
      expect(thrownCode(() => q.pushMany(['a', 'b', 'c'], [1, 2, 300]))).toBe('invalid_request');
      expect(thrownCode(() => q.popMany(-1))).toBe('invalid_request');
      expect(q.size).toBe(0);
      expect(q.pop()).toBeUndefined();
    });

    it('keeps strict order at a depth of 100k', () => {
      const n = 100_000;
      const levels = new Uint8Array(n);
      let x = 12345;
      for (let i = 0; i < n; i++) {
        x = (x * 1103515245 + 12345) >>> 0;
        levels[i] = x % 4;
      }
      const q = make<number>();
      q.pushMany(
        Array.from({ length: n }, (_, i) => i),
        levels,
      );
      expect(q.size).toBe(n);
      const out = [...q.popMany(n / 2), ...drain(q)];
      expect(out).toEqual(expectedOrder(levels));
      expect(q.size).toBe(0);
    });

    it('behaves like a reference model under random operation sequences', () => {
      fc.assert(
        fc.property(fc.array(commandArb, { maxLength: 150 }), (commands) => {
          const q = make<number>();
          const model = new ReferenceQueue();
          const handles: number[] = [];
          let next = 0;
          for (const c of commands) {
            switch (c.op) {
              case 'push': {
                const h = q.push(next, c.level);
                model.push(next++, c.level, h);
                handles.push(h);
                break;
              }
              case 'pushMany': {
                const items = c.levels.map(() => next++);
                const hs = q.pushMany(items, c.levels);
                for (const [i, item] of items.entries()) model.push(item, c.levels[i]!, hs[i]!);
                handles.push(...hs);
                break;
              }
              case 'pop':
                expect(q.pop()).toBe(model.pop());
                break;
              case 'popMany': {
                const expected: number[] = [];
                while (expected.length < c.max && model.size > 0) expected.push(model.pop()!);
                expect(q.popMany(c.max)).toEqual(expected);
                break;
              }
              case 'remove': {
                if (handles.length === 0) break;
                const h = handles[c.pick % handles.length]!;
                expect(q.remove(h)).toBe(model.remove(h));
                break;
              }
              case 'peek':
                expect(q.peek()).toBe(model.peek());
                break;
              case 'sizeAt':
                expect(q.sizeAt(c.level)).toBe(model.sizeAt(c.level));
                break;
              case 'clear':
                q.clear();
                model.clear();
                break;
            }
            expect(q.size).toBe(model.size);
          }
        }),
        { numRuns: 200 },
      );
    });
  });
}
