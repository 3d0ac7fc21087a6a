import type { Backend } from '@switchboard/core';
import { describe, expect, it } from 'vitest';
import { type Fixture, T0 } from './backend-fixture.js';

/**
 * The cases of durable backends: state written before a reopen (a restart, or a crash when
 * `reopen` simulates one) is all there after it.
 */
export function backendReopen(f: Fixture, reopen: (backend: Backend) => Promise<Backend>): void {
  describe('after a reopen', () => {
    const again = async () => {
      f.backend = await reopen(f.backend);
      await f.backend.open();
    };

    it('keeps queued, leased and completed tasks, and idempotency keys', async () => {
      const queued = f.task({ priority: 'high', idempotencyKey: `${f.cap}-k1` });
      const held = f.task({ priority: 'critical', timeoutMs: 60_000 });
      const done = f.task({ priority: 'critical' });
      const delayed = f.task({ availableAt: T0 + 500 });
      await f.backend.enqueue([queued, held, done, delayed]);
      const [d, h] = await f.lease(2);
      expect([d!.id, h!.id]).toEqual([held.id, done.id]);
      await f.backend.complete(h!.id, h!.leaseToken!, { saved: true }, T0 + 1);

      await again();
      expect(await f.backend.get(done.id)).toMatchObject({
        status: 'completed',
        result: { saved: true },
      });
      const [dup] = await f.backend.enqueue([f.task({ idempotencyKey: `${f.cap}-k1` })]);
      expect(dup).toMatchObject({ created: false, task: { id: queued.id } });

      // A lease held across a restart either still stands (its token still works) or was
      // put back to the queue; either way the task is done exactly once.
      const heldStatus = (await f.backend.get(held.id))?.status;
      expect(['leased', 'queued']).toContain(heldStatus);
      if (heldStatus === 'leased') {
        await f.backend.complete(held.id, d!.leaseToken!, 'ok', T0 + 2);
      }
      const rest = await f.lease(10, T0 + 600);
      const expected =
        heldStatus === 'leased' ? [queued.id, delayed.id] : [held.id, queued.id, delayed.id];
      expect(rest.map((t) => t.id)).toEqual(expected);
      for (const t of rest) await f.backend.complete(t.id, t.leaseToken!, 'ok', T0 + 601);
      for (const t of [queued, held, done, delayed]) {
        expect((await f.backend.get(t.id))?.status).toBe('completed');
      }
    });

    it("keeps a task's trace context", async () => {
      const traceparent = `00-${'4b'.repeat(16)}-${'0f'.repeat(8)}-01`;
      const queued = f.task({ traceparent, tracestate: 'vendor=a' });
      const held = f.task({ traceparent, timeoutMs: 60_000 });
      await f.backend.enqueue([held, queued]);
      await f.lease(1);
      await again();
      expect(await f.backend.get(queued.id)).toMatchObject({ traceparent, tracestate: 'vendor=a' });
      expect(await f.backend.get(held.id)).toMatchObject({ traceparent });
      expect((await f.backend.get(held.id))?.tracestate).toBeUndefined();
    });

    it('lists the same tasks, in the same order, and finds an idempotency key', async () => {
      const tasks = [3, 1, 2].map((ms, i) =>
        f.task({ createdAt: T0 + ms, ...(i === 1 ? { idempotencyKey: `${f.cap}-l1` } : {}) }),
      );
      await f.backend.enqueue(tasks);
      const [held] = await f.lease(1);
      await f.backend.complete(held!.id, held!.leaseToken!, 'ok', T0 + 5);
      const list = async () =>
        (await f.backend.listTasks({ capability: f.cap, limit: 10 })).tasks.map((t) => [
          t.id,
          t.status,
        ]);
      const before = await list();
      expect(before.map(([id]) => id)).toEqual([tasks[0]!.id, tasks[2]!.id, tasks[1]!.id]);

      await again();
      expect(await list()).toEqual(before);
      const keyed = await f.backend.listTasks({ idempotencyKey: `${f.cap}-l1`, limit: 1 });
      expect(keyed.tasks.map((t) => t.id)).toEqual([tasks[1]!.id]);
    });

    it('keeps dead letters and their order', async () => {
      const tasks = [f.task({ maxAttempts: 1 }), f.task({ maxAttempts: 1 })];
      await f.backend.enqueue(tasks);
      for (const t of await f.lease(2)) {
        await f.backend.fail(
          t.id,
          t.leaseToken!,
          { message: 'poison' },
          { retry: false, availableAt: T0 },
          T0,
        );
      }
      await again();
      const dead = await f.backend.deadLetters();
      expect(dead.map((t) => [t.id, t.status, t.error?.message])).toEqual(
        tasks.map((t) => [t.id, 'dead', 'poison']),
      );
      await f.backend.replay(tasks[0]!.id, T0 + 1);
      expect((await f.lease(1, T0 + 1)).map((t) => t.id)).toEqual([tasks[0]!.id]);
    });
  });
}
