import { describe, expect, it, vi } from 'vitest';
import { downstreamOf, planDag } from '../../src/coordinator/dag.js';
import { Deadline } from '../../src/coordinator/deadline.js';
import { SwitchboardError } from '../../src/errors.js';

function rejection(fn: () => unknown): SwitchboardError {
  try {
    fn();
  } catch (error) {
    return error as SwitchboardError;
  }
  throw new Error('expected a throw');
}

describe('planDag', () => {
  it('orders every node after its dependencies', () => {
    const plan = planDag({
      nodes: {
        d: { capability: 'join', dependsOn: ['b', 'c'] },
        b: { capability: 'x', dependsOn: ['a'] },
        c: { capability: 'y', dependsOn: ['a', 'a'] },
        a: { capability: 'split' },
      },
    });
    expect(plan.order).toEqual(['a', 'b', 'c', 'd']);
    expect(plan.deps.get('c')).toEqual(['a']);
    expect(downstreamOf(plan, 'b')).toEqual(['d']);
    expect(downstreamOf(plan, 'a').sort()).toEqual(['b', 'c', 'd']);
  });

  it('names a cycle in flow order, starting at the node declared first', () => {
    const error = rejection(() =>
      planDag({
        nodes: {
          root: { capability: 'x' },
          a: { capability: 'x', dependsOn: ['root', 'c'] },
          b: { capability: 'x', dependsOn: ['a'] },
          c: { capability: 'x', dependsOn: ['b'] },
          tail: { capability: 'x', dependsOn: ['c'] },
        },
      }),
    );
    expect(error).toBeInstanceOf(SwitchboardError);
    expect(error.code).toBe('invalid_request');
    expect(error.message).toBe('DAG has a cycle: a → b → c → a');
    expect(error.details).toEqual({ cycle: ['a', 'b', 'c', 'a'] });
  });

  it('rejects a two-node cycle and a node depending on itself', () => {
    const two = rejection(() =>
      planDag({
        nodes: {
          a: { capability: 'x', dependsOn: ['b'] },
          b: { capability: 'x', dependsOn: ['a'] },
        },
      }),
    );
    expect(two.message).toContain('a → b → a');
    const self = rejection(() =>
      planDag({ nodes: { solo: { capability: 'x', dependsOn: ['solo'] } } }),
    );
    expect(self.message).toContain('solo → solo');
  });

  it('rejects a dependency on an unknown node, naming both', () => {
    const error = rejection(() =>
      planDag({ nodes: { a: { capability: 'x', dependsOn: ['ghost'] } } }),
    );
    expect(error.code).toBe('invalid_request');
    expect(error.message).toBe('DAG node "a" depends on unknown node "ghost"');
    expect(error.details).toEqual({ node: 'a', dependency: 'ghost' });
  });

  it('rejects malformed nodes with the node named', () => {
    const bad = [
      { a: null },
      { a: { capability: '' } },
      { a: { capability: 'x', payload: 'static' } },
      { a: { capability: 'x', dependsOn: 'b' } },
    ];
    for (const nodes of bad) {
      const error = rejection(() => planDag({ nodes } as never));
      expect(error.code).toBe('invalid_request');
      expect(error.message).toContain('"a"');
    }
    expect(rejection(() => planDag(null as never)).code).toBe('invalid_request');
    expect(planDag({ nodes: {} }).order).toEqual([]);
  });
});

describe('Deadline', () => {
  it('caps task timeouts to the whole milliseconds left and fires once passed', () => {
    vi.useFakeTimers();
    try {
      const fired = vi.fn();
      const deadline = new Deadline(1_000, Date.now);
      deadline.onExpire(fired);
      expect(deadline.taskTimeout(30_000)).toBe(1_000);
      expect(deadline.taskTimeout(200)).toBe(200);
      vi.advanceTimersByTime(999.5);
      expect(deadline.taskTimeout()).toBe(1);
      expect(fired).not.toHaveBeenCalled();
      vi.advanceTimersByTime(1);
      expect(fired).toHaveBeenCalledTimes(1);
      expect(deadline.expired).toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });

  it('without a deadline limits nothing, and a disarmed one never fires', () => {
    vi.useFakeTimers();
    try {
      const none = new Deadline(undefined, Date.now);
      expect(none.taskTimeout()).toBeUndefined();
      expect(none.taskTimeout(50)).toBe(50);
      expect(none.remaining()).toBe(Number.POSITIVE_INFINITY);
      const fired = vi.fn();
      new Deadline(undefined, Date.now).onExpire(fired)();
      new Deadline(10, Date.now).onExpire(fired)();
      vi.advanceTimersByTime(100);
      expect(fired).not.toHaveBeenCalled();
      expect(() => new Deadline(-1, Date.now)).toThrow(/deadlineMs/);
    } finally {
      vi.useRealTimers();
    }
  });
});
