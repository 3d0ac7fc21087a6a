import { createLeaseToken, type TaskRecord } from '@switchboard/core';
import { createJournalBackend, type JournalBackend } from '@switchboard/plugins/journal';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { T0, task, tempDirs } from './helpers.js';

const dirs = tempDirs();
afterAll(() => dirs.cleanup());

type Op =
  | { kind: 'enqueue'; n: number; priority: number; delay: number; key: number | null }
  | { kind: 'lease'; max: number; mode: Mode }
  | { kind: 'complete'; pick: number; many: boolean }
  | { kind: 'fail'; pick: number; retry: boolean }
  | { kind: 'release' | 'extend' | 'cancel' | 'replay' | 'delete'; pick: number }
  | { kind: 'tick'; ms: number }
  | { kind: 'reopen' };

/**
 * Whose lease: the process's own handlers' (a process-only token), one a remote agent could
 * get but none has yet (no token), or one handed off to a registered remote agent.
 */
type Mode = 'own' | 'open' | 'remote';
const AGENT = 'remote-1';

const PRIORITIES = ['critical', 'high', 'normal', 'low'] as const;
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant('enqueue' as const),
    n: fc.integer({ min: 1, max: 3 }),
    priority: fc.integer({ min: 0, max: 3 }),
    delay: fc.constantFrom(0, 0, 50),
    key: fc.option(fc.integer({ min: 0, max: 5 })),
  }),
  fc.record({
    kind: fc.constant('lease' as const),
    max: fc.integer({ min: 1, max: 4 }),
    mode: fc.constantFrom<Mode>('own', 'open', 'remote'),
  }),
  fc.record({ kind: fc.constant('complete' as const), pick: fc.nat(), many: fc.boolean() }),
  fc.record({ kind: fc.constant('fail' as const), pick: fc.nat(), retry: fc.boolean() }),
  fc.record({
    kind: fc.constantFrom('release' as const, 'extend' as const, 'cancel' as const),
    pick: fc.nat(),
  }),
  fc.record({ kind: fc.constantFrom('replay' as const, 'delete' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 1, max: 300 }) }),
  fc.constant({ kind: 'reopen' as const }),
);

const LOST = {
  message: 'lease lost: the process stopped while the task ran',
  code: 'expired',
  retryable: true,
};

/**
 * What a restart must leave of a record: the same, but for leases. One handed off to a
 * registered remote agent is kept as it is. One no agent got is queued again, its attempt
 * not counted. One of the process's own ends as an expired one does (the attempt counts:
 * queued again while attempts remain, else dead, updated at the restart by the process's own
 * clock).
 */
function afterRestart(t: TaskRecord, mode: Mode | undefined): TaskRecord {
  const copy = structuredClone(t);
  if (copy.status !== 'leased' || mode === 'remote') return copy;
  if (mode === 'open') {
    copy.status = 'queued';
    copy.attempts--;
    delete copy.leaseToken;
    delete copy.leaseExpiresAt;
    return copy;
  }
  copy.status = copy.attempts < copy.maxAttempts ? 'queued' : 'dead';
  if (copy.status === 'dead') copy.updatedAt = expect.any(Number) as unknown as number;
  copy.error = LOST;
  delete copy.leaseToken;
  delete copy.leaseExpiresAt;
  return copy;
}

function agentRecord() {
  return {
    id: AGENT,
    name: AGENT,
    role: 'worker' as const,
    version: '1',
    capabilities: [{ name: 'cap', type: 'cap', version: '1' }],
    maxConcurrency: 100,
    metadata: {},
    state: 'ready' as const,
    registeredAt: T0,
    lastHeartbeatAt: T0,
    heartbeatIntervalMs: 1000,
    heartbeatTimeoutMs: 3000,
    owner: 'test',
  };
}

