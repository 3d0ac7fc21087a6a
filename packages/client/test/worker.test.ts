import { createSwitchboard, type Switchboard, SwitchboardError } from '@switchboard/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
// The server from its sources by path, as in client.test.ts.
import { createApp } from '../../server/src/app.js';
import { Lifecycle } from '../../server/src/lifecycle.js';
import { nodeRuntime } from '../../server/src/node.js';
import type { Listening } from '../../server/src/runtime.js';
import { createClient } from '../src/client.js';
import {
  createWorker,
  type TaskContext,
  type Worker,
  type WorkerOptions,
  type WorkerState,
} from '../src/worker.js';
import { silentServer } from './silent-server.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` every 20 ms until it holds, failing after `ms`. */
async function until(check: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('timed out waiting for a condition');
    await sleep(20);
  }
}

/** A handler that runs until its signal aborts, and the abort's reason once it did. */
function stopsOnAbort() {
  const seen = {
    reason: undefined as unknown,
    handler: (_: unknown, ctx: TaskContext) =>
      new Promise<string>((resolve) => {
        ctx.signal.addEventListener('abort', () => {
          seen.reason = ctx.signal.reason;
          resolve('stopped');
        });
      }),
  };
  return seen;
}

describe('createWorker against a real server', () => {
  let sb: Switchboard;
  let server: Listening;
  let url: string;
  const client = () => createClient({ baseUrl: url, token: 'cli' });
  const admin = () => createClient({ baseUrl: url, token: 'adm' });
  const workers: Worker[] = [];
  const errors: unknown[] = [];

  /** A worker on the test server, closed after the test. */
  function worker<P, R>(
    options: Omit<WorkerOptions<P, R>, 'url' | 'token' | 'capabilities'> &
      Partial<WorkerOptions<P, R>>,
  ): Worker {
    const w = createWorker<P, R>({
      url,
      token: 'agt',
      capabilities: ['job'],
      leaseWaitMs: 1000,
      onError: (e) => errors.push(e),
      ...options,
    });
    workers.push(w);
    return w;
  }

  beforeAll(async () => {
    // A heartbeat timeout shorter than the longest handler below: a worker that did not
    // heartbeat while it works would be failed, and its task run again.
    sb = createSwitchboard({ heartbeatIntervalMs: 200, heartbeatTimeoutMs: 1000 });
    await sb.start();
    const app = createApp(sb, { tokens: { admin: 'adm', client: 'cli', agent: 'agt' } });
    server = await nodeRuntime.serve(app.fetch, { port: 0, host: '127.0.0.1' });
    url = `http://127.0.0.1:${server.port}`;
  });
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.close({ drain: false })));
    errors.length = 0;
  });
  afterAll(async () => {
    await sb.shutdown({ drain: false });
    await server.close();
  });

  it('never runs more handlers at once than its concurrency, and completes every task', async () => {
    let now = 0;
    let most = 0;
    const w = worker({
      concurrency: 3,
      handler: async (payload: { i: number }) => {
        most = Math.max(most, ++now);
        await sleep(30);
        now--;
        return { double: payload.i * 2 };
      },
    });
    void w.run();
    const { ids } = await client().submitBatch(
      Array.from({ length: 15 }, (_, i) => ({ capability: 'job', payload: { i } })),
    );
    const done = await Promise.all(ids.map((id) => client().result(id, 10_000)));
    expect(done.map((t) => t.status)).toEqual(ids.map(() => 'completed'));
    expect(done.map((t) => t.result)).toEqual(ids.map((_, i) => ({ double: i * 2 })));
    expect(most).toBe(3);
    expect(w.state).toBe('running');
    expect(errors).toEqual([]);
  });

  it('polls for at most what the server hands out at once, whatever its concurrency', async () => {
    const w = worker({ concurrency: 5000, handler: (payload: number) => payload + 1 });
    void w.run();
    const { ids } = await client().submitBatch(
      [1, 2, 3].map((n) => ({ capability: 'job', payload: n })),
    );
    const done = await Promise.all(ids.map((id) => client().result(id, 5000)));
    expect(done.map((t) => t.result)).toEqual([2, 3, 4]);
    expect(errors).toEqual([]);
  });

  it('extends the lease of a task that runs three times its lease, and heartbeats meanwhile', async () => {
    const states: WorkerState[] = [];
    const w = worker({
      onStateChange: (s) => states.push(s),
      handler: async (_: unknown, ctx) => {
        await sleep(1800);
        return { aborted: ctx.signal.aborted, attempt: ctx.attempt };
      },
    });
    void w.run();
    const { id } = await client().submit({ capability: 'job', timeoutMs: 600, maxAttempts: 1 });
    const task = await client().result(id, 10_000);
    expect(task).toMatchObject({
      status: 'completed',
      attempts: 1,
      result: { aborted: false, attempt: 1 },
    });
    // Never failed by the server: it registered once.
    expect(states).toEqual(['starting', 'running']);
    expect(errors).toEqual([]);
  });

  it('extends a lease as far as the handler asks with ctx.extend', async () => {
    const w = worker({
      handler: async (_: unknown, ctx) => (await ctx.extend(60_000)) - Date.now(),
    });
    void w.run();
    const { id } = await client().submit({ capability: 'job', timeoutMs: 1000 });
    const { result } = await client().result(id, 5000);
    expect(result).toBeGreaterThan(55_000);
    expect(result).toBeLessThanOrEqual(60_000);
  });

  it('works on when its listeners throw, and reports what they threw', async () => {
    const w = worker({
      handler: () => 'fine',
      onStateChange: () => {
        throw new Error('listener broke');
      },
    });
    void w.run();
    const { id } = await client().submit({ capability: 'job' });
    expect(await client().result(id, 5000)).toMatchObject({ status: 'completed', result: 'fine' });
    expect(errors).toContainEqual(new Error('listener broke'));
  });

  it('aborts a handler whose lease expired unextended, and drops its late answer', async () => {
    let blockExtends = true;
    let reason: unknown;
    const w = worker({
      concurrency: 2,
      // The extensions of the first run never reach the server, as in a network partition.
      fetch: async (input, init) => {
        if (blockExtends && String(input).endsWith('/extend')) throw new TypeError('fetch failed');
        return fetch(input, init);
      },
      handler: async (_: unknown, ctx) => {
        if (ctx.attempt > 1) {
          blockExtends = false;
          return 'second';
        }
        reason = await new Promise((resolve) => {
          ctx.signal.addEventListener('abort', () => resolve(ctx.signal.reason));
        });
        // Answer late, when the server has given the task to another lease.
        await until(() => !blockExtends);
        return 'first';
      },
    });
    void w.run();
    const { id } = await client().submit({ capability: 'job', timeoutMs: 500, maxAttempts: 2 });
    const task = await client().result(id, 8000);
    expect(reason).toMatchObject({ code: 'expired' });
    expect(task).toMatchObject({ status: 'completed', attempts: 2, result: 'second' });
    await until(() => w.running === 0);
    // Only the failed extensions were reported: the late answer's 409 is expected, not an error.
    expect(errors.length).toBeGreaterThan(0);
    for (const e of errors) expect(e).toBeInstanceOf(TypeError);
  }, 10_000);

  it('fails a task whose result JSON cannot carry, not retryable, and works on', async () => {
    const w = worker({ handler: (payload: string) => (payload === 'big' ? { n: 1n } : 'fine') });
    void w.run();
    const bad = await client().submit({ capability: 'job', payload: 'big', maxAttempts: 3 });
    const task = await client().result(bad.id, 5000);
    expect(task).toMatchObject({ status: 'dead', attempts: 1 });
    expect(task.error?.message).toMatch(/^the result cannot be sent as JSON: /);
    const next = await client().submit({ capability: 'job', payload: 'ok' });
    expect(await client().result(next.id, 5000)).toMatchObject({ result: 'fine' });
  });

  it('sends an answer again until the server takes it', async () => {
    let refused = 0;
    const w = worker({
      backoff: { initialMs: 10, maxMs: 20 },
      // The first three requests that carry the completion (a lease request taking it along,
      // or a batch of answers) are lost on the way, as while the server restarts.
      fetch: async (input, init) => {
        if (String(init?.body ?? '').includes('"answers"') && refused < 3) {
          refused++;
          throw new TypeError('fetch failed');
        }
        return fetch(input, init);
      },
      handler: () => 'at last',
    });
    void w.run();
    const { id } = await client().submit({ capability: 'job' });
    expect(await client().result(id, 5000)).toMatchObject({
      status: 'completed',
      result: 'at last',
    });
    expect(errors).toHaveLength(3);
  });

  it('aborts the handler’s signal when its task is cancelled, and answers nothing', async () => {
    const stops = stopsOnAbort();
    const w = worker({ handler: stops.handler });
    void w.run();
    const { id } = await client().submit({ capability: 'job', timeoutMs: 600 });
    await until(() => w.running === 1);
    await client().cancel(id);
    await until(() => stops.reason !== undefined);
    expect(stops.reason).toBeInstanceOf(SwitchboardError);
    expect(stops.reason).toMatchObject({ code: 'cancelled' });
    await until(() => w.running === 0);
    expect((await client().getTask(id)).status).toBe('cancelled');
    expect(errors).toEqual([]);
  });

  it('fails a task with the thrown message: retryable by default, dead when it says so', async () => {
    const w = worker({
      handler: (payload: { final: boolean }) => {
        throw Object.assign(new Error(`broke ${payload.final}`), {
          ...(payload.final ? { retryable: false } : {}),
        });
      },
    });
    void w.run();
    const retried = await client().submit({
      capability: 'job',
      payload: { final: false },
      maxAttempts: 2,
    });
    const dead = await client().submit({
      capability: 'job',
      payload: { final: true },
      maxAttempts: 5,
    });
    const a = await client().result(retried.id, 10_000);
    const b = await client().result(dead.id, 10_000);
    expect(a).toMatchObject({ status: 'dead', attempts: 2, error: { message: 'broke false' } });
    expect(b).toMatchObject({ status: 'dead', attempts: 1, error: { message: 'broke true' } });
  });

  it('registers again when the server forgot it (404), and works on', async () => {
    const states: WorkerState[] = [];
    const w = worker({
      handler: () => 'ok',
      onStateChange: (s) => states.push(s),
    });
    void w.run();
    await until(() => w.state === 'running');
    const first = w.agentId as string;
    // Another caller removes the agent: the server answers 404 to its next poll.
    await createClient({ baseUrl: url, token: 'agt' }).leave(first);
    await until(() => w.agentId !== first && w.state === 'running');
    const { id } = await client().submit({ capability: 'job' });
    expect(await client().result(id, 10_000)).toMatchObject({ status: 'completed', result: 'ok' });
    const agents = (await createClient({ baseUrl: url, token: 'agt' }).listAgents()).agents;
    expect(agents.map((a) => a.id)).toContain(w.agentId);
    expect(agents.map((a) => a.id)).not.toContain(first);
    expect(states.slice(0, 4)).toEqual(['starting', 'running', 'starting', 'running']);
  });

  it('closes gracefully: stops leasing, finishes what it holds, then leaves', async () => {
    const started: string[] = [];
    const w = worker({
      concurrency: 2,
      handler: async (payload: { i: number }, ctx) => {
        started.push(ctx.taskId);
        await sleep(300);
        return payload.i;
      },
    });
    const run = w.run();
    const { ids } = await client().submitBatch([
      { capability: 'job', payload: { i: 1 } },
      { capability: 'job', payload: { i: 2 } },
      { capability: 'job', payload: { i: 3 } },
    ]);
    await until(() => w.running === 2);
    const agentId = w.agentId as string;
    await w.close({ drain: true });
    await run;
    expect(w.state).toBe('closed');
    const tasks = await Promise.all(ids.map((id) => client().getTask(id)));
    // The two it held completed; the third was never leased and waits for another agent.
    expect(tasks.map((t) => t.status).sort()).toEqual(['completed', 'completed', 'queued']);
    expect(started).toHaveLength(2);
    const agents = (await createClient({ baseUrl: url, token: 'agt' }).listAgents()).agents;
    expect(agents.map((a) => a.id)).not.toContain(agentId);
    await admin().cancel(ids.find((_, i) => tasks[i]?.status === 'queued') as string);
  });

  it('closes without draining: aborts the handlers and puts their tasks back to the queue', async () => {
    const stops = stopsOnAbort();
    const w = worker({ handler: stops.handler });
    void w.run();
    const { id } = await client().submit({ capability: 'job' });
    await until(() => w.running === 1);
    await w.close({ drain: false });
    expect(stops.reason).toMatchObject({ code: 'unavailable' });
    const task = await client().getTask(id);
    expect(task.status).toBe('queued');
    await admin().cancel(id);
  });

  it('rejects run() when the server refuses its registration for good', async () => {
    const w = worker({ token: 'wrong', handler: () => 1 });
    await expect(w.run()).rejects.toMatchObject({ code: 'unauthorized' });
    expect(w.state).toBe('closed');
  });
});

