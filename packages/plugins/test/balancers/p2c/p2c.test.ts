import { p2c } from '@switchboard/plugins/p2c';
import { candidate, selectContext, testLoadBalancer } from '@switchboard/testing';
import { describe, expect, it } from 'vitest';

testLoadBalancer('p2c', () => p2c());

/** A random() that answers `values` in turn. */
const seq =
  (...values: number[]) =>
  () =>
    values.shift() ?? 0;

describe('p2c', () => {
  const list = [
    candidate('slow', { metrics: { latencyMs: 900 } }),
    candidate('fast', { metrics: { latencyMs: 20 } }),
    candidate('busy', { freeSlots: 0, metrics: { latencyMs: 1 } }),
    candidate('medium', { metrics: { latencyMs: 200 } }),
  ];

  it('takes the lower latency of the two sampled candidates', () => {
    // Free list is [slow, fast, medium]; samples 0 (slow) and, from the others, 1 (medium).
    expect(p2c({ random: seq(0, 0.5) }).select(list, selectContext())?.id).toBe('medium');
    // Samples fast (1) and slow (0 of the others).
    expect(p2c({ random: seq(0.4, 0) }).select(list, selectContext())?.id).toBe('fast');
  });

  it('never returns a candidate it did not sample, even the fastest', () => {
    // Samples slow (0) and medium: fast is not among them.
    const pick = p2c({ random: seq(0, 0.9) }).select(list, selectContext());
    expect(pick?.id).toBe('medium');
  });

  it('breaks a latency tie by fewer active tasks', () => {
    const tie = [candidate('a', { activeTasks: 3 }), candidate('b', { activeTasks: 1 })];
    expect(p2c({ random: seq(0, 0) }).select(tie, selectContext())?.id).toBe('b');
    expect(p2c({ random: seq(0.9, 0) }).select(tie, selectContext())?.id).toBe('b');
  });

  it('ranks an agent with no latency figure after one that has it', () => {
    const odd = [
      candidate('unknown', { metrics: { latencyMs: Number.NaN } }),
      candidate('known', { metrics: { latencyMs: 5000 } }),
    ];
    expect(p2c({ random: seq(0, 0) }).select(odd, selectContext())?.id).toBe('known');
  });
});