async function run(ops: Op[], compactAfterBytes: number): Promise<void> {
  const dir = dirs.make();
  const open = async () => {
    const b = createJournalBackend({ dir, compactAfterBytes, durability: 'write' });
    await b.open();
    return b;
  };
  let backend: JournalBackend = await open();
  await backend.agents.put(agentRecord());
  const ids: string[] = [];
  /** The mode of each task's latest lease, by its token. */
  const modes = new Map<string, Mode>();
  let now = T0;
  const pick = async (n: number, status: TaskRecord['status']) => {
    const all = (await Promise.all(ids.map((id) => backend.get(id)))).filter(
      (t) => t?.status === status,
    ) as TaskRecord[];
    return all.length === 0 ? undefined : all[n % all.length];
  };
  try {
    for (const op of ops) {
      switch (op.kind) {
        case 'enqueue': {
          const batch = Array.from({ length: op.n }, () =>
            task({
              priority: PRIORITIES[op.priority]!,
              availableAt: now + op.delay,
              createdAt: now,
              updatedAt: now,
              maxAttempts: 2,
              timeoutMs: 100,
              ...(op.key === null ? {} : { idempotencyKey: `k${op.key}` }),
            }),
          );
          for (const r of await backend.enqueue(batch)) if (r.created) ids.push(r.task.id);
          break;
        }
        case 'lease': {
          const request = { capability: 'cap', agentId: 'a', max: op.max, now };
          const token = op.mode === 'own' ? createLeaseToken() : undefined;
          const leased = await backend.lease(token === undefined ? request : { ...request, token });
          for (const t of leased) modes.set(t.leaseToken!, op.mode);
          if (op.mode === 'remote' && leased.length > 0) {
            const leases = leased.map((t) => ({ id: t.id, leaseToken: t.leaseToken! }));
            await backend.handOff(leases, AGENT, now);
            expect((await backend.agentLeases(AGENT)).map((t) => t.id)).toEqual(
              expect.arrayContaining(leases.map((l) => l.id)),
            );
          }
          break;
        }
        case 'complete': {
          const t = await pick(op.pick, 'leased');
          if (!t) break;
          if (op.many)
            await backend.completeMany(
              [{ id: t.id, leaseToken: t.leaseToken!, result: [op.pick] }],
              now,
            );
          else await backend.complete(t.id, t.leaseToken!, { r: op.pick }, now);
          break;
        }
        case 'fail': {
          const t = await pick(op.pick, 'leased');
          const outcome = { retry: op.retry, availableAt: now + 20 };
          if (t) await backend.fail(t.id, t.leaseToken!, { message: `f${op.pick}` }, outcome, now);
          break;
        }
        case 'release': {
          const t = await pick(op.pick, 'leased');
          if (t)
            await backend.release([{ id: t.id, leaseToken: t.leaseToken! }], { message: 'r' }, now);
          break;
        }
        case 'extend': {
          const t = await pick(op.pick, 'leased');
          if (t) await backend.extend(t.id, t.leaseToken!, 200, now);
          break;
        }
        case 'cancel': {
          const t = (await pick(op.pick, 'queued')) ?? (await pick(op.pick, 'leased'));
          if (t) await backend.cancel(t.id, now);
          break;
        }
        case 'replay':
        case 'delete': {
          const t = await pick(op.pick, 'dead');
          if (t && op.kind === 'replay') await backend.replay(t.id, now);
          if (t && op.kind === 'delete') await backend.deleteDeadLetter(t.id);
          break;
        }
        case 'tick':
          now += op.ms;
          await backend.expireLeases(now);
          break;
        case 'reopen': {
          const deadBefore = new Set((await backend.deadLetters()).map((t) => t.id));
          const expected = await Promise.all(
            ids.map(async (id) => {
              const t = await backend.get(id);
              return t && afterRestart(t, modes.get(t.leaseToken ?? ''));
            }),
          );
          // Leases that die with the process on their last attempt join the dead letters,
          // after the others (they just became terminal), in no order the test knows.
          const lostDead = expected.flatMap((t) =>
            t?.status === 'dead' && !deadBefore.has(t.id) ? [t.id] : [],
          );
          await backend.close();
          const reopenedAt = Date.now();
          backend = await open();
          const records = await Promise.all(ids.map((id) => backend.get(id)));
          expect(records).toEqual(expected);
          for (const id of lostDead) {
            expect(records[ids.indexOf(id)]?.updatedAt).toBeGreaterThanOrEqual(reopenedAt);
          }
          const dead = (await backend.deadLetters()).map((t) => t.id);
          expect(dead.slice(0, deadBefore.size)).toEqual([...deadBefore]);
          expect(dead.slice(deadBefore.size).sort()).toEqual(lostDead.sort());
          const stats = await backend.stats();
          const queued = expected.filter((t) => t?.status === 'queued').length;
          const leased = expected.filter((t) => t?.status === 'leased').length;
          expect(stats).toMatchObject({ depth: queued, leased, dead: dead.length });
          // The kept leases are still the remote agent's, and complete with their tokens.
          const kept = expected.filter((t) => t?.status === 'leased') as TaskRecord[];
          const held = await backend.agentLeases(AGENT);
          expect(held.map((t) => t.id).sort()).toEqual(kept.map((t) => t.id).sort());
          break;
        }
      }
    }
  } finally {
    await backend.close();
  }
}

describe('journal replay under random operation sequences', () => {
  it('restores every record exactly (leases given back) at each reopen', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 40 }), (ops) =>
        run([...ops, { kind: 'reopen' }], 64 * 1024 * 1024),
      ),
      { numRuns: 40 },
    );
  }, 60_000);

  it('does the same while compacting every kilobyte', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 20, maxLength: 60 }), (ops) =>
        run([...ops, { kind: 'reopen' }], 1024),
      ),
      { numRuns: 30 },
    );
  }, 60_000);
});