describe('createWorker against a draining server', () => {
  it('backs off on 503 while it completes the task it holds', async () => {
    const sb = createSwitchboard();
    await sb.start();
    const lifecycle = new Lifecycle('ready');
    const app = createApp(sb, { lifecycle });
    const server = await nodeRuntime.serve(app.fetch, { port: 0, host: '127.0.0.1' });
    const url = `http://127.0.0.1:${server.port}`;
    const errors: unknown[] = [];
    const w = createWorker({
      url,
      capabilities: ['job'],
      leaseWaitMs: 100,
      backoff: { initialMs: 20, maxMs: 50 },
      onError: (e) => errors.push(e),
      handler: async () => {
        await sleep(400);
        return 'done';
      },
    });
    try {
      const run = w.run();
      const { id } = await createClient({ baseUrl: url }).submit({ capability: 'job' });
      await until(() => w.running === 1);
      // As on SIGTERM: new work is refused with 503, answers to what is held are taken.
      lifecycle.drain();
      await until(() => w.state === 'reconnecting');
      expect(errors[0]).toMatchObject({ code: 'unavailable', details: { status: 503 } });
      const task = await createClient({ baseUrl: url }).result(id, 5000);
      expect(task).toMatchObject({ status: 'completed', result: 'done', attempts: 1 });
      await w.close();
      await run;
      expect((await sb.listAgents()).map((a) => a.id)).toEqual([]);
    } finally {
      await w.close({ drain: false });
      await sb.shutdown({ drain: false });
      await server.close();
    }
  });
});

