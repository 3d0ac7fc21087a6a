import { describe, expect, it } from 'vitest';
import {
  agentFailed,
  forget,
  leased,
  queued,
  queues,
  retried,
  sampleQueues,
} from '../../ui/queue-depths.js';

// The dashboard's depths by capability and priority, as the events of docs/http.md move them.
// The module keeps one state for the page: each case uses a capability of its own.
const depth = (key: string) => queues.value.get(key)?.depth;
let n = 0;
const id = () => `t${++n}`;

describe('queue depths', () => {
  it('counts queued tasks until they are leased, cancelled or dead', () => {
    const [a, b, c] = [id(), id(), id()];
    for (const t of [a, b, c]) queued(t, 'cap1', 'high');
    expect(depth('cap1|high')).toBe(3);
    leased(a, 'agent-1');
    forget(b);
    expect(depth('cap1|high')).toBe(1);
    // A second event for a task already out of the queue changes nothing.
    leased(a, 'agent-1');
    forget(a);
    expect(depth('cap1|high')).toBe(1);
  });

  it('puts back a retried task and the leases of a failed agent, never a finished task', () => {
    const [a, b, c] = [id(), id(), id()];
    for (const t of [a, b, c]) queued(t, 'cap2', 'normal');
    leased(a, 'agent-1');
    leased(b, 'agent-1');
    leased(c, 'agent-2');
    expect(depth('cap2|normal')).toBe(0);
    retried(c);
    expect(depth('cap2|normal')).toBe(1);
    forget(b); // completed
    agentFailed('agent-1');
    expect(depth('cap2|normal')).toBe(2);
    // Taken over by another agent: leased tells who held it before.
    expect(leased(a, 'agent-3')).toBe('agent-1');
    expect(leased(c, 'agent-2')).toBeUndefined();
  });

  it('turns what came in and out into rates, and keeps a history of depths', () => {
    const [a, b] = [id(), id()];
    queued(a, 'cap3', 'low');
    queued(b, 'cap3', 'low', false);
    leased(a, 'agent-1');
    sampleQueues(2_000, 3);
    const row = queues.value.get('cap3|low')!;
    expect(row).toMatchObject({ depth: 1, inRate: 0.5, outRate: 0.5, history: [1] });
    sampleQueues(2_000, 3);
    sampleQueues(2_000, 3);
    sampleQueues(2_000, 3);
    expect(queues.value.get('cap3|low')).toMatchObject({ inRate: 0, history: [1, 1, 1] });
  });
});
