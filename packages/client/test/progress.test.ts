import { createSwitchboard, type Switchboard, type SwitchboardError } from '@switchboard/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
// The server from its sources by path, as in client.test.ts.
import { createApp } from '../../server/src/app.js';
import { nodeRuntime } from '../../server/src/node.js';
import type { Listening } from '../../server/src/runtime.js';
import { createClient } from '../src/client.js';
import type { StreamEvent } from '../src/events.js';
import type { TaskStreamItem } from '../src/task-stream.js';
import { createWorker, type TaskContext, type Worker } from '../src/worker.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('progress and streams of partial output over HTTP', () => {
  let sb: Switchboard;
  let server: Listening;
  let url: string;
  const client = () => createClient({ baseUrl: url, token: 'cli' });
  const agent = () => createClient({ baseUrl: url, token: 'agt' });
  const workers: Worker[] = [];
  const errors: unknown[] = [];

  function worker(handler: (payload: unknown, ctx: TaskContext) => unknown): Worker {
    const w = createWorker({
      url,
      token: 'agt',
      capabilities: ['llm'],
      leaseWaitMs: 500,
      onError: (e) => errors.push(e),
      handler,
    });
    workers.push(w);
    void w.run();
    return w;
  }

  beforeAll(async () => {
    // A small per-task bound, so that the test of the bound needs few chunks.
    sb = createSwitchboard({ streams: { maxChunks: 300 } });
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

  it('a remote worker streams 200 chunks that a client reads live, in order, then the end', async () => {
    let firstRead!: () => void;
    const readerHasFirst = new Promise<void>((resolve) => {
      firstRead = resolve;
    });
    worker(async (_, ctx) => {
      ctx.progress({ step: 'start' });
      ctx.stream('t0');
      // The rest only once the reader has the first chunk: it reads while the task runs.
      await readerHasFirst;
      for (let i = 1; i < 200; i++) {
        ctx.stream(`t${i}`);
        if (i % 20 === 0) {
          ctx.progress(i / 200);
          await sleep(5);
        }
      }
      ctx.progress(1);
      return 'done';
    });
    const events: StreamEvent[] = [];
    const stopEvents = new AbortController();
    const following = (async () => {
      for await (const e of client().events({
        topics: ['task.progress'],
        signal: stopEvents.signal,
      })) {
        events.push(e);
      }
    })();
    await sleep(100);
    const { id } = await client().submit({ capability: 'llm' });
    const items: TaskStreamItem[] = [];
    let statusAtFirst: string | undefined;
    for await (const item of client().stream(id)) {
      items.push(item);
      if (items.length === 1) {
        statusAtFirst = (await client().getTask(id)).status;
        firstRead();
      }
    }
    expect(statusAtFirst).toBe('leased');
    const chunks = items.filter((i) => i.type === 'chunk');
    expect(chunks.map((c) => c.data)).toEqual(Array.from({ length: 200 }, (_, i) => `t${i}`));
    expect(chunks.map((c) => c.seq)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    expect(items.at(-1)).toEqual({ type: 'end', status: 'completed' });
    const task = await client().getTask(id);
    expect(task.status).toBe('completed');
    expect(task.progress?.value).toBe(1);
    expect(task.progress?.at).toBeGreaterThan(0);
    await expect.poll(() => events.at(-1)?.value).toBe(1);
    stopEvents.abort();
    await following;
    expect(events[0]).toMatchObject({
      topic: 'task.progress',
      taskId: id,
      value: { step: 'start' },
    });
    // Coalesced: fewer progress events than calls is allowed, more is not; the values only grow.
    const values = events.slice(1).map((e) => e.value as number);
    expect(values).toEqual([...values].sort((a, b) => a - b));
    expect(errors).toEqual([]);
  });

  it('keeps the last 300 chunks: a late reader gets a dropped marker, the kept chunks, then the end', async () => {
    worker((_, ctx) => {
      for (let i = 1; i <= 500; i++) ctx.stream({ i });
      return 'x';
    });
    const { id } = await client().submit({ capability: 'llm' });
    expect((await client().result(id, 10_000)).status).toBe('completed');
    const items: TaskStreamItem[] = [];
    for await (const item of client().stream(id)) items.push(item);
    expect(items[0]).toEqual({ type: 'dropped', count: 200 });
    const chunks = items.filter((i) => i.type === 'chunk');
    expect(chunks.map((c) => c.data)).toEqual(
      Array.from({ length: 300 }, (_, k) => ({ i: k + 201 })),
    );
    expect(items.at(-1)).toEqual({ type: 'end', status: 'completed' });
    // Resuming from a seq sends only what came after it.
    const after: TaskStreamItem[] = [];
    for await (const item of client().stream(id, { lastEventId: 498 })) after.push(item);
    expect(after.map((i) => (i.type === 'chunk' ? i.seq : i.type))).toEqual([499, 500, 'end']);
  });

  it('answers 409 to a stale lease token, 404 for an unknown task, 400 or 413 for a bad report', async () => {
    const { id } = await client().submit({ capability: 'llm', maxAttempts: 1 });
    const me = await agent().registerAgent({ capabilities: ['llm'] });
    const [lease] = (await agent().lease(me.id, { waitMs: 2000 })).tasks;
    if (lease === undefined) throw new Error('no lease');
    const before = lease.leaseExpiresAt;
    await sleep(20);
    const answer = await agent().progress(id, lease.leaseToken, { value: 0.5, chunks: ['a', 'b'] });
    expect(answer.lastSeq).toBe(2);
    // A report is a heartbeat of the lease: its expiry moved.
    expect(answer.leaseExpiresAt).toBeGreaterThan(before);
    const stale = (await agent()
      .progress(id, 'not-the-token', { value: 1 })
      .catch((e: unknown) => e)) as SwitchboardError;
    expect(stale.code).toBe('conflict');
    expect(stale.details).toMatchObject({ status: 409 });
    const big = (await agent()
      .progress(id, lease.leaseToken, { value: 'x'.repeat(5000) })
      .catch((e: unknown) => e)) as SwitchboardError;
    expect(big.details).toMatchObject({ status: 413 });
    const res = await fetch(`${url}/v1/tasks/${id}/progress`, {
      method: 'POST',
      headers: { authorization: 'Bearer agt', 'content-type': 'application/json' },
      body: JSON.stringify({ leaseToken: lease.leaseToken, extendMs: 0 }),
    });
    expect(res.status).toBe(400);
    const unknown = (await agent()
      .progress('no-such-task', lease.leaseToken, {})
      .catch((e: unknown) => e)) as SwitchboardError;
    expect(unknown.details).toMatchObject({ status: 404 });
    await agent().complete(id, lease.leaseToken, 'ok');
    const after = (await agent()
      .progress(id, lease.leaseToken, { value: 1 })
      .catch((e: unknown) => e)) as SwitchboardError;
    expect(after.details).toMatchObject({ status: 409 });
    expect((await client().getTask(id)).progress?.value).toBe(0.5);
    // A client may not report.
    const forbidden = (await client()
      .progress(id, lease.leaseToken, {})
      .catch((e: unknown) => e)) as SwitchboardError;
    expect(forbidden.details).toMatchObject({ status: 403 });
    await agent().leave(me.id);
  });

  it('a stream of an unknown task is 404; one of a task that never streamed ends at once', async () => {
    const missing = await (async () => {
      for await (const _ of client().stream('nope')) return undefined;
    })().catch((e: unknown) => e as SwitchboardError);
    expect(missing?.details).toMatchObject({ status: 404 });
    worker((payload) => payload);
    const { id } = await client().submit({ capability: 'llm', payload: 7 });
    await client().result(id, 10_000);
    const items: TaskStreamItem[] = [];
    for await (const item of client().stream(id)) items.push(item);
    expect(items).toEqual([{ type: 'end', status: 'completed' }]);
  });
});
