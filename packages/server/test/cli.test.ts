import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadConfigFile, type RunningServer, startServer } from '../src/cli.js';
import { nodeRuntime } from '../src/node.js';

const dir = mkdtempSync(join(tmpdir(), 'switchboard-cli-'));
const running: RunningServer[] = [];
afterEach(async () => {
  vi.unstubAllEnvs();
  for (const s of running.splice(0)) await s.stop();
});

async function start(argv: string[], env: Record<string, string> = {}) {
  const lines: string[] = [];
  const server = await startServer(nodeRuntime, argv, env, (line) => lines.push(line));
  running.push(server);
  return { server, lines };
}

describe('startServer', () => {
  it('serves on 127.0.0.1 by default and prints a line with URL, backend, hot path and the rest, then the dashboard', async () => {
    const { server, lines } = await start(['serve', '--port', '0']);
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toBe(`switchboard: dashboard at ${server.url}/ui/`);
    expect(lines[0]).toMatch(
      /^switchboard: serving http:\/\/127\.0\.0\.1:\d+ on node \(backend memory, hot path (native \(queue\), ts \(limiter\)|ts \(native addon not loaded: .+\)), load balancer round-robin, agents none, plugins switchboard-builtin, config none, auth off\)$/,
    );
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
  });

  it('says the hot path is TypeScript, and why, when the native addon is not loaded', async () => {
    vi.stubEnv('SWITCHBOARD_NATIVE', '0');
    const { server, lines } = await start(['--port', '0']);
    expect(lines[0]).toContain(
      'hot path ts (native addon not loaded: SWITCHBOARD_NATIVE=0 forces the TypeScript fallback), load balancer',
    );
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
  });

  it('turns auth on from SWITCHBOARD_*_TOKEN and uses SWITCHBOARD_HEARTBEAT_TIMEOUT_MS', async () => {
    const { server, lines } = await start(['--port=0'], {
      SWITCHBOARD_CLIENT_TOKEN: 'c',
      SWITCHBOARD_AGENT_TOKEN: 'g',
      SWITCHBOARD_HEARTBEAT_TIMEOUT_MS: '900',
    });
    expect(lines[0]).toContain('auth on');
    expect((await fetch(`${server.url}/v1/stats`)).status).toBe(401);
    expect(
      (await fetch(`${server.url}/v1/stats`, { headers: { authorization: 'Bearer c' } })).status,
    ).toBe(200);
    const res = await fetch(`${server.url}/v1/agents`, {
      method: 'POST',
      headers: { authorization: 'Bearer g', 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'a', capabilities: ['x'] }),
    });
    expect((await res.json()).heartbeatTimeoutMs).toBe(900);
  });

  it('runs in-process agents defined in an ES module config', async () => {
    const file = join(dir, 'agents.mjs');
    writeFileSync(
      file,
      `export default async () => ({ agents: [{ name: 'echo', capabilities: ['echo'], handle: (p) => ({ echoed: p }) }] })`,
    );
    const { server } = await start(['--port', '0', '--config', file]);
    const submitted = await fetch(`${server.url}/v1/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ capability: 'echo', payload: 'hi' }),
    });
    const { id } = await submitted.json();
    const result = await (await fetch(`${server.url}/v1/tasks/${id}/result?waitMs=5000`)).json();
    expect(result).toMatchObject({ status: 'completed', result: { echoed: 'hi' } });
  });

  it('writes the schedules of its config file at start', async () => {
    const file = join(dir, 'schedules.json');
    const schedule = {
      id: 'nightly',
      cron: '0 0 3 * * *',
      timezone: 'Europe/Paris',
      task: { capability: 'report' },
    };
    writeFileSync(file, JSON.stringify({ schedules: [schedule] }));
    const { server } = await start(['--port', '0', '--config', file]);
    const { schedules } = await (await fetch(`${server.url}/v1/schedules`)).json();
    expect(schedules).toEqual([
      expect.objectContaining({
        ...schedule,
        task: { capability: 'report', priority: 'normal' },
        paused: false,
      }),
    ]);
    expect(schedules[0].nextRuns).toHaveLength(5);
  });

  it('drains on stop: readyz 503 and new work refused, held leases completed, then the port closes', async () => {
    const file = join(dir, 'drain.json');
    writeFileSync(file, JSON.stringify({ drainTimeoutMs: 5000 }));
    const { server, lines } = await start(['--port', '0', '--config', file]);
    const post = (path: string, body: unknown) =>
      fetch(`${server.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const agent = await (await post('/v1/agents', { name: 'a', capabilities: ['x'] })).json();
    expect((await post('/v1/tasks', { capability: 'x' })).status).toBe(202);
    expect((await post('/v1/tasks', { capability: 'nobody' })).status).toBe(202);
    const leased = await (await post(`/v1/agents/${agent.id}/lease`, { max: 1 })).json();
    const [task] = leased.tasks;
    // The leased task keeps the drain open until its agent completes it.
    const stopping = server.stop();
    expect((await fetch(`${server.url}/readyz`)).status).toBe(503);
    const refused = await post('/v1/tasks', { capability: 'x' });
    expect(refused.status).toBe(503);
    expect((await refused.json()).error.code).toBe('unavailable');
    expect((await post(`/v1/agents/${agent.id}/lease`, { max: 1 })).status).toBe(503);
    const done = await post(`/v1/tasks/${task.id}/complete`, { leaseToken: task.leaseToken });
    expect(done.status).toBe(200);
    expect(await stopping).toMatchObject({ finished: 1, released: 0, queued: 1, durable: false });
    expect(lines.at(-1)).toBe(
      'switchboard: stopped; 1 in flight finished, 1 queued dropped (memory backend)',
    );
    await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
    running.length = 0;
  });

  it('fails fast with invalid_config on a bad flag, backend or config file', async () => {
    await expect(startServer(nodeRuntime, ['--nope'], {})).rejects.toMatchObject({
      code: 'invalid_config',
    });
    await expect(startServer(nodeRuntime, ['--backend', 'ftp://x'], {})).rejects.toMatchObject({
      code: 'invalid_config',
    });
    writeFileSync(join(dir, 'bad.json'), '{ nope');
    await expect(loadConfigFile(join(dir, 'bad.json'))).rejects.toMatchObject({
      code: 'invalid_config',
    });
    writeFileSync(join(dir, 'list.json'), '[]');
    await expect(loadConfigFile(join(dir, 'list.json'))).rejects.toMatchObject({
      code: 'invalid_config',
    });
    writeFileSync(join(dir, 'ok.json'), '{"port": 1234}');
    expect(await loadConfigFile(join(dir, 'ok.json'))).toEqual({ port: 1234 });
  });
});

describe('startServer with a durable backend', () => {
  it('keeps queued tasks and completed results across a restart on --backend journal:<dir>', async () => {
    const journal = mkdtempSync(join(tmpdir(), 'switchboard-cli-journal-'));
    const post = (url: string, body: unknown) =>
      fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const first = await start(['--port', '0', '--backend', `journal:${journal}`]);
    // The journal says what it recovered (nothing yet) before the server says it serves.
    expect(first.lines[0]).toBe(
      `switchboard: journal ${journal} recovered: 0 queued, 0 leases kept for remote agents, 0 ended with the last process (0 of them dead-lettered), 0 requeued unrun, 0 dead letters, 0 remote agents registered`,
    );
    expect(first.lines[1]).toContain(`backend journal:${journal}`);
    // The journal keeps its own queues: only the limiter is the server's to pick.
    expect(first.lines[1]).toMatch(
      /hot path (ts \(limiter\)|ts \(native addon not loaded: .+\)), load balancer/,
    );
    const queued = await (
      await post(`${first.server.url}/v1/tasks`, { capability: 'later' })
    ).json();
    const done = await (await post(`${first.server.url}/v1/tasks`, { capability: 'now' })).json();
    const agent = await (
      await post(`${first.server.url}/v1/agents`, { name: 'w', capabilities: ['now'] })
    ).json();
    const lease = await (await post(`${first.server.url}/v1/agents/${agent.id}/lease`, {})).json();
    expect(lease.tasks.map((t: { id: string }) => t.id)).toEqual([done.id]);
    const completed = await post(`${first.server.url}/v1/tasks/${done.id}/complete`, {
      leaseToken: lease.tasks[0].leaseToken,
      result: { ok: 1 },
    });
    expect(completed.status).toBe(200);
    await first.server.stop();
    running.splice(running.indexOf(first.server), 1);

    const second = await start(['--port', '0', '--backend', `journal:${journal}`]);
    expect(second.lines[0]).toBe(
      `switchboard: journal ${journal} recovered: 1 queued, 0 leases kept for remote agents, 0 ended with the last process (0 of them dead-lettered), 0 requeued unrun, 0 dead letters, 1 remote agents registered`,
    );
    const again = await (await fetch(`${second.server.url}/v1/tasks/${queued.id}`)).json();
    expect(again.status).toBe('queued');
    const result = await (await fetch(`${second.server.url}/v1/tasks/${done.id}`)).json();
    expect(result).toMatchObject({ status: 'completed', result: { ok: 1 } });
  });
});
