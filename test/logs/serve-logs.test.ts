// The log lines of a real `switchboard serve` process (the Node bundle that
// `node scripts/build.mjs` makes): what an operator reads, in both formats, and the one line
// of a server that cannot start.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freePort, type RedisServerHandle, startRedisServer } from '../helpers/redis-server.js';
import { type StartedProcess, serverBin, startProcess } from '../shutdown/serve-process.js';

const dir = mkdtempSync(join(tmpdir(), 'switchboard-logs-'));

// An in-process agent whose every attempt throws: its tasks end in the dead letters. A plain
// spec, so that the config file needs no import.
const config = join(dir, 'flaky.config.mjs');
writeFileSync(
  config,
  `export default {
  agents: [{ name: 'flaky', capabilities: ['boom'], handle() { throw new Error('boom') } }],
};
`,
);

const started: StartedProcess[] = [];
afterEach(() => {
  for (const p of started.splice(0)) {
    try {
      process.kill(-p.pid, 'SIGKILL');
    } catch {
      // It has exited already.
    }
  }
});

/** `switchboard serve` with `args`, no token or log setting from the environment of the run. */
function serve(args: string[], env: Record<string, string> = {}): StartedProcess {
  const p = startProcess(process.execPath, [serverBin, 'serve', ...args], {
    SWITCHBOARD_ADMIN_TOKEN: '',
    SWITCHBOARD_CLIENT_TOKEN: '',
    SWITCHBOARD_AGENT_TOKEN: '',
    SWITCHBOARD_LOG_LEVEL: '',
    SWITCHBOARD_LOG_FORMAT: '',
    ...env,
  });
  started.push(p);
  return p;
}

/** The exit code of `p`, once it has exited. */
const exitCode = async (p: StartedProcess) => (await p.exited).code;

/** The lines of one stream that are not empty. */
const nonEmpty = (lines: string[]) => lines.filter((l) => l !== '');

async function post(url: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(res.status).toBeLessThan(300);
  return (await res.json()) as Record<string, unknown>;
}

const urlOf = (line: string) => /serving (http:\/\/127\.0\.0\.1:\d+)/.exec(line)?.[1] as string;

