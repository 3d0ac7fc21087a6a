// The worker of @switchboard/client on Node, Bun and Deno: worker-script.ts, bundled from the
// sources, runs as a real process of each runtime against a real server on 127.0.0.1. Its
// concurrency holds, a task three times longer than its lease completes on its first
// attempt, a cancel reaches the handler's signal, and it closes by draining, then leaves.
// A runtime that cannot be found is skipped, saying so.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execPath } from 'node:process';
import { fileURLToPath } from 'node:url';
import { createClient } from '@switchboard/client';
import { createSwitchboard, type Switchboard } from '@switchboard/core';
import { createApp } from '@switchboard/server';
import { nodeRuntime } from '@switchboard/server/node';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleep } from '../helpers/http-agent.js';
import { findRuntime } from './servers.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bun = findRuntime('bun');
const deno = findRuntime('deno');
const runtimes: [string, string | undefined, string[]][] = [
  ['Node', execPath, []],
  ['Bun', bun, []],
  ['Deno', deno, ['run', '--allow-net']],
];
for (const [name, bin] of runtimes) {
  if (bin === undefined) console.warn(`worker runtimes: no ${name} found, its test is skipped`);
}

/** The worker script as one ES module, with the workspace packages from their sources. */
async function bundleWorker(): Promise<string> {
  const outfile = join(mkdtempSync(join(tmpdir(), 'sb-worker-')), 'worker.mjs');
  await build({
    entryPoints: [join(root, 'test/e2e/worker-script.ts')],
    outfile,
    bundle: true,
    platform: 'neutral',
    format: 'esm',
    target: 'es2022',
    external: ['node:*'],
    logLevel: 'warning',
    plugins: [
      {
        name: 'workspace-sources',
        setup(b) {
          b.onResolve({ filter: /^@switchboard\/(client|core)$/ }, ({ path }) => ({
            path: join(root, `packages/${path.slice('@switchboard/'.length)}/src/index.ts`),
          }));
        },
      },
    ],
  });
  return outfile;
}

/** Runs the worker; `lines` fills with what it prints, `exited` resolves with its status. */
function startWorker(bin: string, args: string[], script: string, url: string) {
  const child: ChildProcess = spawn(bin, [...args, script, url], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Record<string, unknown>[] = [];
  let output = '';
  child.stdout?.on('data', (data: Buffer) => {
    output += data.toString();
    const parts = output.split('\n');
    output = parts.pop() ?? '';
    for (const part of parts) if (part.trim() !== '') lines.push(JSON.parse(part));
  });
  let stderr = '';
  child.stderr?.on('data', (data: Buffer) => {
    stderr += data.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { child, lines, exited, stderr: () => stderr };
}

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
    script = await bundleWorker();
    sb = createSwitchboard();
    await sb.start();
    server = await nodeRuntime.serve(createApp(sb).fetch, { port: 0, host: '127.0.0.1' });
    url = `http://127.0.0.1:${server.port}`;
  }, 30_000);
  afterAll(async () => {
    await sb?.shutdown({ drain: false });
    await server?.close();
  });

  for (const [name, bin, args] of runtimes) {
    it.skipIf(bin === undefined)(
      `${name}: concurrency, a lease extended, a cancel, a graceful close`,
      async () => {
        const client = createClient({ baseUrl: url });
        const worker = startWorker(bin as string, args, script, url);
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
