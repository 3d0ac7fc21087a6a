import { type Priority, priorityLevel } from '../messaging/priority.js';
import type { QueueStats } from './backend.js';
import { groupByLane, type Lane, levelsOf } from './memory-lane.js';
import type { ResolvedMemoryOptions } from './memory-options.js';
import { RetentionQueue } from './retention-queue.js';
import type { TaskError, TaskRecord } from './task.js';
import { TaskIndex } from './task-index.js';
import { TimeHeap } from './time-heap.js';

/** What the memory backend holds, for capacity checks and tests (not part of `Backend`). */
export interface MemoryBackendUsage {
  /** Task records stored, terminal ones included. */
  tasks: number;
  /** Terminal records retained (bounded by `maxRetained` and `retainMs`). */
  retained: number;
  /**
   * Slots allocated by the capability queues (shrinks as they drain), as their `capacity`
   * reports it; a queue implementation without `capacity` counts its `size`.
   */
  queueSlots: number;
  /** Entries of the delay and lease-expiry heaps, stale ones included. */
  heapEntries: number;
}

// Lazy structures are compacted once stale entries outnumber live ones by this margin, so
// small backends never pay for a compaction.
const COMPACT_SLACK = 1024;

/**
 * The state of a {@link MemoryBackend} and the transitions it is made of. It checks
 * nothing: the backend validates tokens, ids and states, then calls these.
 *
 * Invariants: a queued task is either in its lane (counted in `live`) or delayed (in
 * `delayedTasks`, with a live entry in `delayed`); a leased task has a live entry in
 * `leases`; a terminal task has a live entry in `retained`, and a dead one is in `dead`.
 * The lanes, the heaps and the retention queue drop entries lazily (see {@link TimeHeap}):
 * an entry is stale once its task has moved on. A lane entry can never come back to life,
 * since a task leaves a lane only by a lease (which pops the entry) or a cancel (terminal
 * for good: only dead tasks are replayed).
 */
export class MemoryStore {
  readonly tasks = new TaskIndex<TaskRecord>();
  idempotency = new Map<string, string>();
  lanes = new Map<string, Lane>();
  /** Queued tasks waiting for their `availableAt` (rare: delays and backoffs). */
  delayedTasks = new Set<TaskRecord>();
  readonly delayed = new TimeHeap<TaskRecord>();
  readonly leases = new TimeHeap<TaskRecord>();
  /** Dead tasks in the order they died (a Map iterates in insertion order). */
  dead = new Map<string, TaskRecord>();
  readonly retained = new RetentionQueue<TaskRecord>();
  /**
   * Records with entries in `retained` that no longer stand (replayed or deleted since),
   * with how many: such entries come before a record's live one, so the first ones to
   * surface are the stale ones. Empty but for dead-letter operations, so evicting the
   * oldest record costs no lookup of the store.
   */
  private staleRetained = new Map<TaskRecord, number>();
  retainedCount = 0;
  delayedCount = 0;
  leasedCount = 0;
  readonly queuedByLevel = [0, 0, 0, 0];
  readonly listeners = new Set<(capability: string) => void>();
  /** Lanes that got available tasks in the current operation, to notify at its end. */
  pending: Lane[] = [];
  /** The current operation's number, so a lane is notified once per operation. */
  mark = 0;

  constructor(private readonly options: ResolvedMemoryOptions) {}

  /** Makes `t` queued: available at once when `availableAt ≤ now`, else delayed. */
  queue(t: TaskRecord, availableAt: number, now: number): void {
    if (this.hold(t, availableAt, now)) this.makeAvailable(t);
  }

  /**
   * Queues new tasks as `queue(t, t.availableAt, t.updatedAt)` would each, but the available
   * ones enter their lanes with one `pushMany` per lane.
   */
  queueNew(ts: readonly TaskRecord[]): void {
    let delayed = 0;
    for (let i = 0; i < ts.length; i++) {
      const t = ts[i] as TaskRecord;
      if (!this.hold(t, t.availableAt, t.updatedAt)) delayed++;
    }
    // Nearly always none is delayed: the batch then enters its lanes as it is, uncopied.
    this.makeAvailableMany(delayed === 0 ? ts : ts.filter((t) => t.availableAt <= t.updatedAt));
  }

  /** Counts `t` as queued; delays it when `availableAt > now`, else answers true. */
  private hold(t: TaskRecord, availableAt: number, now: number): boolean {
    t.status = 'queued';
    t.availableAt = availableAt;
    this.queuedByLevel[priorityLevel(t.priority)]++;
    if (availableAt <= now) return true;
    this.delayed.push(availableAt, t);
    this.delayedTasks.add(t);
    this.delayedCount++;
    return false;
  }

  /**
   * Takes a queued task out of its lane or out of the delayed set. The caller makes it
   * terminal (its status no longer `queued`), which is what marks its entries stale.
   */
  unqueue(t: TaskRecord): void {
    this.queuedByLevel[priorityLevel(t.priority)]--;
    if (!this.delayedTasks.delete(t)) {
      const lane = this.lanes.get(t.capability) as Lane;
      lane.live--;
      // The entry stays; compacting once stale entries outnumber live ones bounds the memory.
      if (lane.queue.size > 2 * lane.live + COMPACT_SLACK) this.compactLane(lane, t);
      return;
    }
    this.delayedCount--;
    if (this.delayed.size > 2 * this.delayedCount + COMPACT_SLACK) {
      this.delayed.compact(isDelayedEntry);
    }
  }

