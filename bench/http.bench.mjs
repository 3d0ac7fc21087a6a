// HTTP throughput and latency of @switchboard/server over loopback, measured with autocannon
// against the server bundle on Node (and Bun and Deno when they are installed), each server
// in its own process, freshly started per scenario:
// - health: GET /healthz (the cost of a request through the framework and the app);
// - submit, single: POST /v1/tasks, one task a request;
// - submit, batched: POST /v1/tasks/batch, 1,000 tasks a request (figure: tasks/s);
// - lease→complete: one remote agent, sequential lease(max 1) then complete, p50/p99 of the pair.
// Anchors, measured in the same run with the same load: a bare `node:http` server and a bare
// `@hono/node-server` app, each answering the same routes by reading the body, parsing it and
// sending a JSON answer of the same shape (no validation, no engine). `× hono` is the
// server's figure over the bare Hono app's, the floor this server's framework sets.
// Each scenario is run BENCH_ROUNDS times, servers alternating, and the best kept: on a
// shared machine noise only ever slows a run down.
// The bar (DESIGN.md): ≥ 20,000 single submits/s and ≥ 200,000 tasks/s batched on Node.
// Run `node scripts/build.mjs` first. Usage: node bench/http.bench.mjs
//   BENCH_DURATION_S=5 (per scenario), BENCH_CONNECTIONS=64, BENCH_PIPELINING=1,
//   BENCH_ROUNDS=2, BENCH_RUNTIMES=node,bun,deno, BUN_BIN / DENO_BIN to pick binaries.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import autocannon from 'autocannon';

const root = new URL('..', import.meta.url).pathname;
const DURATION = Number(process.env.BENCH_DURATION_S ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 64);
// HTTP/1.1 pipelining per connection (1: none, every request waits for the previous answer).
const PIPELINING = Number(process.env.BENCH_PIPELINING ?? 1);
const ROUND_TRIPS = Number(process.env.BENCH_ROUND_TRIPS ?? 3000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const BATCH = 1000;

function findRuntime(name) {
  for (const bin of [
    process.env[`${name.toUpperCase()}_BIN`],
    join(root, `bench/node_modules/.bin/${name}`),
    join(root, `test/node_modules/.bin/${name}`),
    name,
  ]) {
    if (bin === undefined || (bin.includes('/') && !existsSync(bin))) continue;
    if (spawnSync(bin, ['--version'], { stdio: 'ignore' }).status === 0) return bin;
  }
  return undefined;
}

const self = fileURLToPath(import.meta.url);
const bundle = (rt) => join(root, `packages/server/dist/bin/${rt}.js`);
const RUNTIMES = [
  { name: 'node', command: process.execPath, args: [bundle('node')] },
  { name: 'bun', command: findRuntime('bun'), args: [bundle('bun')] },
  {
    name: 'deno',
    command: findRuntime('deno'),
    args: [
      'run',
      '--allow-net',
      '--allow-env',
      '--allow-read',
      '--allow-ffi',
      '--allow-sys',
      bundle('deno'),
    ],
  },
].filter(
  (r) =>
    r.command !== undefined &&
    (process.env.BENCH_RUNTIMES ?? 'node,bun,deno').split(',').includes(r.name),
);
const ANCHORS = [
  {
    name: 'node:http (bare)',
    anchor: true,
    command: process.execPath,
    args: [self, '--anchor', 'http'],
  },
  {
    name: '@hono/node-server (bare)',
    anchor: true,
    command: process.execPath,
    args: [self, '--anchor', 'hono'],
  },
];

/** The anchors' answer to a body: what the server answers, minus validation and the engine. */
function anchorAnswer(path, text) {
  if (path === '/healthz') return { status: 200, body: '{"status":"ok"}' };
  const doc = JSON.parse(text);
  if (path === '/v1/tasks/batch') {
    const ids = doc.tasks.map((_, i) => `anchor-${i}`);
    return { status: 202, body: JSON.stringify({ ids }) };
  }
  return { status: 202, body: JSON.stringify({ id: 'anchor-0', status: 'queued' }) };
}

/** A bare server for the anchors: `node:http` alone, or Hono on `@hono/node-server`. */
async function serveAnchor(kind) {
  const ready = (port) => console.log(`serving http://127.0.0.1:${port} (anchor ${kind})`);
  if (kind === 'http') {
    const { createServer } = await import('node:http');
    const server = createServer((req, res) => {
      const chunks = [];
      req.on('data', (chunk) => chunks.push(chunk));
      req.on('end', () => {
        const { status, body } = anchorAnswer(req.url, Buffer.concat(chunks).toString('utf8'));
        res.writeHead(status, {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
        });
        res.end(body);
      });
    });
    server.listen(0, '127.0.0.1', () => ready(server.address().port));
    return;
  }
  // The server package's own copies, so that the anchor runs the very versions it uses.
  const require = createRequire(join(root, 'packages/server/package.json'));
  const load = (name) => import(pathToFileURL(require.resolve(name)).href);
  const [{ serve }, { Hono }] = await Promise.all([load('@hono/node-server'), load('hono')]);
  const app = new Hono();
  const answer = async (c) => {
    const { status, body } = anchorAnswer(c.req.path, await c.req.text());
    return c.body(body, status, { 'content-type': 'application/json' });
  };
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.post('/v1/tasks', answer);
  app.post('/v1/tasks/batch', answer);
  serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => ready(info.port));
}

