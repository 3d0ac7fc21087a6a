// End-to-end throughput on Redis: the Switchboard Redis backend beside BullMQ, on the same
// redis-server (started here, no persistence), in one run. One task = enqueue (batches of
// 500: backend.enqueue / Queue.addBulk) → lease → complete with a small result. Each side runs
// 1, 2 and 3 worker processes (this file, forked with --worker); timing starts once every
// worker is connected and stops when every task is completed. Completed records are kept by
// both (Switchboard's retention, BullMQ's default), so both write the same state.
// Run `node scripts/build.mjs` first: the packages resolve to their dist bundles.
// Usage: node bench/redis.bench.mjs   (BENCH_TASKS=20000 per run, BENCH_SAMPLES=3 runs a case)
import { fork, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createRedisBackend } from '@switchboard/plugins/redis';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';

const TASKS = Number(process.env.BENCH_TASKS ?? 20_000);
// Each case runs SAMPLES times, interleaved with the other side; the median is reported (the
// machine may be shared, and one run of a few seconds is easily disturbed).
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 3);
const BATCH = 500;
// BullMQ: jobs in flight per worker process (its lease loop is per job).
const BULL_CONCURRENCY = Number(process.env.BENCH_BULL_CONCURRENCY ?? 100);
// Switchboard: each worker process runs LOOPS lease loops of up to LEASE_MAX tasks at once,
// as many tasks in flight per process as BullMQ's concurrency.
const LOOPS = 2;
const LEASE_MAX = Math.max(1, Math.floor(BULL_CONCURRENCY / LOOPS));
const PROCESSES = [1, 2, 3];
const NAME = 'bench';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** A redis-server of this run, without persistence; resolves once it answers PING. */
async function startRedis() {
  const port = await freePort();
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
  const child = spawn(process.env.REDIS_SERVER ?? 'redis-server', args, { stdio: 'ignore' });
  const ping = new Redis(port, '127.0.0.1', { lazyConnect: true, retryStrategy: () => 20 });
  ping.on('error', () => undefined);
  await ping.connect().catch(() => undefined);
  for (let i = 0; i < 250 && ping.status !== 'ready'; i++) await sleep(20);
  await ping.ping();
  return {
    port,
    flush: () => ping.flushall(),
    async stop() {
      ping.disconnect();
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    },
  };
}

// ---- worker processes ------------------------------------------------------------------

async function switchboardWorker(port) {
  const backend = createRedisBackend({ port, prefix: NAME });
  await backend.open();
  let done = 0;
  let stopping = false;
  const waiting = new Set();
  backend.onAvailable(() => {
    for (const resolve of waiting) resolve();
    waiting.clear();
  });
  const loop = async () => {
    while (!stopping) {
      const now = Date.now();
      const tasks = await backend.lease({ capability: NAME, agentId: 'w', max: LEASE_MAX, now });
      if (tasks.length === 0) {
        await new Promise((resolve) => {
          waiting.add(resolve);
          setTimeout(resolve, 20);
        });
        continue;
      }
      await Promise.all(tasks.map((t) => backend.complete(t.id, t.leaseToken, { ok: true }, now)));
      done += tasks.length;
    }
  };
  return {
    loops: Array.from({ length: LOOPS }, loop),
    done: () => done,
    async stop() {
      stopping = true;
      for (const resolve of waiting) resolve();
      await Promise.all(this.loops);
      await backend.close();
    },
  };
}

async function bullWorker(port) {
  const connection = { host: '127.0.0.1', port, maxRetriesPerRequest: null };
  let done = 0;
  const worker = new Worker(NAME, async () => ({ ok: true }), {
    connection,
    concurrency: BULL_CONCURRENCY,
  });
  worker.on('completed', () => done++);
  await worker.waitUntilReady();
  return { done: () => done, stop: () => worker.close() };
}

