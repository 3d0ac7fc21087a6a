// Priority queue throughput at a steady depth: the Rust queue (@switchboard/native), the
// TypeScript bucket queue (@switchboard/core) and flatqueue (a binary heap; FIFO within a
// level made by a sequence number in the priority), measured in one process, side by side.
// Per item: push one + pop one. Batched: pushMany(1024) + popMany(1024) (flatqueue has no
// batch API: a loop of 1024 push + 1024 pop). Depths 1k, 100k, 1M; levels 0..3 at random.
// Run `node scripts/build.mjs` first: the packages resolve to their dist bundles.
// Usage: node --expose-gc bench/queue.bench.mjs
// (BENCH_TIME_MS=100 per sample, BENCH_SAMPLES=9 samples per implementation by default)
import { pathToFileURL } from 'node:url';
import { BucketQueue } from '@switchboard/core';
import { loadNative, NativePriorityQueue } from '@switchboard/native';
import FlatQueue from 'flatqueue';

const BATCH = 1024;
const DEPTHS = [1_000, 100_000, 1_000_000];
const SAMPLE_MS = Number(process.env.BENCH_TIME_MS ?? 100);
// Samples alternate between implementations and the best is kept: on a shared machine,
// noise only ever slows a sample down, and alternating exposes each to the same noise.
// More, shorter samples converge better than a few long ones when the machine is busy.
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 9);
// Distinct payload objects, reused: the queues are measured, not the allocator.
const POOL = 1 << 16;
const payloads = Array.from({ length: POOL }, (_, i) => ({ id: i }));
const levels = Uint8Array.from({ length: POOL + BATCH }, (_, i) => (i * 2654435761) % 4);

/** flatqueue behind the same calls, FIFO within a level through a sequence number. */
class FlatAdapter {
  q = new FlatQueue();
  seq = 0;
  get size() {
    return this.q.length;
  }
  push(item, level) {
    this.q.push(item, level * 2 ** 40 + this.seq++);
  }
  pop() {
    return this.q.pop();
  }
  pushMany(items, lv) {
    for (let i = 0; i < items.length; i++) this.push(items[i], lv[i]);
  }
  popMany(max) {
    const out = [];
    for (let i = 0; i < max && this.q.length > 0; i++) out.push(this.q.pop());
    return out;
  }
}

/** ops/s of one run of `step` (which does `perStep` operations) for SAMPLE_MS. */
function sample(step, perStep) {
  let ops = 0;
  const start = performance.now();
  let now = start;
  while (now - start < SAMPLE_MS) {
    for (let k = 0; k < 16; k++) step();
    ops += 16 * perStep;
    now = performance.now();
  }
  return (ops * 1000) / (now - start);
}

function fill(queue, depth) {
  for (let done = 0; done < depth; done += BATCH) {
    const n = Math.min(BATCH, depth - done);
    const at = done % POOL;
    queue.pushMany(payloads.slice(at, at + n), levels.subarray(at, at + n));
  }
}

function perItem(queue) {
  let i = 0;
  return () => {
    queue.push(payloads[i], levels[i]);
    queue.pop();
    i = (i + 1) & (POOL - 1);
  };
}

function batched(queue) {
  const batches = Array.from({ length: POOL / BATCH }, (_, b) =>
    payloads.slice(b * BATCH, (b + 1) * BATCH),
  );
  let b = 0;
  return () => {
    queue.pushMany(batches[b], levels.subarray(b * BATCH, (b + 1) * BATCH));
    queue.popMany(BATCH);
    b = (b + 1) % batches.length;
  };
}

/** Measures every implementation at every depth; returns one row per measurement. */
export function run() {
  const load = loadNative();
  const makers = { ts: () => new BucketQueue(), flatqueue: () => new FlatAdapter() };
  if (load.addon) makers.native = () => new NativePriorityQueue(load.addon);
  else console.warn(`queue.bench: native skipped: ${load.reason}`);
  const rows = [];
  for (const depth of DEPTHS) {
    for (const [op, make, perStep] of [
      ['push+pop', perItem, 2],
      [`pushMany+popMany(${BATCH})`, batched, 2 * BATCH],
    ]) {
      const runs = Object.entries(makers).map(([impl, create]) => {
        const queue = create();
        fill(queue, depth);
        return { impl, queue, step: make(queue), best: 0 };
      });
      for (let s = 0; s < SAMPLES; s++) {
        for (const r of runs) {
          globalThis.gc?.();
          r.best = Math.max(r.best, sample(r.step, perStep));
        }
      }
      const rates = {};
      for (const r of runs) {
        if (r.queue.size !== depth) throw new Error(`${r.impl} drifted from depth ${depth}`);
        rates[r.impl] = r.best;
      }
      for (const [impl, opsPerSec] of Object.entries(rates)) {
        rows.push({ depth, op, impl, opsPerSec, vsTs: opsPerSec / rates.ts });
      }
    }
  }
  return rows;
}

function main() {
  const started = performance.now();
  const rows = run();
  console.log(
    `priority queue: items/s at a steady depth (best of ${SAMPLES}, alternating), ratio to the TypeScript queue`,
  );
  console.table(
    rows.map((r) => ({
      depth: r.depth.toLocaleString('en'),
      op: r.op,
      impl: r.impl,
      'ops/s': Math.round(r.opsPerSec).toLocaleString('en'),
      'vs ts': `${r.vsTs.toFixed(2)}×`,
    })),
  );
  console.log(`(${((performance.now() - started) / 1000).toFixed(1)} s)`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) main();
