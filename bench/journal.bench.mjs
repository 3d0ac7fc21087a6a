// Journal backend throughput, end to end: tasks enqueued, leased and completed, for each
// durability level, with core's in-memory backend as the anchor in the same run.
// Run `node scripts/build.mjs` first: the packages resolve to their dist/ bundles.
// Usage: node bench/journal.bench.mjs   (BENCH_TASKS=100000 tasks per case by default)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createMemoryBackend } from '@switchboard/core';
import { createJournalBackend } from '@switchboard/plugins/journal';

const BATCH = 1_000;

function records(from, n, now) {
  const out = new Array(n);
  for (let i = 0; i < n; i++) {
    out[i] = {
      id: `t-${from + i}`,
      capability: 'bench',
      payload: { n: from + i, url: 'https://example.org/page' },
      priority: 'normal',
      status: 'queued',
      attempts: 0,
      maxAttempts: 3,
      timeoutMs: 30_000,
      availableAt: now,
      createdAt: now,
      updatedAt: now,
    };
  }
  return out;
}

/** One batch of the whole path: enqueue, lease, complete, as few calls as possible. */
async function batched(backend, from, now) {
  await backend.enqueue(records(from, BATCH, now));
  const leased = await backend.lease({ capability: 'bench', agentId: 'a', max: BATCH, now });
  const done = leased.map((t) => ({ id: t.id, leaseToken: t.leaseToken, result: t.id }));
  await backend.completeMany(done, now);
}

/** One batch as single-task calls, all in flight at once: group commit does the batching. */
async function single(backend, from, now) {
  await Promise.all(records(from, BATCH, now).map((t) => backend.enqueue([t])));
  const leased = await backend.lease({ capability: 'bench', agentId: 'a', max: BATCH, now });
  await Promise.all(leased.map((t) => backend.complete(t.id, t.leaseToken, t.id, now)));
}

async function measure(name, durability, make, step, tasks) {
  const dir = mkdtempSync(join(tmpdir(), 'sb-journal-bench-'));
  const backend = make(dir);
  try {
    await backend.open();
    // Warm-up: JIT and file creation are not what is measured.
    await step(backend, -BATCH, Date.now());
    const start = performance.now();
    for (let from = 0; from < tasks; from += BATCH) await step(backend, from, Date.now());
    const seconds = (performance.now() - start) / 1000;
    const stats = (await backend.stats()).depth;
    if (stats !== 0) throw new Error(`${name}: ${stats} tasks left queued`);
    const syncs = backend.journalStats?.().syncs;
    return { name, durability, tasksPerSec: Math.round(tasks / seconds), fsyncs: syncs ?? 0 };
  } finally {
    await backend.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Opening a journal of `tasks` queued tasks: replay and restore, in tasks/s. */
async function replay(tasks) {
  const dir = mkdtempSync(join(tmpdir(), 'sb-journal-bench-'));
  try {
    const writer = createJournalBackend({ dir, durability: 'none' });
    await writer.open();
    for (let from = 0; from < tasks; from += BATCH) {
      await writer.enqueue(records(from, BATCH, Date.now()));
    }
    await writer.close();
    const start = performance.now();
    const reader = createJournalBackend({ dir });
    await reader.open();
    const seconds = (performance.now() - start) / 1000;
    const depth = (await reader.stats()).depth;
    await reader.close();
    if (depth !== tasks) throw new Error(`replay: ${depth} of ${tasks} tasks back`);
    return {
      name: 'journal open (replay)',
      durability: '-',
      tasksPerSec: Math.round(tasks / seconds),
      fsyncs: 0,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs every case and returns one row each: `{ name, durability, tasksPerSec, fsyncs }`. */
export async function run({ tasks = Number(process.env.BENCH_TASKS ?? 100_000) } = {}) {
  const journal = (durability) => (dir) =>
    createJournalBackend({ dir, durability, maxRetained: 1_000 });
  const memory = () => createMemoryBackend({ maxRetained: 1_000 });
  const rows = [await measure('memory (anchor)', '-', memory, batched, tasks)];
  for (const durability of ['fsync', 'write', 'none']) {
    rows.push(await measure('journal, batched', durability, journal(durability), batched, tasks));
  }
  rows.push(await measure('journal, single calls', 'fsync', journal('fsync'), single, tasks));
  rows.push(await replay(tasks));
  const anchor = rows[0].tasksPerSec;
  for (const r of rows) r.ofMemory = Number((r.tasksPerSec / anchor).toFixed(3));
  return rows;
}

/** The rows as a markdown table. */
export function toMarkdown(rows) {
  const lines = [
    '| backend | durability | tasks/s (enqueue → lease → complete) | × memory | fsyncs |',
    '|---|---|---:|---:|---:|',
  ];
  for (const r of rows) {
    const rate = r.tasksPerSec.toLocaleString('en-US');
    lines.push(`| ${r.name} | ${r.durability} | ${rate} | ${r.ofMemory} | ${r.fsyncs} |`);
  }
  return lines.join('\n');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(toMarkdown(await run()));
}
