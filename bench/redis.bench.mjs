// End-to-end throughput on Redis: Switchboard on its Redis backend beside BullMQ, on the same
// redis-server (started here, no persistence), in one run. One task = submit (batches of 500:
// `sb.submitMany` / `Queue.addBulk`) → lease → a no-op handler → complete with a small
// result. Each side runs 1, 2 and 3 worker processes (this file, forked with --worker): a
// Switchboard with an in-process agent of BENCH_BULL_CONCURRENCY slots (its dispatcher leases
// in batches and completes through `completeMany`, as a server does), or a BullMQ Worker at
// that concurrency. Timing starts once every worker is connected and stops when every task is
// completed. Completed records are kept by both (Switchboard's retention, BullMQ's default),
// so both write the same state.
// Run `node scripts/build.mjs` first: the packages resolve to their dist bundles.
// Usage: node bench/redis.bench.mjs   (BENCH_TASKS=60000 per run, BENCH_SAMPLES=3 runs a case)
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createSwitchboard, defineAgent } from '@switchboard/core';
import { createRedisBackend } from '@switchboard/plugins/redis';
import { Queue } from 'bullmq';
import { startRedis } from './redis-server.mjs';
import { bullWorker, forkWorker, serveWorker, stopWorker } from './worker-process.mjs';

const TASKS = Number(process.env.BENCH_TASKS ?? 60_000);
// Each case runs SAMPLES times, interleaved with the other side; the median is reported (the
// machine may be shared, and one run of a few seconds is easily disturbed).
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 3);
const BATCH = 500;
// Tasks in flight per worker process, both sides: BullMQ's concurrency, the agent's slots.
const BULL_CONCURRENCY = Number(process.env.BENCH_BULL_CONCURRENCY ?? 100);
const PROCESSES = [1, 2, 3];
const NAME = 'bench';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// ---- worker processes ------------------------------------------------------------------

async function switchboardWorker(port) {
  // A Switchboard as a server runs it: its dispatcher leases for an in-process agent with
  // BULL_CONCURRENCY slots, and completions go back in batches (completeMany).
  const sb = createSwitchboard({
    backend: createRedisBackend({ port, prefix: NAME }),
    agents: [
      defineAgent({
        name: 'worker',
        capabilities: [NAME],
        config: { maxConcurrency: BULL_CONCURRENCY },
        handle: async () => ({ ok: true }),
      }),
    ],
  });
  await sb.start();
  let done = 0;
  // Completions stored by this process (stats' counter counts after the backend answered).
  const poll = setInterval(async () => {
    done = (await sb.stats()).tasks.completed;
  }, 5);
  return {
    done: () => done,
    async stop() {
      clearInterval(poll);
      await sb.shutdown({ drain: false });
    },
  };
}

async function workerMain(kind, port) {
  serveWorker(
    kind === 'switchboard'
      ? await switchboardWorker(port)
      : await bullWorker(NAME, port, BULL_CONCURRENCY),
  );
}

// ---- producers and the measurement -----------------------------------------------------

async function produceSwitchboard(port) {
  const sb = createSwitchboard({ backend: createRedisBackend({ port, prefix: NAME }) });
  await sb.start();
  for (let i = 0; i < TASKS; i += BATCH) {
    const inputs = [];
    for (let k = i; k < Math.min(TASKS, i + BATCH); k++) {
      inputs.push({ capability: NAME, payload: { i: k } });
    }
    await sb.submitMany(inputs);
  }
  await sb.shutdown({ drain: false });
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
  return forkWorker(fileURLToPath(import.meta.url), ['--worker', kind, String(port)]);
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
  await Promise.all(workers.map(stopWorker));
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
    console.log(`${n} tasks per run, median of ${SAMPLES}, submit → lease → handler → complete\n`);
    console.log(toMarkdown(await run()));
  }
}
