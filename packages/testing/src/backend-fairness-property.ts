import type { Backend, BackendFairness, TaskRecord } from '@switchboard/core';
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { type Fixture, PRIORITY_NAMES, T0 } from './backend-fixture.js';
import { type Dispatch, expectFairShares, NO_KEY } from './fair-share.js';

const TIMEOUT_MS = 200;
// Four keys a run; each run names its own, so that runs on one backend never share a key.
const KEY_COUNT = 4;

type Op =
  | { kind: 'enqueue'; key: number; n: number; level: number; cap: number; delayed: boolean }
  | { kind: 'lease'; cap: number; max: number }
  | { kind: 'complete'; pick: number }
  | { kind: 'fail'; pick: number; backoff: number }
  | { kind: 'release'; pick: number }
  | { kind: 'cancel'; pick: number }
  | { kind: 'tick'; ms: number }
  | { kind: 'set'; key: number; weight: number; cap: number };

/** The policy a run starts with. */
interface Start {
  defaultWeight: number;
  weights: number[];
  /** 0 for no cap. */
  defaultCap: number;
  keyCaps: number[];
  /** The cap of each key in the second capability; 0 for none. */
  capabilityCap: number;
}

interface Model {
  id: string;
  key: string;
  cap: number;
  level: number;
  status: 'queued' | 'leased' | 'done';
  availableAt: number;
  /** When it last became ready, for FIFO within its key: [op, rank]; ties are unordered. */
  entry: [number, number];
  entered: boolean;
  token: string;
  expiresAt: number;
}

const int = (min: number, max: number) => fc.integer({ min, max });
const startArb: fc.Arbitrary<Start> = fc.record({
  defaultWeight: int(1, 3),
  weights: fc.array(int(1, 4), { minLength: KEY_COUNT, maxLength: KEY_COUNT }),
  defaultCap: fc.constantFrom(0, 0, 2, 3),
  keyCaps: fc.array(fc.constantFrom(0, 0, 1, 2), {
    minLength: KEY_COUNT,
    maxLength: KEY_COUNT,
  }),
  capabilityCap: fc.constantFrom(0, 1, 2),
});
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('enqueue' as const),
      key: int(-1, KEY_COUNT - 1),
      n: int(1, 8),
      level: int(0, 1),
      cap: int(0, 1),
      delayed: fc.boolean(),
    }),
  },
  {
    weight: 5,
    arbitrary: fc.record({ kind: fc.constant('lease' as const), cap: int(0, 1), max: int(1, 8) }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('complete' as const), pick: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('fail' as const),
      pick: fc.nat(),
      backoff: int(0, 50),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('release' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('cancel' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('tick' as const), ms: int(1, 150) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('set' as const),
      key: int(0, KEY_COUNT - 1),
      weight: int(1, 4),
      cap: fc.constantFrom(0, 1, 3),
    }),
  },
);

/**
 * The property case of fair dispatch: random arrivals (keyed and not, delayed, at two levels
 * and in two capabilities) under random weights and caps, with leases, completions,
 * failures, releases, cancels, expiries and settings changed at run time. At each lease it
 * checks, against a model of what is ready: no key is leased past a cap; strict priority
 * (nothing ready and leasable at a more urgent level stays behind); FIFO within a key;
 * a lease short of `max` leaves nothing leasable behind; and, at the end, the fair-share
 * bound over every run of leases at one level of one capability (see `expectFairShares`).
 * The runs share the case's backend, each with capabilities and keys of its own (so that a
 * backend in a remote runtime is not left idle while others are made).
 */
export function backendFairnessProperty(f: Fixture, numRuns: number): void {
  it('serves every ready key its weighted share, within caps, under random arrivals', async () => {
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(
        startArb,
        fc.array(opArb, { minLength: 10, maxLength: 50, size: 'max' }),
        (start, ops) => runOps(f.backend, start, ops, `${f.cap}-f${++runs}`),
      ),
      { numRuns },
    );
  }, 180_000);
}

