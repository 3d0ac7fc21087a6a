import { createMemoryBackend, type TaskRecord } from '@switchboard/core';
import { testBackend } from '@switchboard/testing';
import { describe, expect, it } from 'vitest';
import { createNativePriorityQueue } from '../src/factories.js';
import { NativePriorityQueue } from '../src/native-priority-queue.js';
import { native } from './native-available.js';

// Core's memory backend with the Rust queue in every lane, injected through its options
// (core never imports this package). Skipped, with the reason printed, without the addon.
describe.skipIf(!native)('memory backend on the native queue', () => {
  testBackend(
    'memory+native queue',
    () => createMemoryBackend({ createQueue: createNativePriorityQueue }),
    {
      durable: false,
    },
  );

  it('keeps its lanes in native queues and leases a mixed batch in priority, then FIFO, order', async () => {
    const queues: unknown[] = [];
    const backend = createMemoryBackend({
      createQueue: <T>() => {
        const q = createNativePriorityQueue<T>();
        queues.push(q);
        return q;
      },
    });
    const priorities = ['low', 'normal', 'critical', 'normal', 'high', 'low'] as const;
    const records: TaskRecord[] = priorities.map((priority, i) => ({
      id: `n-${i}`,
      capability: i % 2 === 0 ? 'even' : 'odd',
      payload: i,
      priority,
      status: 'queued',
      attempts: 0,
      maxAttempts: 1,
      timeoutMs: 100,
      availableAt: 0,
      createdAt: 0,
      updatedAt: 0,
    }));
    await backend.enqueue(records);
    expect(queues.length).toBeGreaterThanOrEqual(2);
    for (const q of queues) expect(q).toBeInstanceOf(NativePriorityQueue);
    const even = await backend.lease({ capability: 'even', agentId: 'a', max: 10, now: 0 });
    const odd = await backend.lease({ capability: 'odd', agentId: 'a', max: 10, now: 0 });
    expect(even.map((t) => t.id)).toEqual(['n-2', 'n-4', 'n-0']);
    expect(odd.map((t) => t.id)).toEqual(['n-1', 'n-3', 'n-5']);
  });
});
