import { describe, expect, it } from 'vitest';
import { RetentionQueue } from '../../../src/backends/memory/retention-queue.js';

function drain(queue: RetentionQueue<number>): [number, number][] {
  const out: [number, number][] = [];
  while (queue.size > 0) {
    out.push([queue.peekAt() as number, queue.peek() as number]);
    queue.shift();
  }
  return out;
}

describe('RetentionQueue', () => {
  it('is a FIFO of stamped items as its ring wraps, grows and shrinks', () => {
    const queue = new RetentionQueue<number>();
    expect(queue.peekAt()).toBeUndefined();
    expect(queue.peek()).toBeUndefined();
    // Keeps ~50 entries while 10,000 pass: the head wraps the ring many times over.
    let next = 0;
    let oldest = 0;
    for (let round = 0; round < 200; round++) {
      for (let i = 0; i < 50; i++, next++) queue.push(1.7e12 + next, next);
      for (let i = 0; i < (round === 199 ? 0 : 50); i++, oldest++) {
        expect([queue.peekAt(), queue.peek()]).toEqual([1.7e12 + oldest, oldest]);
        queue.shift();
      }
    }
    // A burst grows the ring while its head is mid-way, then draining shrinks it.
    for (let i = 0; i < 5_000; i++, next++) queue.push(1.7e12 + next, next);
    expect(queue.size).toBe(5_050);
    const out = drain(queue);
    expect(out.map(([, item]) => item)).toEqual(
      Array.from({ length: 5_050 }, (_, i) => oldest + i),
    );
    expect(out.every(([at, item]) => at === 1.7e12 + item)).toBe(true);
    // Usable again once empty.
    queue.push(5, 1);
    expect(drain(queue)).toEqual([[5, 1]]);
  });

  it('compacts a wrapped ring to the kept entries, in order, and clears', () => {
    const queue = new RetentionQueue<number>();
    for (let i = 0; i < 60; i++) queue.push(i, i);
    for (let i = 0; i < 40; i++) queue.shift();
    // Entries 40..139: the ring of 64 slots wrapped (and grew once it was full).
    for (let i = 60; i < 140; i++) queue.push(i, i);
    queue.compact((at, item) => at === item && item % 3 === 0);
    const kept = Array.from({ length: 100 }, (_, i) => 40 + i).filter((i) => i % 3 === 0);
    expect(queue.size).toBe(kept.length);
    queue.push(1_000, 1_000);
    expect(drain(queue)).toEqual([...kept, 1_000].map((i) => [i, i]));
    // Compacting away everything leaves an empty queue that still works.
    for (let i = 0; i < 300; i++) queue.push(i, i);
    queue.compact(() => false);
    expect(queue.size).toBe(0);
    expect(queue.peek()).toBeUndefined();
    queue.push(7, 7);
    queue.clear();
    expect(queue.size).toBe(0);
    queue.push(8, 8);
    expect(drain(queue)).toEqual([[8, 8]]);
  });
});
