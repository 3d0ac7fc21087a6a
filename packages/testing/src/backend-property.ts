import type { Backend, TaskRecord, TaskStatus } from '@switchboard/core';
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { type Fixture, PRIORITY_NAMES, T0 } from './backend-fixture.js';
import { rejectsWith } from './rejects-with.js';

const TIMEOUT_MS = 300;

type Op =
  | { kind: 'enqueue'; n: number; level: number; cap: number; delay: number; maxAttempts: number }
  | { kind: 'lease'; cap: number; max: number }
  | { kind: 'complete'; pick: number; stale: boolean }
  | { kind: 'fail'; pick: number; retry: boolean; backoff: number }
  | { kind: 'release'; pick: number }
  | { kind: 'cancel'; pick: number }
  | { kind: 'tick'; ms: number };

/** The reference model of one task: what the backend must say about it. */
interface Model {
  id: string;
  cap: string;
  level: number;
  status: TaskStatus;
  attempts: number;
  maxAttempts: number;
  availableAt: number;
  token: string;
  expiresAt: number;
  completions: number;
}

const int = (min: number, max: number) => fc.integer({ min, max });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('enqueue' as const),
      n: int(1, 4),
      level: int(0, 3),
      cap: int(0, 1),
      delay: fc.constantFrom(0, 0, 80),
      maxAttempts: int(1, 3),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant('lease' as const), cap: int(0, 1), max: int(1, 5) }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('complete' as const),
      pick: fc.nat(),
      stale: fc.boolean(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('fail' as const),
      pick: fc.nat(),
      retry: fc.boolean(),
      backoff: int(0, 100),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('release' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('cancel' as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('tick' as const), ms: int(1, 400) }) },
);

/**
 * The property case of the suite: random sequences of enqueue, lease, complete, fail,
 * release, cancel and time passing (with `expireLeases`), run against the backend and a
 * reference model; after every step each task is in exactly the state the model says, the
 * leased set and its tokens match, and no task was completed twice.
 */
export function backendProperty(
  make: () => Promise<Backend> | Backend,
  f: Fixture,
  numRuns: number,
): void {
  it('never loses or duplicates a task under random operation sequences', async () => {
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 40 }), async (ops) => {
        const backend = await make();
        await backend.open();
        try {
          await runOps(backend, ops, `${f.cap}-p${++runs}`);
        } finally {
          await backend.close();
        }
      }),
      { numRuns },
    );
  }, 120_000);
}

