import type { TaskRecord } from '../../model/task.js';

/**
 * An entry of a lane: a task's record, or the id counter of a task kept as columns (see
 * `ColumnStore`), whose record is made when it is leased.
 */
export type LaneItem = TaskRecord | number;

/** How the lanes read their entries (the store answers, as it keeps the columns). */
export interface LaneItems {
  /** The record of a queued entry's task, made if need be; `undefined` for a stale entry. */
  live(item: LaneItem): TaskRecord | undefined;
  /** Whether an entry is queued and is not `leaving`'s, without making a record. */
  queued(item: LaneItem, leaving?: TaskRecord): boolean;
  /** The priority level of a queued entry. */
  level(item: LaneItem): number;
}
