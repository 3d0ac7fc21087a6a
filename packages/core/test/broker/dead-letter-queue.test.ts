import { describe, expect, it, vi } from 'vitest';
import { DeadLetterQueue } from '../../src/broker/dead-letter-queue.js';
import { createMessage, isExpired } from '../../src/broker/message.js';
import type { Message } from '../../src/model/envelope.js';

const msg = (id: string, attempts = 5): Message =>
  createMessage({ id, type: 'task', sender: 's', recipient: 'r', payload: { id }, attempts }, 1000);

describe('createMessage and isExpired', () => {
  it('fills id, normal priority, createdAt and zero attempts; keeps what is given', () => {
    const a = createMessage({ type: 'event', sender: 'me', payload: 1 }, 42);
    const b = createMessage({ type: 'event', sender: 'me', payload: 1 });
    expect(a).toMatchObject({ priority: 'normal', createdAt: 42, attempts: 0, payload: 1 });
    expect(a.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(b.id).not.toBe(a.id);
    expect(
      createMessage({ type: 'task', sender: 'me', payload: 0, priority: 'high', id: 'x' }),
    ).toMatchObject({ id: 'x', priority: 'high' });
  });

  it('expires at createdAt + ttlMs, never without a ttl', () => {
    expect(isExpired({ createdAt: 1000, ttlMs: 500 }, 1499)).toBe(false);
    expect(isExpired({ createdAt: 1000, ttlMs: 500 }, 1500)).toBe(true);
    expect(isExpired({ createdAt: 1000 }, Number.MAX_SAFE_INTEGER)).toBe(false);
  });
});

describe('DeadLetterQueue', () => {
  it('adds, lists oldest first, filters, gets and removes entries', () => {
    const dlq = new DeadLetterQueue({ now: () => 7 });
    dlq.add({ message: msg('a'), reason: 'max_deliveries', error: new Error('x') });
    dlq.add({ message: msg('b'), reason: 'expired', at: 3 });
    dlq.add({ id: 'b@sub', message: msg('b'), reason: 'rejected', source: 'sub' });
    expect(dlq.size).toBe(3);
    expect(dlq.list().map((e) => e.id)).toEqual(['a', 'b', 'b@sub']);
    expect(dlq.list({ reason: 'expired' }).map((e) => [e.id, e.at])).toEqual([['b', 3]]);
    expect(dlq.list({}).length).toBe(3);
    expect(dlq.list((e) => e.source === 'sub').map((e) => e.id)).toEqual(['b@sub']);
    expect(dlq.get('a')).toMatchObject({ reason: 'max_deliveries', at: 7 });
    expect(dlq.remove('a')).toBe(true);
    expect(dlq.remove('a')).toBe(false);
    expect(dlq.get('a')).toBeUndefined();
  });

  it('replays by id or predicate with attempts reset, removing what was replayed', () => {
    const dlq = new DeadLetterQueue();
    for (const id of ['a', 'b', 'c'])
      dlq.add({ message: msg(id), reason: id === 'b' ? 'expired' : 'rejected' });
    const resent: Message[] = [];
    expect(dlq.replay('b', (m) => void resent.push(m))).toBe(1);
    expect(dlq.replay('missing', (m) => void resent.push(m))).toBe(0);
    expect(
      dlq.replay(
        (e) => e.reason === 'rejected',
        (m) => void resent.push(m),
      ),
    ).toBe(2);
    expect(resent.map((m) => [m.id, m.attempts])).toEqual([
      ['b', 0],
      ['a', 0],
      ['c', 0],
    ]);
    expect(dlq.size).toBe(0);
  });

  it('keeps an entry whose resend throws, and reports the error', () => {
    const dlq = new DeadLetterQueue();
    dlq.add({ message: msg('a'), reason: 'undeliverable' });
    expect(() =>
      dlq.replay('a', () => {
        throw new Error('still down');
      }),
    ).toThrow('still down');
    expect(dlq.get('a')?.message.attempts).toBe(5);
  });

  it('purges all or by predicate', () => {
    const dlq = new DeadLetterQueue();
    for (const id of ['a', 'b', 'c'])
      dlq.add({ message: msg(id), reason: id === 'a' ? 'expired' : 'rejected' });
    expect(dlq.purge((e) => e.reason === 'expired')).toBe(1);
    expect(dlq.purge()).toBe(2);
    expect(dlq.size).toBe(0);
  });

  it('evicts the oldest past maxSize, counting and reporting each', () => {
    const onDrop = vi.fn();
    const dlq = new DeadLetterQueue({ maxSize: 2, onDrop });
    for (const id of ['a', 'b', 'c', 'd']) dlq.add({ message: msg(id), reason: 'rejected' });
    expect(dlq.list().map((e) => e.id)).toEqual(['c', 'd']);
    expect(dlq.dropped).toBe(2);
    expect(onDrop.mock.calls.map(([e]) => e.id)).toEqual(['a', 'b']);
    expect(() => new DeadLetterQueue({ maxSize: 0 })).toThrow(/maxSize/);
  });
});
