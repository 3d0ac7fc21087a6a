import type { PriorityLevel } from '../model/priority.js';

/**
 * An opaque handle to a queued item, returned by `push`, used to `remove` it (cancellation).
 * A handle is a non-negative integer below 2^53, so a batch of them fits a `Float64Array`.
 */
export type QueueHandle = number;

/**
 * A priority queue: strict priority across levels (0 first), FIFO within one level.
 *
 * The batched methods take and return typed arrays so that an implementation in native
 * code (`@switchboard/native`) crosses the boundary once per batch, not once per item:
 * items (payloads) always stay in JavaScript.
 */
export interface PriorityQueue<T> {
  /** The number of items queued (removed items excluded). */
  readonly size: number;
  /** Queues `item` at `priority` (0..255, default 2 = `normal`) and returns its handle. */
  push(item: T, priority?: PriorityLevel): QueueHandle;
  /**
   * Queues `items[i]` at `priorities[i]`, in order, and returns their handles.
   * `priorities` must have the same length as `items`.
   */
  pushMany(items: readonly T[], priorities: ArrayLike<PriorityLevel>): Float64Array;
  /** Removes and returns the most urgent, oldest item, or `undefined` when empty. */
  pop(): T | undefined;
  /** Removes and returns up to `max` items, in pop order. */
  popMany(max: number): T[];
  /** The item `pop` would return, without removing it. */
  peek(): T | undefined;
  /** Removes the item of `handle`; `false` when it is no longer queued. */
  remove(handle: QueueHandle): boolean;
  /** The number of items queued at one level. */
  sizeAt(priority: PriorityLevel): number;
  /** Removes every item and gives back the memory held for them. */
  clear(): void;
}
