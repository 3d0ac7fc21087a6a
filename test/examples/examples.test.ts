/**
 * The folders of examples/, each run as a reader would run it, so that none rots: the embedding
 * example on Node (with tsx), Bun and Deno; the TypeScript and the Python worker against a real
 * server on 127.0.0.1, fed a task through the client; the config file served by `switchboard
 * serve --config`; the third-party plugin, installed by its package name in demo.ts and in a
 * server by its config file. The READMEs' code blocks are the example files, checked here to the byte. A runtime that
 * cannot be found (Bun, Deno, Python 3.9 or later) is skipped, saying so. The plugin's own
 * test is third-party-plugin.test.ts, beside this file, and the browser pool's is
 * browser-pool.test.ts.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execPath } from 'node:process';
import { createClient } from '@switchboard/client';
import { afterEach, describe, expect, it } from 'vitest';
import { bundle, findRuntime, type ServerProcess, spawnServer } from '../e2e/servers.js';
import { missingPython } from '../helpers/python.js';
import {
  killAll,
  processTree,
  root,
  type StartedProcess,
  startProcess,
} from '../shutdown/serve-process.js';

const examples = join(root, 'examples');
/** tsx, the runner the README gives for TypeScript on Node 20, as the examples pin it. */
const tsx = join(examples, 'embedding/node_modules/.bin/tsx');

