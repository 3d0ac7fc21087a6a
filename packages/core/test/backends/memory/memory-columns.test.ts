import { taskRecords } from '@switchboard/testing';
import { describe, expect, it } from 'vitest';
import { createMemoryBackend, type MemoryBackend } from '../../../src/backends/memory/index.js';
import type { TaskColumns } from '../../../src/model/task-columns.js';
import { idCounter, reserveTaskIds, taskIdAt } from '../../../src/model/task-id.js';

const T0 = 1_000;
const rec = taskRecords('c', { payload: null, maxAttempts: 2, timeoutMs: 100 }, T0);

/** A batch of `levels.length` tasks of `cap`, payload i for task i, its ids reserved. */
function columns(levels: number[], capability = 'cap'): TaskColumns {
  return {
    first: reserveTaskIds(levels.length),
    capability,
    payloads: levels.map((_, i) => i),
    levels: Uint8Array.from(levels),
    maxAttempts: 2,
    timeoutMs: 100,
    now: T0,
  };
}

function lease(backend: MemoryBackend, max: number, capability = 'cap') {
  return backend.lease({ capability, agentId: 'a', max, now: T0 + 1 });
}

describe('MemoryBackend.enqueueColumns', () => {
  it('queues a batch with no record made, then leases it as enqueue would have', async () => {
    const backend = createMemoryBackend();
    const batch = columns([3, 0, 2, 0, 1]);
    await backend.enqueueColumns(batch);
    expect(await backend.stats()).toMatchObject({
      depth: 5,
      byPriority: { critical: 2, high: 1, normal: 1, low: 1 },
    });
    expect(backend.usage().tasks).toBe(5);
    expect(await backend.readyCapabilities(T0)).toEqual(['cap']);
    const leased = await lease(backend, 10);
    // Strict priority, FIFO within a level.
    expect(leased.map((t) => t.payload)).toEqual([1, 3, 4, 2, 0]);
    expect(leased[0]).toEqual({
      id: taskIdAt(batch.first + 1),
      capability: 'cap',
      payload: 1,
      priority: 'critical',
      status: 'leased',
      attempts: 1,
      maxAttempts: 2,
      timeoutMs: 100,
      availableAt: T0,
      createdAt: T0,
      updatedAt: T0 + 1,
      agentId: 'a',
      leaseToken: leased[0]?.leaseToken,
      leaseExpiresAt: T0 + 101,
    });
    expect(Object.getPrototypeOf(leased[0])).toBe(Object.prototype);
    expect(idCounter(leased[4]?.id as string)).toBe(batch.first);
    // From its lease on, a task is an ordinary record: read, completed, retained.
    expect(await backend.get(leased[0]?.id as string)).toBe(leased[0]);
    const [done] = await backend.completeMany(
      [{ id: leased[0]?.id as string, leaseToken: leased[0]?.leaseToken as string, result: 'r' }],
      T0 + 2,
    );
    expect(done).toMatchObject({ status: 'completed', result: 'r' });
    expect(await backend.stats()).toMatchObject({ depth: 0, leased: 4 });
  });

  it('makes a record when a queued task is read, and leases that same object', async () => {
    const backend = createMemoryBackend();
    const batch = columns([2, 2, 2]);
    await backend.enqueueColumns(batch);
    const second = await backend.get(taskIdAt(batch.first + 1));
    expect(second).toMatchObject({ status: 'queued', payload: 1, priority: 'normal', attempts: 0 });
    expect(await backend.get(taskIdAt(batch.first + 1))).toBe(second);
    expect(await backend.get(taskIdAt(batch.first + 3))).toBeUndefined();
    expect(backend.usage().tasks).toBe(3);
    const leased = await lease(backend, 3);
    expect(leased.map((t) => t.payload)).toEqual([0, 1, 2]);
    expect(leased[1]).toBe(second);
  });

  it('never leases a task cancelled while queued, made or not before', async () => {
    const backend = createMemoryBackend();
    const batch = columns([1, 1, 1, 1]);
    await backend.enqueueColumns(batch);
    await backend.get(taskIdAt(batch.first + 2));
    for (const i of [0, 2]) {
      expect(await backend.cancel(taskIdAt(batch.first + i), T0)).toMatchObject({
        status: 'cancelled',
        payload: i,
      });
    }
    expect(await backend.stats()).toMatchObject({ depth: 2 });
    expect((await lease(backend, 4)).map((t) => t.payload)).toEqual([1, 3]);
    expect(await backend.readyCapabilities(T0)).toEqual([]);
    expect(await backend.get(taskIdAt(batch.first))).toMatchObject({ status: 'cancelled' });
  });

  it('keeps strict priority and FIFO across records and columns in one lane', async () => {
    const backend = createMemoryBackend();
    const a = rec({ capability: 'cap', priority: 'normal', payload: 'a' });
    await backend.enqueueNew([a]);
    await backend.enqueueColumns(columns([2, 1]));
    const b = rec({ capability: 'cap', priority: 'high', payload: 'b' });
    await backend.enqueueNew([b]);
    await backend.enqueueColumns(columns([1, 3], 'other'));
    expect((await lease(backend, 10)).map((t) => t.payload)).toEqual([1, 'b', 'a', 0]);
    expect((await lease(backend, 10, 'other')).map((t) => t.payload)).toEqual([0, 1]);
  });

  it('compacts a lane of columns once cancelled entries pile up, the rest in order', async () => {
    const backend = createMemoryBackend({ maxRetained: 0 });
    const batch = columns(Array.from({ length: 5_000 }, (_, i) => i % 4));
    await backend.enqueueColumns(batch);
    // One survivor read before the compaction, so its entry stands for a made record.
    await backend.get(taskIdAt(batch.first + 4_995));
    for (let i = 0; i < 4_990; i++) await backend.cancel(taskIdAt(batch.first + i), T0);
    expect(backend.usage().queueSlots).toBeLessThan(4_096);
    expect(backend.usage().tasks).toBe(10);
    const rest = Array.from({ length: 10 }, (_, k) => 4_990 + k);
    const order = [0, 1, 2, 3].flatMap((level) => rest.filter((i) => i % 4 === level));
    expect((await lease(backend, 100)).map((t) => t.payload)).toEqual(order);
  });

  it('refuses a record under an id the columns hold, and counters already in use', async () => {
    const backend = createMemoryBackend();
    const batch = columns([0, 0]);
    await backend.enqueueColumns(batch);
    const clash = { ...rec(), id: taskIdAt(batch.first + 1) };
    await expect(backend.enqueueNew([clash])).rejects.toMatchObject({ code: 'conflict' });
    await expect(backend.enqueue([clash])).rejects.toMatchObject({ code: 'conflict' });
    await expect(backend.enqueueColumns({ ...batch })).rejects.toMatchObject({
      code: 'conflict',
    });
    const made = rec();
    const taken = idCounter(taskIdAt(reserveTaskIds(1)));
    await backend.enqueueNew([{ ...made, id: taskIdAt(taken) }]);
    const over = { ...columns([0]), first: taken };
    await expect(backend.enqueueColumns(over)).rejects.toMatchObject({ code: 'conflict' });
    expect(await backend.stats()).toMatchObject({ depth: 3 });
  });

  it('answers malformed columns with invalid_request, queueing nothing', async () => {
    const backend = createMemoryBackend();
    const good = columns([0, 1]);
    const bad: Partial<TaskColumns>[] = [
      { capability: '' },
      { payloads: [], levels: new Uint8Array(0) },
      { levels: Uint8Array.from([0]) },
      { levels: Uint8Array.from([0, 4]) },
      { first: -1 },
      { maxAttempts: 0 },
      { timeoutMs: 0 },
    ];
    for (const change of bad) {
      await expect(backend.enqueueColumns({ ...good, ...change })).rejects.toMatchObject({
        code: 'invalid_request',
      });
    }
    expect(await backend.stats()).toMatchObject({ depth: 0 });
    await backend.close();
    await expect(backend.enqueueColumns(good)).rejects.toMatchObject({ code: 'unavailable' });
  });
});

