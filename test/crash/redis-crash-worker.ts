// A Switchboard worker process of the Redis crash test: leases tasks of `crash`, "works"
// up to 20 ms, completes them, and prints `done <id>` once a complete is acknowledged. It is
// SIGKILLed at random moments; Redis is restarted under it. Bundled by the test (esbuild).
// Usage: node redis-crash-worker.cjs <port> <prefix> <name>
import { isSwitchboardError } from '@switchboard/core';
import { createRedisBackend } from '@switchboard/plugins/redis';

const [port, prefix, name] = process.argv.slice(2);
const backend = createRedisBackend({
  port: Number(port),
  prefix,
  leaseSweepMs: 50,
  commandTimeoutMs: 1_000,
  connectTimeoutMs: 1_000,
  maxReconnectDelayMs: 50,
});
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function complete(id: string, token: string, key: string | undefined): Promise<void> {
  for (;;) {
    try {
      await backend.complete(id, token, { by: name, key }, Date.now());
      process.stdout.write(`done ${id}\n`);
      return;
    } catch (err) {
      // Redis is restarting: retry the same complete (a lost reply is recognized).
      if (isSwitchboardError(err, 'unavailable')) await sleep(20);
      // The lease expired and another worker has the task: it is theirs now.
      else if (isSwitchboardError(err, 'conflict')) return;
      else throw err;
    }
  }
}

async function main(): Promise<void> {
  for (;;) {
    try {
      await backend.open();
      break;
    } catch {
      await sleep(50);
    }
  }
  let wake: (() => void) | undefined;
  backend.onAvailable(() => wake?.());
  process.stdout.write('ready\n');
  for (;;) {
    let tasks: Awaited<ReturnType<typeof backend.lease>>;
    try {
      tasks = await backend.lease({ capability: 'crash', agentId: name!, max: 8, now: Date.now() });
    } catch (err) {
      if (!isSwitchboardError(err, 'unavailable')) throw err;
      await sleep(20);
      continue;
    }
    if (tasks.length === 0) {
      await Promise.race([sleep(50), new Promise<void>((resolve) => (wake = resolve))]);
      continue;
    }
    await Promise.all(
      tasks.map(async (t) => {
        await sleep(Math.random() * 20);
        await complete(t.id, t.leaseToken!, t.idempotencyKey);
      }),
    );
  }
}

main().catch((err) => {
  process.stderr.write(`worker ${name}: ${err instanceof Error ? err.stack : err}\n`);
  process.exit(1);
});
