import { createSwitchboard, type Switchboard } from '@switchboard/core';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp } from '../src/app.js';
import { nodeRuntime } from '../src/node.js';
import { openApiDocument } from '../src/openapi.js';
import type { Listening } from '../src/runtime.js';

// The fairness endpoints (docs/http.md, "Fairness"): the policy and a key read with a client
// token, a key's weight and cap set and cleared with an admin one, against the real server on
// 127.0.0.1.

const running: { sb: Switchboard; server: Listening }[] = [];

afterEach(async () => {
  for (const { sb, server } of running.splice(0)) {
    await sb.shutdown({ drain: false });
    await server.close();
  }
});

async function serve() {
  const sb = createSwitchboard({
    fairness: {
      weights: { gold: 3 },
      maxConcurrency: { default: 4, byCapability: { browser: 1 } },
    },
  });
  await sb.start();
  const app = createApp(sb, { tokens: { admin: 'adm', client: 'cli', agent: 'agt' } });
  const server = await nodeRuntime.serve(app.fetch, { port: 0, host: '127.0.0.1', hot: app.hot });
  running.push({ sb, server });
  const base = `http://127.0.0.1:${server.port}`;
  const call = async (token: string, method: string, path: string, body?: unknown) => {
    const init: RequestInit = {
      method,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    };
    if (body !== undefined) init.body = JSON.stringify(body);
    const res = await fetch(base + path, init);
    const text = await res.text();
    return { status: res.status, body: text === '' ? undefined : JSON.parse(text) };
  };
  return Object.assign(call, { base });
}

describe('the fairness endpoints', () => {
  it('show the policy, set a key with an admin token and clear it again', async () => {
    const call = await serve();
    expect(await call('cli', 'GET', '/v1/fairness')).toEqual({
      status: 200,
      body: {
        backend: 'memory',
        enforced: true,
        defaultWeight: 1,
        maxConcurrency: 4,
        maxConcurrencyByCapability: { browser: 1 },
        keys: [{ key: 'gold', weight: 3, maxConcurrency: 4, leased: 0, enforced: true }],
      },
    });
    const set = await call('adm', 'PUT', '/v1/fairness/keys/tenant%207', {
      weight: 2,
      maxConcurrency: 9,
    });
    expect(set).toEqual({
      status: 200,
      body: { key: 'tenant 7', weight: 2, maxConcurrency: 9, leased: 0, enforced: true },
    });
    // A key's tasks leased now are counted.
    await call('cli', 'POST', '/v1/tasks', { capability: 'job', fairnessKey: 'tenant 7' });
    const agent = (await call('agt', 'POST', '/v1/agents', { capabilities: ['job'] })).body;
    expect((await call('agt', 'POST', `/v1/agents/${agent.id}/lease`, {})).body.tasks).toHaveLength(
      1,
    );
    expect((await call('cli', 'GET', '/v1/fairness/keys/tenant%207')).body).toMatchObject({
      weight: 2,
      leased: 1,
    });
    expect(
      (await call('cli', 'GET', '/v1/fairness')).body.keys.map((k: { key: string }) => k.key),
    ).toEqual(['gold', 'tenant 7']);
    // Deleting returns the key to the defaults; a key never set shows them too.
    expect((await call('adm', 'DELETE', '/v1/fairness/keys/gold')).body).toEqual({
      key: 'gold',
      weight: 1,
      maxConcurrency: 4,
      leased: 0,
      enforced: true,
    });
    expect((await call('cli', 'GET', '/v1/fairness/keys/nobody')).body).toMatchObject({
      weight: 1,
      maxConcurrency: 4,
    });
  });

  it('refuse a bad setting with 400 naming it, and a client or agent token with 403', async () => {
    const call = await serve();
    const unknown = await call('adm', 'PUT', '/v1/fairness/keys/k', { weigth: 2 });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.message).toMatch(
      /unknown key "weigth"; known: weight, maxConcurrency/,
    );
    for (const body of [{ weight: 0 }, { weight: 10_001 }, { maxConcurrency: 1.5 }, 'heavy']) {
      const bad = await call('adm', 'PUT', '/v1/fairness/keys/k', body);
      expect(bad.status).toBe(400);
      expect(bad.body.error.code).toBe('invalid_request');
    }
    const long = await call('cli', 'GET', `/v1/fairness/keys/${'k'.repeat(257)}`);
    expect(long.status).toBe(400);
    expect((await call('cli', 'PUT', '/v1/fairness/keys/k', { weight: 2 })).status).toBe(403);
    expect((await call('cli', 'DELETE', '/v1/fairness/keys/k')).status).toBe(403);
    expect((await call('agt', 'GET', '/v1/fairness')).status).toBe(403);
    // Nothing was changed by the refused calls.
    expect((await call('cli', 'GET', '/v1/fairness/keys/k')).body.weight).toBe(1);
  });

  it('show the top keys in /v1/stats and /metrics', async () => {
    const call = await serve();
    const submit = (fairnessKey: string, n: number) =>
      call('cli', 'POST', '/v1/tasks/batch', {
        tasks: Array.from({ length: n }, () => ({ capability: 'job', fairnessKey })),
      });
    await submit('crawl "big"', 3);
    await submit('ask', 1);
    const stats = await call('cli', 'GET', '/v1/stats');
    expect(stats.body.fairness).toEqual({
      keys: [
        { key: 'crawl "big"', queued: 3, leased: 0 },
        { key: 'ask', queued: 1, leased: 0 },
      ],
    });
    const metrics = await fetch(`${call.base}/metrics`, {
      headers: { authorization: 'Bearer adm' },
    }).then((r) => r.text());
    expect(metrics).toContain('switchboard_fairness_key_queued{key="crawl \\"big\\""} 3');
    expect(metrics).toContain('switchboard_fairness_key_leased{key="ask"} 0');
  });

  it('are in the OpenAPI document, with the key as a path parameter', () => {
    const paths = openApiDocument().paths as Record<
      string,
      Record<string, Record<string, unknown>>
    >;
    const key = paths['/v1/fairness/keys/{key}'];
    expect(Object.keys(key ?? {})).toEqual(['get', 'put', 'delete']);
    expect(key?.put?.parameters).toEqual([
      { name: 'key', in: 'path', required: true, schema: { type: 'string' } },
    ]);
    expect(key?.put?.description).toBe('Scopes: admin.');
    expect(paths['/v1/fairness']?.get?.description).toBe('Scopes: client.');
  });
});
