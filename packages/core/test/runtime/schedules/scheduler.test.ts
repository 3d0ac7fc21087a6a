import { afterEach, describe, expect, it } from 'vitest';
import { defineAgent } from '../../../src/agent/definition.js';
import { MemoryBackend } from '../../../src/backends/memory/memory-backend.js';
import type { SwitchboardError } from '../../../src/errors.js';
import type { BusEvent } from '../../../src/events/event-bus.js';
import type { ScheduleRecord } from '../../../src/model/schedule.js';
import { createSwitchboard, type Switchboard } from '../../../src/switchboard.js';

// Real timers throughout: what is tested is that ticks fire by themselves, on time.

let sb: Switchboard | undefined;
afterEach(async () => {
  await sb?.shutdown({ drain: false });
  sb = undefined;
});

function fired(target: Switchboard): BusEvent[] {
  const events: BusEvent[] = [];
  target.events.subscribe('schedule.fired', (e) => {
    events.push(e);
  });
  return events;
}

async function until(check: () => boolean, timeoutMs = 4000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A stored schedule as a process that stopped some time ago would have left it. */
function leftBehind(overrides: Partial<ScheduleRecord>): ScheduleRecord {
  const at = Date.now() - 60_000;
  return {
    id: 'left',
    everyMs: 10_000,
    task: { capability: 'job', priority: 'normal' },
    overlap: 'allow',
    catchUp: 'none',
    catchUpLimit: 10,
    paused: false,
    anchorAt: at,
    createdAt: at,
    updatedAt: at,
    lastTickAt: at,
    settledTickAt: at,
    ...overrides,
  };
}

describe('schedules fire by themselves', () => {
  it('runs a per-second cron schedule on whole seconds, one task per tick', async () => {
    const ran: unknown[] = [];
    sb = createSwitchboard({
      agents: [defineAgent({ name: 'tick', capabilities: ['tick'], handle: (p) => ran.push(p) })],
    });
    await sb.start();
    const events = fired(sb);
    const view = await sb.schedules.upsert({
      id: 'every-second',
      cron: '* * * * * *',
      task: { capability: 'tick', payload: { n: 1 } },
    });
    expect(view.nextRuns).toHaveLength(5);
    expect(view.nextRuns.every((t) => t % 1000 === 0)).toBe(true);
    await until(() => ran.length >= 2);
    const first = events[0] as BusEvent;
    expect(first.scheduleId).toBe('every-second');
    expect((first.tickAt as number) % 1000).toBe(0);
    expect(first.at - (first.tickAt as number)).toBeLessThan(500);
    const task = await sb.get(first.taskId as string);
    expect(task.idempotencyKey).toBe(`schedule:every-second:${first.tickAt}`);
    expect(ran[0]).toEqual({ n: 1 });
    const ticks = events.map((e) => e.tickAt);
    expect(new Set(ticks).size).toBe(ticks.length);
    expect((await sb.schedules.get('every-second')).lastTaskId).toBeDefined();
  });

  it('runs an interval counted from when it was written', async () => {
    sb = createSwitchboard();
    await sb.start();
    const events = fired(sb);
    const before = Date.now();
    const view = await sb.schedules.upsert({
      id: 'i',
      everyMs: 1000,
      task: { capability: 'x', fairnessKey: 'tenant-7' },
    });
    expect(view.nextRuns[0]).toBe(view.anchorAt + 1000);
    expect(view.anchorAt).toBeGreaterThanOrEqual(before);
    expect(view.task.fairnessKey).toBe('tenant-7');
    await until(() => events.length >= 1);
    expect(events[0]?.tickAt).toBe(view.anchorAt + 1000);
    // The tick's task carries the schedule's fairness key.
    const task = await sb.get(String(events[0]?.taskId));
    expect(task.fairnessKey).toBe('tenant-7');
  });

  it('skips a tick while the previous run is unfinished, unless overlap is allow', async () => {
    let release!: () => void;
    const hold = new Promise<void>((resolve) => {
      release = resolve;
    });
    sb = createSwitchboard({
      agents: [defineAgent({ name: 'slow', capabilities: ['slow'], handle: () => hold })],
    });
    await sb.start();
    const events = fired(sb);
    await sb.schedules.upsert({ id: 'skip', cron: '* * * * * *', task: { capability: 'slow' } });
    await sb.schedules.upsert({
      id: 'allow',
      cron: '* * * * * *',
      overlap: 'allow',
      task: { capability: 'slow' },
    });
    await until(() => events.filter((e) => e.scheduleId === 'skip').length >= 2, 4000);
    const skip = events.filter((e) => e.scheduleId === 'skip');
    expect(skip[0]?.taskId).toBeDefined();
    expect(skip[1]).toMatchObject({ skipped: 'overlap', runningTaskId: skip[0]?.taskId });
    const allow = events.filter((e) => e.scheduleId === 'allow');
    expect(allow.filter((e) => e.taskId !== undefined).length).toBeGreaterThanOrEqual(2);
    release();
  });
});

describe('catching up on missed ticks', () => {
  // Five ticks missed, the latest 1.5 s ago (late), the next one 8.5 s away.
  const missedFive = () => {
    const anchorAt = Date.now() - 5 * 10_000 - 1500;
    return { anchorAt, lastTickAt: anchorAt, settledTickAt: anchorAt };
  };

  async function startWith(record: ScheduleRecord): Promise<BusEvent[]> {
    const backend = new MemoryBackend();
    backend.schedules.restore(record);
    sb = createSwitchboard({ backend });
    const events = fired(sb);
    await sb.start();
    await until(() => events.length > 0);
    // Anything else due would have been published in the same evaluation.
    await new Promise((r) => setTimeout(r, 100));
    return events;
  }

  it('none: fires nothing and says which ticks were missed', async () => {
    const record = leftBehind({ ...missedFive(), catchUp: 'none' });
    const events = await startWith(record);
    const latest = record.anchorAt + 50_000;
    expect(events).toEqual([expect.objectContaining({ tickAt: latest, skipped: 'missed' })]);
    expect((await sb?.listTasks())?.tasks).toHaveLength(0);
  });

  it('last: fires the latest missed tick only', async () => {
    const record = leftBehind({ ...missedFive(), catchUp: 'last' });
    const events = await startWith(record);
    const latest = record.anchorAt + 50_000;
    const submitted = events.filter((e) => e.taskId !== undefined);
    expect(submitted.map((e) => e.tickAt)).toEqual([latest]);
    expect(events.find((e) => e.skipped === 'missed')?.tickAt).toBe(latest - 10_000);
  });

  it('all: fires the latest catchUpLimit missed ticks, oldest first', async () => {
    const record = leftBehind({ ...missedFive(), catchUp: 'all', catchUpLimit: 3 });
    const events = await startWith(record);
    const a = record.anchorAt;
    await until(() => events.filter((e) => e.taskId !== undefined).length === 3);
    const submitted = events.filter((e) => e.taskId !== undefined);
    expect(submitted.map((e) => e.tickAt)).toEqual([a + 30_000, a + 40_000, a + 50_000]);
    expect(events.find((e) => e.skipped === 'missed')?.tickAt).toBe(a + 20_000);
    const page = await sb?.listTasks();
    expect(page?.tasks).toHaveLength(3);
  });

  it('fires again a tick claimed by a process that died before recording it, once', async () => {
    const anchorAt = Date.now() - 3 * 10_000 - 6_000;
    const claimed = anchorAt + 30_000; // 6 s ago: past the grace for recording it
    const record = leftBehind({ anchorAt, lastTickAt: claimed, settledTickAt: claimed - 10_000 });
    const backend = new MemoryBackend();
    backend.schedules.restore(record);
    sb = createSwitchboard({ backend });
    const events = fired(sb);
    await sb.start();
    // The dead process had submitted the task before it died: the same task is reported.
    const earlier = await sb.submit({
      capability: 'job',
      idempotencyKey: `schedule:left:${claimed}`,
    });
    await until(() => events.length > 0);
    expect(events[0]).toMatchObject({ tickAt: claimed, taskId: earlier.id, recovered: true });
    expect((await sb.listTasks()).tasks).toHaveLength(1);
    expect((await sb.schedules.get('left')).lastTaskId).toBe(earlier.id);
  });
  it('takes a tick claimed long ago and never recorded as missed under catchUp none', async () => {
    const anchorAt = Date.now() - 3 * 10_000 - 3_000;
    const claimed = anchorAt + 20_000; // 13 s ago, and a later tick was due since
    const record = leftBehind({ anchorAt, lastTickAt: claimed, settledTickAt: claimed - 10_000 });
    const events = await startWith(record);
    expect(events[0]).toMatchObject({ tickAt: claimed, skipped: 'missed' });
    expect(events.filter((e) => e.taskId !== undefined)).toEqual([]);
    expect((await sb?.listTasks())?.tasks).toHaveLength(0);
    expect((await sb?.schedules.get('left'))?.nextRuns[0]).toBe(anchorAt + 40_000);
  });
});

describe('managing schedules', () => {
  it('pauses, resumes, lists, replaces and removes', async () => {
    sb = createSwitchboard();
    await sb.start();
    const events = fired(sb);
    const spec = { id: 'p', cron: '* * * * * *', task: { capability: 'x' } };
    await sb.schedules.upsert(spec);
    const paused = await sb.schedules.pause('p');
    expect(paused.paused).toBe(true);
    expect(paused.nextRuns).toEqual([]);
    await new Promise((r) => setTimeout(r, 1300));
    expect(events).toHaveLength(0);
    const resumed = await sb.schedules.resume('p');
    expect(resumed.nextRuns).toHaveLength(5);
    await until(() => events.length >= 1);
    const replaced = await sb.schedules.upsert({ ...spec, task: { capability: 'y' } });
    expect(replaced.task.capability).toBe('y');
    expect(replaced.createdAt).toBe(resumed.createdAt);
    expect((await sb.schedules.list()).map((s) => s.id)).toEqual(['p']);
    await sb.schedules.remove('p');
    expect(await sb.schedules.list()).toEqual([]);
    const count = events.length;
    await new Promise((r) => setTimeout(r, 1200));
    expect(events.length).toBe(count);
    await expect(sb.schedules.get('p')).rejects.toMatchObject({ code: 'not_found' });
    await expect(sb.schedules.remove('p')).rejects.toMatchObject({ code: 'not_found' });
    await expect(sb.schedules.pause('p')).rejects.toMatchObject({ code: 'not_found' });
  });

  it('reads cron in the given time zone', async () => {
    sb = createSwitchboard();
    await sb.start();
    const view = await sb.schedules.upsert({
      id: 'tokyo-nine',
      cron: '0 9 * * *',
      timezone: 'Asia/Tokyo',
      task: { capability: 'x' },
    });
    // 09:00 in Tokyo (UTC+9, no daylight saving time) is midnight UTC.
    for (const t of view.nextRuns) expect(new Date(t).toISOString()).toMatch(/T00:00:00.000Z$/);
    expect(view.nextRuns[1]! - view.nextRuns[0]!).toBe(86_400_000);
  });

  it('refuses bad specs with invalid_request naming each field', async () => {
    sb = createSwitchboard();
    await sb.start();
    const bad = async (spec: unknown): Promise<SwitchboardError> =>
      sb!.schedules.upsert(spec as never).then(
        () => {
          throw new Error('accepted');
        },
        (e: SwitchboardError) => e,
      );
    const task = { capability: 'x' };
    const unknown = await bad({ id: 'a', cron: '* * * * *', task, catchup: 'all' });
    expect(unknown.code).toBe('invalid_request');
    expect(unknown.message).toContain('unknown key "catchup"');
    expect(unknown.message).toContain('catchUp');
    const inTask = await bad({ id: 'a', everyMs: 1000, task: { ...task, idempotencyKey: 'k' } });
    expect(inTask.details).toEqual([
      expect.objectContaining({
        path: 'task',
        message: expect.stringContaining('"idempotencyKey"'),
      }),
    ]);
    expect((await bad({ id: 'a', task })).message).toBe('cron: give exactly one of cron, everyMs');
    expect((await bad({ id: 'a', cron: '* * * * *', everyMs: 1000, task })).message).toContain(
      'exactly one',
    );
    expect((await bad({ id: 'a', cron: 'every day', task })).message).toMatch(/^cron: not a cron/);
    expect((await bad({ id: 'a', cron: '0 0 30 2 *', task })).message).toBe(
      'cron: the cron expression never fires',
    );
    const zone = await bad({ id: 'a', cron: '* * * * *', timezone: 'Mars/Olympus', task });
    expect(zone.message).toBe('timezone: unknown time zone "Mars/Olympus"');
    expect((await bad({ id: 'a', everyMs: 10, task })).message).toMatch(/^everyMs:/);
    expect((await bad({ id: 'a', everyMs: 1000, timezone: 'UTC', task })).message).toBe(
      'timezone: timezone goes with cron',
    );
    expect((await bad({ id: 'a/b', everyMs: 1000, task })).message).toMatch(/^id:/);
    expect((await bad({ id: 'a', everyMs: 1000, task: {} })).message).toBe(
      'task.capability: required',
    );
    expect((await bad({ id: 'a', everyMs: 1000, task, catchUp: 'some' })).message).toMatch(
      /^catchUp:/,
    );
    expect(await sb.schedules.list()).toEqual([]);
  });

  it('is unavailable before start', async () => {
    sb = createSwitchboard();
    await expect(sb.schedules.list()).rejects.toMatchObject({ code: 'unavailable' });
  });
});
