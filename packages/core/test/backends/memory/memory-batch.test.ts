import { taskRecords } from '@switchboard/testing';
import { describe, expect, it } from 'vitest';
import { createMemoryBackend } from '../../../src/backends/memory/index.js';
import { isSwitchboardError } from '../../../src/errors.js';

const T0 = 1_000;
const rec = taskRecords('b', { payload: null, maxAttempts: 1, timeoutMs: 100 }, T0);

describe('MemoryBackend.completeMany', () => {
  it('completes every live lease and answers an error in the slot of each bad one', async () => {
    const backend = createMemoryBackend();
    await backend.enqueue([rec(), rec(), rec(), rec()]);
    const [a, b, c, d] = await backend.lease({ capability: 'cap', agentId: 'x', max: 4, now: T0 });
    await backend.cancel(c!.id, T0);
    const out = await backend.completeMany(
      [
        { id: a!.id, leaseToken: a!.leaseToken!, result: 'A' },
        { id: b!.id, leaseToken: 'not-the-token', result: 'B' },
        { id: c!.id, leaseToken: c!.leaseToken!, result: 'C' },
        { id: 'no-such-task', leaseToken: 't', result: 'D' },
        { id: d!.id, leaseToken: d!.leaseToken!, result: 'E' },
      ],
      T0 + 5,
    );
    expect(out).toHaveLength(5);
    expect(out[0]).toMatchObject({
      id: a!.id,
      status: 'completed',
      result: 'A',
      updatedAt: T0 + 5,
    });
    expect(isSwitchboardError(out[1], 'conflict')).toBe(true);
    expect(isSwitchboardError(out[2], 'conflict')).toBe(true);
    expect(isSwitchboardError(out[3], 'not_found')).toBe(true);
    expect(out[4]).toMatchObject({ status: 'completed', result: 'E' });
    // The stale token left its task leased, the cancelled one stays cancelled.
    expect((await backend.get(b!.id))?.status).toBe('leased');
    expect((await backend.get(c!.id))?.status).toBe('cancelled');
    expect(await backend.stats()).toMatchObject({ depth: 0, leased: 1 });
  });

  it('applies the retention bound once for the whole batch', async () => {
    const backend = createMemoryBackend({ maxRetained: 2 });
    await backend.enqueue([rec(), rec(), rec(), rec(), rec()]);
    const leased = await backend.lease({ capability: 'cap', agentId: 'x', max: 5, now: T0 });
    const out = await backend.completeMany(
      leased.map((t) => ({ id: t.id, leaseToken: t.leaseToken!, result: t.id })),
      T0,
    );
    expect(out.every((r) => !(r instanceof Error))).toBe(true);
    expect(backend.usage()).toMatchObject({ tasks: 2, retained: 2 });
    // The newest two stay readable; the oldest three were evicted.
    expect(await backend.get(leased[4]!.id)).toMatchObject({ result: leased[4]!.id });
    expect(await backend.get(leased[0]!.id)).toBeUndefined();
  });

  it('answers unavailable after close', async () => {
    const backend = createMemoryBackend();
    await backend.close();
    await expect(backend.completeMany([], T0)).rejects.toMatchObject({ code: 'unavailable' });
  });
});

describe('MemoryBackend queues with lazy removal', () => {
  it('never leases a task cancelled while queued, and counts only live tasks', async () => {
    const backend = createMemoryBackend();
    const tasks = Array.from({ length: 10 }, (_, i) =>
      rec({ priority: i % 2 === 0 ? 'high' : 'low' }),
    );
    await backend.enqueue(tasks);
    for (const t of tasks.slice(0, 6)) await backend.cancel(t.id, T0);
    expect(await backend.readyCapabilities(T0)).toEqual(['cap']);
    const leased = await backend.lease({ capability: 'cap', agentId: 'x', max: 10, now: T0 });
    expect(leased.map((t) => t.id)).toEqual([
      tasks[6]!.id,
      tasks[8]!.id,
      tasks[7]!.id,
      tasks[9]!.id,
    ]);
    expect(await backend.readyCapabilities(T0)).toEqual([]);
  });

  it('reports no ready capability when every queued task was cancelled', async () => {
    const backend = createMemoryBackend();
    const t = rec({ capability: 'solo' });
    await backend.enqueue([t]);
    await backend.cancel(t.id, T0);
    expect(await backend.readyCapabilities(T0)).toEqual([]);
    expect(await backend.lease({ capability: 'solo', agentId: 'x', max: 1, now: T0 })).toEqual([]);
  });

  it('compacts a lane once cancelled entries pile up, keeping the order of the rest', async () => {
    const backend = createMemoryBackend({ maxRetained: 0 });
    const tasks = Array.from({ length: 5_000 }, () => rec());
    await backend.enqueue(tasks);
    for (let i = 0; i < 4_990; i++) await backend.cancel(tasks[i]!.id, T0);
    expect(backend.usage().queueSlots).toBeLessThan(4_096);
    const leased = await backend.lease({ capability: 'cap', agentId: 'x', max: 100, now: T0 });
    expect(leased.map((t) => t.id)).toEqual(tasks.slice(4_990).map((t) => t.id));
  });

  it('cancels a delayed task without touching the available ones', async () => {
    const backend = createMemoryBackend();
    const later = rec({ availableAt: T0 + 50 });
    const now = rec();
    await backend.enqueue([later, now]);
    await backend.cancel(later.id, T0);
    expect(await backend.stats()).toMatchObject({ depth: 1, delayed: 0 });
    const leased = await backend.lease({ capability: 'cap', agentId: 'x', max: 5, now: T0 + 100 });
    expect(leased.map((t) => t.id)).toEqual([now.id]);
  });

  it('undoes a batch that holds a duplicate id, idempotency keys included', async () => {
    const backend = createMemoryBackend();
    const first = rec();
    await backend.enqueue([first]);
    const keyed = rec({ idempotencyKey: 'k-undo' });
    await expect(backend.enqueue([keyed, rec(), { ...first }])).rejects.toMatchObject({
      code: 'conflict',
    });
    expect(await backend.get(keyed.id)).toBeUndefined();
    const again = rec({ idempotencyKey: 'k-undo' });
    const [r] = await backend.enqueue([again]);
    expect(r).toMatchObject({ created: true, task: { id: again.id } });
  });
});
