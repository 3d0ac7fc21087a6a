import { describe, expect, it } from 'vitest';
import { TimeHeap } from '../../../src/backends/memory/time-heap.js';

function drain(heap: TimeHeap<string>): string[] {
  const out: string[] = [];
  while (heap.size > 0) out.push(heap.pop());
  return out;
}

describe('TimeHeap', () => {
  it('pops by instant, ties in insertion order, across growth and shrinking', () => {
    const heap = new TimeHeap<string>();
    expect(heap.peekAt()).toBeUndefined();
    const at = (i: number) => 1.7e12 + ((i * 7919) % 500);
    for (let i = 0; i < 5_000; i++) heap.push(at(i), `t${i}`);
    expect(heap.size).toBe(5_000);
    const expected = Array.from({ length: 5_000 }, (_, i) => i)
      .sort((x, y) => at(x) - at(y) || x - y)
      .map((i) => `t${i}`);
    expect(heap.peekAt()).toBe(at(Number((expected[0] as string).slice(1))));
    expect(drain(heap)).toEqual(expected);
    expect(heap.peekAt()).toBeUndefined();
    expect(heap.peek()).toBeUndefined();
    // Usable again after shrinking to nothing.
    heap.push(2, 'b');
    heap.push(1, 'a');
    expect(drain(heap)).toEqual(['a', 'b']);
  });

  it('stays in order as entries come and go across compactions (a lease heap)', () => {
    const heap = new TimeHeap<string>();
    const live = new Set<string>();
    let t = 0;
    for (let round = 0; round < 30; round++) {
      for (let i = 0; i < 100; i++, t++) {
        heap.push(1.7e12 + ((t * 37) % 1_000), `t${t}`);
        live.add(`t${t}`);
      }
      // Most entries go stale (their leases ended): compaction drops them.
      for (const id of [...live].slice(0, 90)) live.delete(id);
      heap.compact((_at, id) => live.has(id));
      expect(heap.size).toBe(live.size);
    }
    const out = drain(heap);
    expect(new Set(out)).toEqual(live);
    const ats = out.map((id) => (Number(id.slice(1)) * 37) % 1_000);
    expect(ats).toEqual([...ats].sort((a, b) => a - b));
  });

  it('compacts to the kept entries, still in order, and clears', () => {
    const heap = new TimeHeap<string>();
    for (let i = 0; i < 1_000; i++) heap.push(1_000 - i, `t${i}`);
    heap.compact((when) => when % 10 === 0);
    expect(heap.size).toBe(100);
    const out = drain(heap);
    expect(out[0]).toBe('t990');
    expect(out.at(-1)).toBe('t0');
    heap.push(5, 'x');
    heap.clear();
    expect(heap.size).toBe(0);
    expect(heap.peekAt()).toBeUndefined();
  });
});
