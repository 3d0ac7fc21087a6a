import { createSwitchboard, type Switchboard } from '@switchboard/core';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp } from '../src/app.js';
import { nodeRuntime } from '../src/node.js';
import { openApiDocument } from '../src/openapi.js';
import type { Listening } from '../src/runtime.js';

// A task's fairnessKey over HTTP (docs/http.md), against the real server on 127.0.0.1, with
// the hot submit path on as `switchboard serve` has it.

const running: { sb: Switchboard; server: Listening }[] = [];

async function serve() {
  const sb = createSwitchboard({ fairness: { weights: { gold: 2 } } });
  await sb.start();
  const app = createApp(sb);
  const server = await nodeRuntime.serve(app.fetch, { port: 0, host: '127.0.0.1', hot: app.hot });
  running.push({ sb, server });
  const base = `http://127.0.0.1:${server.port}`;
  return async (method: string, path: string, body?: unknown) => {
    const init: RequestInit = { method, headers: { 'content-type': 'application/json' } };
    if (body !== undefined) init.body = JSON.stringify(body);
    const res = await fetch(base + path, init);
    const text = await res.text();
    return { status: res.status, body: text === '' ? undefined : JSON.parse(text) };
  };
}

afterEach(async () => {
  for (const { sb, server } of running.splice(0)) {
    await sb.shutdown({ drain: false });
    await server.close();
  }
});

describe('fairnessKey over HTTP', () => {
  it('is taken on submit and batch, shown on the task, and shares the leases by weight', async () => {
    const call = await serve();
    const gold = [];
    for (let i = 0; i < 4; i++) {
      const res = await call('POST', '/v1/tasks', {
        capability: 'job',
        payload: `gold-${i}`,
        fairnessKey: 'gold',
      });
      expect(res.status).toBe(202);
      gold.push(res.body.id as string);
    }
    const batch = await call('POST', '/v1/tasks/batch', {
      tasks: [0, 1].map((i) => ({ capability: 'job', payload: `free-${i}`, fairnessKey: 'free' })),
    });
    expect(batch.status).toBe(202);
    expect((await call('GET', `/v1/tasks/${gold[0]}`)).body.fairnessKey).toBe('gold');
    expect((await call('GET', `/v1/tasks/${batch.body.ids[1]}`)).body.fairnessKey).toBe('free');

    const agent = (await call('POST', '/v1/agents', { capabilities: ['job'], maxConcurrency: 6 }))
      .body;
    const { tasks } = (await call('POST', `/v1/agents/${agent.id}/lease`, { max: 6 })).body;
    // Weight 2 against 1: two of gold's for each of free's while both have work.
    expect(tasks.map((t: { payload: string }) => t.payload)).toEqual([
      'gold-0',
      'gold-1',
      'free-0',
      'gold-2',
      'gold-3',
      'free-1',
    ]);
  });

  it('refuses a key that is empty or too long, naming the field', async () => {
    const call = await serve();
    const empty = await call('POST', '/v1/tasks', { capability: 'job', fairnessKey: '' });
    expect(empty.status).toBe(400);
    expect(empty.body.error.details.map((d: { path: string }) => d.path)).toContain('fairnessKey');
    const long = await call('POST', '/v1/tasks/batch', {
      tasks: [{ capability: 'job' }, { capability: 'job', fairnessKey: 'k'.repeat(257) }],
    });
    expect(long.status).toBe(400);
    expect(long.body.error.details.map((d: { path: string }) => d.path)).toContain(
      'tasks.1.fairnessKey',
    );
  });

  it('is in the OpenAPI document, on the submit and on the task', () => {
    const schemas = (
      openApiDocument() as { components: { schemas: Record<string, { properties?: object }> } }
    ).components.schemas;
    expect(Object.keys(schemas.TaskSubmit?.properties ?? {})).toContain('fairnessKey');
    expect(Object.keys(schemas.Task?.properties ?? {})).toContain('fairnessKey');
  });
});
