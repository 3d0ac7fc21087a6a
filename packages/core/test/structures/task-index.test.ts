import { describe, expect, it } from 'vitest';
import { nextTaskId, reserveTaskIds, taskIdAt } from '../../src/model/task-id.js';
import { TaskIndex } from '../../src/structures/task-index.js';

describe('TaskIndex', () => {
  it('stores, finds and removes the ids this process mints, page after page', () => {
    const index = new TaskIndex<number>();
    const ids = Array.from({ length: 3_000 }, () => nextTaskId());
    for (const [i, id] of ids.entries()) expect(index.add(id, i)).toBe(true);
    expect(index.size).toBe(3_000);
    expect(index.get(ids[1_500] as string)).toBe(1_500);
    expect(index.has(ids[2_999] as string)).toBe(true);
    expect(index.add(ids[7] as string, -1)).toBe(false);
    expect(index.get(ids[7] as string)).toBe(7);
    index.set(ids[7] as string, 70);
    expect(index.get(ids[7] as string)).toBe(70);
    expect(index.take(ids[7] as string)).toBe(70);
    expect(index.take(ids[7] as string)).toBeUndefined();
    expect(index.delete(ids[8] as string)).toBe(true);
    expect(index.delete(ids[8] as string)).toBe(false);
    expect(index.size).toBe(2_998);
    // Emptied pages are dropped, and an id of a dropped page is simply unknown.
    for (const id of ids.slice(0, 2_048)) index.delete(id);
    expect(index.get(ids[100] as string)).toBeUndefined();
    expect(index.delete(ids[100] as string)).toBe(false);
    expect(index.size).toBe(952);
    expect([...index.values()].sort((a, b) => a - b)).toEqual(
      Array.from({ length: 952 }, (_, i) => i + 2_048),
    );
    // A dropped page comes back when one of its ids is added again.
    expect(index.add(ids[0] as string, 0)).toBe(true);
    expect(index.get(ids[0] as string)).toBe(0);
  });

  it('keeps any other id in a map, apart from minted ones with the same counter', () => {
    const index = new TaskIndex<string>();
    const mine = nextTaskId();
    const counter = mine.slice(mine.lastIndexOf('-') + 1);
    const foreign = [`${'z'.repeat(21)}-${counter}`, 't1', `${mine.slice(0, -1)}A`, ''];
    expect(index.add(mine, 'mine')).toBe(true);
    for (const id of foreign) expect(index.add(id, id)).toBe(true);
    expect(index.add('t1', 'again')).toBe(false);
    expect(index.get(mine)).toBe('mine');
    for (const id of foreign) expect(index.get(id)).toBe(id);
    expect(index.size).toBe(5);
    index.set('t1', 'T1');
    expect(index.take('t1')).toBe('T1');
    expect(index.take('t1')).toBeUndefined();
    expect(index.delete('')).toBe(true);
    expect(index.delete('nope')).toBe(false);
    expect([...index.values()].sort()).toEqual(['mine', foreign[0], foreign[2]].sort());
    index.clear();
    expect(index.size).toBe(0);
    expect(index.get(mine)).toBeUndefined();
  });

  it('swaps in a value and hands back the one it replaced, minted or foreign id', () => {
    const index = new TaskIndex<string>();
    const id = nextTaskId();
    expect(index.swap(id, 'first')).toBeUndefined();
    expect(index.swap(id, 'second')).toBe('first');
    expect(index.swap('t9', 'a')).toBeUndefined();
    expect(index.swap('t9', 'b')).toBe('a');
    expect(index.size).toBe(2);
    expect(index.get(id)).toBe('second');
    expect(index.get('t9')).toBe('b');
  });

  it('never mistakes another id with the same counter for a minted one, whichever came first', () => {
    const index = new TaskIndex<string>();
    const mine = nextTaskId();
    // Differs from `mine` only outside the prefix characters that are sampled: it is placed
    // as one of ours would be, so only the comparison of whole ids tells the two apart.
    const twin = `${mine.slice(0, 3)}${mine[3] === 'a' ? 'b' : 'a'}${mine.slice(4)}`;
    expect(index.add(twin, 'twin')).toBe(true);
    expect(index.get(mine)).toBeUndefined();
    expect(index.add(mine, 'mine')).toBe(true);
    expect(index.get(twin)).toBe('twin');
    expect(index.get(mine)).toBe('mine');
    expect(index.take(twin)).toBe('twin');
    expect(index.get(mine)).toBe('mine');
    expect(index.add(twin, 'again')).toBe(true);
    expect(index.swap(mine, 'mine 2')).toBe('mine');
    expect([...index.values()].sort()).toEqual(['again', 'mine 2']);
    // An id read back from elsewhere (a request, JSON) is another string object: it is found.
    const copy = JSON.parse(JSON.stringify(mine)) as string;
    expect(index.take(copy)).toBe('mine 2');
    expect(index.size).toBe(1);
  });

  it('adds an id minted here by its known counter, as add would', () => {
    const index = new TaskIndex<string>();
    const first = reserveTaskIds(3);
    const [a, b, c] = [0, 1, 2].map((k) => taskIdAt(first + k)) as [string, string, string];
    expect(index.addMinted(first, a, 'a')).toBe(true);
    expect(index.addMinted(first, a, 'again')).toBe(false);
    expect(index.add(a, 'again')).toBe(false);
    // The slot of b's counter already holds another id with that counter: b goes aside.
    const twin = `${b.slice(0, 3)}${b[3] === 'a' ? 'b' : 'a'}${b.slice(4)}`;
    index.add(twin, 'twin');
    expect(index.addMinted(first + 1, b, 'b')).toBe(true);
    expect(index.addMinted(first + 2, c, 'c')).toBe(true);
    expect([index.get(a), index.get(b), index.get(twin), index.get(c)]).toEqual([
      'a',
      'b',
      'twin',
      'c',
    ]);
    expect(index.size).toBe(4);
    expect(index.take(b)).toBe('b');
    expect(index.get(twin)).toBe('twin');
    expect(index.size).toBe(3);
  });

  it('finds the first counter of a range that an id is kept under, across pages', () => {
    const index = new TaskIndex<string>();
    const first = reserveTaskIds(5_000);
    expect(index.counterIn(first, 5_000)).toBeUndefined();
    index.add(taskIdAt(first + 3_100), 'x');
    index.add(taskIdAt(first + 4_000), 'y');
    expect(index.counterIn(first, 5_000)).toBe(first + 3_100);
    expect(index.counterIn(first, 3_100)).toBeUndefined();
    expect(index.counterIn(first + 3_101, 1_000)).toBe(first + 4_000);
    expect(index.counterIn(first + 4_001, 999)).toBeUndefined();
  });
});
