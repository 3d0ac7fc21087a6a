import {
  type AgentDirectory,
  type AgentRecord,
  type Backend,
  type BackendFairness,
  type Completion,
  type EnqueueResult,
  type FailOutcome,
  type LeaseRequest,
  MemoryBackend,
  type QueueStats,
  type ScheduleRecord,
  type ScheduleStore,
  SwitchboardError,
  type TaskError,
  type TaskListQuery,
  type TaskPage,
  type TaskProgress,
  type TaskRecord,
} from '@switchboard/core';
import { DeferredNotifier } from '../journal/deferred-notifier.js';
import { JournalAgentDirectory } from '../journal/journal-agents.js';
import type { JournalOp } from '../journal/journal-ops.js';
import { JournalScheduleStore } from '../journal/journal-schedules.js';
import { type HeldLease, RecordIndex } from '../journal/record-index.js';
import { restoreInto } from '../journal/restore.js';
import { pruneEvicted, settleLeases } from '../journal/settle-leases.js';
import {
  type DurableObjectBackendOptions,
  type DurableObjectStorageLike,
  type ResolvedDurableObjectOptions,
  resolveDurableObjectOptions,
} from './durable-object-storage.js';

/** The name the Durable Object backend reports. */
export const DURABLE_OBJECT_BACKEND = 'durable-object';

// The key-value API takes at most this many keys in one put or delete.
const MAX_KEYS = 128;
// Finished tasks the memory backend may have evicted (its retention bounds) are looked for,
// and their keys deleted, once this many tasks have finished since the last look.
const PRUNE_EVERY = 1024;

/** What is stored under a task's key: the record, its place in the order, its holder. */
interface StoredTask {
  /** The order each record last became queued or terminal, which a reopen restores. */
  seq: number;
  task: TaskRecord;
  held?: HeldLease;
}

/**
 * The {@link Backend} on a Durable Object's storage: a {@link MemoryBackend} holds the live
 * state, and each operation writes the task records it changed (one key each) to the
 * object's storage before it resolves, in the order the operations were made. `open()` reads
 * them back (a new object after an eviction, a deploy or a restart) and settles leases as the
 * journal backend does on reopening: a lease handed off to a remote agent still registered
 * is kept, token and expiry included; a lease of the object's own handlers ends as an
 * expired lease does, its attempt counted; a lease no agent had got yet is queued again,
 * its attempt not counted. Remote agents' registrations are stored too.
 *
 * Reads (`get`, `stats`, …) see changes as soon as they are made, before they are stored;
 * `onAvailable` listeners hear of tasks once their writes are issued.
 */
export class DurableObjectBackend implements Backend {
  readonly name = DURABLE_OBJECT_BACKEND;
  readonly durable = true;
  /** Remote agents' registrations, stored: they outlive the object's eviction. */
  readonly agents: AgentDirectory = new JournalAgentDirectory(
    () => this.index,
    (op) => this.kept(op),
    () => this.guard(),
  );
  /** The schedules, stored (one key each): they and their ticks outlive the object's eviction. */
  readonly schedules: ScheduleStore = new JournalScheduleStore(
    () => this.index,
    (op) => this.kept(op),
    () => this.guard(),
  );

  /**
   * Fair dispatch among fairness keys, by the memory backend that holds the live state
   * (docs/fairness.md). Weights and caps are configuration, not state: nothing is stored.
   */
  readonly fairness: BackendFairness;

  private readonly opts: ResolvedDurableObjectOptions;
  private readonly storage: DurableObjectStorageLike;
  private readonly memory: MemoryBackend;
  private readonly notifier = new DeferredNotifier();
  private index = new RecordIndex();
  private readonly seqs = new Map<string, number>();
  private seq = 0;
  /** Tasks changed since the last write, by id. */
  private readonly dirty = new Set<string>();
  private finishedSincePrune = 0;
  /** The writes issued so far, settled in order. */
  private written: Promise<unknown> = Promise.resolve();
  private opening: Promise<void> | undefined;
  private opened = false;
  private closed = false;
  private failure: SwitchboardError | undefined;

  constructor(options: DurableObjectBackendOptions) {
    this.opts = resolveDurableObjectOptions(options);
    this.storage = this.opts.storage;
    this.memory = new MemoryBackend(this.opts.memory);
    this.fairness = this.memory.fairness;
    this.memory.onAvailable(this.notifier.note);
  }

  open(): Promise<void> {
    if (this.closed) return Promise.reject(closedError());
    this.opening ??= this.load();
    return this.opening;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.opening?.catch(() => undefined);
    try {
      await this.written;
    } finally {
      await this.memory.close();
    }
  }

