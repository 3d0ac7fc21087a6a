import { connect, createServer, type Server, type Socket } from 'node:net';
import { createSwitchboard, type Switchboard } from '@switchboard/core';
import { afterEach, describe, expect, it } from 'vitest';
// The server from its sources by path, as in client.test.ts: the client may not depend on it.
import { createApp } from '../../server/src/app.js';
import { nodeRuntime } from '../../server/src/node.js';
import type { Listening } from '../../server/src/runtime.js';
import { createClient } from '../src/client.js';
import { followEvents, isEvent, SseParser, type StreamEvent } from '../src/events.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Served {
  sb: Switchboard;
  server: Listening;
  baseUrl: string;
  stop: () => Promise<void>;
}

/** A real server on 127.0.0.1 (on `port`, or any free one). */
async function serve(port = 0): Promise<Served> {
  const sb = createSwitchboard();
  await sb.start();
  const app = createApp(sb);
  const server = await nodeRuntime.serve(app.fetch, { port, host: '127.0.0.1' });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    server.forceClose();
    await server.close();
    await sb.shutdown({ drain: false });
  };
  cleanups.push(stop);
  return { sb, server, baseUrl: `http://127.0.0.1:${server.port}`, stop };
}

/** A TCP relay in front of `port` whose connections the test can cut, as a network would. */
async function relay(
  port: number,
): Promise<{ url: string; cut: () => void; connections: () => number }> {
  const sockets = new Set<Socket>();
  let connections = 0;
  const server: Server = createServer((inbound) => {
    connections++;
    const outbound = connect(port, '127.0.0.1');
    for (const [s, other] of [
      [inbound, outbound],
      [outbound, inbound],
    ] as const) {
      sockets.add(s);
      // A cut or a refused connection shows as an error on one side; both sides close.
      s.on('error', () => undefined);
      s.on('close', () => {
        sockets.delete(s);
        other.destroy();
      });
    }
    inbound.pipe(outbound).pipe(inbound);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  const { port: own } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${own}`,
    cut: () => {
      for (const s of sockets) s.destroy();
    },
    connections: () => connections,
  };
}

/** Takes `count` events from an iterator. */
async function take(events: AsyncIterator<StreamEvent>, count: number): Promise<StreamEvent[]> {
  const out: StreamEvent[] = [];
  while (out.length < count) {
    const next = await events.next();
    if (next.done) throw new Error('the events ended');
    out.push(next.value);
  }
  return out;
}

const fast = { initialMs: 20, maxMs: 200 };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until `check` holds (the test's timeout bounds it). */
async function until(check: () => boolean): Promise<void> {
  while (!check()) await sleep(10);
}

describe('SseParser', () => {
  it('parses the standard forms: CRLF, CR, split chunks, comments, multi-line data, ids', () => {
    const parser = new SseParser();
    const text = ': hi\r\nid: 1\r\nevent: a\r\ndata: x\r\ndata: y\r\n\r\ndata:z\r\r';
    const out = [];
    // Fed one character at a time, so every split point (a CRLF too) is crossed.
    for (const char of text) out.push(...parser.push(char));
    expect(out).toEqual([
      { event: 'a', data: 'x\ny', id: '1' },
      { event: 'message', data: 'z' },
    ]);
    expect(parser.lastEventId).toBe('1');
  });
});

describe('client.events against a real server', () => {
  it('yields matching events in order, typed, with their ids', async () => {
    const { baseUrl } = await serve();
    const client = createClient({ baseUrl });
    const abort = new AbortController();
    const events = client.events({
      topics: ['task.queued', 'task.cancelled'],
      signal: abort.signal,
    });
    const first = events.next();
    // The stream is open once the server answered; a task submitted before may not be seen.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await client.submit({ capability: 'x' })).id);
    await client.cancel(ids[4] as string);
    const got = [(await first).value as StreamEvent, ...(await take(events, 5))];
    abort.abort();
    expect(got.map((e) => e.topic)).toEqual([...Array(5).fill('task.queued'), 'task.cancelled']);
    expect(got.slice(0, 5).map((e) => e.taskId)).toEqual(ids);
    const last = got[5] as StreamEvent;
    expect(isEvent(last, 'task.cancelled') && last.taskId).toBe(ids[4]);
    const numbers = got.map((e) => Number(e.eventId?.split('-').at(-1)));
    expect(numbers).toEqual([...numbers].sort((a, b) => a - b));
    expect(new Set(numbers).size).toBe(6);
  });

  it('applies the topic filter', async () => {
    const { baseUrl } = await serve();
    const client = createClient({ baseUrl });
    const abort = new AbortController();
    const events = client.events({ topics: ['task.cancelled'], signal: abort.signal });
    const first = events.next();
    await new Promise((resolve) => setTimeout(resolve, 100));
    await client.submit({ capability: 'x' });
    const { id } = await client.submit({ capability: 'x' });
    await client.cancel(id);
    expect((await first).value).toMatchObject({ topic: 'task.cancelled', taskId: id });
    abort.abort();
  });

  it('survives cut connections without losing an event, and a server restart', async () => {
    const served = await serve();
    const { server, baseUrl } = served;
    const net = await relay(server.port);
    const submitter = createClient({ baseUrl });
    const abort = new AbortController();
    const events = followEvents(
      { baseUrl: net.url },
      { topics: ['task.queued'], signal: abort.signal, backoff: fast },
    );
    // Read all along, as an application would: the iterator reconnects while it is read.
    const got: StreamEvent[] = [];
    const reading = (async () => {
      for await (const event of events) got.push(event);
    })();
    await sleep(100);
    const ids: string[] = [];
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 3; i++) ids.push((await submitter.submit({ capability: 'x' })).id);
      // Cut at once, events maybe still in flight; those and the tasks queued while the
      // client is away come back through the replay.
      const before = net.connections();
      net.cut();
      for (let i = 0; i < 2; i++) ids.push((await submitter.submit({ capability: 'x' })).id);
      await until(() => net.connections() > before);
    }
    await until(() => got.length >= ids.length);
    expect(got.map((e) => e.taskId)).toEqual(ids);
    expect(got.some((e) => e.topic === 'switchboard.missed')).toBe(false);

    // A restart on the same port: the new process says events may be lost, then goes live.
    const port = server.port;
    await served.stop();
    const again = await serve(port);
    await until(() => got.length > ids.length);
    expect(got[ids.length]).toMatchObject({ topic: 'switchboard.missed', reason: 'unknown' });
    const { id } = await createClient({ baseUrl: again.baseUrl }).submit({ capability: 'x' });
    await until(() => got.length > ids.length + 1);
    expect(got[ids.length + 1]).toMatchObject({ topic: 'task.queued', taskId: id });
    abort.abort();
    await reading;
  });

  it('ends on abort: while waiting for an event, and while waiting to reconnect', async () => {
    const { baseUrl } = await serve();
    const client = createClient({ baseUrl });
    const abort = new AbortController();
    const events = client.events({ signal: abort.signal });
    const pending = events.next();
    setTimeout(() => abort.abort(), 100);
    expect(await pending).toEqual({ done: true, value: undefined });

    // Nothing listens on port 1: the iterator tries again and again until aborted, then ends.
    let tries = 0;
    const counting: typeof fetch = (input, init) => {
      tries++;
      return fetch(input, init);
    };
    const away = new AbortController();
    const retrying = followEvents(
      { baseUrl: 'http://127.0.0.1:1', fetch: counting },
      { signal: away.signal, backoff: fast },
    );
    const next = retrying.next();
    setTimeout(() => away.abort(), 300);
    expect(await next).toEqual({ done: true, value: undefined });
    expect(tries).toBeGreaterThanOrEqual(2);
  });

  it('throws what retrying cannot fix, such as a bad topic pattern', async () => {
    const { baseUrl } = await serve();
    const events = followEvents({ baseUrl }, { topics: ['task.**x'] });
    await expect(events.next()).rejects.toMatchObject({ code: 'invalid_request' });
  });
});
