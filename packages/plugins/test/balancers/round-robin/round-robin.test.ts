import { roundRobin } from '@switchboard/plugins/round-robin';
import { candidate, selectContext, testLoadBalancer } from '@switchboard/testing';
import { describe, expect, it } from 'vitest';

testLoadBalancer('round-robin', () => roundRobin());

const ids = (lb: ReturnType<typeof roundRobin>, list: ReturnType<typeof candidate>[], n: number) =>
  Array.from({ length: n }, () => lb.select(list, selectContext())?.id);

describe('roundRobin', () => {
  it('rotates over the candidates in order', () => {
    const lb = roundRobin();
    const list = ['a', 'b', 'c'].map((id) => candidate(id));
    expect(ids(lb, list, 7)).toEqual(['a', 'b', 'c', 'a', 'b', 'c', 'a']);
  });

  it('skips busy candidates without losing its place', () => {
    const lb = roundRobin();
    const list = [candidate('a'), candidate('b', { freeSlots: 0 }), candidate('c')];
    expect(ids(lb, list, 4)).toEqual(['a', 'c', 'a', 'c']);
  });

  it('resumes after the last chosen agent when the list changes', () => {
    const lb = roundRobin();
    expect(
      ids(
        lb,
        ['a', 'b', 'c'].map((id) => candidate(id)),
        2,
      ),
    ).toEqual(['a', 'b']);
    // b is still listed (now second of four): the rotation goes on with the one after it.
    expect(
      ids(
        lb,
        ['d', 'b', 'e', 'a'].map((id) => candidate(id)),
        3,
      ),
    ).toEqual(['e', 'a', 'd']);
  });

  it('goes on with the successor when the last chosen agent leaves', () => {
    const lb = roundRobin();
    const list = ['a', 'b', 'c', 'd'].map((id) => candidate(id));
    expect(ids(lb, list, 2)).toEqual(['a', 'b']);
    lb.agentRemoved?.('b');
    expect(
      ids(
        lb,
        list.filter((c) => c.id !== 'b'),
        3,
      ),
    ).toEqual(['c', 'd', 'a']);
  });

  it('refuses options that are not an object, naming the plugin', () => {
    expect(() => roundRobin(42 as never)).toThrow(
      /\[switchboard\] \[round-robin\] options must be an object/,
    );
  });
});
