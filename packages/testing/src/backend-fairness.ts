import type { BackendFairness, FairnessPolicy, TaskRecord } from '@switchboard/core';
import { describe, expect, it, vi } from 'vitest';
import { backendFairnessProperty } from './backend-fairness-property.js';
import { type Fixture, T0 } from './backend-fixture.js';
import { type Dispatch, expectFairShares, NO_KEY } from './fair-share.js';

/** A policy: every key of weight 1 and no cap, but for what `over` sets. */
export function fairnessPolicy(over: Partial<FairnessPolicy> = {}): FairnessPolicy {
  return {
    defaultWeight: 1,
    weights: new Map(),
    maxConcurrencyByKey: new Map(),
    maxConcurrencyByCapability: new Map(),
    ...over,
  };
}

const keyOf = (t: TaskRecord) => t.fairnessKey ?? NO_KEY;

/**
 * The cases of fair dispatch (`Backend.fairness`, docs/fairness.md): shares by weight within
 * a level, strict priority across levels and FIFO within a key, the tasks without a key as
 * one key, caps per key across capabilities and per capability (counted on lease, released
 * by complete, fail, release, expiry and cancel), settings changed at run time, delayed
 * tasks and retries in their key's queue; then the random-sequence property. A backend
 * without fair dispatch skips them with `skip` as the reason; every backend keeps the key.
 */
