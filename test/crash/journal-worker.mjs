// A process on the journal backend, for the crash test: it takes tasks on stdin, prints
// `ack <key>` once each is durably enqueued, and leases and completes tasks in a loop. A
// task whose key starts with `poison` takes the process down (exit code 3) when leased.
// Usage: node journal-worker.mjs <dir> [fsync|write]   (bundled by journal-crash.test.ts)
//   stdin  `task <key> <key> ...`   enqueue one batch (task id `task-<key>`, idempotency key <key>)
//   stdin  `report <key> ...`       prints `state <key> <status> <result>` for each, then `end`
//   stdout `ready`, `ack <key>`, `warn <code> <message>`
import { createInterface } from 'node:readline';
import { createLeaseToken } from '@switchboard/core';
import { createJournalBackend } from '@switchboard/plugins/journal';

const dir = process.argv[2];
const out = (line) => process.stdout.write(`${line}\n`);
const backend = createJournalBackend({
  dir,
  // Both survive a kill -9: `write` leaves the data in the OS page cache, which outlives us.
  durability: process.argv[3] ?? 'fsync',
  // Small, so that kills land during compactions too.
  compactAfterBytes: 64 * 1024,
  // Every task of the test stays readable (the default keeps the last 10,000).
  maxRetained: 1_000_000,
  onWarning: (w) => out(`warn ${w.code} ${w.message}`),
});
await backend.open();
out('ready');

const record = (key) => {
  const now = Date.now();
  return {
    id: `task-${key}`,
    capability: 'work',
    payload: { key, pad: 'x'.repeat(64) },
    priority: ['critical', 'high', 'normal', 'low'][key.length % 4],
    status: 'queued',
    attempts: 0,
    // A lease that dies with the process costs its attempt; the kills of the test must not
    // use up an ordinary task's attempts, while a poison task has three.
    maxAttempts: key.startsWith('poison') ? 3 : 1_000_000,
    timeoutMs: 30_000,
    availableAt: now,
    idempotencyKey: key,
    createdAt: now,
    updatedAt: now,
  };
};

createInterface({ input: process.stdin }).on('line', async (line) => {
  const [command, ...keys] = line.trim().split(/\s+/);
  if (command === 'task') {
    await backend.enqueue(keys.map(record));
    out(keys.map((key) => `ack ${key}`).join('\n'));
  } else if (command === 'report') {
    const lines = [];
    for (const key of keys) {
      const t = await backend.get(`task-${key}`);
      lines.push(`state ${key} ${t?.status ?? 'missing'} ${JSON.stringify(t?.result ?? null)}`);
    }
    out(`${lines.join('\n')}\nend`);
  }
});

// The agent: lease a batch, "run" it, complete it; idle a little when there is nothing. It
// runs the tasks in this process, so it leases with a process-only token: such a lease dies
// with the process and its attempt counts.
for (;;) {
  const leased = await backend.lease({
    capability: 'work',
    agentId: 'w',
    max: 64,
    now: Date.now(),
    token: createLeaseToken(),
  });
  if (leased.length === 0) {
    await new Promise((resolve) => setTimeout(resolve, 2));
    continue;
  }
  if (leased.some((t) => t.idempotencyKey.startsWith('poison'))) process.exit(3);
  const completions = leased.map((t) => ({
    id: t.id,
    leaseToken: t.leaseToken,
    result: t.idempotencyKey,
  }));
  await backend.completeMany(completions, Date.now());
}
