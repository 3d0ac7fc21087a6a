import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Deque } from '../../src/structures/deque.js';

describe('Deque', () => {
  it('is a FIFO across growth and wrap-around, as an array used as a queue is', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.nat(), fc.constant(-1)), { maxLength: 300 }), (ops) => {
        const deque = new Deque<number>();
        const reference: number[] = [];
        for (const op of ops) {
          if (op < 0) expect(deque.shift()).toBe(reference.shift());
          else {
            deque.push(op);
            reference.push(op);
          }
          expect(deque.length).toBe(reference.length);
          expect(deque.peek()).toBe(reference[0]);
        }
      }),
    );
  });

  it('keeps the items retain accepts, in order, and says how many it dropped', () => {
    const deque = new Deque<number>();
    for (let i = 0; i < 10; i++) deque.push(i);
    deque.shift();
    expect(deque.retain((n) => n % 3 === 0)).toBe(6);
    expect([deque.shift(), deque.shift(), deque.shift(), deque.shift()]).toEqual([
      3,
      6,
      9,
      undefined,
    ]);
    deque.push(42);
    expect(deque.peek()).toBe(42);
  });
});
