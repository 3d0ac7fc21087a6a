import { createSwitchboard } from '@switchboard/core';
import { decode, encode } from 'cbor-x';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp } from '../src/app.js';
import { Lifecycle } from '../src/lifecycle.js';

const started: { shutdown(o?: { drain?: boolean }): Promise<unknown> }[] = [];

async function setup(options: Parameters<typeof createApp>[1] = {}) {
  const sb = createSwitchboard({ heartbeatIntervalMs: 50, heartbeatTimeoutMs: 200 });
  await sb.start();
  started.push(sb);
  const app = createApp(sb, options);
  const call = async (
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ) => {
    const init: RequestInit = {
      method,
      headers: { 'content-type': 'application/json', ...headers },
    };
    if (body !== undefined) init.body = typeof body === 'string' ? body : JSON.stringify(body);
    const res = await app.request(path, init);
    const text = await res.text();
    return {
      status: res.status,
      headers: res.headers,
      body: text === '' ? undefined : JSON.parse(text),
    };
  };
  return { sb, app, call };
}

afterEach(async () => {
  for (const sb of started.splice(0)) await sb.shutdown({ drain: false });
});

describe('createApp', () => {
  it('submits, leases, completes and reads a task', async () => {
    const { call } = await setup();
    const agent = await call('POST', '/v1/agents', { name: 'w', capabilities: ['echo'] });
    expect(agent.status).toBe(201);
    expect(Object.keys(agent.body).sort()).toEqual([
      'activeTasks',
      'capabilities',
      'heartbeatIntervalMs',
      'heartbeatTimeoutMs',
      'id',
      'lastHeartbeatAt',
      'maxConcurrency',
      'name',
      'registeredAt',
      'remote',
      'role',
      'state',
    ]);
    const sub = await call('POST', '/v1/tasks', { capability: 'echo', payload: { n: 1 } });
    expect(sub).toMatchObject({ status: 202, body: { status: 'queued' } });
    const lease = await call('POST', `/v1/agents/${agent.body.id}/lease`, { max: 5 });
    expect(lease.status).toBe(200);
    expect(lease.body.tasks).toHaveLength(1);
    const [t] = lease.body.tasks;
    expect(t).toMatchObject({ id: sub.body.id, payload: { n: 1 }, attempt: 1 });
    const done = await call('POST', `/v1/tasks/${t.id}/complete`, {
      leaseToken: t.leaseToken,
      result: 42,
    });
    expect(done).toMatchObject({ status: 200, body: { status: 'completed', result: 42 } });
    expect(done.body.leaseToken).toBeUndefined();
    const again = await call('POST', `/v1/tasks/${t.id}/complete`, {
      leaseToken: t.leaseToken,
      result: 1,
    });
    expect(again).toMatchObject({ status: 409, body: { error: { code: 'conflict' } } });
  });

  it('speaks CBOR both ways', async () => {
    const { app } = await setup();
    const res = await app.request('/v1/tasks', {
      method: 'POST',
      headers: { 'content-type': 'application/cbor', accept: 'application/cbor' },
      body: new Uint8Array(encode({ capability: 'x' })),
    });
    expect(res.status).toBe(202);
    expect(res.headers.get('content-type')).toBe('application/cbor');
    expect(decode(new Uint8Array(await res.arrayBuffer()))).toMatchObject({ status: 'queued' });
  });

  it('answers 503 while starting and draining, 200 when ready', async () => {
    const lifecycle = new Lifecycle();
    const { call } = await setup({ lifecycle });
    expect((await call('GET', '/readyz')).status).toBe(503);
    expect((await call('GET', '/healthz')).status).toBe(200);
    expect((await call('POST', '/v1/tasks', { capability: 'x' })).status).toBe(503);
    lifecycle.ready();
    expect((await call('GET', '/readyz')).status).toBe(200);
    expect((await call('POST', '/v1/tasks', { capability: 'x' })).status).toBe(202);
    lifecycle.drain();
    expect((await call('GET', '/readyz')).status).toBe(503);
    expect((await call('POST', '/v1/tasks', { capability: 'x' })).body.error.code).toBe(
      'unavailable',
    );
    expect((await call('GET', '/v1/stats')).status).toBe(200);
  });
  it('with auth on, guards unknown /v1 routes, /metrics and /openapi.json before answering 404', async () => {
    const { call } = await setup({ tokens: { admin: 'adm', client: 'cli' } });
    for (const path of ['/v1/nowhere', '/v1/tasks/x/nowhere', '/metrics', '/openapi.json']) {
      expect((await call('GET', path)).status).toBe(401);
    }
    expect((await call('GET', '/metrics', undefined, { authorization: 'Bearer cli' })).status).toBe(
      403,
    );
    expect(
      (await call('GET', '/v1/nowhere', undefined, { authorization: 'Bearer adm' })).body.error
        .code,
    ).toBe('not_found');
    expect((await call('GET', '/healthz')).status).toBe(200);
    expect((await call('GET', '/nowhere')).status).toBe(404);
  });
});