describe('createWorker against a server that never answers', () => {
  it('gives up its calls after requestTimeoutMs, retries them, and still closes', async () => {
    const silent = await silentServer();
    const errors: unknown[] = [];
    const states: WorkerState[] = [];
    const w = createWorker({
      url: silent.url,
      capabilities: ['job'],
      handler: () => 1,
      requestTimeoutMs: 100,
      backoff: { initialMs: 10, maxMs: 20 },
      onError: (e) => errors.push(e),
      onStateChange: (s) => states.push(s),
    });
    const run = w.run();
    await until(() => errors.length >= 2);
    expect(errors[0]).toMatchObject({ code: 'timeout' });
    expect(w.state).toBe('reconnecting');
    await w.close();
    await run;
    expect(states).toEqual(['starting', 'reconnecting', 'closing', 'closed']);
    await silent.close();
  });
});

describe('createWorker sends its answers in batches', () => {
  const running: { sb: Switchboard; server: Listening }[] = [];
  afterEach(async () => {
    for (const { sb, server } of running.splice(0)) {
      await sb.shutdown({ drain: false });
      await server.close();
    }
  });

  async function serve(maxBodyBytes?: number): Promise<string> {
    const sb = createSwitchboard();
    await sb.start();
    const app = createApp(sb, maxBodyBytes === undefined ? {} : { maxBodyBytes });
    const server = await nodeRuntime.serve(app.fetch, { port: 0, host: '127.0.0.1' });
    running.push({ sb, server });
    return `http://127.0.0.1:${server.port}`;
  }

  /** Runs `n` tasks through a worker; answers the requests it made by path, and its errors. */
  async function runThrough(
    url: string,
    n: number,
    options: Partial<WorkerOptions<number, unknown>>,
  ): Promise<{ paths: string[]; errors: unknown[]; results: unknown[] }> {
    const paths: string[] = [];
    const errors: unknown[] = [];
    const w = createWorker<number, unknown>({
      url,
      capabilities: ['job'],
      leaseWaitMs: 1000,
      handler: (i) => i,
      onError: (e) => errors.push(e),
      fetch: (input, init) => {
        paths.push(new URL(String(input)).pathname);
        return fetch(input, init);
      },
      ...options,
    });
    void w.run();
    const c = createClient({ baseUrl: url });
    const { ids } = await c.submitBatch(
      Array.from({ length: n }, (_, i) => ({ capability: 'job', payload: i })),
    );
    const done = await Promise.all(ids.map((id) => c.result(id, 10_000)));
    await w.close();
    expect(done.map((t) => t.status)).toEqual(ids.map(() => 'completed'));
    return { paths, errors, results: done.map((t) => t.result) };
  }

  it('takes each answer along with its next lease request: one request a task, not two', async () => {
    const url = await serve();
    const { paths, errors, results } = await runThrough(url, 40, {
      concurrency: 1,
      handler: (i) => ({ i }),
    });
    expect(results).toEqual(Array.from({ length: 40 }, (_, i) => ({ i })));
    expect(errors).toEqual([]);
    // 40 leases that carry the answer of the task before (the first carries none); no
    // separate completion.
    expect(paths.filter((p) => p.endsWith('/complete'))).toEqual([]);
    expect(paths.filter((p) => p.endsWith('/lease')).length).toBeLessThanOrEqual(42);
  });

  it('falls back to answers one by one when the server refuses a batch as too large', async () => {
    // Results of about 1.5 KB against a body limit of 4 KiB: a batch of three or more is
    // refused with 413, and each answer then goes alone.
    const url = await serve(4096);
    const big = 'x'.repeat(1500);
    const { paths, errors, results } = await runThrough(url, 24, {
      concurrency: 8,
      handler: async (i) => {
        await sleep(5);
        return { i, big };
      },
    });
    expect(results).toEqual(Array.from({ length: 24 }, (_, i) => ({ i, big })));
    // A refused batch is not an error the user must hear of: every answer arrived.
    expect(errors).toEqual([]);
    expect(paths.some((p) => p.endsWith('/complete'))).toBe(true);
  });
});

