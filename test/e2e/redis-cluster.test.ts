import { execPath } from 'node:process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisServerHandle, startRedisServer } from '../helpers/redis-server.js';
import { bundle, type ServerProcess, spawnServer } from './servers.js';

// Two real server processes (the built Node bundle) on a redis-server of their own: an agent
// registered on A works through B, B's event stream carries A's events once each, and the
// agent carries on through B after A is killed with SIGKILL.
let redis: RedisServerHandle;
let a: ServerProcess;
let b: ServerProcess;

/** A server process of the built bundle on the Redis at `url` (default: the suite's). */
function start(url = redis.url): Promise<ServerProcess> {
  return spawnServer(execPath, [bundle('node'), 'serve', '--backend', url], {
    heartbeatTimeoutMs: 900,
  });
}

beforeAll(async () => {
  redis = await startRedisServer();
  [a, b] = await Promise.all([start(), start()]);
}, 30_000);
afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await redis?.dispose();
});

// biome-ignore lint/suspicious/noExplicitAny: answers are checked field by field.
async function call(base: string, method: string, path: string, body?: unknown): Promise<any> {
  const res = await fetch(base + path, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text.length > 0 ? JSON.parse(text) : undefined };
}

async function until(check: () => Promise<boolean>, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Reads an SSE stream in the background; `events` fills as they come. */
function stream(base: string, topics: string) {
  const events: { topic: string; data: Record<string, unknown> }[] = [];
  const controller = new AbortController();
  const ready = fetch(`${base}/v1/events?topics=${topics}`, { signal: controller.signal }).then(
    async (res) => {
      const reader = (res.body as ReadableStream<Uint8Array>).getReader();
      const decoder = new TextDecoder();
      let buffer = '';
      void (async () => {
        for (;;) {
          const { done, value } = await reader
            .read()
            .catch(() => ({ done: true, value: undefined }));
          if (done) return;
          buffer += decoder.decode(value, { stream: true });
          let end = buffer.indexOf('\n\n');
          while (end >= 0) {
            const frame = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const topic = /^event: (.*)$/m.exec(frame)?.[1];
            const data = /^data: (.*)$/m.exec(frame)?.[1];
            if (topic !== undefined && data !== undefined)
              events.push({ topic, data: JSON.parse(data) });
            end = buffer.indexOf('\n\n');
          }
        }
      })();
    },
  );
  return { events, ready, close: () => controller.abort() };
}

describe('two servers on one Redis', () => {
  it('shares agents, leases, results and events, and survives the death of one', async () => {
    const sse = stream(b.url, 'task.*,agent.*');
    await sse.ready;
    const reg = await call(a.url, 'POST', '/v1/agents', { name: 'w', capabilities: ['job'] });
    expect(reg.status).toBe(201);
    const id = reg.body.id as string;

    // B lists and shows the agent registered on A.
    await until(async () => (await call(b.url, 'GET', '/v1/agents')).body.agents.length === 1);
    expect((await call(b.url, 'GET', `/v1/agents/${id}`)).body).toMatchObject({ id, name: 'w' });
    expect((await call(b.url, 'POST', `/v1/agents/${id}/heartbeat`)).status).toBe(200);

    // A task submitted on A, leased and completed through B; A's waiter gets the result.
    // B's interest in events reaches A over pub/sub: wait until A forwards them.
    // The agent heartbeats meanwhile, as a live one does: on a loaded machine this wait may
    // outlast the 900 ms heartbeat timeout, which would fail the agent before it leases.
    let task = '';
    await until(async () => {
      await call(b.url, 'POST', `/v1/agents/${id}/heartbeat`);
      task = (await call(a.url, 'POST', '/v1/tasks', { capability: 'probe' })).body.id;
      return sse.events.some((e) => e.data.taskId === task);
    });
    const submitted = await call(a.url, 'POST', '/v1/tasks', { capability: 'job', payload: 2 });
    task = submitted.body.id;
    const waiting = call(a.url, 'GET', `/v1/tasks/${task}/result?waitMs=5000`);
    const leased = await call(b.url, 'POST', `/v1/agents/${id}/lease`, { max: 1, waitMs: 3000 });
    expect(leased.status, JSON.stringify(leased.body)).toBe(200);
    expect(leased.body.tasks.map((t: { id: string }) => t.id)).toEqual([task]);
    const token = leased.body.tasks[0].leaseToken;
    expect(
      (await call(b.url, 'POST', `/v1/tasks/${task}/complete`, { leaseToken: token, result: 4 }))
        .status,
    ).toBe(200);
    expect((await waiting).body).toMatchObject({ id: task, status: 'completed', result: 4 });
    await until(async () =>
      sse.events.some((e) => e.topic === 'task.completed' && e.data.taskId === task),
    );
    const mine = sse.events.filter((e) => e.data.taskId === task).map((e) => e.topic);
    expect(mine.filter((t) => t === 'task.queued')).toHaveLength(1);
    expect(mine.filter((t) => t === 'task.completed')).toHaveLength(1);

    // A lease handed out by A, then A dies: the agent heartbeats, completes and leases on B.
    const second = (await call(a.url, 'POST', '/v1/tasks', { capability: 'job' })).body.id;
    const held = await call(a.url, 'POST', `/v1/agents/${id}/lease`, { max: 1, waitMs: 3000 });
    expect(held.body.tasks[0].id).toBe(second);
    await a.kill('SIGKILL');
    for (let i = 0; i < 6; i++) {
      expect((await call(b.url, 'POST', `/v1/agents/${id}/heartbeat`)).status).toBe(200);
      await new Promise((r) => setTimeout(r, 250));
    }
    const done = await call(b.url, 'POST', `/v1/tasks/${second}/complete`, {
      leaseToken: held.body.tasks[0].leaseToken,
      result: 'after',
    });
    expect(done.body).toMatchObject({ status: 'completed', result: 'after' });
    const third = (await call(b.url, 'POST', '/v1/tasks', { capability: 'job' })).body.id;
    const next = await call(b.url, 'POST', `/v1/agents/${id}/lease`, { max: 1, waitMs: 3000 });
    expect(next.body.tasks[0].id).toBe(third);
    expect(sse.events.filter((e) => e.topic === 'agent.failed')).toEqual([]);
    sse.close();
  }, 30_000);
});

describe('a server through a Redis outage', () => {
  let durable: RedisServerHandle;
  let c: ServerProcess;
  beforeAll(async () => {
    // Append-only with fsync per write: what Redis acknowledged survives its restart.
    durable = await startRedisServer({ appendonly: true });
    c = await start(durable.url);
  }, 30_000);
  afterAll(async () => {
    await c?.stop();
    await durable?.dispose();
  });

  it('answers 503 to new work while Redis is down, stays up, and resumes with what it had', async () => {
    const before = await call(c.url, 'POST', '/v1/tasks', { capability: 'job', payload: 1 });
    expect(before.status).toBe(202);
    await durable.stop({ kill: true });
    const during = await call(c.url, 'POST', '/v1/tasks', { capability: 'job' });
    expect(during).toMatchObject({ status: 503, body: { error: { code: 'unavailable' } } });
    // Lease sweeps and directory refreshes fail meanwhile: logged, never fatal.
    await new Promise((r) => setTimeout(r, 1_500));
    expect(c.alive()).toBe(true);
    expect((await call(c.url, 'GET', '/healthz')).status).toBe(200);

    await durable.restart();
    let after = { status: 0, body: undefined as unknown };
    await until(async () => {
      after = await call(c.url, 'POST', '/v1/tasks', { capability: 'job', payload: 2 });
      return after.status === 202;
    });
    const agent = (
      await call(c.url, 'POST', '/v1/agents', {
        name: 'w',
        capabilities: ['job'],
        maxConcurrency: 10,
      })
    ).body.id;
    const leased = await call(c.url, 'POST', `/v1/agents/${agent}/lease`, { max: 10, waitMs: 0 });
    expect(leased.body.tasks.map((t: { payload: unknown }) => t.payload)).toEqual([1, 2]);
  }, 30_000);
});
