import type { QueueStats } from '../../contracts/backend.js';
import { type Priority, priorityLevel } from '../../model/priority.js';
import type { TaskError, TaskRecord } from '../../model/task.js';
import type { TaskColumns } from '../../model/task-columns.js';
import { TaskIndex } from '../../structures/task-index.js';
import { ColumnStore } from './memory-columns.js';
import { MemoryLanes } from './memory-lane.js';
import type { ResolvedMemoryOptions } from './memory-options.js';
import { MemoryRetention } from './memory-retention.js';
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
 * `leases`; a terminal task is kept by `retention`, and a dead one is in `dead`.
 * The lanes, the heaps and the retention drop entries lazily (see {@link TimeHeap}):
 * an entry is stale once its task has moved on. A lane entry can never come back to life,
 * since a task leaves a lane only by a lease (which pops the entry) or a cancel (terminal
 * for good: only dead tasks are replayed). A task enqueued as columns has no record until
 * it is read, leased or cancelled: until then it is in `columns` (which makes its record),
 * and its lane entry is its id counter.
 */
export class MemoryStore {
  readonly tasks = new TaskIndex<TaskRecord>();
  readonly columns = new ColumnStore(this.tasks);
  idempotency = new Map<string, string>();
  readonly lanes: MemoryLanes;
  /** Queued tasks waiting for their `availableAt` (rare: delays and backoffs). */
  delayedTasks = new Set<TaskRecord>();
  readonly delayed = new TimeHeap<TaskRecord>();
  readonly leases = new TimeHeap<TaskRecord>();
  /** Dead tasks in the order they died (a Map iterates in insertion order). */
  dead = new Map<string, TaskRecord>();
  readonly retention: MemoryRetention;
  delayedCount = 0;
  leasedCount = 0;
  readonly queuedByLevel = [0, 0, 0, 0];

  constructor(options: ResolvedMemoryOptions) {
    this.lanes = new MemoryLanes(options.createQueue, this.columns);
    this.retention = new MemoryRetention(options, (t) => this.forget(t));
  }

  /** Makes `t` queued: available at once when `availableAt ≤ now`, else delayed. */
  queue(t: TaskRecord, availableAt: number, now: number): void {
    if (this.hold(t, availableAt, now)) this.lanes.add(t);
  }

  /** Queues a batch kept as columns: available at once, no record made. */
  queueColumns(columns: TaskColumns): void {
    this.columns.add(columns);
    const { levels } = columns;
    const byLevel = this.queuedByLevel;
    for (let i = 0; i < levels.length; i++) (byLevel[levels[i] as number] as number)++;
    this.lanes.addColumns(columns.capability, columns.first, levels);
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
    this.lanes.addMany(delayed === 0 ? ts : ts.filter((t) => t.availableAt <= t.updatedAt));
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
      this.lanes.remove(t);
      return;
    }
    this.delayedCount--;
    if (this.delayed.size > 2 * this.delayedCount + COMPACT_SLACK) {
      this.delayed.compact(isDelayedEntry);
    }
  }

  /** Takes up to `max` available tasks of a capability, in lease order. */
  take(capability: string, max: number): TaskRecord[] {
    const taken = this.lanes.take(capability, max);
    const byLevel = this.queuedByLevel;
    for (let i = 0; i < taken.length; i++)
      byLevel[priorityLevel((taken[i] as TaskRecord).priority)]--;
    return taken;
  }

  /** Records a lease's expiry (a new lease or an extension, which leaves a stale entry). */
  track(t: TaskRecord, expiresAt: number): void {
    this.leases.push(expiresAt, t);
    this.compactLeases();
  }

  /**
   * Counts the lease of `t` as ended (and, for a task with a fairness key, its key's lease).
   * Its expiry entry stays behind, stale; once those outnumber the live leases the heap is
   * compacted, so a drained backend gives the memory back without waiting for the stale
   * expiries to pass.
   */
  untrack(t: TaskRecord): void {
    this.leasedCount--;
    if (t.fairnessKey !== undefined) this.lanes.released(t);
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
    if (due !== undefined) this.lanes.addMany(due);
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
    this.untrack(t);
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
    this.retention.retire(t, now);
  }

  /** Takes a dead task out of the dead letters before it is queued again (a replay). */
  revive(t: TaskRecord): void {
    this.dead.delete(t.id);
    this.retention.release(t);
  }

  /** Deletes a dead task for good. */
  deleteDead(t: TaskRecord): void {
    this.retention.release(t);
    this.forget(t);
  }

  /** Calls the `onAvailable` listeners once per lane that got tasks in this operation. */
  flush(): void {
    this.lanes.flush();
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
    return {
      tasks: this.tasks.size + this.columns.count,
      retained: this.retention.count,
      queueSlots: this.lanes.slots(),
      heapEntries: this.delayed.size + this.leases.size,
    };
  }

  /** Drops everything held. */
  clear(): void {
    this.tasks.clear();
    this.columns.clear();
    this.idempotency = new Map();
    this.lanes.clear();
    this.delayedTasks = new Set();
    this.dead = new Map();
    this.delayed.clear();
    this.leases.clear();
    this.retention.clear();
  }

  /** Evicts the oldest terminal records beyond `maxRetained` or older than `retainMs`. */
  evict(now: number): void {
    this.retention.evict(now);
  }

  /** Drops a terminal record that is no longer retained, with its idempotency key and dead letter. */
  private forget(t: TaskRecord): void {
    this.tasks.delete(t.id);
    if (t.status === 'dead') this.dead.delete(t.id);
    const key = t.idempotencyKey;
    if (key !== undefined && this.idempotency.get(key) === t.id) this.idempotency.delete(key);
  }
}

function isDelayedEntry(at: number, t: TaskRecord): boolean {
  return t.status === 'queued' && t.availableAt === at;
}

function isLeaseEntry(at: number, t: TaskRecord): boolean {
  return t.status === 'leased' && t.leaseExpiresAt === at;
}
