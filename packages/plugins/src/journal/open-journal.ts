import type { MemoryBackend, TaskRecord } from '@switchboard/core';
import { FrameCodec } from './frame.js';
import { logName } from './journal-files.js';
import { endLost } from './journal-ops.js';
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
   * The tasks whose lease died with the previous process, ended as expired leases end (the
   * attempt counts): queued again, or dead when it was their last attempt.
   */
  lost: TaskRecord[];
  /** When recovery ended those leases (this process's clock). */
  now: number;
}

/**
 * Recovers a journal directory into an empty `memory` backend: the records are rebuilt from
 * the files, leased ones end as expired leases do (queued again while attempts remain, else
 * dead; the attempt counts), everything is restored into `memory`, and the log of the
 * newest generation is opened for appending.
 */
export async function openJournal(
  opts: ResolvedJournalOptions,
  codec: FrameCodec,
  memory: MemoryBackend,
): Promise<OpenedJournal> {
  const { fs, dir } = opts;
  const { index, gen, size } = await recoverJournal(opts, codec);
  const now = Date.now();
  const lost = [...index.records.values()].filter((t) => t.status === 'leased');
  for (const t of lost) endLost(index, t, now);
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
    prepareSnapshot: () => pruneEvicted(index, memory),
    // A codec of its own: the snapshot is encoded in the background, between appends.
    snapshot: (next) =>
      encodeSnapshot(
        new FrameCodec(),
        next,
        captureRecords(index.records.values()),
        [...index.agents.values()].map((a) => ({ ...a })),
      ),
  });
  return { index, writer, lost, now };
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
