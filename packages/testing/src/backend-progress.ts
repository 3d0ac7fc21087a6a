import type { Backend } from '@switchboard/core';
import { describe, expect, it } from 'vitest';
import { type Fixture, T0 } from './backend-fixture.js';
import { rejectsWith } from './rejects-with.js';

/**
 * The cases of `Backend.progress`, for a backend that has it: the last progress of a lease's
 * holder is stored on the record and stays when the task ends, the report renews the lease,
 * and a stale token is `conflict`. With `reopen`, the progress survives a restart.
 */
export function backendProgress(f: Fixture, reopen?: (backend: Backend) => Promise<Backend>): void {
  describe('progress reports', () => {
    const progressOf = (backend: Backend) => {
      if (backend.progress === undefined) throw new Error(`${backend.name} has no progress`);
      return backend.progress.bind(backend);
    };

    it('stores the last progress, renews the lease, and keeps it when the task ends', async () => {
      await f.enqueue(f.task({ timeoutMs: 100 }));
      const [t] = await f.lease(1);
      const token = t!.leaseToken!;
      const progress = progressOf(f.backend);
      const first = await progress(t!.id, token, { value: 0.25, at: T0 + 10 }, 1000, T0 + 10);
      expect(first).toMatchObject({ status: 'leased', progress: { value: 0.25, at: T0 + 10 } });
      expect(first.leaseExpiresAt).toBe(T0 + 1010);
      // A report without a value only renews, by the task's own timeoutMs when no ms is given.
      const renewed = await progress(t!.id, token, undefined, undefined, T0 + 20);
      expect(renewed.leaseExpiresAt).toBe(T0 + 120);
      expect(renewed.progress).toEqual({ value: 0.25, at: T0 + 10 });
      const step = { step: 3, of: 4, note: 'ünïcode' };
      await progress(t!.id, token, { value: step, at: T0 + 30 }, undefined, T0 + 30);
      expect(await f.backend.expireLeases(T0 + 100)).toEqual([]);
      expect((await f.backend.get(t!.id))?.progress).toEqual({ value: step, at: T0 + 30 });
      await f.backend.complete(t!.id, token, 'done', T0 + 40);
      expect(await f.backend.get(t!.id)).toMatchObject({
        status: 'completed',
        result: 'done',
        progress: { value: step, at: T0 + 30 },
      });
    });

    it('refuses a stale or forged token, a terminal task and an unknown id', async () => {
      await f.enqueue(f.task());
      const [t] = await f.lease(1);
      const progress = progressOf(f.backend);
      const report = { value: 1, at: T0 + 1 };
      await rejectsWith(progress(t!.id, 'forged-token-000000000', report, 100, T0 + 1), 'conflict');
      await rejectsWith(progress('no-such-task', 'x', report, 100, T0 + 1), 'not_found');
      await f.backend.cancel(t!.id, T0 + 2);
      await rejectsWith(progress(t!.id, t!.leaseToken!, report, 100, T0 + 3), 'conflict');
      expect((await f.backend.get(t!.id))?.progress).toBeUndefined();
    });

    if (reopen !== undefined) {
      it('keeps the last progress across a reopen', async () => {
        const held = f.task({ timeoutMs: 60_000 });
        const done = f.task();
        await f.backend.enqueue([held, done]);
        const leased = await f.lease(2);
        const progress = progressOf(f.backend);
        for (const [i, t] of leased.entries()) {
          await progress(t.id, t.leaseToken!, { value: { i }, at: T0 + i }, undefined, T0 + i);
        }
        const finished = leased.find((t) => t.id === done.id)!;
        await f.backend.complete(finished.id, finished.leaseToken!, 'ok', T0 + 5);
        f.backend = await reopen(f.backend);
        await f.backend.open();
        const indexOf = (id: string) => leased.findIndex((t) => t.id === id);
        expect((await f.backend.get(done.id))?.progress).toEqual({
          value: { i: indexOf(done.id) },
          at: T0 + indexOf(done.id),
        });
        expect((await f.backend.get(held.id))?.progress).toEqual({
          value: { i: indexOf(held.id) },
          at: T0 + indexOf(held.id),
        });
      });
    }
  });
}