/** Starts a server process on a free port; resolves with its URL and a stop function. */
function startServer({ command, args }) {
  const child = spawn(command, [...args, '--port', '0', '--host', '127.0.0.1'], {
    cwd: join(root, 'packages/server'),
    env: { ...process.env, PORT: '', HOST: '', SWITCHBOARD_BACKEND: '' },
    stdio: ['ignore', 'pipe', 'inherit'],
    // Its own process group: the npm `deno` and `bun` commands are wrappers that start the
    // real binary as a child, which a kill of the wrapper alone would leave running.
    detached: true,
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /serving (http:\/\/\S+)/.exec(out);
      if (m)
        resolve({
          url: m[1],
          line: out.trim(),
          stop: () =>
            new Promise((r) => {
              if (child.exitCode !== null || child.signalCode !== null) return r();
              child.once('exit', r);
              process.kill(-child.pid, 'SIGKILL');
            }),
        });
    });
    child.once('exit', (code) => reject(new Error(`server exited (${code}): ${out}`)));
  });
}

function cannon(options) {
  return new Promise((resolve, reject) => {
    autocannon(
      { duration: DURATION, connections: CONNECTIONS, pipelining: PIPELINING, ...options },
      (err, result) => (err ? reject(err) : resolve(result)),
    );
  });
}

const task = JSON.stringify({ capability: 'bench', payload: { n: 1 } });
const batch = JSON.stringify({
  tasks: Array.from({ length: BATCH }, (_, i) => ({ capability: 'bench', payload: { n: i } })),
});
const json = { 'content-type': 'application/json' };

async function health(url) {
  const r = await cannon({ url: `${url}/healthz` });
  return { perSec: r.requests.average, non2xx: r.non2xx + r.errors, p99: r.latency.p99 };
}

async function submitSingle(url) {
  const r = await cannon({ url: `${url}/v1/tasks`, method: 'POST', headers: json, body: task });
  return { perSec: r.requests.average, non2xx: r.non2xx + r.errors, p99: r.latency.p99 };
}

async function submitBatch(url) {
  const r = await cannon({
    url: `${url}/v1/tasks/batch`,
    method: 'POST',
    headers: json,
    body: batch,
    connections: Math.min(CONNECTIONS, 8),
  });
  return { perSec: r.requests.average * BATCH, non2xx: r.non2xx + r.errors, p99: r.latency.p99 };
}

async function post(url, path, body) {
  const res = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: json,
    body: JSON.stringify(body),
    // A request that never answers fails the bench rather than hanging it.
    signal: AbortSignal.timeout(10_000),
  });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

