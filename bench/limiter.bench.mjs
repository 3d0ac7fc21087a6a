// Rate-limiter checks: the Rust token bucket (@switchboard/native), the TypeScript one
// (@switchboard/core) and rate-limiter-flexible's RateLimiterMemory, in one process.
// Single: one check per call over 1,000 keys. Batched: tryAcquireMany of 1,024 checks
// (rate-limiter-flexible has no batch API and `consume` is async: its "batched" row is
// 1,024 consume() promises awaited with Promise.all, its single row awaits each one).
// Buckets are large enough that nearly every check is allowed (a denied check costs the
// same in ours, but rate-limiter-flexible rejects its promise, which would dominate).
// Run `node scripts/build.mjs` first: the packages resolve to their dist bundles.
// Usage: node bench/limiter.bench.mjs   (BENCH_TIME_MS=250 per sample by default)
import { pathToFileURL } from 'node:url';
import { TokenBucketLimiter } from '@switchboard/core';
import { loadNative, NativeRateLimiter } from '@switchboard/native';
import { RateLimiterMemory } from 'rate-limiter-flexible';

const KEYS = 1_000;
const BATCH = 1024;
const SAMPLE_MS = Number(process.env.BENCH_TIME_MS ?? 250);
// Samples alternate between implementations and the best is kept: on a shared machine,
// noise only ever slows a sample down, and alternating exposes each to the same noise.
const SAMPLES = 5;
const OPTIONS = { capacity: 1e12, refillPerSec: 1e9, maxKeys: 10_000 };
const keys = Array.from({ length: KEYS }, (_, i) => `submitter-${i}`);
const batches = Array.from({ length: 64 }, (_, b) =>
  Array.from({ length: BATCH }, (_, i) => keys[(b * 7919 + i * 31) % KEYS]),
);

/** checks/s of one run of `step` (which does `perStep` checks) for SAMPLE_MS. */
async function sample(step, perStep) {
  let ops = 0;
  const start = performance.now();
  let now = start;
  while (now - start < SAMPLE_MS) {
    for (let k = 0; k < 8; k++) await step();
    ops += 8 * perStep;
    now = performance.now();
  }
  return (ops * 1000) / (now - start);
}

function ours(limiter) {
  let t = 1_000_000;
  let i = 0;
  let b = 0;
  return {
    single: () => {
      for (let k = 0; k < BATCH; k++) {
        i = (i + 1) % KEYS;
        limiter.tryAcquire(keys[i], 1, t++);
      }
    },
    batched: () => {
      b = (b + 1) & 63;
      limiter.tryAcquireMany(batches[b], undefined, t++);
    },
  };
}

function flexible() {
  const limiter = new RateLimiterMemory({ points: 1e12, duration: 1 });
  let i = 0;
  let b = 0;
  return {
    single: async () => {
      for (let k = 0; k < BATCH; k++) {
        i = (i + 1) % KEYS;
        await limiter.consume(keys[i], 1);
      }
    },
    batched: () => {
      b = (b + 1) & 63;
      return Promise.all(batches[b].map((key) => limiter.consume(key, 1)));
    },
  };
}

/** Measures every implementation; returns one row per measurement. */
export async function run() {
  const load = loadNative();
  const impls = { ts: ours(new TokenBucketLimiter(OPTIONS)), 'rate-limiter-flexible': flexible() };
  if (load.addon) impls.native = ours(new NativeRateLimiter(load.addon, OPTIONS));
  else console.warn(`limiter.bench: native skipped: ${load.reason}`);
  const rows = [];
  for (const op of ['single', 'batched']) {
    const rates = {};
    for (const steps of Object.values(impls)) await steps[op]();
    for (let s = 0; s < SAMPLES; s++) {
      for (const [impl, steps] of Object.entries(impls)) {
        globalThis.gc?.();
        rates[impl] = Math.max(rates[impl] ?? 0, await sample(steps[op], BATCH));
      }
    }
    for (const [impl, checksPerSec] of Object.entries(rates)) {
      rows.push({ op, impl, checksPerSec, vsTs: checksPerSec / rates.ts });
    }
  }
  return rows;
}

async function main() {
  const started = performance.now();
  const rows = await run();
  console.log(
    `rate limiter: checks/s over ${KEYS} keys (best of 5, alternating), ratio to the TypeScript one`,
  );
  console.table(
    rows.map((r) => ({
      op: r.op === 'batched' ? `batched (${BATCH})` : 'single',
      impl: r.impl,
      'checks/s': Math.round(r.checksPerSec).toLocaleString('en'),
      'vs ts': `${r.vsTs.toFixed(2)}×`,
    })),
  );
  console.log(`(${((performance.now() - started) / 1000).toFixed(1)} s)`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
