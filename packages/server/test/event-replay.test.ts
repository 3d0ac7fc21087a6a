import { createSwitchboard, type Switchboard } from '@switchboard/core';
import { afterEach, describe, expect, it } from 'vitest';
import { type AppOptions, createApp } from '../src/app.js';
import { nodeRuntime } from '../src/node.js';
import type { Listening } from '../src/runtime.js';

const open: { sb: Switchboard; server: Listening }[] = [];

afterEach(async () => {
  for (const { sb, server } of open.splice(0)) {
    server.forceClose();
    await server.close();
    await sb.shutdown({ drain: false });
  }
});

/** A real server on 127.0.0.1, on Node. */
async function serve(options: AppOptions = {}): Promise<string> {
  const sb = createSwitchboard();
  await sb.start();
  const app = createApp(sb, options);
  const server = await nodeRuntime.serve(app.fetch, { port: 0, host: '127.0.0.1' });
  open.push({ sb, server });
  return `http://127.0.0.1:${server.port}`;
}

interface Frame {
  id?: string;
  event: string;
  data: Record<string, unknown>;
}

/** Reads an SSE response frame by frame, skipping comment lines. */
class Stream {
  readonly #abort = new AbortController();
  #reader!: ReadableStreamDefaultReader<Uint8Array>;
  #text = '';
  readonly #decoder = new TextDecoder();

  static async open(url: string, headers: Record<string, string> = {}): Promise<Stream> {
    const stream = new Stream();
    const res = await fetch(url, { headers, signal: stream.#abort.signal });
    expect(res.status).toBe(200);
    stream.#reader = (res.body as ReadableStream<Uint8Array>).getReader();
    // The comment that says the subscription is in place comes first.
    while (!stream.#text.includes(': subscribed\n\n')) await stream.#more();
    stream.#text = stream.#text.slice(stream.#text.indexOf(': subscribed\n\n') + 14);
    return stream;
  }

  async #more(): Promise<void> {
    const { done, value } = await this.#reader.read();
    if (done) throw new Error('the stream ended');
    this.#text += this.#decoder.decode(value, { stream: true });
  }

  async next(): Promise<Frame> {
    for (;;) {
      const end = this.#text.indexOf('\n\n');
      if (end < 0) {
        await this.#more();
        continue;
      }
      const block = this.#text.slice(0, end);
      this.#text = this.#text.slice(end + 2);
      if (block.startsWith(':')) continue;
      const field = (name: string) =>
        block
          .split('\n')
          .find((line) => line.startsWith(`${name}: `))
          ?.slice(name.length + 2);
      const id = field('id');
      return {
        ...(id === undefined ? {} : { id }),
        event: field('event') ?? '',
        data: JSON.parse(field('data') ?? '{}'),
      };
    }
  }

  async take(count: number): Promise<Frame[]> {
    const frames: Frame[] = [];
    while (frames.length < count) frames.push(await this.next());
    return frames;
  }

  close(): void {
    this.#abort.abort();
  }
}

async function submit(base: string, capability = 'echo'): Promise<string> {
  const res = await fetch(`${base}/v1/tasks`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ capability }),
  });
  expect(res.status).toBe(202);
  return ((await res.json()) as { id: string }).id;
}

