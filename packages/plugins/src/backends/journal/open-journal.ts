import type { MemoryBackend, TaskRecord } from '@switchboard/core';
import { FrameCodec } from './frame.js';
import { logName } from './journal-files.js';
import { endLost, requeueUncounted } from './journal-ops.js';
import type { ResolvedJournalOptions } from './journal-options.js';
import { LogWriter } from './log-writer.js';
import type { RecordIndex } from './record-index.js';
import { recoverJournal } from './recover.js';
import { restoreInto } from './restore.js';
import { captureRecords, encodeSnapshot } from './snapshot.js';

/** A journal ready to append to, its state loaded into the memory backend. */
export interface OpenedJournal {
  index: RecordIndex;
  writer: LogWriter;
  /**
   * The tasks whose lease of the process's own handlers died with it, ended as expired
   * leases end (the attempt counts): queued again, or dead when it was their last attempt.
   */
  lost: TaskRecord[];
  /** The tasks leased for a remote agent that none had got: queued again, attempt not counted. */
  requeued: TaskRecord[];
  /** When recovery ended those leases (this process's clock). */
  now: number;
}

/**
 * Recovers a journal directory into an empty `memory` backend: the records are rebuilt from
 * the files, leases end as {@link settleLeases} says, everything is restored into `memory`,
 * and the log of the newest generation is opened for appending.
 */
export async function openJournal(
  opts: ResolvedJournalOptions,
  codec: FrameCodec,
  memory: MemoryBackend,
): Promise<OpenedJournal> {
  const { fs, dir } = opts;
  const { index, gen, size } = await recoverJournal(opts, codec);
  const now = Date.now();
  const { lost, requeued } = settleLeases(index, now);
  await restoreInto(memory, index.records.values());
  // Agents could not reach a process that was down: each gets a full heartbeat timeout,
  // from now, to come back before it counts as dead.
  for (const agent of index.agents.values()) agent.lastHeartbeatAt = now;
  await pruneEvicted(index, memory);
  const file = await fs.open(fs.join(dir, logName(gen)));
  const writer = new LogWriter({
    fs,
    dir,
    durability: opts.durability,
    flushIntervalMs: opts.flushIntervalMs,
    compactAfterBytes: opts.compactAfterBytes,
    gen,
    file,
    size,
    prepareSnapshot: () => {
      index.pruneHeld();
      return pruneEvicted(index, memory);
    },
    // A codec of its own: the snapshot is encoded in the background, between appends.
    snapshot: (next) =>
      encodeSnapshot(
        new FrameCodec(),
        next,
        captureRecords(index.records.values()),
        [...index.agents.values()].map((a) => ({ ...a })),
        [...index.held].map(([id, h]) => [id, h.token, h.agentId ?? '']),
      ),
  });
  return { index, writer, lost, requeued, now };
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
function settleLeases(index: RecordIndex, now: number): Pick<OpenedJournal, 'lost' | 'requeued'> {
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
 * bounds), so that snapshots hold what the backend holds and stay bounded.
 */
export async function pruneEvicted(index: RecordIndex, memory: MemoryBackend): Promise<void> {
  const gone: TaskRecord[] = [];
  for (const t of index.records.values()) {
    if (t.status === 'queued' || t.status === 'leased') continue;
    if ((await memory.get(t.id)) !== t) gone.push(t);
  }
  for (const t of gone) index.remove(t);
}
