import type { PriorityQueue } from '../../contracts/priority-queue.js';
import { priorityLevel } from '../../model/priority.js';
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
  queued(item: LaneItem, leaving: TaskRecord): boolean;
  /** The priority level of a queued entry. */
  level(item: LaneItem): number;
}

/**
 * One capability's queue of available tasks in the memory backend. Removal is lazy, as in
 * the heaps: a cancelled task stays in the queue, stale (its status is no longer `queued`),
 * until it surfaces or the queue is compacted; so queueing a task costs no handle and no map
 * entry.
 */
export interface Lane {
  readonly capability: string;
  queue: PriorityQueue<LaneItem>;
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
function groupByLane(
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
function levelsOf(ts: readonly TaskRecord[]): Uint8Array {
  const levels = new Uint8Array(ts.length);
  for (let i = 0; i < ts.length; i++) levels[i] = priorityLevel((ts[i] as TaskRecord).priority);
  return levels;
}

// A lane is compacted once its stale entries outnumber live ones by this margin.
const COMPACT_SLACK = 1024;

/**
 * The lanes of a memory backend, one per capability, made on first use; and the
 * `onAvailable` notices: a lane that got available tasks during an operation is told of
 * once, when the operation ends ({@link flush}).
 */
export class MemoryLanes {
  #lanes = new Map<string, Lane>();
  readonly listeners = new Set<(capability: string) => void>();
  /** Lanes that got available tasks in the current operation, to notify at its end. */
  #pending: Lane[] = [];
  /** The current operation's number, so a lane is notified once per operation. */
  #mark = 0;

  constructor(
    private readonly createQueue: <T>() => PriorityQueue<T>,
    private readonly items: LaneItems,
  ) {}

  /** Starts an operation: the lanes it makes available are told of at its {@link flush}. */
  begin(): void {
    this.#mark++;
  }

  /** Makes `t` available in its lane. */
  add(t: TaskRecord): void {
    const lane = this.#lane(t.capability);
    lane.queue.push(t, priorityLevel(t.priority));
    lane.live++;
    this.#touch(lane);
  }

  /** Makes tasks available with one `pushMany` per lane, FIFO kept. */
  addMany(ts: readonly TaskRecord[]): void {
    if (ts.length <= 1) {
      if (ts.length === 1) this.add(ts[0] as TaskRecord);
      return;
    }
    const capability = (ts[0] as TaskRecord).capability;
    let one = true;
    for (let i = 1; i < ts.length && one; i++)
      one = (ts[i] as TaskRecord).capability === capability;
    if (one) {
      // One capability (the common batch): no grouping, no copy.
      this.#pushMany(this.#lane(capability), ts, levelsOf(ts));
      return;
    }
    for (const [lane, group] of groupByLane(ts, (name) => this.#lane(name))) {
      this.#pushMany(lane, group, levelsOf(group));
    }
  }

  /**
   * Makes tasks kept as columns available: the counters `first` … `first + n - 1`, with
   * their priority levels, in one `pushMany`.
   */
  addColumns(capability: string, first: number, levels: Uint8Array): void {
    const seqs: number[] = new Array(levels.length);
    for (let i = 0; i < levels.length; i++) seqs[i] = first + i;
    this.#pushMany(this.#lane(capability), seqs, levels);
  }

  /** Takes up to `max` available tasks of a capability, in lease order. */
  take(capability: string, max: number): TaskRecord[] {
    const lane = this.#lanes.get(capability);
    if (lane === undefined || lane.live === 0) return [];
    const want = Math.min(max, lane.live);
    const taken: TaskRecord[] = [];
    // Stale entries are dropped on the way, and more taken until `want` are live.
    while (taken.length < want && lane.queue.size > 0) {
      const batch = lane.queue.popMany(want - taken.length);
      for (let i = 0; i < batch.length; i++) {
        const t = this.items.live(batch[i] as LaneItem);
        if (t !== undefined) taken.push(t);
      }
    }
    lane.live -= taken.length;
    return taken;
  }

  /**
   * Takes an available task out of its lane. The caller makes it terminal (its status no
   * longer `queued`), which is what marks its entry stale: the entry stays, and the lane is
   * compacted once stale entries outnumber live ones, which bounds the memory.
   */
  remove(t: TaskRecord): void {
    const lane = this.#lanes.get(t.capability) as Lane;
    lane.live--;
    if (lane.queue.size <= 2 * lane.live + COMPACT_SLACK) return;
    // Rebuilt with its live entries only, in order (`t` is leaving).
    const items = this.items;
    const keep = lane.queue.popMany(lane.queue.size).filter((item) => items.queued(item, t));
    lane.queue = this.createQueue<LaneItem>();
    if (keep.length === 0) return;
    const levels = new Uint8Array(keep.length);
    for (let i = 0; i < keep.length; i++) levels[i] = items.level(keep[i] as LaneItem);
    lane.queue.pushMany(keep, levels);
  }

  /** The capabilities with available tasks. */
  ready(): string[] {
    const ready: string[] = [];
    for (const lane of this.#lanes.values()) if (lane.live > 0) ready.push(lane.capability);
    return ready;
  }

  /** Calls the listeners once per lane that got tasks in this operation. */
  flush(): void {
    if (this.#pending.length === 0) return;
    const lanes = this.#pending;
    this.#pending = [];
    for (const lane of lanes) {
      for (const listener of this.listeners) {
        try {
          listener(lane.capability);
        } catch {
          // The transition is already committed; a failing listener must not turn it into
          // an error for the caller, nor keep the other listeners from hearing of it.
        }
      }
    }
  }

  /**
   * Slots allocated by the lanes' queues, as their `capacity` reports it; a queue
   * implementation without `capacity` counts its `size`.
   */
  slots(): number {
    let slots = 0;
    for (const { queue } of this.#lanes.values()) {
      const { capacity } = queue as { capacity?: unknown };
      slots += typeof capacity === 'number' ? capacity : queue.size;
    }
    return slots;
  }

  /** Drops every lane and listener. */
  clear(): void {
    this.#lanes = new Map();
    this.listeners.clear();
    this.#pending = [];
  }

  #pushMany(lane: Lane, items: readonly LaneItem[], levels: Uint8Array): void {
    lane.queue.pushMany(items, levels);
    lane.live += items.length;
    this.#touch(lane);
  }

  #lane(capability: string): Lane {
    let lane = this.#lanes.get(capability);
    if (lane === undefined) {
      lane = { capability, queue: this.createQueue<LaneItem>(), live: 0, mark: 0 };
      this.#lanes.set(capability, lane);
    }
    return lane;
  }

  /** Notes that `lane` got tasks in this operation, so `flush` notifies it once. */
  #touch(lane: Lane): void {
    if (lane.mark !== this.#mark) {
      lane.mark = this.#mark;
      this.#pending.push(lane);
    }
  }
}
