// The servers of the chaos suite: the real CLI (`switchboard serve`) bundled from the sources
// of this checkout, so that a scenario always runs what is in the tree (no stale build), and
// started as its own process that the scenario may SIGKILL.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execPath } from 'node:process';
import { fileURLToPath } from 'node:url';
import { type ServerProcess, spawnServer } from '../e2e/servers.js';
import { bundleSourceServer } from '../helpers/source-server.js';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

/** Servers started in each scratch directory, so that its dispose ends those still running. */
const started = new Map<string, Set<ServerProcess>>();

/**
 * A scratch directory of a scenario file (bundles, configs, journals). It sits under
 * test/chaos/dist (ignored by git and by the test runner) so that the one package left out
 * of the bundle, the native addon's loader, resolves through test/node_modules. `dispose`
 * kills the servers started in it that a failed or timed-out scenario left running.
 */
export function scratch(name: string): { dir: string; dispose(): Promise<void> } {
  const parent = here('./dist');
  mkdirSync(parent, { recursive: true });
  const dir = mkdtempSync(join(parent, `${name}-`));
  started.set(dir, new Set());
  return {
    dir,
    async dispose() {
      await Promise.all([...(started.get(dir) ?? [])].map((p) => p.kill('SIGKILL')));
      started.delete(dir);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Bundles the Node server CLI from the sources into `dir` with the native addon's package
 * left out, so that the scenario runs the hot path users run; returns the bundle's path.
 */
export function bundleServer(dir: string): Promise<string> {
  return bundleSourceServer({ dir, nativeAddon: true });
}

/** What a chaos server is started with. */
export interface ChaosServerOptions {
  /** `memory` (default), `journal:<dir>` or `redis://…`. */
  backend?: string;
  /** The config file's settings (JSON-safe). */
  config?: Record<string, unknown>;
  /**
   * Source of in-process agents: a JavaScript array expression of agent specs (plain
   * objects with `name`, `capabilities`, `handle`, `config`), written into an ES module
   * config file so that handlers can be real functions.
   */
  agents?: string;
}

/**
 * Starts one server process of `bundle` on a free port of 127.0.0.1; resolves once it serves.
 * Its config file is written into `dir`.
 */
export async function startServer(
  bundle: string,
  dir: string,
  options: ChaosServerOptions = {},
): Promise<ServerProcess> {
  const config = { ...options.config };
  const file = join(mkdtempSync(join(dir, 'config-')), 'config.mjs');
  writeFileSync(
    file,
    `const config = ${JSON.stringify(config)};\n` +
      (options.agents === undefined ? '' : `config.agents = ${options.agents};\n`) +
      'export default config;\n',
  );
  const args = [bundle, 'serve'];
  if (options.backend !== undefined) args.push('--backend', options.backend);
  const proc = await spawnServer(execPath, args, file);
  started.get(dir)?.add(proc);
  return proc;
}

/** The resident set size of a process in bytes (Linux /proc), undefined once it is gone. */
export async function rssOf(pid: number): Promise<number | undefined> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
    return kb === undefined ? undefined : Number(kb) * 1024;
  } catch {
    // The process has exited.
    return undefined;
  }
}