  async enqueue(records: readonly TaskRecord[]): Promise<EnqueueResult[]> {
    this.guard();
    for (const t of records) this.checkSize(t);
    const results = await this.memory.enqueue(records);
    for (const r of results) if (r.created) this.added(r.task);
    await this.write();
    return results;
  }

  /** `enqueue` for records without idempotency keys (see `Backend.enqueueNew`). */
  async enqueueNew(records: readonly TaskRecord[]): Promise<void> {
    this.guard();
    for (const t of records) this.checkSize(t);
    await this.memory.enqueueNew(records);
    for (const t of records) this.added(t);
    await this.write();
  }

  async lease(request: LeaseRequest): Promise<TaskRecord[]> {
    this.guard();
    const leased = await this.memory.lease(request);
    for (const t of leased) {
      // Without a process-only token a remote agent may get these: they are not ours alone.
      if (request.token === undefined) this.index.held.set(t.id, { token: t.leaseToken as string });
      this.dirty.add(t.id);
    }
    await this.write();
    return leased;
  }

  async complete(
    id: string,
    leaseToken: string,
    result: unknown,
    now: number,
  ): Promise<TaskRecord> {
    this.guard();
    const stored = this.index.get(id);
    if (stored !== undefined) this.checkSize(stored, result);
    const t = await this.memory.complete(id, leaseToken, result, now);
    this.touched(t);
    await this.write();
    return t;
  }

  async completeMany(
    completions: readonly Completion[],
    now: number,
  ): Promise<(TaskRecord | SwitchboardError)[]> {
    this.guard();
    // A result too large to store fails its own slot, as a stale token would.
    const out: (TaskRecord | SwitchboardError | undefined)[] = [];
    const fitting: Completion[] = [];
    for (const c of completions) {
      const stored = this.index.get(c.id);
      const error = stored === undefined ? undefined : this.sizeError(stored, c.result);
      out.push(error);
      if (error === undefined) fitting.push(c);
    }
    const done = await this.memory.completeMany(fitting, now);
    let next = 0;
    for (let i = 0; i < out.length; i++) {
      if (out[i] === undefined) out[i] = done[next++] as TaskRecord | SwitchboardError;
    }
    for (const t of done) if (!(t instanceof SwitchboardError)) this.touched(t);
    await this.write();
    return out as (TaskRecord | SwitchboardError)[];
  }

  async fail(
    id: string,
    leaseToken: string,
    error: TaskError,
    outcome: FailOutcome,
    now: number,
  ): Promise<TaskRecord> {
    this.guard();
    const t = await this.memory.fail(id, leaseToken, error, outcome, now);
    this.touched(t);
    await this.write();
    return t;
  }

  async extend(id: string, leaseToken: string, ms: number, now: number): Promise<TaskRecord> {
    this.guard();
    const t = await this.memory.extend(id, leaseToken, ms, now);
    this.dirty.add(t.id);
    await this.write();
    return t;
  }

  async progress(
    id: string,
    leaseToken: string,
    progress: TaskProgress | undefined,
    ms: number | undefined,
    now: number,
  ): Promise<TaskRecord> {
    this.guard();
    const t = await this.memory.progress(id, leaseToken, progress, ms, now);
    this.dirty.add(t.id);
    await this.write();
    return t;
  }

  async release(
    leases: readonly { id: string; leaseToken: string }[],
    error: TaskError,
    now: number,
  ): Promise<TaskRecord[]> {
    this.guard();
    const released = await this.memory.release(leases, error, now);
    for (const t of released) this.touched(t);
    await this.write();
    return released;
  }

  /** Stores the hand-off: the leases outlive the object (see `open`). */
  async handOff(
    leases: readonly { id: string; leaseToken: string }[],
    agentId: string,
    _now: number,
  ): Promise<void> {
    this.guard();
    for (const id of this.index.handOff(leases, agentId).ids) this.dirty.add(id);
    await this.write();
  }

  /** The live leases handed off to `agentId` (kept across an eviction). */
  async agentLeases(agentId: string): Promise<TaskRecord[]> {
    this.guard();
    return this.index.heldBy(agentId);
  }

  async cancel(id: string, now: number): Promise<TaskRecord> {
    this.guard();
    const t = await this.memory.cancel(id, now);
    this.touched(t);
    await this.write();
    return t;
  }

  async get(id: string): Promise<TaskRecord | undefined> {
    this.guard();
    return this.memory.get(id);
  }

  async expireLeases(now: number): Promise<TaskRecord[]> {
    this.guard();
    const expired = await this.memory.expireLeases(now);
    for (const t of expired) this.touched(t);
    await this.write();
    return expired;
  }

