import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Delivery } from '../../src/broker/delivery.js';
import { createMessage, type MessageInit } from '../../src/broker/message.js';
import { MessageBroker } from '../../src/broker/message-broker.js';
import { isSwitchboardError } from '../../src/errors.js';
import type { Message } from '../../src/model/envelope.js';

const task = (init: Partial<MessageInit> = {}): Message =>
  createMessage({ type: 'task', sender: 'test', payload: null, ...init });

function codeOf(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return isSwitchboardError(err) ? err.code : err;
  }
  return undefined;
}

let broker: MessageBroker;
beforeEach(() => {
  vi.useFakeTimers();
  broker = new MessageBroker();
});
afterEach(() => {
  broker.close();
  vi.useRealTimers();
});

describe('MessageBroker routing', () => {
  it('sends a direct message to its recipient only', () => {
    const got: Record<string, unknown[]> = { a: [], b: [] };
    broker.register('a', (d) => {
      got.a!.push(d.message.payload);
      d.ack();
    });
    broker.register('b', (d) => {
      got.b!.push(d.message.payload);
      d.ack();
    });
    broker.send(task({ recipient: 'a', payload: 'hello' }));
    expect(got).toEqual({ a: ['hello'], b: [] });
    expect(broker.stats()).toMatchObject({ sent: 1, delivered: 1, acked: 1 });
  });

  it('dead-letters a direct message to an unknown recipient and throws no_agent', () => {
    const m = task({ recipient: 'ghost' });
    expect(codeOf(() => broker.send(m))).toBe('no_agent');
    expect(broker.deadLetters.get(m.id)).toMatchObject({ reason: 'undeliverable' });
    broker.register('ghost', (d) => void d.ack());
    expect(broker.replay(m.id)).toBe(1);
    expect(broker.deadLetters.size).toBe(0);
    expect(broker.stats()).toMatchObject({ acked: 1, deadLettered: 1 });
  });

  it('publishes to every matching topic subscription, each with its own copy', () => {
    const seen: string[] = [];
    broker.subscribe('task.*', (d) => {
      seen.push(`one:${d.message.topic}`);
      d.ack();
    });
    const off = broker.subscribe('task.**', (d) => {
      seen.push(`all:${d.message.topic}`);
      d.ack();
    });
    broker.subscribe('agent.*', (d) => {
      seen.push('agent');
      d.ack();
    });
    expect(broker.publish(task({ topic: 'task.done' }))).toBe(2);
    expect(broker.publish(task({ topic: 'task.a.b' }))).toBe(1);
    off();
    expect(broker.publish(task({ topic: 'task.done' }))).toBe(1);
    expect(broker.publish(task({ topic: 'nobody.listens' }))).toBe(0);
    expect(seen).toEqual(['one:task.done', 'all:task.done', 'all:task.a.b', 'one:task.done']);
  });

  it('broadcasts a copy to every endpoint', () => {
    const seen: string[] = [];
    for (const id of ['a', 'b', 'c']) {
      broker.register(id, (d) => {
        seen.push(`${id}:${d.message.payload}`);
        d.ack();
      });
    }
    expect(broker.broadcast(task({ broadcast: true, payload: 'all hands' }))).toBe(3);
    expect(seen).toEqual(['a:all hands', 'b:all hands', 'c:all hands']);
  });

  it('answers a request through delivery.reply, or a correlated message', async () => {
    broker.register('llm', (d) => {
      d.reply({ echo: d.message.payload });
      d.ack();
    });
    await expect(broker.request('llm', 'hi')).resolves.toEqual({ echo: 'hi' });
    let pending: Delivery | undefined;
    broker.register('slow', (d) => {
      pending = d;
    });
    const answer = broker.request('slow', 'q', { sender: 'planner' });
    const req = pending!.message;
    expect(req).toMatchObject({ recipient: 'slow', sender: 'planner', replyTo: 'planner' });
    broker.send(task({ type: 'result', recipient: 'planner', correlationId: req.id, payload: 42 }));
    await expect(answer).resolves.toBe(42);
  });

  it('rejects a request on an error reply, an unknown recipient, a timeout', async () => {
    broker.register('picky', (d) => {
      d.reply({ why: 'no' }, 'error');
      d.ack();
    });
    await expect(broker.request('picky', 1)).rejects.toMatchObject({
      code: 'task_failed',
      details: { why: 'no' },
    });
    await expect(broker.request('nobody', 1)).rejects.toMatchObject({ code: 'no_agent' });
    await expect(broker.request('picky', 1, { timeoutMs: 0 })).rejects.toMatchObject({
      code: 'invalid_request',
    });
    broker.register('mute', (d) => void d.ack());
    const answer = broker.request('mute', 1, { timeoutMs: 500 });
    vi.advanceTimersByTime(499);
    const settled = vi.fn();
    answer.then(settled, settled);
    await Promise.resolve();
    expect(settled).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    await expect(answer).rejects.toMatchObject({ code: 'timeout' });
  });

  it('dead-letters a late reply without failing the replier', async () => {
    let held: Delivery | undefined;
    broker.register('late', (d) => {
      held = d;
    });
    const answer = broker.request('late', 'q', { timeoutMs: 100 });
    vi.advanceTimersByTime(100);
    await expect(answer).rejects.toMatchObject({ code: 'timeout' });
    expect(() => held!.reply('too late')).not.toThrow();
    expect(held!.ack()).toBe(true);
    expect(broker.deadLetters.list({ reason: 'undeliverable' })[0]?.message.payload).toBe(
      'too late',
    );
  });

  it('refuses malformed input with invalid_request, counts it, and keeps delivering', () => {
    const small = new MessageBroker({ maxPayloadBytes: 16 });
    const got: unknown[] = [];
    small.register('a', (d) => {
      got.push(d.message.payload);
      d.ack();
    });
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    const bad: unknown[] = [
      null,
      'text',
      { ...task({ recipient: 'a' }), type: 'gossip' },
      { ...task({ recipient: 'a' }), priority: 'urgent' },
      { ...task({ recipient: 'a' }), id: '' },
      { ...task({ recipient: 'a' }), attempts: -1 },
      { ...task({ recipient: 'a' }), ttlMs: 'soon' },
      { ...task({ recipient: 'a' }), headers: { n: 1 } },
      { ...task({ recipient: 'a' }), headers: ['x'] },
      { ...task({ recipient: 'a' }), sender: undefined },
      { ...task({ recipient: 'a' }), replyTo: '' },
      { ...task({ recipient: 'a' }), broadcast: 'yes' },
      { ...task({ recipient: 'a' }), createdAt: Number.NaN },
      (({ payload: _, ...rest }) => rest)(task({ recipient: 'a' })),
      { ...task({ recipient: 'a' }), headers: { 'visibility-timeout-ms': '-5' } },
      task({ recipient: 'a', payload: 'x'.repeat(100) }),
      task({ recipient: 'a', payload: circular }),
      task({}),
    ];
    for (const value of bad) {
      expect(codeOf(() => small.send(value as Message))).toBe('invalid_request');
      small.send(task({ recipient: 'a', payload: got.length }));
    }
    expect(codeOf(() => small.publish(task({ recipient: 'a' })))).toBe('invalid_request');
    expect(codeOf(() => small.publish(task({ topic: 'task.*' })))).toBe('invalid_request');
    expect(codeOf(() => small.send(task({ recipient: 'a' }), { visibilityTimeoutMs: 0 }))).toBe(
      'invalid_request',
    );
    expect(got).toEqual(bad.map((_, i) => i));
    expect(small.stats()).toMatchObject({
      rejected: bad.length + 3,
      sent: bad.length,
      acked: bad.length,
    });
    small.close();
  });

  it('validates its configuration and endpoint ids', () => {
    expect(codeOf(() => new MessageBroker({ maxDeliveries: 0 }))).toBe('invalid_config');
    expect(codeOf(() => new MessageBroker({ prefetch: 1.5 }))).toBe('invalid_config');
    expect(codeOf(() => new MessageBroker({ maxPayloadBytes: -1 }))).toBe('invalid_config');
    broker.register('a', () => {});
    expect(codeOf(() => broker.register('a', () => {}))).toBe('conflict');
    expect(codeOf(() => broker.register('', () => {}))).toBe('invalid_request');
    expect(codeOf(() => broker.register('b', () => {}, { prefetch: 0 }))).toBe('invalid_config');
  });

  it('closes: pending requests rejected, timers cleared, later calls unavailable', async () => {
    broker.register('a', () => {});
    broker.send(task({ recipient: 'a' }));
    const answer = broker.request('a', 1);
    broker.close();
    await expect(answer).rejects.toMatchObject({ code: 'unavailable' });
    expect(vi.getTimerCount()).toBe(0);
    expect(broker.deadLetters.size).toBe(2);
    expect(codeOf(() => broker.send(task({ recipient: 'a' })))).toBe('unavailable');
    expect(codeOf(() => broker.subscribe('x', () => {}))).toBe('unavailable');
  });
});
