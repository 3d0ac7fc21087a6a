import type { MemoryBackend, TaskRecord } from '@switchboard/core';
import { FrameCodec } from './frame.js';
import { logName } from './journal-files.js';
import type { ResolvedJournalOptions } from './journal-options.js';
import { LogWriter } from './log-writer.js';
import type { RecordIndex } from './record-index.js';
import { recoverJournal } from './recover.js';
import { restoreInto } from './restore.js';
import { pruneEvicted, settleLeases } from './settle-leases.js';
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
    prepareSnapshot: async () => {
      index.pruneHeld();
      await pruneEvicted(index, memory);
    },
    // A codec of its own: the snapshot is encoded in the background, between appends.
    snapshot: (next) =>
      encodeSnapshot(
        new FrameCodec(),
        next,
        captureRecords(index.records.values()),
        [...index.agents.values()].map((a) => ({ ...a })),
        [...index.held].map(([id, h]) => [id, h.token, h.agentId ?? '']),
        [...index.schedules.values()],
      ),
  });
  return { index, writer, lost, requeued, now };
}
