// HTTP throughput and latency of @switchboard/server over loopback, measured with autocannon
// against the server bundle on Node (and Bun and Deno when they are installed), each server
// in its own process, freshly started per scenario:
// - submit, single: POST /v1/tasks, one task a request;
// - submit, batched: POST /v1/tasks/batch, 1,000 tasks a request (figure: tasks/s);
// - lease→complete: one remote agent, sequential lease(max 1) then complete, p50/p99 of the pair.
// The bar (DESIGN.md): ≥ 20,000 single submits/s and ≥ 200,000 tasks/s batched on Node.
// Run `node scripts/build.mjs` first. Usage: node bench/http.bench.mjs
//   BENCH_DURATION_S=5 (per scenario), BENCH_CONNECTIONS=64, BENCH_PIPELINING=1,
//   BUN_BIN / DENO_BIN to pick binaries.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import autocannon from 'autocannon';

const root = new URL('..', import.meta.url).pathname;
const DURATION = Number(process.env.BENCH_DURATION_S ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 64);
// HTTP/1.1 pipelining per connection (1: none, every request waits for the previous answer).
const PIPELINING = Number(process.env.BENCH_PIPELINING ?? 1);
const ROUND_TRIPS = Number(process.env.BENCH_ROUND_TRIPS ?? 3000);
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
].filter((r) => r.command !== undefined);

/** Starts a server process on a free port; resolves with its URL and a stop function. */
function startServer({ command, args }) {
  const child = spawn(command, [...args, '--port', '0', '--host', '127.0.0.1'], {
    cwd: join(root, 'packages/server'),
    env: { ...process.env, PORT: '', HOST: '', SWITCHBOARD_BACKEND: '' },
    stdio: ['ignore', 'pipe', 'inherit'],
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
              child.once('exit', r);
              child.kill('SIGKILL');
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

async function submitSingle(url) {
  const r = await cannon({
    url: `${url}/v1/tasks`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: task,
  });
  return { perSec: r.requests.average, non2xx: r.non2xx + r.errors, p99: r.latency.p99 };
}

async function submitBatch(url) {
  const r = await cannon({
    url: `${url}/v1/tasks/batch`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: batch,
    connections: Math.min(CONNECTIONS, 8),
  });
  return { perSec: r.requests.average * BATCH, non2xx: r.non2xx + r.errors, p99: r.latency.p99 };
}

async function post(url, path, body) {
  const res = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
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

export async function main() {
  if (!existsSync(bundle('node')))
    throw new Error('no server bundle: run `node scripts/build.mjs` first');
  const rows = [];
  for (const runtime of RUNTIMES) {
    const measure = async (fn) => {
      const server = await startServer(runtime);
      try {
        return { ...(await fn(server.url)), line: server.line };
      } finally {
        await server.stop();
      }
    };
    const single = await measure(submitSingle);
    const batched = await measure(submitBatch);
    const rt = await measure(roundTrip);
    console.log(single.line);
    rows.push({
      runtime: runtime.name,
      'submit req/s': fmt(single.perSec),
      'submit p99 ms': single.p99,
      'batched tasks/s': fmt(batched.perSec),
      'batch p99 ms': batched.p99,
      'lease→complete p50 ms': rt.p50.toFixed(3),
      'lease→complete p99 ms': rt.p99.toFixed(3),
      errors: single.non2xx + batched.non2xx,
      bar:
        runtime.name === 'node'
          ? single.perSec >= 20_000 && batched.perSec >= 200_000
            ? 'met'
            : 'MISSED'
          : '',
    });
  }
  console.log(
    `\nHTTP over loopback, ${DURATION} s per scenario, ${CONNECTIONS} connections (8 for batches)`,
  );
  console.table(rows);
  return rows;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) await main();
