// Schedules fire each tick exactly once on Redis, with real processes: three servers (the CLI
// bundled from the sources) share one redis-server and run one every-second schedule. One of
// them is killed with SIGKILL just after a tick's instant, while the servers claim it. Every
// tick of the window must have submitted exactly one task (counted by the idempotency key each
// tick's task carries, in the shared task list), and each tick must have been announced by one
// claimer only (a second announcement only as a recovery, naming the same task).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execPath } from 'node:process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '../../packages/client/src/client.js';
import { isEvent, type StreamEvent } from '../../packages/client/src/events.js';
import { type ServerProcess, spawnServer } from '../e2e/servers.js';
import { type RedisServerHandle, startRedisServer } from '../helpers/redis-server.js';
import { bundleSourceServer } from '../helpers/source-server.js';

// Each server reads the schedules written through the others this often (REFRESH_MS).
const REFRESH_MS = 5000;

const work = mkdtempSync(join(tmpdir(), 'sb-redis-schedules-'));
let redis: RedisServerHandle;
let bin: string;
const servers: ServerProcess[] = [];

beforeAll(async () => {
  [redis, bin] = await Promise.all([startRedisServer(), bundleSourceServer()]);
  const config = join(work, 'config.json');
  writeFileSync(config, JSON.stringify({}));
  servers.push(
    ...(await Promise.all(
      [0, 1, 2].map(() => spawnServer(execPath, [bin, 'serve', '--backend', redis.url], config)),
    )),
  );
}, 60_000);

afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  await redis?.dispose();
  rmSync(work, { recursive: true, force: true });
}, 20_000);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('schedules on Redis: three servers, one killed', () => {
  it('fires every tick of the window exactly once', { timeout: 40_000 }, async () => {
    const [doomed, watcher, other] = servers as [ServerProcess, ServerProcess, ServerProcess];
    const abort = new AbortController();
    const fired: StreamEvent[] = [];
    const events = createClient({ baseUrl: watcher.url }).events({
      topics: ['schedule.fired'],
      signal: abort.signal,
    });
    const following = (async () => {
      for await (const event of events) fired.push(event);
    })();
    await sleep(300);

    const client = createClient({ baseUrl: doomed.url });
    const created = await client.putSchedule('beat', {
      cron: '* * * * * *',
      overlap: 'allow',
      task: { capability: 'beat', payload: { n: 1 } },
    });
    const firstTick = Math.floor(created.createdAt / 1000) * 1000 + 1000;

    // Once every server has read the schedule, kill the one it was written through a few ms
    // after a tick's instant: the moment the servers claim that tick and submit its task.
    await sleep(created.createdAt + REFRESH_MS + 100 - Date.now());
    await sleep(1000 - (Date.now() % 1000) + 3);
    const killedAt = Date.now();
    await doomed.kill('SIGKILL');
    await sleep(4000);
    // Ticks up to here are settled by now (a recovery included: it comes with the next tick).
    const lastTick = Math.floor(Date.now() / 1000) * 1000 - 2000;
    abort.abort();
    await following.catch(() => undefined);

    const survivor = createClient({ baseUrl: other.url });
    const { tasks } = await survivor.listTasks({ capability: 'beat', limit: 1000 });
    const perTick = new Map<number, number>();
    for (const task of tasks) {
      const tick = Number(task.idempotencyKey?.split(':')[2]);
      perTick.set(tick, (perTick.get(tick) ?? 0) + 1);
    }
    const expected: number[] = [];
    for (let t = firstTick; t <= lastTick; t += 1000) expected.push(t);
    expect(expected.length).toBeGreaterThanOrEqual(7);
    expect(expected.some((t) => t > killedAt)).toBe(true);
    const counts = expected.map((t) => [t, perTick.get(t) ?? 0]);
    expect(counts.filter(([, n]) => n !== 1)).toEqual([]);

    // Announcements: every tick of the window, by one claimer (recoveries aside), one task.
    const byTick = new Map<number, { taskIds: Set<string>; claimed: number }>();
    for (const event of fired) {
      if (!isEvent(event, 'schedule.fired') || event.taskId === undefined) continue;
      const entry = byTick.get(event.tickAt) ?? { taskIds: new Set(), claimed: 0 };
      entry.taskIds.add(event.taskId);
      if (event.recovered !== true) entry.claimed++;
      byTick.set(event.tickAt, entry);
    }
    // The tick being fired at the kill may have no announcement: a server killed after it
    // recorded the tick and before its event left the process. Its task is counted above.
    const inFlight = Math.floor(killedAt / 1000) * 1000;
    for (const t of expected) {
      const entry = byTick.get(t);
      if (entry === undefined && t === inFlight) continue;
      expect(
        entry,
        `tick ${t - firstTick} announced (killed at ${killedAt - firstTick})`,
      ).toBeDefined();
      expect(entry?.taskIds.size).toBe(1);
      expect(entry?.claimed).toBeLessThanOrEqual(1);
    }
    expect(await survivor.getSchedule('beat')).toMatchObject({ id: 'beat', paused: false });
  });
});