async function roundTrip(url) {
  const agent = await post(url, '/v1/agents', {
    name: 'bench',
    capabilities: ['rt'],
    maxConcurrency: 1,
  });
  await post(url, '/v1/tasks/batch', {
    tasks: Array.from({ length: ROUND_TRIPS + 200 }, () => ({ capability: 'rt' })),
  });
  const samples = [];
  for (let i = 0; i < ROUND_TRIPS + 200; i++) {
    const t0 = performance.now();
    const { tasks } = await post(url, `/v1/agents/${agent.id}/lease`, { max: 1 });
    await post(url, `/v1/tasks/${tasks[0].id}/complete`, {
      leaseToken: tasks[0].leaseToken,
      result: i,
    });
    if (i >= 200) samples.push(performance.now() - t0); // the first 200 warm up the JIT
  }
  samples.sort((a, b) => a - b);
  const at = (q) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))];
  return { p50: at(0.5), p99: at(0.99) };
}

const fmt = (n) => Math.round(n).toLocaleString('en-US');
const ratio = (a, b) => (a === undefined || b === undefined ? '' : `${(a / b).toFixed(2)}×`);

/** Runs `fn` on a fresh server `ROUNDS` times; keeps the best throughput (and its p99). */
async function best(server, fn) {
  let top;
  let errors = 0;
  for (let i = 0; i < ROUNDS; i++) {
    const running = await startServer(server);
    try {
      const r = { ...(await fn(running.url)), line: running.line };
      errors += r.non2xx;
      if (top === undefined || r.perSec > top.perSec) top = r;
    } finally {
      await running.stop();
    }
  }
  return { ...top, non2xx: errors };
}

/** Measures every runtime and anchor; resolves with the table's rows. */
export async function run() {
  if (!existsSync(bundle('node')))
    throw new Error('no server bundle: run `node scripts/build.mjs` first');
  const servers = [...ANCHORS, ...RUNTIMES];
  const figures = new Map(servers.map((s) => [s.name, {}]));
  // Scenario by scenario, servers alternating, so that a burst of load elsewhere on the
  // machine falls on all of them rather than on one.
  for (const [scenario, fn] of [
    ['health', health],
    ['single', submitSingle],
    ['batched', submitBatch],
  ]) {
    for (const server of servers) figures.get(server.name)[scenario] = await best(server, fn);
  }
  const hono = figures.get('@hono/node-server (bare)');
  const rows = [];
  for (const server of servers) {
    const f = figures.get(server.name);
    let rt;
    if (!server.anchor) {
      const running = await startServer(server);
      try {
        rt = await roundTrip(running.url);
      } finally {
        await running.stop();
      }
      console.log(f.single.line);
    }
    rows.push({
      server: server.name,
      'health req/s': fmt(f.health.perSec),
      'health × hono': ratio(f.health.perSec, hono.health.perSec),
      'submit req/s': fmt(f.single.perSec),
      'submit × hono': ratio(f.single.perSec, hono.single.perSec),
      'submit p99 ms': f.single.p99,
      'batched tasks/s': fmt(f.batched.perSec),
      'batched × hono': ratio(f.batched.perSec, hono.batched.perSec),
      'batch p99 ms': f.batched.p99,
      'lease→complete p50 ms': rt === undefined ? '' : rt.p50.toFixed(3),
      'lease→complete p99 ms': rt === undefined ? '' : rt.p99.toFixed(3),
      errors: f.health.non2xx + f.single.non2xx + f.batched.non2xx,
      bar:
        server.name === 'node'
          ? f.single.perSec >= 20_000 && f.batched.perSec >= 200_000
            ? 'met'
            : 'MISSED'
          : '',
    });
  }
  console.log(
    `\nHTTP over loopback, best of ${ROUNDS} × ${DURATION} s per scenario, ${CONNECTIONS} connections (8 for batches)`,
  );
  return rows;
}

/** The rows as a markdown table, for RESULTS.md. */
export function toMarkdown(rows) {
  const keys = Object.keys(rows[0] ?? {});
  const lines = [
    `| ${keys.join(' | ')} |`,
    `|${keys.map((_, i) => (i ? '---:' : '---')).join('|')}|`,
  ];
  for (const row of rows) lines.push(`| ${keys.map((k) => row[k]).join(' | ')} |`);
  return lines.join('\n');
}

/** Kept for callers of the first version. */
export const main = run;

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const at = process.argv.indexOf('--anchor');
  if (at !== -1) await serveAnchor(process.argv[at + 1]);
  else {
    const rows = await run();
    console.table(rows);
    console.log(`\n${toMarkdown(rows)}`);
  }
}