export function backendFairness(f: Fixture, numRuns: number, skip?: string): void {
  it("keeps a task's fairness key", async () => {
    const t = f.task({ fairnessKey: 'tenant-1' });
    await f.enqueue(t);
    expect((await f.backend.get(t.id))?.fairnessKey).toBe('tenant-1');
    const [leased] = await f.lease(1);
    expect(leased?.fairnessKey).toBe('tenant-1');
  });

  const suite = skip === undefined ? describe : describe.skip;
  suite(skip === undefined ? 'fair dispatch' : `fair dispatch (skipped: ${skip})`, () => {
    const fair = (): BackendFairness => {
      const fairness = f.backend.fairness;
      if (fairness === undefined) {
        throw new Error(
          `${f.backend.name} has no fairness: implement it, or pass skipFairness with the reason`,
        );
      }
      return fairness;
    };
    /**
     * Leases one task at a time until none is left; the log of those leases has every key
     * with tasks left ready, in one run each, as nothing else happens meanwhile.
     */
    const drain = async (tasks: readonly TaskRecord[], weights: Map<string, number>) => {
      const left = new Map<string, number>();
      for (const t of tasks) left.set(keyOf(t), (left.get(keyOf(t)) ?? 0) + 1);
      const log: Dispatch[] = [];
      const order: TaskRecord[] = [];
      for (;;) {
        const ready = new Map<string, string>();
        for (const [key, n] of left) if (n > 0) ready.set(key, 'one run');
        const [t] = await f.lease(1);
        if (t === undefined) return { log, order };
        log.push({ key: keyOf(t), ready, weights, defaultWeight: 1 });
        left.set(keyOf(t), (left.get(keyOf(t)) ?? 0) - 1);
        order.push(t);
      }
    };
    const idsOf = (tasks: readonly TaskRecord[], key: string) =>
      tasks.filter((t) => keyOf(t) === key).map((t) => t.id);

    it('shares one level among keys by weight, FIFO within each key', async () => {
      const weights = new Map([['heavy', 3]]);
      await fair().configure(fairnessPolicy({ weights }));
      const tasks = [
        ...Array.from({ length: 12 }, () => f.task({ fairnessKey: 'heavy' })),
        ...Array.from({ length: 4 }, () => f.task({ fairnessKey: 'light' })),
        ...Array.from({ length: 4 }, () => f.task()),
      ];
      await f.backend.enqueue(tasks);
      const { log, order } = await drain(tasks, weights);
      expect(order).toHaveLength(20);
      expectFairShares(log);
      // First come, first served would have leased no light task among the first 12.
      expect(order.slice(0, 12).filter((t) => keyOf(t) === 'light').length).toBeGreaterThan(0);
      for (const key of ['heavy', 'light', NO_KEY]) {
        expect(idsOf(order, key)).toEqual(idsOf(tasks, key));
      }
    });

    it('keeps strict priority across levels, then shares each level', async () => {
      await fair().configure(fairnessPolicy());
      const low = [f.task({ fairnessKey: 'a', priority: 'low' }), f.task({ priority: 'low' })];
      const high = [
        f.task({ fairnessKey: 'a', priority: 'high' }),
        f.task({ fairnessKey: 'a', priority: 'high' }),
        f.task({ fairnessKey: 'b', priority: 'high' }),
      ];
      await f.backend.enqueue([...low, ...high]);
      const leased = await f.lease(5);
      expect(leased.slice(0, 3).map((t) => t.priority)).toEqual(['high', 'high', 'high']);
      expect(idsOf(leased, 'a').slice(0, 2)).toEqual([high[0]!.id, high[1]!.id]);
      // b is not kept behind both of a's high tasks.
      expect(leased.slice(0, 2).map(keyOf)).toContain('b');
      expect(
        leased
          .slice(3)
          .map((t) => t.id)
          .sort(),
      ).toEqual(low.map((t) => t.id).sort());
    });

    it('treats the tasks without a key as one key, in their order', async () => {
      await fair().configure(fairnessPolicy());
      const plain = Array.from({ length: 4 }, () => f.task());
      await f.backend.enqueue(plain);
      const keyed = Array.from({ length: 4 }, () => f.task({ fairnessKey: 'k' }));
      await f.backend.enqueue(keyed);
      const { log, order } = await drain([...plain, ...keyed], new Map());
      expect(order).toHaveLength(8);
      expectFairShares(log);
      expect(idsOf(order, NO_KEY)).toEqual(plain.map((t) => t.id));
      expect(idsOf(order, 'k')).toEqual(keyed.map((t) => t.id));
    });

    it("caps a key's leases across capabilities, and freed slots come back", async () => {
      await fair().configure(
        fairnessPolicy({ maxConcurrency: 2, maxConcurrencyByKey: new Map([['big', 3]]) }),
      );
      const other = `${f.cap}-other`;
      await f.backend.enqueue([
        ...Array.from({ length: 4 }, () => f.task({ fairnessKey: 'small' })),
        f.task({ fairnessKey: 'small', capability: other }),
        ...Array.from({ length: 5 }, () => f.task({ fairnessKey: 'big' })),
      ]);
      const first = await f.lease(10);
      expect(first.filter((t) => t.fairnessKey === 'small')).toHaveLength(2);
      expect(first.filter((t) => t.fairnessKey === 'big')).toHaveLength(3);
      expect(await fair().leased('small')).toBe(2);
      expect(await fair().leased('big')).toBe(3);
      // The cap holds across capabilities, and a capability whose work is all capped is not ready.
      expect(await f.lease(5, T0, other)).toEqual([]);
      expect(await f.backend.readyCapabilities(T0)).not.toContain(f.cap);

      const seen: string[] = [];
      const off = f.backend.onAvailable((c) => seen.push(c));
      const small = first.filter((t) => t.fairnessKey === 'small');
      await f.backend.complete(small[0]!.id, small[0]!.leaseToken!, null, T0);
      await vi.waitFor(() => expect(seen).toContain(f.cap));
      off();
      expect(await fair().leased('small')).toBe(1);
      const next = await f.lease(5);
      expect(next.map((t) => t.fairnessKey)).toEqual(['small']);

      // Each way a lease ends frees its slot: fail, release, cancel, expiry.
      const big = first.filter((t) => t.fairnessKey === 'big');
      await f.backend.fail(
        big[0]!.id,
        big[0]!.leaseToken!,
        { message: 'x' },
        { retry: false, availableAt: T0 },
        T0,
      );
      expect(await fair().leased('big')).toBe(2);
      await f.backend.release(
        [{ id: big[1]!.id, leaseToken: big[1]!.leaseToken! }],
        { message: 'x' },
        T0,
      );
      expect(await fair().leased('big')).toBe(1);
      await f.backend.cancel(big[2]!.id, T0);
      expect(await fair().leased('big')).toBe(0);
      expect(await f.lease(10, T0 + 1)).toHaveLength(3);
      expect(await fair().leased('big')).toBe(3);
      await f.backend.expireLeases(T0 + 100_000);
      expect(await fair().leased('big')).toBe(0);
      expect(await fair().leased('small')).toBe(0);
    });

    it("caps a key's leases within a capability", async () => {
      const other = `${f.cap}-other`;
      await fair().configure(fairnessPolicy({ maxConcurrencyByCapability: new Map([[f.cap, 1]]) }));
      await f.backend.enqueue([
        f.task({ fairnessKey: 'a' }),
        f.task({ fairnessKey: 'a' }),
        f.task({ fairnessKey: 'b' }),
        f.task({ fairnessKey: 'a', capability: other }),
        f.task({ fairnessKey: 'a', capability: other }),
        f.task(),
        f.task(),
      ]);
      const leased = await f.lease(10);
      // One of each key, and the tasks without a key, which no cap holds back.
      expect(leased.map(keyOf).sort()).toEqual([NO_KEY, NO_KEY, 'a', 'b']);
      expect(await f.lease(10, T0, other)).toHaveLength(2);
    });

    it('applies settings changed at run time from the next lease on', async () => {
      await fair().configure(fairnessPolicy({ maxConcurrency: 1 }));
      await f.backend.enqueue(Array.from({ length: 6 }, () => f.task({ fairnessKey: 'a' })));
      expect(await f.lease(6)).toHaveLength(1);
      await fair().setKey('a', { maxConcurrency: 3 });
      expect(await f.lease(6)).toHaveLength(2);
      await fair().setKey('a', {});
      expect(await f.lease(6)).toEqual([]);
      await f.backend.enqueue(Array.from({ length: 6 }, () => f.task({ fairnessKey: 'b' })));
      await fair().setKey('a', { weight: 2, maxConcurrency: 10 });
      await fair().setKey('b', { maxConcurrency: 10 });
      const keys = (await f.lease(6)).map(keyOf);
      expect(keys.filter((k) => k === 'a')).toHaveLength(3);
      await expect(fair().setKey('a', { weight: 0 })).rejects.toThrow(/weight/);
      await expect(fair().setKey('a', { weigth: 2 } as never)).rejects.toThrow(/weigth/);
    });

    it("puts delayed tasks and retries into their key's queue when they are due", async () => {
      await fair().configure(fairnessPolicy());
      const later = f.task({ fairnessKey: 'a', availableAt: T0 + 100 });
      const first = f.task({ fairnessKey: 'a' });
      await f.backend.enqueue([later, first]);
      const [a1] = await f.lease(5);
      expect(a1?.id).toBe(first.id);
      const retry = { retry: true, availableAt: T0 + 50 };
      await f.backend.fail(a1!.id, a1!.leaseToken!, { message: 'x' }, retry, T0);
      const b = [f.task({ fairnessKey: 'b' }), f.task({ fairnessKey: 'b' })];
      await f.backend.enqueue(b);
      expect((await f.lease(5, T0 + 10)).map((t) => t.id)).toEqual(b.map((t) => t.id));
      // At T0 + 100 the retry (due at T0 + 50) and the delayed task are a's, in that order.
      expect((await f.lease(5, T0 + 100)).map((t) => t.id)).toEqual([a1!.id, later.id]);
    });

    backendFairnessProperty(f, numRuns);
  });
}
