import { describe, expect, it, vi } from 'vitest';
import { isSwitchboardError } from '../../src/errors.js';
import { type BusEvent, EventBus } from '../../src/events/event-bus.js';
import { compilePattern } from '../../src/events/topic-pattern.js';

function codeOf(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return isSwitchboardError(err) ? err.code : err;
  }
  return undefined;
}

describe('topic patterns', () => {
  const table: [pattern: string, topic: string, matches: boolean][] = [
    ['task.completed', 'task.completed', true],
    ['task.completed', 'task.failed', false],
    ['task.*', 'task.completed', true],
    ['task.*', 'task', false],
    ['task.*', 'task.a.b', false],
    ['*.failed', 'agent.failed', true],
    ['*', 'task', true],
    ['*', 'task.done', false],
    ['**', 'task', true],
    ['**', 'a.b.c.d', true],
    ['task.**', 'task', true],
    ['task.**', 'task.a.b', true],
    ['task.**', 'taskx.a', false],
    ['agent.**.failed', 'agent.failed', true],
    ['agent.**.failed', 'agent.browser.failed', true],
    ['agent.**.failed', 'agent.a.b.c.failed', true],
    ['agent.**.failed', 'agent.failed.later', false],
    ['**.failed', 'failed', true],
    ['**.failed', 'x.y.failed', true],
    ['a.*.**', 'a', false],
    ['a.*.**', 'a.b', true],
    ['a.*.**', 'a.b.c.d', true],
    ['a+b.(c)', 'a+b.(c)', true],
    ['a+b.(c)', 'aab.c', false],
  ];

  it.each(table)('%s against %s → %s', (pattern, topic, expected) => {
    expect(compilePattern(pattern).matches(topic)).toBe(expected);
    const bus = new EventBus();
    const seen: string[] = [];
    bus.subscribe(pattern, (e) => {
      seen.push(e.topic);
    });
    expect(bus.publish(topic)).toBe(expected ? 1 : 0);
    expect(seen).toEqual(expected ? [topic] : []);
  });

  it('rejects empty segments and wildcards out of place with invalid_request', () => {
    const bus = new EventBus();
    for (const pattern of ['', 'task.', '.task', 'a..b', 'task*', 'ta*sk.done', '***']) {
      expect(codeOf(() => bus.subscribe(pattern, () => {}))).toBe('invalid_request');
    }
    for (const topic of ['', 'task.', 'a..b', 'task.*', 'agent.**']) {
      expect(codeOf(() => bus.publish(topic))).toBe('invalid_request');
    }
    expect(codeOf(() => bus.publish('task.done', 42 as unknown as object))).toBe('invalid_request');
    expect(bus.size).toBe(0);
  });
});

describe('EventBus', () => {
  it('delivers { topic, at, ...data } to matching subscribers in subscription order', () => {
    const bus = new EventBus({ now: () => 1234 });
    const order: string[] = [];
    bus.subscribe('task.*', () => {
      order.push('wild-1');
    });
    bus.subscribe('task.done', (e) => {
      order.push('exact');
      expect(e).toEqual({ topic: 'task.done', at: 1234, taskId: 't1' });
    });
    bus.subscribe('**', () => {
      order.push('wild-2');
    });
    bus.subscribe('agent.*', () => {
      order.push('other');
    });
    expect(bus.publish('task.done', { taskId: 't1', topic: 'forged', at: 0 })).toBe(3);
    expect(order).toEqual(['wild-1', 'exact', 'wild-2']);
  });

  it('delivers only what the filter lets through', () => {
    const bus = new EventBus();
    const seen: unknown[] = [];
    bus.subscribe('task.*', (e) => void seen.push(e.priority), {
      filter: (e) => e.priority === 'critical',
    });
    bus.publish('task.queued', { priority: 'low' });
    bus.publish('task.queued', { priority: 'critical' });
    expect(seen).toEqual(['critical']);
  });

  it('unsubscribes, once, and stops delivery to a subscriber removed mid-publish', () => {
    const bus = new EventBus();
    const seen: string[] = [];
    let offB = () => {};
    bus.subscribe('t', () => {
      seen.push('a');
      offB();
    });
    offB = bus.subscribe('t', () => void seen.push('b'));
    bus.once('t', () => void seen.push('once'), { filter: (e) => e.n === 2 });
    const offD = bus.subscribe('*', () => {
      seen.push('d');
      bus.subscribe('t', () => void seen.push('late'));
    });
    bus.publish('t', { n: 1 });
    expect(seen).toEqual(['a', 'd']);
    offD();
    offD();
    seen.length = 0;
    bus.publish('t', { n: 2 });
    bus.publish('t', { n: 2 });
    expect(seen).toEqual(['a', 'once', 'late', 'a', 'late']);
    expect(bus.size).toBe(2);
    bus.clear();
    expect(bus.publish('t')).toBe(0);
    expect(bus.hasSubscribers('t')).toBe(false);
  });

  it('isolates throwing and rejecting subscribers from the publisher and each other', async () => {
    const onError = vi.fn();
    const bus = new EventBus({ onError });
    const seen: string[] = [];
    bus.subscribe('job.*', () => {
      throw new Error('sync boom');
    });
    bus.subscribe('job.*', async () => {
      throw 'async boom';
    });
    bus.subscribe('job.*', () => void seen.push('ok'), {
      filter: () => {
        throw new Error('filter boom');
      },
    });
    bus.subscribe('job.*', () => void seen.push('last'));
    expect(bus.publish('job.run')).toBe(3);
    await Promise.resolve();
    expect(seen).toEqual(['last']);
    expect(bus.errors).toBe(3);
    const messages = onError.mock.calls.map(([err]) => (err as Error).message);
    expect(messages).toEqual(['sync boom', 'filter boom', 'non-Error value thrown: async boom']);
    expect((onError.mock.calls[0]![1] as BusEvent).topic).toBe('job.run');
    expect(onError.mock.calls[0]![2]).toBe('job.*');
  });

  it('survives an error hook that itself throws', () => {
    const bus = new EventBus({
      onError: () => {
        throw new Error('hook broke');
      },
    });
    const seen: number[] = [];
    bus.subscribe('x', () => {
      throw new Error('boom');
    });
    bus.subscribe('x', () => void seen.push(1));
    expect(() => bus.publish('x')).not.toThrow();
    expect(seen).toEqual([1]);
    expect(bus.errors).toBe(1);
  });

  it('keeps matching right with many subscriptions and many topics (cache bounded)', () => {
    const bus = new EventBus({ cacheSize: 8 });
    const hits = new Map<string, number>();
    for (let i = 0; i < 200; i++) {
      bus.subscribe(
        `agent.a${i}.failed`,
        (e) => void hits.set(e.topic, (hits.get(e.topic) ?? 0) + 1),
      );
    }
    bus.subscribe('agent.**.failed', () => void hits.set('any', (hits.get('any') ?? 0) + 1));
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 50; i++) bus.publish(`agent.a${i}.failed`);
    }
    expect(hits.get('agent.a7.failed')).toBe(3);
    expect(hits.get('any')).toBe(150);
    expect(bus.hasSubscribers('agent.zzz.failed')).toBe(true);
    expect(bus.hasSubscribers('agent.zzz.ok')).toBe(false);
  });
});