describe('MemoryBackend.listTasks over tasks held as columns', () => {
  it('lists them with the records, newest first, and they lease as before after', async () => {
    const backend = createMemoryBackend();
    const batch = columns([2, 0, 2]);
    const older = rec({ capability: 'cap', createdAt: T0 - 1 });
    const newer = rec({ capability: 'cap', createdAt: T0 + 1 });
    await backend.enqueue([older, newer]);
    await backend.enqueueColumns(batch);
    await backend.enqueueColumns(columns([2], 'other'));
    const ids = [0, 1, 2].map((i) => taskIdAt(batch.first + i));
    // The batch's tasks share their instant; ties go by id, the greater first.
    const byId = [...ids].sort().reverse();
    const whole = await backend.listTasks({ capability: 'cap', limit: 10 });
    expect(whole.tasks.map((t) => t.id)).toEqual([newer.id, ...byId, older.id]);
    expect(whole.tasks[1]).toMatchObject({ status: 'queued', createdAt: T0, capability: 'cap' });

    const first = await backend.listTasks({ capability: 'cap', limit: 2 });
    expect(first.tasks.map((t) => t.id)).toEqual([newer.id, byId[0]]);
    const rest = await backend.listTasks({
      capability: 'cap',
      limit: 10,
      cursor: first.nextCursor as string,
    });
    expect(rest.tasks.map((t) => t.id)).toEqual([...byId.slice(1), older.id]);
    expect(rest.nextCursor).toBeUndefined();
    expect((await backend.listTasks({ status: 'leased', limit: 10 })).tasks).toEqual([]);
    expect((await backend.listTasks({ capability: 'other', limit: 10 })).tasks).toHaveLength(1);

    // Strict priority, FIFO within a level, whichever records the listing made.
    const leased = await lease(backend, 10);
    expect(leased.map((t) => t.id)).toEqual([ids[1], older.id, newer.id, ids[0], ids[2]]);
  });
});

describe('MemoryBackend.listTasks over a batch whose ids change length', () => {
  it('orders its ids as strings, pages included', async () => {
    // A batch across the next power of 36, e.g. counters 'zy', 'zz', '100', '101', '102'
    // after the prefix: as strings, the shorter ones are the greater.
    let boundary = 36;
    while (boundary < reserveTaskIds(0) + 2) boundary *= 36;
    reserveTaskIds(boundary - 2 - reserveTaskIds(0));
    const backend = createMemoryBackend();
    const batch = columns([2, 2, 2, 2, 2], 'wide');
    expect(batch.first).toBe(boundary - 2);
    await backend.enqueueColumns(batch);
    const expected = [1, 0, 4, 3, 2].map((i) => taskIdAt(boundary - 2 + i));
    const whole = await backend.listTasks({ capability: 'wide', limit: 10 });
    expect(whole.tasks.map((t) => t.id)).toEqual(expected);
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await backend.listTasks({
        capability: 'wide',
        limit: 2,
        ...(cursor && { cursor }),
      });
      seen.push(...page.tasks.map((t) => t.id));
      cursor = page.nextCursor;
    } while (cursor !== undefined && seen.length < 10);
    expect(seen).toEqual(expected);
  });
});
