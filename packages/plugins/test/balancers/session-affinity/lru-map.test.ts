import { describe, expect, it } from 'vitest';
import { lruMap } from '../../../src/balancers/session-affinity/lru-map.js';

/** Evicts everything by pushing `max` fresh keys, and reports which old keys survived each step. */
function evictionOrder(
  map: ReturnType<typeof lruMap<number>>,
  keys: string[],
  max: number,
): string[] {
  const order: string[] = [];
  for (let i = 0; i < max; i++) {
    map.set(`fresh-${i}`, i);
    for (const key of keys)
      if (map.peek(key) === undefined && !order.includes(key)) order.push(key);
  }
  return order;
}

describe('lruMap', () => {
  it('evicts in least-recently-used order; get refreshes, peek does not', () => {
    const map = lruMap<number>(4);
    for (const [i, key] of ['a', 'b', 'c', 'd'].entries()) map.set(key, i);
    map.get('a');
    map.peek('b');
    expect(evictionOrder(map, ['a', 'b', 'c', 'd'], 4)).toEqual(['b', 'c', 'd', 'a']);
    expect(map.size).toBe(4);
  });

  it('updates an existing key in place and makes it the most recent', () => {
    const map = lruMap<number>(3);
    map.set('a', 1);
    map.set('b', 2);
    map.set('c', 3);
    map.set('a', 10);
    expect(map.size).toBe(3);
    expect(map.peek('a')).toBe(10);
    expect(evictionOrder(map, ['a', 'b', 'c'], 3)).toEqual(['b', 'c', 'a']);
  });

  it('keeps its order intact when the newest, oldest or a middle key is deleted', () => {
    const map = lruMap<number>(5);
    for (const [i, key] of ['a', 'b', 'c', 'd', 'e'].entries()) map.set(key, i);
    map.delete('e'); // newest
    map.delete('a'); // oldest
    map.delete('c'); // middle
    map.delete('missing');
    expect([...map.entries()].map(([k]) => k).sort()).toEqual(['b', 'd']);
    expect(evictionOrder(map, ['b', 'd'], 5)).toEqual(['b', 'd']);
  });
});
