import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { isSwitchboardError, type TaskRecord } from '@switchboard/core';
import { createRedisBackend, type RedisBackend } from '@switchboard/plugins/redis';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisServerHandle, startRedisServer } from '../helpers/redis-server.js';
import { exportSource } from '../helpers/workspace-sources.js';

// Real processes: three workers (redis-crash-worker.ts, bundled from the sources) share one
// redis-server that fsyncs every write. Workers are SIGKILLed at random moments and started
// again, and Redis itself is killed and restarted mid-load; in the end every task a client
// got an acknowledgement for is completed, exactly once, by idempotency key.

const here = fileURLToPath(new URL('.', import.meta.url));
const src = (p: string) => join(here, '../../packages', p);
const TASKS = 2000;
const BATCH = 100;
const WORKERS = 3;
const KILL_ROUNDS = 20;

let redis: RedisServerHandle;
let dir: string;
let bundle: string;
let client: RedisBackend;
const workers = new Map<string, ChildProcess>();
/** Acknowledged completes, by task id: more than one would be a duplicate completion. */
const done = new Map<string, number>();
let started = 0;

beforeAll(async () => {
  redis = await startRedisServer({ appendonly: true, appendfsync: 'always' });
  dir = mkdtempSync(join(tmpdir(), 'sb-crash-'));
  bundle = join(dir, 'worker.cjs');
  // CommonJS, dependencies bundled: ioredis requires Node built-ins an ESM bundle cannot.
  await build({
    entryPoints: [join(here, 'redis-crash-worker.ts')],
    outfile: bundle,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    logLevel: 'error',
    alias: {
      '@switchboard/core': src('core/src/index.ts'),
      '@switchboard/plugins/redis': exportSource('@switchboard/plugins/redis'),
    },
  });
  client = createRedisBackend({ port: redis.port, prefix: 'crash', maxReconnectDelayMs: 50 });
  await client.open();
}, 30_000);

afterAll(async () => {
  for (const w of workers.values()) w.kill('SIGKILL');
  await client?.close();
  await redis?.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Starts a worker; resolves once it has connected. */
function spawnWorker(): Promise<string> {
  const name = `w${++started}`;
  const child = spawn(process.execPath, [bundle, String(redis.port), 'crash', name], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  workers.set(name, child);
  return new Promise((resolve, reject) => {
    child.once('exit', (code, signal) => {
      workers.delete(name);
      if (signal !== 'SIGKILL') reject(new Error(`worker ${name} exited (${code}, ${signal})`));
    });
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line === 'ready') resolve(name);
      else if (line.startsWith('done ')) {
        const id = line.slice(5);
        done.set(id, (done.get(id) ?? 0) + 1);
      }
    });
  });
}

function task(i: number): TaskRecord {
  return {
    id: `job-${i}`,
    capability: 'crash',
    payload: { i },
    priority: (['critical', 'high', 'normal', 'low'] as const)[i % 4],
    status: 'queued',
    attempts: 0,
    maxAttempts: 1000,
    timeoutMs: 300,
    availableAt: 0,
    createdAt: 0,
    updatedAt: 0,
    idempotencyKey: `key-${i}`,
  };
}

/** Enqueues like a client that retries until acknowledged (safe: idempotency keys). */
async function submit(records: TaskRecord[]): Promise<void> {
  for (;;) {
    try {
      await client.enqueue(records);
      return;
    } catch (err) {
      if (!isSwitchboardError(err, 'unavailable')) throw err;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('Redis backend crash test: real worker processes', () => {
  it('completes every acknowledged task exactly once through kills and a Redis restart', async () => {
    await Promise.all(Array.from({ length: WORKERS }, spawnWorker));
    const producer = (async () => {
      for (let i = 0; i < TASKS; i += BATCH) {
        await submit(Array.from({ length: BATCH }, (_, k) => task(i + k)));
        // A client resubmits part of what it already sent: nothing new may come of it.
        if (i > 0) await submit([task(i - 1), task(i - BATCH)]);
        await sleep(60);
      }
    })();
    for (let round = 0; round < KILL_ROUNDS; round++) {
      await sleep(100 + Math.random() * 300);
      if (round === KILL_ROUNDS / 2) {
        await redis.restart({ kill: true });
        continue;
      }
      const names = [...workers.keys()];
      const victim = names[Math.floor(Math.random() * names.length)]!;
      workers.get(victim)?.kill('SIGKILL');
      await spawnWorker();
    }
    await producer;

    // Expired leases of the killed workers are swept by the others and leased again.
    const deadline = Date.now() + 30_000;
    for (;;) {
      const stats = await client.stats().catch(() => undefined);
      if (stats && stats.depth === 0 && stats.leased === 0) break;
      if (Date.now() > deadline) throw new Error(`not drained: ${JSON.stringify(stats)}`);
      await sleep(50);
    }

    const again = await client.enqueue(Array.from({ length: TASKS }, (_, i) => task(i)));
    expect(again.filter((r) => r.created)).toEqual([]);
    const statuses = new Map<string, number>();
    for (const { task: t } of again) statuses.set(t.status, (statuses.get(t.status) ?? 0) + 1);
    expect(Object.fromEntries(statuses)).toEqual({ completed: TASKS });
    for (const { task: t } of again) {
      expect(t.result).toEqual({ by: expect.any(String), key: t.idempotencyKey });
    }
    // No task was acknowledged as completed twice; a worker killed right after a complete
    // may not have printed it, so some acknowledgements may be missing from the count.
    expect([...done.values()].filter((n) => n > 1)).toEqual([]);
    expect(done.size).toBeGreaterThan(TASKS * 0.9);
    // Killed workers held leases: those tasks were reclaimed and leased again.
    expect(again.filter((r) => r.task.attempts > 1).length).toBeGreaterThan(0);
    expect(started).toBe(WORKERS + KILL_ROUNDS - 1);
  }, 60_000);
});
