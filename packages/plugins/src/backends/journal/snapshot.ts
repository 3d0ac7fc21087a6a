import {
  type AgentRecord,
  type ScheduleRecord,
  SwitchboardError,
  type TaskRecord,
} from '@switchboard/core';
import type { FrameCodec } from './frame.js';
import type { RecordIndex } from './record-index.js';

/** The snapshot format; a reader refuses any other. */
export const SNAPSHOT_VERSION = 1;

// Records per frame: big enough that framing costs nothing, small enough that no frame
// comes near the frame size limit with ordinary payloads.
const CHUNK = 512;

/**
 * The state at this instant, for a snapshot: shallow copies of the records, in order. The
 * backend replaces a record's fields and never mutates a payload, result or error in place,
 * so shallow copies stay exact while the snapshot is encoded in the background.
 */
export function captureRecords(records: Iterable<TaskRecord>): TaskRecord[] {
  const out: TaskRecord[] = [];
  for (const t of records) out.push({ ...t });
  return out;
}

/** A lease that is not the process's own: task id, token, remote agent id ('' for none). */
export type HeldEntry = readonly [string, string, string];

/**
 * The frames of a snapshot of `records`, in their order, encoded lazily one chunk at a time:
 * a header, the registered agents, the leases that are not the process's own, the schedules,
 * the records in chunks, and a trailer with the count, so a snapshot cut short is recognised as such.
 */
export function* encodeSnapshot(
  codec: FrameCodec,
  gen: number,
  records: readonly TaskRecord[],
  agents: readonly AgentRecord[] = [],
  held: readonly HeldEntry[] = [],
  schedules: readonly ScheduleRecord[] = [],
): Generator<Uint8Array> {
  yield codec.encode({ op: 'snapshot', version: SNAPSHOT_VERSION, gen, now: Date.now() });
  // The registered remote agents, few: one frame (absent when there are none).
  if (agents.length > 0) yield codec.encode({ op: 'agents', agents });
  // Bounded by the leases out at once (absent when there are none).
  if (held.length > 0) yield codec.encode({ op: 'held', held });
  // The schedules, few: one frame (absent when there are none).
  if (schedules.length > 0) yield codec.encode({ op: 'schedules', schedules });
  for (let i = 0; i < records.length; i += CHUNK) {
    yield codec.encode({ op: 'put', tasks: records.slice(i, i + CHUNK) });
  }
  yield codec.encode({ op: 'end', count: records.length });
}

/**
 * Loads a snapshot file into `index`. A snapshot is written whole and renamed into place,
 * so any defect in it is corruption: it throws `internal` with the file and the offset.
 */
export function readSnapshot(
  codec: FrameCodec,
  bytes: Uint8Array,
  file: string,
  index: RecordIndex,
): void {
  let count = 0;
  let ended = -1;
  let started = false;
  const corrupt = (message: string, offset: number, cause?: unknown) =>
    new SwitchboardError('internal', `[journal] snapshot ${file}: ${message} at offset ${offset}`, {
      details: { file, offset },
      cause,
    });
  const { end, defect } = codec.scan(bytes, (body, offset) => {
    if (!started) {
      if (body.op !== 'snapshot' || body.version !== SNAPSHOT_VERSION) {
        throw corrupt(`unknown header (version ${String(body.version)})`, offset);
      }
      started = true;
      return;
    }
    if (ended >= 0) throw corrupt('frames after the trailer', offset);
    if (body.op === 'agents') {
      for (const a of body.agents as AgentRecord[]) index.agents.set(a.id, a);
    } else if (body.op === 'held') {
      for (const [id, token, agentId] of body.held as HeldEntry[]) {
        index.held.set(id, agentId === '' ? { token } : { token, agentId });
      }
    } else if (body.op === 'schedules') {
      for (const r of body.schedules as ScheduleRecord[]) index.schedules.set(r.id, r);
    } else if (body.op === 'put') {
      for (const t of body.tasks as TaskRecord[]) index.add(t);
      count += (body.tasks as TaskRecord[]).length;
    } else if (body.op === 'end') {
      if (body.count !== count)
        throw corrupt(`trailer counts ${body.count}, found ${count}`, offset);
      ended = offset;
    } else {
      throw corrupt(`unexpected ${body.op} frame`, offset);
    }
  });
  if (defect !== undefined) throw corrupt(defect.reason, defect.offset);
  if (ended < 0) throw corrupt('no trailer (cut short)', end);
}
