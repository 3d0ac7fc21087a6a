import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Delivery } from '../../src/broker/delivery.js';
import { createMessage, type MessageInit } from '../../src/broker/message.js';
import { MessageBroker } from '../../src/broker/message-broker.js';
import type { Message } from '../../src/model/envelope.js';

const task = (init: Partial<MessageInit> = {}): Message =>
  createMessage({ type: 'task', sender: 'test', recipient: 'w', payload: null, ...init });

let broker: MessageBroker;
beforeEach(() => {
  vi.useFakeTimers();
  broker = new MessageBroker({ visibilityTimeoutMs: 1_000, maxDeliveries: 3 });
});
afterEach(() => {
  broker.close();
  vi.useRealTimers();
});

describe('MessageBroker delivery', () => {
  it('delivers by priority then FIFO, never more than prefetch unsettled', () => {
    const held: Delivery[] = [];
    broker.register('w', (d) => void held.push(d), { prefetch: 2 });
    for (const [payload, priority] of [
      ['n1', 'normal'],
      ['n2', 'normal'],
      ['l1', 'low'],
      ['c1', 'critical'],
      ['n3', 'normal'],
      ['h1', 'high'],
    ] as const) {
      broker.send(task({ payload, priority }));
    }
    expect(held.map((d) => d.message.payload)).toEqual(['n1', 'n2']);
    // Each ack frees one slot, which the most urgent, oldest waiting message takes.
    for (let i = 0; i < held.length; i++) held[i]!.ack();
    expect(held.map((d) => d.message.payload)).toEqual(['n1', 'n2', 'c1', 'h1', 'n3', 'l1']);
  });

  it('redelivers an unacknowledged message after its visibility timeout', () => {
    const attempts: number[] = [];
    broker.register('w', (d) => {
      attempts.push(d.message.attempts);
      if (d.message.attempts === 2) d.ack();
    });
    broker.send(task());
    vi.advanceTimersByTime(999);
    expect(attempts).toEqual([1]);
    vi.advanceTimersByTime(1);
    expect(attempts).toEqual([1, 2]);
    vi.advanceTimersByTime(10_000);
    expect(attempts).toEqual([1, 2]);
    expect(broker.stats()).toMatchObject({ delivered: 2, redelivered: 1, acked: 1, nacked: 0 });
  });

  it('times each delivery from its own start, whatever else is in flight', () => {
    const seen: string[] = [];
    broker.register('w', (d) => {
      seen.push(`${d.message.payload}#${d.message.attempts}`);
      if (d.message.payload === 'acked') d.ack();
    });
    broker.send(task({ payload: 'a' }));
    broker.send(task({ payload: 'acked' }));
    vi.advanceTimersByTime(400);
    broker.send(task({ payload: 'b' }));
    vi.advanceTimersByTime(600);
    expect(seen).toEqual(['a#1', 'acked#1', 'b#1', 'a#2']);
    vi.advanceTimersByTime(399);
    expect(seen).toHaveLength(4);
    vi.advanceTimersByTime(1);
    expect(seen).toEqual(['a#1', 'acked#1', 'b#1', 'a#2', 'b#2']);
  });

  it('honours a per-message visibility timeout from options or headers', () => {
    const seen: string[] = [];
    broker.register('w', (d) => void seen.push(`${d.message.payload}#${d.message.attempts}`));
    broker.send(task({ payload: 'opt' }), { visibilityTimeoutMs: 100 });
    broker.send(task({ payload: 'hdr', headers: { 'visibility-timeout-ms': '300' } }));
    vi.advanceTimersByTime(100);
    expect(seen).toEqual(['opt#1', 'hdr#1', 'opt#2']);
    vi.advanceTimersByTime(200);
    expect(seen).toEqual(['opt#1', 'hdr#1', 'opt#2', 'opt#3', 'hdr#2']);
  });

  it('redelivers on nack and on a throwing or rejecting handler, then dead-letters', async () => {
    const behaviours = ['nack', 'throw', 'reject'] as const;
    const seen: number[] = [];
    broker.register('w', async (d) => {
      const how = behaviours[d.message.attempts - 1];
      seen.push(d.message.attempts);
      if (how === 'nack') d.nack({ error: 'first' });
      else if (how === 'throw') throw new Error('second');
      else await Promise.reject(new Error('third'));
    });
    const m = task();
    broker.send(m);
    await vi.waitFor(() => expect(broker.deadLetters.size).toBe(1));
    expect(seen).toEqual([1, 2, 3]);
    const dead = broker.deadLetters.get(m.id)!;
    expect(dead).toMatchObject({ reason: 'max_deliveries', source: 'w', message: { attempts: 3 } });
    expect(dead.error?.message).toBe('third');
    expect(broker.stats()).toMatchObject({ nacked: 3, redelivered: 2, deadLettered: 1, acked: 0 });
  });

  it('dead-letters a message nacked without requeue as rejected, and ignores later settles', () => {
    let held: Delivery | undefined;
    broker.register('w', (d) => {
      held = d;
      expect(d.nack({ requeue: false, error: new Error('poison') })).toBe(true);
    });
    const m = task();
    broker.send(m);
    expect(held!.ack()).toBe(false);
    expect(held!.nack()).toBe(false);
    expect(broker.deadLetters.get(m.id)).toMatchObject({ reason: 'rejected' });
    expect(broker.stats()).toMatchObject({ acked: 0, nacked: 1, delivered: 1 });
  });

  it('dead-letters expired messages on arrival and while waiting, never drops them', () => {
    const got: unknown[] = [];
    let first: Delivery | undefined;
    broker.register(
      'w',
      (d) => {
        got.push(d.message.payload);
        first ??= d;
      },
      { prefetch: 1 },
    );
    const stale = task({ payload: 'stale', ttlMs: 10, createdAt: Date.now() - 10 });
    broker.send(stale);
    expect(broker.publish(task({ topic: 't', ttlMs: 0 }))).toBe(0);
    broker.send(task({ payload: 'blocker' }));
    const waiting = task({ payload: 'waiting', ttlMs: 50 });
    broker.send(waiting);
    vi.advanceTimersByTime(60);
    first!.ack();
    expect(got).toEqual(['blocker']);
    expect(broker.deadLetters.list({ reason: 'expired' }).map((e) => e.message.payload)).toEqual([
      'stale',
      null,
      'waiting',
    ]);
    expect(broker.stats()).toMatchObject({ expired: 3, deadLettered: 3 });
  });

  it('replays a topic copy to its own subscription only, with attempts and ttl restarted', () => {
    const a: number[] = [];
    const b: number[] = [];
    broker.subscribe('job.*', (d) => {
      a.push(d.message.attempts);
      d.ack();
    });
    broker.subscribe('job.*', (d) => {
      b.push(d.message.attempts);
      if (b.length > 1) d.ack();
      else d.nack({ requeue: false });
    });
    const m = createMessage({
      type: 'event',
      sender: 's',
      topic: 'job.run',
      payload: 1,
      ttlMs: 5_000,
    });
    broker.publish(m);
    const [entry] = broker.deadLetters.list();
    expect(entry?.id).toMatch(new RegExp(`^${m.id}@job\\.\\*#`));
    vi.advanceTimersByTime(10_000);
    expect(broker.replay((e) => e.reason === 'rejected')).toBe(1);
    expect(a).toEqual([1]);
    expect(b).toEqual([1, 1]);
    expect(broker.deadLetters.size).toBe(0);
  });

  it('dead-letters what an endpoint held when it unregisters, and replays by address', () => {
    broker.register('w', () => {}, { prefetch: 1 });
    broker.send(task({ payload: 1 }));
    broker.send(task({ payload: 2 }));
    expect(broker.unregister('w')).toBe(true);
    expect(broker.unregister('w')).toBe(false);
    expect(broker.deadLetters.list({ reason: 'undeliverable' }).length).toBe(2);
    const got: unknown[] = [];
    broker.register('w', (d) => {
      got.push(d.message.payload);
      d.ack();
    });
    expect(broker.replay(() => true)).toBe(2);
    expect(got.sort()).toEqual([1, 2]);
    vi.advanceTimersByTime(5_000);
    expect(broker.stats()).toMatchObject({ acked: 2, redelivered: 0 });
  });

  it('takes a synchronous throw as a nack, and keeps the error', () => {
    const seen: number[] = [];
    broker.register('w', (d) => {
      seen.push(d.message.attempts);
      if (d.message.attempts < 3) throw new Error(`attempt ${d.message.attempts}`);
      d.ack();
    });
    broker.send(task());
    expect(seen).toEqual([1, 2, 3]);
    expect(broker.stats()).toMatchObject({ nacked: 2, acked: 1, deadLettered: 0 });
  });

  it('dead-letters a broadcast copy for an endpoint removed during the broadcast', () => {
    const seen: string[] = [];
    broker.register('a', (d) => {
      seen.push('a');
      broker.unregister('b');
      d.ack();
    });
    broker.register('b', () => void seen.push('b'));
    const m = task({ broadcast: true });
    expect(broker.broadcast(m)).toBe(2);
    expect(seen).toEqual(['a']);
    expect(broker.deadLetters.get(`${m.id}@b`)).toMatchObject({ reason: 'undeliverable' });
  });

  it('leaves in the dead-letter queue what has nowhere to go on replay', () => {
    const off = broker.subscribe('news.*', (d) => void d.nack({ requeue: false }));
    const copy = createMessage({ type: 'event', sender: 's', topic: 'news.today', payload: 1 });
    broker.publish(copy);
    off();
    const lost = task({ recipient: 'nobody' });
    expect(() => broker.send(lost)).toThrow(/nobody/);
    const old = createMessage({
      type: 'event',
      sender: 's',
      topic: 'news.old',
      payload: 2,
      ttlMs: 1,
    });
    vi.advanceTimersByTime(1);
    broker.publish(old);
    expect(broker.deadLetters.size).toBe(3);
    const got: unknown[] = [];
    broker.subscribe('news.*', (d) => {
      got.push(d.message.payload);
      d.ack();
    });
    expect(broker.replay(() => true)).toBe(1);
    expect(got).toEqual([2]);
    expect(broker.deadLetters.list().map((e) => e.message.id)).toEqual([copy.id, lost.id]);
  });
});
