import type { TaskListQuery, TaskRecord, TaskStatus } from '@switchboard/core';
import { expect, it } from 'vitest';
import { type Fixture, T0 } from './backend-fixture.js';
import { rejectsWith } from './rejects-with.js';

/** Every page of a listing, followed cursor to cursor; fails on a loop. */
async function allPages(f: Fixture, query: Omit<TaskListQuery, 'cursor'>): Promise<string[][]> {
  const pages: string[][] = [];
  let cursor: string | undefined;
  do {
    const page = await f.backend.listTasks(cursor === undefined ? query : { ...query, cursor });
    pages.push(page.tasks.map((t) => t.id));
    expect(page.tasks.length).toBeLessThanOrEqual(query.limit);
    cursor = page.nextCursor;
    expect(pages.length).toBeLessThan(100);
  } while (cursor !== undefined);
  return pages;
}

/** The conformance cases of `Backend.listTasks`. */
export function backendListing(f: Fixture): void {
  it('lists tasks newest first, a page at a time, each task once', async () => {
    // Created out of order, and two in one millisecond (ties go by id, the greater first).
    const at = [5, 1, 4, 2, 3, 3];
    const tasks = at.map((ms, i) => f.task({ id: `${f.cap}-t${i}`, createdAt: T0 + ms }));
    await f.backend.enqueue(tasks);
    const ids = (i: number) => tasks[i]!.id;
    const newestFirst = [ids(0), ids(2), ids(5), ids(4), ids(3), ids(1)];
    const whole = await f.backend.listTasks({ capability: f.cap, limit: 10 });
    expect(whole.tasks.map((t) => t.id)).toEqual(newestFirst);
    expect(whole.nextCursor).toBeUndefined();
    expect(whole.tasks[0]).toMatchObject({
      capability: f.cap,
      status: 'queued',
      payload: tasks[0]!.payload,
    });

    const pages = await allPages(f, { capability: f.cap, limit: 2 });
    expect(pages.flat()).toEqual(newestFirst);
    expect(pages.slice(0, 3).map((p) => p.length)).toEqual([2, 2, 2]);
  });

  it('filters by status and capability, and both at once', async () => {
    const other = `${f.cap}-other`;
    const [queued, leased, done, dead, cancelled] = [1, 2, 3, 4, 5].map((ms) =>
      f.task({ createdAt: T0 + ms, maxAttempts: 1 }),
    ) as [TaskRecord, TaskRecord, TaskRecord, TaskRecord, TaskRecord];
    const elsewhere = f.task({ capability: other, createdAt: T0 + 6 });
    await f.backend.enqueue([leased, done, dead, cancelled, queued, elsewhere]);
    const held = await f.lease(3);
    const byId = new Map(held.map((t) => [t.id, t]));
    const token = (t: TaskRecord) => byId.get(t.id)!.leaseToken!;
    await f.backend.complete(done.id, token(done), { ok: true }, T0 + 10);
    await f.backend.fail(
      dead.id,
      token(dead),
      { message: 'no' },
      { retry: false, availableAt: T0 },
      T0 + 10,
    );
    await f.backend.cancel(cancelled.id, T0 + 10);

    const list = async (query: Partial<TaskListQuery>) =>
      (await f.backend.listTasks({ limit: 50, ...query })).tasks.map((t) => t.id);
    expect(await list({ capability: f.cap, status: 'queued' })).toEqual([queued.id]);
    expect(await list({ capability: f.cap, status: 'leased' })).toEqual([leased.id]);
    expect(await list({ capability: f.cap, status: 'completed' })).toEqual([done.id]);
    expect(await list({ capability: f.cap, status: 'dead' })).toEqual([dead.id]);
    expect(await list({ capability: f.cap, status: 'cancelled' })).toEqual([cancelled.id]);
    expect(await list({ capability: other })).toEqual([elsewhere.id]);
    expect(await list({ capability: other, status: 'dead' })).toEqual([]);
    expect(await list({ status: 'queued' })).toEqual([elsewhere.id, queued.id]);
    const [completed] = (await f.backend.listTasks({ limit: 1, status: 'completed' })).tasks;
    expect(completed).toMatchObject({ id: done.id, result: { ok: true } });
  });

  it('finds the task of an idempotency key', async () => {
    const keyed = f.task({ idempotencyKey: `${f.cap}-order-42`, createdAt: T0 + 1 });
    await f.backend.enqueue([f.task({ createdAt: T0 + 2 }), keyed, f.task()]);
    const page = await f.backend.listTasks({ idempotencyKey: `${f.cap}-order-42`, limit: 50 });
    expect(page.tasks.map((t) => t.id)).toEqual([keyed.id]);
    expect(page.nextCursor).toBeUndefined();
    const miss = { idempotencyKey: `${f.cap}-order-42`, status: 'dead' as const, limit: 5 };
    expect((await f.backend.listTasks(miss)).tasks).toEqual([]);
    expect((await f.backend.listTasks({ idempotencyKey: 'no-such-key', limit: 5 })).tasks).toEqual(
      [],
    );
  });

  it('goes on after the task a cursor names even once that task is gone', async () => {
    const tasks = [3, 2, 1].map((ms) => f.task({ createdAt: T0 + ms, maxAttempts: 1 }));
    await f.backend.enqueue(tasks);
    const first = await f.backend.listTasks({ capability: f.cap, limit: 1 });
    expect(first.tasks.map((t) => t.id)).toEqual([tasks[0]!.id]);
    const [held] = await f.lease(1);
    expect(held?.id).toBe(tasks[0]!.id);
    const no = { retry: false, availableAt: T0 };
    await f.backend.fail(held!.id, held!.leaseToken!, { message: 'x' }, no, T0 + 5);
    await f.backend.deleteDeadLetter(held!.id);
    const rest = await f.backend.listTasks({
      capability: f.cap,
      limit: 5,
      cursor: first.nextCursor as string,
    });
    expect(rest.tasks.map((t) => t.id)).toEqual([tasks[1]!.id, tasks[2]!.id]);
  });

  it('refuses a bad limit, status or cursor with invalid_request', async () => {
    await f.enqueue(f.task());
    for (const limit of [0, 1001, 1.5, Number.NaN]) {
      await rejectsWith(f.backend.listTasks({ limit }), 'invalid_request');
    }
    const status = 'lost' as TaskStatus;
    await rejectsWith(f.backend.listTasks({ limit: 5, status }), 'invalid_request');
    for (const cursor of ['', 'not a cursor', 'bm90LWEtY3Vyc29y']) {
      await rejectsWith(f.backend.listTasks({ limit: 5, cursor }), 'invalid_request');
    }
  });
}
