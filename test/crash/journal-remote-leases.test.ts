// A remote agent's leases outlive a crash of its journal-backed server, with real processes:
// a server (the CLI bundled from the sources) is killed with SIGKILL while a remote worker
// over HTTP holds leases, and restarted on the same journal directory. The worker, which
// outlived it, keeps its agent id and completes with its old lease tokens. Only leases of
// in-process handlers die with the process: a handler that takes its server down on every
// attempt ends in the dead letters after `maxAttempts` crashes.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execPath } from 'node:process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ServerProcess, spawnServer } from '../e2e/servers.js';
import { call, sleep } from '../helpers/http-agent.js';
import { bundleSourceServer } from '../helpers/source-server.js';

const work = mkdtempSync(join(tmpdir(), 'sb-journal-remote-'));
let server: string;
const started: ServerProcess[] = [];

beforeAll(async () => {
  server = await bundleSourceServer();
}, 60_000);
afterAll(async () => {
  await Promise.all(started.map((p) => p.stop()));
  rmSync(work, { recursive: true, force: true });
});

/** A server on the journal of `dir`, with the config file `config`. */
async function serve(dir: string, config: string): Promise<ServerProcess> {
  const proc = await spawnServer(
    execPath,
    [server, 'serve', '--backend', `journal:${dir}`],
    config,
  );
  started.push(proc);
  return proc;
}

function config(name: string, text: string): string {
  const file = join(work, name);
  writeFileSync(file, text);
  return file;
}

const MAX_ATTEMPTS = 2;
const TASKS = 20;

