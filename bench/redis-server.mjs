// A redis-server for a Redis bench, without persistence, on a free port of 127.0.0.1
// (`REDIS_SERVER` names the binary). Shared by redis.bench.mjs and redis-cpu.bench.mjs.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Starts the server; resolves once it answers PING with its `pid`, `port`, `flush`, `stop`. */
export async function startRedis() {
  const port = await freePort();
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
  const child = spawn(process.env.REDIS_SERVER ?? 'redis-server', args, { stdio: 'ignore' });
  const ping = new Redis(port, '127.0.0.1', { lazyConnect: true, retryStrategy: () => 20 });
  ping.on('error', () => undefined);
  await ping.connect().catch(() => undefined);
  for (let i = 0; i < 250 && ping.status !== 'ready'; i++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await ping.ping();
  return {
    pid: child.pid,
    port,
    flush: () => ping.flushall(),
    async stop() {
      ping.disconnect();
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    },
  };
}
