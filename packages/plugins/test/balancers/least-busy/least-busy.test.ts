import { leastBusy } from '@switchboard/plugins/least-busy';
import { candidate, selectContext, testLoadBalancer } from '@switchboard/testing';
import { describe, expect, it } from 'vitest';

testLoadBalancer('least-busy', () => leastBusy());

describe('leastBusy', () => {
  it('picks the fewest active tasks relative to concurrency, not the fewest tasks', () => {
    const list = [
      candidate('small', { maxConcurrency: 2, activeTasks: 1 }), // 50% busy
      candidate('big', { maxConcurrency: 10, activeTasks: 3 }), // 30% busy
      candidate('full', { maxConcurrency: 1, activeTasks: 1 }),
    ];
    expect(leastBusy().select(list, selectContext())?.id).toBe('big');
  });

  it('breaks ties by the lowest error rate, then by list order', () => {
    const lb = leastBusy();
    const tied = [
      candidate('flaky', { activeTasks: 1, metrics: { errorRate: 0.3 } }),
      candidate('solid', { activeTasks: 1, metrics: { errorRate: 0.01 } }),
      candidate('solid-too', { activeTasks: 1, metrics: { errorRate: 0.01 } }),
    ];
    expect(lb.select(tied, selectContext())?.id).toBe('solid');
  });
});
