import type { LoadBalancer } from '@switchboard/core';
import { leastBusy } from '@switchboard/plugins/least-busy';
import { sessionAffinity } from '@switchboard/plugins/session-affinity';
import { candidate, selectContext, testLoadBalancer } from '@switchboard/testing';
import { describe, expect, it, vi } from 'vitest';

testLoadBalancer('session-affinity', () => sessionAffinity(), { pins: true });
testLoadBalancer(
  'session-affinity over least-busy',
  () => sessionAffinity({ fallback: leastBusy(), maxSessions: 2 }),
  {
    pins: true,
  },
);

const ctx = (sessionKey?: string) => selectContext(sessionKey === undefined ? {} : { sessionKey });

describe('sessionAffinity', () => {
  const list = ['a', 'b', 'c'].map((id) => candidate(id));

  it('keeps a session on the agent that took its first task, while others rotate', () => {
    const lb = sessionAffinity();
    const first = lb.select(list, ctx('user-7'))?.id;
    expect(first).toBe('a');
    expect([lb.select(list, ctx())?.id, lb.select(list, ctx('user-8'))?.id]).toEqual(['b', 'c']);
    for (let i = 0; i < 5; i++) expect(lb.select(list, ctx('user-7'))?.id).toBe('a');
    expect(lb.pinnedTo('user-7')).toBe('a');
  });

  it('still returns the pinned agent when it is busy (the task waits for it)', () => {
    const lb = sessionAffinity();
    expect(lb.select(list, ctx('s'))?.id).toBe('a');
    const busyA = [candidate('a', { freeSlots: 0 }), candidate('b'), candidate('c')];
    expect(lb.select(busyA, ctx('s'))?.id).toBe('a');
  });

  it('repins through the fallback when the pinned agent is gone', () => {
    const lb = sessionAffinity();
    expect(lb.select(list, ctx('s'))?.id).toBe('a');
    const withoutA = list.filter((c) => c.id !== 'a');
    const repinned = lb.select(withoutA, ctx('s'))?.id;
    expect(['b', 'c']).toContain(repinned);
    expect(lb.pinnedTo('s')).toBe(repinned);
    // Even when a comes back, the session stays where it went.
    expect(lb.select(list, ctx('s'))?.id).toBe(repinned);
  });

  it('forgets the sessions of a removed agent and tells the fallback', () => {
    const removed = vi.fn();
    const fallback: LoadBalancer = {
      name: 'first',
      select: (c) => c.find((x) => x.freeSlots > 0),
      agentRemoved: removed,
    };
    const lb = sessionAffinity({ fallback });
    lb.select(list, ctx('s1'));
    lb.select(list, ctx('s2'));
    expect(lb.sessions).toBe(2);
    lb.agentRemoved?.('a');
    expect(lb.pinnedTo('s1')).toBeUndefined();
    expect(lb.sessions).toBe(0);
    expect(removed).toHaveBeenCalledWith('a');
  });

  it('remembers at most maxSessions, forgetting the least recently used', () => {
    const lb = sessionAffinity({ maxSessions: 2 });
    lb.select(list, ctx('s1')); // a
    lb.select(list, ctx('s2')); // b
    lb.select(list, ctx('s1')); // s1 used again: s2 is now the oldest
    lb.select(list, ctx('s3')); // c, evicts s2
    expect(lb.sessions).toBe(2);
    expect(lb.pinnedTo('s1')).toBe('a');
    expect(lb.pinnedTo('s2')).toBeUndefined();
    expect(lb.pinnedTo('s3')).toBe('c');
  });

  it('does not pin a session that found no agent', () => {
    const lb = sessionAffinity();
    expect(lb.select([candidate('a', { freeSlots: 0 })], ctx('s'))).toBeUndefined();
    expect(lb.sessions).toBe(0);
  });

  it('refuses a bad maxSessions or fallback at construction', () => {
    expect(() => sessionAffinity({ maxSessions: 0 })).toThrow(
      /\[session-affinity\] maxSessions must be an integer >= 1/,
    );
    expect(() => sessionAffinity({ maxSessions: 1.5 })).toThrow(/maxSessions/);
    expect(() => sessionAffinity({ fallback: { name: 'x' } as never })).toThrow(
      /fallback must be a load balancer/,
    );
  });
});