  /** Takes up to `max` available tasks of a capability, in lease order. */
  take(capability: string, max: number): TaskRecord[] {
    const lane = this.lanes.get(capability);
    if (lane === undefined || lane.live === 0) return [];
    const want = Math.min(max, lane.live);
    let taken = lane.queue.popMany(want);
    if (lane.queue.size > lane.live - taken.length) taken = this.dropStale(lane, taken, want);
    lane.live -= taken.length;
    const byLevel = this.queuedByLevel;
    for (let i = 0; i < taken.length; i++)
      byLevel[priorityLevel((taken[i] as TaskRecord).priority)]--;
    return taken;
  }

  /** Drops the stale entries of a batch taken from `lane`, taking more until `want` are live. */
  private dropStale(lane: Lane, batch: TaskRecord[], want: number): TaskRecord[] {
    const out: TaskRecord[] = [];
    for (;;) {
      for (const t of batch) if (t.status === 'queued') out.push(t);
      if (out.length >= want || lane.queue.size === 0) return out;
      batch = lane.queue.popMany(want - out.length);
    }
  }

  /** Rebuilds a lane's queue with its live entries only, in order (`leaving` is being cancelled). */
  private compactLane(lane: Lane, leaving: TaskRecord): void {
    const keep = lane.queue
      .popMany(lane.queue.size)
      .filter((t) => t.status === 'queued' && t !== leaving);
    lane.queue = this.options.createQueue<TaskRecord>();
    if (keep.length > 0) lane.queue.pushMany(keep, levelsOf(keep));
  }

  /** Records a lease's expiry (a new lease or an extension, which leaves a stale entry). */
  track(t: TaskRecord, expiresAt: number): void {
    this.leases.push(expiresAt, t);
    this.compactLeases();
  }

  /**
   * Counts a lease as ended. Its expiry entry stays behind, stale; once those outnumber the
   * live leases the heap is compacted, so a drained backend gives the memory back without
   * waiting for the stale expiries to pass.
   */
  untrack(): void {
    this.leasedCount--;
    this.compactLeases();
  }

  private compactLeases(): void {
    if (this.leases.size > 2 * this.leasedCount + COMPACT_SLACK) this.leases.compact(isLeaseEntry);
  }

  /** Moves delayed tasks that are due at `now` into their queues (one `pushMany` a lane). */
  promote(now: number): void {
    const heap = this.delayed;
    let due: TaskRecord[] | undefined;
    for (let at = heap.peekAt(); at !== undefined && at <= now; at = heap.peekAt()) {
      const t = heap.pop();
      if (!isDelayedEntry(at, t)) continue;
      this.delayedTasks.delete(t);
      this.delayedCount--;
      // Allocated only when something is due: every lease calls promote.
      if (due === undefined) due = [t];
      else due.push(t);
    }
    if (due !== undefined) this.makeAvailableMany(due);
  }

  /** Ends the leases expired at `now` (as `endLease` does) and returns their tasks. */
  expire(now: number, error: TaskError): TaskRecord[] {
    const expired: TaskRecord[] = [];
    const heap = this.leases;
    for (let at = heap.peekAt(); at !== undefined && at <= now; at = heap.peekAt()) {
      const t = heap.pop();
      if (!isLeaseEntry(at, t)) continue;
      this.endLease(t, error, now);
      expired.push(t);
    }
    this.evict(now);
    return expired;
  }

  /** The earliest instant a delayed task becomes available, stale entries dropped. */
  nextAvailableAt(): number | undefined {
    const heap = this.delayed;
    while (heap.size > 0 && !isDelayedEntry(heap.peekAt() as number, heap.peek() as TaskRecord)) {
      heap.pop();
    }
    return heap.peekAt();
  }

  /** Ends a live lease without a result: requeued at once, or dead when out of attempts. */
  endLease(t: TaskRecord, error: TaskError, now: number): void {
    t.error = error;
    t.updatedAt = now;
    if (t.attempts < t.maxAttempts) this.queue(t, now, now);
    else this.kill(t, now);
    this.untrack();
  }

  /** Makes `t` dead: a dead letter, retained like every terminal task. */
  kill(t: TaskRecord, now: number): void {
    t.status = 'dead';
    this.dead.set(t.id, t);
    this.retire(t, now);
  }

  /**
   * Records that `t` just became terminal (at `now`). The retention bounds are applied by
   * {@link evict}, once per operation, so that a batch evicts in one pass.
   */
  retire(t: TaskRecord, now: number): void {
    this.retained.push(now, t);
    this.retainedCount++;
  }

  /** Takes a dead task out of the dead letters before it is queued again (a replay). */
  revive(t: TaskRecord): void {
    this.dead.delete(t.id);
    this.retainedCount--;
    this.markStale(t);
  }

