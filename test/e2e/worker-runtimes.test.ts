// The worker of @switchboard/client on Node, Bun and Deno: worker-script.ts, bundled from the
// sources, runs as a real process of each runtime against a real server on 127.0.0.1. Its
// concurrency holds, a task three times longer than its lease completes on its first
// attempt, a cancel reaches the handler's signal, and it closes by draining, then leaves.
// A runtime that cannot be found is skipped, saying so.
import { createClient } from '@switchboard/client';
import { createSwitchboard, type Switchboard } from '@switchboard/core';
import { createApp } from '@switchboard/server';
import { nodeRuntime } from '@switchboard/server/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleep } from '../helpers/http-agent.js';
import {
  bundleWorkerScript,
  startWorkerProcess,
  workerRuntimes,
} from '../helpers/worker-process.js';

const runtimes = workerRuntimes();

async function until(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const end = Date.now() + 15_000;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

describe('the worker on each runtime', () => {
  let sb: Switchboard;
  let server: Awaited<ReturnType<typeof nodeRuntime.serve>>;
  let url: string;
  let script: string;

  beforeAll(async () => {
    script = await bundleWorkerScript('test/e2e/worker-script.ts');
    sb = createSwitchboard();
    await sb.start();
    server = await nodeRuntime.serve(createApp(sb).fetch, { port: 0, host: '127.0.0.1' });
    url = `http://127.0.0.1:${server.port}`;
  }, 30_000);
  afterAll(async () => {
    await sb?.shutdown({ drain: false });
    await server?.close();
  });

  for (const runtime of runtimes) {
    const { name } = runtime;
    it.skipIf(runtime.bin === undefined)(
      `${name}: concurrency, a lease extended, a cancel, a graceful close`,
      async () => {
        const client = createClient({ baseUrl: url });
        const worker = startWorkerProcess(runtime, script, url);
        try {
          const { id: long } = await client.submit({
            capability: 'job',
            payload: { ms: 1500 },
            timeoutMs: 500,
            maxAttempts: 1,
          });
          const { ids: short } = await client.submitBatch(
            Array.from({ length: 12 }, () => ({ capability: 'job', payload: { ms: 50 } })),
          );
          const { id: cancelled } = await client.submit({
            capability: 'job',
            payload: { waitForCancel: true },
            timeoutMs: 500,
          });
          await until(
            async () => (await client.getTask(cancelled)).status === 'leased',
            'the task to cancel to be leased',
          );
          await client.cancel(cancelled);
          await until(
            () => worker.lines.some((l) => l.aborted === cancelled),
            'the cancel to reach the handler',
          );
          expect(worker.lines.find((l) => l.aborted === cancelled)).toEqual({
            aborted: cancelled,
            code: 'cancelled',
          });

          const done = await Promise.all([long, ...short].map((id) => client.result(id, 15_000)));
          expect(done.map((t) => [t.status, t.attempts])).toEqual(done.map(() => ['completed', 1]));
          for (const t of done) expect((t.result as { most: number }).most).toBeLessThanOrEqual(3);

          const { agents } = await client.listAgents();
          expect(agents).toHaveLength(1);
          const { id: closer } = await client.submit({
            capability: 'job',
            payload: { close: true },
          });
          expect(await worker.exited).toBe(0);
          expect((await client.getTask(closer)).status).toBe('completed');
          expect(worker.lines.at(-1)).toEqual({ closed: 'closed', most: 3 });
          // It left: the server no longer lists it.
          expect((await client.listAgents()).agents).toEqual([]);
          expect(worker.lines.filter((l) => 'error' in l)).toEqual([]);
        } finally {
          worker.child.kill('SIGKILL');
          if (worker.stderr() !== '') console.warn(`${name} worker stderr:\n${worker.stderr()}`);
        }
      },
      40_000,
    );
  }
});
