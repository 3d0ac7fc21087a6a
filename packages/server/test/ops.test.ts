import { createClient } from '@switchboard/client';
import { createSwitchboard, type Switchboard } from '@switchboard/core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createApp } from '../src/app.js';
import { nodeRuntime } from '../src/node.js';
import { ago } from '../src/ops/output.js';
import { runOps } from '../src/ops/program.js';
import { eventLine } from '../src/ops/tail.js';
import type { Listening } from '../src/runtime.js';

// The operator commands in this process, against a real server on 127.0.0.1 with auth on
// (test/cli runs them as child processes; this covers their output paths and the token).
let sb: Switchboard;
let server: Listening;
let url: string;

beforeAll(async () => {
  sb = createSwitchboard();
  await sb.start();
  const app = createApp(sb, { tokens: { admin: 'adm', client: 'cli' } });
  server = await nodeRuntime.serve(app.fetch, { port: 0, host: '127.0.0.1' });
  url = `http://127.0.0.1:${server.port}`;
});
afterAll(async () => {
  await sb.shutdown({ drain: false });
  await server.close();
});

/** Runs `switchboard <args>` here and answers its exit code and what it printed. */
async function ops(args: string[], env: Record<string, string> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const stdout = vi.spyOn(process.stdout, 'write').mockImplementation((s) => {
    out.push(String(s));
    return true;
  });
  const stderr = vi.spyOn(process.stderr, 'write').mockImplementation((s) => {
    err.push(String(s));
    return true;
  });
  try {
    const code = await runOps(args, { SWITCHBOARD_URL: url, SWITCHBOARD_TOKEN: 'adm', ...env });
    return { code, stdout: out.join(''), stderr: err.join('') };
  } finally {
    stdout.mockRestore();
    stderr.mockRestore();
  }
}

describe('runOps', () => {
  it('runs each command against the server, as tables and as JSON', async () => {
    const agents = createClient({ baseUrl: url, token: 'adm' });
    const agent = await agents.registerAgent({ name: 'w1', capabilities: ['ocr'] });
    const submitted = await ops([
      'submit',
      'ocr',
      '"page.png"',
      '--key',
      'p-1',
      '--priority',
      'low',
    ]);
    expect(submitted.code).toBe(0);
    const id = /submitted (\S+)/.exec(submitted.stdout)?.[1] as string;

    expect((await ops(['agents'])).stdout).toMatch(/w1\s+ready\s+0\/1\s+\d+s ago\s+ocr@1/);
    expect((await ops(['tasks', '--status', 'queued'])).stdout).toContain(id);
    expect(JSON.parse((await ops(['tasks', '--key', 'p-1', '--json'])).stdout).tasks[0].id).toBe(
      id,
    );
    expect((await ops(['task', id])).stdout).toMatch(/^priority:\s+low$/m);

    const [lease] = (await agents.lease(agent.id, { max: 1 })).tasks;
    await agents.fail(id, lease!.leaseToken, { message: 'blurry', retryable: false });
    expect((await ops(['dead-letters'])).stdout).toMatch(
      new RegExp(`${id}\\s+ocr\\s+1\\s+.*blurry`),
    );
    expect(JSON.parse((await ops(['dead-letters', '--json'])).stdout).tasks[0].id).toBe(id);
    expect(await ops(['replay', id])).toMatchObject({ code: 0, stdout: `replayed ${id}\n` });
    expect(JSON.parse((await ops(['cancel', id, '--json'])).stdout).cancelled[0]).toMatchObject({
      id,
      status: 'cancelled',
    });
    const stats = await ops(['stats']);
    expect(stats.stdout).toMatch(/^agents:\s+1 \(0 busy\): ready 1$/m);
    expect(JSON.parse((await ops(['stats', '--json'])).stdout).tasks.cancelled).toBe(1);
    await agents.leave(agent.id);
  });

  it('tails events until --count, as lines and as JSON lines', async () => {
    const feeding = setInterval(() => void sb.submit({ capability: 'tail-me' }), 50);
    try {
      const lines = await ops(['tail', 'task.queued', '--count', '1']);
      expect(lines.code).toBe(0);
      expect(lines.stdout).toMatch(
        /^\d\d:\d\d:\d\d\.\d{3}\s+task\.queued\s+taskId=\S+\s+capability=tail-me/,
      );
      const json = await ops(['tail', 'task.queued', '--count', '2', '--json']);
      const events = json.stdout
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(events.map((e) => e.topic)).toEqual(['task.queued', 'task.queued']);
    } finally {
      clearInterval(feeding);
    }
  });

  it('says what a missing or refused token means, with exit 1', async () => {
    const none = await ops(['stats'], { SWITCHBOARD_TOKEN: '' });
    expect(none).toMatchObject({ code: 1 });
    expect(none.stderr).toContain('unauthorized (HTTP 401)');
    expect(none.stderr).toContain('pass --token or set SWITCHBOARD_TOKEN');
    const client = await ops(['dead-letters', '--token', 'cli']);
    expect(client.code).toBe(1);
    expect(client.stderr).toContain('forbidden (HTTP 403)');
    expect((await ops(['stats', '--token', 'cli'])).code).toBe(0);
  });

  it('prints help with exit 0, and names the known commands for an unknown one', async () => {
    const help = await ops(['tasks', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--status <status>');
    const unknown = await ops(['stat']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('known commands: serve, agents, tasks');
  });
});

describe('output', () => {
  it('formats ages and event lines', () => {
    expect([0, 59_000, 60_000, 3_600_000, 90_000_000].map((d) => ago(1e9 - d, 1e9))).toEqual([
      '0s',
      '59s',
      '1m',
      '1h',
      '1d',
    ]);
    const line = eventLine({
      topic: 'agent.state',
      at: Date.UTC(2026, 0, 1, 12, 0, 1, 5),
      agentId: 'a',
      to: 'working',
      n: 2,
    });
    expect(line).toBe('12:00:01.005  agent.state       agentId=a  to=working  n=2');
  });
});
