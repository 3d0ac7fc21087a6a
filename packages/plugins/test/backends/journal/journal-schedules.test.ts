import type { BusEvent } from '@switchboard/core';
import { createSwitchboard } from '@switchboard/core';
import { createJournalBackend } from '@switchboard/plugins/journal';
import { scheduleRecord } from '@switchboard/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { T0, tempDirs } from './helpers.js';

const dirs = tempDirs();
afterAll(() => dirs.cleanup());

const schedule = (id: string) =>
  scheduleRecord(id, { task: { capability: 'cap', priority: 'normal', payload: 'x'.repeat(200) } });

describe('journal: schedules', () => {
  it('keeps schedules and their ticks in its snapshots', async () => {
    const dir = dirs.make();
    const backend = createJournalBackend({ dir, compactAfterBytes: 4096 });
    await backend.open();
    const store = backend.schedules;
    // Enough claims of ticks for several compactions: the state must come from snapshots.
    for (let n = 0; n < 20; n++) await store.put(schedule(`s-${n}`));
    for (let k = 1; k <= 10; k++) {
      for (let n = 0; n < 20; n++) {
        await store.claimTick(`s-${n}`, T0 + k * 60_000);
        await store.settleTick(`s-${n}`, T0 + k * 60_000, `task-${n}-${k}`);
      }
    }
    await store.delete('s-0');
    expect(backend.journalStats().compactions).toBeGreaterThan(0);
    await backend.close();
    const again = createJournalBackend({ dir });
    await again.open();
    const listed = await again.schedules.list();
    expect(listed).toHaveLength(19);
    expect(await again.schedules.get('s-7')).toMatchObject({
      lastTickAt: T0 + 600_000,
      settledTickAt: T0 + 600_000,
      lastTaskId: 'task-7-10',
    });
    await again.close();
  });

  it('a Switchboard restarted over it finds its schedule and catches up on the missed tick', {
    timeout: 10_000,
  }, async () => {
    const dir = dirs.make();
    const first = createSwitchboard({ backend: createJournalBackend({ dir }) });
    await first.start();
    await first.schedules.upsert({
      id: 'beat',
      cron: '* * * * * *',
      catchUp: 'last',
      // Nothing runs the tasks: with the default overlap (skip) every tick after the first
      // would be skipped.
      overlap: 'allow',
      task: { capability: 'beat' },
    });
    await first.shutdown();
    const downAt = Date.now();
    // Down for more than a tick and more than ON_TIME_MS: the ticks meanwhile are missed.
    await new Promise((r) => setTimeout(r, 2300));

    const second = createSwitchboard({ backend: createJournalBackend({ dir }) });
    const events: BusEvent[] = [];
    second.events.subscribe('schedule.fired', (e) => {
      events.push(e);
    });
    await second.start();
    try {
      expect((await second.schedules.get('beat')).cron).toBe('* * * * * *');
      const deadline = Date.now() + 3000;
      while (events.filter((e) => e.taskId !== undefined).length < 2 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 20));
      }
      const submitted = events.filter((e) => e.taskId !== undefined);
      // The catch-up: one task stands for the ticks missed while down (the latest due one),
      // and one event says the older ones were dropped.
      const catchUp = submitted[0] as BusEvent;
      const missed = events.filter((e) => e.skipped === 'missed');
      expect(missed).toHaveLength(1);
      expect(missed[0]?.tickAt as number).toBeGreaterThan(downAt);
      expect(catchUp.tickAt as number).toBeGreaterThan(missed[0]?.tickAt as number);
      // Then the ticks go on, on time.
      const next = submitted[1] as BusEvent;
      expect(next.tickAt).toBe((catchUp.tickAt as number) + 1000);
      expect(next.at - (next.tickAt as number)).toBeLessThan(1000);
      const tasks = (await second.listTasks({ capability: 'beat', limit: 100 })).tasks;
      const ticks = tasks.map((t) => Number(t.idempotencyKey?.split(':')[2]));
      expect(ticks.filter((t) => t > downAt && t <= (catchUp.tickAt as number))).toEqual([
        catchUp.tickAt,
      ]);
      expect(new Set(ticks).size).toBe(ticks.length);
    } finally {
      await second.shutdown();
    }
  });
});
