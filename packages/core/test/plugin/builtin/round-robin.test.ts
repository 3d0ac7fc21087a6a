import { roundRobin } from '@switchboard/core';
import { candidate, selectContext, testLoadBalancer } from '@switchboard/testing';
import { describe, expect, it } from 'vitest';

testLoadBalancer('round-robin (core)', () => roundRobin());

describe('roundRobin (core)', () => {
  it('takes the free candidates in turn, passing over busy ones', () => {
    const lb = roundRobin();
    const list = [candidate('a'), candidate('b', { freeSlots: 0 }), candidate('c')];
    const picks = Array.from({ length: 4 }, () => lb.select(list, selectContext())?.id);
    expect(picks).toEqual(['a', 'c', 'a', 'c']);
  });
});
