import {
  type AgentDirectory,
  type Backend,
  type BackendFairness,
  type Completion,
  type EnqueueResult,
  type FailOutcome,
  type LeaseRequest,
  MemoryBackend,
  type QueueStats,
  type ScheduleStore,
  SwitchboardError,
  type TaskError,
  type TaskListQuery,
  type TaskPage,
  type TaskProgress,
  type TaskRecord,
} from '@switchboard/core';
import { DeferredNotifier } from './deferred-notifier.js';
import type { JournalLock } from './dir-lock.js';
import { FrameCodec } from './frame.js';
import { JournalAgentDirectory } from './journal-agents.js';
import type { JournalOp } from './journal-ops.js';
import {
  type JournalBackendOptions,
  type ResolvedJournalOptions,
  resolveJournalOptions,
} from './journal-options.js';
import { JournalScheduleStore } from './journal-schedules.js';
import type { LogWriter, LogWriterStats } from './log-writer.js';
import { openJournal } from './open-journal.js';
import { RecordIndex } from './record-index.js';

/** The name the journal backend reports and registers under. */
export const JOURNAL_BACKEND = 'journal';

const VOID = Promise.resolve();

/**
 * The journal {@link Backend}: a {@link MemoryBackend} holds the live state, and every
 * change is appended to a log of checksummed CBOR frames before the operation resolves
 * (write-ahead, with group commit), so what was acknowledged survives `kill -9` (and, under
 * durability `fsync`, a power loss). `open()` rebuilds the state from the newest snapshot
 * and the log after it. A lease handed off to a remote agent still registered is kept, token
 * and expiry included; a lease of the process's own handlers (taken with a process-only
 * token) ends as an expired lease does: the attempt counts, so a task that takes its process
 * down on every attempt ends in the dead-letter queue; a lease no agent had got yet is
 * queued again with its attempt not counted. The log is compacted into a snapshot once it
 * passes `compactAfterBytes`. See docs/operations.md ("Journal backend").
 *
 * Reads (`get`, `stats`, …) see changes as soon as they are made, before they are durable;
 * `onAvailable` listeners hear of tasks once their frame is in the log.
 */
export class JournalBackend implements Backend {
  readonly name = JOURNAL_BACKEND;
  readonly durable = true;
  /** Remote agents' registrations, kept in the log: they outlive a restart. */
  readonly agents: AgentDirectory = new JournalAgentDirectory(
    () => this.index,
    (op) => this.log(op),
    () => this.guard(),
  );
  /** The schedules, kept in the log: they and their ticks outlive a restart. */
  readonly schedules: ScheduleStore = new JournalScheduleStore(
    () => this.index,
    (op) => this.log(op),
    () => this.guard(),
  );

  /**
   * Fair dispatch among fairness keys, by the memory backend that holds the live state
   * (docs/fairness.md). Weights and caps are configuration, not state: the log keeps none.
   */
  readonly fairness: BackendFairness;

  private readonly opts: ResolvedJournalOptions;
  private readonly codec = new FrameCodec();
  private readonly memory: MemoryBackend;
  private index = new RecordIndex();
  private writer: LogWriter | undefined;
  private opening: Promise<void> | undefined;
  private closed = false;
  private readonly notifier = new DeferredNotifier();
  private lock: JournalLock | undefined;

  constructor(options: JournalBackendOptions) {
    this.opts = resolveJournalOptions(options);
    this.memory = new MemoryBackend(this.opts.memory);
    this.fairness = this.memory.fairness;
    this.memory.onAvailable(this.notifier.note);
  }

  open(): Promise<void> {
    if (this.closed) return Promise.reject(closedError());
    this.opening ??= this.recover();
    return this.opening;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.opening?.catch(() => undefined);
    const writer = this.writer;
    this.writer = undefined;
    try {
      await writer?.close();
    } finally {
      await this.memory.close();
      await this.lock?.release();
    }
  }

  async enqueue(records: readonly TaskRecord[]): Promise<EnqueueResult[]> {
    this.guard();
    const results = await this.memory.enqueue(records);
    const tasks: TaskRecord[] = [];
    for (const r of results) {
      if (!r.created) continue;
      tasks.push(r.task);
      this.index.add(r.task);
    }
    await this.log(tasks.length > 0 ? { op: 'enqueue', tasks, now: Date.now() } : undefined);
    return results;
  }

