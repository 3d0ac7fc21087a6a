import {
  copySchedule,
  mergeSchedule,
  type ScheduleRecord,
  type ScheduleStore,
  settledSchedule,
} from '@switchboard/core';
import type { JournalOp } from './journal-ops.js';
import type { RecordIndex } from './record-index.js';

/**
 * The journal's schedule store: each change of a schedule (written, a tick claimed or
 * settled) is a `schedule` frame holding the whole record, and a deletion a `schedule-gone`
 * frame; every snapshot holds the schedules. So a schedule and where its ticks stand survive
 * a restart, and the scheduler catches up on what was missed meanwhile as its policy says.
 * One process owns a journal, so a claim is atomic by running to its end before it awaits
 * the log; it resolves once the frame is durable.
 */
export class JournalScheduleStore implements ScheduleStore {
  readonly #index: () => RecordIndex;
  readonly #log: (op: JournalOp) => Promise<void>;
  readonly #guard: () => void;

  /** `index`: the journal's current index; `log`: appends a frame and resolves once durable. */
  constructor(index: () => RecordIndex, log: (op: JournalOp) => Promise<void>, guard: () => void) {
    this.#index = index;
    this.#log = log;
    this.#guard = guard;
  }

  async put(record: ScheduleRecord): Promise<void> {
    this.#guard();
    const schedules = this.#index().schedules;
    const merged = mergeSchedule(schedules.get(record.id), record);
    schedules.set(merged.id, merged);
    await this.#write(merged);
  }

  async get(id: string): Promise<ScheduleRecord | undefined> {
    this.#guard();
    const record = this.#index().schedules.get(id);
    return record === undefined ? undefined : copySchedule(record);
  }

  async list(): Promise<ScheduleRecord[]> {
    this.#guard();
    const ids = [...this.#index().schedules.keys()].sort();
    return ids.map((id) => copySchedule(this.#index().schedules.get(id) as ScheduleRecord));
  }

  async delete(id: string): Promise<boolean> {
    this.#guard();
    if (!this.#index().schedules.delete(id)) return false;
    await this.#log({ op: 'schedule-gone', id, now: Date.now() });
    return true;
  }

  async claimTick(id: string, tickAt: number): Promise<boolean> {
    this.#guard();
    const schedules = this.#index().schedules;
    const record = schedules.get(id);
    if (record === undefined || tickAt <= record.lastTickAt) return false;
    const claimed = { ...record, lastTickAt: tickAt };
    schedules.set(id, claimed);
    await this.#write(claimed);
    return true;
  }

  async settleTick(id: string, tickAt: number, taskId?: string): Promise<void> {
    this.#guard();
    const schedules = this.#index().schedules;
    const record = schedules.get(id);
    if (record === undefined) return;
    const settled = settledSchedule(record, tickAt, taskId);
    if (settled === record) return;
    schedules.set(id, settled);
    await this.#write(settled);
  }

  // Records are replaced, never changed in place, so the frame may hold the stored one.
  #write(record: ScheduleRecord): Promise<void> {
    return this.#log({ op: 'schedule', record, now: Date.now() });
  }
}
