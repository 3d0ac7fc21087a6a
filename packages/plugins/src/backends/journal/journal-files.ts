// The files of a journal directory. Generation `g` has a snapshot (the state when log `g`
// began; generation 0 has none) and a log of the frames after it. A new generation starts
// at each compaction; recovery loads the newest snapshot and replays every log from its
// generation on.
const LOG = /^log-(\d{12})\.sbj$/;
const SNAPSHOT = /^snapshot-(\d{12})\.sbj$/;

/** The snapshot being written; it becomes a snapshot by an atomic rename once fsynced. */
export const SNAPSHOT_TEMP = 'snapshot.tmp';

/** The file name of the log of generation `gen`. */
export function logName(gen: number): string {
  return `log-${String(gen).padStart(12, '0')}.sbj`;
}

/** The file name of the snapshot of generation `gen`. */
export function snapshotName(gen: number): string {
  return `snapshot-${String(gen).padStart(12, '0')}.sbj`;
}

/** The generations of logs and snapshots among `names`, each ascending. */
export function generations(names: readonly string[]): { logs: number[]; snapshots: number[] } {
  const logs: number[] = [];
  const snapshots: number[] = [];
  for (const name of names) {
    const log = LOG.exec(name);
    if (log) logs.push(Number(log[1]));
    const snapshot = SNAPSHOT.exec(name);
    if (snapshot) snapshots.push(Number(snapshot[1]));
  }
  const up = (a: number, b: number) => a - b;
  return { logs: logs.sort(up), snapshots: snapshots.sort(up) };
}
