// Throughput through one remote worker process: the `switchboard serve` server (Node, memory
// and journal backends) with one worker of `@switchboard/client` (`createWorker`) at
// concurrency 1, 16 and 256, beside BullMQ's Worker at the same concurrency on a
// redis-server started here (no persistence). One task = submit (batches of 500:
// `POST /v1/tasks/batch` / `Queue.addBulk`) → lease → a no-op handler → complete with a small
// result. Each worker is a process of its own (this file, forked with --worker), started and
// connected before the timing starts; the timing stops when every task is completed (the
// server's `tasks.completed` counter; BullMQ's `completed` events in the worker). Both sides
// are measured alternately, SAMPLES times a case, and the median is reported.
// In-memory against Redis is not the point: the HTTP round trips of a remote worker are, and
// the journal row shows what durability adds to them.
// Run `node scripts/build.mjs` first: the server, the client and core resolve to their builds.
// Usage: node bench/worker.bench.mjs   (BENCH_SAMPLES=3 runs a case)
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Queue } from 'bullmq';
import { startRedis } from './redis-server.mjs';
import { bullWorker, forkWorker, serveWorker, stopWorker } from './worker-process.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
// The bench imports the client's build by path: it is the package a worker installs, and
// its one dependency (core) resolves from the package's own folder.
const clientUrl = pathToFileURL(join(root, 'packages/client/dist/index.js')).href;
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 3);
const CONCURRENCY = [1, 16, 256];
const BATCH = 500;
const NAME = 'bench';
// Tasks a case runs, sized so that each case takes a few seconds on the 2-core bench machine.
const TASKS = { 1: 1_500, 16: 10_000, 256: 20_000 };

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// ---- the server --------------------------------------------------------------------------

/** Starts `switchboard serve` on a free port; resolves with its URL and a stop function. */
async function startServer(backend) {
  const bin = join(root, 'packages/server/dist/bin/node.js');
  const child = spawn(
    process.execPath,
    [bin, 'serve', '--port', '0', '--host', '127.0.0.1', '--backend', backend],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const url = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const m = /serving (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m !== null) resolve(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`the server exited ${code}: ${out}`)));
  });
  return {
    url,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    },
  };
}

// ---- worker processes ----------------------------------------------------------------------

async function switchboardWorker(url, concurrency) {
  const { createWorker } = await import(clientUrl);
  const worker = createWorker({
    url,
    capabilities: [NAME],
    concurrency,
    leaseWaitMs: 1_000,
    handler: async () => ({ ok: true }),
  });
  const running = worker.run();
  // Ready once registered: the agent id is known from then on.
  while (worker.agentId === undefined) await sleep(5);
  return {
    // The server counts the completions (its stats), not the worker.
    done: () => 0,
    async stop() {
      await worker.close({ drain: false });
      await running;
    },
  };
}

async function workerMain(kind, target, concurrency) {
  serveWorker(
    kind === 'switchboard'
      ? await switchboardWorker(target, concurrency)
      : await bullWorker(NAME, Number(target), concurrency),
  );
}

function spawnWorker(kind, target, concurrency) {
  return forkWorker(fileURLToPath(import.meta.url), [
    '--worker',
    kind,
    String(target),
    String(concurrency),
  ]);
}

// ---- the measurements ----------------------------------------------------------------------

/** Tasks per second through one Switchboard worker at `concurrency` on the server at `url`. */
async function measureSwitchboard(url, concurrency) {
  const { createClient } = await import(clientUrl);
  const client = createClient({ baseUrl: url });
  const tasks = TASKS[concurrency];
  const before = (await client.stats()).tasks.completed;
  const worker = await spawnWorker('switchboard', url, concurrency);
  const start = performance.now();
  for (let i = 0; i < tasks; i += BATCH) {
    const batch = [];
    for (let k = i; k < Math.min(tasks, i + BATCH); k++) {
      batch.push({ capability: NAME, payload: { i: k } });
    }
    await client.submitBatch(batch);
  }
  // Polled every 25 ms: more often, the polls themselves take CPU from the server measured.
  while ((await client.stats()).tasks.completed - before < tasks) await sleep(25);
  const ms = performance.now() - start;
  await stopWorker(worker);
  return Math.round((tasks * 1000) / ms);
}

/** Tasks per second through one BullMQ Worker at `concurrency`. */
async function measureBull(redis, concurrency) {
  await redis.flush();
  const tasks = TASKS[concurrency];
  const worker = await spawnWorker('bullmq', redis.port, concurrency);
  const queue = new Queue(NAME, { connection: { host: '127.0.0.1', port: redis.port } });
  const start = performance.now();
  for (let i = 0; i < tasks; i += BATCH) {
    const jobs = [];
    for (let k = i; k < Math.min(tasks, i + BATCH); k++) jobs.push({ name: 't', data: { i: k } });
    await queue.addBulk(jobs);
  }
  while (worker.done < tasks) await sleep(2);
  const ms = performance.now() - start;
  await queue.close();
  await stopWorker(worker);
  return Math.round((tasks * 1000) / ms);
}

/** One row per concurrency: Switchboard on memory and on the journal, and BullMQ. */
export async function run() {
  const dir = mkdtempSync(join(tmpdir(), 'sb-worker-bench-'));
  const redis = await startRedis();
  const memory = await startServer('memory');
  const journal = await startServer(`journal:${join(dir, 'journal')}`);
  try {
    const rows = [];
    const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    for (const concurrency of CONCURRENCY) {
      const m = [];
      const j = [];
      const b = [];
      for (let s = 0; s < SAMPLES; s++) {
        m.push(await measureSwitchboard(memory.url, concurrency));
        j.push(await measureSwitchboard(journal.url, concurrency));
        b.push(await measureBull(redis, concurrency));
      }
      rows.push({ concurrency, memory: median(m), journal: median(j), bullmq: median(b) });
    }
    return rows;
  } finally {
    await memory.stop();
    await journal.stop();
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The rows as a markdown table. */
export function toMarkdown(rows) {
  const f = (n) => n.toLocaleString('en-US');
  const lines = [
    '| concurrency | Switchboard, memory (tasks/s) | Switchboard, journal (tasks/s) | BullMQ Worker (tasks/s) | memory ÷ BullMQ | journal ÷ BullMQ |',
    '|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.concurrency} | ${f(r.memory)} | ${f(r.journal)} | ${f(r.bullmq)} | ${(r.memory / r.bullmq).toFixed(2)}× | ${(r.journal / r.bullmq).toFixed(2)}× |`,
    );
  }
  return lines.join('\n');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  if (process.argv[2] === '--worker') {
    await workerMain(process.argv[3], process.argv[4], Number(process.argv[5]));
  } else {
    console.log(
      `one worker process, submit → lease → handler → complete, median of ${SAMPLES} runs\n`,
    );
    console.log(toMarkdown(await run()));
  }
}
