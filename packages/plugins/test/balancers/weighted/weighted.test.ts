import { isSwitchboardError } from '@switchboard/core';
import { weighted } from '@switchboard/plugins/weighted';
import { candidate, selectContext, testLoadBalancer } from '@switchboard/testing';
import { describe, expect, it } from 'vitest';

testLoadBalancer('weighted', () => weighted());
testLoadBalancer('weighted with weights', () => weighted({ weights: { a: 3, c: 2 } }));

const picks = (lb: ReturnType<typeof weighted>, list: ReturnType<typeof candidate>[], n: number) =>
  Array.from({ length: n }, () => lb.select(list, selectContext())?.id).join(' ');

describe('weighted', () => {
  it('splits 5:3:1 exactly over 9 picks, interleaved', () => {
    const list = [
      candidate('a', { weight: 5 }),
      candidate('b', { weight: 3 }),
      candidate('c', { weight: 1 }),
    ];
    const lb = weighted();
    expect(picks(lb, list, 9)).toBe('a b a c a b a b a');
    // And the next cycle is the same.
    expect(picks(lb, list, 9)).toBe('a b a c a b a b a');
  });

  it('takes weights from options by id, then by name, over the candidate weight', () => {
    const list = [
      candidate('id-1', { name: 'gpu', weight: 1 }),
      candidate('id-2', { name: 'gpu', weight: 1 }),
      candidate('id-3', { name: 'cpu', weight: 50 }),
    ];
    const lb = weighted({ weights: { gpu: 2, 'id-2': 1, cpu: 1 } });
    const counts = picks(lb, list, 40)
      .split(' ')
      .reduce<Record<string, number>>((acc, id) => {
        acc[id] = (acc[id] ?? 0) + 1;
        return acc;
      }, {});
    expect(counts).toEqual({ 'id-1': 20, 'id-2': 10, 'id-3': 10 });
  });

  it('shares among the free candidates only', () => {
    const list = [
      candidate('a', { weight: 5 }),
      candidate('b', { weight: 3, freeSlots: 0 }),
      candidate('c', { weight: 1 }),
    ];
    expect(picks(weighted(), list, 6)).toBe('a a a c a a');
  });

  it('treats a nonsensical candidate weight as 1 instead of starving the agent', () => {
    const list = [candidate('a', { weight: 0 }), candidate('b', { weight: Number.NaN })];
    expect(picks(weighted(), list, 4)).toBe('a b a b');
  });

  it('refuses weights that are not positive numbers, naming the plugin and the key', () => {
    for (const bad of [0, -1, Number.POSITIVE_INFINITY, '2']) {
      let error: unknown;
      try {
        weighted({ weights: { ok: 1, bad: bad as number } });
      } catch (err) {
        error = err;
      }
      expect(isSwitchboardError(error, 'invalid_config')).toBe(true);
      expect((error as Error).message).toMatch(
        /^\[switchboard\] \[weighted\] weights must be positive: "bad"/,
      );
    }
    expect(() => weighted({ weights: [] as never })).toThrow(/weights must be an object/);
  });
});
