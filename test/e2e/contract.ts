import { decodeBody, encodeBody } from '@switchboard/server';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Answer,
  expectError,
  http,
  openEvents,
  readEvents,
  type ServerFactory,
  type StartedServer,
  sleep,
  TOKENS,
} from './harness.js';

/** Options of {@link runE2E}. */
export interface E2EOptions {
  /** Malformed bodies sent by the fuzz test (≥ 2,000 on Node). */
  fuzzRuns?: number;
}

const HEARTBEAT_TIMEOUT_MS = 200;
const MAX_BODY = 64 * 1024;
// The server's own CBOR encoder (cbor-x): a Map is written as a CBOR map with its keys as given.
const cborEncoder = {
  encode: (value: unknown) => encodeBody(value, 'cbor') as Uint8Array<ArrayBuffer>,
};

/**
 * The HTTP contract of API.md, driven over a real socket with `fetch`. `start` launches a
 * server (Node in-process, or a Bun or Deno child process) with the given settings.
 */
export function runE2E(start: ServerFactory, options: E2EOptions = {}): void {
  let main: StartedServer;
  const base = () => main.url;
  const api = http(base);
  const cap = () => `cap-${crypto.randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    main = await start({
      tokens: TOKENS,
      heartbeatTimeoutMs: HEARTBEAT_TIMEOUT_MS,
      maxBodyBytes: MAX_BODY,
      drainTimeoutMs: 500,
    });
  }, 30_000);
  afterAll(async () => {
    await main?.stop();
  }, 30_000);

  const register = async (capability: string, extra: Record<string, unknown> = {}) => {
    const res = await api('POST', '/v1/agents', {
      token: TOKENS.agent,
      body: { name: 'worker', capabilities: [capability], ...extra },
    });
    expect(res.status).toBe(201);
    return res.body as { id: string; maxConcurrency: number };
  };
  const submit = async (body: Record<string, unknown>) => {
    const res = await api('POST', '/v1/tasks', { token: TOKENS.client, body });
    expect(res.status).toBe(202);
    return res.body.id as string;
  };
  const lease = (agentId: string, body: Record<string, unknown> = {}) =>
    api('POST', `/v1/agents/${agentId}/lease`, { token: TOKENS.agent, body });

  describe('operations', () => {
    it('serves /healthz and /readyz without a token', async () => {
      expect(await api('GET', '/healthz', { token: null })).toMatchObject({
        status: 200,
        body: { status: 'ok' },
      });
      expect((await api('GET', '/readyz', { token: null })).status).toBe(200);
    });

    it('serves stats, metrics and the OpenAPI document', async () => {
      const stats = await api('GET', '/v1/stats', { token: TOKENS.client });
      expect(stats.status).toBe(200);
      // `fairness` only where the backend enforces fairness (not on Redis yet).
      const { fairness, ...figures } = stats.body;
      expect(Object.keys(figures).sort()).toEqual([
        'agents',
        'latencyMs',
        'queue',
        'tasks',
        'throughputPerSec',
      ]);
      if (fairness !== undefined) expect(fairness).toEqual({ keys: expect.any(Array) });
      const metrics = await api('GET', '/metrics');
      expect(metrics.status).toBe(200);
      expect(metrics.body).toMatch(/^switchboard_queue_depth \d+$/m);
      const doc = await api('GET', '/openapi.json');
      expect(doc.body.openapi).toBe('3.1.0');
      expect(
        doc.body.paths['/v1/tasks'].post.requestBody.content['application/json'].schema.$ref,
      ).toBe('#/components/schemas/TaskSubmit');
      expect(doc.body.components.schemas.TaskSubmit.required).toEqual(['capability']);
    });

    it('serves the dashboard at /ui/ without a token, its hashed assets cached for good', async () => {
      const redirect = await fetch(`${base()}/ui`, { redirect: 'manual' });
      expect(redirect.status).toBe(308);
      // Relative, so that it holds behind a proxy's path prefix.
      expect(redirect.headers.get('location')).toBe('ui/');
      const page = await fetch(`${base()}/ui/`);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(page.headers.get('cache-control')).toBe('no-cache');
      expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
      const html = await page.text();
      const assets = [...html.matchAll(/(?:src|href)="\.\/(app-\w+\.(js|css))"/g)];
      expect(assets.map((m) => m[2]).sort()).toEqual(['css', 'js']);
      for (const [, name, ext] of assets) {
        const asset = await fetch(`${base()}/ui/${name}`);
        expect(asset.status).toBe(200);
        expect(asset.headers.get('content-type')).toBe(
          ext === 'js' ? 'text/javascript; charset=utf-8' : 'text/css; charset=utf-8',
        );
        expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
        expect((await asset.text()).length).toBeGreaterThan(1000);
        const again = await fetch(`${base()}/ui/${name}`, {
          headers: { 'if-none-match': asset.headers.get('etag')! },
        });
        expect(again.status).toBe(304);
        await again.body?.cancel();
      }
      const missing = await fetch(`${base()}/ui/app-0.js`);
      expect(missing.status).toBe(404);
      expect((await missing.json()).error.code).toBe('not_found');
    });

    it('answers 404 not_found for an unknown route', async () => {
      expectError(await api('GET', '/v1/nothing-here'), 404, 'not_found');
    });
  });

  describe('auth', () => {
    it('answers 401 without a token or with an unknown one', async () => {
      expectError(await api('GET', '/v1/stats', { token: null }), 401, 'unauthorized');
      expectError(await api('GET', '/v1/stats', { token: 'nope' }), 401, 'unauthorized');
      expectError(await api('GET', '/metrics', { token: null }), 401, 'unauthorized');
    });

    it('answers 403 forbidden outside a scope', async () => {
      expectError(
        await api('POST', '/v1/agents', {
          token: TOKENS.client,
          body: { name: 'x', capabilities: ['x'] },
        }),
        403,
        'forbidden',
      );
      expectError(
        await api('POST', '/v1/tasks', { token: TOKENS.agent, body: { capability: 'x' } }),
        403,
        'forbidden',
      );
      expectError(
        await api('POST', '/v1/tasks/x/complete', {
          token: TOKENS.client,
          body: { leaseToken: 'x' },
        }),
        403,
        'forbidden',
      );
      expectError(await api('GET', '/v1/dead-letters', { token: TOKENS.client }), 403, 'forbidden');
      expectError(await api('GET', '/metrics', { token: TOKENS.agent }), 403, 'forbidden');
      expectError(await api('GET', '/openapi.json', { token: TOKENS.client }), 403, 'forbidden');
      expectError(await api('GET', '/v1/stats', { token: TOKENS.agent }), 403, 'forbidden');
    });

    it('lets each scope call its endpoints', async () => {
      expect((await api('GET', '/v1/agents', { token: TOKENS.agent })).status).toBe(200);
      expect((await api('GET', '/v1/stats', { token: TOKENS.client })).status).toBe(200);
      expect((await api('GET', '/v1/dead-letters', { token: TOKENS.admin })).status).toBe(200);
    });
  });

  describe('agents', () => {
    it('registers (201), lists, gets, heartbeats and leaves', async () => {
      const capability = cap();
      const res = await api('POST', '/v1/agents', {
        token: TOKENS.agent,
        body: {
          name: 'b-1',
          role: 'worker',
          capabilities: [capability, { name: 'llm', version: '2' }],
          maxConcurrency: 4,
          metadata: {},
        },
      });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({
        name: 'b-1',
        role: 'worker',
        maxConcurrency: 4,
        activeTasks: 0,
        heartbeatTimeoutMs: HEARTBEAT_TIMEOUT_MS,
      });
      for (const key of [
        'id',
        'state',
        'capabilities',
        'heartbeatIntervalMs',
        'registeredAt',
        'lastHeartbeatAt',
      ]) {
        expect(res.body).toHaveProperty(key);
      }
      const id = res.body.id;
      const list = await api('GET', '/v1/agents', { token: TOKENS.agent });
      expect(list.body.agents.map((a: { id: string }) => a.id)).toContain(id);
      expect((await api('GET', `/v1/agents/${id}`, { token: TOKENS.agent })).body.id).toBe(id);
      const beat = await api('POST', `/v1/agents/${id}/heartbeat`, {
        token: TOKENS.agent,
        body: { metrics: { cpuUsage: 0.3, memoryUsage: 0.5, queueSize: 0, errorRate: 0 } },
      });
      expect(beat.status).toBe(200);
      expect(
        (await api('POST', `/v1/agents/${id}/heartbeat`, { token: TOKENS.agent })).status,
      ).toBe(200);
      expect((await api('DELETE', `/v1/agents/${id}`, { token: TOKENS.agent })).status).toBe(200);
      expectError(await api('GET', `/v1/agents/${id}`, { token: TOKENS.agent }), 404, 'not_found');
    });

    it('registers an agent without a name, named after its id', async () => {
      const res = await api('POST', '/v1/agents', {
        token: TOKENS.agent,
        body: { capabilities: [cap()] },
      });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ role: 'worker', maxConcurrency: 1 });
      expect(res.body.name).toBe(res.body.id);
      const got = await api('GET', `/v1/agents/${res.body.id}`, { token: TOKENS.agent });
      expect(got.body.name).toBe(res.body.id);
    });

    it('validates a registration with every issue in details', async () => {
      const res = await api('POST', '/v1/agents', {
        token: TOKENS.agent,
        body: { name: '', capabilities: [], maxConcurrency: 0, role: 'boss' },
      });
      expectError(res, 400, 'invalid_request');
      const paths = res.body.error.details.map((d: { path: string }) => d.path).sort();
      expect(paths).toEqual(['capabilities', 'maxConcurrency', 'name', 'role']);
    });

    it('answers 404 for an unknown agent on heartbeat, lease and get', async () => {
      expectError(
        await api('POST', '/v1/agents/ghost/heartbeat', { token: TOKENS.agent }),
        404,
        'not_found',
      );
      expectError(await lease('ghost'), 404, 'not_found');
      expectError(await api('GET', '/v1/agents/ghost', { token: TOKENS.agent }), 404, 'not_found');
    });

    it('a leave puts held tasks back to the queue at once', async () => {
      const capability = cap();
      const a = await register(capability);
      const id = await submit({ capability });
      expect((await lease(a.id)).body.tasks).toHaveLength(1);
      await api('DELETE', `/v1/agents/${a.id}`, { token: TOKENS.agent });
      const b = await register(capability);
      const again = await lease(b.id, { waitMs: 1000 });
      expect(again.body.tasks.map((t: { id: string }) => t.id)).toEqual([id]);
    });

    it('never leases more than the free concurrency', async () => {
      const capability = cap();
      const a = await register(capability, { maxConcurrency: 2 });
      for (let i = 0; i < 5; i++) await submit({ capability });
      expect((await lease(a.id, { max: 10 })).body.tasks).toHaveLength(2);
      expect((await lease(a.id, { max: 10 })).body.tasks).toHaveLength(0);
    });

    it('a long-poll wakes as soon as a task arrives', async () => {
      const capability = cap();
      const a = await register(capability);
      const started = Date.now();
      const pending = lease(a.id, { waitMs: 5000 });
      await sleep(50);
      const id = await submit({ capability });
      const res = await pending;
      expect(res.body.tasks.map((t: { id: string }) => t.id)).toEqual([id]);
      expect(Date.now() - started).toBeLessThan(1500);
    });

    it('an empty long-poll answers [] after waitMs', async () => {
      const a = await register(cap());
      const started = Date.now();
      const res = await lease(a.id, { waitMs: 150 });
      expect(res.body).toEqual({ tasks: [] });
      expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    });

    it('fails over: a silent agent’s task goes to another agent, and its heartbeat answers 404', async () => {
      const capability = cap();
      const a = await register(capability);
      const id = await submit({ capability });
      const first = await lease(a.id);
      expect(first.body.tasks[0]).toMatchObject({ id, attempt: 1 });
      const b = await register(capability);
      // b keeps heartbeating (its long-polls count); a says nothing more.
      const started = Date.now();
      let got: Answer | undefined;
      while (Date.now() - started < 3000) {
        got = await lease(b.id, { waitMs: 100 });
        if (got.body.tasks.length > 0) break;
      }
      expect(got?.body.tasks[0]).toMatchObject({ id, attempt: 2 });
      expect(Date.now() - started).toBeLessThan(HEARTBEAT_TIMEOUT_MS + 1000);
      expectError(
        await api('POST', `/v1/agents/${a.id}/heartbeat`, { token: TOKENS.agent }),
        404,
        'not_found',
      );
      const stale = await api('POST', `/v1/tasks/${id}/complete`, {
        token: TOKENS.agent,
        body: { leaseToken: first.body.tasks[0].leaseToken },
      });
      expectError(stale, 409, 'conflict');
    });
  });

  describe('tasks', () => {
    it('submits (202), reads (200) and validates', async () => {
      const capability = cap();
      const id = await submit({
        capability,
        payload: { url: 'https://example.org' },
        priority: 'high',
        timeoutMs: 30000,
        maxAttempts: 3,
        sessionKey: 'user-7',
        delayMs: 0,
        metadata: {},
      });
      const task = await api('GET', `/v1/tasks/${id}`, { token: TOKENS.client });
      expect(task.status).toBe(200);
      expect(task.body).toMatchObject({
        id,
        capability,
        status: 'queued',
        priority: 'high',
        attempts: 0,
        maxAttempts: 3,
        sessionKey: 'user-7',
      });
      const missing = await api('POST', '/v1/tasks', {
        token: TOKENS.client,
        body: { payload: 1 },
      });
      expectError(missing, 400, 'invalid_request');
      expect(missing.body.error.message).toBe('capability: required');
      for (const bad of [
        { capability: '' },
        { capability: 'x', timeoutMs: 0 },
        { capability: 'x', timeoutMs: 86_400_001 },
        { capability: 'x', maxAttempts: 101 },
        { capability: 'x', delayMs: -1 },
        { capability: 'x', priority: 'urgent' },
      ]) {
        expectError(
          await api('POST', '/v1/tasks', { token: TOKENS.client, body: bad }),
          400,
          'invalid_request',
        );
      }
      expectError(await api('GET', '/v1/tasks/nope', { token: TOKENS.client }), 404, 'not_found');
    });

    it('answers a repeated idempotency key with 200 and the first id', async () => {
      const capability = cap();
      const key = `order-${crypto.randomUUID()}`;
      const id = await submit({ capability, idempotencyKey: key });
      const again = await api('POST', '/v1/tasks', {
        token: TOKENS.client,
        body: { capability, idempotencyKey: key },
      });
      expect(again.status).toBe(200);
      expect(again.body.id).toBe(id);
      const a = await register(capability);
      expect((await lease(a.id, { max: 10 })).body.tasks).toHaveLength(1);
    });

    it('leases by priority, then in submission order', async () => {
      const capability = cap();
      const order = ['low', 'normal', 'critical', 'high', 'normal', 'critical', 'low'];
      const ids: Record<string, string[]> = { critical: [], high: [], normal: [], low: [] };
      for (const priority of order) ids[priority]?.push(await submit({ capability, priority }));
      const a = await register(capability, { maxConcurrency: 10 });
      const got = (await lease(a.id, { max: 10 })).body.tasks.map((t: { id: string }) => t.id);
      expect(got).toEqual([...ids.critical!, ...ids.high!, ...ids.normal!, ...ids.low!]);
    });

    it('batches all or nothing, naming the failing index', async () => {
      const capability = cap();
      const ok = await api('POST', '/v1/tasks/batch', {
        token: TOKENS.client,
        body: { tasks: [{ capability }, { capability, priority: 'high' }] },
      });
      expect(ok.status).toBe(202);
      expect(ok.body.ids).toHaveLength(2);
      const other = cap();
      const bad = await api('POST', '/v1/tasks/batch', {
        token: TOKENS.client,
        body: { tasks: [{ capability: other }, { capability: other }, { priority: 'high' }] },
      });
      expectError(bad, 400, 'invalid_request');
      expect(bad.body.error.details).toEqual([{ path: 'tasks.2.capability', message: 'required' }]);
      const a = await register(other);
      expect((await lease(a.id, { max: 10 })).body.tasks).toHaveLength(0);
      expectError(
        await api('POST', '/v1/tasks/batch', { token: TOKENS.client, body: { tasks: [] } }),
        400,
        'invalid_request',
      );
    });

    it('completes, and refuses a stale or foreign lease token with 409', async () => {
      const capability = cap();
      const id = await submit({ capability, payload: 'hi' });
      const a = await register(capability);
      const [t] = (await lease(a.id)).body.tasks;
      expect(t).toMatchObject({ id, capability, payload: 'hi', priority: 'normal', attempt: 1 });
      expect(typeof t.leaseToken).toBe('string');
      expect(t.leaseExpiresAt).toBeGreaterThan(Date.now());
      expectError(
        await api('POST', `/v1/tasks/${id}/complete`, {
          token: TOKENS.agent,
          body: { leaseToken: 'forged' },
        }),
        409,
        'conflict',
      );
      const extended = await api('POST', `/v1/tasks/${id}/extend`, {
        token: TOKENS.agent,
        body: { leaseToken: t.leaseToken, ms: 60_000 },
      });
      expect(extended.status).toBe(200);
      expect(extended.body.leaseExpiresAt).toBeGreaterThan(t.leaseExpiresAt);
      expectError(
        await api('POST', `/v1/tasks/${id}/extend`, {
          token: TOKENS.agent,
          body: { leaseToken: 'forged', ms: 10 },
        }),
        409,
        'conflict',
      );
      const done = await api('POST', `/v1/tasks/${id}/complete`, {
        token: TOKENS.agent,
        body: { leaseToken: t.leaseToken, result: { ok: true } },
      });
      expect(done.body).toMatchObject({
        id,
        status: 'completed',
        result: { ok: true },
        attempts: 1,
      });
      expect(JSON.stringify(done.body)).not.toContain(t.leaseToken);
      expectError(
        await api('POST', `/v1/tasks/${id}/complete`, {
          token: TOKENS.agent,
          body: { leaseToken: t.leaseToken },
        }),
        409,
        'conflict',
      );
      expectError(
        await api('POST', `/v1/tasks/${id}/fail`, {
          token: TOKENS.agent,
          body: { leaseToken: t.leaseToken, error: { message: 'x' } },
        }),
        409,
        'conflict',
      );
      expectError(
        await api('POST', '/v1/tasks/nope/complete', {
          token: TOKENS.agent,
          body: { leaseToken: 'x' },
        }),
        404,
        'not_found',
      );
      expectError(
        await api('POST', `/v1/tasks/${id}/complete`, { token: TOKENS.agent, body: {} }),
        400,
        'invalid_request',
      );
    });

    it('answers leases in a batch, or along with the next lease, an outcome per answer', async () => {
      const capability = cap();
      const ids = [
        await submit({ capability, payload: 1 }),
        await submit({ capability, payload: 2 }),
      ];
      const a = await register(capability, { maxConcurrency: 1 });
      const [first] = (await lease(a.id)).body.tasks;
      const next = await lease(a.id, {
        answers: [{ taskId: first.id, leaseToken: first.leaseToken, result: 'one' }],
      });
      expect(next.status).toBe(200);
      expect(next.body.answers).toEqual([{ taskId: first.id, status: 'completed' }]);
      const [second] = next.body.tasks;
      expect(second.id).toBe(ids[1]);
      const batch = await api('POST', '/v1/tasks/answers', {
        token: TOKENS.agent,
        body: {
          answers: [
            { taskId: second.id, leaseToken: second.leaseToken, result: 'two' },
            { taskId: first.id, leaseToken: first.leaseToken, result: 'again' },
          ],
        },
      });
      expect(batch.status).toBe(200);
      expect(batch.body.answers[0]).toEqual({ taskId: second.id, status: 'completed' });
      expect(batch.body.answers[1].error).toMatchObject({ code: 'conflict', status: 409 });
      const results = await Promise.all(
        ids.map(async (id) => (await api('GET', `/v1/tasks/${id}`, { token: TOKENS.client })).body),
      );
      expect(results.map((t) => t.result)).toEqual(['one', 'two']);
      expectError(
        await api('POST', '/v1/tasks/answers', { token: TOKENS.agent, body: { answers: [] } }),
        400,
        'invalid_request',
      );
      expectError(
        await api('POST', '/v1/tasks/answers', {
          token: TOKENS.client,
          body: { answers: [{ taskId: 'x', leaseToken: 'y' }] },
        }),
        403,
        'forbidden',
      );
    });

    it('waits for a result up to waitMs', async () => {
      const capability = cap();
      const id = await submit({ capability });
      const a = await register(capability);
      const [t] = (await lease(a.id)).body.tasks;
      const waiting = api('GET', `/v1/tasks/${id}/result?waitMs=5000`, { token: TOKENS.client });
      await sleep(50);
      await api('POST', `/v1/tasks/${id}/complete`, {
        token: TOKENS.agent,
        body: { leaseToken: t.leaseToken, result: 7 },
      });
      expect((await waiting).body).toMatchObject({ status: 'completed', result: 7 });
      const other = await submit({ capability: cap() });
      const started = Date.now();
      expect(
        (await api('GET', `/v1/tasks/${other}/result?waitMs=100`, { token: TOKENS.client })).body
          .status,
      ).toBe('queued');
      expect(Date.now() - started).toBeGreaterThanOrEqual(90);
      expectError(
        await api('GET', `/v1/tasks/${id}/result?waitMs=60001`, { token: TOKENS.client }),
        400,
        'invalid_request',
      );
      expectError(
        await api('GET', `/v1/tasks/${id}/result?waitMs=soon`, { token: TOKENS.client }),
        400,
        'invalid_request',
      );
    });

    it('cancels (200), then 409 when terminal; a cancelled lease answers 409', async () => {
      const capability = cap();
      const id = await submit({ capability });
      const a = await register(capability);
      const [t] = (await lease(a.id)).body.tasks;
      const cancelled = await api('POST', `/v1/tasks/${id}/cancel`, { token: TOKENS.client });
      expect(cancelled).toMatchObject({ status: 200, body: { id, status: 'cancelled' } });
      expectError(
        await api('POST', `/v1/tasks/${id}/cancel`, { token: TOKENS.client }),
        409,
        'conflict',
      );
      expectError(
        await api('POST', `/v1/tasks/${id}/complete`, {
          token: TOKENS.agent,
          body: { leaseToken: t.leaseToken },
        }),
        409,
        'conflict',
      );
      expectError(
        await api('POST', '/v1/tasks/nope/cancel', { token: TOKENS.client }),
        404,
        'not_found',
      );
    });

    it('retries a retryable failure, dead-letters the last one, replays and deletes it', async () => {
      const capability = cap();
      const id = await submit({ capability, maxAttempts: 2 });
      const a = await register(capability);
      const [t1] = (await lease(a.id)).body.tasks;
      const failed = await api('POST', `/v1/tasks/${id}/fail`, {
        token: TOKENS.agent,
        body: { leaseToken: t1.leaseToken, error: { message: 'flaky' } },
      });
      expect(failed.body).toMatchObject({
        status: 'queued',
        attempts: 1,
        error: { message: 'flaky' },
      });
      const [t2] = (await lease(a.id, { waitMs: 5000 })).body.tasks;
      expect(t2).toMatchObject({ id, attempt: 2 });
      const dead = await api('POST', `/v1/tasks/${id}/fail`, {
        token: TOKENS.agent,
        body: { leaseToken: t2.leaseToken, error: { message: 'broken', retryable: false } },
      });
      expect(dead.body).toMatchObject({ status: 'dead', error: { message: 'broken' } });
      const letters = await api('GET', '/v1/dead-letters');
      expect(letters.body.tasks.map((x: { id: string }) => x.id)).toContain(id);
      const replayed = await api('POST', `/v1/dead-letters/${id}/replay`);
      expect(replayed).toMatchObject({ status: 202, body: { id, status: 'queued' } });
      expect((await api('GET', `/v1/tasks/${id}`, { token: TOKENS.client })).body).toMatchObject({
        status: 'queued',
        attempts: 0,
      });
      const [t3] = (await lease(a.id, { waitMs: 1000 })).body.tasks;
      await api('POST', `/v1/tasks/${id}/fail`, {
        token: TOKENS.agent,
        body: { leaseToken: t3.leaseToken, error: { message: 'again', retryable: false } },
      });
      expect((await api('DELETE', `/v1/dead-letters/${id}`)).status).toBe(200);
      expectError(await api('DELETE', `/v1/dead-letters/${id}`), 404, 'not_found');
      expectError(await api('POST', `/v1/dead-letters/${id}/replay`), 404, 'not_found');
    });

    it('keeps a fairnessKey on the task and shares the leases among keys with work', async () => {
      const capability = cap();
      const ids: string[] = [];
      for (const n of [0, 1, 2])
        ids.push(await submit({ capability, payload: `a${n}`, fairnessKey: 'a' }));
      const batch = await api('POST', '/v1/tasks/batch', {
        token: TOKENS.client,
        body: { tasks: ['b0', 'b1'].map((payload) => ({ capability, payload, fairnessKey: 'b' })) },
      });
      expect(batch.status).toBe(202);
      const view = await api('GET', `/v1/tasks/${ids[0]}`, { token: TOKENS.client });
      expect(view.body.fairnessKey).toBe('a');
      expectError(
        await api('POST', '/v1/tasks', {
          token: TOKENS.client,
          body: { capability, fairnessKey: '' },
        }),
        400,
        'invalid_request',
      );
      const agent = await register(capability, { maxConcurrency: 5 });
      const leased = await lease(agent.id, { max: 5 });
      // Every key of weight 1: the keys take turns while both have work.
      expect(leased.body.tasks.map((t: { payload: string }) => t.payload)).toEqual([
        'a0',
        'b0',
        'a1',
        'b1',
        'a2',
      ]);
    });

    it('carries W3C trace context from the headers or the body to the task and its lease', async () => {
      const capability = cap();
      const parent = `00-${'4b'.repeat(16)}-${'0f'.repeat(8)}-01`;
      const own = `00-${'5c'.repeat(16)}-${'1e'.repeat(8)}-00`;
      const headers = { traceparent: parent, tracestate: 'vendor=abc' };
      const res = await api('POST', '/v1/tasks', {
        token: TOKENS.client,
        body: { capability },
        headers,
      });
      expect(res.status).toBe(202);
      const batch = await api('POST', '/v1/tasks/batch', {
        token: TOKENS.client,
        body: { tasks: [{ capability, traceparent: own }, { capability }] },
        headers,
      });
      expect(batch.status).toBe(202);
      const [first, second] = batch.body.ids as string[];
      const view = await api('GET', `/v1/tasks/${res.body.id}`, { token: TOKENS.client });
      expect(view.body).toMatchObject({ traceparent: parent, tracestate: 'vendor=abc' });
      const agent = await register(capability, { maxConcurrency: 3 });
      const leased = await lease(agent.id, { max: 3 });
      const contexts = Object.fromEntries(
        (leased.body.tasks as { id: string; traceparent?: string; tracestate?: string }[]).map(
          (t) => [t.id, [t.traceparent, t.tracestate]],
        ),
      );
      expect(contexts).toEqual({
        [res.body.id]: [parent, 'vendor=abc'],
        [first as string]: [own, undefined],
        [second as string]: [parent, 'vendor=abc'],
      });
      const bad = await api('POST', '/v1/tasks/batch', {
        token: TOKENS.client,
        body: { tasks: [{ capability }, { capability, traceparent: 'nope' }] },
      });
      expectError(bad, 400, 'invalid_request');
      expect(bad.body.error.details[0].path).toBe('tasks.1.traceparent');
      await api('DELETE', `/v1/agents/${agent.id}`, { token: TOKENS.agent });
    });
  });

  describe('schedules', () => {
    it('runs a per-second cron schedule in a time zone, announcing each tick', async () => {
      const capability = cap();
      const id = `e2e-${capability}`;
      const events = await openEvents(base(), 'schedule.*', TOKENS.client);
      const put = await api('PUT', `/v1/schedules/${id}`, {
        token: TOKENS.client,
        body: {
          cron: '* * * * * *',
          timezone: 'Europe/Berlin',
          overlap: 'allow',
          task: { capability, payload: { n: 1 } },
        },
      });
      expect(put.status).toBe(200);
      expect(put.body).toMatchObject({ id, timezone: 'Europe/Berlin', catchUp: 'none' });
      expect(put.body.nextRuns).toHaveLength(5);
      const fired = await readEvents(events, (es) =>
        es.some((e) => e.data.scheduleId === id && typeof e.data.taskId === 'string'),
      );
      const tick = fired.find((e) => e.data.scheduleId === id)?.data as {
        tickAt: number;
        taskId: string;
      };
      const task = await api('GET', `/v1/tasks/${tick.taskId}`, { token: TOKENS.client });
      expect(task.body).toMatchObject({
        capability,
        idempotencyKey: `schedule:${id}:${tick.tickAt}`,
      });
      const paused = await api('POST', `/v1/schedules/${id}/pause`, { token: TOKENS.client });
      expect(paused.body).toMatchObject({ paused: true, nextRuns: [] });
      const listed = await api('GET', '/v1/schedules', { token: TOKENS.client });
      expect(listed.body.schedules.map((s: { id: string }) => s.id)).toContain(id);
      const gone = await api('DELETE', `/v1/schedules/${id}`, { token: TOKENS.client });
      expect(gone.body).toEqual({ id, deleted: true });
      expectError(
        await api('GET', `/v1/schedules/${id}`, { token: TOKENS.client }),
        404,
        'not_found',
      );
      expectError(await api('GET', '/v1/schedules', { token: TOKENS.agent }), 403, 'forbidden');
    });

    it('refuses a bad schedule with 400 naming each field', async () => {
      const res = await api('PUT', '/v1/schedules/bad', {
        token: TOKENS.client,
        body: { cron: '* * *', timezone: 'Nowhere/Land', task: {} },
      });
      expectError(res, 400, 'invalid_request');
      const paths = res.body.error.details.map((d: { path: string }) => d.path).sort();
      expect(paths).toEqual(['cron', 'task.capability', 'timezone']);
    });
  });

  describe('events', () => {
    it('streams task events matching the topic filter, without lease tokens', async () => {
      const capability = cap();
      const res = await openEvents(base(), 'task.*', TOKENS.client);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('text/event-stream');
      const id = await submit({ capability });
      const a = await register(capability);
      const [t] = (await lease(a.id)).body.tasks;
      await api('POST', `/v1/tasks/${id}/complete`, {
        token: TOKENS.agent,
        body: { leaseToken: t.leaseToken },
      });
      const events = await readEvents(res, (es) =>
        es.some((e) => e.event === 'task.completed' && JSON.stringify(e.data).includes(id)),
      );
      const mine = events.filter((e) => JSON.stringify(e.data).includes(id));
      expect(mine.map((e) => e.event)).toEqual(['task.queued', 'task.leased', 'task.completed']);
      for (const e of mine) {
        expect(e.data.topic).toBe(e.event);
        expect(typeof e.data.at).toBe('number');
      }
      expect(events.every((e) => e.event.startsWith('task.'))).toBe(true);
      expect(JSON.stringify(events)).not.toContain(t.leaseToken);
    });

    it('publishes custom events (202) to ** subscribers; task.* and agent.* are reserved (403)', async () => {
      const res = await openEvents(base(), 'build.**', TOKENS.agent);
      const published = await api('POST', '/v1/events', {
        token: TOKENS.client,
        body: { topic: 'build.web.done', data: { n: 1 } },
      });
      expect(published.status).toBe(202);
      const events = await readEvents(res, (es) => es.length > 0);
      expect(events[0]).toMatchObject({
        event: 'build.web.done',
        data: { topic: 'build.web.done', data: { n: 1 } },
      });
      expectError(
        await api('POST', '/v1/events', {
          token: TOKENS.client,
          body: { topic: 'task.completed', data: {} },
        }),
        403,
        'forbidden',
      );
      expectError(
        await api('POST', '/v1/events', {
          token: TOKENS.client,
          body: { topic: 'agent.failed', data: {} },
        }),
        403,
        'forbidden',
      );
      expectError(
        await api('POST', '/v1/events', { token: TOKENS.client, body: { topic: 'bad topic' } }),
        400,
        'invalid_request',
      );
      expectError(
        await api('GET', '/v1/events?topics=task.**x', { token: TOKENS.client }),
        400,
        'invalid_request',
      );
    });

    it('reports agent failures on agent.failed', async () => {
      const res = await openEvents(base(), 'agent.failed', TOKENS.admin);
      const a = await register(cap());
      const events = await readEvents(res, (es) => es.some((e) => e.data.agentId === a.id), 3000);
      expect(events.some((e) => e.event === 'agent.failed' && e.data.agentId === a.id)).toBe(true);
    });
  });

  describe('bodies', () => {
    it('speaks CBOR when asked', async () => {
      const res = await fetch(`${base()}/v1/tasks`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${TOKENS.client}`,
          'content-type': 'application/cbor',
          accept: 'application/cbor',
        },
        body: cborEncoder.encode(new Map([['capability', cap()]])),
      });
      expect(res.status).toBe(202);
      expect(res.headers.get('content-type')).toBe('application/cbor');
      expect(decodeBody(new Uint8Array(await res.arrayBuffer()), 'cbor')).toMatchObject({
        status: 'queued',
      });
    });

    it('answers 415 for a body that is neither JSON nor CBOR', async () => {
      const res = await api('POST', '/v1/tasks', {
        token: TOKENS.client,
        raw: 'capability=x',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      expectError(res, 415, 'unsupported_media_type');
    });

    it('answers 413 over the body limit, with or without a Content-Length', async () => {
      const big = JSON.stringify({ capability: 'x', payload: 'a'.repeat(MAX_BODY) });
      expectError(
        await api('POST', '/v1/tasks', {
          token: TOKENS.client,
          raw: big,
          headers: { 'content-type': 'application/json' },
        }),
        413,
        'payload_too_large',
      );
      const chunk = new TextEncoder().encode('a'.repeat(16 * 1024));
      let sent = 0;
      const stream = new ReadableStream<Uint8Array>({
        pull(c) {
          if (sent++ < 16) c.enqueue(chunk);
          else c.close();
        },
      });
      // A chunked body has no length: the limit is counted while reading. Bun and Deno close
      // the socket right after the 413, which fetch may report as a reset of the upload.
      const streamed = await api('POST', '/v1/tasks', {
        token: TOKENS.client,
        raw: stream,
        headers: { 'content-type': 'application/json' },
      }).catch((err: Error) => err);
      if (streamed instanceof Error)
        expect(String((streamed.cause as { code?: string })?.code)).toMatch(
          /EPIPE|ECONNRESET|UND_ERR_SOCKET/,
        );
      else expectError(streamed, 413, 'payload_too_large');
      expect((await api('GET', '/healthz', { token: null })).status).toBe(200);
    });

    it('refuses malformed JSON and prototype keys with 400', async () => {
      expectError(
        await api('POST', '/v1/tasks', {
          token: TOKENS.client,
          raw: '{"capability":',
          headers: { 'content-type': 'application/json' },
        }),
        400,
        'invalid_request',
      );
      const proto = await api('POST', '/v1/tasks', {
        token: TOKENS.client,
        raw: '{"capability":"x","payload":{"__proto__":{"admin":true}}}',
        headers: { 'content-type': 'application/json' },
      });
      expectError(proto, 400, 'invalid_request');
      const cbor = await fetch(`${base()}/v1/tasks`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKENS.client}`, 'content-type': 'application/cbor' },
        body: cborEncoder.encode(
          new Map<string, unknown>([
            ['capability', 'x'],
            ['constructor', new Map([['prototype', 1]])],
          ]),
        ),
      });
      expect(cbor.status).toBe(400);
    });

    it('never answers 500 to fuzzed JSON and CBOR bodies on any endpoint', async () => {
      const agent = await register(cap());
      const endpoints = [
        '/v1/tasks',
        '/v1/tasks/batch',
        '/v1/agents',
        `/v1/agents/${agent.id}/heartbeat`,
        `/v1/agents/${agent.id}/lease`,
        '/v1/tasks/x/complete',
        '/v1/tasks/answers',
        '/v1/tasks/x/fail',
        '/v1/tasks/x/extend',
        '/v1/tasks/x/cancel',
        '/v1/events',
        '/v1/dead-letters/x/replay',
      ];
      const jsonText = fc
        .oneof(
          fc.string(),
          fc.json().map((j) => j.slice(0, Math.max(0, j.length - 1))),
          fc.json(),
          fc.jsonValue().map((v) =>
            JSON.stringify({
              capability: v,
              tasks: [v],
              name: v,
              capabilities: v,
              leaseToken: v,
              error: v,
              ms: v,
              topic: v,
              data: v,
              max: v,
              waitMs: v,
              metrics: v,
              answers: [v],
            }),
          ),
          fc.constantFrom(
            '{"__proto__":{"x":1}}',
            '{"constructor":{"prototype":{}}}',
            '[[[[[[[[[[',
            'null',
            '"',
            '\uFEFF{}',
            '{"capability":"x","payload":1e999}',
          ),
        )
        .map((text) => ({
          type: 'application/json',
          body: new TextEncoder().encode(text) as Uint8Array,
        }));
      const cborBytes = fc
        .oneof(
          fc.uint8Array({ maxLength: 64 }),
          fc.anything().map((v) => {
            try {
              return cborEncoder.encode(v) as Uint8Array;
            } catch {
              return new Uint8Array([0xff]);
            }
          }),
          fc.jsonValue().map(
            (v) =>
              cborEncoder.encode({
                capability: v,
                tasks: v,
                name: v,
                capabilities: [v],
                leaseToken: v,
                topic: v,
              }) as Uint8Array,
          ),
        )
        .map((body) => ({ type: 'application/cbor', body }));
      const failures: string[] = [];
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...endpoints),
          fc.oneof(jsonText, cborBytes),
          async (path, { type, body }) => {
            const res = await fetch(`${base()}${path}`, {
              method: 'POST',
              headers: { authorization: `Bearer ${TOKENS.admin}`, 'content-type': type },
              body: body as BodyInit,
            });
            await res.arrayBuffer();
            if (res.status >= 500)
              failures.push(
                `${res.status} ${path} ${type} ${Buffer.from(body).toString('hex').slice(0, 80)}`,
              );
            return res.status < 500;
          },
        ),
        { numRuns: options.fuzzRuns ?? 2000 },
      );
      expect(failures).toEqual([]);
    }, 120_000);
  });

  describe('rate limits', () => {
    let limited: StartedServer;
    beforeAll(async () => {
      limited = await start({
        rateLimits: { perIp: { capacity: 3, refillPerSec: 0.5 } },
        drainTimeoutMs: 500,
      });
    }, 30_000);
    afterAll(async () => {
      await limited?.stop();
    }, 30_000);

    it('answers 429 with Retry-After in seconds over the limit', async () => {
      const call = http(() => limited.url);
      const statuses: number[] = [];
      let last: Answer | undefined;
      for (let i = 0; i < 5; i++) {
        last = await call('GET', '/v1/stats', { token: null });
        statuses.push(last.status);
      }
      expect(statuses).toEqual([200, 200, 200, 429, 429]);
      expectError(last as Answer, 429, 'rate_limited');
      expect(Number(last?.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(Number(last?.headers.get('retry-after'))).toBeLessThanOrEqual(2);
    });
  });
}
