import { createMemoryBackend, type MemoryBackend } from '@switchboard/core';
import { backendReopen, createFixture, taskRecords, testBackend } from '@switchboard/testing';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { Backend } from '../../../src/contracts/backend.js';
import {
  createLeaseToken,
  LEASE_TOKEN_LENGTH,
  type TaskRecord,
  TERMINAL_STATUSES,
  toLease,
} from '../../../src/model/index.js';

testBackend('memory', () => createMemoryBackend(), { durable: false });

// The suite's reopen cases, checked against a backend whose state outlives its "close", so
// they are known to be sound before the journal and Redis backends rely on them.
describe('conformance reopen cases over state kept across the reopen', () => {
  const f = createFixture();
  let inner: MemoryBackend;
  const view = (backend: MemoryBackend): Backend =>
    new Proxy(backend, {
      get(target, key) {
        if (key === 'close') return async () => {};
        const value = Reflect.get(target, key, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  beforeEach(() => {
    inner = createMemoryBackend();
    f.backend = view(inner);
    f.reset();
  });
  backendReopen(f, async () => view(inner));
});

const T0 = 1_000;
const rec = taskRecords('m', { payload: null, maxAttempts: 1, timeoutMs: 100 }, T0);

describe('MemoryBackend', () => {
  it('is named memory and not durable, and exports the task helpers', () => {
    const backend = createMemoryBackend();
    expect([backend.name, backend.durable]).toEqual(['memory', false]);
    expect([...TERMINAL_STATUSES].sort()).toEqual(['cancelled', 'completed', 'dead']);
    const t = rec({
      status: 'leased',
      attempts: 2,
      leaseToken: 'tok',
      leaseExpiresAt: 5,
      sessionKey: 's',
    });
    expect(toLease(t)).toEqual({
      id: t.id,
      capability: 'cap',
      payload: null,
      priority: 'normal',
      attempt: 2,
      leaseToken: 'tok',
      leaseExpiresAt: 5,
      sessionKey: 's',
    });
  });

  it('evicts the oldest terminal tasks beyond maxRetained, with their idempotency keys', async () => {
    const backend = createMemoryBackend({ maxRetained: 2 });
    const keyed = [0, 1, 2, 3].map((i) => rec({ idempotencyKey: `k${i}`, priority: 'high' }));
    const waiting = rec({ priority: 'low' });
    await backend.enqueue([...keyed, waiting]);
    const leased = await backend.lease({ capability: 'cap', agentId: 'a', max: 4, now: T0 });
    for (const [i, t] of leased.entries()) await backend.complete(t.id, t.leaseToken!, i, T0 + i);

    expect(await backend.get(keyed[0]!.id)).toBeUndefined();
    expect(await backend.get(keyed[1]!.id)).toBeUndefined();
    expect((await backend.get(keyed[3]!.id))?.result).toBe(3);
    expect(backend.usage()).toMatchObject({ tasks: 3, retained: 2 });
    const [fresh, dup] = await backend.enqueue([
      rec({ idempotencyKey: 'k0' }),
      rec({ idempotencyKey: 'k3' }),
    ]);
    expect([fresh!.created, dup!.created, dup!.task.id]).toEqual([true, false, keyed[3]!.id]);
    expect((await backend.get(waiting.id))?.status).toBe('queued');
  });

  it('evicts terminal tasks older than retainMs, dead letters included, never live ones', async () => {
    const backend = createMemoryBackend({ retainMs: 1000 });
    const [dead, held, queued] = [
      rec(),
      rec({ timeoutMs: 10_000 }),
      rec({ availableAt: T0 + 5000 }),
    ];
    await backend.enqueue([dead, held, queued]);
    const [d, h] = await backend.lease({ capability: 'cap', agentId: 'a', max: 2, now: T0 });
    await backend.fail(
      d!.id,
      d!.leaseToken!,
      { message: 'x' },
      { retry: false, availableAt: T0 },
      T0,
    );
    expect((await backend.deadLetters()).length).toBe(1);
    await backend.expireLeases(T0 + 1001);
    expect(await backend.deadLetters()).toEqual([]);
    expect(await backend.get(dead.id)).toBeUndefined();
    expect((await backend.get(h!.id))?.status).toBe('leased');
    expect((await backend.get(queued.id))?.status).toBe('queued');
  });

  it('keeps retention exact through replays and deleted dead letters', async () => {
    const backend = createMemoryBackend({ maxRetained: 3 });
    const lease = (now: number) => backend.lease({ capability: 'cap', agentId: 'a', max: 1, now });
    const kill = async (now: number) => {
      const [t] = await lease(now);
      await backend.fail(
        t!.id,
        t!.leaseToken!,
        { message: 'x' },
        { retry: false, availableAt: now },
        now,
      );
      return t!;
    };
    // Enough deleted dead letters that their stale retention entries get compacted away.
    await backend.enqueue(Array.from({ length: 1100 }, () => rec()));
    for (let i = 0; i < 1100; i++) await backend.deleteDeadLetter((await kill(T0)).id);
    await backend.enqueue([rec()]);
    const phoenix = await kill(T0 + 1);
    await backend.replay(phoenix.id, T0 + 2);
    await kill(T0 + 2);
    const done: string[] = [];
    await backend.enqueue([rec(), rec(), rec()]);
    for (let i = 0; i < 3; i++) {
      const [t] = await lease(T0 + 3);
      await backend.complete(t!.id, t!.leaseToken!, null, T0 + 3 + i);
      done.push(t!.id);
    }
    expect(backend.usage()).toMatchObject({ tasks: 3, retained: 3 });
    expect(await backend.get(phoenix.id)).toBeUndefined();
    for (const id of done) expect((await backend.get(id))?.status).toBe('completed');
  });

  it('makes 128-bit base64url lease tokens that do not repeat', () => {
    const tokens = Array.from({ length: 20_000 }, () => createLeaseToken());
    expect(new Set(tokens).size).toBe(tokens.length);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    let ones = 0;
    for (const token of tokens) {
      expect(token).toMatch(/^[A-Za-z0-9_-]{21}[AQgw]$/);
      for (const ch of token.slice(0, 21)) {
        const v = alphabet.indexOf(ch);
        for (let b = 0; b < 6; b++) ones += (v >> b) & 1;
      }
    }
    expect(LEASE_TOKEN_LENGTH).toBe(22);
    // 2.52M random bits: a fair source stays well within ±0.5% of half.
    expect(Math.abs(ones / (tokens.length * 126) - 0.5)).toBeLessThan(0.005);
  });

  it('draws lease-token randomness from crypto.getRandomValues in bulk', () => {
    const spy = vi.spyOn(crypto, 'getRandomValues');
    try {
      for (let i = 0; i < 4096; i++) createLeaseToken();
      expect(spy.mock.calls.length).toBeGreaterThanOrEqual(1);
      expect(spy.mock.calls.length).toBeLessThanOrEqual(2);
    } finally {
      spy.mockRestore();
    }
  });

  it('gives memory back once queues drain', async () => {
    const backend = createMemoryBackend({ maxRetained: 100 });
    const priorities = ['critical', 'high', 'normal', 'low'] as const;
    await backend.enqueue(
      Array.from({ length: 20_000 }, (_, i) => rec({ priority: priorities[i % 4] })),
    );
    const full = backend.usage();
    expect(full.queueSlots).toBeGreaterThanOrEqual(20_000);
    const leased = await backend.lease({ capability: 'cap', agentId: 'a', max: 20_000, now: T0 });
    for (const t of leased) await backend.complete(t.id, t.leaseToken!, null, T0);
    const drained = backend.usage();
    expect(drained.tasks).toBe(100);
    expect(drained.queueSlots).toBeLessThanOrEqual(4 * 16);
    expect(drained.heapEntries).toBeLessThan(2048);
    expect(await backend.stats()).toMatchObject({ depth: 0, leased: 0 });
  });

  it('rejects a batch with an unknown priority or a stored id, queueing none of it', async () => {
    const backend = createMemoryBackend();
    const first = rec();
    await backend.enqueue([first]);
    const bad = { ...rec(), priority: 'urgent' } as unknown as TaskRecord;
    await expect(backend.enqueue([rec(), bad])).rejects.toMatchObject({ code: 'invalid_request' });
    // Names an object inherits are no priorities either, through either enqueue path.
    for (const priority of ['toString', 'constructor', '__proto__']) {
      const inherited = { ...rec(), priority } as unknown as TaskRecord;
      await expect(backend.enqueue([inherited])).rejects.toMatchObject({
        code: 'invalid_request',
      });
      await expect(backend.enqueueNew([{ ...inherited }])).rejects.toMatchObject({
        code: 'invalid_request',
      });
    }
    await expect(backend.enqueue([rec(), { ...first }])).rejects.toMatchObject({
      code: 'conflict',
    });
    expect((await backend.stats()).depth).toBe(1);
  });

  it('rejects extend by a non-positive ms and a negative dead-letter limit', async () => {
    const backend = createMemoryBackend();
    await backend.enqueue([rec()]);
    const [t] = await backend.lease({ capability: 'cap', agentId: 'a', max: 1, now: T0 });
    for (const ms of [0, -5, Number.POSITIVE_INFINITY]) {
      await expect(backend.extend(t!.id, t!.leaseToken!, ms, T0)).rejects.toMatchObject({
        code: 'invalid_request',
      });
    }
    await expect(backend.deadLetters(-1)).rejects.toMatchObject({ code: 'invalid_request' });
    expect((await backend.get(t!.id))?.leaseExpiresAt).toBe(T0 + 100);
  });

  it('commits and keeps notifying when a listener throws', async () => {
    const backend = createMemoryBackend();
    const seen: string[] = [];
    backend.onAvailable(() => {
      throw new Error('listener bug');
    });
    backend.onAvailable((c) => seen.push(c));
    const [r] = await backend.enqueue([rec(), rec(), rec({ capability: 'other' })]);
    expect(r!.created).toBe(true);
    expect(seen).toEqual(['cap', 'other']);
  });

  it('fails fast on bad options', () => {
    expect(() => createMemoryBackend({ maxRetained: -1 })).toThrow(/maxRetained/);
    expect(() => createMemoryBackend({ maxRetained: 1.5 })).toThrow(/maxRetained/);
    expect(() => createMemoryBackend({ retainMs: Number.NaN })).toThrow(/retainMs/);
    try {
      createMemoryBackend({ retainMs: -1 });
      expect.unreachable();
    } catch (err) {
      expect(err).toMatchObject({ name: 'SwitchboardError', code: 'invalid_config' });
    }
  });

  it('answers unavailable after close, which is idempotent', async () => {
    const backend = createMemoryBackend();
    await backend.open();
    await backend.open();
    await backend.enqueue([rec()]);
    await backend.close();
    await backend.close();
    const calls: (() => Promise<unknown>)[] = [
      () => backend.open(),
      () => backend.enqueue([rec()]),
      () => backend.lease({ capability: 'cap', agentId: 'a', max: 1, now: T0 }),
      () => backend.complete('x', 't', null, T0),
      () => backend.fail('x', 't', { message: 'x' }, { retry: true, availableAt: T0 }, T0),
      () => backend.extend('x', 't', 10, T0),
      () => backend.release([], { message: 'x' }, T0),
      () => backend.cancel('x', T0),
      () => backend.get('x'),
      () => backend.expireLeases(T0),
      () => backend.readyCapabilities(T0),
      () => backend.nextAvailableAt(),
      () => backend.deadLetters(),
      () => backend.replay('x', T0),
      () => backend.deleteDeadLetter('x'),
      () => backend.stats(),
    ];
    for (const call of calls) await expect(call()).rejects.toMatchObject({ code: 'unavailable' });
    expect(() => backend.onAvailable(() => {})).toThrow(/closed/);
  });

  it('returns the live stored record, the one given to enqueue', async () => {
    const backend = createMemoryBackend();
    const t = rec();
    const [result] = await backend.enqueue([t]);
    expect(result!.task).toBe(t);
    const [leased] = await backend.lease({ capability: 'cap', agentId: 'a', max: 1, now: T0 });
    expect(leased).toBe(t);
    expect(await backend.get(t.id)).toBe(t);
  });
});