describe('createWorker options', () => {
  const base = { url: 'http://127.0.0.1:1', capabilities: ['job'], handler: () => 1 };

  it('refuses an unknown option, naming it and the known ones', () => {
    expect(() => createWorker({ ...base, concurency: 2 } as never)).toThrow(
      /unknown worker option "concurency" \(did you mean "concurrency"\?\); known: url, token/,
    );
    expect(() => createWorker({ ...base, backoff: { max: 1 } } as never)).toThrow(
      /unknown worker option "backoff.max"/,
    );
  });

  it('refuses bad values, naming the option', () => {
    const bad: [object, RegExp][] = [
      [{ concurrency: 0 }, /concurrency: must be an integer in 1\.\.100000/],
      [{ concurrency: 100_001 }, /concurrency: must be an integer in 1\.\.100000/],
      [{ leaseWaitMs: 60_000 }, /leaseWaitMs: must be an integer in 0\.\.30000/],
      [{ url: 'localhost:8787' }, /url: must be an http\(s\) URL/],
      [{ capabilities: [] }, /capabilities: must list at least one capability/],
      [{ handler: 'run' }, /handler: must be a function/],
      [{ onError: 1 }, /onError: must be a function/],
    ];
    for (const [patch, message] of bad) {
      expect(() => createWorker({ ...base, ...patch } as never)).toThrow(message);
      try {
        createWorker({ ...base, ...patch } as never);
      } catch (error) {
        expect(error).toMatchObject({ code: 'invalid_config' });
      }
    }
  });
});
