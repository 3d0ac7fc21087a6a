// `npm run soak -- --minutes N [--backend memory|journal:<dir>|redis://…] [--no-build]`
// Runs the server (the built Node bundle, as users run it) with an in-process agent, measures
// its capacity for a few seconds (clients submitting as fast as answers come), then submits at
// 80 % of it for N minutes. Every interval it prints the server's memory (RSS, V8 heap) and the
// submit latency (p50, p99), and at the end it fails (exit 1) on growth: heap or RSS after the
// warm-up growing past a bound, p99 drifting up by a factor, a queue that keeps growing, any
// answer other than 202, or a backlog of unanswered submits that lasts (more than 0.1 % of the
// batches held back).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const root = new URL('..', import.meta.url).pathname;
const MB = 1024 * 1024;

function parse(argv) {
  const o = { minutes: 1, backend: 'memory', build: true };
  for (let i = 0; i < argv.length; i++) {
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(argv[i]);
    const name = m?.[1];
    if (name === 'no-build') o.build = false;
    else if (name === 'minutes' || name === 'backend') {
      const value = m[2] ?? argv[++i];
      if (name === 'backend') o.backend = value;
      else o.minutes = Number(value);
    } else {
      console.error(`soak: unknown argument ${JSON.stringify(argv[i])}`);
      process.exit(2);
    }
  }
  if (!(o.minutes > 0)) {
    console.error('soak: --minutes needs a number > 0');
    process.exit(2);
  }
  return o;
}

const options = parse(process.argv.slice(2));
if (options.build) {
  const r = spawnSync('node', ['scripts/build.mjs'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

// The server reports its own memory once a second through a preloaded module, so that the
// soak reads the V8 heap and not only what the OS sees.
const work = mkdtempSync(join(tmpdir(), 'sb-soak-'));
const probe = join(work, 'memory-probe.mjs');
writeFileSync(
  probe,
  `setInterval(() => { const m = process.memoryUsage(); process.stdout.write('soak-memory ' + m.rss + ' ' + m.heapUsed + '\\n'); }, 1000).unref();\n`,
);
const config = join(work, 'config.mjs');
writeFileSync(
  config,
  `export default { agents: [{ name: 'echo', capabilities: ['echo'], config: { maxConcurrency: 256 }, handle: (p) => p }] };\n`,
);

const server = spawn(
  process.execPath,
  [
    '--import',
    probe,
    join(root, 'packages/server/dist/bin/node.js'),
    'serve',
    '--port',
    '0',
    '--backend',
    options.backend,
    '--config',
    config,
  ],
  { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] },
);
const memory = [];
const url = await new Promise((resolve, reject) => {
  server.once('exit', (code) => reject(new Error(`soak: the server exited (${code})`)));
  createInterface({ input: server.stdout }).on('line', (line) => {
    const m = /^soak-memory (\d+) (\d+)$/.exec(line);
    if (m !== null) memory.push({ at: Date.now(), rss: Number(m[1]), heap: Number(m[2]) });
    const s = /serving (http:\/\/\S+)/.exec(line);
    if (s !== null) resolve(s[1]);
  });
});
const stopServer = () => {
  server.kill('SIGTERM');
  rmSync(work, { recursive: true, force: true });
};
process.on('exit', () => server.kill('SIGKILL'));

// Submits are batches of 20 tasks: the clients share the machine's cores with the server, and
// one request per task would measure the clients more than the server.
const BATCH = 20;
// FIFO keeps every socket busy: a socket left idle past the server's keep-alive timeout
// (5 s) is closed by it, and a request sent on it at that moment is reset, a client race
// that says nothing about the server.
const agent = new Agent({ keepAlive: true, maxSockets: 32, scheduling: 'fifo' });
const body = JSON.stringify({
  tasks: Array.from({ length: BATCH }, (_, n) => ({ capability: 'echo', payload: { n } })),
});
/** One batch submit; resolves with its latency in ms, or what went wrong. */
function submit() {
  const started = performance.now();
  return new Promise((resolve) => {
    const req = request(
      `${url}/v1/tasks/batch`,
      { method: 'POST', agent, headers: { 'content-type': 'application/json' } },
      (res) => {
        res.resume();
        res.on('end', () =>
          resolve(
            res.statusCode === 202 ? performance.now() - started : `status ${res.statusCode}`,
          ),
        );
      },
    );
    req.on('error', (err) => resolve(err.message));
    req.end(body);
  });
}
async function stats() {
  const res = await fetch(`${url}/v1/stats`);
  return res.json();
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Capacity: 16 clients in a closed loop for 5 s, after 2 s of warm-up. The rate is the lower
// of what was acknowledged and what was completed, in tasks a second.
async function closedLoop(ms) {
  let done = 0;
  const until = Date.now() + ms;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (Date.now() < until) if (typeof (await submit()) === 'number') done += BATCH;
    }),
  );
  return done;
}
await closedLoop(2_000);
const before = await stats();
const acknowledged = await closedLoop(5_000);
const after = await stats();
const completed = after.tasks.completed - before.tasks.completed;
const capacity = Math.min(acknowledged, completed) / 5;
const rate = Math.floor(capacity * 0.8);
await sleep(1_000);
console.log(
  `soak: capacity ${Math.round(capacity)} tasks/s (acknowledged ${acknowledged / 5}/s, completed ${completed / 5}/s); running at ${rate}/s for ${options.minutes} min, backend ${options.backend}`,
);