describe('journal server under kill -9, remote leases', () => {
  it('keeps a remote worker’s leases across maxAttempts + 1 SIGKILLs: its old tokens complete', async () => {
    const dir = mkdtempSync(join(work, 'j-'));
    const file = config('remote.json', JSON.stringify({ heartbeatTimeoutMs: 5_000 }));
    let proc = await serve(dir, file);
    const agent = await call(proc.url, 'POST', '/v1/agents', {
      name: 'worker-1',
      capabilities: ['job'],
      maxConcurrency: TASKS,
    });
    expect(agent.status).toBe(201);
    // The worker keeps the id it was given through every restart below.
    const me = `/v1/agents/${agent.body.id}`;
    const tasks = Array.from({ length: TASKS }, (_, i) => ({
      capability: 'job',
      payload: { i },
      maxAttempts: MAX_ATTEMPTS,
      timeoutMs: 120_000,
    }));
    const submitted = await call(proc.url, 'POST', '/v1/tasks/batch', { tasks });
    expect(submitted.status).toBe(202);
    // The worker takes every task and holds them: it "works" through the crashes below.
    const held = new Map<string, string>();
    while (held.size < TASKS) {
      const poll = await call(proc.url, 'POST', `${me}/lease`, {
        max: TASKS,
        waitMs: 1_000,
      });
      expect(poll.status).toBe(200);
      for (const lease of poll.body.tasks) held.set(lease.id, lease.leaseToken);
    }

    for (let crash = 1; crash <= MAX_ATTEMPTS + 1; crash++) {
      await proc.kill('SIGKILL');
      proc = await serve(dir, file);
      // The registration is in the journal: the worker heartbeats on, with no new register.
      const beat = await call(proc.url, 'POST', `${me}/heartbeat`, {});
      expect(beat.status).toBe(200);
      for (const id of held.keys()) {
        const task = (await call(proc.url, 'GET', `/v1/tasks/${id}`)).body;
        // Still the worker's: not queued again (it would run twice), not dead.
        expect({ id, status: task.status, attempts: task.attempts }).toEqual({
          id,
          status: 'leased',
          attempts: 1,
        });
      }
      // Nothing to lease: no task was handed out again.
      const poll = await call(proc.url, 'POST', `${me}/lease`, { max: TASKS });
      expect(poll.body.tasks).toEqual([]);
    }

    for (const [id, leaseToken] of held) {
      const done = await call(proc.url, 'POST', `/v1/tasks/${id}/complete`, {
        leaseToken,
        result: { id },
      });
      expect({ id, status: done.status }).toEqual({ id, status: 200 });
      expect(done.body).toMatchObject({ status: 'completed', attempts: 1, result: { id } });
    }
    expect((await call(proc.url, 'GET', '/v1/dead-letters')).body.tasks).toEqual([]);
    console.log(
      `journal remote leases: ${TASKS} leases held across ${MAX_ATTEMPTS + 1} SIGKILLs, ` +
        'all completed with their first tokens, none run twice, none dead',
    );
  }, 60_000);

  it('fails a remote worker that does not come back within its heartbeat timeout from the restart', async () => {
    const dir = mkdtempSync(join(work, 'j-'));
    const file = config('silent.json', JSON.stringify({ heartbeatTimeoutMs: 900 }));
    let proc = await serve(dir, file);
    const me = `/v1/agents/${
      (await call(proc.url, 'POST', '/v1/agents', { name: 'gone-1', capabilities: ['job'] })).body
        .id
    }`;
    const id = (
      await call(proc.url, 'POST', '/v1/tasks', { capability: 'job', timeoutMs: 120_000 })
    ).body.id;
    const [lease] = (await call(proc.url, 'POST', `${me}/lease`, { waitMs: 1_000 })).body.tasks;
    expect(lease.id).toBe(id);
    await proc.kill('SIGKILL');
    proc = await serve(dir, file);
    const restartedAt = Date.now();
    // The worker never comes back: its lease goes back to the queue at its heartbeat timeout
    // counted from the restart (not at the lease's two-minute expiry).
    let task = (await call(proc.url, 'GET', `/v1/tasks/${id}`)).body;
    while (task.status === 'leased' && Date.now() - restartedAt < 5_000) {
      await sleep(25);
      task = (await call(proc.url, 'GET', `/v1/tasks/${id}`)).body;
    }
    const after = Date.now() - restartedAt;
    expect(task).toMatchObject({ status: 'queued', attempts: 1 });
    expect(after).toBeLessThan(900 + 1_000);
    const late = await call(proc.url, 'POST', `/v1/tasks/${id}/complete`, {
      leaseToken: lease.leaseToken,
    });
    expect(late.status).toBe(409);
    expect((await call(proc.url, 'POST', `${me}/heartbeat`, {})).status).toBe(404);
  }, 60_000);

  it('dead-letters an in-process task whose handler takes the server down on every attempt', async () => {
    const dir = mkdtempSync(join(work, 'j-'));
    const file = config(
      'poison.mjs',
      `export default {
        agents: [{
          name: 'poison',
          capabilities: ['poison'],
          // The process dies the way a native crash or an OOM kill takes it: at once.
          handle: () => process.kill(process.pid, 'SIGKILL'),
        }],
      };`,
    );
    let proc = await serve(dir, file);
    const id = (await call(proc.url, 'POST', '/v1/tasks', { capability: 'poison', maxAttempts: 3 }))
      .body?.id;
    let crashes = 0;
    for (;;) {
      const exited = await Promise.race([
        new Promise<boolean>((resolve) => {
          const wait = async () => {
            while (proc.alive()) await sleep(20);
            resolve(true);
          };
          void wait();
        }),
        sleep(1_500).then(() => false),
      ]);
      if (!exited) break;
      crashes++;
      expect(crashes).toBeLessThanOrEqual(3);
      proc = await serve(dir, file);
    }
    expect(crashes).toBe(3);
    const task = (await call(proc.url, 'GET', `/v1/tasks/${id}`)).body;
    expect(task).toMatchObject({ status: 'dead', attempts: 3 });
    const dead = (await call(proc.url, 'GET', '/v1/dead-letters')).body.tasks;
    expect(dead.map((t: { id: string }) => t.id)).toEqual([id]);
  }, 60_000);
});