  /** `enqueue` for records without idempotency keys (see `Backend.enqueueNew`). */
  async enqueueNew(records: readonly TaskRecord[]): Promise<void> {
    this.guard();
    await this.memory.enqueueNew(records);
    for (const t of records) this.index.add(t);
    await this.log(
      records.length > 0 ? { op: 'enqueue', tasks: records, now: Date.now() } : undefined,
    );
  }

  async lease(request: LeaseRequest): Promise<TaskRecord[]> {
    this.guard();
    const leased = await this.memory.lease(request);
    let op: JournalOp | undefined;
    if (leased.length > 0) {
      const ids: string[] = [];
      const tokens: string[] = [];
      const attempts: number[] = [];
      for (const t of leased) {
        ids.push(t.id);
        tokens.push(t.leaseToken as string);
        attempts.push(t.attempts);
      }
      op = { op: 'lease', ids, tokens, attempts, agentId: request.agentId, now: request.now };
      // Without a process-only token a remote agent may get these: they are not ours alone.
      if (request.token === undefined) {
        op.open = true;
        for (let i = 0; i < ids.length; i++) {
          this.index.held.set(ids[i] as string, { token: tokens[i] as string });
        }
      }
    }
    await this.log(op);
    return leased;
  }

  async complete(
    id: string,
    leaseToken: string,
    result: unknown,
    now: number,
  ): Promise<TaskRecord> {
    this.guard();
    const t = await this.memory.complete(id, leaseToken, result, now);
    this.index.touch(t);
    await this.log({ op: 'complete', ids: [id], results: [result], now });
    return t;
  }

  async completeMany(
    completions: readonly Completion[],
    now: number,
  ): Promise<(TaskRecord | SwitchboardError)[]> {
    this.guard();
    const out = await this.memory.completeMany(completions, now);
    const ids: string[] = [];
    const results: unknown[] = [];
    for (let i = 0; i < out.length; i++) {
      const t = out[i];
      if (t instanceof SwitchboardError || t === undefined) continue;
      this.index.touch(t);
      ids.push(t.id);
      results.push((completions[i] as Completion).result);
    }
    await this.log(ids.length > 0 ? { op: 'complete', ids, results, now } : undefined);
    return out;
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
    this.index.touch(t);
    const { status, availableAt } = t;
    await this.log({ op: 'fail', id, error, status, availableAt, now });
    return t;
  }

  async extend(id: string, leaseToken: string, ms: number, now: number): Promise<TaskRecord> {
    this.guard();
    const t = await this.memory.extend(id, leaseToken, ms, now);
    await this.log({ op: 'extend', id, ms, now });
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
    const renewed = (t.leaseExpiresAt ?? now) - now;
    await this.log(
      progress === undefined
        ? { op: 'progress', id, ms: renewed, now }
        : { op: 'progress', id, ms: renewed, progress, now },
    );
    return t;
  }

  async release(
    leases: readonly { id: string; leaseToken: string }[],
    error: TaskError,
    now: number,
  ): Promise<TaskRecord[]> {
    this.guard();
    const released = await this.memory.release(leases, error, now);
    await this.log(this.released(released, error, now));
    return released;
  }

  /** Records the hand-off in the log: the leases outlive this process (see `open`). */
  async handOff(
    leases: readonly { id: string; leaseToken: string }[],
    agentId: string,
    now: number,
  ): Promise<void> {
    this.guard();
    const { ids, tokens } = this.index.handOff(leases, agentId);
    await this.log(ids.length > 0 ? { op: 'handoff', ids, tokens, agentId, now } : undefined);
  }

  /** The live leases handed off to `agentId` (kept across a restart). */
  async agentLeases(agentId: string): Promise<TaskRecord[]> {
    this.guard();
    return this.index.heldBy(agentId);
  }

  async cancel(id: string, now: number): Promise<TaskRecord> {
    this.guard();
    const t = await this.memory.cancel(id, now);
    this.index.touch(t);
    await this.log({ op: 'cancel', id, now });
    return t;
  }

  async get(id: string): Promise<TaskRecord | undefined> {
    this.guard();
    return this.memory.get(id);
  }

  async expireLeases(now: number): Promise<TaskRecord[]> {
    this.guard();
    const expired = await this.memory.expireLeases(now);
    const error = expired[0]?.error ?? { message: 'lease expired' };
    await this.log(this.released(expired, error, now));
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
    this.index.touch(t);
    await this.log({ op: 'replay', id, now });
    return t;
  }

