import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Options of {@link startRedisServer}. */
export interface RedisServerOptions {
  /** Persist with the append-only file (kept across `restart`). Default false. */
  appendonly?: boolean;
  /** With `appendonly`: `always` (fsync each write, the default here) or `everysec`. */
  appendfsync?: 'always' | 'everysec';
  /** The binary; default `$REDIS_SERVER` or `redis-server` on the PATH. */
  bin?: string;
  /** A port to use instead of a free one the OS picks. */
  port?: number;
}

/** A real `redis-server` of a test, on a free port of 127.0.0.1. */
export interface RedisServerHandle {
  readonly port: number;
  readonly url: string;
  /** Stops the server: SIGTERM (a clean shutdown), or SIGKILL with `{ kill: true }`. */
  stop(options?: { kill?: boolean }): Promise<void>;
  /** Starts it again on the same port and data directory (after `stop`, or stops it first). */
  restart(options?: { kill?: boolean }): Promise<void>;
  /** Stops it for good and deletes its data directory. */
  dispose(): Promise<void>;
}

/** A free TCP port (the OS picks it; a race with another process is retried by the caller). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** Resolves once something on `port` answers PING with PONG. */
async function pingable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    let data = '';
    const finish = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => finish(false));
    socket.on('error', () => finish(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      data += chunk.toString();
      if (data.includes('\r\n')) finish(data.startsWith('+PONG'));
    });
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/**
 * Spawns a real `redis-server` (never a mock) on a free port, with no RDB snapshots and,
 * unless asked, no append-only file; resolves once it answers PING. Each test file starts its
 * own in `beforeAll` and disposes of it in `afterAll`.
 *
 * @example
 * ```ts
 * let redis: RedisServerHandle
 * beforeAll(async () => { redis = await startRedisServer() })
 * afterAll(() => redis.dispose())
 * ```
 */
export async function startRedisServer(
  options: RedisServerOptions = {},
): Promise<RedisServerHandle> {
  const bin = options.bin ?? process.env.REDIS_SERVER ?? 'redis-server';
  const dir = mkdtempSync(join(tmpdir(), 'sb-redis-'));
  let port = 0;
  let child: ChildProcess | undefined;
  let log = '';

  const launch = async (): Promise<boolean> => {
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', ''];
    args.push('--appendonly', options.appendonly ? 'yes' : 'no');
    if (options.appendonly) args.push('--appendfsync', options.appendfsync ?? 'always');
    args.push('--protected-mode', 'no', '--daemonize', 'no', '--loglevel', 'warning');
    const proc = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    log = '';
    proc.stdout?.on('data', (c: Buffer) => {
      log = (log + c.toString()).slice(-4000);
    });
    proc.stderr?.on('data', (c: Buffer) => {
      log = (log + c.toString()).slice(-4000);
    });
    const spawnError = new Promise<Error>((resolve) => proc.once('error', resolve));
    for (let waited = 0; waited < 10_000; waited += 20) {
      if (proc.exitCode !== null || proc.signalCode !== null) return false;
      const failed = await Promise.race([spawnError, new Promise((r) => setTimeout(r, 20))]);
      if (failed instanceof Error) throw new Error(`cannot run ${bin}: ${failed.message}`);
      if (await pingable(port)) return true;
    }
    proc.kill('SIGKILL');
    throw new Error(`redis-server on port ${port} did not answer PING in 10 s:\n${log}`);
  };

  const stop = async ({ kill = false } = {}) => {
    const proc = child;
    if (proc === undefined) return;
    child = undefined;
    proc.kill(kill ? 'SIGKILL' : 'SIGTERM');
    await exited(proc);
  };

  // Another process may take the free port between the probe and the spawn: try another.
  for (let attempt = 0; ; attempt++) {
    port = options.port ?? (await freePort());
    if (await launch()) break;
    if (attempt === 4) throw new Error(`redis-server would not start:\n${log}`);
  }

  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    stop,
    async restart(opts = {}) {
      await stop(opts);
      // The port was ours a moment ago; a refused start is retried briefly.
      for (let attempt = 0; !(await launch()); attempt++) {
        if (attempt === 20) throw new Error(`redis-server would not restart:\n${log}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async dispose() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
