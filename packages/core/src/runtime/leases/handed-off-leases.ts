import type { TaskError, TaskRecord } from '../../model/task.js';
import type { BackgroundRoles } from '../cluster/background-error.js';
import { backgroundError } from '../cluster/background-error.js';
import type { Engine } from '../engine.js';
import type { PoolMember } from '../pool/pool-member.js';

/** The roles handed-off leases uses, so that it can be built and tested with just these. */
export type HandedOffRoles = Pick<Engine, 'backend' | 'book' | 'dispatcher' | 'now'> &
  BackgroundRoles;

// Leases the backend knows a remote agent holds (Backend.handOff) but this process's lease
// book does not: handed out by an earlier run of this process (a journal kept them across a
// restart), or by another process of a shared backend that has died; and, on a shared
// backend, the leases a process that died held under its own holder id.

/**
 * Takes a lease the backend kept for the remote `member` into the lease book, as if this
 * process had handed it out: it takes one of the agent's slots, the sweep watches its
 * expiry, and it goes back to the queue when the agent fails or leaves.
 */
export function holdHandedOff(engine: HandedOffRoles, member: PoolMember, task: TaskRecord): void {
  if (task.status !== 'leased' || task.leaseToken === undefined) return;
  if (engine.book.inflight.get(task.id)?.token === task.leaseToken) return;
  member.take(engine.book.add(task, 'remote'), engine.now());
}

/**
 * Puts back to the queue every lease the backend still lists under `holderId`, which has
 * just been claimed here (their attempts counted, as for any failed agent's leases): the
 * leases handed off to a remote agent failed over here, or those of a process that died,
 * taken under its holder id. Leases of this process's book were released by the failure
 * already; these are the ones a process that died handed out or ran. Errors go to
 * `onError`: the leases then expire instead.
 */
export async function releaseHandedOff(
  engine: HandedOffRoles,
  holderId: string,
  error: TaskError,
): Promise<void> {
  const backend = engine.backend;
  if (backend.agentLeases === undefined) return;
  try {
    const held = await backend.agentLeases(holderId);
    if (held.length === 0) return;
    const leases = held.map((t) => ({ id: t.id, leaseToken: t.leaseToken as string }));
    const records = await backend.release(leases, error, engine.now());
    const tokens = new Map(leases.map((l) => [l.id, l.leaseToken]));
    for (const record of records) {
      const entry = engine.book.inflight.get(record.id);
      if (entry !== undefined && entry.token === tokens.get(record.id)) engine.book.detach(entry);
      if (record.status === 'dead') engine.book.dead(record);
    }
    engine.dispatcher.wake();
  } catch (error) {
    backgroundError(engine, error);
  }
}

/** The error the leases of a failed remote agent end with (their attempts count). */
export function agentLost(message: string): TaskError {
  return { message, code: 'agent_failed', retryable: true };
}