const numberOf = (id: string | undefined) => Number(id?.slice(id.lastIndexOf('-') + 1));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('GET /v1/events: ids and replay', () => {
  it('numbers every event of one server process with ids that increase', async () => {
    const base = await serve();
    const stream = await Stream.open(`${base}/v1/events?topics=task.*`);
    const ids = [await submit(base), await submit(base), await submit(base)];
    const frames = await stream.take(3);
    stream.close();
    expect(frames.map((f) => f.data.taskId)).toEqual(ids);
    const instance = frames[0]?.id?.slice(0, frames[0].id.lastIndexOf('-'));
    expect(instance).toMatch(/^[a-z0-9]+$/);
    for (const frame of frames) expect(frame.id?.startsWith(`${instance}-`)).toBe(true);
    const numbers = frames.map((f) => numberOf(f.id));
    expect(numbers[1]).toBeGreaterThan(numbers[0] as number);
    expect(numbers[2]).toBeGreaterThan(numbers[1] as number);
  });

  it('replays what a reconnecting client missed, in order, then goes live', async () => {
    const base = await serve();
    const url = `${base}/v1/events?topics=task.queued`;
    const first = await Stream.open(url);
    await submit(base);
    const [seen] = await first.take(1);
    first.close();
    const missed = [await submit(base), await submit(base), await submit(base)];
    const again = await Stream.open(url, { 'last-event-id': seen?.id as string });
    const replayed = await again.take(3);
    expect(replayed.map((f) => f.event)).toEqual(['task.queued', 'task.queued', 'task.queued']);
    expect(replayed.map((f) => f.data.taskId)).toEqual(missed);
    const live = await submit(base);
    const [next] = await again.take(1);
    again.close();
    expect(next?.data.taskId).toBe(live);
    expect(numberOf(next?.id)).toBeGreaterThan(numberOf(replayed[2]?.id));
  });

  it("applies the connection's topics to the replay; the query parameter works too", async () => {
    const base = await serve();
    // Another client follows everything, so both topics are recorded meanwhile.
    const all = await Stream.open(`${base}/v1/events`);
    const url = `${base}/v1/events?topics=task.cancelled`;
    const first = await Stream.open(url);
    const cancelled = await submit(base);
    await fetch(`${base}/v1/tasks/${cancelled}/cancel`, { method: 'POST' });
    const [seen] = await first.take(1);
    first.close();
    const queued = await submit(base);
    const other = await submit(base);
    await fetch(`${base}/v1/tasks/${other}/cancel`, { method: 'POST' });
    const lastEventId = encodeURIComponent(seen?.id as string);
    const again = await Stream.open(`${url}&lastEventId=${lastEventId}`);
    const [replayed] = await again.take(1);
    expect(replayed).toMatchObject({ event: 'task.cancelled', data: { taskId: other } });
    // Everything in between was recorded for the other client, but not for this one's topics.
    const seenByAll = (await all.take(5)).map((f) => `${f.event} ${f.data.taskId}`);
    expect(seenByAll).toContain(`task.queued ${queued}`);
    again.close();
    all.close();
  });

  it('says when events older than the buffer are lost, and replays what is left', async () => {
    const base = await serve({ events: { replayEvents: 3 } });
    const url = `${base}/v1/events?topics=task.queued`;
    const first = await Stream.open(url);
    await submit(base);
    const [seen] = await first.take(1);
    first.close();
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push(await submit(base));
    const again = await Stream.open(url, { 'last-event-id': seen?.id as string });
    const [notice, ...rest] = await again.take(4);
    again.close();
    expect(notice?.id).toBeUndefined();
    expect(notice).toMatchObject({
      event: 'switchboard.missed',
      data: { topic: 'switchboard.missed', lastEventId: seen?.id, reason: 'expired' },
    });
    expect(rest.map((f) => f.data.taskId)).toEqual(ids.slice(3));
  });

  it('says so for an id of another server process, and for a gap in the recording', async () => {
    const base = await serve({ events: { replayRetentionMs: 50 } });
    const url = `${base}/v1/events?topics=task.queued`;
    const stranger = await Stream.open(url, { 'last-event-id': 'zzz-12' });
    const [unknown] = await stranger.take(1);
    expect(unknown).toMatchObject({ event: 'switchboard.missed', data: { reason: 'unknown' } });
    const live = await submit(base);
    const [next] = await stranger.take(1);
    expect(next?.data.taskId).toBe(live);
    stranger.close();
    // Past the retention nothing records task.queued: a task queued then is not kept.
    await sleep(300);
    await submit(base);
    const again = await Stream.open(url, { 'last-event-id': next?.id as string });
    const [gap] = await again.take(1);
    expect(gap).toMatchObject({ event: 'switchboard.missed', data: { reason: 'expired' } });
    again.close();
  });
});
