import { execPath } from 'node:process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisServerHandle, startRedisServer } from '../helpers/redis-server.js';
import { bundle, type ServerProcess, spawnServer } from './servers.js';

// Two real server processes (the built Node bundle) on a redis-server of their own: a remote
// agent reports progress and chunks to A while a client reads the task's stream from B.
let redis: RedisServerHandle;
let a: ServerProcess;
let b: ServerProcess;

beforeAll(async () => {
  redis = await startRedisServer();
  [a, b] = await Promise.all(
    [0, 1].map(() => spawnServer(execPath, [bundle('node'), 'serve', '--backend', redis.url], {})),
  );
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

/** Reads a task's stream until its `end` event; `frames` fills as they come. */
function readStream(base: string, id: string) {
  const frames: { event: string; id?: string; data: Record<string, unknown> }[] = [];
  const done = (async () => {
    const res = await fetch(`${base}/v1/tasks/${id}/stream`);
    expect(res.status).toBe(200);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    for (;;) {
      const { done: over, value } = await reader.read();
      if (over) return;
      buffer += decoder.decode(value, { stream: true });
      for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = /^event: (.*)$/m.exec(frame)?.[1];
        const data = /^data: (.*)$/m.exec(frame)?.[1];
        if (event === undefined || data === undefined) continue;
        const seq = /^id: (.*)$/m.exec(frame)?.[1];
        frames.push({ event, ...(seq === undefined ? {} : { id: seq }), data: JSON.parse(data) });
      }
    }
  })();
  return { frames, done };
}

async function until(check: () => boolean, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("a task's stream on two servers on one Redis", () => {
  it('reads through B, live and in order, what an agent reports to A, then the end', async () => {
    const agent = (await call(a.url, 'POST', '/v1/agents', { capabilities: ['llm'] })).body.id;
    const id = (await call(a.url, 'POST', '/v1/tasks', { capability: 'llm' })).body.id;
    const lease = await call(a.url, 'POST', `/v1/agents/${agent}/lease`, { waitMs: 3000 });
    const leaseToken = lease.body.tasks[0].leaseToken as string;
    const reader = readStream(b.url, id);
    for (let batch = 0; batch < 5; batch++) {
      const chunks = Array.from({ length: 20 }, (_, i) => `t${batch * 20 + i}`);
      const report = { leaseToken, value: (batch + 1) / 5, chunks };
      const answer = await call(a.url, 'POST', `/v1/tasks/${id}/progress`, report);
      expect(answer.status).toBe(200);
      expect(answer.body.lastSeq).toBe((batch + 1) * 20);
      // Each batch reaches the reader on B while the task still runs.
      await until(() => reader.frames.length >= (batch + 1) * 20);
    }
    const view = await call(b.url, 'GET', `/v1/tasks/${id}`);
    expect(view.body).toMatchObject({ status: 'leased', progress: { value: 1 } });
    await call(a.url, 'POST', `/v1/tasks/${id}/complete`, { leaseToken, result: 'done' });
    await reader.done;
    const chunks = reader.frames.filter((f) => f.event === 'chunk');
    expect(chunks.map((f) => f.data.data)).toEqual(Array.from({ length: 100 }, (_, i) => `t${i}`));
    expect(chunks.map((f) => f.id)).toEqual(Array.from({ length: 100 }, (_, i) => String(i + 1)));
    expect(reader.frames.at(-1)).toMatchObject({ event: 'end', data: { status: 'completed' } });
    // After the fact, through A as through B.
    const late = readStream(a.url, id);
    await late.done;
    expect(late.frames.filter((f) => f.event === 'chunk')).toHaveLength(100);
    // A stale token is refused through either server.
    const stale = await call(b.url, 'POST', `/v1/tasks/${id}/progress`, { leaseToken, value: 2 });
    expect(stale.status).toBe(409);
  }, 30_000);
});
