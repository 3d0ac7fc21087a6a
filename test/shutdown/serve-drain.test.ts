import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  killAll,
  listening,
  post,
  processTree,
  type StartedProcess,
  serverBin,
  servingUrl,
  slowAgentConfig,
  startProcess,
  whenLeased,
} from './serve-process.js';

// `switchboard serve` as a supervisor runs it: a real process, real signals, real time.

const started: StartedProcess[] = [];
afterEach(() => {
  for (const p of started.splice(0)) killAll(processTree(p.pid));
});

function serve(args: string[]): StartedProcess {
  const p = startProcess(process.execPath, [serverBin, 'serve', '--port', '0', ...args]);
  started.push(p);
  return p;
}

interface Loaded {
  url: string;
  /** The remote agent's lease, still held. */
  lease: { id: string; leaseToken: string };
}

/**
 * Puts a server in the state a drain is about: 120 tasks queued for a capability no agent
 * has, two tasks running on the in-process agent `slow` and two more queued for it, and one
 * task leased by a remote agent.
 */
async function load(p: StartedProcess): Promise<Loaded> {
  const url = servingUrl(await p.line(/serving/));
  await post(`${url}/v1/tasks/batch`, {
    tasks: Array.from({ length: 120 }, (_, i) => ({ capability: 'nobody', payload: i })),
  });
  const { ids } = await post<{ ids: string[] }>(`${url}/v1/tasks/batch`, {
    tasks: Array.from({ length: 4 }, (_, i) => ({ capability: 'slow', payload: i })),
  });
  const agent = await post<{ id: string }>(
    `${url}/v1/agents`,
    { name: 'remote', capabilities: ['remote'] },
    201,
  );
  await post(`${url}/v1/tasks`, { capability: 'remote' });
  const { tasks } = await post<{ tasks: { id: string; leaseToken: string }[] }>(
    `${url}/v1/agents/${agent.id}/lease`,
    { max: 1, waitMs: 2000 },
    200,
  );
  await whenLeased(url, ids[0] as string);
  await whenLeased(url, ids[1] as string);
  return { url, lease: tasks[0] as { id: string; leaseToken: string } };
}

/**
 * Sends SIGTERM and, once the drain has begun, completes the remote agent's lease (the server
 * still answers it while draining); resolves with the exit code and the time from the signal.
 */
async function drainCompleting(
  p: ReturnType<typeof serve>,
  url: string,
  lease: { id: string; leaseToken: string },
): Promise<{ code: number | null; ms: number }> {
  const t0 = Date.now();
  p.child.kill('SIGTERM');
  await p.line(/SIGTERM, draining/);
  await post(
    `${url}/v1/tasks/${lease.id}/complete`,
    { leaseToken: lease.leaseToken, result: 'done' },
    200,
  );
  const { code, at } = await p.exited;
  return { code, ms: at - t0 };
}

// Each test starts one or two servers; a loaded machine makes that slower than the default 5 s.
describe('switchboard serve stops on SIGTERM', { timeout: 30_000 }, () => {
  it('memory backend: drains what is in flight, drops what is queued, and says so', async () => {
    const p = serve(['--config', slowAgentConfig(600)]);
    const { url, lease } = await load(p);
    const { code, ms } = await drainCompleting(p, url, lease);
    expect(code).toBe(0);
    // The two running tasks take 600 ms; nothing waits for the 122 that no agent will lease.
    expect(ms).toBeLessThan(3000);
    expect(p.lines().at(-1)).toBe(
      'switchboard: stopped; 3 in flight finished, 122 queued dropped (memory backend)',
    );
    expect(await listening(url)).toBe(false);
  });

  it('journal backend: the same drain, and what is queued is kept for the next start', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'switchboard-shutdown-')), 'journal');
    const p = serve(['--config', slowAgentConfig(600), '--backend', `journal:${dir}`]);
    const { url, lease } = await load(p);
    const { code, ms } = await drainCompleting(p, url, lease);
    expect(code).toBe(0);
    expect(ms).toBeLessThan(3000);
    expect(p.lines().at(-1)).toBe(
      `switchboard: stopped; 3 in flight finished, 122 queued kept in journal:${dir}`,
    );
    // The next start has them: 120 for nobody, 2 for the slow agent (which runs them).
    const again = serve(['--backend', `journal:${dir}`]);
    const next = servingUrl(await again.line(/serving/));
    const stats = (await (await fetch(`${next}/v1/stats`)).json()) as {
      queue: { depth: number };
    };
    expect(stats.queue.depth).toBe(122);
    again.child.kill('SIGTERM');
    expect(await again.line(/stopped;/)).toBe(
      `switchboard: stopped; 0 in flight finished, 122 queued kept in journal:${dir}`,
    );
  });

  it('a drain cut by its timeout says how many tasks it cut off', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'switchboard-shutdown-'));
    const config = join(dir, 'config.json');
    writeFileSync(config, JSON.stringify({ drainTimeoutMs: 300 }));
    const p = serve(['--config', config]);
    const url = servingUrl(await p.line(/serving/));
    const agent = await post<{ id: string }>(
      `${url}/v1/agents`,
      { name: 'silent', capabilities: ['x'] },
      201,
    );
    await post(`${url}/v1/tasks`, { capability: 'x' });
    await post(`${url}/v1/agents/${agent.id}/lease`, { max: 1, waitMs: 2000 }, 200);
    const t0 = Date.now();
    p.child.kill('SIGTERM');
    const { code, at } = await p.exited;
    expect(code).toBe(0);
    expect(at - t0).toBeGreaterThanOrEqual(300);
    expect(at - t0).toBeLessThan(2000);
    expect(p.lines().at(-1)).toBe(
      'switchboard: stopped; 0 in flight finished, 1 cut off by the 300 ms drain timeout, 1 queued dropped (memory backend)',
    );
  });

  it('a second SIGINT during the drain exits at once, saying so', async () => {
    const p = serve(['--config', slowAgentConfig(20_000)]);
    const url = servingUrl(await p.line(/serving/));
    const { id } = await post<{ id: string }>(`${url}/v1/tasks`, { capability: 'slow' });
    await whenLeased(url, id);
    p.child.kill('SIGINT');
    await p.line(/SIGINT, draining/);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const t0 = Date.now();
    p.child.kill('SIGINT');
    const { code, at } = await p.exited;
    expect(code).toBe(1);
    expect(at - t0).toBeLessThan(500);
    expect(p.lines().at(-1)).toBe(
      'switchboard: second SIGINT during the drain, exiting at once; tasks in flight and queued are dropped (memory backend)',
    );
  });
});
