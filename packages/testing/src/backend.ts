import { type Backend, reserveTaskIds, type TaskRecord, taskIdAt } from '@switchboard/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { backendFairness } from './backend-fairness.js';
import { createFixture, PRIORITY_NAMES, settle, T0 } from './backend-fixture.js';
import { backendListing } from './backend-listing.js';
import { backendProgress } from './backend-progress.js';
import { backendProperty } from './backend-property.js';
import { backendReopen } from './backend-reopen.js';
import { backendSchedules } from './backend-schedules.js';
import { backendTransitions } from './backend-transitions.js';
import { rejectsWith } from './rejects-with.js';

/** Options of {@link testBackend}. */
export interface BackendSuiteOptions {
  /** The `durable` flag the backend must report. */
  durable?: boolean;
  /**
   * For durable backends: closes (or crashes) `backend` and returns a backend over the same
   * state. Adds the cases that check queued, leased and completed tasks, dead letters and
   * idempotency keys survive.
   */
  reopen?: (backend: Backend) => Promise<Backend>;
  /** Runs of the random-sequence property test (default 60). */
  numRuns?: number;
  /**
   * For a backend without fair dispatch (`Backend.fairness`): why, in a few words. Its fair
   * dispatch cases are then skipped with that reason in their name; without it they run, and
   * a backend that lacks fairness fails them.
   */
  skipFairness?: string;
}

/**
 * The conformance suite of the `Backend` interface: every backend (memory, journal, Redis)
 * calls it from its own test file, then adds its own cases. `make` returns a fresh, empty
 * backend; the suite opens and closes it. Time is explicit (`now` values), never a timer.
 *
 * @example
 * ```ts
 * testBackend('memory', () => createMemoryBackend())
 * testBackend('journal', () => createJournalBackend({ dir }), { durable: true, reopen })
 * ```
 */
