import { createSwitchboard, type Switchboard, type SwitchboardError } from '@switchboard/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// The server from its sources by path, as client.test.ts explains.
import { createApp } from '../../server/src/app.js';
import { nodeRuntime } from '../../server/src/node.js';
import type { Listening } from '../../server/src/runtime.js';
import { createClient } from '../src/client.js';
import { isEvent } from '../src/events.js';

// /v1/schedules through the typed client, against a real server with auth on and real timers.
describe('schedules over HTTP', () => {
  let sb: Switchboard;
  let server: Listening;
  let baseUrl: string;

  beforeAll(async () => {
    sb = createSwitchboard();
    await sb.start();
    const app = createApp(sb, { tokens: { admin: 'adm', client: 'cli', agent: 'agt' } });
    server = await nodeRuntime.serve(app.fetch, { port: 0, host: '127.0.0.1' });
    baseUrl = `http://127.0.0.1:${server.port}`;
  });
  afterAll(async () => {
    await sb.shutdown({ drain: false });
    await server.close();
  });

  const failure = (p: Promise<unknown>) =>
    p.then(
      () => {
        throw new Error('succeeded');
      },
      (e: SwitchboardError) =>
        e as SwitchboardError & { details: { status: number; details: unknown } },
    );

  it('creates, reads, lists, pauses, resumes, replaces and deletes a schedule', async () => {
    const client = createClient({ baseUrl, token: 'cli' });
    const created = await client.putSchedule('report', {
      cron: '0 30 9 * * 1-5',
      timezone: 'America/New_York',
      task: { capability: 'report', payload: { kind: 'daily' }, maxAttempts: 2 },
      catchUp: 'last',
    });
    expect(created).toMatchObject({
      id: 'report',
      cron: '0 30 9 * * 1-5',
      timezone: 'America/New_York',
      task: {
        capability: 'report',
        payload: { kind: 'daily' },
        maxAttempts: 2,
        priority: 'normal',
      },
      overlap: 'skip',
      catchUp: 'last',
      catchUpLimit: 10,
      paused: false,
    });
    // The scheduler's bookkeeping stays inside.
    expect(Object.keys(created)).not.toContain('lastTickAt');
    expect(created.nextRuns).toHaveLength(5);
    for (const at of created.nextRuns) {
      const day = new Date(at).getUTCDay();
      expect(day).toBeGreaterThanOrEqual(1);
      expect(day).toBeLessThanOrEqual(5);
      // 09:30 in New York is 13:30 or 14:30 UTC, with daylight saving time or without.
      expect(['13:30', '14:30']).toContain(new Date(at).toISOString().slice(11, 16));
    }
    expect(await client.getSchedule('report')).toEqual(created);
    expect((await client.listSchedules()).schedules.map((s) => s.id)).toContain('report');
    const paused = await client.pauseSchedule('report');
    expect(paused).toMatchObject({ paused: true, nextRuns: [] });
    expect((await client.resumeSchedule('report')).nextRuns).toHaveLength(5);
    const replaced = await client.putSchedule('report', {
      everyMs: 3_600_000,
      task: { capability: 'report' },
    });
    expect(replaced.everyMs).toBe(3_600_000);
    expect(replaced.cron).toBeUndefined();
    expect(replaced.createdAt).toBe(created.createdAt);
    expect(await client.deleteSchedule('report')).toEqual({ id: 'report', deleted: true });
    const gone = await failure(client.getSchedule('report'));
    expect(gone.code).toBe('not_found');
    expect(gone.details.status).toBe(404);
    for (const call of [
      client.pauseSchedule('report'),
      client.resumeSchedule('report'),
      client.deleteSchedule('report'),
    ]) {
      expect((await failure(call)).details.status).toBe(404);
    }
  });

  it('answers 400 invalid_request with details for a bad schedule, 403 outside the scopes', async () => {
    const client = createClient({ baseUrl, token: 'cli' });
    const unknown = await failure(
      client.putSchedule('x', { everyMs: 1000, task: { capability: 'c' }, every: 5 } as never),
    );
    expect(unknown.code).toBe('invalid_request');
    expect(unknown.details.status).toBe(400);
    expect(unknown.message).toContain('unknown key "every"; known: cron, timezone, everyMs');
    const two = await failure(
      client.putSchedule('x', { cron: 'nope', timezone: 'Nowhere/Land', task: {} } as never),
    );
    expect(two.details.details).toEqual(
      expect.arrayContaining([
        { path: 'task.capability', message: 'required' },
        expect.objectContaining({ path: 'cron' }),
      ]),
    );
    const badId = await failure(
      client.putSchedule('a b', { everyMs: 1000, task: { capability: 'c' } }),
    );
    expect(badId.details).toMatchObject({ status: 400, details: [{ path: 'id' }] });
    const agent = createClient({ baseUrl, token: 'agt' });
    expect((await failure(agent.listSchedules())).details.status).toBe(403);
    const admin = createClient({ baseUrl, token: 'adm' });
    expect((await admin.listSchedules()).schedules).toEqual([]);
  });

  it('publishes schedule.fired on the event stream for each tick, with the task it submitted', async () => {
    const client = createClient({ baseUrl, token: 'cli' });
    const abort = new AbortController();
    const events = client.events({ topics: ['schedule.*'], signal: abort.signal });
    const first = events.next();
    // The stream is subscribed once its first answer arrived; give it a moment.
    await new Promise((r) => setTimeout(r, 200));
    await client.putSchedule('beat', {
      cron: '* * * * * *',
      overlap: 'allow',
      task: { capability: 'beat', payload: 1 },
    });
    try {
      const { value } = await first;
      if (value === undefined || !isEvent(value, 'schedule.fired')) throw new Error('no event');
      expect(value.scheduleId).toBe('beat');
      expect(value.tickAt % 1000).toBe(0);
      const data = { taskId: value.taskId as string, tickAt: value.tickAt };
      const task = await client.getTask(data.taskId);
      expect(task).toMatchObject({
        capability: 'beat',
        idempotencyKey: `schedule:beat:${data.tickAt}`,
      });
      expect((await client.getSchedule('beat')).lastTaskId).toBeDefined();
    } finally {
      abort.abort();
      await client.deleteSchedule('beat');
    }
  });
});