async function workerMain(kind, port) {
  const w = kind === 'switchboard' ? await switchboardWorker(port) : await bullWorker(port);
  const report = setInterval(() => process.send({ done: w.done() }), 10);
  process.on('message', async (m) => {
    if (m !== 'stop') return;
    clearInterval(report);
    await w.stop();
    process.exit(0);
  });
  process.send('ready');
}

// ---- producers and the measurement -----------------------------------------------------

async function produceSwitchboard(port) {
  const backend = createRedisBackend({ port, prefix: NAME });
  await backend.open();
  const now = Date.now();
  for (let i = 0; i < TASKS; i += BATCH) {
    const records = [];
    for (let k = i; k < Math.min(TASKS, i + BATCH); k++) {
      records.push({
        id: `t-${k}`,
        capability: NAME,
        payload: { i: k },
        priority: 'normal',
        status: 'queued',
        attempts: 0,
        maxAttempts: 3,
        timeoutMs: 30_000,
        availableAt: now,
        createdAt: now,
        updatedAt: now,
      });
    }
    await backend.enqueue(records);
  }
  await backend.close();
}

async function produceBull(port) {
  const queue = new Queue(NAME, { connection: { host: '127.0.0.1', port } });
  for (let i = 0; i < TASKS; i += BATCH) {
    const jobs = [];
    for (let k = i; k < Math.min(TASKS, i + BATCH); k++) jobs.push({ name: 't', data: { i: k } });
    await queue.addBulk(jobs);
  }
  await queue.close();
}

function spawnWorker(kind, port) {
  const child = fork(fileURLToPath(import.meta.url), ['--worker', kind, String(port)]);
  const state = { child, done: 0 };
  child.on('message', (m) => {
    if (m !== 'ready') state.done = m.done;
  });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => code !== 0 && reject(new Error(`${kind} worker exited ${code}`)));
    child.on('message', (m) => m === 'ready' && resolve(state));
  });
}

/** Tasks per second end to end for one side with `procs` worker processes. */
async function measure(redis, kind, procs) {
  await redis.flush();
  const workers = await Promise.all(
    Array.from({ length: procs }, () => spawnWorker(kind, redis.port)),
  );
  const start = performance.now();
  await (kind === 'switchboard' ? produceSwitchboard(redis.port) : produceBull(redis.port));
  const total = () => workers.reduce((sum, w) => sum + w.done, 0);
  while (total() < TASKS) await sleep(2);
  const ms = performance.now() - start;
  await Promise.all(
    workers.map(
      (w) =>
        new Promise((resolve) => {
          w.child.once('exit', resolve);
          w.child.send('stop');
        }),
    ),
  );
  return Math.round((TASKS * 1000) / ms);
}

/** Runs every case on a redis-server of its own; returns one row per process count. */
export async function run() {
  const redis = await startRedis();
  try {
    const rows = [];
    const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    for (const procs of PROCESSES) {
      const sb = [];
      const bull = [];
      for (let s = 0; s < SAMPLES; s++) {
        sb.push(await measure(redis, 'switchboard', procs));
        bull.push(await measure(redis, 'bullmq', procs));
      }
      const switchboard = median(sb);
      const bullmq = median(bull);
      rows.push({
        processes: procs,
        switchboard,
        bullmq,
        ratio: +(switchboard / bullmq).toFixed(2),
      });
    }
    return rows;
  } finally {
    await redis.stop();
  }
}

/** The rows as a markdown table. */
export function toMarkdown(rows) {
  const lines = [
    `| worker processes | Switchboard redis (tasks/s) | BullMQ (tasks/s) | ratio |`,
    '|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    const f = (n) => n.toLocaleString('en-US');
    lines.push(`| ${r.processes} | ${f(r.switchboard)} | ${f(r.bullmq)} | ${r.ratio}× |`);
  }
  return lines.join('\n');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  if (process.argv[2] === '--worker') {
    await workerMain(process.argv[3], Number(process.argv[4]));
  } else {
    const n = TASKS.toLocaleString('en-US');
    console.log(`${n} tasks per run, median of ${SAMPLES}, enqueue → lease → complete\n`);
    console.log(toMarkdown(await run()));
  }
}
