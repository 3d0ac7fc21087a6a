import {
  type AgentRecord,
  type ScheduleRecord,
  SwitchboardError,
  type TaskError,
  type TaskProgress,
  type TaskRecord,
  type TaskStatus,
} from '@switchboard/core';
import type { FrameBody } from './frame.js';
import type { RecordIndex } from './record-index.js';

/**
 * The frames of the log, one per state change. Each sets fields to the values they took
 * (an attempt count, a status), never adds to them, so replaying a frame over a state that
 * already holds it changes nothing: a snapshot taken while a change is between the memory
 * backend and the log is still exact once the log is replayed over it.
 */
export type JournalOp =
  | { op: 'enqueue'; tasks: readonly TaskRecord[]; now: number }
  | {
      op: 'lease';
      ids: string[];
      tokens: string[];
      attempts: number[];
      agentId: string;
      /** Taken without a process-only token: a remote agent may get it (see HeldLease). */
      open?: true;
      now: number;
    }
  /** Leases handed off to the remote agent `agentId`: they outlive the process. */
  | { op: 'handoff'; ids: string[]; tokens: string[]; agentId: string; now: number }
  | { op: 'complete'; ids: string[]; results: unknown[]; now: number }
  | {
      op: 'fail';
      id: string;
      error: TaskError;
      status: TaskStatus;
      availableAt: number;
      now: number;
    }
  | { op: 'extend'; id: string; ms: number; now: number }
  /** A lease holder's report: the lease renewed by `ms`, and its last progress when given. */
  | { op: 'progress'; id: string; ms: number; progress?: TaskProgress; now: number }
  | { op: 'release'; ids: string[]; status: TaskStatus[]; error: TaskError; now: number }
  | { op: 'cancel'; id: string; now: number }
  | { op: 'replay'; id: string; now: number }
  | { op: 'delete'; id: string; now: number }
  /**
   * Leases that ended with the process before any agent got them, requeued at recovery with
   * the attempt not counted (`attempts` is the count before the lease).
   */
  | { op: 'recover'; ids: string[]; attempts: number[]; now: number }
  /** Leases that died with the process, ended at recovery (see {@link endLost}). */
  | { op: 'lost'; ids: string[]; now: number }
  | { op: 'agent'; record: AgentRecord; now: number }
  | { op: 'agent-gone'; id: string; now: number }
  /** A schedule as it now stands (written, a tick claimed or settled), and one deleted. */
  | { op: 'schedule'; record: ScheduleRecord; now: number }
  | { op: 'schedule-gone'; id: string; now: number };

/** The error of a lease that died with its process (the attempt counts, as an expiry's). */
export const LOST_LEASE: TaskError = Object.freeze({
  message: 'lease lost: the process stopped while the task ran',
  code: 'expired',
  retryable: true,
});

/**
 * Ends the lease of `t` that died with its process, at `now`, the reopening process's clock,
 * as an expired lease ends: the attempt it was on counts, so the task is queued again while
 * attempts remain, else it is dead (error {@link LOST_LEASE}). A task that brings its
 * process down on every attempt thus reaches the dead-letter queue instead of running (and
 * crashing) again after each restart. A dead one became terminal then: it is updated at
 * `now` (so `retainMs` keeps it from the restart, not from its lease, however long the
 * process was down) and moves to the end of `index`, where a task that just became terminal
 * goes. A queued one keeps its times and its place, ahead of the tasks queued after it, as
 * when it was leased (the clock its callers pass as `now` need not be this process's: it is
 * available at once by either).
 */
export function endLost(index: RecordIndex, t: TaskRecord, now: number): void {
  const status = t.attempts < t.maxAttempts ? 'queued' : 'dead';
  t.status = status;
  t.error = LOST_LEASE;
  delete t.leaseToken;
  delete t.leaseExpiresAt;
  if (status === 'dead') {
    t.updatedAt = Math.max(t.updatedAt, now);
    index.touch(t);
  }
}

/**
 * Requeues a lease that ended with its process before any agent got it (taken for a remote
 * agent, not yet handed off): its attempt does not count (`attempts` is the count before the
 * lease), and it keeps its place, ahead of the tasks queued after it.
 */
