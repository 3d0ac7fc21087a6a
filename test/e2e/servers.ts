import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
 * A runtime's executable: `$BUN_BIN` / `$DENO_BIN`, else the `bun` / `deno` npm package in
 * test/node_modules, else one on the PATH. Undefined when none runs.
 */
export function findRuntime(name: 'bun' | 'deno'): string | undefined {
  const candidates = [
    process.env[`${name.toUpperCase()}_BIN`],
    join(root, 'test/node_modules/.bin', name),
    join(root, 'node_modules/.bin', name),
    name,
  ];
  for (const bin of candidates) {
    if (bin === undefined || (bin.includes('/') && !existsSync(bin))) continue;
    if (spawnSync(bin, ['--version'], { stdio: 'ignore', timeout: 20_000 }).status === 0)
      return bin;
  }
  return undefined;
}

/**
 * Starts a server bundle as a child process on a free port of 127.0.0.1 and resolves once
 * its startup line names the URL. The process is killed by `stop()` (SIGTERM, then SIGKILL).
 */
export function spawnServer(
  command: string,
  args: string[],
  config: E2EConfig,
): Promise<StartedServer> {
  const child: ChildProcess = spawn(
    command,
    [...args, '--port', '0', '--host', '127.0.0.1', '--config', writeConfig(config)],
    {
      cwd: join(root, 'packages/server'),
      env: { ...process.env, PORT: '', HOST: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group: the npm `bun`/`deno` commands are wrappers that start the real
      // binary as a child, and killing only the wrapper would leave the server running.
      detached: true,
    },
  );
  const kill = (signal: NodeJS.Signals) => {
    try {
      process.kill(-(child.pid as number), signal);
    } catch {
      // The group is already gone.
    }
  };
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      kill('SIGKILL');
      reject(new Error(`server did not start within 20 s:\n${output}`));
    }, 20_000);
    const onData = (data: Buffer) => {
      output += data.toString();
      const m = /serving (http:\/\/\S+)/.exec(output);
      if (m === null) return;
      clearTimeout(timer);
      resolve({
        url: m[1] as string,
        stop: () =>
          new Promise<void>((done) => {
            if (child.exitCode !== null) {
              kill('SIGKILL');
              return done();
            }
            const hard = setTimeout(() => kill('SIGKILL'), 5000);
            child.once('exit', () => {
              clearTimeout(hard);
              // The wrapper may exit before the binary it started: end the whole group.
              kill('SIGKILL');
              done();
            });
            kill('SIGTERM');
          }),
      });
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (d: Buffer) => {
      output += d.toString();
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${output}`));
    });
  });
}
