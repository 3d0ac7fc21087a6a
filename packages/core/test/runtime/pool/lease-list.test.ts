import { describe, expect, it } from 'vitest';
import type { TaskRecord } from '../../../src/model/task.js';
import { type InFlight, LeaseList } from '../../../src/runtime/pool/pool-member.js';

function entry(id: string): InFlight {
  return {
    task: { id } as TaskRecord,
    token: `token-${id}`,
    attempt: 1,
    expiresAt: 0,
    member: undefined,
    stage: 'running',
    controller: undefined,
    abandoned: false,
    settled: false,
    startedAt: 0,
    shared: false,
    span: undefined,
    held: true,
    list: undefined,
    prev: undefined,
    next: undefined,
  };
}

const ids = (list: LeaseList) => [...list].map((e) => e.task.id);

describe('LeaseList', () => {
  it('keeps the leases in the order they came, whatever is removed', () => {
    const list = new LeaseList();
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map(entry) as [
      InFlight,
      InFlight,
      InFlight,
      InFlight,
    ];
    for (const e of [a, b, c, d]) list.add(e);
    list.add(b);
    expect(ids(list)).toEqual(['a', 'b', 'c', 'd']);
    expect(list.delete(b)).toBe(true);
    expect(list.delete(b)).toBe(false);
    expect(ids(list)).toEqual(['a', 'c', 'd']);
    expect(list.delete(a)).toBe(true);
    expect(list.delete(d)).toBe(true);
    expect(ids(list)).toEqual(['c']);
    list.add(a);
    expect(ids(list)).toEqual(['c', 'a']);
    expect(list.size).toBe(2);
    list.delete(c);
    list.delete(a);
    expect(list.size).toBe(0);
    expect(ids(list)).toEqual([]);
  });

  it('moves an entry from another list, and lets the caller remove what it is given', () => {
    const first = new LeaseList();
    const second = new LeaseList();
    const [a, b, c] = ['a', 'b', 'c'].map(entry) as [InFlight, InFlight, InFlight];
    for (const e of [a, b, c]) first.add(e);
    second.add(b);
    expect(ids(first)).toEqual(['a', 'c']);
    expect(ids(second)).toEqual(['b']);
    expect(first.delete(b)).toBe(false);
    for (const e of first) first.delete(e);
    expect(first.size).toBe(0);
    expect(second.size).toBe(1);
  });
});
