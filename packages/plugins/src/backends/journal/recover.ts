import { isSwitchboardError, SwitchboardError } from '@switchboard/core';
import type { FrameCodec } from './frame.js';
import { generations, logName, SNAPSHOT_TEMP, snapshotName } from './journal-files.js';
import { applyOp } from './journal-ops.js';
import type { ResolvedJournalOptions } from './journal-options.js';
import { RecordIndex } from './record-index.js';
import { readSnapshot } from './snapshot.js';

/** What recovery rebuilt: the records, and the log to append to next. */
export interface Recovered {
  index: RecordIndex;
  /** The generation of the log to append to. */
  gen: number;
  /** The size of that log once any torn tail was cut off. */
  size: number;
}

/**
 * Rebuilds the state of a journal directory: the newest snapshot, then every log from its
 * generation on, frame by frame. A torn tail of the last log (a partial frame, a checksum
 * that fails, with no valid frame after it) is the trace of a crash mid-write: it is cut off
 * and reported to `onWarning`. Any other defect is corruption: `open()` fails with
 * `internal` and `details: { file, offset, resumesAt }`, unless `repair: 'truncate'` accepts
 * losing everything from the defect on. Files a finished compaction superseded are deleted.
 */
export async function recoverJournal(
  opts: ResolvedJournalOptions,
  codec: FrameCodec,
): Promise<Recovered> {
  const { fs, dir } = opts;
  await fs.mkdir(dir);
  const names = await fs.list(dir);
  if (names.includes(SNAPSHOT_TEMP)) await fs.remove(fs.join(dir, SNAPSHOT_TEMP));
  const { logs, snapshots } = generations(names);
  const base = snapshots.at(-1) ?? 0;
  const index = new RecordIndex();
  if (snapshots.length > 0) {
    const file = fs.join(dir, snapshotName(base));
    readSnapshot(codec, await fs.read(file), file, index);
  }
  // Left behind when a crash came between a compaction's rename and its clean-up.
  for (const gen of snapshots) if (gen < base) await fs.remove(fs.join(dir, snapshotName(gen)));
  for (const gen of logs) if (gen < base) await fs.remove(fs.join(dir, logName(gen)));

  const replay = logs.filter((gen) => gen >= base);
  let last = { gen: base, size: 0 };
  for (let i = 0; i < replay.length; i++) {
    const gen = replay[i] as number;
    const file = fs.join(dir, logName(gen));
    const bytes = await fs.read(file);
    const { end, defect } = codec.scan(bytes, (body, offset) => {
      try {
        applyOp(index, body);
      } catch (err) {
        const message = isSwitchboardError(err) ? err.message : String(err);
        throw new SwitchboardError('internal', `${message} (${file} at offset ${offset})`, {
          details: { file, offset },
          cause: err,
        });
      }
    });
    last = { gen, size: end };
    if (defect === undefined) continue;
    const lost = bytes.length - end;
    const tail = i === replay.length - 1 && defect.resumesAt === undefined;
    if (!tail && opts.repair !== 'truncate') {
      const where = defect.resumesAt === undefined ? 'a later log' : `offset ${defect.resumesAt}`;
      throw new SwitchboardError(
        'internal',
        `[journal] corrupted frame (${defect.reason}) at offset ${defect.offset} of ${file}; ` +
          `valid frames follow at ${where}. Restore a backup, or open with ` +
          `repair: 'truncate' to drop everything from offset ${defect.offset} on`,
        { details: { file, offset: defect.offset, reason: defect.reason, ...resumes(defect) } },
      );
    }
    await fs.truncate(file, end);
    if (tail) {
      opts.onWarning({
        code: 'torn_tail',
        message: `torn tail (${defect.reason}) of ${file} at offset ${end}: cut ${lost} bytes`,
        file,
        offset: end,
        bytes: lost,
      });
      break;
    }
    const dropped = replay.slice(i + 1);
    for (const later of dropped) await fs.remove(fs.join(dir, logName(later)));
    opts.onWarning({
      code: 'repaired',
      message:
        `repair: cut ${file} at offset ${end} (${defect.reason}), ${lost} bytes` +
        (dropped.length > 0 ? ` and ${dropped.length} later log(s)` : ''),
      file,
      offset: end,
      bytes: lost,
    });
    break;
  }
  return { index, gen: last.gen, size: last.size };
}

function resumes(defect: { resumesAt?: number }): { resumesAt?: number } {
  return defect.resumesAt === undefined ? {} : { resumesAt: defect.resumesAt };
}
