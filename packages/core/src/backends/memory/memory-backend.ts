import type {
  Backend,
  Completion,
  EnqueueResult,
  FailOutcome,
  LeaseRequest,
  QueueStats,
} from '../../contracts/backend.js';
import { SwitchboardError } from '../../errors.js';
import { createLeaseToken } from '../../model/lease-token.js';
import type { TaskProgress } from '../../model/progress.js';
import type { TaskError, TaskRecord } from '../../model/task.js';
import type { TaskColumns } from '../../model/task-columns.js';
import type { TaskListQuery, TaskPage } from '../../model/task-list.js';
import { storeBatch, storeColumns, storeNewBatch } from './memory-enqueue.js';
import { noTask, notLeased, staleToken } from './memory-errors.js';
import type { MemoryFairness } from './memory-fairness.js';
import { listStored } from './memory-list.js';
import { type MemoryBackendOptions, resolveMemoryOptions } from './memory-options.js';
import { MemoryScheduleStore } from './memory-schedules.js';
import { type MemoryBackendUsage, MemoryStore } from './memory-store.js';

const EXPIRED: TaskError = Object.freeze({
  message: 'lease expired',
  code: 'expired',
  retryable: true,
});

/**
 * The in-memory {@link Backend}: core's embedded default and the hot path of in-process
 * Switchboard. Every operation is O(1) or O(log n) (`expireLeases` O(expired · log n));
 * nothing survives the process (`durable: false`).
 *
 * Ownership: `enqueue` keeps the records it is given (no copy) and every method returns the
 * live stored record, so callers must treat records as read-only and must not touch a record
 * after handing it to `enqueue`. Terminal records are retained, and still deduplicate their
 * `idempotencyKey`, until `maxRetained` or `retainMs` evicts them, oldest first; dead letters
 * are terminal and evicted the same way. Queued and leased tasks are never evicted.
 *
 * Time: a record whose `availableAt` is later than its `updatedAt` is delayed at `enqueue`;
 * `expireLeases(now)` ends the leases with `leaseExpiresAt ≤ now`. A lease that has expired
 * but not yet been swept by `expireLeases` can still complete. `open()` is optional here;
 * after `close()` every method throws `unavailable`.
 *
 * @example
 * ```ts
 * const backend = createMemoryBackend({ maxRetained: 10_000 })
 * await backend.enqueue([record])
 * const [task] = await backend.lease({ capability: 'browser', agentId: 'a1', max: 1, now: Date.now() })
 * if (task) await backend.complete(task.id, task.leaseToken!, { ok: true }, Date.now())
 * ```
 */
export class MemoryBackend implements Backend {
  readonly name = 'memory';
  readonly durable = false;
  /** Every record returned is the stored one, updated in place by later transitions. */
  readonly liveRecords = true;
  /** The schedules, in this process's memory. */
  readonly schedules = new MemoryScheduleStore();
  /**
   * Fair dispatch among the tasks' fairness keys, with weights and per-key caps
   * (docs/fairness.md). A lane turns fair when its first task with a key comes.
   */
  readonly fairness: MemoryFairness;

  private readonly store: MemoryStore;
  private closed = false;

  constructor(options: MemoryBackendOptions = {}) {
    this.store = new MemoryStore(resolveMemoryOptions(options));
    this.fairness = this.store.lanes.fairness;
  }

  async open(): Promise<void> {
    this.guard();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.store.clear();
  }

  async enqueue(records: readonly TaskRecord[]): Promise<EnqueueResult[]> {
    return storeBatch(this.begin(), records);
  }

  /** {@link Backend.enqueueNew}: `enqueue` for records without idempotency keys, no results. */
  async enqueueNew(records: readonly TaskRecord[]): Promise<void> {
    storeNewBatch(this.begin(), records);
  }

  /** {@link Backend.enqueueColumns}: no record is made until a task is read, leased or cancelled. */
  async enqueueColumns(columns: TaskColumns): Promise<void> {
    storeColumns(this.begin(), columns);
  }

