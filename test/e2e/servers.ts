import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, realpathSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { E2EConfig, StartedServer } from './harness.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** Writes a config file for `switchboard serve --config`. */
export function writeConfig(config: E2EConfig): string {
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-e2e-'));
  const file = join(dir, 'config.json');
  writeFileSync(file, JSON.stringify(config));
  return file;
}

/** The server bundle of a runtime, built by `node scripts/build.mjs`. */
export function bundle(runtime: 'node' | 'bun' | 'deno'): string {
  return join(root, `packages/server/dist/bin/${runtime}.js`);
}

/**
 * The binary an npm package of the runtime installed (`bun/bin/bun.exe`, `deno/deno`), not
 * its `.bin` launcher: a launcher runs the binary as a child of its own (a shell script for
 * Bun, a Node script for Deno), so killing the launcher would leave the runtime running.
 */
function packagedBinary(name: 'bun' | 'deno', from: string): string | undefined {
  try {
    const dir = dirname(realpathSync(createRequire(from).resolve(`${name}/package.json`)));
    return join(dir, name === 'bun' ? 'bin/bun.exe' : 'deno');
  } catch {
    // The package is not installed there.
    return undefined;
  }
}

/**
 * A runtime's executable: `$BUN_BIN` / `$DENO_BIN`, else the binary of the `bun` / `deno`
 * npm package in test/node_modules, else one on the PATH. Undefined when none runs.
 */
export function findRuntime(name: 'bun' | 'deno'): string | undefined {
  const candidates = [
    process.env[`${name.toUpperCase()}_BIN`],
    packagedBinary(name, join(root, 'test/package.json')),
    packagedBinary(name, join(root, 'package.json')),
    name,
  ];
  for (const bin of candidates) {
    if (bin === undefined || (bin.includes('/') && !existsSync(bin))) continue;
    if (spawnSync(bin, ['--version'], { stdio: 'ignore', timeout: 20_000 }).status === 0)
      return bin;
  }
  return undefined;
}

/** A server process started by {@link spawnServer}. */
export interface ServerProcess extends StartedServer {
  /** The process id of the server (of the wrapper for the npm `bun`/`deno` commands). */
  readonly pid: number;
  /** Signals the server's whole process group and resolves once the process has exited. */
  kill(signal: NodeJS.Signals): Promise<void>;
  /** Whether the process is still running. */
  alive(): boolean;
  /** The last 4,000 characters it printed (stdout and stderr). */
  output(): string;
  /**
   * Calls `listener` (once) if the process exits without `stop` or `kill` having signalled
   * it: a server that died by itself.
   */
  onCrash(listener: (why: string) => void): void;
}

/**
 * Starts a server bundle as a child process on a free port of 127.0.0.1 and resolves once
 * its startup line names the URL. The process runs in its own process group (the npm
 * `bun`/`deno` commands are wrappers that start the real binary as a child, and signalling
 * only the wrapper would leave the server running); `stop()` sends SIGTERM, then SIGKILL.
 * `config` is the config file's content, or the path of a config file written already.
 */
export function spawnServer(
  command: string,
  args: string[],
  config: E2EConfig | string,
): Promise<ServerProcess> {
  const file = typeof config === 'string' ? config : writeConfig(config);
  const child: ChildProcess = spawn(
    command,
    [...args, '--port', '0', '--host', '127.0.0.1', '--config', file],
    {
      cwd: join(root, 'packages/server'),
      env: { ...process.env, PORT: '', HOST: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    },
  );
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-(child.pid as number), sig);
    } catch {
      // The group is already gone.
    }
  };
  const alive = () => child.exitCode === null && child.signalCode === null;
  let output = '';
  let url: string | undefined;
  let signalled = false;
  let crashed: ((why: string) => void) | undefined;
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const kill = async (sig: NodeJS.Signals) => {
    signalled = true;
    if (!alive()) return;
    signal(sig);
    await exited;
  };
  const stop = async () => {
    signalled = true;
    if (alive()) {
      const hard = setTimeout(() => signal('SIGKILL'), 5000);
      signal('SIGTERM');
      await exited;
      clearTimeout(hard);
    }
    // The wrapper may exit before the binary it started: end the whole group.
    signal('SIGKILL');
  };
  const keep = (data: Buffer) => {
    output = (output + data.toString()).slice(-4000);
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal('SIGKILL');
      reject(new Error(`server did not start within 20 s:\n${output}`));
    }, 20_000);
    child.stdout?.on('data', (data: Buffer) => {
      keep(data);
      const m = /serving (http:\/\/\S+)/.exec(output);
      if (m === null || url !== undefined) return;
      clearTimeout(timer);
      url = m[1] as string;
      resolve({
        url,
        pid: child.pid as number,
        stop,
        kill,
        alive,
        output: () => output,
        onCrash: (listener) => {
          crashed = listener;
        },
      });
    });
    child.stderr?.on('data', keep);
    child.once('exit', (code, sig) => {
      clearTimeout(timer);
      const why = `exited (${code}, ${sig}):\n${output}`;
      if (url === undefined) reject(new Error(`server ${why}`));
      else if (!signalled) crashed?.(`${url} ${why}`);
    });
  });
}
