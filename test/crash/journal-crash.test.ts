// Crash test of the journal backend with real processes: a worker process (journal-worker.mjs,
// bundled from the sources) takes tasks and completes them while it is killed with SIGKILL at
// random moments and restarted on the same directory. Every task it acknowledged must end
// completed, exactly once, with its own result; a task sent but not acknowledged is sent again
// (with the same idempotency key), as a client would. One round in three runs at durability
// `write`, which must survive a process kill as well. The same cycle, shorter, runs on Bun and
// Deno (from their npm packages) to show the file adapter works there.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportSource } from '../helpers/workspace-sources.js';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'sb-journal-crash-'));
const bundle = join(work, 'journal-worker.mjs');

/**
 * The real binary of an npm-installed runtime: the `.bin` shims are shell scripts whose
 * child a SIGKILL of the shim would not reach.
 */
function runtimeBinary(name: 'bun' | 'deno'): string | undefined {
  const { platform, arch } = process;
  const require = createRequire(here('../package.json'));
  let dir: string;
  try {
    dir = dirname(realpathSync(require.resolve(`${name}/package.json`)));
  } catch {
    return undefined;
  }
  const candidates = [join(dir, name === 'bun' ? 'bin/bun.exe' : 'deno')];
  try {
    const pkg =
      name === 'bun'
        ? `@oven/bun-${platform}-${arch === 'arm64' ? 'aarch64' : arch}`
        : `@deno/${platform}-${arch}${platform === 'linux' ? '-glibc' : ''}`;
    const plat = dirname(createRequire(join(dir, 'package.json')).resolve(`${pkg}/package.json`));
    candidates.unshift(join(plat, name === 'bun' ? 'bin/bun' : 'deno'));
  } catch {
    // The platform package is optional: the main package may hold the binary itself.
  }
  return candidates.find(
    (bin) => existsSync(bin) && spawnSync(bin, ['--version'], { stdio: 'ignore' }).status === 0,
  );
}

const bun = runtimeBinary('bun');
const deno = runtimeBinary('deno');