  async readyCapabilities(now: number): Promise<string[]> {
    this.guard();
    const ready = await this.memory.readyCapabilities(now);
    this.notifier.flush();
    return ready;
  }

  async nextAvailableAt(): Promise<number | undefined> {
    this.guard();
    return this.memory.nextAvailableAt();
  }

  /** {@link Backend.listTasks}, read from the live state (as the memory backend's costs). */
  async listTasks(query: TaskListQuery): Promise<TaskPage> {
    this.guard();
    return this.memory.listTasks(query);
  }

  async deadLetters(limit?: number): Promise<TaskRecord[]> {
    this.guard();
    return this.memory.deadLetters(limit);
  }

  async replay(id: string, now: number): Promise<TaskRecord> {
    this.guard();
    const t = await this.memory.replay(id, now);
    this.touched(t);
    await this.write();
    return t;
  }

  async deleteDeadLetter(id: string): Promise<void> {
    this.guard();
    const t = this.index.get(id);
    await this.memory.deleteDeadLetter(id);
    if (t !== undefined) this.removed(t);
    await this.write();
  }

  async stats(): Promise<QueueStats> {
    this.guard();
    return this.memory.stats();
  }

  onAvailable(listener: (capability: string) => void): () => void {
    if (this.closed) throw closedError();
    return this.notifier.listen(listener);
  }

  /** Reads the stored state back into the memory backend and settles the leases it held. */
  private async load(): Promise<void> {
    const { prefix } = this.opts;
    const tasks = await this.storage.list<StoredTask>({ prefix: `${prefix}t:` });
    const agents = await this.storage.list<AgentRecord>({ prefix: `${prefix}a:` });
    const schedules = await this.storage.list<ScheduleRecord>({ prefix: `${prefix}s:` });
    const stored = [...tasks.values()].sort((a, b) => a.seq - b.seq);
    const index = new RecordIndex();
    for (const { seq, task, held } of stored) {
      index.add(task);
      this.seqs.set(task.id, seq);
      if (held !== undefined) index.held.set(task.id, held);
      this.seq = Math.max(this.seq, seq);
    }
    for (const agent of agents.values()) index.agents.set(agent.id, agent);
    for (const schedule of schedules.values()) index.schedules.set(schedule.id, schedule);
    const now = Date.now();
    const { lost, requeued } = settleLeases(index, now);
    this.index = index;
    // A lease that ended dead became terminal now: it goes to the end of the order, as in the
    // index; one queued again keeps its place.
    for (const t of requeued) this.dirty.add(t.id);
    for (const t of lost) {
      if (t.status === 'dead') this.seqs.set(t.id, ++this.seq);
      this.dirty.add(t.id);
    }
    await restoreInto(this.memory, index.records.values());
    // Agents could not reach an object that was not running: each gets a full heartbeat
    // timeout, from now, to come back before it counts as dead.
    for (const agent of index.agents.values()) agent.lastHeartbeatAt = now;
    for (const t of await pruneEvicted(index, this.memory)) this.removed(t);
    this.opened = true;
    await this.write();
  }

  /** Throws what {@link sizeError} finds. */
  private checkSize(t: TaskRecord, result?: unknown): void {
    const error = this.sizeError(t, result);
    if (error !== undefined) throw error;
  }

  /**
   * `payload_too_large` when the record of `t` (with `result`, when it is being completed)
   * would not fit one value of the object's storage, measured as JSON: a write the storage
   * refuses would leave the live state ahead of the stored one, so it is refused before
   * anything changes.
   */
  private sizeError(t: TaskRecord, result?: unknown): SwitchboardError | undefined {
    const bytes = jsonLength(t) + (result === undefined ? 0 : jsonLength(result));
    const max = this.opts.maxRecordBytes;
    if (bytes <= max) return undefined;
    return new SwitchboardError(
      'payload_too_large',
      `[durable-object] task ${t.id} would take ${bytes} bytes of storage with its ${result === undefined ? 'payload' : 'result'}, past maxRecordBytes (${max})`,
      { details: { id: t.id, bytes, maxRecordBytes: max } },
    );
  }

  /** A new record, at the end of the order. */
  private added(t: TaskRecord): void {
    this.index.add(t);
    this.seqs.set(t.id, ++this.seq);
    this.dirty.add(t.id);
  }

  /** A record that became queued or terminal: it moves to the end of the order. */
  private touched(t: TaskRecord): void {
    this.index.touch(t);
    this.seqs.set(t.id, ++this.seq);
    this.dirty.add(t.id);
    if (t.status !== 'queued') this.finishedSincePrune++;
  }

  private removed(t: TaskRecord): void {
    this.index.remove(t);
    if (this.index.get(t.id) === undefined) this.seqs.delete(t.id);
    this.dirty.add(t.id);
  }

