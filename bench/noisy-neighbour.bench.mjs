// A noisy neighbour and many quiet ones, in one run: one key has NOISY tasks queued (a user's
// crawl), then QUIET_KEYS other keys submit QUIET_PER tasks each (single questions), and 8
// agents serve them all, each task taking SERVICE_MS (a timer, so that the sides differ in
// how they order the work, not in how fast they run it). Three sides do the same work:
//  - fair: Switchboard, in-process agents on the memory backend, each task with its key as
//    `fairnessKey`: dispatch shares the agents among the keys with work.
//  - fifo: the same Switchboard with no keys: first come, first served.
//  - bullmq: a BullMQ queue with a Worker of concurrency 8, on a redis-server started here
//    (no persistence): one FIFO queue, as BullMQ's open-source version has.
// The figure is the quiet tasks' wait, from their submit to the start of their run: p50, p99
// and max, beside the bound a fair share gives them. With every key of weight 1, one round of
// deficit round robin serves each key with work once, so a quiet key's last task starts after
// at most QUIET_PER rounds of (QUIET_KEYS + 1) tasks, which take QUIET_PER × (QUIET_KEYS + 1)
// ÷ the rate at which the side starts tasks (measured over the second before the quiet tasks
// arrive, when only the noisy key has work: a timer of 1 ms takes longer on a loaded
// machine). A side stops once its quiet tasks have all started;
// the noisy backlog is dropped, not drained.
// Run `node scripts/build.mjs` first: core resolves to its build.
// Usage: node bench/noisy-neighbour.bench.mjs   (BENCH_NOISY=1000000 BENCH_SIDES=fair,fifo,bullmq)
import { pathToFileURL } from 'node:url';
import { createSwitchboard, defineAgent } from '@switchboard/core';
import { Queue, Worker } from 'bullmq';
import { startRedis } from './redis-server.mjs';

const NOISY = Number(process.env.BENCH_NOISY ?? 1_000_000);
const QUIET_KEYS = 1_000;
const QUIET_PER = 10;
const AGENTS = 8;
const SERVICE_MS = 1;
// The quiet tasks arrive once the agents have been busy with the backlog this long.
const SETTLE_MS = 1_000;
const SIDES = (process.env.BENCH_SIDES ?? 'fair,fifo,bullmq').split(',');
const CHUNK = 10_000;
const NAME = 'noisy-bench';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** The quiet tasks, interleaved by key as many users asking at once would send them. */
function quietTasks() {
  const out = [];
  for (let i = 0; i < QUIET_PER; i++) {
    for (let k = 0; k < QUIET_KEYS; k++) out.push({ key: `user-${k}`, q: out.length });
  }
  return out;
}

/** Records when each quiet task started, and resolves once every one has. */
function startTimes(count) {
  const startedAt = new Float64Array(count);
  let left = count;
  // Every task started, and when and how many had before the quiet ones were submitted.
  let starts = 0;
  let settleFrom = 0;
  let startsAtSettle = 0;
  let submittedAt = 0;
  let rate = 0;
  let done;
  const all = new Promise((resolve) => {
    done = resolve;
  });
  return {
    startedAt,
    all,
    /** Any task started; `q` is the quiet task's number. */
    started(q) {
      starts++;
      if (q === undefined || startedAt[q] !== 0) return;
      startedAt[q] = performance.now();
      if (--left === 0) done();
    },
    /** The backlog is queued: the noisy key's rate is measured from now on. */
    settling() {
      settleFrom = performance.now();
      startsAtSettle = starts;
    },
    submitted() {
      submittedAt = performance.now();
      rate = (starts - startsAtSettle) / (submittedAt - settleFrom);
    },
    /** The quiet tasks' waits in ms, and the rate at which tasks started before (per ms). */
    waits() {
      const ms = Array.from(startedAt, (t) => t - submittedAt).sort((a, b) => a - b);
      const at = (p) => ms[Math.min(ms.length - 1, Math.floor(p * ms.length))];
      return { p50: at(0.5), p99: at(0.99), max: ms[ms.length - 1], rate };
    },
  };
}