describe('switchboard serve logs (pretty)', () => {
  it('says what starts, registers, fails, dead-letters and drains, one line each', async () => {
    const s = serve(['--port', '0', '--config', config], {
      SWITCHBOARD_HEARTBEAT_TIMEOUT_MS: '600',
    });
    const startup = await s.line(/serving/);
    expect(startup).toMatch(
      new RegExp(
        String.raw`^switchboard: serving http://127\.0\.0\.1:\d+ on node \(backend memory, hot path .+, load balancer round-robin, agents flaky×1, plugins switchboard-builtin, config ${config.replaceAll('.', '\\.')}, auth off\)$`,
      ),
    );
    const url = urlOf(startup);
    // The next line says where the dashboard is.
    expect(await s.line(/dashboard/)).toBe(`switchboard: dashboard at ${url}/ui/`);
    // The in-process agent was spawned at start, so its line comes first.
    expect(s.out()[0]).toMatch(
      /^switchboard: agent flaky \(.+\) registered \(in-process, capabilities boom\)$/,
    );

    const task = await post(`${url}/v1/tasks`, { capability: 'boom', maxAttempts: 1 });
    expect(await s.line(/dead-lettered/)).toBe(
      `switchboard: warning: task ${task.id} (boom) dead-lettered after 1 attempts: boom`,
    );

    // Warnings go to stderr, the rest to stdout.
    expect(s.err()).toContain(
      `switchboard: warning: task ${task.id} (boom) dead-lettered after 1 attempts: boom`,
    );
    expect(s.out()).toContain(startup);

    // A remote agent that never heartbeats is failed at its timeout, then removed.
    const agent = await post(`${url}/v1/agents`, { name: 'quiet', capabilities: ['x'] });
    expect(await s.line(/agent quiet .* registered/)).toBe(
      `switchboard: agent quiet (${agent.id}) registered (remote, capabilities x)`,
    );
    expect(await s.line(/agent quiet .* failed/)).toMatch(
      new RegExp(`^switchboard: warning: agent quiet \\(${agent.id}\\) failed: heartbeat_timeout `),
    );
    expect(await s.line(/agent quiet .* removed/)).toBe(
      `switchboard: agent quiet (${agent.id}) removed`,
    );

    // One task in a remote agent's hands and one queued when SIGTERM comes.
    const worker = await post(`${url}/v1/agents`, { name: 'w', capabilities: ['slow'] });
    await post(`${url}/v1/tasks`, { capability: 'slow' });
    await post(`${url}/v1/tasks`, { capability: 'slow' });
    const lease = await post(`${url}/v1/agents/${worker.id}/lease`, { max: 1 });
    const [held] = lease.tasks as { id: string; leaseToken: string }[];
    s.child.kill('SIGTERM');
    expect(await s.line(/draining/)).toBe('switchboard: SIGTERM, draining: 1 in flight, 1 queued');
    await post(`${url}/v1/tasks/${held?.id}/complete`, { leaseToken: held?.leaseToken });
    expect(await s.line(/stopped;/)).toBe(
      'switchboard: stopped; 1 in flight finished, 1 queued dropped (memory backend)',
    );
    expect(await exitCode(s)).toBe(0);
    // Nothing on stderr but the warnings: no stack, no stray output.
    expect(nonEmpty(s.err()).every((l) => l.startsWith('switchboard: warning: '))).toBe(true);
  });

  it('--log-level warn keeps the warnings and hides the info lines', async () => {
    const port = await freePort();
    const s = serve(['--port', String(port), '--config', config, '--log-level', 'warn']);
    const url = `http://127.0.0.1:${port}`;
    // No startup line to wait for: the server is up once it answers.
    for (let i = 0; ; i++) {
      const ok = await fetch(`${url}/readyz`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      if (i === 200) throw new Error('the server did not start');
      await new Promise((r) => setTimeout(r, 50));
    }
    const task = await post(`${url}/v1/tasks`, { capability: 'boom', maxAttempts: 1 });
    expect(await s.line(/dead-lettered/)).toContain(`task ${task.id} (boom)`);
    s.child.kill('SIGTERM');
    expect(await exitCode(s)).toBe(0);
    expect(nonEmpty(s.out())).toEqual([]);
  });
});

describe('switchboard serve logs (json)', () => {
  it('writes one JSON object a line, with level, time, msg and the facts as fields', async () => {
    const s = serve(['--port', '0', '--config', config], { SWITCHBOARD_LOG_FORMAT: 'json' });
    const startup = JSON.parse(await s.line(/"serving /));
    expect(startup).toMatchObject({
      level: 'info',
      name: 'switchboard',
      runtime: 'node',
      backend: 'memory',
      loadBalancer: 'round-robin',
      agents: { flaky: 1 },
      plugins: ['switchboard-builtin'],
      config,
      auth: 'off',
    });
    expect(startup.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(typeof startup.hotPath).toBe('string');
    expect(Number.isNaN(Date.parse(startup.time))).toBe(false);
    // The pattern test helpers look for in a startup line is in its message.
    expect(startup.msg).toMatch(/^serving http:\/\/127\.0\.0\.1:\d+ on node \(/);
    expect(JSON.parse(await s.line(/"dashboard/)).dashboard).toBe(`${startup.url}/ui/`);
    const task = await post(`${startup.url}/v1/tasks`, { capability: 'boom', maxAttempts: 1 });
    const dead = JSON.parse(await s.line(/dead-lettered/));
    expect(dead).toMatchObject({
      level: 'warn',
      event: 'task.dead',
      taskId: task.id,
      capability: 'boom',
      attempts: 1,
      error: { message: 'boom' },
    });
    s.child.kill('SIGTERM');
    expect(await exitCode(s)).toBe(0);
    const lines = nonEmpty(s.lines()).map((l) => JSON.parse(l));
    for (const line of lines) {
      expect(line).toEqual(
        expect.objectContaining({ level: expect.any(String), time: expect.any(String) }),
      );
      expect(typeof line.msg).toBe('string');
    }
    expect(lines.find((l) => l.msg.startsWith('SIGTERM, draining'))).toMatchObject({
      reason: 'SIGTERM',
      inFlight: 0,
      queued: 0,
    });
    expect(JSON.parse(nonEmpty(s.out()).at(-1) as string)).toMatchObject({
      msg: 'stopped; 0 in flight finished, 0 queued dropped (memory backend)',
      finished: 0,
      queued: 0,
      durable: false,
    });
  });
});

describe('a server that cannot start', () => {
  it('says the port is in use and suggests --port, in one line, exit 1', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as { port: number };
    try {
      const s = serve(['--port', String(port)]);
      expect(await exitCode(s)).toBe(1);
      expect(nonEmpty(s.err())).toEqual([
        `switchboard: port ${port} on 127.0.0.1 is already in use: stop what listens there, or choose another port with --port (or PORT)`,
      ]);
      expect(nonEmpty(s.out())).toEqual([]);
    } finally {
      taken.close();
    }
  });

  it('names the Redis URL it tried when nothing answers there, in one line, exit 1', async () => {
    const port = await freePort();
    const s = serve(['--port', '0', '--backend', `redis://127.0.0.1:${port}`]);
    expect(await exitCode(s)).toBe(1);
    const lines = nonEmpty(s.err());
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      new RegExp(
        `^switchboard: cannot start: \\[redis\\] no answer from redis://127\\.0\\.0\\.1:${port} in 5000 ms \\(.*ECONNREFUSED.*\\)$`,
      ),
    );
  }, 20_000);
});

describe('a Redis outage', () => {
  let redis: RedisServerHandle | undefined;
  beforeAll(async () => {
    redis = await startRedisServer().catch(() => undefined);
  });
  afterAll(() => redis?.dispose());

  it('is logged by each server for its own agents only, not for its peers', async (ctx) => {
    if (redis === undefined) return ctx.skip('redis-server is not available');
    const backend = `${redis.url}/1`;
    const a = serve(['--port', '0', '--backend', backend]);
    const b = serve(['--port', '0', '--backend', backend]);
    const [urlA, urlB] = [urlOf(await a.line(/serving/)), urlOf(await b.line(/serving/))];
    // B follows agent events, so that A forwards them: B hears A's registration.
    const events = await fetch(`${urlB}/v1/events?topics=agent.registered`);
    const agent = await post(`${urlA}/v1/agents`, { name: 'only-a', capabilities: ['x'] });
    const reader = (events.body as ReadableStream<Uint8Array>).getReader();
    for (let text = ''; !text.includes(String(agent.id)); ) {
      text += new TextDecoder().decode((await reader.read()).value);
    }
    await reader.cancel();
    expect(await a.line(/only-a/)).toBe(
      `switchboard: agent only-a (${agent.id}) registered (remote, capabilities x)`,
    );
    expect(b.lines().filter((l) => l.includes('only-a'))).toEqual([]);
    for (const p of [a, b]) p.child.kill('SIGTERM');
    expect([await exitCode(a), await exitCode(b)]).toEqual([0, 0]);
  }, 30_000);

  it('is one warning when Redis goes and one line when it is back', async (ctx) => {
    if (redis === undefined) return ctx.skip('redis-server is not available');
    const s = serve(['--port', '0', '--backend', `${redis.url}/0`]);
    await s.line(/serving/);
    await redis.stop();
    expect(await s.line(/unavailable/)).toMatch(
      new RegExp(
        `^switchboard: warning: redis redis://127\\.0\\.0\\.1:${redis.port}/0 unavailable \\(.+\\); reconnecting`,
      ),
    );
    // Long enough for the engine's sweeps and heartbeats to fail a few times meanwhile.
    await new Promise((r) => setTimeout(r, 2000));
    await redis.restart();
    expect(await s.line(/back after/, 15_000)).toMatch(
      new RegExp(`^switchboard: redis redis://127\\.0\\.0\\.1:${redis.port}/0 back after \\d+ ms$`),
    );
    // ioredis reports every failed reconnection, and the engine's sweeps and heartbeats fail
    // meanwhile: the log says it once.
    expect(nonEmpty(s.err())).toEqual([expect.stringMatching(/unavailable \(/)]);
    s.child.kill('SIGTERM');
    expect(await exitCode(s)).toBe(0);
  }, 40_000);
});
