import { priorityLevel } from '../messaging/priority.js';
import type { PriorityQueue } from '../messaging/priority-queue.js';
import type { TaskRecord } from './task.js';

/**
 * One capability's queue of available tasks in the memory backend. Removal is lazy, as in
 * the heaps: a cancelled task stays in the queue, stale (its status is no longer `queued`),
 * until it surfaces or the queue is compacted; so queueing a task costs no handle and no map
 * entry.
 */
export interface Lane {
  readonly capability: string;
  queue: PriorityQueue<TaskRecord>;
  /** Tasks of the queue that are live (queued); the rest are stale. */
  live: number;
  /** The operation that last scheduled an `onAvailable` call for this lane. */
  mark: number;
}

/**
 * Splits a batch of available tasks by lane, each group in batch order (so FIFO holds), the
 * lanes in the order they first appear: each group then enters its queue with one
 * `pushMany`, which a native queue serves with one crossing.
 */
export function groupByLane(
  ts: readonly TaskRecord[],
  laneOf: (capability: string) => Lane,
): Map<Lane, TaskRecord[]> {
  const groups = new Map<Lane, TaskRecord[]>();
  let lane: Lane | undefined;
  let group: TaskRecord[] = [];
  for (const t of ts) {
    // A batch is nearly always of one capability: the map is looked up only on a change.
    if (t.capability !== lane?.capability) {
      lane = laneOf(t.capability);
      let next = groups.get(lane);
      if (next === undefined) {
        next = [];
        groups.set(lane, next);
      }
      group = next;
    }
    group.push(t);
  }
  return groups;
}

/** The priority levels of `ts`, as a batch crosses into a queue. */
export function levelsOf(ts: readonly TaskRecord[]): Uint8Array {
  const levels = new Uint8Array(ts.length);
  for (let i = 0; i < ts.length; i++) levels[i] = priorityLevel((ts[i] as TaskRecord).priority);
  return levels;
}
