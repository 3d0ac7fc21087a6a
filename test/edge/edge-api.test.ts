/**
 * The HTTP API of @switchboard/server served from workerd (examples/edge-worker/api-worker.ts):
 * a Durable Object holds the Switchboard and the server's app, so tasks outlive the request
 * that submitted them. Checked over HTTP on 127.0.0.1 with @switchboard/client from Node: auth,
 * a task run by an agent inside the object, one leased by a remote worker that fails its
 * first attempt and is retried, and one whose lease expires on the object's own timer.
 */
import { createClient, createWorker } from '@switchboard/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ServedWorker, serveOnWorkerd } from './workerd.js';

const token = 'edge-admin-token';
let api: ServedWorker;
let tokenless: ServedWorker;

beforeAll(async () => {
  api = await serveOnWorkerd('api-worker.ts', {
    durableObjects: { SWITCHBOARD: { className: 'SwitchboardHub', useSQLite: true } },
    bindings: { SWITCHBOARD_ADMIN_TOKEN: token },
  });
  tokenless = await serveOnWorkerd('api-worker.ts', {
    durableObjects: { SWITCHBOARD: { className: 'SwitchboardHub', useSQLite: true } },
  });
}, 60_000);

afterAll(async () => {
  await api?.stop();
  await tokenless?.stop();
});

describe('the HTTP API on workerd (a Durable Object)', { timeout: 30_000 }, () => {
  it('is bundled without any import left over: core and server need no Node built-in', () => {
    expect(api.imports).toEqual([]);
  });

  it('answers /healthz and /readyz, and refuses a request without the token with a 401', async () => {
    expect((await fetch(`${api.url}healthz`)).status).toBe(200);
    expect((await fetch(`${api.url}readyz`)).status).toBe(200);
    const res = await fetch(`${api.url}v1/stats`);
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('unauthorized');
  });

  it('serves nothing while no token is set, saying which to set', async () => {
    const res = await fetch(`${tokenless.url}v1/stats`);
    expect(res.status).toBe(503);
    const { error } = (await res.json()) as { error: { code: string; message: string } };
    expect(error.code).toBe('unavailable');
    expect(error.message).toMatch(/SWITCHBOARD_ADMIN_TOKEN/);
  });

  it('runs a schedule in the object: croner reads it there and the timers of the object fire it', async () => {
    const client = createClient({ baseUrl: api.url, token });
    const created = await client.putSchedule('edge-beat', {
      cron: '* * * * * *',
      timezone: 'Asia/Kolkata',
      task: { capability: 'shout', payload: { text: 'tick' } },
    });
    expect(created.nextRuns).toHaveLength(5);
    try {
      const deadline = Date.now() + 5000;
      let taskId: string | undefined;
      while (taskId === undefined && Date.now() < deadline) {
        taskId = (await client.getSchedule('edge-beat')).lastTaskId;
        if (taskId === undefined) await new Promise((r) => setTimeout(r, 100));
      }
      expect(taskId).toBeDefined();
      const task = await client.result(taskId as string, 5000);
      expect(task).toMatchObject({ status: 'completed', result: { text: 'TICK' } });
    } finally {
      await client.deleteSchedule('edge-beat');
    }
  });

  it('runs a submitted task on an agent in the object, and answers its result later', async () => {
    const client = createClient({ baseUrl: api.url, token });
    const { id } = await client.submit({ capability: 'shout', payload: { text: 'edge' } });
    const task = await client.result(id, 10_000);
    expect(task.status).toBe('completed');
    expect(task.result).toEqual({ text: 'EDGE' });
    expect((await client.getTask(id)).status).toBe('completed');
  });

  it('leases a task to a remote worker over HTTP, and retries its failed first attempt', async () => {
    const client = createClient({ baseUrl: api.url, token });
    const attempts: number[] = [];
    const worker = createWorker({
      url: api.url,
      token,
      capabilities: [{ name: 'remote', version: '1' }],
      handler: async (payload: { n: number }, ctx) => {
        attempts.push(ctx.attempt);
        if (ctx.attempt === 1) throw new Error('the first attempt fails');
        return { doubled: payload.n * 2 };
      },
    });
    const running = worker.run();
    try {
      const { id } = await client.submit({
        capability: 'remote',
        payload: { n: 21 },
        maxAttempts: 3,
      });
      const task = await client.result(id, 15_000);
      expect(task.status).toBe('completed');
      expect(task.result).toEqual({ doubled: 42 });
      expect(task.attempts).toBe(2);
      expect(attempts).toEqual([1, 2]);
    } finally {
      await worker.close();
      await running;
    }
  });

  it('kills a task whose lease expires, on a timer of the object itself', async () => {
    const client = createClient({ baseUrl: api.url, token });
    const { id } = await client.submit({
      capability: 'slow',
      payload: { ms: 10_000 },
      timeoutMs: 300,
      maxAttempts: 1,
    });
    const task = await client.result(id, 8_000);
    expect(task.status).toBe('dead');
    expect(task.attempts).toBe(1);
  });
});