// The open loop: submits `rate` tasks a second whatever the answers, ticking every 10 ms.
const intervalMs = Math.max(10_000, Math.round((options.minutes * 60_000) / 20));
const endAt = Date.now() + options.minutes * 60_000;
const rows = [];
let latencies = [];
const errors = [];
// Batches not sent because the server had not answered the ones before (see the verdict).
let skipped = 0;
let inFlight = 0;
let sent = 0;
let owed = 0;
let lastTick = performance.now();
const ticker = setInterval(() => {
  const now = performance.now();
  owed += (rate * (now - lastTick)) / 1000 / BATCH;
  lastTick = now;
  for (; owed >= 1; owed--) {
    // Past this many unanswered submits the server is not keeping up: counted, not sent.
    if (inFlight > 1_000) {
      skipped++;
      continue;
    }
    inFlight++;
    sent++;
    void submit().then((r) => {
      inFlight--;
      if (typeof r === 'number') latencies.push(r);
      else errors.push(r);
    });
  }
}, 10);

const pct = (xs, q) => xs[Math.min(xs.length - 1, Math.floor(q * xs.length))] ?? 0;
console.log('soak: minute  tasks/s  p50 ms  p99 ms  queue  rss MB  heap MB (floor)');
let lastSent = 0;
let intervalStart = Date.now();
while (Date.now() < endAt) {
  await sleep(Math.min(intervalMs, endAt - Date.now()));
  const now = Date.now();
  const xs = latencies.sort((a, b) => a - b);
  latencies = [];
  const mem = memory.filter((m) => m.at >= intervalStart);
  const row = {
    minute: (now - (endAt - options.minutes * 60_000)) / 60_000,
    rate: Math.round(((sent - lastSent) * BATCH * 1000) / (now - intervalStart)),
    p50: pct(xs, 0.5),
    p99: pct(xs, 0.99),
    queue: (await stats()).queue.depth,
    rss: Math.max(...mem.map((m) => m.rss), 0) / MB,
    // The lowest heap of the interval: what was live after the collector ran.
    heap: Math.min(...mem.map((m) => m.heap), Number.POSITIVE_INFINITY) / MB,
  };
  rows.push(row);
  lastSent = sent;
  intervalStart = now;
  console.log(
    `soak: ${row.minute.toFixed(1).padStart(6)}  ${String(row.rate).padStart(7)}  ${row.p50.toFixed(1).padStart(6)}  ${row.p99.toFixed(1).padStart(6)}  ${String(row.queue).padStart(5)}  ${row.rss.toFixed(0).padStart(6)}  ${row.heap.toFixed(1).padStart(7)}`,
  );
}
clearInterval(ticker);
while (inFlight > 0) await sleep(20);
stopServer();

// The verdict: the warm-up is the first fifth of the run (at least one interval).
const warm = rows[Math.max(0, Math.floor(rows.length / 5))] ?? rows[0];
const last = rows.at(-1);
const failures = [];
const heapBound = Math.max(32, warm.heap * 0.25);
if (last.heap - warm.heap > heapBound)
  failures.push(
    `heap grew ${(last.heap - warm.heap).toFixed(1)} MB after warm-up (bound ${heapBound.toFixed(0)} MB)`,
  );
const rssBound = Math.max(64, warm.rss * 0.25);
if (last.rss - warm.rss > rssBound)
  failures.push(
    `RSS grew ${(last.rss - warm.rss).toFixed(0)} MB after warm-up (bound ${rssBound.toFixed(0)} MB)`,
  );
// A p99 of a few ms doubles on noise alone: the drift is judged against at least 10 ms.
if (last.p99 > 3 * Math.max(warm.p99, 10))
  failures.push(`p99 drifted from ${warm.p99.toFixed(1)} to ${last.p99.toFixed(1)} ms`);
if (last.queue > Math.max(1_000, rate))
  failures.push(`the queue keeps growing (${last.queue} tasks)`);
if (errors.length > 0)
  failures.push(`${errors.length} submits not acknowledged, e.g. ${errors.slice(0, 3).join('; ')}`);
// A backlog is a server falling behind. One that lasts holds back a share of the batches and
// fails the run; a stall of a moment on a shared machine (a collector pause, a neighbour's
// burst) that the server then catches up on is reported, not failed.
if (skipped > (sent + skipped) / 1_000)
  failures.push(`${skipped} batches not sent for a backlog over 1,000 (over 0.1 % of them)`);
else if (skipped > 0)
  console.log(`soak: ${skipped} batches not sent for a backlog over 1,000 at some moment`);
console.log(
  `soak: ${options.minutes} min at ${rate}/s (80 % of ${Math.round(capacity)}/s), ${sent * BATCH} tasks; heap ${warm.heap.toFixed(1)} -> ${last.heap.toFixed(1)} MB, RSS ${warm.rss.toFixed(0)} -> ${last.rss.toFixed(0)} MB, p99 ${warm.p99.toFixed(1)} -> ${last.p99.toFixed(1)} ms: ${failures.length === 0 ? 'ok' : 'FAILED'}`,
);
for (const f of failures) console.error(`soak: ${f}`);
process.exit(failures.length === 0 ? 0 : 1);
