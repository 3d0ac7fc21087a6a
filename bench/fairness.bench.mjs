// Fair dispatch in the memory backend at a steady depth, side by side in one process: the
// rate of one task's trip through the backend (enqueued, leased, completed), and of the lease
// calls alone (the dispatch), when the queued tasks carry no fairness key (the plain lane, as
// before fair dispatch existed), one key, 10 keys and 100,000 keys, every key with work
// throughout. The backend is driven as the
// in-process dispatcher drives it: leases of BATCH tasks with one shared token, then one
// completeMany, then BATCH new tasks enqueued with enqueueNew, each with the key of a task
// just leased, so that the number of keys with work and the depth stay where they started.
// Samples alternate between the sides and the best of each is kept: on a shared machine,
// noise only ever slows a sample down, and alternating exposes each side to the same noise.
// Run `node scripts/build.mjs` first: '@switchboard/core' resolves to its dist bundle.
// Usage: node --expose-gc bench/fairness.bench.mjs
// (BENCH_TIME_MS=200 per sample, BENCH_SAMPLES=9, BENCH_DEPTH=300000 tasks queued)
import { pathToFileURL } from 'node:url';
import { createLeaseToken, createMemoryBackend, reserveTaskIds, taskIdAt } from '@switchboard/core';

const BATCH = 64;
const DEPTH = Number(process.env.BENCH_DEPTH ?? 300_000);
const SAMPLE_MS = Number(process.env.BENCH_TIME_MS ?? 200);
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 9);
const SIDES = [
  { side: 'no key', keys: 0 },
  { side: '1 key', keys: 1 },
  { side: '10 keys', keys: 10 },
  { side: '100,000 keys', keys: 100_000 },
];

const payload = { n: 1 };

/**
 * A new queued record, keyed when `key` is given (records of one shape per side), with an id
 * minted as Switchboard mints them (the task index keeps those in pages, not in a map).
 */
function record(key) {
  const t = {
    id: taskIdAt(reserveTaskIds(1)),
    capability: 'work',
    payload,
    priority: 'normal',
    status: 'queued',
    attempts: 0,
    maxAttempts: 3,
    timeoutMs: 60_000,
    availableAt: 0,
    createdAt: 0,
    updatedAt: 0,
  };
  if (key !== undefined) t.fairnessKey = key;
  return t;
}

async function makeSide({ side, keys }) {
  const backend = createMemoryBackend({ maxRetained: 0 });
  await backend.open();
  const names = Array.from({ length: keys }, (_, i) => `tenant-${i}`);
  for (let done = 0; done < DEPTH; done += 4096) {
    const batch = [];
    for (let i = done; i < Math.min(DEPTH, done + 4096); i++) {
      batch.push(record(keys === 0 ? undefined : names[i % keys]));
    }
    await backend.enqueueNew(batch);
  }
  return { side, keys, backend, best: 0, bestLease: 0, cpuUs: Number.POSITIVE_INFINITY };
}

/**
 * One trip of BATCH tasks: lease, complete, enqueue as many with the same keys. Adds the
 * time spent in the lease call alone to `clock.leaseMs`.
 */
async function trip(backend, clock) {
  const token = createLeaseToken();
  const t0 = performance.now();
  const leased = await backend.lease({
    capability: 'work',
    agentId: 'bench',
    max: BATCH,
    now: 1,
    token,
  });
  clock.leaseMs += performance.now() - t0;
  const completions = new Array(leased.length);
  const next = new Array(leased.length);
  for (let i = 0; i < leased.length; i++) {
    const t = leased[i];
    completions[i] = { id: t.id, leaseToken: t.leaseToken, result: null };
    next[i] = record(t.fairnessKey);
  }
  await backend.completeMany(completions, 1);
  await backend.enqueueNew(next);
  return leased.length;
}

/**
 * One sample of SAMPLE_MS: tasks/s of whole trips, tasks/s of the lease calls alone (the
 * dispatch), and the process CPU µs a task.
 */
async function sample(backend) {
  let tasks = 0;
  const clock = { leaseMs: 0 };
  const c0 = process.cpuUsage();
  const start = performance.now();
  let now = start;
  while (now - start < SAMPLE_MS) {
    for (let k = 0; k < 16; k++) tasks += await trip(backend, clock);
    now = performance.now();
  }
  const cpu = process.cpuUsage(c0);
  return {
    rate: (tasks * 1000) / (now - start),
    leaseRate: (tasks * 1000) / clock.leaseMs,
    cpuUs: (cpu.user + cpu.system) / tasks,
  };
}

/** Measures every side; returns one row per side, with its ratio to the one-key side. */
export async function run() {
  const sides = [];
  for (const s of SIDES) sides.push(await makeSide(s));
  for (let n = 0; n < SAMPLES; n++) {
    for (const s of sides) {
      globalThis.gc?.();
      const { rate, leaseRate, cpuUs } = await sample(s.backend);
      s.best = Math.max(s.best, rate);
      s.bestLease = Math.max(s.bestLease, leaseRate);
      s.cpuUs = Math.min(s.cpuUs, cpuUs);
    }
  }
  const oneKey = sides.find((s) => s.keys === 1);
  const none = sides.find((s) => s.keys === 0);
  const rows = [];
  for (const s of sides) {
    const stats = await s.backend.stats();
    if (stats.depth !== DEPTH) throw new Error(`${s.side} drifted from depth ${DEPTH}`);
    rows.push({
      side: s.side,
      tasksPerSec: s.best,
      leasedPerSec: s.bestLease,
      cpuUs: s.cpuUs,
      vsOneKey: s.best / oneKey.best,
      vsNoKey: s.best / none.best,
      leaseVsOneKey: s.bestLease / oneKey.bestLease,
      leaseVsNoKey: s.bestLease / none.bestLease,
    });
    await s.backend.close();
  }
  return rows;
}

export function toMarkdown(rows) {
  const lines = [
    `Memory backend, ${DEPTH.toLocaleString('en')} tasks queued, leases of ${BATCH} (best of ${SAMPLES} alternating samples of ${SAMPLE_MS} ms):`,
    '',
    '| queued tasks carry | whole trip: tasks/s | vs 1 key | vs no key | CPU µs a task | lease alone: tasks/s | vs 1 key | vs no key |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  const n = (x) => Math.round(x).toLocaleString('en');
  for (const r of rows) {
    lines.push(
      `| ${r.side} | ${n(r.tasksPerSec)} | ${r.vsOneKey.toFixed(2)}× | ${r.vsNoKey.toFixed(2)}× | ${r.cpuUs.toFixed(2)} | ${n(r.leasedPerSec)} | ${r.leaseVsOneKey.toFixed(2)}× | ${r.leaseVsNoKey.toFixed(2)}× |`,
    );
  }
  return lines.join('\n');
}

async function main() {
  const started = performance.now();
  console.log(toMarkdown(await run()));
  console.log(`\n(${((performance.now() - started) / 1000).toFixed(1)} s)`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
