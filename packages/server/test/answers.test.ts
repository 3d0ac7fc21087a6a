import { createSwitchboard, type Switchboard } from '@switchboard/core';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp } from '../src/app.js';
import { Lifecycle } from '../src/lifecycle.js';
import { nodeRuntime } from '../src/node.js';
import type { Listening } from '../src/runtime.js';

// Batches of answers (`POST /v1/tasks/answers`) and answers sent along with a lease request,
// against the real server on 127.0.0.1.

const running: { sb: Switchboard; server: Listening }[] = [];

async function serve(options: Parameters<typeof createApp>[1] = {}) {
  const sb = createSwitchboard({ heartbeatIntervalMs: 200, heartbeatTimeoutMs: 2000 });
  await sb.start();
  const server = await nodeRuntime.serve(createApp(sb, options).fetch, {
    port: 0,
    host: '127.0.0.1',
  });
  running.push({ sb, server });
  const base = `http://127.0.0.1:${server.port}`;
  const call = async (method: string, path: string, body?: unknown, token?: string) => {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    const init: RequestInit = { method, headers };
    if (body !== undefined) init.body = JSON.stringify(body);
    const res = await fetch(base + path, init);
    const text = await res.text();
    return { status: res.status, body: text === '' ? undefined : JSON.parse(text) };
  };
  return { sb, call };
}

afterEach(async () => {
  for (const { sb, server } of running.splice(0)) {
    await sb.shutdown({ drain: false });
    await server.close();
  }
});

type Call = Awaited<ReturnType<typeof serve>>['call'];

/** Registers an agent of capability `job` and leases `n` tasks submitted for it. */
async function leased(call: Call, n: number) {
  const agent = (await call('POST', '/v1/agents', { capabilities: ['job'], maxConcurrency: n }))
    .body;
  for (let i = 0; i < n; i++) {
    await call('POST', '/v1/tasks', { capability: 'job', payload: i, maxAttempts: 2 });
  }
  const { tasks } = (await call('POST', `/v1/agents/${agent.id}/lease`, { max: n })).body;
  expect(tasks).toHaveLength(n);
  return { agentId: agent.id as string, tasks: tasks as { id: string; leaseToken: string }[] };
}

describe('POST /v1/tasks/answers', () => {
  it('applies each answer on its own and says what became of each, in order', async () => {
    const { call } = await serve();
    const { tasks } = await leased(call, 3);
    const [a, b, c] = tasks as [(typeof tasks)[0], (typeof tasks)[0], (typeof tasks)[0]];
    const res = await call('POST', '/v1/tasks/answers', {
      answers: [
        { taskId: a.id, leaseToken: a.leaseToken, result: { n: 1 } },
        { taskId: b.id, leaseToken: b.leaseToken, error: { message: 'try again' } },
        { taskId: c.id, leaseToken: 'not-its-token', result: 1 },
        { taskId: 'no-such-task', leaseToken: 'x' },
      ],
    });
    expect(res.status).toBe(200);
    expect(res.body.answers).toEqual([
      { taskId: a.id, status: 'completed' },
      // A retryable failure with an attempt left: back to the queue.
      { taskId: b.id, status: 'queued' },
      { taskId: c.id, error: expect.objectContaining({ code: 'conflict', status: 409 }) },
      {
        taskId: 'no-such-task',
        error: expect.objectContaining({ code: 'not_found', status: 404 }),
      },
    ]);
    expect((await call('GET', `/v1/tasks/${a.id}`)).body).toMatchObject({
      status: 'completed',
      result: { n: 1 },
    });
    // The refused answer left its task leased, as a lone complete with a bad token would.
    expect((await call('GET', `/v1/tasks/${c.id}`)).body.status).toBe('leased');

    // Sent again, an applied answer is told 409: a worker that lost the first answer to a
    // dropped connection learns that nothing is left to do.
    const again = await call('POST', '/v1/tasks/answers', {
      answers: [{ taskId: a.id, leaseToken: a.leaseToken, result: { n: 1 } }],
    });
    expect(again.body.answers[0].error.status).toBe(409);
  });

  it('refuses a bad batch whole with 400 naming the field, and needs the agent scope', async () => {
    const { call } = await serve({ tokens: { admin: 'adm', client: 'cli', agent: 'agt' } });
    const empty = await call('POST', '/v1/tasks/answers', { answers: [] }, 'agt');
    expect(empty.status).toBe(400);
    expect(empty.body.error.code).toBe('invalid_request');
    const noToken = await call(
      'POST',
      '/v1/tasks/answers',
      { answers: [{ taskId: 't', result: 1 }] },
      'agt',
    );
    expect(noToken.status).toBe(400);
    expect(JSON.stringify(noToken.body.error.details)).toContain('leaseToken');
    const both = await call(
      'POST',
      '/v1/tasks/answers',
      { answers: [{ taskId: 't', leaseToken: 'x', result: 1, error: { message: 'no' } }] },
      'agt',
    );
    expect(both.status).toBe(400);
    expect(both.body.error.details[0].path).toBe('answers.0.error');
    const tooMany = Array.from({ length: 1001 }, (_, i) => ({ taskId: `t${i}`, leaseToken: 'x' }));
    expect((await call('POST', '/v1/tasks/answers', { answers: tooMany }, 'agt')).status).toBe(400);
    const asClient = await call(
      'POST',
      '/v1/tasks/answers',
      { answers: [{ taskId: 't', leaseToken: 'x' }] },
      'cli',
    );
    expect(asClient.status).toBe(403);
  });
});