beforeAll(async () => {
  await build({
    entryPoints: [here('./journal-worker.mjs')],
    outfile: bundle,
    bundle: true,
    platform: 'node',
    format: 'esm',
    logLevel: 'warning',
    alias: {
      '@switchboard/core': here('../../packages/core/src/index.ts'),
      '@switchboard/plugins/journal': exportSource('@switchboard/plugins/journal'),
    },
  });
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface Worker {
  child: ChildProcess;
  ready: Promise<void>;
  exited: Promise<void>;
  onLine(fn: (line: string) => void): void;
}

/** The state of one crash run, shared by the worker processes it starts. */
interface Run {
  runtime: string[];
  dir: string;
  acked: Set<string>;
  sent: Set<string>;
  warnings: string[];
}

function start(run: Run, durability = 'fsync'): Worker {
  const [command, ...args] = run.runtime as [string, ...string[]];
  const child = spawn(command, [...args, bundle, run.dir, durability], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const listeners: ((line: string) => void)[] = [];
  let resolveReady!: () => void;
  const ready = new Promise<void>((r) => {
    resolveReady = r;
  });
  createInterface({ input: child.stdout! }).on('line', (line) => {
    if (line === 'ready') resolveReady();
    else if (line.startsWith('ack ')) run.acked.add(line.slice(4));
    else if (line.startsWith('warn ')) run.warnings.push(line);
    for (const fn of listeners) fn(line);
  });
  // A write to a killed child fails with EPIPE: the task simply stays unacknowledged.
  child.stdin!.on('error', () => {});
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return { child, ready, exited, onLine: (fn) => listeners.push(fn) };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const unacked = (run: Run) => [...run.sent].filter((k) => !run.acked.has(k));

function send(run: Run, w: Worker, keys: string[]): void {
  for (const k of keys) run.sent.add(k);
  if (keys.length > 0) w.child.stdin!.write(`task ${keys.join(' ')}\n`);
}

/** Asks the worker for the state of every key sent: `status result` by key. */
async function report(run: Run, w: Worker): Promise<Map<string, string>> {
  const states = new Map<string, string>();
  const done = new Promise<void>((resolve) =>
    w.onLine((line) => {
      if (line === 'end') resolve();
      const [kind, key, status, result] = line.split(' ');
      if (kind === 'state') states.set(key!, `${status} ${result}`);
    }),
  );
  w.child.stdin!.write(`report ${[...run.sent].join(' ')}\n`);
  await done;
  return states;
}

/** Loads, kills and restarts the worker `rounds` times, then drains and checks the end state. */
async function crashRun(runtime: string[], rounds: number): Promise<Run> {
  const run: Run = {
    runtime,
    dir: mkdtempSync(join(work, 'j-')),
    acked: new Set(),
    sent: new Set(),
    warnings: [],
  };
  let next = 0;
  for (let round = 0; round < rounds; round++) {
    const w = start(run, round % 3 === 2 ? 'write' : 'fsync');
    await w.ready;
    send(run, w, unacked(run));
    // Load for a random while (sometimes none: a kill right after recovery), then kill.
    const until = Date.now() + Math.random() * 300;
    while (Date.now() < until) {
      send(
        run,
        w,
        Array.from({ length: 1 + Math.floor(Math.random() * 20) }, () => `k${next++}`),
      );
      await sleep(Math.random() * 4);
    }
    w.child.kill('SIGKILL');
    await w.exited;
  }

  // A last run without a kill: resend what is unacknowledged, wait for everything to be done.
  const w = start(run);
  await w.ready;
  send(run, w, unacked(run));
  let states = new Map<string, string>();
  const deadline = Date.now() + 15_000;
  for (;;) {
    states = await report(run, w);
    const pending = [...run.sent].filter((k) => states.get(k) !== `completed "${k}"`);
    if ((pending.length === 0 && unacked(run).length === 0) || Date.now() > deadline) break;
    await sleep(50);
  }
  w.child.kill('SIGKILL');
  await w.exited;

  expect(unacked(run)).toEqual([]);
  const wrong = [...run.acked].filter((k) => states.get(k) !== `completed "${k}"`);
  expect(wrong.map((k) => `${k}: ${states.get(k)}`)).toEqual([]);
  // Only torn tails are expected: a corrupted middle would have failed a restart.
  expect(run.warnings.filter((line) => !line.startsWith('warn torn_tail'))).toEqual([]);
  return run;
}

describe('journal backend under kill -9', () => {
  it('loses no acknowledged task across 24 SIGKILLs (node)', async () => {
    const run = await crashRun([process.execPath], 24);
    expect(run.acked.size).toBeGreaterThan(240);
    console.log(
      `journal crash: 24 kills, ${run.acked.size} tasks acknowledged, all completed once; ` +
        `${run.warnings.length} torn tails cut`,
    );
  }, 60_000);

  it('dead-letters a task that takes its process down on each of its attempts', async () => {
    const run: Run = {
      runtime: [process.execPath],
      dir: mkdtempSync(join(work, 'j-')),
      acked: new Set(),
      sent: new Set(),
      warnings: [],
    };
    // Each start leases the poison task (with the others of its batch) and exits: its lease
    // dies with the process, and the restart counts that attempt. After three, it is dead.
    let crashes = 0;
    for (;;) {
      const w = start(run);
      const code = new Promise<number | null>((r) => w.child.once('exit', (c) => r(c)));
      await w.ready;
      if (run.sent.size === 0) send(run, w, ['k1', 'poison', 'k2']);
      const exit = await Promise.race([code, sleep(1_000).then(() => 'alive' as const)]);
      if (exit === 'alive') {
        const states = await report(run, w);
        w.child.kill('SIGKILL');
        await w.exited;
        expect(crashes).toBe(3);
        expect(Object.fromEntries(states)).toEqual({
          k1: 'completed "k1"',
          poison: 'dead null',
          k2: 'completed "k2"',
        });
        return;
      }
      expect(exit).toBe(3);
      expect(++crashes).toBeLessThanOrEqual(3);
    }
  }, 30_000);

  it.skipIf(bun === undefined)(
    'loses no acknowledged task across SIGKILLs (bun)',
    async () => {
      expect((await crashRun([bun as string], 4)).acked.size).toBeGreaterThan(10);
    },
    30_000,
  );

  it.skipIf(deno === undefined)(
    'loses no acknowledged task across SIGKILLs (deno)',
    async () => {
      expect((await crashRun([deno as string, 'run', '-A'], 4)).acked.size).toBeGreaterThan(10);
    },
    30_000,
  );
});
