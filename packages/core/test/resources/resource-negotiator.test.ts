import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { SwitchboardError } from '../../src/errors.js';
import { findWaitCycle } from '../../src/resources/resource-deadlock.js';
import type { Lease } from '../../src/resources/resource-lease.js';
import { ResourceNegotiator } from '../../src/resources/resource-negotiator.js';
import { rejection } from '../rejection.js';

/** Follows a promise's outcome without awaiting it. */
function watch(promise: Promise<Lease>) {
  const state: {
    status: 'pending' | 'granted' | 'rejected';
    lease?: Lease;
    error?: SwitchboardError;
  } = {
    status: 'pending',
  };
  promise.then(
    (lease) => Object.assign(state, { status: 'granted', lease }),
    (error: SwitchboardError) => Object.assign(state, { status: 'rejected', error }),
  );
  return state;
}

const flush = () => vi.advanceTimersByTimeAsync(0);

function negotiator(options: ConstructorParameters<typeof ResourceNegotiator>[0] = {}) {
  const r = new ResourceNegotiator(options);
  r.define('browser', { capacity: 1 });
  r.define('llm', { capacity: 2 });
  return r;
}

describe('ResourceNegotiator', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_700_000_000_000 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('grants what is free at once, and release gives slots back once', async () => {
    const r = new ResourceNegotiator();
    r.define('browser', { capacity: 4 });
    const lease = await r.acquire({ browser: 3 }, { timeoutMs: 100 });
    expect(lease.amounts).toEqual({ browser: 3 });
    expect(r.stats().browser).toEqual({
      kind: 'pool',
      capacity: 4,
      available: 1,
      inUse: 3,
      waiting: 0,
    });
    lease.release();
    lease.release();
    expect(lease.released).toBe(true);
    expect(lease.amounts).toEqual({});
    expect(r.stats().browser?.available).toBe(4);
    // Array form, repeated names summed, zero amounts ignored.
    const two = await r.acquire([
      { name: 'browser', amount: 1 },
      { name: 'browser', amount: 1 },
    ]);
    expect(two.amounts).toEqual({ browser: 2 });
    expect((await r.acquire({ browser: 0 })).amounts).toEqual({});
  });

  it('is all or nothing: a waiter holds nothing, and others take what it does not block', async () => {
    const r = new ResourceNegotiator();
    r.define('browser', { capacity: 1 });
    r.define('llm', { capacity: 4 });
    const a = await r.acquire({ browser: 1 });
    const b = watch(r.acquire({ browser: 1, llm: 2 }, { timeoutMs: 10_000 }));
    await flush();
    expect(b.status).toBe('pending');
    expect(r.stats().llm).toMatchObject({ available: 4, inUse: 0, waiting: 1 });
    // C asks only for llm: 2 are left beyond what B waits for.
    const c = await r.acquire({ llm: 2 }, { timeoutMs: 0 });
    expect(c.amounts).toEqual({ llm: 2 });
    a.release();
    await flush();
    expect(b.status).toBe('granted');
    expect(b.lease?.amounts).toEqual({ browser: 1, llm: 2 });
    expect(r.stats().llm).toMatchObject({ available: 0, waiting: 0 });
  });

  it('is FIFO per resource: a large request is not starved by small ones', async () => {
    const r = new ResourceNegotiator();
    r.define('browser', { capacity: 4 });
    const first = await r.acquire({ browser: 3 });
    const big = watch(r.acquire({ browser: 4 }));
    const small = watch(r.acquire({ browser: 1 }));
    await flush();
    // One slot is free, yet the small request waits behind the big one.
    expect([big.status, small.status]).toEqual(['pending', 'pending']);
    first.release();
    await flush();
    expect([big.status, small.status]).toEqual(['granted', 'pending']);
    big.lease?.release();
    await flush();
    expect(small.status).toBe('granted');
  });

  it('lets a request that fits go first when fairness is off', async () => {
    const r = new ResourceNegotiator({ fair: false });
    r.define('browser', { capacity: 4 });
    await r.acquire({ browser: 3 });
    const big = watch(r.acquire({ browser: 4 }));
    const small = await r.acquire({ browser: 1 }, { timeoutMs: 0 });
    expect(small.amounts).toEqual({ browser: 1 });
    expect(big.status).toBe('pending');
  });

  it('times out naming what it waited for, and frees the requests behind it', async () => {
    const r = new ResourceNegotiator();
    r.define('browser', { capacity: 2 });
    r.define('llm', { capacity: 1 });
    await r.acquire({ browser: 1 });
    const blocked = watch(r.acquire({ browser: 2, llm: 1 }, { timeoutMs: 500 }));
    const behind = watch(r.acquire({ llm: 1 }, { timeoutMs: 10_000 }));
    await vi.advanceTimersByTimeAsync(499);
    expect([blocked.status, behind.status]).toEqual(['pending', 'pending']);
    await vi.advanceTimersByTimeAsync(1);
    expect(blocked.status).toBe('rejected');
    expect(blocked.error?.code).toBe('timeout');
    expect(blocked.error?.message).toMatch(
      /after 500 ms waiting for browser \(2 wanted, 1 of 2 free\)/,
    );
    expect(blocked.error?.message).not.toMatch(/llm/);
    expect(behind.status).toBe('granted');
    expect(r.stats().browser).toMatchObject({ inUse: 1, waiting: 0 });
    // timeoutMs 0 does not wait at all, and names a resource blocked only by the queue.
    const queued = watch(r.acquire({ browser: 2 }, { timeoutMs: 10_000 }));
    const err = await rejection(r.acquire({ browser: 1 }, { timeoutMs: 0 }));
    expect(err.message).toMatch(/browser \(1 wanted; queued behind earlier requests\)/);
    expect(queued.status).toBe('pending');
  });

  it('gives up with cancelled when the signal aborts, or was aborted already', async () => {
    const r = negotiator();
    await r.acquire({ browser: 1 });
    const controller = new AbortController();
    const waiting = watch(r.acquire({ browser: 1 }, { signal: controller.signal }));
    await flush();
    controller.abort(new Error('user left'));
    await flush();
    expect(waiting.error?.code).toBe('cancelled');
    expect(waiting.error?.cause).toMatchObject({ message: 'user left' });
    expect(r.stats().browser?.waiting).toBe(0);
    const err = await rejection(r.acquire({ llm: 1 }, { signal: controller.signal }));
    expect(err.code).toBe('cancelled');
    expect(r.stats().llm?.available).toBe(2);
  });

  it('refills a rate quota by time and does not take it back on release', async () => {
    const r = new ResourceNegotiator();
    r.define('llm-tokens', { capacity: 90_000, refillPerMs: 90_000 / 60_000 });
    const spend = await r.acquire({ 'llm-tokens': 90_000 });
    spend.release();
    expect(r.stats()['llm-tokens']).toMatchObject({ kind: 'rate', available: 0, inUse: 90_000 });
    const next = watch(r.acquire({ 'llm-tokens': 30_000 }, { timeoutMs: 60_000 }));
    await vi.advanceTimersByTimeAsync(19_999);
    expect(next.status).toBe('pending');
    await vi.advanceTimersByTimeAsync(1);
    expect(next.status).toBe('granted');
    expect(r.stats()['llm-tokens']?.available).toBe(0);
    await vi.advanceTimersByTimeAsync(600_000);
    // Never more than the capacity, however long it refills.
    expect(r.stats()['llm-tokens']?.available).toBe(90_000);
  });

  it('wakes waiters on release, in the order they came', async () => {
    const r = new ResourceNegotiator();
    r.define('browser', { capacity: 2 });
    const held = await r.acquire({ browser: 2 });
    const order: number[] = [];
    const waiters = [1, 2, 3].map((i) =>
      r.acquire({ browser: 1 }).then((lease) => {
        order.push(i);
        return lease;
      }),
    );
    await flush();
    expect(order).toEqual([]);
    held.release();
    await flush();
    expect(order).toEqual([1, 2]);
    (await waiters[0])?.release();
    await flush();
    expect(order).toEqual([1, 2, 3]);
  });

  describe('deadlocks', () => {
    it('refuses the wait that closes a two-owner cycle, naming it', async () => {
      const r = negotiator();
      r.define('gpu', { capacity: 1 });
      const a = await r.acquire({ browser: 1 }, { owner: 'a' });
      const b = await r.acquire({ gpu: 1 }, { owner: 'b' });
      const aWaits = watch(a.extend({ gpu: 1 }));
      await flush();
      expect(aWaits.status).toBe('pending');
      const err = await rejection(b.extend({ browser: 1 }));
      expect(err.code).toBe('deadlock');
      expect(err.message).toMatch(/^deadlock: b → a → b \(/);
      expect(err.message).toMatch(/b waits for browser held by a; a waits for gpu held by b/);
      expect(err.details).toMatchObject({ cycle: ['b', 'a', 'b'] });
      // The refused request held nothing new; b still has its gpu, and a gets it on release.
      expect(b.amounts).toEqual({ gpu: 1 });
      b.release();
      await flush();
      expect(aWaits.status).toBe('granted');
      expect(a.amounts).toEqual({ browser: 1, gpu: 1 });
    });

    it('finds a three-owner cycle across nested acquires of the same owners', async () => {
      const r = new ResourceNegotiator();
      for (const name of ['r1', 'r2', 'r3']) r.define(name, { capacity: 1 });
      await r.acquire({ r1: 1 }, { owner: 'a' });
      await r.acquire({ r2: 1 }, { owner: 'b' });
      await r.acquire({ r3: 1 }, { owner: 'c' });
      const aWaits = watch(r.acquire({ r2: 1 }, { owner: 'a' }));
      const bWaits = watch(r.acquire({ r3: 1 }, { owner: 'b' }));
      const err = await rejection(r.acquire({ r1: 1 }, { owner: 'c' }));
      expect(err.code).toBe('deadlock');
      expect(err.message).toMatch(/^deadlock: c → a → b → c /);
      expect([aWaits.status, bWaits.status]).toEqual(['pending', 'pending']);
    });

    it('names an owner waiting on itself', async () => {
      const r = negotiator();
      const lease = await r.acquire({ browser: 1 }, { owner: 'crawler' });
      const err = await rejection(lease.extend({ browser: 1 }));
      expect(err.message).toBe(
        'deadlock: crawler → crawler (crawler waits for browser held by crawler)',
      );
    });

    it('sees a cycle made by FIFO order: a holder behind a waiter that waits on it', async () => {
      const r = negotiator();
      const a = await r.acquire({ browser: 1 }, { owner: 'a' });
      const b = watch(r.acquire({ browser: 1, llm: 2 }, { owner: 'b' }));
      const err = await rejection(a.extend({ llm: 1 }));
      expect(err.message).toMatch(
        /a → b → a \(a waits for llm promised first to b; b waits for browser held by a\)/,
      );
      a.release();
      await flush();
      expect(b.status).toBe('granted');
    });

    it('reads a cycle the new waiter only feeds into', () => {
      const pool = { kind: 'pool', capacity: 1, available: 0, fair: true } as const;
      const quotas = new Map([
        ['r1', pool],
        ['r2', pool],
        ['r3', pool],
      ]);
      const one = (name: string) => new Map([[name, 1]]);
      // b and c wait on each other; a waits on them; d, stuck on its own r3, is off the path.
      const cycle = findWaitCycle(
        quotas,
        [
          { owner: 'b', amounts: one('r1') },
          { owner: 'c', amounts: one('r2') },
          { owner: 'd', amounts: one('r3') },
        ],
        [
          { owner: 'd', needs: new Map([['r3', 1]]) },
          { owner: 'b', needs: one('r2') },
          { owner: 'c', needs: one('r1') },
          { owner: 'a', needs: one('r1') },
        ],
        'a',
      );
      expect(cycle?.owners).toEqual(['b', 'c', 'b']);
    });

    it('does not cry deadlock when another holder will release', async () => {
      const r = new ResourceNegotiator();
      r.define('browser', { capacity: 3 });
      const a = await r.acquire({ browser: 1 }, { owner: 'a' });
      const b = await r.acquire({ browser: 1 }, { owner: 'b' });
      const c = await r.acquire({ browser: 1 }, { owner: 'c' });
      const aMore = watch(a.extend({ browser: 1 }));
      const bMore = watch(b.extend({ browser: 1 }));
      await flush();
      expect([aMore.status, bMore.status]).toEqual(['pending', 'pending']);
      c.release();
      await flush();
      expect([aMore.status, bMore.status]).toEqual(['granted', 'pending']);
      a.release();
      await flush();
      expect(bMore.status).toBe('granted');
      expect(b.amounts).toEqual({ browser: 2 });
    });
  });

  describe('bad input and lifecycle', () => {
    it('refuses impossible requests with invalid_request at once', async () => {
      const r = negotiator();
      const unknown = await rejection(r.acquire({ gpu: 1 }));
      expect(unknown.code).toBe('invalid_request');
      expect(unknown.message).toMatch(/unknown resource "gpu" \(defined: browser, llm\)/);
      const tooMuch = await rejection(r.acquire({ browser: 1, llm: 3 }));
      expect(tooMuch.message).toMatch(/3 of llm can never be granted: its capacity is 2/);
      for (const bad of [
        r.acquire({ llm: -1 }),
        r.acquire({ llm: Number.NaN }),
        r.acquire([{ name: '', amount: 1 }]),
        r.acquire([null as never]),
        r.acquire(null as never),
        r.acquire({ llm: 1 }, { timeoutMs: -5 }),
        r.acquire({ llm: 1 }, { owner: '' }),
      ]) {
        expect((await rejection(bad)).code).toBe('invalid_request');
      }
      // Nothing was taken by any of them.
      expect(r.stats().llm).toMatchObject({ available: 2, waiting: 0 });
    });

    it('refuses bad definitions with invalid_config', () => {
      const r = negotiator();
      expect(() => r.define('browser', { capacity: 2 })).toThrow(/already defined/);
      expect(() => r.define('x', { capacity: 0 })).toThrow(/capacity must be a positive number/);
      expect(() => r.define('y', { capacity: 1, refillPerMs: -1 })).toThrow(/refillPerMs/);
      expect(() => r.define('', { capacity: 1 })).toThrow(/name/);
      expect(() => r.define('z', { capacity: 1, fair: 'yes' as never })).toThrow(/fair/);
      expect(() => r.define('w', null as never)).toThrow(/definition/);
      expect(r.has('x')).toBe(false);
      expect(r.has('browser')).toBe(true);
      expect(() => new ResourceNegotiator({ defaultTimeoutMs: -1 })).toThrow(/defaultTimeoutMs/);
    });

    it('cancels a pending extension when its lease is released, and refuses extending after', async () => {
      const r = negotiator();
      const lease = await r.acquire({ llm: 1 });
      await r.acquire({ browser: 1 });
      const more = watch(lease.extend({ browser: 1 }));
      await flush();
      lease.release();
      await flush();
      expect(more.error?.code).toBe('cancelled');
      expect(r.stats().llm?.available).toBe(2);
      expect((await rejection(lease.extend({ llm: 1 }))).code).toBe('conflict');
    });

    it('rejects waiters with unavailable on close, and every later request', async () => {
      const r = negotiator();
      const held = await r.acquire({ browser: 1 });
      const waiting = watch(r.acquire({ browser: 1 }));
      await flush();
      r.close();
      await flush();
      expect(waiting.error?.code).toBe('unavailable');
      expect((await rejection(r.acquire({ llm: 1 }))).code).toBe('unavailable');
      held.release();
      expect(r.stats().browser?.available).toBe(1);
      expect(vi.getTimerCount()).toBe(0);
    });
  });
});
