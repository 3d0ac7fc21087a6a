// Isolated agents beside the pools they stand against, in one run: a Switchboard agent run
// in-process, in a worker thread and in a child process (`isolate()` from
// `@switchboard/plugins/isolate`), beside a Piscina pool of one thread and a BullMQ Worker
// with a sandboxed processor file (a child process per running job) on a redis-server started
// here (no persistence). Every side runs the same no-op task from noop-task.mjs.
//  1. startup: from creating the side (the Switchboard with its agent, the pool, the Worker)
//     until its first task has completed, in ms.
//  2. round trip: sequential tasks, one in flight, in µs a task once warm.
//  3. throughput: 8 callers each awaiting its task before the next, in tasks/s; one agent of
//     8 slots (one thread or one process), Piscina's one thread with 8 tasks at once, and
//     BullMQ at concurrency 8, which forks a processor process for each job it runs at once.
// Each round starts every side once, measures the three and stops it; the sides run in a
// different order each round, and the median of the rounds is reported, after one warm-up
// round that is not counted.
// Run `node scripts/build.mjs` first: core and plugins resolve to their builds.
// Usage: node bench/isolate.bench.mjs   (BENCH_SAMPLES=5 rounds)
import { pathToFileURL } from 'node:url';
import { createSwitchboard, defineAgent } from '@switchboard/core';
import { isolate } from '@switchboard/plugins/isolate';
import { Queue, Worker } from 'bullmq';
import { Piscina } from 'piscina';
import { agent } from './noop-task.mjs';
import { startRedis } from './redis-server.mjs';

const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 5);
const TASK_URL = new URL('./noop-task.mjs', import.meta.url);
const SEQUENTIAL = 400;
const WARM = 100;
const CALLERS = 8;
const CONCURRENT = 2_000;
const NAME = 'isolate-bench';
const SIDES = ['inProcess', 'thread', 'piscina', 'process', 'bullmq'];

// ---- the sides: each starts, runs one task per `call()`, and stops --------------------------

async function switchboardSide(runIn) {
  const config = { maxConcurrency: CALLERS };
  const definition =
    runIn === undefined
      ? defineAgent({ ...agent, config })
      : await isolate(TASK_URL, { runIn, export: 'agent', config });
  const sb = createSwitchboard({ agents: [definition] });
  await sb.start();
  return {
    call: () => sb.run({ capability: 'noop', payload: {} }),
    stop: () => sb.shutdown(),
  };
}

function piscinaSide() {
  const pool = new Piscina({
    filename: TASK_URL.href,
    minThreads: 1,
    maxThreads: 1,
    concurrentTasksPerWorker: CALLERS,
  });
  return {
    call: () => pool.run({}),
    stop: () => pool.destroy(),
  };
}

async function bullSide(redis) {
  const connection = { host: '127.0.0.1', port: redis.port, maxRetriesPerRequest: null };
  const queue = new Queue(NAME, { connection });
  await queue.waitUntilReady();
  const waiting = new Map();
  let next = 0;
  const worker = new Worker(NAME, TASK_URL, { connection, concurrency: CALLERS });
  worker.on('completed', (job) => waiting.get(job.id)?.resolve());
  worker.on('failed', (job, error) => job !== undefined && waiting.get(job.id)?.reject(error));
  return {
    // The job's id is chosen and awaited before it is added: it may complete before `add`
    // resolves.
    async call() {
      const id = `j${++next}`;
      const done = new Promise((resolve, reject) => waiting.set(id, { resolve, reject }));
      await queue.add('t', {}, { jobId: id, removeOnComplete: true, removeOnFail: true });
      await done;
      waiting.delete(id);
    },
    async stop() {
      await worker.close();
      await queue.close();
    },
  };
}

function startSide(side, redis) {
  switch (side) {
    case 'inProcess':
      return switchboardSide(undefined);
    case 'thread':
      return switchboardSide('thread');
    case 'process':
      return switchboardSide('process');
    case 'piscina':
      return piscinaSide();
    case 'bullmq':
      return bullSide(redis);
  }
}

// ---- one round of a side -------------------------------------------------------------------

async function measure(side, redis) {
  if (side === 'bullmq') await redis.flush();
  const t0 = performance.now();
  const s = await startSide(side, redis);
  await s.call();
  const startupMs = performance.now() - t0;
  try {
    for (let i = 0; i < WARM; i++) await s.call();
    const t1 = performance.now();
    for (let i = 0; i < SEQUENTIAL; i++) await s.call();
    const roundTripUs = ((performance.now() - t1) * 1000) / SEQUENTIAL;
    let left = CONCURRENT;
    const caller = async () => {
      while (left-- > 0) await s.call();
    };
    const t2 = performance.now();
    await Promise.all(Array.from({ length: CALLERS }, caller));
    const throughput = (CONCURRENT * 1000) / (performance.now() - t2);
    return { startupMs, roundTripUs, throughput };
  } finally {
    await s.stop();
  }
}

/** One row per measure, a median per side; the ratios are taken in `toMarkdown`. */
export async function run() {
  const redis = await startRedis();
  try {
    const samples = Object.fromEntries(SIDES.map((side) => [side, []]));
    for (let round = 0; round <= SAMPLES; round++) {
      for (let k = 0; k < SIDES.length; k++) {
        const side = SIDES[(round + k) % SIDES.length];
        const m = await measure(side, redis);
        // Round 0 warms up the bench process itself (its imports, the JIT) and is dropped.
        if (round > 0) samples[side].push(m);
      }
    }
    const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const row = (measure, key) => ({
      measure,
      ...Object.fromEntries(SIDES.map((side) => [side, median(samples[side].map((m) => m[key]))])),
    });
    return [
      row('startup to first task (ms)', 'startupMs'),
      row('round trip, one in flight (µs a task)', 'roundTripUs'),
      row(`throughput, ${CALLERS} in flight (tasks/s)`, 'throughput'),
    ];
  } finally {
    await redis.stop();
  }
}

/** The rows as a markdown table, with the isolated sides over their anchors. */
export function toMarkdown(rows) {
  const f = (n) => (n < 100 ? n.toFixed(1) : Math.round(n).toLocaleString('en-US'));
  const x = (a, b) => `${(a / b).toFixed(2)}×`;
  const lines = [
    '| measure | in-process agent | thread agent | Piscina | process agent | BullMQ sandboxed | thread ÷ Piscina | process ÷ BullMQ | thread ÷ in-process | process ÷ in-process |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.measure} | ${SIDES.map((side) => f(r[side])).join(' | ')} | ${x(r.thread, r.piscina)} | ${x(r.process, r.bullmq)} | ${x(r.thread, r.inProcess)} | ${x(r.process, r.inProcess)} |`,
    );
  }
  return lines.join('\n');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(
    `isolated agents beside Piscina and BullMQ's sandboxed processor, median of ${SAMPLES} rounds\n`,
  );
  console.log(toMarkdown(await run()));
}