async function runOps(backend: Backend, ops: readonly Op[], prefix: string): Promise<void> {
  const model = new Map<string, Model>();
  const caps = [`${prefix}-a`, `${prefix}-b`];
  let now = T0;
  let ids = 0;
  const inState = (status: TaskStatus) => [...model.values()].filter((m) => m.status === status);
  const pick = (list: Model[], n: number) => list[n % list.length];
  // A lease ended without a result: requeued at once, or dead when out of attempts.
  const endLease = (m: Model) => {
    m.status = m.attempts < m.maxAttempts ? 'queued' : 'dead';
    m.availableAt = now;
  };

  for (const op of ops) {
    switch (op.kind) {
      case 'enqueue': {
        const records: TaskRecord[] = [];
        for (let i = 0; i < op.n; i++) {
          records.push({
            id: `${prefix}-${++ids}`,
            capability: caps[op.cap]!,
            payload: null,
            priority: PRIORITY_NAMES[op.level]!,
            status: 'queued',
            attempts: 0,
            maxAttempts: op.maxAttempts,
            timeoutMs: TIMEOUT_MS,
            availableAt: now + op.delay,
            createdAt: now,
            updatedAt: now,
          });
        }
        const results = await backend.enqueue(records);
        expect(results.every((r) => r.created)).toBe(true);
        for (const r of records) {
          model.set(r.id, {
            id: r.id,
            cap: r.capability,
            level: op.level,
            status: 'queued',
            attempts: 0,
            maxAttempts: op.maxAttempts,
            availableAt: r.availableAt,
            token: '',
            expiresAt: 0,
            completions: 0,
          });
        }
        break;
      }
      case 'lease': {
        const cap = caps[op.cap]!;
        const leased = await backend.lease({ capability: cap, agentId: 'p', max: op.max, now });
        const available = inState('queued').filter((m) => m.cap === cap && m.availableAt <= now);
        expect(leased).toHaveLength(Math.min(op.max, available.length));
        const ids = new Set(leased.map((t) => t.id));
        expect(ids.size).toBe(leased.length);
        const left = available.filter((m) => !ids.has(m.id));
        for (const t of leased) {
          const m = model.get(t.id);
          expect(m?.status === 'queued' && m.cap === cap && m.availableAt <= now).toBe(true);
          // Strict priority: nothing more urgent stays behind.
          for (const other of left) expect(other.level).toBeGreaterThanOrEqual(m!.level);
          m!.status = 'leased';
          m!.attempts++;
          m!.token = t.leaseToken!;
          m!.expiresAt = now + TIMEOUT_MS;
          expect(t).toMatchObject({ attempts: m!.attempts, leaseExpiresAt: m!.expiresAt });
        }
        break;
      }
      case 'complete': {
        const leased = inState('leased');
        if (op.stale || leased.length === 0) {
          const any = pick([...model.values()], op.pick);
          if (any)
            await rejectsWith(
              backend.complete(any.id, 'stale-0000000000000000', 1, now),
              'conflict',
            );
          break;
        }
        const m = pick(leased, op.pick)!;
        expect(await backend.complete(m.id, m.token, m.id, now)).toMatchObject({
          status: 'completed',
        });
        m.status = 'completed';
        m.completions++;
        break;
      }
      case 'fail': {
        const m = pick(inState('leased'), op.pick);
        if (!m) break;
        const outcome = { retry: op.retry, availableAt: now + op.backoff };
        const t = await backend.fail(m.id, m.token, { message: 'x' }, outcome, now);
        m.status = op.retry && m.attempts < m.maxAttempts ? 'queued' : 'dead';
        m.availableAt = outcome.availableAt;
        expect(t.status).toBe(m.status);
        break;
      }
      case 'release': {
        const m = pick(inState('leased'), op.pick);
        if (!m) break;
        const released = await backend.release(
          [{ id: m.id, leaseToken: m.token }],
          { message: 'x' },
          now,
        );
        endLease(m);
        expect(released.map((t) => [t.id, t.status])).toEqual([[m.id, m.status]]);
        break;
      }
      case 'cancel': {
        const m = pick([...model.values()], op.pick);
        if (!m) break;
        if (m.status !== 'queued' && m.status !== 'leased') {
          await rejectsWith(backend.cancel(m.id, now), 'conflict');
          break;
        }
        await backend.cancel(m.id, now);
        m.status = 'cancelled';
        break;
      }
      case 'tick': {
        now += op.ms;
        const expired = await backend.expireLeases(now);
        const due = inState('leased').filter((m) => m.expiresAt <= now);
        expect(expired.map((t) => t.id).sort()).toEqual(due.map((m) => m.id).sort());
        for (const m of due) endLease(m);
        break;
      }
    }
    await checkModel(backend, model);
  }
}

/** Every task is in exactly the state of the model, and the figures agree. */
async function checkModel(backend: Backend, model: Map<string, Model>): Promise<void> {
  const counts = { queued: 0, leased: 0, dead: 0 } as Record<TaskStatus, number>;
  const byLevel = [0, 0, 0, 0];
  for (const m of model.values()) {
    const t = await backend.get(m.id);
    expect({ id: t?.id, status: t?.status, attempts: t?.attempts }).toEqual({
      id: m.id,
      status: m.status,
      attempts: m.attempts,
    });
    if (m.status === 'leased') expect(t?.leaseToken).toBe(m.token);
    expect(m.completions).toBeLessThanOrEqual(1);
    counts[m.status] = (counts[m.status] ?? 0) + 1;
    if (m.status === 'queued') byLevel[m.level]!++;
  }
  const stats = await backend.stats();
  expect(stats).toMatchObject({ depth: counts.queued, leased: counts.leased, dead: counts.dead });
  expect(PRIORITY_NAMES.map((p) => stats.byPriority[p])).toEqual(byLevel);
}
