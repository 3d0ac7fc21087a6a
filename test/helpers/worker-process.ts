// Workers of @switchboard/client as real processes of Node, Bun or Deno: a script bundled
// from the sources (the workspace packages resolved to their src/), run with the server's URL
// as its argument, printing one JSON line per thing a test checks.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execPath } from 'node:process';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { findRuntime } from '../e2e/servers.js';
import { exportSource } from './workspace-sources.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** A runtime to run a worker on: its name, its binary (undefined when none is found), its arguments. */
export interface WorkerRuntime {
  name: string;
  bin: string | undefined;
  args: string[];
}

/** Node (this process's), Bun and Deno, each found as the server tests find them. */
export function workerRuntimes(): WorkerRuntime[] {
  const runtimes = [
    { name: 'Node', bin: execPath, args: [] },
    { name: 'Bun', bin: findRuntime('bun'), args: [] },
    { name: 'Deno', bin: findRuntime('deno'), args: ['run', '--allow-net'] },
  ];
  for (const { name, bin } of runtimes) {
    if (bin === undefined) console.warn(`worker runtimes: no ${name} found, its test is skipped`);
  }
  return runtimes;
}

/** The script `entry` (a path from the repository's root) as one ES module; returns its path. */
export async function bundleWorkerScript(entry: string): Promise<string> {
  const outfile = join(mkdtempSync(join(tmpdir(), 'sb-worker-')), 'worker.mjs');
  await build({
    entryPoints: [join(root, entry)],
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
          b.onResolve({ filter: /^@switchboard\/plugins(\/|$)/ }, ({ path }) => ({
            path: exportSource(path),
          }));
        },
      },
    ],
  });
  return outfile;
}

/** A worker process: what it printed so far, one parsed JSON line each, and its exit. */
export interface WorkerProcess {
  readonly child: ChildProcess;
  readonly lines: Record<string, unknown>[];
  /** The lines of its standard output that are not JSON objects. */
  readonly text: string[];
  readonly exited: Promise<number | null>;
  stderr(): string;
}

/** Runs `script` on `runtime` against the server at `url` (with `more` arguments after it). */
export function startWorkerProcess(
  runtime: WorkerRuntime,
  script: string,
  url: string,
  ...more: string[]
): WorkerProcess {
  const child = spawn(runtime.bin as string, [...runtime.args, script, url, ...more], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Record<string, unknown>[] = [];
  const text: string[] = [];
  let rest = '';
  child.stdout?.on('data', (data: Buffer) => {
    const parts = (rest + data.toString()).split('\n');
    rest = parts.pop() ?? '';
    for (const part of parts) {
      if (part.startsWith('{')) lines.push(JSON.parse(part));
      else if (part.trim() !== '') text.push(part);
    }
  });
  let stderr = '';
  child.stderr?.on('data', (data: Buffer) => {
    stderr += data.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { child, lines, text, exited, stderr: () => stderr };
}
