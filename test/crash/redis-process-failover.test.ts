// Failover of a dead server's own in-process agents on Redis, with real processes: servers
// (the CLI bundled from the sources) share one redis-server, each with in-process agents from
// its config file. When a server is killed with SIGKILL, the tasks its in-process handlers
// were running must be leased again by another server within the heartbeat timeout + 1 s,
// not when their leases expire (60 s here), the attempt counted; and a task whose handler
// kills its own server every time ends in the dead letters after maxAttempts such crashes.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execPath } from 'node:process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ServerProcess, spawnServer } from '../e2e/servers.js';
import { call, sleep } from '../helpers/http-agent.js';
import { type RedisServerHandle, startRedisServer } from '../helpers/redis-server.js';
import { bundleSourceServer } from '../helpers/source-server.js';

const HEARTBEAT_TIMEOUT_MS = 800;
const TASKS = 20;
/** Far beyond the heartbeat timeout: only a failover can bring a task back in time. */
const LEASE_MS = 60_000;

const work = mkdtempSync(join(tmpdir(), 'sb-redis-process-failover-'));
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
}, 30_000);

/** In-process agents of a config file, as the source of an ES module. */
const AGENTS = {
  // Holds its tasks until the process dies.
  holding: `{ name: 'holding', capabilities: ['job'], config: { maxConcurrency: ${TASKS} },
    handle: () => new Promise(() => {}) }`,
  // Runs them at once, saying which process did.
  quick: `{ name: 'quick', capabilities: ['job'], config: { maxConcurrency: ${TASKS} },
    handle: () => ({ by: process.pid }) }`,
  // Takes its own process down, every time.
  poison: `{ name: 'poison', capabilities: ['poison'],
    handle: () => { process.kill(process.pid, 'SIGKILL') } }`,
};

/** A server on database `db` of the Redis server with the in-process `agent`. */
async function serve(db: number, agent: keyof typeof AGENTS): Promise<ServerProcess> {
  const file = join(work, `${agent}.mjs`);
  writeFileSync(
    file,
    `export default { heartbeatTimeoutMs: ${HEARTBEAT_TIMEOUT_MS}, agents: [${AGENTS[agent]}] }\n`,
  );
  const proc = await spawnServer(
    execPath,
    [server, 'serve', '--backend', `${redis.url}/${db}`],
    file,
  );
  started.push(proc);
  return proc;
}

async function until(check: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

describe('Redis: a dead server’s in-process tasks are failed over by the live ones', () => {
  it('leases a SIGKILLed server’s tasks again within its heartbeat timeout', async () => {
    const a = await serve(1, 'holding');
    const tasks = Array.from({ length: TASKS }, (_, i) => ({
      capability: 'job',
      payload: { i },
      timeoutMs: LEASE_MS,
    }));
    const submitted = await call(a.url, 'POST', '/v1/tasks/batch', { tasks });
    expect(submitted.status).toBe(202);
    const ids: string[] = submitted.body.ids;
    const all = async (status: string) =>
      (await Promise.all(ids.map((id) => call(a.url, 'GET', `/v1/tasks/${id}`)))).every(
        (r) => r.body?.status === status,
      );
    await until(() => all('leased'), 10_000, "A's agent to run every task");
    const b = await serve(1, 'quick');
    const killedAt = Date.now();
    await a.kill('SIGKILL');
    const done = await Promise.all(
      ids.map(async (id) => {
        const r = await call(
          b.url,
          'GET',
          `/v1/tasks/${id}/result?waitMs=10000`,
          undefined,
          15_000,
        );
        return { at: Date.now(), task: r.body };
      }),
    );
    const ms = Math.max(...done.map((d) => d.at)) - killedAt;
    console.log(
      `redis process failover: ${TASKS} in-process tasks of a SIGKILLed server completed by ` +
        `another ${ms} ms after the kill (heartbeat timeout ${HEARTBEAT_TIMEOUT_MS} ms, ` +
        `leases ${LEASE_MS} ms)`,
    );
    for (const { task } of done) {
      // Run by B, once more: the attempt that died with A counted.
      expect(task).toMatchObject({ status: 'completed', attempts: 2, result: { by: b.pid } });
    }
    expect(ms).toBeLessThanOrEqual(HEARTBEAT_TIMEOUT_MS + 1_000);
    await b.stop();
  }, 60_000);

  it('dead-letters a task that kills its server at every attempt after maxAttempts crashes', async () => {
    const MAX_ATTEMPTS = 3;
    const crashes: number[] = [];
    // A supervisor: every server that dies is replaced, so that others are always alive.
    const fleet = await Promise.all([serve(2, 'poison'), serve(2, 'poison'), serve(2, 'poison')]);
    const supervise = (proc: ServerProcess) =>
      proc.onCrash(() => {
        crashes.push(Date.now());
        serve(2, 'poison').then(
          (next) => {
            fleet.push(next);
            supervise(next);
          },
          () => undefined,
        );
      });
    for (const proc of fleet) supervise(proc);
    const submittedAt = Date.now();
    const submitted = await call(fleet[0].url, 'POST', '/v1/tasks', {
      capability: 'poison',
      maxAttempts: MAX_ATTEMPTS,
      timeoutMs: LEASE_MS,
    });
    expect(submitted.status).toBe(202);
    const id: string = submitted.body.id;
    const alive = () => fleet.filter((p) => p.alive());
    let task: { status?: string } | undefined;
    await until(
      async () => {
        const [live] = alive();
        if (live === undefined) return false;
        task = (await call(live.url, 'GET', `/v1/tasks/${id}`)).body;
        return task?.status === 'dead';
      },
      MAX_ATTEMPTS * (HEARTBEAT_TIMEOUT_MS + 1_000) + 10_000,
      'the poison task to be dead-lettered',
    );
    const ms = Date.now() - submittedAt;
    console.log(
      `redis poison task: dead-lettered ${ms} ms after its submit, after ${crashes.length} ` +
        `server crashes (maxAttempts ${MAX_ATTEMPTS}, heartbeat timeout ${HEARTBEAT_TIMEOUT_MS} ms)`,
    );
    expect(task).toMatchObject({ status: 'dead', attempts: MAX_ATTEMPTS });
    // Nothing runs it any more: no server dies after it was dead-lettered.
    await sleep(2 * HEARTBEAT_TIMEOUT_MS);
    expect(crashes).toHaveLength(MAX_ATTEMPTS);
    const [live] = alive();
    const dead = await call(live?.url ?? '', 'GET', '/v1/dead-letters');
    expect(dead.body.tasks.map((t: { id: string }) => t.id)).toContain(id);
    // Each crash was noticed within a heartbeat timeout, not at the lease's expiry.
    expect(ms).toBeLessThanOrEqual(MAX_ATTEMPTS * (HEARTBEAT_TIMEOUT_MS + 1_000));
  }, 90_000);
});