async function switchboardSide(fair) {
  const quiet = quietTasks();
  const times = startTimes(quiet.length);
  const agent = defineAgent({
    name: 'worker',
    capabilities: ['work'],
    config: { maxConcurrency: 1 },
    async handle(payload) {
      times.started(payload.q);
      await sleep(SERVICE_MS);
    },
  });
  const sb = createSwitchboard({ agents: [{ definition: agent, min: AGENTS, max: AGENTS }] });
  await sb.start();
  const noisyKey = fair ? { fairnessKey: 'crawler' } : {};
  for (let sent = 0; sent < NOISY; sent += CHUNK) {
    const n = Math.min(CHUNK, NOISY - sent);
    await sb.submitMany(
      Array.from({ length: n }, () => ({ capability: 'work', payload: {}, ...noisyKey })),
    );
  }
  times.settling();
  await sleep(SETTLE_MS);
  times.submitted();
  await sb.submitMany(
    quiet.map((t) => ({
      capability: 'work',
      payload: { q: t.q },
      ...(fair ? { fairnessKey: t.key } : {}),
    })),
  );
  await times.all;
  await sb.shutdown({ drain: false, timeoutMs: 1_000 });
  return times.waits();
}

async function bullSide(redis) {
  await redis.flush();
  const quiet = quietTasks();
  const times = startTimes(quiet.length);
  const connection = { host: '127.0.0.1', port: redis.port, maxRetriesPerRequest: null };
  const queue = new Queue(NAME, { connection });
  await queue.waitUntilReady();
  const worker = new Worker(
    NAME,
    async (job) => {
      times.started(job.data.q);
      await sleep(SERVICE_MS);
    },
    { connection, concurrency: AGENTS },
  );
  const options = { removeOnComplete: true, removeOnFail: true };
  for (let sent = 0; sent < NOISY; sent += CHUNK) {
    const n = Math.min(CHUNK, NOISY - sent);
    await queue.addBulk(Array.from({ length: n }, () => ({ name: 't', data: {}, opts: options })));
  }
  times.settling();
  await sleep(SETTLE_MS);
  times.submitted();
  await queue.addBulk(quiet.map((t) => ({ name: 't', data: { q: t.q }, opts: options })));
  await times.all;
  await worker.close(true);
  await queue.obliterate({ force: true });
  await queue.close();
  return times.waits();
}

/** One row per side: the quiet tasks' waits in ms. */
export async function run() {
  const redis = SIDES.includes('bullmq') ? await startRedis() : undefined;
  try {
    const rows = [];
    for (const side of SIDES) {
      const started = performance.now();
      const w = side === 'bullmq' ? await bullSide(redis) : await switchboardSide(side === 'fair');
      rows.push({ side, ...w, seconds: (performance.now() - started) / 1000 });
    }
    return rows;
  } finally {
    await redis?.stop();
  }
}

const LABELS = {
  fair: 'Switchboard, fairness keys',
  fifo: 'Switchboard, no keys (FIFO)',
  bullmq: 'BullMQ, one queue (FIFO)',
};

/** The rows as a markdown table, each side's p99 over the fair one's and over the bound. */
export function toMarkdown(rows) {
  const fair = rows.find((r) => r.side === 'fair');
  const f = (n) => Math.round(n).toLocaleString('en-US');
  const lines = [
    `${NOISY.toLocaleString('en-US')} noisy tasks of one key, then ${QUIET_KEYS} quiet keys × ${QUIET_PER} tasks; ${AGENTS} agents, ${SERVICE_MS} ms a task. The fair-share bound is ${QUIET_PER} rounds of ${QUIET_KEYS + 1} tasks at the side's own rate.`,
    '',
    '| side | tasks started a ms | fair-share bound (ms) | quiet wait p50 (ms) | p99 (ms) | max (ms) | p99 ÷ bound | p99 ÷ fair side | side ran (s) |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    const bound = (QUIET_PER * (QUIET_KEYS + 1)) / r.rate;
    const overFair = fair === undefined ? '–' : `${(r.p99 / fair.p99).toFixed(1)}×`;
    lines.push(
      `| ${LABELS[r.side]} | ${r.rate.toFixed(2)} | ${f(bound)} | ${f(r.p50)} | ${f(r.p99)} | ${f(r.max)} | ${(r.p99 / bound).toFixed(2)} | ${overFair} | ${r.seconds.toFixed(0)} |`,
    );
  }
  return lines.join('\n');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(toMarkdown(await run()));
}