  async lease(request: LeaseRequest): Promise<TaskRecord[]> {
    const store = this.begin();
    const { max, now, agentId } = request;
    if (!Number.isInteger(max) || max < 1) {
      throw new SwitchboardError('invalid_request', `[memory] lease max must be an integer ≥ 1`, {
        details: { max },
      });
    }
    const shared = request.token;
    if (shared !== undefined && (typeof shared !== 'string' || shared.length === 0)) {
      throw new SwitchboardError(
        'invalid_request',
        `[memory] lease token must be a non-empty string`,
      );
    }
    store.promote(now);
    const leased = store.take(request.capability, max);
    store.leasedCount += leased.length;
    for (const t of leased) {
      t.status = 'leased';
      t.attempts++;
      t.agentId = agentId;
      t.leaseToken = shared ?? createLeaseToken();
      t.leaseExpiresAt = now + t.timeoutMs;
      t.updatedAt = now;
      store.track(t, t.leaseExpiresAt);
    }
    store.flush();
    return leased;
  }

  async complete(
    id: string,
    leaseToken: string,
    result: unknown,
    now: number,
  ): Promise<TaskRecord> {
    const t = this.leased(id, leaseToken);
    // An ended lease may let a key at its cap lease again: the lane's listeners hear of it.
    const store = this.begin();
    this.finish(t, result, now);
    store.evict(now);
    store.flush();
    return t;
  }

  async completeMany(
    completions: readonly Completion[],
    now: number,
  ): Promise<(TaskRecord | SwitchboardError)[]> {
    const store = this.begin();
    const out: (TaskRecord | SwitchboardError)[] = new Array(completions.length);
    for (let i = 0; i < completions.length; i++) {
      const c = completions[i] as Completion;
      const t = this.store.tasks.get(c.id);
      if (t === undefined) out[i] = noTask(c.id);
      else if (t.status !== 'leased') out[i] = notLeased(t);
      else if (t.leaseToken !== c.leaseToken) out[i] = staleToken(c.id);
      else {
        this.finish(t, c.result, now);
        out[i] = t;
      }
    }
    // One eviction pass for the whole batch.
    store.evict(now);
    store.flush();
    return out;
  }

  async fail(
    id: string,
    leaseToken: string,
    error: TaskError,
    outcome: FailOutcome,
    now: number,
  ): Promise<TaskRecord> {
    const t = this.leased(id, leaseToken);
    const store = this.begin();
    t.error = error;
    t.updatedAt = now;
    if (outcome.retry && t.attempts < t.maxAttempts) store.queue(t, outcome.availableAt, now);
    else store.kill(t, now);
    store.untrack(t);
    store.evict(now);
    store.flush();
    return t;
  }

  async extend(id: string, leaseToken: string, ms: number, now: number): Promise<TaskRecord> {
    this.guard();
    if (!(ms > 0) || !Number.isFinite(ms)) {
      throw new SwitchboardError('invalid_request', `[memory] extend ms must be > 0`, {
        details: { ms },
      });
    }
    const t = this.leased(id, leaseToken);
    t.leaseExpiresAt = now + ms;
    t.updatedAt = now;
    // The entry of the previous expiry stays behind, stale, until it surfaces or is compacted.
    this.store.track(t, t.leaseExpiresAt);
    return t;
  }

  async progress(
    id: string,
    leaseToken: string,
    progress: TaskProgress | undefined,
    ms: number | undefined,
    now: number,
  ): Promise<TaskRecord> {
    const t = await this.extend(id, leaseToken, ms ?? this.leased(id, leaseToken).timeoutMs, now);
    // Truthiness, so that a null from a caller across JSON (which has no undefined) is absent too.
    if (progress) t.progress = progress;
    return t;
  }

  async release(
    leases: readonly { id: string; leaseToken: string }[],
    error: TaskError,
    now: number,
  ): Promise<TaskRecord[]> {
    const store = this.begin();
    const released: TaskRecord[] = [];
    for (const { id, leaseToken } of leases) {
      const t = store.tasks.get(id);
      if (t === undefined || t.status !== 'leased' || t.leaseToken !== leaseToken) continue;
      store.endLease(t, error, now);
      released.push(t);
    }
    store.evict(now);
    store.flush();
    return released;
  }