  /** Stores a change of a remote agent's registration or of a schedule, as the journal logs it. */
  private kept(op: JournalOp): Promise<void> {
    const { prefix } = this.opts;
    if (op.op === 'agent') {
      return this.track(this.storage.put({ [`${prefix}a:${op.record.id}`]: op.record }));
    }
    if (op.op === 'agent-gone') return this.track(this.storage.delete([`${prefix}a:${op.id}`]));
    if (op.op === 'schedule') {
      return this.track(this.storage.put({ [`${prefix}s:${op.record.id}`]: op.record }));
    }
    if (op.op === 'schedule-gone') {
      return this.track(this.storage.delete([`${prefix}s:${op.id}`]));
    }
    return this.write();
  }

  /**
   * Writes every changed task as it now stands (deleting those no longer held), tells
   * `onAvailable` listeners of what became available, and resolves once the object's storage
   * has the writes of this call and of every call before it. Called in the same tick as the
   * memory operation, so writes are issued in the order of the operations.
   */
  private async write(): Promise<void> {
    if (this.finishedSincePrune >= PRUNE_EVERY) {
      this.finishedSincePrune = 0;
      // The memory backend's answer is synchronous in effect: no other operation runs
      // between its look and the removals.
      for (const t of await pruneEvicted(this.index, this.memory)) this.removed(t);
    }
    const { prefix } = this.opts;
    const puts: Record<string, unknown>[] = [];
    const deletes: string[] = [];
    let batch: Record<string, unknown> = {};
    let size = 0;
    for (const id of this.dirty) {
      const key = `${prefix}t:${id}`;
      const task = this.index.get(id);
      const seq = this.seqs.get(id);
      if (task === undefined || seq === undefined) {
        deletes.push(key);
        continue;
      }
      const held = this.index.heldLease(id);
      const value: StoredTask = held === undefined ? { seq, task } : { seq, task, held };
      batch[key] = value;
      if (++size === MAX_KEYS) {
        puts.push(batch);
        batch = {};
        size = 0;
      }
    }
    this.dirty.clear();
    if (size > 0) puts.push(batch);
    const writes: Promise<unknown>[] = [];
    try {
      // Each value is serialized as put() is called: a later change to a record in memory
      // does not reach a write already made.
      for (const entries of puts) writes.push(this.storage.put(entries));
      for (let i = 0; i < deletes.length; i += MAX_KEYS) {
        writes.push(this.storage.delete(deletes.slice(i, i + MAX_KEYS)));
      }
    } catch (err) {
      writes.push(Promise.reject(err));
    }
    this.notifier.flush();
    await this.track(Promise.all(writes));
  }

  /**
   * Chains `write` after the writes before it. A write that fails leaves memory ahead of
   * storage: the backend refuses every later call (`unavailable`) rather than acknowledge
   * changes a new object would not find.
   */
  private track(write: Promise<unknown>): Promise<void> {
    const all = Promise.all([this.written, write]).then(
      () => undefined,
      (err: unknown) => {
        this.failure ??= new SwitchboardError(
          'unavailable',
          `[durable-object] a write to the object's storage failed: ${messageOf(err)}`,
          { cause: err },
        );
        throw this.failure;
      },
    );
    this.written = all.catch(() => undefined);
    return all;
  }

  private guard(): void {
    if (this.closed) throw closedError();
    if (!this.opened) {
      throw new SwitchboardError('unavailable', '[durable-object] not open: call open() first');
    }
    if (this.failure !== undefined) throw this.failure;
  }
}

/** The length of `value` as JSON; 0 for what JSON cannot hold (the storage then decides). */
function jsonLength(value: unknown): number {
  try {
    return JSON.stringify(value)?.length ?? 0;
  } catch {
    // A value JSON cannot encode (a BigInt, a cycle) is left for the storage to accept or refuse.
    return 0;
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function closedError(): SwitchboardError {
  return new SwitchboardError('unavailable', '[durable-object] backend is closed');
}

/**
 * Creates the {@link Backend} on a Durable Object's storage, for a Switchboard the object
 * holds.
 *
 * @example
 * ```ts
 * import { createDurableObjectBackend } from '@switchboard/plugins/durable-object'
 * export class Hub {
 *   constructor(ctx, env) {
 *     const backend = createDurableObjectBackend({ storage: ctx.storage })
 *     this.sb = createSwitchboard({ backend })
 *     this.started = backend.open().then(() => this.sb.start()) // reads the stored tasks
 *   }
 * }
 * ```
 */
export function createDurableObjectBackend(
  options: DurableObjectBackendOptions,
): DurableObjectBackend {
  return new DurableObjectBackend(options);
}
