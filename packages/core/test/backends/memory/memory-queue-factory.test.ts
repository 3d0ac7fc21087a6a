import { createMemoryBackend } from '@switchboard/core';
import { taskRecords, testBackend } from '@switchboard/testing';
import { describe, expect, it } from 'vitest';
import { defineAgent } from '../../../src/agent/definition.js';
import type { PriorityQueue, QueueHandle } from '../../../src/contracts/priority-queue.js';
import { isSwitchboardError } from '../../../src/errors.js';
import type { PriorityLevel } from '../../../src/model/priority.js';
import { BucketQueue } from '../../../src/structures/bucket-queue.js';
import { createSwitchboard } from '../../../src/switchboard.js';

/** Calls one queue received, as a native queue would cross its boundary. */
interface Calls {
  push: number;
  pushMany: number[];
  popMany: number;
}

/**
 * A second `PriorityQueue` implementation: core's BucketQueue behind a wrapper that counts
 * calls and has no `capacity` (as a third-party queue may not).
 */
class CountingQueue<T> implements PriorityQueue<T> {
  readonly inner = new BucketQueue<T>();
  readonly calls: Calls = { push: 0, pushMany: [], popMany: 0 };
  get size(): number {
    return this.inner.size;
  }
  push(item: T, priority?: PriorityLevel): QueueHandle {
    this.calls.push++;
    return this.inner.push(item, priority);
  }
  pushMany(items: readonly T[], priorities: ArrayLike<PriorityLevel>): Float64Array {
    this.calls.pushMany.push(items.length);
    return this.inner.pushMany(items, priorities);
  }
  pop(): T | undefined {
    return this.inner.pop();
  }
  popMany(max: number): T[] {
    this.calls.popMany++;
    return this.inner.popMany(max);
  }
  peek(): T | undefined {
    return this.inner.peek();
  }
  remove(handle: QueueHandle): boolean {
    return this.inner.remove(handle);
  }
  sizeAt(priority: PriorityLevel): number {
    return this.inner.sizeAt(priority);
  }
  clear(): void {
    this.inner.clear();
  }
}

/** A queue factory that keeps every queue it made, in order. */
function counting() {
  const made: CountingQueue<unknown>[] = [];
  const createQueue = <T>(): PriorityQueue<T> => {
    const q = new CountingQueue<T>();
    made.push(q as CountingQueue<unknown>);
    return q;
  };
  return { made, createQueue };
}

testBackend('memory + counting queue', () => createMemoryBackend(counting()), { durable: false });

const T0 = 1_000;
const rec = taskRecords('q', { capability: 'a', maxAttempts: 1, timeoutMs: 100 }, T0);

describe('MemoryBackend with createQueue', () => {
  it('pushes a batch with one pushMany per capability and leases with one popMany', async () => {
    const { made, createQueue } = counting();
    const backend = createMemoryBackend({ createQueue });
    const batch = [
      rec({ capability: 'a' }),
      rec({ capability: 'b', priority: 'low' }),
      rec({ capability: 'a', priority: 'high' }),
      rec({ capability: 'b' }),
      rec({ capability: 'a' }),
      rec({ capability: 'a', availableAt: T0 + 50 }),
    ];
    await backend.enqueue(batch);
    // The probe made at configuration, then one queue per lane in order of first use.
    const [, a, b] = made as [unknown, CountingQueue<unknown>, CountingQueue<unknown>];
    expect(made).toHaveLength(3);
    expect(a.calls).toEqual({ push: 0, pushMany: [3], popMany: 0 });
    expect(b.calls).toEqual({ push: 0, pushMany: [2], popMany: 0 });

    const leased = await backend.lease({ capability: 'a', agentId: 'x', max: 10, now: T0 });
    expect(leased.map((t) => t.id)).toEqual([batch[2]!.id, batch[0]!.id, batch[4]!.id]);
    expect(a.calls.popMany).toBe(1);
    const fromB = await backend.lease({ capability: 'b', agentId: 'x', max: 10, now: T0 });
    expect(fromB.map((t) => t.id)).toEqual([batch[3]!.id, batch[1]!.id]);
  });

  it('promotes the delayed tasks due at once with one pushMany, in order', async () => {
    const { made, createQueue } = counting();
    const backend = createMemoryBackend({ createQueue });
    const later = [1, 2, 3].map(() => rec({ availableAt: T0 + 10 }));
    await backend.enqueue(later);
    expect(made).toHaveLength(1);
    const leased = await backend.lease({ capability: 'a', agentId: 'x', max: 5, now: T0 + 10 });
    expect(leased.map((t) => t.id)).toEqual(later.map((t) => t.id));
    expect(made[1]?.calls).toEqual({ push: 0, pushMany: [3], popMany: 1 });
  });

  it('makes the compacted lane with the factory too, keeping the order', async () => {
    const { made, createQueue } = counting();
    const backend = createMemoryBackend({ createQueue });
    const tasks = Array.from({ length: 2000 }, () => rec());
    await backend.enqueue(tasks);
    // Once stale entries outnumber live ones by more than the slack (1024), at the 1513th
    // cancel, the lane is rebuilt from its 487 live tasks.
    for (const t of tasks.slice(0, 1600)) await backend.cancel(t.id, T0);
    expect(made).toHaveLength(3);
    const rebuilt = made[2] as CountingQueue<unknown>;
    expect(rebuilt.calls.pushMany).toEqual([487]);
    const leased = await backend.lease({ capability: 'a', agentId: 'x', max: 1000, now: T0 });
    expect(leased.map((t) => t.id)).toEqual(tasks.slice(1600).map((t) => t.id));
  });

  it('reports the size of a queue without capacity, and BucketQueue capacity otherwise', async () => {
    const custom = createMemoryBackend(counting());
    await custom.enqueue([rec(), rec(), rec()]);
    expect(custom.usage().queueSlots).toBe(3);
    const plain = createMemoryBackend();
    await plain.enqueue([rec(), rec(), rec()]);
    expect(plain.usage().queueSlots).toBeGreaterThanOrEqual(3);
  });

  it('fails at configuration on a factory that cannot make a queue', () => {
    const bad = [
      'bucket',
      () => ({}),
      () => {
        throw new Error('no addon');
      },
    ];
    for (const createQueue of bad) {
      let error: unknown;
      try {
        createMemoryBackend({ createQueue: createQueue as never });
      } catch (err) {
        error = err;
      }
      expect(isSwitchboardError(error, 'invalid_config')).toBe(true);
      expect((error as Error).message).toContain('createQueue');
    }
  });

  it('is reached from createSwitchboard through the memory backend options', async () => {
    const { made, createQueue } = counting();
    const echo = defineAgent({ name: 'echo', capabilities: ['echo'], handle: (p: unknown) => p });
    const sb = createSwitchboard({
      agents: [echo],
      backend: { name: 'memory', options: { createQueue } },
    });
    await sb.start();
    const handles = await sb.submitMany([
      { capability: 'echo', payload: 1 },
      { capability: 'echo', payload: 2 },
    ]);
    expect(await Promise.all(handles.map((h) => h.result))).toEqual([1, 2]);
    expect(made[1]?.calls.pushMany).toEqual([2]);
    await sb.shutdown();
  });
});