  async cancel(id: string, now: number): Promise<TaskRecord> {
    const store = this.begin();
    const t = this.find(id);
    const was = t.status;
    if (was === 'queued') this.store.unqueue(t);
    else if (was !== 'leased') throw notLeased(t);
    t.status = 'cancelled';
    t.updatedAt = now;
    if (was === 'leased') store.untrack(t);
    store.retire(t, now);
    store.evict(now);
    store.flush();
    return t;
  }

  async get(id: string): Promise<TaskRecord | undefined> {
    this.guard();
    return this.store.columns.record(id);
  }

  async expireLeases(now: number): Promise<TaskRecord[]> {
    const store = this.begin();
    const expired = store.expire(now, EXPIRED);
    store.flush();
    return expired;
  }

  async readyCapabilities(now: number): Promise<string[]> {
    const store = this.begin();
    store.promote(now);
    const ready = store.lanes.ready();
    store.flush();
    return ready;
  }

  async nextAvailableAt(): Promise<number | undefined> {
    this.guard();
    return this.store.nextAvailableAt();
  }

  /**
   * {@link Backend.listTasks}: an `idempotencyKey` is one lookup; any other query looks at
   * every stored task once (O(n log limit)) and keeps only a page of them in memory.
   */
  async listTasks(query: TaskListQuery): Promise<TaskPage> {
    this.guard();
    return listStored(this.store, query);
  }

  async deadLetters(limit = Number.POSITIVE_INFINITY): Promise<TaskRecord[]> {
    this.guard();
    if (!(limit >= 0)) {
      throw new SwitchboardError('invalid_request', `[memory] limit must be ≥ 0`, {
        details: { limit },
      });
    }
    const out: TaskRecord[] = [];
    for (const t of this.store.dead.values()) {
      if (out.length >= limit) break;
      out.push(t);
    }
    return out;
  }

  async replay(id: string, now: number): Promise<TaskRecord> {
    const store = this.begin();
    const t = this.deadLetter(id);
    store.revive(t);
    t.attempts = 0;
    // A replayed task starts over: the old error would read as this run's.
    delete t.error;
    t.updatedAt = now;
    store.queue(t, now, now);
    store.flush();
    return t;
  }

  async deleteDeadLetter(id: string): Promise<void> {
    this.guard();
    this.store.deleteDead(this.deadLetter(id));
  }

  async stats(): Promise<QueueStats> {
    this.guard();
    return this.store.stats();
  }

  onAvailable(listener: (capability: string) => void): () => void {
    this.guard();
    const { listeners } = this.store.lanes;
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
    };
  }

  /** What this backend holds right now: tasks, retained records, queue and heap slots. */
  usage(): MemoryBackendUsage {
    return this.store.usage();
  }

  private guard(): void {
    if (this.closed) throw new SwitchboardError('unavailable', '[memory] backend is closed');
  }

  /** Starts an operation that may make tasks available (and so notify listeners). */
  private begin(): MemoryStore {
    this.guard();
    this.store.lanes.begin();
    return this.store;
  }

  private find(id: string): TaskRecord {
    const t = this.store.columns.record(id);
    if (t === undefined) throw noTask(id);
    return t;
  }

  /** Completes a live lease (validated by the caller); the caller evicts. */
  private finish(t: TaskRecord, result: unknown, now: number): void {
    t.status = 'completed';
    t.result = result;
    t.updatedAt = now;
    this.store.untrack(t);
    this.store.retire(t, now);
  }

  /** The task of a live lease; `conflict` for a stale or foreign token or a task not leased. */
  private leased(id: string, leaseToken: string): TaskRecord {
    this.guard();
    const t = this.find(id);
    if (t.status !== 'leased') throw notLeased(t);
    if (t.leaseToken !== leaseToken) throw staleToken(id);
    return t;
  }

  private deadLetter(id: string): TaskRecord {
    const t = this.store.dead.get(id);
    if (t === undefined) {
      throw new SwitchboardError('not_found', `[memory] no dead letter ${id}`, { details: { id } });
    }
    return t;
  }
}

/**
 * Creates the in-memory {@link Backend}.
 *
 * @example
 * ```ts
 * const backend = createMemoryBackend({ maxRetained: 50_000, retainMs: 3_600_000 })
 * await backend.open()
 * ```
 */
export function createMemoryBackend(options?: MemoryBackendOptions): MemoryBackend {
  return new MemoryBackend(options);
}