async function runOps(backend: Backend, start: Start, ops: readonly Op[], prefix: string) {
  const fairness = backend.fairness as BackendFairness;
  const caps = [`${prefix}-a`, `${prefix}-b`];
  const KEYS = Array.from({ length: KEY_COUNT }, (_, i) => `${prefix}-k${i}`);
  const weights = new Map(KEYS.map((k, i) => [k, start.weights[i] as number]));
  const keyCaps = new Map<string, number>();
  KEYS.forEach((k, i) => {
    if ((start.keyCaps[i] as number) > 0) keyCaps.set(k, start.keyCaps[i] as number);
  });
  const capabilityCap = start.capabilityCap > 0 ? start.capabilityCap : undefined;
  await fairness.configure({
    defaultWeight: start.defaultWeight,
    weights: new Map(weights),
    ...(start.defaultCap > 0 ? { maxConcurrency: start.defaultCap } : {}),
    maxConcurrencyByKey: new Map(keyCaps),
    maxConcurrencyByCapability: new Map(
      capabilityCap === undefined ? [] : [[caps[1] as string, capabilityCap]],
    ),
  });
  const capOf = (key: string) =>
    keyCaps.get(key) ?? (start.defaultCap > 0 ? start.defaultCap : Number.POSITIVE_INFINITY);

  const tasks = new Map<string, Model>();
  const logs = new Map<string, Dispatch[]>();
  const runsOf = new Map<string, number>();
  // Bumped by a change of weight, which ends every key's run.
  let epoch = 0;
  let weightsNow: ReadonlyMap<string, number> = new Map(weights);
  let now = T0;
  let ids = 0;
  let unique = 0;
  let op = 0;

  const leasedOf = (key: string, cap?: number) => {
    let n = 0;
    for (const m of tasks.values()) {
      if (m.status === 'leased' && m.key === key && (cap === undefined || m.cap === cap)) n++;
    }
    return n;
  };
  const eligible = (key: string, cap: number) =>
    key === NO_KEY ||
    (leasedOf(key) < capOf(key) &&
      (cap === 0 || capabilityCap === undefined || leasedOf(key, cap) < capabilityCap));
  const readyOf = (cap: number, level: number, key: string) =>
    [...tasks.values()].filter(
      (m) =>
        m.status === 'queued' && m.entered && m.cap === cap && m.level === level && m.key === key,
    );
  const allKeys = [NO_KEY, ...KEYS];
  // A key's run at a level of a capability: ready and leasable without a break.
  const observe = () => {
    const seen = new Map<string, string>();
    for (const cap of [0, 1]) {
      for (const level of [0, 1]) {
        for (const key of allKeys) {
          const id = `${cap}/${level}/${key}`;
          const good = eligible(key, cap) && readyOf(cap, level, key).length > 0;
          if (!good) runsOf.set(id, (runsOf.get(id) ?? 0) + 1);
          else seen.set(id, `${epoch}.${runsOf.get(id) ?? 0}`);
        }
      }
    }
    return seen;
  };
  // Makes a task ready at once or at its time: an entry rank keeps FIFO checkable.
  const hold = (m: Model, availableAt: number, rank: number) => {
    m.status = 'queued';
    m.availableAt = availableAt;
    m.entered = availableAt <= now;
    m.entry = [op, rank];
  };
  const promote = () => {
    for (const m of tasks.values()) {
      if (m.status === 'queued' && !m.entered && m.availableAt <= now) {
        m.entered = true;
        m.entry = [op, m.availableAt];
      }
    }
  };
  const expectLeased = async () => {
    for (const key of KEYS) expect(await fairness.leased(key), key).toBe(leasedOf(key));
  };
  const leasedList = () => [...tasks.values()].filter((m) => m.status === 'leased');
  const pick = <T>(list: T[], n: number) => list[n % list.length];

  for (const o of ops) {
    op++;
    switch (o.kind) {
      case 'enqueue': {
        const key = o.key < 0 ? undefined : (KEYS[o.key] as string);
        const records: TaskRecord[] = [];
        for (let i = 0; i < o.n; i++) {
          // Delays are distinct, so tasks becoming ready together have one order.
          const availableAt = o.delayed ? now + 20 + ++unique : now;
          const id = `${prefix}-${++ids}`;
          records.push({
            id,
            capability: caps[o.cap] as string,
            payload: null,
            priority: PRIORITY_NAMES[o.level] as TaskRecord['priority'],
            status: 'queued',
            attempts: 0,
            maxAttempts: 1000,
            timeoutMs: TIMEOUT_MS,
            availableAt,
            createdAt: now,
            updatedAt: now,
            ...(key === undefined ? {} : { fairnessKey: key }),
          });
          const m: Model = {
            id,
            key: key ?? NO_KEY,
            cap: o.cap,
            level: o.level,
            status: 'queued',
            availableAt,
            entry: [0, 0],
            entered: false,
            token: '',
            expiresAt: 0,
          };
          hold(m, availableAt, i);
          tasks.set(id, m);
        }
        await backend.enqueue(records);
        break;
      }
      case 'lease': {
        promote();
        const leased = await backend.lease({
          capability: caps[o.cap] as string,
          agentId: 'p',
          max: o.max,
          now,
        });
        expect(leased.length).toBeLessThanOrEqual(o.max);
        for (const t of leased) {
          const m = tasks.get(t.id) as Model;
          expect(m, `lease of unknown task ${t.id}`).toBeDefined();
          expect(m.status === 'queued' && m.entered && m.cap === o.cap).toBe(true);
          // Caps: the key could lease one more.
          expect(eligible(m.key, m.cap), `${m.key} leased past a cap`).toBe(true);
          // Strict priority: nothing leasable waits at a more urgent level.
          for (let level = 0; level < m.level; level++) {
            for (const key of allKeys) {
              if (eligible(key, o.cap)) expect(readyOf(o.cap, level, key)).toEqual([]);
            }
          }
          // FIFO within its key: nothing of its key and level became ready before it.
          for (const other of readyOf(o.cap, m.level, m.key)) {
            const earlier =
              other.entry[0] < m.entry[0] ||
              (other.entry[0] === m.entry[0] && other.entry[1] < m.entry[1]);
            expect(earlier, `${other.id} of ${m.key} was ready before ${m.id}`).toBe(false);
          }
          const ready = observe();
          const log = logs.get(`${o.cap}/${m.level}`) ?? [];
          logs.set(`${o.cap}/${m.level}`, log);
          const byKey = new Map<string, string>();
          for (const key of allKeys) {
            const run = ready.get(`${o.cap}/${m.level}/${key}`);
            if (run !== undefined) byKey.set(key, run);
          }
          log.push({
            key: m.key,
            ready: byKey,
            weights: weightsNow,
            defaultWeight: start.defaultWeight,
          });
          m.status = 'leased';
          m.token = t.leaseToken as string;
          m.expiresAt = now + TIMEOUT_MS;
        }
        if (leased.length < o.max) {
          // Short of max: nothing leasable is left behind.
          for (const level of [0, 1]) {
            for (const key of allKeys) {
              if (eligible(key, o.cap)) expect(readyOf(o.cap, level, key)).toEqual([]);
            }
          }
        }
        break;
      }
      case 'complete': {
        const m = pick(leasedList(), o.pick);
        if (m === undefined) break;
        await backend.complete(m.id, m.token, null, now);
        m.status = 'done';
        break;
      }
      case 'fail': {
        const m = pick(leasedList(), o.pick);
        if (m === undefined) break;
        const outcome = {
          retry: true,
          availableAt: now + (o.backoff === 0 ? 0 : o.backoff + ++unique),
        };
        await backend.fail(m.id, m.token, { message: 'x' }, outcome, now);
        hold(m, outcome.availableAt, 0);
        break;
      }
      case 'release': {
        const m = pick(leasedList(), o.pick);
        if (m === undefined) break;
        await backend.release([{ id: m.id, leaseToken: m.token }], { message: 'x' }, now);
        hold(m, now, 0);
        break;
      }
      case 'cancel': {
        const live = [...tasks.values()].filter((m) => m.status !== 'done');
        const m = pick(live, o.pick);
        if (m === undefined) break;
        await backend.cancel(m.id, now);
        m.status = 'done';
        break;
      }
      case 'tick': {
        now += o.ms;
        const expired = await backend.expireLeases(now);
        const due = leasedList().filter((m) => m.expiresAt <= now);
        expect(expired.map((t) => t.id).sort()).toEqual(due.map((m) => m.id).sort());
        // Leases that expire together go back in no set order: one rank for them all.
        for (const m of due) hold(m, now, m.expiresAt);
        break;
      }
      case 'set': {
        const key = KEYS[o.key] as string;
        await fairness.setKey(key, {
          weight: o.weight,
          ...(o.cap > 0 ? { maxConcurrency: o.cap } : {}),
        });
        if (weights.get(key) !== o.weight) {
          epoch++;
          weights.set(key, o.weight);
          weightsNow = new Map(weights);
        }
        if (o.cap > 0) keyCaps.set(key, o.cap);
        else keyCaps.delete(key);
        break;
      }
    }
    observe();
    // The counts are read now and then: a remote backend answers each read with a request.
    if (op % 8 === 0) await expectLeased();
  }
  await expectLeased();
  for (const log of logs.values()) expectFairShares(log);
  // The next run starts at T0 on the same backend: nothing of this one may be left to expire.
  for (const m of tasks.values()) {
    if (m.status === 'done') continue;
    await backend.cancel(m.id, now);
    m.status = 'done';
  }
  await expectLeased();
}
