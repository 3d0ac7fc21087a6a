import { createSwitchboard, type Switchboard } from '@switchboard/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// The server from its sources by path: the client's tests need a real server, and a
// dependency of the client on the server (which depends on the client) would be a cycle.
import { createApp } from '../../server/src/app.js';
import { nodeRuntime } from '../../server/src/node.js';
import type { Listening } from '../../server/src/runtime.js';
import { createClient } from '../src/client.js';
import { silentServer } from './silent-server.js';

describe('createClient against a real server', () => {
  let sb: Switchboard;
  let server: Listening;
  let baseUrl: string;

  beforeAll(async () => {
    sb = createSwitchboard();
    await sb.start();
    const app = createApp(sb, { tokens: { admin: 'adm', client: 'cli', agent: 'agt' } });
    server = await nodeRuntime.serve(app.fetch, { port: 0, host: '127.0.0.1' });
    baseUrl = `http://127.0.0.1:${server.port}`;
  });
  afterAll(async () => {
    await sb.shutdown({ drain: false });
    await server.close();
  });

  it('runs a task end to end: register, submit, lease, extend, complete, result', async () => {
    const agent = createClient({ baseUrl, token: 'agt' });
    const client = createClient({ baseUrl: `${baseUrl}/`, token: 'cli' });
    const me = await agent.registerAgent({ name: 'w', capabilities: ['sum'], maxConcurrency: 2 });
    expect((await agent.heartbeat(me.id, { cpuUsage: 0.1 })).id).toBe(me.id);
    expect((await agent.getAgent(me.id)).maxConcurrency).toBe(2);
    expect((await agent.listAgents()).agents).toHaveLength(1);
    const { id } = await client.submit({ capability: 'sum', payload: [1, 2] });
    const { ids } = await client.submitBatch([{ capability: 'sum', payload: [3, 4] }]);
    const { tasks } = await agent.lease(me.id, { max: 2, waitMs: 1000 });
    expect(tasks.map((t) => t.id)).toEqual([id, ids[0]]);
    const [first, second] = tasks as [(typeof tasks)[0], (typeof tasks)[0]];
    expect((await agent.extend(first.id, first.leaseToken, 60_000)).leaseExpiresAt).toBeGreaterThan(
      first.leaseExpiresAt,
    );
    await agent.complete(first.id, first.leaseToken, 3);
    await agent.fail(second.id, second.leaseToken, { message: 'nope', retryable: false });
    expect(await client.result(id, 1000)).toMatchObject({ status: 'completed', result: 3 });
    expect((await client.getTask(second.id)).status).toBe('dead');
    const admin = createClient({ baseUrl, token: 'adm' });
    expect((await admin.deadLetters()).tasks.map((t) => t.id)).toEqual([second.id]);
    expect(await admin.replay(second.id)).toEqual({ id: second.id, status: 'queued' });
    expect((await client.cancel(second.id)).status).toBe('cancelled');
    expect((await client.stats()).tasks.completed).toBe(1);
    await client.publish('demo.hello', { hi: 1 });
    await agent.leave(me.id);
  });

  it('lists tasks newest first over HTTP, a page at a time, with filters', async () => {
    const client = createClient({ baseUrl, token: 'cli' });
    const capability = `list-${crypto.randomUUID()}`;
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const key = i === 2 ? { idempotencyKey: `${capability}-k2` } : {};
      ids.push((await client.submit({ capability, payload: i, ...key })).id);
    }
    expect((await client.cancel(ids[4] as string)).status).toBe('cancelled');
    const all = await client.listTasks({ capability });
    // Submitted within a millisecond or two: ties go by id, so compare as sets.
    expect(new Set(all.tasks.map((t) => t.id))).toEqual(new Set(ids));
    expect(all.nextCursor).toBeUndefined();
    const created = all.tasks.map((t) => t.createdAt);
    expect(created).toEqual([...created].sort((a, b) => b - a));
    expect(all.tasks[0]).not.toHaveProperty('leaseToken');

    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await client.listTasks({ capability, limit: 2, ...(cursor && { cursor }) });
      expect(page.tasks.length).toBeLessThanOrEqual(2);
      seen.push(...page.tasks.map((t) => t.id));
      cursor = page.nextCursor;
      pages++;
    } while (cursor !== undefined && pages < 10);
    expect(seen).toEqual(all.tasks.map((t) => t.id));
    expect(pages).toBe(3);

    const cancelled = await client.listTasks({ capability, status: 'cancelled' });
    expect(cancelled.tasks.map((t) => [t.id, t.status])).toEqual([[ids[4], 'cancelled']]);
    const keyed = await client.listTasks({ idempotencyKey: `${capability}-k2` });
    expect(keyed.tasks.map((t) => t.id)).toEqual([ids[2]]);

    for (const [query, field] of [
      [{ limit: 0 }, 'limit'],
      [{ limit: 1001 }, 'limit'],
      [{ status: 'lost' }, 'status'],
      [{ cursor: 'not-a-cursor' }, 'cursor'],
    ] as const) {
      const refused = client.listTasks(query as Parameters<typeof client.listTasks>[0]);
      await expect(refused).rejects.toMatchObject({
        code: 'invalid_request',
        details: { status: 400, details: [expect.objectContaining({ path: field })] },
      });
    }
    const typo = await fetch(`${baseUrl}/v1/tasks?statuss=dead`, {
      headers: { authorization: 'Bearer cli' },
    });
    expect(typo.status).toBe(400);
    expect(await typo.text()).toContain('statuss');
    const agent = createClient({ baseUrl, token: 'agt' });
    await expect(agent.listTasks()).rejects.toMatchObject({ code: 'forbidden' });
  });

  it('throws the server error code, with the status in details', async () => {
    const client = createClient({ baseUrl, token: 'cli' });
    await expect(client.getTask('missing')).rejects.toMatchObject({
      code: 'not_found',
      details: { status: 404 },
    });
    await expect(client.submit({ capability: '' })).rejects.toMatchObject({
      code: 'invalid_request',
      details: { status: 400 },
    });
    await expect(createClient({ baseUrl }).stats()).rejects.toMatchObject({ code: 'unauthorized' });
    const admin = createClient({ baseUrl, token: 'adm' });
    await expect(admin.deleteDeadLetter('missing')).rejects.toMatchObject({ code: 'not_found' });
  });
});

describe('createClient with a timeout', () => {
  it('gives up a call the server never answers, and gives a long-poll its wait on top', async () => {
    const silent = await silentServer();
    try {
      const client = createClient({ baseUrl: silent.url, timeoutMs: 100 });
      await expect(client.stats()).rejects.toMatchObject({ code: 'timeout', retryable: true });
      const start = Date.now();
      await expect(client.lease('a', { waitMs: 300 })).rejects.toMatchObject({ code: 'timeout' });
      expect(Date.now() - start).toBeGreaterThanOrEqual(390);
    } finally {
      await silent.close();
    }
  });
});
