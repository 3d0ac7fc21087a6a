/**
 * The operator commands of `switchboard` (docs/cli.md), run as real child processes of the CLI
 * bundled from the sources, against a real server process on 127.0.0.1: each command's table
 * and its --json document on real data, and the exit codes.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { createClient, type SwitchboardClient } from '@switchboard/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ServerProcess, spawnServer } from '../e2e/servers.js';
import { bundleSourceServer } from '../helpers/source-server.js';

let bin: string;
let server: ServerProcess;
let client: SwitchboardClient;

beforeAll(async () => {
  bin = await bundleSourceServer();
  server = await spawnServer(process.execPath, [bin, 'serve'], {});
  client = createClient({ baseUrl: server.url });
}, 60_000);

afterAll(async () => {
  await server?.stop();
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Starts `switchboard <args>` against the test server (SWITCHBOARD_URL), unless env says otherwise. */
function start(args: string[], env: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, [bin, ...args], {
    env: { ...process.env, SWITCHBOARD_URL: server.url, SWITCHBOARD_TOKEN: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Collects a child's output until it exits. */
function finished(child: ChildProcess): Promise<Run> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  return new Promise((resolve) => {
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return finished(start(args, env));
}

/** Runs a command with --json, expects exit 0, and parses its one document. */
async function json<T = Record<string, unknown>>(args: string[]): Promise<T> {
  const run = await cli([...args, '--json']);
  expect(run.code, run.stderr).toBe(0);
  return JSON.parse(run.stdout) as T;
}

/** A port on 127.0.0.1 that nothing listens on (it was just bound and closed). */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((done) => probe.listen(0, '127.0.0.1', done));
  const { port } = probe.address() as { port: number };
  await new Promise((done) => probe.close(done));
  return port;
}

describe('switchboard operator commands', { timeout: 60_000 }, () => {
  it('agents: a registered agent with its state, load and capabilities', async () => {
    const agent = await client.registerAgent({
      name: 'crawler',
      capabilities: ['browser', { name: 'llm', version: '2' }],
      maxConcurrency: 2,
    });
    const run = await cli(['agents']);
    expect(run.code).toBe(0);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID\s+NAME\s+STATE\s+LOAD\s+HEARTBEAT\s+CAPABILITIES$/);
    const row = lines.find((l) => l.startsWith(agent.id));
    // A capability registered without a version has version 1.
    expect(row).toMatch(/crawler\s+ready\s+0\/2\s+\d+s ago\s+browser@1, llm@2$/);
    const doc = await json<{ agents: { id: string; name: string }[] }>(['agents']);
    expect(doc.agents).toContainEqual(expect.objectContaining({ id: agent.id, name: 'crawler' }));
    await client.leave(agent.id);
  });

  it('submit, tasks and task: a submitted task in the listing and in detail', async () => {
    const submitted = await cli([
      'submit',
      'resize',
      '{"w":640}',
      '--priority',
      'high',
      '--key',
      'img-1',
    ]);
    expect(submitted.code, submitted.stderr).toBe(0);
    const id = /^submitted (\S+) \(queued\)$/.exec(submitted.stdout.trim())?.[1] as string;
    expect(id).toBeDefined();
    const second = await json<{ id: string; status: string }>(['submit', 'resize']);
    expect(second.status).toBe('queued');

    const table = await cli(['tasks', '--capability', 'resize']);
    expect(table.code).toBe(0);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID\s+CAPABILITY\s+STATUS\s+PRIORITY\s+ATTEMPTS\s+AGENT\s+AGE$/);
    expect(lines.slice(1).map((l) => l.split(/\s+/)[0])).toEqual([second.id, id]);
    expect(lines[2]).toMatch(/resize\s+queued\s+high\s+0\/3\s+-\s+\d+s$/);

    const byKey = await json<{ tasks: { id: string }[] }>(['tasks', '--key', 'img-1']);
    expect(byKey.tasks.map((t) => t.id)).toEqual([id]);
    const page = await json<{ tasks: unknown[]; nextCursor?: string }>([
      'tasks',
      '--capability',
      'resize',
      '--limit',
      '1',
    ]);
    expect(page.tasks).toHaveLength(1);
    expect(page.nextCursor).toEqual(expect.any(String));
    const more = await cli(['tasks', '--capability', 'resize', '--limit', '1']);
    expect(more.stdout).toContain(`more: switchboard tasks --cursor ${page.nextCursor}`);
    const rest = await json<{ tasks: { id: string }[] }>([
      'tasks',
      '--capability',
      'resize',
      '--cursor',
      page.nextCursor as string,
    ]);
    expect(rest.tasks.map((t) => t.id)).toEqual([id]);

    const detail = await cli(['task', id]);
    expect(detail.code).toBe(0);
    expect(detail.stdout).toMatch(new RegExp(`^id:\\s+${id}$`, 'm'));
    expect(detail.stdout).toMatch(/^status:\s+queued$/m);
    expect(detail.stdout).toMatch(/^idempotency key:\s+img-1$/m);
    expect(detail.stdout).toMatch(/^created:\s+\d{4}-\d\d-\d\dT.*Z \(\d+s ago\)$/m);
    expect(await json(['task', id])).toMatchObject({
      id,
      priority: 'high',
      idempotencyKey: 'img-1',
    });
    for (const t of [id, second.id]) await client.cancel(t);
  });

  it('dead-letters and replay: a dead letter listed, then replayed', async () => {
    const agent = await client.registerAgent({ name: 'flaky', capabilities: ['pdf'] });
    const { id } = await client.submit({ capability: 'pdf', maxAttempts: 1 });
    const [lease] = (await client.lease(agent.id, { max: 1, waitMs: 5000 })).tasks;
    await client.fail(id, lease!.leaseToken, { message: 'printer on fire', retryable: false });

    const table = await cli(['dead-letters']);
    expect(table.code).toBe(0);
    expect(table.stdout.split('\n')[0]).toMatch(/^ID\s+CAPABILITY\s+ATTEMPTS\s+DIED\s+ERROR$/);
    expect(table.stdout).toMatch(
      new RegExp(`^${id}\\s+pdf\\s+1\\s+\\d+s ago\\s+printer on fire$`, 'm'),
    );
    const dead = await json<{ tasks: { id: string }[] }>(['dead-letters']);
    expect(dead.tasks.map((t) => t.id)).toContain(id);

    const replay = await cli(['replay', id, 'no-such-letter']);
    expect(replay.code).toBe(1);
    expect(replay.stdout.trim()).toBe(`replayed ${id}`);
    expect(replay.stderr).toMatch(/no-such-letter: not_found \(HTTP 404\)/);
    expect(await json(['task', id])).toMatchObject({ status: 'queued', attempts: 0 });
    const again = await cli(['replay', id, '--json']);
    expect(again.code).toBe(1);
    const none = JSON.parse(again.stdout) as { replayed: unknown[]; failed: { id: string }[] };
    expect(none.replayed).toEqual([]);
    expect(none.failed.map((f) => f.id)).toEqual([id]);
    await client.cancel(id);
    await client.leave(agent.id);
  });

  it('cancel: cancels tasks; one already ended is exit 1 and named', async () => {
    const { id } = await client.submit({ capability: 'cancel-me' });
    const run = await cli(['cancel', id]);
    expect(run).toMatchObject({ code: 0, stdout: `cancelled ${id}\n` });
    expect(await json(['task', id])).toMatchObject({ status: 'cancelled' });
    const again = await cli(['cancel', id, '--json']);
    expect(again.code).toBe(1);
    const doc = JSON.parse(again.stdout) as {
      cancelled: unknown[];
      failed: { id: string; error: string }[];
    };
    expect(doc.cancelled).toEqual([]);
    expect(doc.failed).toEqual([{ id, error: expect.stringMatching(/^conflict \(HTTP 409\)/) }]);
  });

  it('submit --wait: prints the result once an agent completes it; exit 1 when it dies', async () => {
    const agent = await client.registerAgent({ name: 'echo', capabilities: ['echo'] });
    const waiting = finished(start(['submit', 'echo', '[1,2]', '--wait']));
    const [lease] = (await client.lease(agent.id, { max: 1, waitMs: 10_000 })).tasks;
    await client.complete(lease!.id, lease!.leaseToken, { sum: 3 });
    const done = await waiting;
    expect(done.code, done.stderr).toBe(0);
    expect(done.stdout).toMatch(/^status:\s+completed$/m);
    expect(done.stdout).toMatch(/^result:\s+\{"sum":3\}$/m);

    const failing = finished(start(['submit', 'echo', '--wait', '--json']));
    const [next] = (await client.lease(agent.id, { max: 1, waitMs: 10_000 })).tasks;
    await client.fail(next!.id, next!.leaseToken, { message: 'no', retryable: false });
    const dead = await failing;
    expect(dead.code).toBe(1);
    expect(JSON.parse(dead.stdout)).toMatchObject({ id: next!.id, status: 'dead' });
    expect(dead.stderr).toContain(`task ${next!.id} ended dead`);
    await client.leave(agent.id);
  });

  it('stats: the figures as fields and as the stats document', async () => {
    const run = await cli(['stats']);
    expect(run.code).toBe(0);
    const labels = run.stdout
      .trimEnd()
      .split('\n')
      .map((l) => l.split(':')[0]);
    expect(labels).toEqual(['agents', 'queued', 'tasks', 'throughput', 'latency']);
    expect(run.stdout).toMatch(
      /^tasks:\s+submitted \d+, completed [1-9]\d*, failed \d+, dead [1-9]/m,
    );
    const doc = await json<{ tasks: { completed: number } }>(['stats']);
    expect(doc.tasks.completed).toBeGreaterThanOrEqual(1);
  });

  it('tail: prints events as JSON lines and exits after --count', async () => {
    const tailing = start(['tail', 'task.queued', '--count', '2', '--json']);
    const run = finished(tailing);
    const feeding = setInterval(() => void client.submit({ capability: 'tailed' }), 100);
    const done = await run.finally(() => clearInterval(feeding));
    expect(done.code, done.stderr).toBe(0);
    const events = done.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(events).toHaveLength(2);
    for (const e of events) expect(e).toMatchObject({ topic: 'task.queued', capability: 'tailed' });
  });

  it('tail: prints an event as a line and exits 0 on SIGINT', async () => {
    const tailing = start(['tail', 'task.*']);
    const run = finished(tailing);
    let printed = '';
    tailing.stdout?.on('data', (d: Buffer) => {
      printed += d.toString();
    });
    const feeding = setInterval(() => void client.submit({ capability: 'tailed-human' }), 100);
    await expect.poll(() => printed, { timeout: 10_000 }).toContain('task.queued');
    clearInterval(feeding);
    tailing.kill('SIGINT');
    const done = await run;
    expect(done.code).toBe(0);
    expect(done.stdout.split('\n')[0]).toMatch(
      /^\d\d:\d\d:\d\d\.\d{3}\s+task\.queued\s+taskId=\S+\s+capability=tailed-human\s+priority=normal$/,
    );
    expect(done.stderr).toContain(`following task.* at ${server.url}`);
  });

  it('exit codes: 1 not found, 2 usage errors naming what is known, 3 unreachable', async () => {
    const missing = await cli(['task', 'no-such-task']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^switchboard: not_found \(HTTP 404\): .*no-such-task/);

    const unknown = await cli(['taks']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown command 'taks'");
    expect(unknown.stderr).toContain('known commands: serve, agents, tasks, task, dead-letters');
    const flag = await cli(['tasks', '--stauts', 'dead']);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain('(Did you mean --status?)');
    expect(flag.stderr).toContain('known options of tasks: --status, --capability, --key, --limit');
    for (const args of [
      ['tasks', '--limit', '0'],
      ['tasks', '--status', 'lost'],
      ['submit', 'echo', '{not json'],
      ['task'],
      ['tasks', '--url', 'ftp://example'],
    ]) {
      const run = await cli(args);
      expect(run.code, `${args.join(' ')}: ${run.stderr}`).toBe(2);
      expect(run.stderr).not.toMatch(/\n\s+at /);
    }

    const url = `http://127.0.0.1:${await closedPort()}`;
    for (const args of [['stats'], ['tail']]) {
      const run = await cli(args, { SWITCHBOARD_URL: url });
      expect(run.code).toBe(3);
      expect(run.stderr).toContain(`cannot reach the server at ${url}: ECONNREFUSED`);
    }
    const flagged = await cli(['agents', '--url', url], { SWITCHBOARD_URL: server.url });
    expect(flagged.code).toBe(3);
  });
});
