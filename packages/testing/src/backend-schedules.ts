import type { Backend, ScheduleRecord, ScheduleStore } from '@switchboard/core';
import { describe, expect, it } from 'vitest';
import { type Fixture, T0 } from './backend-fixture.js';

/**
 * A stored schedule written at `T0` and never ticked since: every minute from `T0`, its task
 * of capability `cap`. `over` overrides fields.
 */
export function scheduleRecord(id: string, over: Partial<ScheduleRecord> = {}): ScheduleRecord {
  return {
    id,
    everyMs: 60_000,
    task: { capability: 'cap', priority: 'normal' },
    overlap: 'skip',
    catchUp: 'none',
    catchUpLimit: 10,
    paused: false,
    anchorAt: T0,
    createdAt: T0,
    updatedAt: T0,
    lastTickAt: T0,
    settledTickAt: T0,
    ...over,
  };
}

/**
 * The cases of a backend's schedule store (`Backend.schedules`), skipped for a backend
 * without one: records round-trip as copies, a tick is claimed once and never behind a
 * later one, writes merge the tick state forward, and with `reopen` it all survives.
 */
export function backendSchedules(
  f: Fixture,
  reopen?: (backend: Backend) => Promise<Backend>,
): void {
  describe('schedule store', () => {
    const store = (ctx: { skip: () => void }): ScheduleStore => {
      const schedules = f.backend.schedules;
      if (schedules === undefined) ctx.skip();
      return schedules as ScheduleStore;
    };
    // A cron schedule (the interval of `scheduleRecord` left out) with every field set.
    const schedule = (over: Partial<ScheduleRecord> = {}): ScheduleRecord => {
      const { everyMs: _every, ...base } = scheduleRecord(`${f.cap}-s`);
      return {
        ...base,
        cron: '*/10 * * * * *',
        timezone: 'Europe/Berlin',
        task: { capability: f.cap, priority: 'high', payload: { n: 1 }, metadata: { k: 'v' } },
        catchUp: 'all',
        catchUpLimit: 5,
        ...over,
      };
    };

    it('stores, lists, gets and deletes schedules, handing out copies', async (ctx) => {
      const s = store(ctx);
      const a = schedule();
      const { cron: _cron, timezone: _zone, ...timing } = schedule({ id: `${f.cap}-a` });
      const b: ScheduleRecord = { ...timing, everyMs: 5000 };
      await s.put(a);
      await s.put(b);
      expect(await s.get(a.id)).toEqual(a);
      expect(await s.get(b.id)).toEqual(b);
      const mine = (await s.list()).filter((r) => r.id.startsWith(f.cap));
      expect(mine.map((r) => r.id)).toEqual([b.id, a.id]);
      const got = (await s.get(a.id)) as ScheduleRecord;
      got.paused = true;
      got.task.capability = 'changed';
      (got.task.metadata as Record<string, unknown>).k = 'changed';
      expect(await s.get(a.id)).toEqual(a);
      expect(await s.delete(a.id)).toBe(true);
      expect(await s.delete(a.id)).toBe(false);
      expect(await s.get(a.id)).toBeUndefined();
      expect(await s.get(`${f.cap}-none`)).toBeUndefined();
    });

    it('claims a tick once, never one at or before the last claimed', async (ctx) => {
      const s = store(ctx);
      await s.put(schedule());
      const id = `${f.cap}-s`;
      expect(await s.claimTick(`${f.cap}-none`, T0 + 10_000)).toBe(false);
      expect(await s.claimTick(id, T0)).toBe(false);
      const claims = await Promise.all(
        Array.from({ length: 20 }, () => s.claimTick(id, T0 + 10_000)),
      );
      expect(claims.filter(Boolean)).toHaveLength(1);
      expect(await s.claimTick(id, T0 + 30_000)).toBe(true);
      expect(await s.claimTick(id, T0 + 20_000)).toBe(false);
      const stored = await s.get(id);
      expect(stored).toMatchObject({ lastTickAt: T0 + 30_000, settledTickAt: T0 });
    });

    it('settles ticks: the last task fired moves forward only', async (ctx) => {
      const s = store(ctx);
      const id = `${f.cap}-s`;
      await s.put(schedule());
      await s.claimTick(id, T0 + 10_000);
      await s.settleTick(id, T0 + 10_000, 'task-1');
      expect(await s.get(id)).toMatchObject({
        settledTickAt: T0 + 10_000,
        lastFiredAt: T0 + 10_000,
        lastTaskId: 'task-1',
      });
      // A skipped tick settles without touching the last task.
      await s.claimTick(id, T0 + 20_000);
      await s.settleTick(id, T0 + 20_000);
      expect(await s.get(id)).toMatchObject({ settledTickAt: T0 + 20_000, lastTaskId: 'task-1' });
      await s.settleTick(id, T0 + 5_000, 'task-0');
      expect(await s.get(id)).toMatchObject({ settledTickAt: T0 + 20_000, lastTaskId: 'task-1' });
      await s.settleTick(`${f.cap}-none`, T0, 'task-x');
      expect(await s.get(`${f.cap}-none`)).toBeUndefined();
    });

    it('replaces a schedule without moving its ticks back or forgetting its last run', async (ctx) => {
      const s = store(ctx);
      const id = `${f.cap}-s`;
      await s.put(schedule());
      await s.claimTick(id, T0 + 10_000);
      await s.settleTick(id, T0 + 10_000, 'task-1');
      const replacement = schedule({ paused: true, overlap: 'allow', updatedAt: T0 + 11_000 });
      await s.put(replacement);
      expect(await s.get(id)).toEqual({
        ...replacement,
        lastTickAt: T0 + 10_000,
        settledTickAt: T0 + 10_000,
        lastFiredAt: T0 + 10_000,
        lastTaskId: 'task-1',
      });
      await s.put(schedule({ lastTickAt: T0 + 50_000, settledTickAt: T0 + 50_000 }));
      expect(await s.get(id)).toMatchObject({ lastTickAt: T0 + 50_000, lastTaskId: 'task-1' });
      expect(await s.claimTick(id, T0 + 40_000)).toBe(false);
    });

    if (reopen !== undefined) {
      it('keeps schedules and where their ticks stand across a reopen', async (ctx) => {
        const s = store(ctx);
        const id = `${f.cap}-s`;
        await s.put(schedule());
        await s.put(schedule({ id: `${f.cap}-gone` }));
        await s.claimTick(id, T0 + 10_000);
        await s.settleTick(id, T0 + 10_000, 'task-1');
        await s.claimTick(id, T0 + 20_000);
        await s.delete(`${f.cap}-gone`);
        f.backend = await reopen(f.backend);
        await f.backend.open();
        const again = store(ctx);
        expect(await again.get(id)).toEqual({
          ...schedule(),
          lastTickAt: T0 + 20_000,
          settledTickAt: T0 + 10_000,
          lastFiredAt: T0 + 10_000,
          lastTaskId: 'task-1',
        });
        expect(await again.get(`${f.cap}-gone`)).toBeUndefined();
        expect(await again.claimTick(id, T0 + 20_000)).toBe(false);
        expect(await again.claimTick(id, T0 + 30_000)).toBe(true);
      });
    }
  });
}