export function requeueUncounted(t: TaskRecord, attempts: number): void {
  t.status = 'queued';
  t.attempts = attempts;
  delete t.leaseToken;
  delete t.leaseExpiresAt;
}

/** Applies one log frame to `index`; a frame that does not fit the state throws. */
export function applyOp(index: RecordIndex, frame: FrameBody): void {
  const body = frame as JournalOp;
  const { now } = body;
  switch (body.op) {
    case 'enqueue':
      for (const t of body.tasks) index.add(t);
      return;
    case 'lease':
      body.ids.forEach((id, i) => {
        const t = find(index, id);
        t.status = 'leased';
        t.attempts = body.attempts[i] as number;
        t.agentId = body.agentId;
        t.leaseToken = body.tokens[i] as string;
        t.leaseExpiresAt = now + t.timeoutMs;
        t.updatedAt = now;
        if (body.open) index.held.set(id, { token: t.leaseToken });
      });
      return;
    case 'handoff':
      body.ids.forEach((id, i) => {
        const t = find(index, id);
        const token = body.tokens[i] as string;
        if (t.status !== 'leased' || t.leaseToken !== token) return;
        t.agentId = body.agentId;
        index.held.set(id, { token, agentId: body.agentId });
      });
      return;
    case 'complete':
      body.ids.forEach((id, i) => {
        const t = find(index, id);
        t.status = 'completed';
        t.result = body.results[i];
        t.updatedAt = now;
        index.touch(t);
      });
      return;
    case 'fail': {
      const t = find(index, body.id);
      t.error = body.error;
      t.updatedAt = now;
      t.status = body.status;
      if (body.status === 'queued') t.availableAt = body.availableAt;
      index.touch(t);
      return;
    }
    case 'extend': {
      const t = find(index, body.id);
      t.leaseExpiresAt = now + body.ms;
      t.updatedAt = now;
      return;
    }
    case 'progress': {
      const t = find(index, body.id);
      t.leaseExpiresAt = now + body.ms;
      t.updatedAt = now;
      if (body.progress !== undefined) t.progress = body.progress;
      return;
    }
    case 'release':
      body.ids.forEach((id, i) => {
        const t = find(index, id);
        t.error = body.error;
        t.updatedAt = now;
        t.status = body.status[i] as TaskStatus;
        if (t.status === 'queued') t.availableAt = now;
        index.touch(t);
      });
      return;
    case 'cancel': {
      const t = find(index, body.id);
      t.status = 'cancelled';
      t.updatedAt = now;
      index.touch(t);
      return;
    }
    case 'replay': {
      const t = find(index, body.id);
      t.status = 'queued';
      t.attempts = 0;
      delete t.error;
      t.availableAt = now;
      t.updatedAt = now;
      index.touch(t);
      return;
    }
    case 'delete': {
      // Absent already when a snapshot taken after the deletion precedes this frame.
      const t = index.get(body.id);
      if (t !== undefined) index.remove(t);
      return;
    }
    case 'recover':
      body.ids.forEach((id, i) => {
        requeueUncounted(find(index, id), body.attempts[i] as number);
      });
      return;
    case 'lost':
      // A record still leased stands as it did at recovery (same attempts): it ends the same.
      for (const id of body.ids) {
        const t = find(index, id);
        if (t.status === 'leased') endLost(index, t, now);
      }
      return;
    case 'agent':
      index.agents.set(body.record.id, body.record);
      return;
    case 'agent-gone':
      index.agents.delete(body.id);
      return;
    case 'schedule':
      index.schedules.set(body.record.id, body.record);
      return;
    case 'schedule-gone':
      index.schedules.delete(body.id);
      return;
    default:
      throw new SwitchboardError('internal', `[journal] unknown frame op ${String(frame.op)}`, {
        details: { op: frame.op },
      });
  }
}

function find(index: RecordIndex, id: string): TaskRecord {
  const t = index.get(id);
  if (t === undefined) {
    throw new SwitchboardError('internal', `[journal] frame refers to unknown task ${id}`, {
      details: { id },
    });
  }
  return t;
}
