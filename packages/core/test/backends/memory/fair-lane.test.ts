import { createMemoryBackend } from '@switchboard/core';
import { T0, taskRecords } from '@switchboard/testing';
import { describe, expect, it } from 'vitest';
import type { PriorityQueue } from '../../../src/contracts/priority-queue.js';
import { BucketQueue } from '../../../src/structures/bucket-queue.js';

/** A queue factory that keeps the queues it made, to see what each capability's lane holds. */
function recording() {
  const made: BucketQueue<unknown>[] = [];
  const createQueue = <T>(): PriorityQueue<T> => {
    const q = new BucketQueue<T>();
    made.push(q as BucketQueue<unknown>);
    return q;
  };
  return { made, createQueue };
}

describe('fair lanes of the memory backend', () => {
  it('keep the plain queue until a task with a key comes, then move its tasks out in order', async () => {
    const { made, createQueue } = recording();
    // One queue is made at configuration time to check the factory.
    const backend = createMemoryBackend({ createQueue });
    await backend.open();
    const task = taskRecords('fl', { capability: 'work' });
    const plain = [task(), task({ priority: 'high' }), task()];
    await backend.enqueue(plain);
    const lane = made.at(-1) as BucketQueue<unknown>;
    expect(lane.size).toBe(3);
    const keyed = task({ fairnessKey: 'k', priority: 'high' });
    await backend.enqueue([keyed]);
    // The plain queue is left empty for good; the tasks went to the fair lane.
    expect(lane.size).toBe(0);
    const later = task();
    await backend.enqueue([later]);
    expect(made.every((q) => q.size === 0)).toBe(true);
    const leased = await backend.lease({ capability: 'work', agentId: 'a', max: 5, now: T0 });
    expect(leased.map((t) => t.priority)).toEqual(['high', 'high', 'normal', 'normal', 'normal']);
    // The tasks without a key keep their order: by priority, then as they came.
    const withoutKey = leased.filter((t) => t.fairnessKey === undefined).map((t) => t.id);
    expect(withoutKey).toEqual([plain[1]!.id, plain[0]!.id, plain[2]!.id, later.id]);
  });

  it('gives back the memory of cancelled tasks of a key', async () => {
    const backend = createMemoryBackend();
    await backend.open();
    const task = taskRecords('fc', { capability: 'work', fairnessKey: 'k' });
    const tasks = Array.from({ length: 5000 }, () => task());
    await backend.enqueue(tasks);
    const full = backend.usage().queueSlots;
    expect(full).toBeGreaterThanOrEqual(5000);
    for (const t of tasks.slice(10)) await backend.cancel(t.id, T0);
    // Stale entries are compacted once they outnumber the live ones by a margin.
    expect(backend.usage().queueSlots).toBeLessThan(200);
    const leased = await backend.lease({ capability: 'work', agentId: 'a', max: 100, now: T0 });
    expect(leased.map((t) => t.id)).toEqual(tasks.slice(0, 10).map((t) => t.id));
  });

  it("counts a key's leases back to zero and holds nothing for it once drained", async () => {
    const backend = createMemoryBackend();
    await backend.open();
    await backend.fairness.configure({
      defaultWeight: 1,
      weights: new Map(),
      maxConcurrency: 1,
      maxConcurrencyByKey: new Map(),
      maxConcurrencyByCapability: new Map(),
    });
    const task = taskRecords('ff', { capability: 'work', fairnessKey: 'k' });
    await backend.enqueue([task(), task()]);
    const [first] = await backend.lease({ capability: 'work', agentId: 'a', max: 5, now: T0 });
    expect(await backend.fairness.leased('k')).toBe(1);
    await backend.complete(first!.id, first!.leaseToken!, null, T0);
    const [second] = await backend.lease({ capability: 'work', agentId: 'a', max: 5, now: T0 });
    await backend.complete(second!.id, second!.leaseToken!, null, T0);
    expect(await backend.fairness.leased('k')).toBe(0);
    expect(await backend.lease({ capability: 'work', agentId: 'a', max: 5, now: T0 })).toEqual([]);
    expect(backend.usage().queueSlots).toBeLessThan(64);
  });
});