/** Runs `command` to its end in `cwd`; resolves with its exit code and what it printed. */
function run(
  command: string,
  args: string[],
  cwd: string,
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      { cwd, env: { ...process.env, ...env }, timeout: 60_000 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** The body of the first fenced block after the heading `heading` of `readme` (from the root). */
function readmeBlock(heading: string, readme = 'README.md'): string {
  const text = readFileSync(join(root, readme), 'utf8');
  const at = text.indexOf(`\n${heading}\n`);
  if (at < 0) throw new Error(`${readme} has no heading "${heading}"`);
  const block = /^```\w*\n([\s\S]*?)^```$/m.exec(text.slice(at));
  if (block === null) throw new Error(`${readme} has no code block after "${heading}"`);
  return block[1] as string;
}

const runtimes = [
  { name: 'Node (tsx)', bin: existsSync(tsx) ? tsx : undefined, args: [] as string[] },
  { name: 'Bun', bin: findRuntime('bun'), args: [] },
  { name: 'Deno', bin: findRuntime('deno'), args: ['run'] },
];
for (const { name, bin } of runtimes) {
  if (bin === undefined) console.warn(`examples: no ${name} found, its embedding run is skipped`);
}
const python = missingPython();
if (python !== undefined) console.warn(`examples: ${python}, the Python worker's run is skipped`);

describe('examples/embedding', () => {
  for (const { name, bin, args } of runtimes) {
    it.skipIf(bin === undefined)(
      `runs on ${name} and prints its results`,
      async () => {
        const out = await run(bin as string, [...args, 'index.ts'], join(examples, 'embedding'));
        expect(out.code, out.stderr).toBe(0);
        expect(JSON.parse(out.stdout)).toEqual({
          result: { summary: 'hello', attempt: 1 },
          summaries: [
            { summary: 'first page', attempt: 1 },
            { summary: 'second page', attempt: 1 },
          ],
        });
        // A cold start (tsx compiling, Bun or Deno starting up) on a loaded machine
        // may take seconds: the bound is the run's own 60 s timeout, not vitest's default.
      },
      70_000,
    );
  }
});

describe('the remote workers of examples/', () => {
  let server: ServerProcess | undefined;
  let worker: StartedProcess | undefined;
  afterEach(async () => {
    if (worker !== undefined) killAll(processTree(worker.pid));
    worker = undefined;
    await server?.stop();
    server = undefined;
  });

  /** What a worker answers for a fetch of the server's /healthz: its status and length. */
  async function healthz(url: string) {
    const page = await fetch(`${url}/healthz`);
    return { status: page.status, bytes: (await page.text()).length };
  }

  it('examples/ts-worker: the worker completes what submit.ts submits, then leaves on SIGTERM', async () => {
    server = await spawnServer(execPath, [bundle('node'), 'serve'], {});
    const env = { SWITCHBOARD_URL: server.url };
    worker = startProcess(tsx, [join(examples, 'ts-worker/worker.ts')], env);
    const submitted = await run(
      tsx,
      ['submit.ts', `${server.url}/healthz`],
      join(examples, 'ts-worker'),
      env,
    );
    expect(submitted.code, submitted.stderr).toBe(0);
    const printed = JSON.parse(submitted.stdout);
    expect(printed).toMatchObject({ status: 'completed', result: await healthz(server.url) });

    process.kill(worker.pid, 'SIGTERM');
    expect((await worker.exited).code, worker.lines().join('\n')).toBe(0);
    const { agents } = await createClient({ baseUrl: server.url }).listAgents();
    expect(agents).toEqual([]);
  }, 60_000);

  it.skipIf(python !== undefined)(
    'examples/python-worker: completes a fetch, dead-letters a task without a URL at once',
    async () => {
      server = await spawnServer(execPath, [bundle('node'), 'serve'], {});
      worker = startProcess('python3', [join(examples, 'python-worker/worker.py')], {
        SWITCHBOARD_URL: server.url,
        PYTHONPATH: join(root, 'clients/python'),
        PYTHONDONTWRITEBYTECODE: '1',
      });
      const client = createClient({ baseUrl: server.url });
      const { id } = await client.submit({
        capability: 'browser',
        payload: { url: `${server.url}/healthz` },
      });
      const done = await client.result(id, 20_000);
      expect(done.status, worker.lines().join('\n')).toBe('completed');
      expect(done.result).toEqual({ ...(await healthz(server.url)), attempt: 1 });

      const { id: bad } = await client.submit({ capability: 'browser', payload: {} });
      const dead = await client.result(bad, 20_000);
      expect(dead).toMatchObject({ status: 'dead', attempts: 1 });

      process.kill(worker.pid, 'SIGTERM');
      expect((await worker.exited).code, worker.lines().join('\n')).toBe(0);
      expect((await client.listAgents()).agents).toEqual([]);
    },
    60_000,
  );
});

describe('examples/config-file', () => {
  it('is served by switchboard serve --config: its echo agent answers, its rate limit holds', async () => {
    const config = join(examples, 'config-file/switchboard.config.mjs');
    const server = await spawnServer(execPath, [bundle('node'), 'serve'], config);
    try {
      const client = createClient({ baseUrl: server.url });
      const { id } = await client.submit({ capability: 'echo', payload: { hello: 'world' } });
      const task = await client.result(id, 10_000);
      expect(task).toMatchObject({ status: 'completed', result: { echoed: { hello: 'world' } } });

      // Its per-IP bucket (200, refilled at 100 a second) lets through no more than it holds
      // plus what it refilled while the burst lasted; the rest is refused with a Retry-After.
      const started = Date.now();
      const answers = await Promise.all(
        Array.from({ length: 600 }, () => fetch(`${server.url}/v1/stats`)),
      );
      const seconds = (Date.now() - started) / 1000;
      const ok = answers.filter((a) => a.status === 200).length;
      const refused = answers.filter((a) => a.status === 429);
      expect(ok).toBeLessThanOrEqual(200 + Math.ceil(100 * seconds));
      expect(ok + refused.length).toBe(600);
      for (const answer of refused) expect(answer.headers.get('retry-after')).toMatch(/^\d+$/);
      await Promise.all(answers.map((a) => a.body?.cancel()));
    } finally {
      await server.stop();
    }
  }, 30_000);
});

describe('examples/third-party-plugin', () => {
  it('demo.ts installs the plugin by its package name, and least-latency sends the work to the fast agent', async () => {
    const out = await run(tsx, ['demo.ts'], join(examples, 'third-party-plugin'));
    expect(out.code, out.stderr).toBe(0);
    const placed: Record<string, number> = JSON.parse(out.stdout);
    // Each agent is tried once while unmeasured; round-robin would have split the twenty 10/10.
    expect(placed.fast).toBeGreaterThanOrEqual(18);
    expect(placed.slow ?? 0).toBeLessThanOrEqual(2);
    expect((placed.fast ?? 0) + (placed.slow ?? 0)).toBe(20);
  }, 70_000);

  it('switchboard.config.mjs installs it in a server, whose tasks go to the fast agent', async () => {
    // Under tsx, as the README says, because the plugin's exports are its TypeScript sources.
    const config = join(examples, 'third-party-plugin/switchboard.config.mjs');
    const server = await spawnServer(tsx, [bundle('node'), 'serve'], config);
    try {
      const client = createClient({ baseUrl: server.url });
      const placed: Record<string, number> = {};
      for (let i = 0; i < 20; i++) {
        const { id } = await client.submit({ capability: 'llm', payload: i });
        const task = await client.result(id, 10_000);
        expect(task.status, server.output()).toBe('completed');
        const agent = task.result as string;
        placed[agent] = (placed[agent] ?? 0) + 1;
      }
      expect(placed.fast).toBeGreaterThanOrEqual(18);
      expect(placed.slow ?? 0).toBeLessThanOrEqual(2);
    } finally {
      await server.stop();
    }
  }, 60_000);

  const blocks = [
    ['## Using it', 'demo.ts'],
    ['## Served', 'switchboard.config.mjs'],
  ] as const;
  for (const [heading, file] of blocks) {
    it(`its README's block under ${heading} is ${file}`, () => {
      expect(readmeBlock(heading, 'examples/third-party-plugin/README.md')).toBe(
        readFileSync(join(examples, 'third-party-plugin', file), 'utf8'),
      );
    });
  }
});

describe("the README's code blocks are the example files", () => {
  const cases = [
    ['## Embedding the core', 'embedding/index.ts'],
    ['### A remote worker in TypeScript', 'ts-worker/worker.ts'],
    ['### A config file', 'config-file/switchboard.config.mjs'],
  ] as const;
  for (const [heading, file] of cases) {
    it(`${heading} shows examples/${file}`, () => {
      expect(readmeBlock(heading)).toBe(readFileSync(join(examples, file), 'utf8'));
    });
  }
});
