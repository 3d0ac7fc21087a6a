import type { MemoryBackend, TaskRecord } from '@switchboard/core';
import { endLost, requeueUncounted } from './journal-ops.js';
import type { RecordIndex } from './record-index.js';

/** What became of the leases a previous process (or object) held when its state is reopened. */
export interface SettledLeases {
  /**
   * The tasks whose lease of the process's own handlers died with it, ended as expired
   * leases end (the attempt counts): queued again, or dead when it was their last attempt.
   */
  lost: TaskRecord[];
  /** The tasks leased for a remote agent that none had got: queued again, attempt not counted. */
  requeued: TaskRecord[];
}

/**
 * Decides what becomes of each lease the previous process held. A lease handed off to a
 * remote agent that is still registered stays its lease: the agent, which may have outlived
 * the process, completes it with its token (its heartbeat timeout runs from the restart). A
 * lease taken without a process-only token that no agent had got yet is queued again with its
 * attempt not counted: it never ran. Any other lease was the process's own handlers' (or its
 * agent is gone): it ends as an expired lease does, the attempt counted, so a task whose
 * handler takes the process down on every attempt ends in the dead-letter queue.
 */
export function settleLeases(index: RecordIndex, now: number): SettledLeases {
  const lost: TaskRecord[] = [];
  const requeued: TaskRecord[] = [];
  for (const t of index.records.values()) {
    if (t.status !== 'leased') continue;
    const held = index.heldLease(t.id);
    if (held?.agentId !== undefined && index.agents.has(held.agentId)) continue;
    if (held !== undefined && held.agentId === undefined) requeued.push(t);
    else lost.push(t);
  }
  for (const t of requeued) requeueUncounted(t, t.attempts - 1);
  for (const t of lost) endLost(index, t, now);
  index.pruneHeld();
  return { lost, requeued };
}

/**
 * Drops from `index` the finished records the memory backend evicted (its retention
 * bounds), so that what is stored holds what the backend holds and stays bounded; returns them.
 */
export async function pruneEvicted(
  index: RecordIndex,
  memory: MemoryBackend,
): Promise<TaskRecord[]> {
  const gone: TaskRecord[] = [];
  for (const t of index.records.values()) {
    if (t.status === 'queued' || t.status === 'leased') continue;
    if ((await memory.get(t.id)) !== t) gone.push(t);
  }
  for (const t of gone) index.remove(t);
  return gone;
}
