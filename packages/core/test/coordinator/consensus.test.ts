import { describe, expect, it } from 'vitest';
import {
  canonicalJson,
  checkQuorum,
  jsonEqual,
  majority,
  VoteTally,
} from '../../src/coordinator/consensus.js';

describe('jsonEqual', () => {
  it('compares answers as JSON, ignoring key order', () => {
    expect(jsonEqual({ a: 1, b: [1, { c: 2, d: 3 }] }, { b: [1, { d: 3, c: 2 }], a: 1 })).toBe(
      true,
    );
    expect(jsonEqual({ a: 1 }, { a: 2 })).toBe(false);
    expect(jsonEqual([1, 2], [2, 1])).toBe(false);
    expect(jsonEqual(undefined, undefined)).toBe(true);
    expect(jsonEqual(undefined, null)).toBe(false);
    expect(canonicalJson({ b: 1, a: { d: 1, c: 2 } })).toBe('{"a":{"c":2,"d":1},"b":1}');
  });

  it('treats values JSON cannot hold as equal only when identical', () => {
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    expect(jsonEqual(circular, circular)).toBe(true);
    expect(jsonEqual(circular, { self: {} })).toBe(false);
    expect(jsonEqual(1n, 1n)).toBe(true);
  });
});

describe('VoteTally', () => {
  it('accepts the answer that reaches the quorum, with its replicas', () => {
    const tally = new VoteTally<number>(3, 2);
    expect(tally.vote(0, 42)).toBeUndefined();
    expect(tally.vote(1, 41)).toBeUndefined();
    expect(tally.vote(2, 42)).toEqual({ value: 42, count: 2, replicas: [0, 2] });
    expect(tally.answers().map((a) => [a.value, a.count])).toEqual([
      [42, 2],
      [41, 1],
    ]);
  });

  it('turns hopeless once no answer can reach the quorum', () => {
    const tally = new VoteTally<string>(4, 3);
    tally.vote(0, 'a');
    tally.vote(1, 'b');
    expect(tally.hopeless).toBe(false);
    tally.abstain();
    expect(tally.outstanding).toBe(1);
    expect(tally.hopeless).toBe(true);
  });

  it('groups answers with a custom comparison', () => {
    const near = (a: number, b: number) => Math.abs(a - b) < 0.1;
    const tally = new VoteTally<number>(3, 3, near);
    tally.vote(0, 1.0);
    tally.vote(1, 1.05);
    expect(tally.vote(2, 0.97)?.replicas).toEqual([0, 1, 2]);
  });

  it('rejects a quorum that cannot be met or is not a count', () => {
    expect(() => checkQuorum(3, 4)).toThrow(/quorum must be an integer 1\.\.3/);
    expect(() => checkQuorum(3, 0)).toThrow(/quorum/);
    expect(() => new VoteTally(0, 1)).toThrow(/agents must be an integer/);
    expect(() => checkQuorum(2.5, 1)).toThrow(/agents/);
    expect(majority(3)).toBe(2);
    expect(majority(4)).toBe(3);
  });
});
