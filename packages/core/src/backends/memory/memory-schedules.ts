import {
  copySchedule,
  mergeSchedule,
  type ScheduleStore,
  settledSchedule,
} from '../../contracts/schedule-store.js';
import type { ScheduleRecord } from '../../model/schedule.js';

/**
 * The schedules of one process, in a map. Each method runs to its end without awaiting, so a
 * claim is atomic among the callers of this process (the only ones there are). The journal
 * backend keeps one of these and logs each change.
 */
export class MemoryScheduleStore implements ScheduleStore {
  readonly #records = new Map<string, ScheduleRecord>();

  /** The stored records themselves, for a backend that snapshots them (not copies). */
  records(): IterableIterator<ScheduleRecord> {
    return this.#records.values();
  }

  /** Puts `record` as it is, without merging: for a backend replaying what it had stored. */
  restore(record: ScheduleRecord): void {
    this.#records.set(record.id, record);
  }

  async put(record: ScheduleRecord): Promise<void> {
    this.putNow(record);
  }

  /** `put`, synchronously; returns the record as stored. */
  putNow(record: ScheduleRecord): ScheduleRecord {
    const merged = mergeSchedule(this.#records.get(record.id), record);
    this.#records.set(record.id, merged);
    return merged;
  }

  async get(id: string): Promise<ScheduleRecord | undefined> {
    const record = this.#records.get(id);
    return record === undefined ? undefined : copySchedule(record);
  }

  async list(): Promise<ScheduleRecord[]> {
    return [...this.#records.values()].sort(byId).map(copySchedule);
  }

  async delete(id: string): Promise<boolean> {
    return this.#records.delete(id);
  }

  async claimTick(id: string, tickAt: number): Promise<boolean> {
    return this.claimNow(id, tickAt) !== undefined;
  }

  /** `claimTick`, synchronously; returns the record as it now stands, or `undefined`. */
  claimNow(id: string, tickAt: number): ScheduleRecord | undefined {
    const record = this.#records.get(id);
    if (record === undefined || tickAt <= record.lastTickAt) return undefined;
    record.lastTickAt = tickAt;
    return record;
  }

  async settleTick(id: string, tickAt: number, taskId?: string): Promise<void> {
    this.settleNow(id, tickAt, taskId);
  }

  /** `settleTick`, synchronously; returns the changed record, or `undefined` when unchanged. */
  settleNow(id: string, tickAt: number, taskId?: string): ScheduleRecord | undefined {
    const record = this.#records.get(id);
    if (record === undefined) return undefined;
    const next = settledSchedule(record, tickAt, taskId);
    if (next === record) return undefined;
    this.#records.set(id, next);
    return next;
  }
}

function byId(a: ScheduleRecord, b: ScheduleRecord): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}