describe('answers sent along with a lease request', () => {
  it('applies them before leasing, so that their slots take the next tasks', async () => {
    const { call } = await serve();
    const { agentId, tasks } = await leased(call, 2);
    await call('POST', '/v1/tasks', { capability: 'job', payload: 'next' });
    await call('POST', '/v1/tasks', { capability: 'job', payload: 'after' });
    const res = await call('POST', `/v1/agents/${agentId}/lease`, {
      max: 2,
      answers: tasks.map((t) => ({ taskId: t.id, leaseToken: t.leaseToken, result: 'ok' })),
    });
    expect(res.status).toBe(200);
    expect(res.body.answers).toEqual(tasks.map((t) => ({ taskId: t.id, status: 'completed' })));
    // The agent's two slots were both busy before the answers: the new leases prove the
    // answers were applied first.
    expect(res.body.tasks.map((t: { payload: unknown }) => t.payload).sort()).toEqual([
      'after',
      'next',
    ]);
    // Without answers, the answer has no `answers` field, as before.
    const plain = await call('POST', `/v1/agents/${agentId}/lease`, { max: 1 });
    expect(Object.keys(plain.body)).toEqual(['tasks']);
  });

  it('applies them even when the lease is refused: while draining, or for an unknown agent', async () => {
    const lifecycle = new Lifecycle('ready');
    const { call } = await serve({ lifecycle });
    const { agentId, tasks } = await leased(call, 2);
    const [a, b] = tasks as [(typeof tasks)[0], (typeof tasks)[0]];
    const unknown = await call('POST', '/v1/agents/no-such-agent/lease', {
      answers: [
        { taskId: b.id, leaseToken: b.leaseToken, error: { message: 'x', retryable: false } },
      ],
    });
    expect(unknown.status).toBe(404);
    expect((await call('GET', `/v1/tasks/${b.id}`)).body.status).toBe('dead');
    lifecycle.drain();
    const draining = await call('POST', `/v1/agents/${agentId}/lease`, {
      answers: [{ taskId: a.id, leaseToken: a.leaseToken, result: 'drained' }],
    });
    expect(draining.status).toBe(503);
    expect((await call('GET', `/v1/tasks/${a.id}`)).body).toMatchObject({
      status: 'completed',
      result: 'drained',
    });
  });
});