  /** Deletes a dead task for good. */
  deleteDead(t: TaskRecord): void {
    this.forget(t);
    this.markStale(t);
  }

  /** Calls the `onAvailable` listeners once per lane that got tasks in this operation. */
  flush(): void {
    if (this.pending.length === 0) return;
    const lanes = this.pending;
    this.pending = [];
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

  stats(): QueueStats {
    const [critical = 0, high = 0, normal = 0, low = 0] = this.queuedByLevel;
    const byPriority: Record<Priority, number> = { critical, high, normal, low };
    return {
      depth: critical + high + normal + low,
      byPriority,
      leased: this.leasedCount,
      delayed: this.delayedCount,
      dead: this.dead.size,
    };
  }

  usage(): MemoryBackendUsage {
    let queueSlots = 0;
    for (const { queue } of this.lanes.values()) {
      const { capacity } = queue as { capacity?: unknown };
      queueSlots += typeof capacity === 'number' ? capacity : queue.size;
    }
    return {
      tasks: this.tasks.size,
      retained: this.retainedCount,
      queueSlots,
      heapEntries: this.delayed.size + this.leases.size,
    };
  }

  /** Drops everything held. */
  clear(): void {
    this.tasks.clear();
    this.idempotency = new Map();
    this.lanes = new Map();
    this.delayedTasks = new Set();
    this.dead = new Map();
    this.delayed.clear();
    this.leases.clear();
    this.retained.clear();
    this.staleRetained = new Map();
    this.listeners.clear();
    this.pending = [];
  }

  private makeAvailable(t: TaskRecord): void {
    const lane = this.lane(t.capability);
    lane.queue.push(t, priorityLevel(t.priority));
    lane.live++;
    this.touch(lane);
  }

  /** Puts available tasks in their lanes with one `pushMany` per lane, FIFO kept. */
  private makeAvailableMany(ts: readonly TaskRecord[]): void {
    if (ts.length <= 1) {
      if (ts.length === 1) this.makeAvailable(ts[0] as TaskRecord);
      return;
    }
    const capability = (ts[0] as TaskRecord).capability;
    let one = true;
    for (let i = 1; i < ts.length && one; i++)
      one = (ts[i] as TaskRecord).capability === capability;
    if (one) {
      // One capability (the common batch): no grouping, no copy.
      const lane = this.lane(capability);
      lane.queue.pushMany(ts, levelsOf(ts));
      lane.live += ts.length;
      this.touch(lane);
      return;
    }
    for (const [lane, group] of groupByLane(ts, (capability) => this.lane(capability))) {
      lane.queue.pushMany(group, levelsOf(group));
      lane.live += group.length;
      this.touch(lane);
    }
  }

  /** The lane of a capability, made on first use. */
  private lane(capability: string): Lane {
    let lane = this.lanes.get(capability);
    if (lane === undefined) {
      lane = { capability, queue: this.options.createQueue<TaskRecord>(), live: 0, mark: 0 };
      this.lanes.set(capability, lane);
    }
    return lane;
  }

  /** Notes that `lane` got tasks in this operation, so `flush` notifies it once. */
  private touch(lane: Lane): void {
    if (lane.mark !== this.mark) {
      lane.mark = this.mark;
      this.pending.push(lane);
    }
  }

  /** Evicts the oldest terminal records beyond `maxRetained` or older than `retainMs`. */
  evict(now: number): void {
    const queue = this.retained;
    const { maxRetained, retainMs } = this.options;
    const oldest = now - retainMs;
    for (let at = queue.peekAt(); at !== undefined; at = queue.peekAt()) {
      if (this.retainedCount <= maxRetained && at >= oldest) break;
      const t = queue.peek() as TaskRecord;
      queue.shift();
      if (!this.takeStale(t)) this.forget(t);
    }
    if (queue.size > 2 * this.retainedCount + COMPACT_SLACK) {
      queue.compact((_at, t) => !this.takeStale(t));
    }
  }

  /** Drops a terminal record, with its idempotency key and dead letter. */
  private forget(t: TaskRecord): void {
    this.tasks.delete(t.id);
    if (t.status === 'dead') this.dead.delete(t.id);
    this.retainedCount--;
    const key = t.idempotencyKey;
    if (key !== undefined && this.idempotency.get(key) === t.id) this.idempotency.delete(key);
  }

  private markStale(t: TaskRecord): void {
    this.staleRetained.set(t, (this.staleRetained.get(t) ?? 0) + 1);
  }

  /** Whether this retention entry of `t` is a stale one (and counts it as consumed). */
  private takeStale(t: TaskRecord): boolean {
    if (this.staleRetained.size === 0) return false;
    const count = this.staleRetained.get(t);
    if (count === undefined) return false;
    if (count === 1) this.staleRetained.delete(t);
    else this.staleRetained.set(t, count - 1);
    return true;
  }
}

function isDelayedEntry(at: number, t: TaskRecord): boolean {
  return t.status === 'queued' && t.availableAt === at;
}

function isLeaseEntry(at: number, t: TaskRecord): boolean {
  return t.status === 'leased' && t.leaseExpiresAt === at;
}
