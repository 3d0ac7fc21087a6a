// Redis server CPU per task: what each step of the Switchboard Redis backend costs the
// redis-server (the resource every process of a deployment shares), beside BullMQ's cost per
// job on the same server, in the same run. Read from /proc/<redis pid>/stat (Linux only).
// Switchboard: enqueue TASKS records in batches of 500, lease them in batches of 100, complete
// them through `completeMany` per lease batch, measured step by step. BullMQ 6.7: `addBulk` in
// batches of 500, then a Worker (concurrency 100, no-op) processes them all.
// Run `node scripts/build.mjs` first. Usage: node bench/redis-cpu.bench.mjs
//   (BENCH_TASKS=60000, BENCH_SAMPLES=3: the best of the samples is kept per step)
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { createRedisBackend } from '@switchboard/plugins/redis';
import { Queue, Worker } from 'bullmq';
import { startRedis } from './redis-server.mjs';

const TASKS = Number(process.env.BENCH_TASKS ?? 60_000);
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 3);
const ENQUEUE_BATCH = 500;
const LEASE_BATCH = 100;

/** CPU time (user + system) of a process so far, in µs. */
function cpuUs(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return ticks * 10_000; // USER_HZ is 100 on Linux
}

/** Redis CPU µs per task of each step of the Switchboard backend, one sample. */
async function switchboardSample(redis) {
  await redis.flush();
  const backend = createRedisBackend({ port: redis.port, prefix: 'cpu' });
  await backend.open();
  const now = Date.now();
  const step = { at: cpuUs(redis.pid) };
  const lap = () => {
    const at = cpuUs(redis.pid);
    const us = (at - step.at) / TASKS;
    step.at = at;
    return us;
  };
  for (let i = 0; i < TASKS; i += ENQUEUE_BATCH) {
    const records = [];
    for (let k = i; k < Math.min(TASKS, i + ENQUEUE_BATCH); k++) {
      records.push({
        id: `t-${k}`,
        capability: 'cpu',
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
  const enqueue = lap();
  const batches = [];
  for (let i = 0; i < TASKS; i += LEASE_BATCH) {
    batches.push(
      await backend.lease({ capability: 'cpu', agentId: 'w', max: LEASE_BATCH, now: Date.now() }),
    );
  }
  const lease = lap();
  for (const tasks of batches) {
    const completions = tasks.map((t) => ({ id: t.id, leaseToken: t.leaseToken, result: 1 }));
    await backend.completeMany(completions, Date.now());
  }
  const complete = lap();
  await backend.close();
  return { enqueue, lease, complete };
}

/** Redis CPU µs per job of BullMQ: addBulk, then a worker processing every job. */
async function bullSample(redis) {
  await redis.flush();
  const connection = { host: '127.0.0.1', port: redis.port, maxRetriesPerRequest: null };
  const queue = new Queue('cpu', { connection });
  const t0 = cpuUs(redis.pid);
  for (let i = 0; i < TASKS; i += ENQUEUE_BATCH) {
    const jobs = [];
    for (let k = i; k < Math.min(TASKS, i + ENQUEUE_BATCH); k++) {
      jobs.push({ name: 't', data: { i: k } });
    }
    await queue.addBulk(jobs);
  }
  const t1 = cpuUs(redis.pid);
  let done = 0;
  const all = new Promise((resolve) => {
    const worker = new Worker('cpu', async () => 1, { connection, concurrency: 100 });
    worker.on('completed', () => {
      if (++done === TASKS) resolve(worker);
    });
  });
  const worker = await all;
  const t2 = cpuUs(redis.pid);
  await worker.close();
  await queue.close();
  return { enqueue: (t1 - t0) / TASKS, process: (t2 - t1) / TASKS };
}

export async function run() {
  const redis = await startRedis();
  try {
    const best = {};
    const keep = (side, sample) => {
      best[side] ??= {};
      for (const [k, v] of Object.entries(sample)) best[side][k] = Math.min(best[side][k] ?? v, v);
    };
    for (let s = 0; s < SAMPLES; s++) {
      keep('switchboard', await switchboardSample(redis));
      keep('bullmq', await bullSample(redis));
    }
    const sb = best.switchboard;
    const bull = best.bullmq;
    const sbTotal = sb.enqueue + sb.lease + sb.complete;
    const bullTotal = bull.enqueue + bull.process;
    return [
      { side: 'switchboard', step: 'enqueue (batches of 500)', us: sb.enqueue },
      { side: 'switchboard', step: 'lease (batches of 100)', us: sb.lease },
      { side: 'switchboard', step: 'complete (completeMany per lease)', us: sb.complete },
      { side: 'switchboard', step: 'total', us: sbTotal },
      { side: 'bullmq', step: 'addBulk (batches of 500)', us: bull.enqueue },
      { side: 'bullmq', step: 'worker (concurrency 100)', us: bull.process },
      { side: 'bullmq', step: 'total', us: bullTotal },
      { side: 'ratio', step: 'bullmq total / switchboard total', us: bullTotal / sbTotal },
    ];
  } finally {
    await redis.stop();
  }
}

export function toMarkdown(rows) {
  const lines = ['| side | step | redis-server CPU µs per task |', '|---|---|---:|'];
  for (const r of rows) {
    const value = r.side === 'ratio' ? `${r.us.toFixed(2)}×` : r.us.toFixed(1);
    lines.push(`| ${r.side} | ${r.step} | ${value} |`);
  }
  return lines.join('\n');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(`${TASKS.toLocaleString('en-US')} tasks, best of ${SAMPLES}\n`);
  console.log(toMarkdown(await run()));
}