  async deleteDeadLetter(id: string): Promise<void> {
    this.guard();
    const t = this.index.get(id);
    await this.memory.deleteDeadLetter(id);
    if (t !== undefined) this.index.remove(t);
    await this.log({ op: 'delete', id, now: Date.now() });
  }

  async stats(): Promise<QueueStats> {
    this.guard();
    return this.memory.stats();
  }

  onAvailable(listener: (capability: string) => void): () => void {
    if (this.closed) throw closedError();
    return this.notifier.listen(listener);
  }

  /** Figures of the log: its generation and size, compactions, writes and fsyncs. */
  journalStats(): LogWriterStats & { records: number } {
    const stats = this.writer?.stats ?? {
      gen: 0,
      logBytes: 0,
      compactions: 0,
      writes: 0,
      syncs: 0,
    };
    return { ...stats, records: this.index.size };
  }

  private async recover(): Promise<void> {
    const { fs, dir } = this.opts;
    await fs.mkdir(dir);
    const lock = await fs.lock?.(dir);
    let opened: Awaited<ReturnType<typeof openJournal>>;
    try {
      opened = await openJournal(this.opts, this.codec, this.memory);
    } catch (error) {
      await lock?.release();
      throw error;
    }
    this.lock = lock;
    const { index, writer, lost, requeued, now } = opened;
    this.index = index;
    this.writer = writer;
    if (requeued.length > 0) {
      const ids = requeued.map((t) => t.id);
      await this.log({ op: 'recover', ids, attempts: requeued.map((t) => t.attempts), now });
    }
    if (lost.length > 0) await this.log({ op: 'lost', ids: lost.map((t) => t.id), now });
    this.reportRecovery(lost, requeued);
  }

  /**
   * One line of what `open()` found: the tasks queued and dead, the leases kept for remote
   * agents, and those that ended with the previous process (queued again or dead-lettered).
   */
  private reportRecovery(lost: readonly TaskRecord[], requeued: readonly TaskRecord[]): void {
    let queued = 0;
    let leasesKept = 0;
    let dead = 0;
    for (const t of this.index.records.values()) {
      if (t.status === 'queued') queued++;
      else if (t.status === 'leased') leasesKept++;
      else if (t.status === 'dead') dead++;
    }
    const lostDead = lost.filter((t) => t.status === 'dead').length;
    const fields = {
      dir: this.opts.dir,
      queued,
      leasesKept,
      leasesEnded: lost.length,
      leasesEndedDead: lostDead,
      leasesRequeued: requeued.length,
      deadLetters: dead,
      agents: this.index.agents.size,
    };
    this.opts.logger.info(
      `journal ${this.opts.dir} recovered: ${queued} queued, ${leasesKept} leases kept for ` +
        `remote agents, ${lost.length} ended with the last process (${lostDead} of them ` +
        `dead-lettered), ${requeued.length} requeued unrun, ${dead} dead letters, ` +
        `${fields.agents} remote agents registered`,
      fields,
    );
  }

  private released(tasks: TaskRecord[], error: TaskError, now: number): JournalOp | undefined {
    if (tasks.length === 0) return undefined;
    const ids: string[] = [];
    const status: TaskRecord['status'][] = [];
    for (const t of tasks) {
      this.index.touch(t);
      ids.push(t.id);
      status.push(t.status);
    }
    return { op: 'release', ids, status, error, now };
  }

  /**
   * Appends `op` (if any), tells `onAvailable` listeners of what became available, and
   * returns when the frame is durable. Called in the same tick as the memory operation.
   */
  private log(op: JournalOp | undefined): Promise<void> {
    const writer = this.writer as LogWriter;
    const done = op === undefined ? VOID : writer.append(this.codec.encode(op));
    this.notifier.flush();
    return done;
  }

  private guard(): void {
    if (this.closed) throw closedError();
    if (this.writer === undefined) {
      throw new SwitchboardError('unavailable', '[journal] not open: call open() first');
    }
    if (this.writer.failure !== undefined) throw this.writer.failure;
  }
}

function closedError(): SwitchboardError {
  return new SwitchboardError('unavailable', '[journal] backend is closed');
}

/**
 * Creates the journal {@link Backend} over the directory `dir`.
 *
 * @example
 * ```ts
 * import { createJournalBackend } from '@switchboard/plugins/journal'
 * const backend = createJournalBackend({ dir: './data/journal', durability: 'fsync' })
 * await backend.open() // replays the journal
 * const sb = createSwitchboard({ backend })
 * ```
 */
export function createJournalBackend(options: JournalBackendOptions): JournalBackend {
  return new JournalBackend(options);
}
