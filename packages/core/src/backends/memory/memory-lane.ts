import type { PriorityQueue } from '../../contracts/priority-queue.js';
import { priorityLevel } from '../../model/priority.js';
import type { TaskRecord } from '../../model/task.js';
import { FairLane } from './fair-lane.js';
import type { LaneItem, LaneItems } from './lane-items.js';
import { MemoryFairness } from './memory-fairness.js';

/**
 * One capability's queue of available tasks in the memory backend. Removal is lazy, as in
 * the heaps: a cancelled task stays in the queue, stale (its status is no longer `queued`),
 * until it surfaces or the queue is compacted; so queueing a task costs no handle and no map
 * entry. A lane that gets a task with a fairness key turns fair for good: its entries move
 * to a {@link FairLane}, and `queue` stays empty. A lane that never sees one keeps the plain
 * priority queue and its cost.
 */
export interface Lane {
  readonly capability: string;
  queue: PriorityQueue<LaneItem>;
  /** Set once the lane has seen a task with a fairness key. */
  fair: FairLane | undefined;
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
  /** The fairness policy and the keys' state, shared by the fair lanes. */
  readonly fairness = new MemoryFairness(
    () => this.#fairLanes(),
    (capability) => {
      const lane = this.#lanes.get(capability);
      if (lane !== undefined) this.#touch(lane);
    },
  );
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
    const key = t.fairnessKey;
    if (lane.fair === undefined && key === undefined) {
      lane.queue.push(t, priorityLevel(t.priority));
    } else {
      this.#fair(lane).add(t, key, priorityLevel(t.priority));
    }
    lane.live++;
    this.#touch(lane);
  }

  /** Makes tasks available with one `pushMany` per lane, FIFO kept. */
  addMany(ts: readonly TaskRecord[]): void {
    if (ts.length <= 1) {
      if (ts.length === 1) this.add(ts[0] as TaskRecord);
      return;
    }
    const first = ts[0] as TaskRecord;
    const capability = first.capability;
    let one = true;
    let keyed = first.fairnessKey !== undefined;
    for (let i = 1; i < ts.length; i++) {
      const t = ts[i] as TaskRecord;
      if (t.capability !== capability) one = false;
      if (t.fairnessKey !== undefined) keyed = true;
    }
    if (one) {
      // One capability (the common batch): no grouping, no copy.
      this.#enter(this.#lane(capability), ts, keyed);
      return;
    }
    for (const [lane, group] of groupByLane(ts, (name) => this.#lane(name))) {
      this.#enter(lane, group, keyed);
    }
  }

  /**
   * Makes tasks kept as columns available: the counters `first` … `first + n - 1`, with
   * their priority levels, in one `pushMany`.
   */
  addColumns(capability: string, first: number, levels: Uint8Array): void {
    const seqs: number[] = new Array(levels.length);
    for (let i = 0; i < levels.length; i++) seqs[i] = first + i;
    const lane = this.#lane(capability);
    if (lane.fair === undefined) {
      this.#pushMany(lane, seqs, levels);
      return;
    }
    for (let i = 0; i < seqs.length; i++)
      lane.fair.add(seqs[i] as number, undefined, levels[i] as number);
    lane.live += seqs.length;
    this.#touch(lane);
  }

  /** Takes up to `max` available tasks of a capability, in lease order. */
  take(capability: string, max: number): TaskRecord[] {
    const lane = this.#lanes.get(capability);
    if (lane === undefined || lane.live === 0) return [];
    const want = Math.min(max, lane.live);
    const taken: TaskRecord[] = [];
    if (lane.fair !== undefined) {
      lane.fair.take(want, taken);
      lane.live -= taken.length;
      return taken;
    }
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
    if (lane.fair !== undefined) {
      lane.fair.remove(t, priorityLevel(t.priority));
      return;
    }
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
    for (const lane of this.#lanes.values()) {
      // Tasks of keys at their cap wait for a lease to end, which tells the listeners.
      if (lane.live > (lane.fair?.parked ?? 0)) ready.push(lane.capability);
    }
    return ready;
  }

  /** Counts the lease of a task with a fairness key as ended (see `MemoryFairness`). */
  released(t: TaskRecord): void {
    const fair = this.#lanes.get(t.capability)?.fair;
    if (fair !== undefined) this.fairness.released(t.fairnessKey as string, fair);
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
    for (const { queue, fair } of this.#lanes.values()) {
      const { capacity } = queue as { capacity?: unknown };
      slots += typeof capacity === 'number' ? capacity : queue.size;
      if (fair !== undefined) slots += fair.slots();
    }
    return slots;
  }

  /** Drops every lane and listener. */
  clear(): void {
    this.#lanes = new Map();
    this.fairness.clear();
    this.listeners.clear();
    this.#pending = [];
  }

  /** Queues records of one lane: one `pushMany` on a plain lane, one by one on a fair one. */
  #enter(lane: Lane, ts: readonly TaskRecord[], keyed: boolean): void {
    if (lane.fair === undefined && !keyed) {
      this.#pushMany(lane, ts, levelsOf(ts));
      return;
    }
    const fair = this.#fair(lane);
    for (let i = 0; i < ts.length; i++) {
      const t = ts[i] as TaskRecord;
      fair.add(t, t.fairnessKey, priorityLevel(t.priority));
    }
    lane.live += ts.length;
    this.#touch(lane);
  }

  /**
   * The fair queue of a lane, made when its first keyed task comes: the entries queued so
   * far have no key, and move in their order to the key of the tasks without one.
   */
  #fair(lane: Lane): FairLane {
    if (lane.fair !== undefined) return lane.fair;
    const fair = new FairLane(lane.capability, this.fairness, this.items);
    fair.capabilityCap = this.fairness.capabilityCap(lane.capability);
    const items = this.items;
    const queue = lane.queue;
    for (const item of queue.popMany(queue.size)) {
      if (items.queued(item)) fair.add(item, undefined, items.level(item));
    }
    lane.queue = this.createQueue<LaneItem>();
    lane.fair = fair;
    return fair;
  }

  *#fairLanes(): Iterable<FairLane> {
    for (const lane of this.#lanes.values()) if (lane.fair !== undefined) yield lane.fair;
  }

  #pushMany(lane: Lane, items: readonly LaneItem[], levels: Uint8Array): void {
    lane.queue.pushMany(items, levels);
    lane.live += items.length;
    this.#touch(lane);
  }

  #lane(capability: string): Lane {
    let lane = this.#lanes.get(capability);
    if (lane === undefined) {
      lane = {
        capability,
        queue: this.createQueue<LaneItem>(),
        fair: undefined,
        live: 0,
        mark: 0,
      };
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