export function testBackend(
  name: string,
  make: () => Promise<Backend> | Backend,
  opts: BackendSuiteOptions = {},
): void {
  describe(`Backend conformance: ${name}`, () => {
    const f = createFixture();

    beforeEach(async () => {
      f.backend = await make();
      await f.backend.open();
      f.reset();
    });

    afterEach(async () => {
      await f.backend.close();
    });

    it('reports its name and durability, and opens idempotently', async () => {
      expect(f.backend.name).toBe(f.backend.name.trim());
      expect(f.backend.name.length).toBeGreaterThan(0);
      if (opts.durable !== undefined) expect(f.backend.durable).toBe(opts.durable);
      await f.backend.open();
      await f.enqueue(f.task());
      expect((await f.backend.stats()).depth).toBe(1);
    });

    it('stores enqueued tasks in order and gets them by id', async () => {
      const tasks = [f.task({ payload: { url: 'a' } }), f.task({ sessionKey: 's-1' }), f.task()];
      const results = await f.backend.enqueue(tasks);
      expect(results.map((r) => [r.task.id, r.created])).toEqual(tasks.map((t) => [t.id, true]));
      const stored = await f.backend.get(tasks[0]!.id);
      expect(stored).toMatchObject({
        id: tasks[0]!.id,
        capability: f.cap,
        payload: { url: 'a' },
        status: 'queued',
        attempts: 0,
      });
      expect((await f.backend.get(tasks[1]!.id))?.sessionKey).toBe('s-1');
      expect(await f.backend.get('no-such-task')).toBeUndefined();
    });

    it('enqueueNew, when offered, stores and queues in order, all or none', async (ctx) => {
      const enqueueNew = f.backend.enqueueNew?.bind(f.backend);
      if (enqueueNew === undefined) return ctx.skip();
      const tasks = [f.task({ priority: 'low' }), f.task(), f.task()];
      await enqueueNew(tasks);
      expect((await f.backend.get(tasks[1]!.id))?.status).toBe('queued');
      // A batch with a known id stores nothing of it, nor does one with an idempotency key.
      const fresh = f.task();
      await expect(enqueueNew([fresh, tasks[0]!])).rejects.toMatchObject({ code: 'conflict' });
      await expect(
        enqueueNew([fresh, f.task({ idempotencyKey: `${f.cap}-k` })]),
      ).rejects.toMatchObject({ code: 'invalid_request' });
      expect(await f.backend.get(fresh.id)).toBeUndefined();
      expect((await f.backend.stats()).depth).toBe(3);
      const leased = await f.lease(3);
      expect(leased.map((t) => t.id)).toEqual([tasks[1]!.id, tasks[2]!.id, tasks[0]!.id]);
    });

    it('enqueueColumns, when offered, queues a batch as its records would be', async (ctx) => {
      const enqueueColumns = f.backend.enqueueColumns?.bind(f.backend);
      if (enqueueColumns === undefined) return ctx.skip();
      const first = reserveTaskIds(4);
      const columns = {
        first,
        capability: f.cap,
        payloads: [{ n: 0 }, { n: 1 }, { n: 2 }, { n: 3 }],
        levels: Uint8Array.from([2, 0, 3, 0]),
        maxAttempts: 2,
        timeoutMs: 500,
        now: T0,
      };
      await enqueueColumns(columns);
      expect(await f.backend.stats()).toMatchObject({
        depth: 4,
        byPriority: { critical: 2, normal: 1, low: 1 },
      });
      expect(await f.backend.get(taskIdAt(first + 2))).toMatchObject({
        id: taskIdAt(first + 2),
        capability: f.cap,
        payload: { n: 2 },
        priority: 'low',
        status: 'queued',
        attempts: 0,
        maxAttempts: 2,
        timeoutMs: 500,
        createdAt: T0,
      });
      await expect(enqueueColumns(columns)).rejects.toMatchObject({ code: 'conflict' });
      await expect(
        enqueueColumns({
          ...columns,
          first: reserveTaskIds(1),
          levels: Uint8Array.from([9]),
          payloads: [0],
        }),
      ).rejects.toMatchObject({ code: 'invalid_request' });
      const leased = await f.lease(4);
      expect(leased.map((t) => t.payload)).toEqual([{ n: 1 }, { n: 3 }, { n: 0 }, { n: 2 }]);
      expect(leased[0]).toMatchObject({ status: 'leased', attempts: 1, priority: 'critical' });
    });

    it('deduplicates by idempotency key, within a batch and after completion', async () => {
      const first = f.task({ idempotencyKey: `${f.cap}-order-42` });
      const again = f.task({ idempotencyKey: `${f.cap}-order-42` });
      const results = await f.backend.enqueue([first, again]);
      expect(results.map((r) => [r.task.id, r.created])).toEqual([
        [first.id, true],
        [first.id, false],
      ]);
      expect(await f.backend.get(again.id)).toBeUndefined();
      expect((await f.backend.stats()).depth).toBe(1);

      const [leased] = await f.lease(1);
      await f.backend.complete(leased!.id, leased!.leaseToken!, 'done', T0 + 1);
      const [late] = await f.backend.enqueue([f.task({ idempotencyKey: `${f.cap}-order-42` })]);
      expect(late).toMatchObject({ created: false, task: { id: first.id, status: 'completed' } });
      expect(await f.lease(5, T0 + 2)).toEqual([]);
    });

    it('leases in strict priority order, FIFO within a priority', async () => {
      const low = f.task({ priority: 'low' });
      const normal1 = f.task({ priority: 'normal' });
      const critical = f.task({ priority: 'critical' });
      const normal2 = f.task({ priority: 'normal' });
      const high = f.task({ priority: 'high' });
      await f.backend.enqueue([low, normal1, critical, normal2, high]);
      const ids = (await f.lease(10)).map((t) => t.id);
      expect(ids).toEqual([critical.id, high.id, normal1.id, normal2.id, low.id]);
    });

    it('keeps strict priority and FIFO over 1000 mixed tasks leased in chunks', async () => {
      const tasks = Array.from({ length: 1000 }, (_, i) =>
        f.task({ priority: PRIORITY_NAMES[(i * 7 + (i >> 3)) % 4]! }),
      );
      for (let i = 0; i < tasks.length; i += 250) await f.backend.enqueue(tasks.slice(i, i + 250));
      const leased: string[] = [];
      for (;;) {
        const chunk = await f.lease(37);
        if (chunk.length === 0) break;
        leased.push(...chunk.map((t) => t.id));
      }
      const level = (t: TaskRecord) => PRIORITY_NAMES.indexOf(t.priority);
      const expected = tasks
        .map((t, i) => ({ t, i }))
        .sort((a, b) => level(a.t) - level(b.t) || a.i - b.i)
        .map(({ t }) => t.id);
      expect(leased).toEqual(expected);
    });

    it('gives each lease a fresh token, an expiry, an attempt and the agent, up to max', async () => {
      await f.backend.enqueue([f.task({ timeoutMs: 5000 }), f.task(), f.task()]);
      const leased = await f.lease(2, T0 + 10, f.cap, 'agent-7');
      expect(leased).toHaveLength(2);
      for (const t of leased) {
        expect(t).toMatchObject({ status: 'leased', attempts: 1, agentId: 'agent-7' });
        expect(t.leaseToken).toMatch(/^\S{16,}$/);
      }
      expect(leased[0]!.leaseExpiresAt).toBe(T0 + 10 + 5000);
      expect(leased[1]!.leaseExpiresAt).toBe(T0 + 10 + 1000);
      expect(leased[0]!.leaseToken).not.toBe(leased[1]!.leaseToken);
      expect((await f.backend.get(leased[0]!.id))?.status).toBe('leased');
      expect(await f.lease(5, T0 + 10, `${f.cap}-unknown`)).toEqual([]);
      expect((await f.lease(5, T0 + 10)).length).toBe(1);
      expect(await f.lease(5, T0 + 10)).toEqual([]);
    });

    it('rejects a lease max that is not an integer ≥ 1', async () => {
      await f.enqueue(f.task());
      for (const max of [0, -1, 1.5, Number.NaN]) {
        await rejectsWith(
          f.backend.lease({ capability: f.cap, agentId: 'a', max, now: T0 }),
          'invalid_request',
        );
      }
      expect((await f.backend.stats()).depth).toBe(1);
    });

    it('holds delayed tasks until availableAt', async () => {
      const later = f.task({ availableAt: T0 + 500 });
      const soon = f.task({ availableAt: T0 + 100 });
      await f.backend.enqueue([later, soon]);
      expect(await f.backend.nextAvailableAt()).toBe(T0 + 100);
      expect(await f.backend.readyCapabilities(T0 + 50)).not.toContain(f.cap);
      expect(await f.lease(5, T0 + 99)).toEqual([]);
      expect((await f.backend.stats()).depth).toBe(2);
      expect((await f.lease(5, T0 + 100)).map((t) => t.id)).toEqual([soon.id]);
      expect(await f.backend.nextAvailableAt()).toBe(T0 + 500);
      expect(await f.backend.readyCapabilities(T0 + 600)).toContain(f.cap);
      expect((await f.lease(5, T0 + 600)).map((t) => t.id)).toEqual([later.id]);
      expect(await f.backend.nextAvailableAt()).toBeUndefined();
    });

    backendTransitions(f);
    backendProgress(f, opts.reopen);
    backendListing(f);
    backendSchedules(f, opts.reopen);
    backendFairness(f, opts.numRuns ?? 60, opts.skipFairness);

    it('reports depth, priorities, leased, delayed and dead in stats', async () => {
      await f.backend.enqueue([
        f.task({ priority: 'critical' }),
        f.task({ priority: 'high' }),
        f.task({ priority: 'high' }),
        f.task({ priority: 'low', availableAt: T0 + 1000 }),
        f.task({ priority: 'normal', maxAttempts: 1 }),
      ]);
      const [crit] = await f.lease(1);
      expect(await f.backend.stats()).toEqual({
        depth: 4,
        byPriority: { critical: 0, high: 2, normal: 1, low: 1 },
        leased: 1,
        delayed: 1,
        dead: 0,
      });
      await f.backend.release(
        [{ id: crit!.id, leaseToken: crit!.leaseToken! }],
        { message: 'x' },
        T0,
      );
      const stats = await f.backend.stats();
      expect(stats).toMatchObject({ depth: 5, leased: 0, byPriority: { critical: 1 } });
    });

    it('notifies onAvailable listeners whenever tasks become available', async () => {
      const seen: string[] = [];
      const off = f.backend.onAvailable((c) => seen.push(c));
      const expectSeen = (n: number) =>
        vi.waitFor(() => expect(seen.filter((c) => c === f.cap).length).toBeGreaterThanOrEqual(n));

      await f.enqueue(f.task());
      await expectSeen(1);
      const mark = seen.length;
      await f.enqueue(f.task({ availableAt: T0 + 100 }));
      await settle();
      expect(seen.slice(mark)).not.toContain(f.cap);
      await f.backend.readyCapabilities(T0 + 100);
      await expectSeen(2);

      const [a, b] = await f.lease(2, T0 + 100);
      const retry = { retry: true, availableAt: T0 + 100 };
      await f.backend.fail(b!.id, b!.leaseToken!, { message: 'x' }, retry, T0 + 100);
      await expectSeen(3);
      const noRetry = { retry: false, availableAt: T0 };
      await f.backend.fail(a!.id, a!.leaseToken!, { message: 'x' }, noRetry, T0 + 100);
      await f.backend.replay(a!.id, T0 + 101);
      await expectSeen(4);

      const [c] = await f.lease(1, T0 + 102);
      await f.backend.release([{ id: c!.id, leaseToken: c!.leaseToken! }], { message: 'x' }, T0);
      await expectSeen(5);
      await f.lease(1, T0 + 103);
      await f.backend.expireLeases(T0 + 100_000);
      await expectSeen(6);

      off();
      const count = seen.length;
      await f.enqueue(f.task());
      await settle();
      expect(seen.length).toBe(count);
    });

    it('keeps capabilities independent', async () => {
      const other = `${f.cap}-other`;
      const a = f.task({ priority: 'low' });
      const b = f.task({ capability: other, priority: 'critical' });
      await f.backend.enqueue([a, b]);
      expect(
        (await f.backend.readyCapabilities(T0)).filter((c) => c.startsWith(f.cap)).sort(),
      ).toEqual([f.cap, other].sort());
      expect((await f.lease(5)).map((t) => t.id)).toEqual([a.id]);
      expect(await f.backend.readyCapabilities(T0)).not.toContain(f.cap);
      expect((await f.lease(5, T0, other)).map((t) => t.id)).toEqual([b.id]);
    });

    backendProperty(make, f, opts.numRuns ?? 60);
    if (opts.reopen) backendReopen(f, opts.reopen);
  });
}
