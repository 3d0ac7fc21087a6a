import { EventBus } from '@switchboard/core';
import { describe, expect, it } from 'vitest';
import { EventStreams } from '../src/sse.js';

async function readText(res: Response, until: (text: string) => boolean): Promise<string> {
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = '';
  while (!until(text)) {
    const { done, value } = await reader.read();
    if (done) break;
    text += decoder.decode(value);
  }
  reader.releaseLock();
  return text;
}

describe('EventStreams', () => {
  it('streams matching events once each, as event/data frames, without lease tokens', async () => {
    const bus = new EventBus();
    const streams = new EventStreams(bus);
    const res = streams.open(['task.*', 'task.completed']);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    bus.publish('task.completed', { id: 't1', leaseToken: 'secret' });
    bus.publish('agent.failed', { agentId: 'a1' });
    bus.publish('task.queued', { id: 't2' });
    const text = await readText(res, (t) => t.includes('task.queued'));
    expect(text.startsWith(': subscribed\n\n')).toBe(true);
    expect(text.match(/event: task\.completed/g)).toHaveLength(1);
    expect(text).not.toContain('agent.failed');
    expect(text).not.toContain('secret');
    const data = JSON.parse(/data: (.*)/.exec(text)?.[1] ?? '{}');
    expect(data).toMatchObject({ topic: 'task.completed', id: 't1' });
    expect(typeof data.at).toBe('number');
    streams.closeAll();
    expect(bus.size).toBe(0);
  });

  it('drops a client whose buffer is full, and frees its subscription', async () => {
    const bus = new EventBus();
    const streams = new EventStreams(bus, { maxBufferedEvents: 4, replayRetentionMs: 0 });
    const res = streams.open([]);
    for (let i = 0; i < 100; i++) bus.publish(`job.n${i}`, { i });
    expect(streams.dropped).toBe(1);
    expect(streams.clients).toBe(0);
    expect(bus.size).toBe(0);
    const text = await readText(res, () => false);
    expect(text).toContain('event: switchboard.dropped');
    // Bounded: the subscribe comment, a few events and the drop notice, never all 100.
    expect((text.match(/^event: /gm) ?? []).length).toBeLessThanOrEqual(6);
  });

  it('unsubscribes when the client goes away (cancel or abort)', async () => {
    const bus = new EventBus();
    const streams = new EventStreams(bus, { replayRetentionMs: 0 });
    const res = streams.open(['a.b']);
    expect(bus.size).toBe(1);
    await res.body?.cancel();
    expect(bus.size).toBe(0);
    const abort = new AbortController();
    streams.open(['a.b'], abort.signal);
    expect(streams.clients).toBe(1);
    abort.abort();
    expect(streams.clients).toBe(0);
    expect(bus.size).toBe(0);
  });

  it('skips an event JSON cannot carry instead of breaking the stream', async () => {
    const bus = new EventBus();
    const streams = new EventStreams(bus);
    const res = streams.open(['x.*']);
    bus.publish('x.big', { n: 10n });
    bus.publish('x.ok', { n: 1 });
    const text = await readText(res, (t) => t.includes('x.ok'));
    expect(text).not.toContain('x.big');
    streams.closeAll();
  });
});
