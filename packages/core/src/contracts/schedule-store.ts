import type { ScheduleRecord } from '../model/schedule.js';

/**
 * The schedules a backend keeps (optional {@link Backend.schedules}), and where each one's
 * ticks stand. Every process sharing the backend runs a scheduler over the same records and
 * claims each tick before it fires it: {@link claimTick} is the one operation that must be
 * atomic across processes, so that each tick fires once however many processes watch it.
 * Every implementation passes the schedule cases of `testBackend` in `@switchboard/testing`.
 *
 * Records go in and come out as copies: a caller may keep or change what it gets.
 */
export interface ScheduleStore {
  /**
   * Creates or replaces a schedule. The tick state merges, never goes back: the stored
   * `lastTickAt` and `settledTickAt` become the greater of the stored and the given ones, and
   * `lastFiredAt`/`lastTaskId` stay as stored when the record is not new (a replace does not
   * forget the last run, and a tick claimed meanwhile by another process stays claimed).
   */
  put(record: ScheduleRecord): Promise<void>;
  /** The stored schedule, or `undefined`. */
  get(id: string): Promise<ScheduleRecord | undefined>;
  /** Every stored schedule, by id. */
  list(): Promise<ScheduleRecord[]>;
  /** Deletes a schedule; `true` when it was there. */
  delete(id: string): Promise<boolean>;
  /**
   * Claims the tick at `tickAt`: `true` when the schedule exists and `tickAt` is after its
   * `lastTickAt`, which becomes `tickAt`; else `false` and nothing changes. Atomic: of any
   * number of concurrent claims of one tick (from any process), exactly one is `true`, and
   * once a tick is claimed no earlier tick can be.
   */
  claimTick(id: string, tickAt: number): Promise<boolean>;
  /**
   * Records the outcome of the claimed tick at `tickAt`: `settledTickAt` becomes `tickAt`
   * (if later), and with a `taskId`, `lastFiredAt` and `lastTaskId` become the tick and the
   * task (if the tick is later than `lastFiredAt`). Nothing happens for an unknown id.
   */
  settleTick(id: string, tickAt: number, taskId?: string): Promise<void>;
}

/**
 * `stored` with `next`'s spec put over it as {@link ScheduleStore.put} says: the greater tick
 * state, the last run kept. For stores that merge in the process (memory, journal).
 */
export function mergeSchedule(
  stored: ScheduleRecord | undefined,
  next: ScheduleRecord,
): ScheduleRecord {
  const merged = copySchedule(next);
  if (stored === undefined) return merged;
  merged.lastTickAt = Math.max(stored.lastTickAt, next.lastTickAt);
  merged.settledTickAt = Math.max(stored.settledTickAt, next.settledTickAt);
  delete merged.lastFiredAt;
  delete merged.lastTaskId;
  if (stored.lastFiredAt !== undefined) merged.lastFiredAt = stored.lastFiredAt;
  if (stored.lastTaskId !== undefined) merged.lastTaskId = stored.lastTaskId;
  return merged;
}

/**
 * `record` after {@link ScheduleStore.settleTick}; the same object when nothing changes.
 */
export function settledSchedule(
  record: ScheduleRecord,
  tickAt: number,
  taskId: string | undefined,
): ScheduleRecord {
  const fired = taskId !== undefined && tickAt >= (record.lastFiredAt ?? Number.NEGATIVE_INFINITY);
  if (tickAt <= record.settledTickAt && !fired) return record;
  const next = copySchedule(record);
  next.settledTickAt = Math.max(record.settledTickAt, tickAt);
  if (fired) {
    next.lastFiredAt = tickAt;
    next.lastTaskId = taskId;
  }
  return next;
}

/** A deep enough copy of a schedule: its task and the task's metadata are copied too. */
export function copySchedule(record: ScheduleRecord): ScheduleRecord {
  const task = { ...record.task };
  if (task.metadata !== undefined) task.metadata = { ...task.metadata };
  return { ...record, task };
}
