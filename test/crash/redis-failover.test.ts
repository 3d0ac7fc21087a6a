// Failover across processes on Redis within the heartbeat timeout, with real processes: two
// servers (the CLI bundled from the sources) share one redis-server. A remote agent
// registered through server A holds 20 leases and falls silent; another agent polls through
// server B. Whether A is killed with SIGKILL or stays up, the silent agent's tasks must be
// leased again to the other agent within the heartbeat timeout + 1 s, however long the
// leases themselves still had to run.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execPath } from 'node:process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ServerProcess, spawnServer } from '../e2e/servers.js';
import { call } from '../helpers/http-agent.js';
import { type RedisServerHandle, startRedisServer } from '../helpers/redis-server.js';
import { bundleSourceServer } from '../helpers/source-server.js';

const HEARTBEAT_TIMEOUT_MS = 800;
const TASKS = 20;

const work = mkdtempSync(join(tmpdir(), 'sb-redis-failover-'));
let redis: RedisServerHandle;
let server: string;
const started: ServerProcess[] = [];

beforeAll(async () => {
  [redis, server] = await Promise.all([startRedisServer(), bundleSourceServer()]);
}, 60_000);
afterAll(async () => {
  await Promise.all(started.map((p) => p.stop()));
  await redis?.dispose();
  rmSync(work, { recursive: true, force: true });
}, 20_000);

/** A server on database `db` of the Redis server (each test has its own). */
async function serve(db: number): Promise<ServerProcess> {
  const file = join(work, 'config.json');
  writeFileSync(file, JSON.stringify({ heartbeatTimeoutMs: HEARTBEAT_TIMEOUT_MS }));
  const proc = await spawnServer(
    execPath,
    [server, 'serve', '--backend', `${redis.url}/${db}`],
    file,
  );
  started.push(proc);
  return proc;
}

async function register(url: string, name: string): Promise<string> {
  const a = await call(url, 'POST', '/v1/agents', {
    name,
    capabilities: ['job'],
    maxConcurrency: TASKS,
  });
  expect(a.status).toBe(201);
  return a.body.id;
}

/**
 * Agent X registers through A and takes every task; then it falls silent (and A is killed
 * when `killA`). Returns how long after X's last sign of life agent Y, polling through B, had
 * leased all of X's tasks.
 */
async function failover(db: number, killA: boolean): Promise<number> {
  const [a, b] = await Promise.all([serve(db), serve(db)]);
  const x = await register(a.url, 'x');
  const tasks = Array.from({ length: TASKS }, (_, i) => ({
    capability: 'job',
    payload: { i },
    // Far beyond the heartbeat timeout: only the agent's failover can bring them back in time.
    timeoutMs: 60_000,
  }));
  expect((await call(a.url, 'POST', '/v1/tasks/batch', { tasks })).status).toBe(202);
  const held = new Set<string>();
  while (held.size < TASKS) {
    const poll = await call(a.url, 'POST', `/v1/agents/${x}/lease`, { max: TASKS, waitMs: 1_000 });
    for (const lease of poll.body.tasks) held.add(lease.id);
  }
  const y = await register(b.url, 'y');
  // X's last sign of life, then silence.
  expect((await call(a.url, 'POST', `/v1/agents/${x}/heartbeat`, {})).status).toBe(200);
  const lastBeat = Date.now();
  if (killA) await a.kill('SIGKILL');
  const taken = new Set<string>();
  let at = 0;
  while (taken.size < TASKS && Date.now() - lastBeat < 10_000) {
    const poll = await call(b.url, 'POST', `/v1/agents/${y}/lease`, { max: TASKS, waitMs: 500 });
    for (const lease of poll.body?.tasks ?? []) {
      expect(held.has(lease.id)).toBe(true);
      taken.add(lease.id);
      at = Date.now();
    }
  }
  expect(taken.size).toBe(TASKS);
  // Failed over exactly once, and none of the tasks lost an attempt to anything but it.
  for (const id of taken) {
    const task = (await call(b.url, 'GET', `/v1/tasks/${id}`)).body;
    expect(task).toMatchObject({ status: 'leased', attempts: 2 });
  }
  await Promise.all([a.stop(), b.stop()]);
  return at - lastBeat;
}

describe('Redis: a silent agent is failed over by any live process within its heartbeat timeout', () => {
  it('when the server it registered through is killed with SIGKILL', async () => {
    const ms = await failover(1, true);
    console.log(
      `redis failover (server A SIGKILLed): ${TASKS} tasks leased again through B ${ms} ms ` +
        `after the agent's last heartbeat (timeout ${HEARTBEAT_TIMEOUT_MS} ms)`,
    );
    expect(ms).toBeLessThanOrEqual(HEARTBEAT_TIMEOUT_MS + 1_000);
  }, 60_000);

  it('when the agent alone goes silent and its server stays up', async () => {
    const ms = await failover(2, false);
    console.log(
      `redis failover (agent silent, A up): ${TASKS} tasks leased again through B ${ms} ms ` +
        `after the agent's last heartbeat (timeout ${HEARTBEAT_TIMEOUT_MS} ms)`,
    );
    expect(ms).toBeLessThanOrEqual(HEARTBEAT_TIMEOUT_MS + 1_000);
  }, 60_000);
});
