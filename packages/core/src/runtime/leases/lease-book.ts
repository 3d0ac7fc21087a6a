import type { Telemetry } from '../../contracts/telemetry.js';
import { isSwitchboardError, SwitchboardError } from '../../errors.js';
import type { TaskError, TaskRecord } from '../../model/task.js';
import { TaskIndex } from '../../structures/task-index.js';
import type { Engine } from '../engine.js';
import { type InFlight, type LeaseStage, newLease, type PoolMember } from '../pool/pool-member.js';
import type { Leases } from '../roles.js';
import { retryDecision } from './backoff.js';
import { CompletionBatch } from './completion-batch.js';

/** The roles the lease book uses, so that it can be built and tested with just these. */
export type LeaseBookRoles = Pick<
  Engine,
  | 'backend'
  | 'backoff'
  | 'dispatcher'
  | 'emit'
  | 'events'
  | 'failures'
  | 'hungGraceMs'
  | 'listens'
  | 'monitor'
  | 'now'
  | 'onError'
  | 'random'
  | 'recovery'
  | 'running'
  | 'taskPolicies'
  | 'telemetry'
  | 'tracker'
>;

/** Sweeps closer together than this are merged: one timer serves every lease. */
const SWEEP_GRANULARITY_MS = 5;
/** After a sweep failed (the backend is unreachable), the next one waits at least this long. */
const SWEEP_RETRY_MS = 500;
/** On a backend several processes share, a sweep runs at least this often. */
export const CLUSTER_SWEEP_MS = 1_000;

/** The stored error of an attempt, from anything thrown. */
export function taskError(error: Error): TaskError {
  const out: TaskError = { message: error.message };
  const { code, retryable } = error as { code?: unknown; retryable?: unknown };
  if (typeof code === 'string') out.code = code;
  out.retryable = typeof retryable === 'boolean' ? retryable : true;
  return out;
}

/** Settles the released leases that no in-process span covers (remote agents' leases). */
function settleReleased(
  telemetry: Telemetry,
  entries: readonly InFlight[],
  records: readonly TaskRecord[],
  error: TaskError,
): void {
  const running = new Set<string>();
  for (const entry of entries) if (entry.span !== undefined) running.add(entry.task.id);
  for (const record of records) {
    if (running.has(record.id)) continue;
    telemetry.settle(record, record.status === 'dead' ? 'dead' : 'lost', error);
  }
}

/**
 * Every lease this Switchboard holds, and the transitions that end one: complete, fail
 * (retry with backoff or dead), release (agent failure, leave, shutdown) and expiry. Lease
 * expiry is enforced by ONE timer set at the earliest expiry, never a timer per task.
 */
export class LeaseBook implements Leases {
  /** The live lease of each task held, by id (kept by the id's counter, see TaskIndex). */
  readonly inflight = new TaskIndex<InFlight>();
  readonly #engine: LeaseBookRoles;
  #sweepTimer: ReturnType<typeof setTimeout> | undefined;
  #sweepAt = Number.POSITIVE_INFINITY;
  readonly #batch: CompletionBatch;
  readonly #scratch = { ok: true, latencyMs: 0 };

  constructor(engine: LeaseBookRoles) {
    this.#engine = engine;
    this.#batch = new CompletionBatch(
      engine,
      (record, entry, now) => this.completed(record, entry, now),
      (error) => this.#lost(error),
    );
  }

  /** Records a fresh lease (not yet given to an agent). */
  add(task: TaskRecord, stage: LeaseStage): InFlight {
    // The clock is read only when the backend gave no expiry.
    const expiresAt = task.leaseExpiresAt ?? this.#engine.now() + task.timeoutMs;
    const entry = newLease(task, stage, expiresAt);
    // A lease taken again for the same task (the backend expired the first) supersedes it.
    const previous = this.inflight.swap(task.id, entry);
    if (previous !== undefined) previous.held = false;
    if (expiresAt < this.#sweepAt - SWEEP_GRANULARITY_MS) this.#schedule(expiresAt);
    return entry;
  }

  /** True while `entry` is the live lease of its task. */
  current(entry: InFlight): boolean {
    return entry.held;
  }

  /**
   * Forgets a lease and frees what it held: a remote slot, a backlog place, a pending
   * place. A running in-process handler is aborted and marked abandoned instead: its slot
   * stays taken until it settles.
   */
  detach(entry: InFlight, reason?: SwitchboardError): void {
    if (entry.held) {
      entry.held = false;
      this.inflight.delete(entry.task.id);
    }
    const member = entry.member;
    const engine = this.#engine;
    if (entry.stage === 'pending') engine.dispatcher.dropPending(entry);
    if (member === undefined || !member.drop(entry)) return;
    // Made here when the handler has not read its signal yet: a first read after the abort
    // must still see it aborted, with its reason.
    entry.controller ??= new AbortController();
    entry.controller.abort(reason ?? new SwitchboardError('cancelled', 'lease ended'));
  }

  /**
   * Completes a lease this Switchboard handed out; a lost race (cancel, expiry) is ignored.
   * Completions are batched: those of one microtask turn reach the backend in one
   * `completeMany` call (or one `complete` each, for a backend without it).
   */
  complete(entry: InFlight, result: unknown): void {
    this.detach(entry);
    this.#batch.add(entry, result);
  }

  /** After a successful complete: waiters, counters, events, strategy and health feedback. */
  completed(record: TaskRecord, entry: InFlight | undefined, now = this.#engine.now()): void {
    const engine = this.#engine;
    engine.tracker.completed(record, now);
    engine.tracker.ended(record);
    if (engine.taskPolicies.size > 0) engine.taskPolicies.delete(record.id);
    const agentId = entry?.member?.id;
    if (engine.listens('task.completed')) {
      engine.events.publish('task.completed', {
        taskId: record.id,
        capability: record.capability,
        agentId,
        attempt: record.attempts,
      });
    }
    if (agentId !== undefined) this.#outcome(agentId, true, now, entry as InFlight);
    // An in-process run's span ends with its handler; any other attempt is settled here.
    const telemetry = engine.telemetry;
    if (telemetry !== undefined && entry?.span === undefined) telemetry.settle(record, 'completed');
  }

  /** Fails a lease: another attempt after a backoff while attempts remain and it may help. */
  fail(entry: InFlight, error: TaskError): Promise<TaskRecord> {
    this.detach(entry);
    const engine = this.#engine;
    const now = engine.now();
    const { retry, availableAt } = retryDecision(
      engine.backoff,
      error,
      entry.attempt,
      entry.task.maxAttempts,
      now,
      engine.random,
    );
    return engine.backend
      .fail(entry.task.id, entry.token, error, { retry, availableAt }, now)
      .then((record) => {
        this.failed(record, entry, error);
        if (record.status === 'queued' && availableAt > now) engine.dispatcher.wakeAt(availableAt);
        return record;
      });
  }

  /** After a failed attempt: events, strategy and health feedback, and the dead letter. */
  failed(record: TaskRecord, entry: InFlight | undefined, error: TaskError): void {
    const engine = this.#engine;
    engine.tracker.counters.failed++;
    const agentId = entry?.member?.id;
    engine.emit('task.failed', () => ({
      taskId: record.id,
      capability: record.capability,
      agentId,
      error,
      willRetry: record.status === 'queued',
    }));
    if (agentId !== undefined) this.#outcome(agentId, false, engine.now(), entry as InFlight);
    const telemetry = engine.telemetry;
    if (telemetry !== undefined && entry?.span === undefined) {
      telemetry.settle(record, record.status === 'dead' ? 'dead' : 'retry', error);
    }
    if (record.status === 'dead') this.dead(record);
  }

  /** A task reached the dead-letter queue. */
  dead(record: TaskRecord): void {
    const engine = this.#engine;
    engine.tracker.counters.dead++;
    engine.tracker.ended(record);
    if (engine.taskPolicies.size > 0) engine.taskPolicies.delete(record.id);
    engine.emit('task.dead', () => ({
      taskId: record.id,
      capability: record.capability,
      attempts: record.attempts,
      error: record.error,
    }));
  }

  /** Puts leases back to the queue at once (attempt counted); returns the tasks as they stand. */
  async release(entries: readonly InFlight[], error: TaskError): Promise<TaskRecord[]> {
    if (entries.length === 0) return [];
    for (const entry of entries) this.detach(entry);
    const engine = this.#engine;
    const leases = entries.map((e) => ({ id: e.task.id, leaseToken: e.token }));
    const records = await engine.backend.release(leases, error, engine.now());
    for (const record of records) if (record.status === 'dead') this.dead(record);
    const telemetry = engine.telemetry;
    if (telemetry !== undefined) settleReleased(telemetry, entries, records, error);
    return records;
  }

  /** Ends expired leases: the backend requeues them (attempt counted) or makes them dead. */
  async sweep(): Promise<void> {
    const engine = this.#engine;
    await engine.dispatcher.renewHeld(engine.now() + SWEEP_GRANULARITY_MS);
    const records = await engine.backend.expireLeases(engine.now());
    for (const record of records) {
      const entry = this.inflight.get(record.id);
      const error = record.error ?? { message: 'lease expired', code: 'timeout', retryable: true };
      if (entry !== undefined) {
        const timeout = new SwitchboardError('timeout', `task ${record.id}: attempt timed out`);
        this.detach(entry, timeout);
        if (entry.member !== undefined && !entry.member.remote) this.#checkHung(entry.member);
      }
      this.failed(record, entry, error);
    }
    if (records.length > 0) engine.dispatcher.wake();
    await this.#forgetEndedElsewhere();
  }

  /**
   * A lease past its expiry that the backend did not hand back was ended by someone else:
   * completed, failed or extended through another process whose notice never came, or
   * expired by another process's sweep. Its entry is settled from the stored record, so the
   * sweep is not re-armed at once for it again and again.
   */
  async #forgetEndedElsewhere(): Promise<void> {
    // Alone on its backend, this process ends its leases itself: expireLeases returned them all.
    if (!this.#shared) return;
    const engine = this.#engine;
    const now = engine.now();
    const overdue: InFlight[] = [];
    for (const entry of this.inflight.values()) if (entry.expiresAt <= now) overdue.push(entry);
    for (const entry of overdue) {
      const record = await engine.backend.get(entry.task.id);
      if (!entry.held) continue;
      if (record?.status === 'leased' && record.leaseToken === entry.token) {
        // Still ours, its expiry moved elsewhere (or not yet swept there): check again later.
        entry.expiresAt = Math.max(record.leaseExpiresAt ?? 0, now + CLUSTER_SWEEP_MS);
        continue;
      }
      this.detach(entry, new SwitchboardError('conflict', `task ${entry.task.id}: lease ended`));
      if (entry.member !== undefined && !entry.member.remote) this.#checkHung(entry.member);
    }
  }

  /**
   * Sweeps at the earliest expiry of a held lease (leases taken back at start, which no
   * timer watched yet, included); on a backend shared by several processes also at least
   * every {@link CLUSTER_SWEEP_MS}, since a dead process's leases are expired only by the
   * sweeps of the others, which may hold no lease of their own.
   */
  start(): void {
    this.#schedule(this.#next());
  }

  #next(): number {
    const earliest = this.#earliest();
    if (!this.#shared) return earliest;
    return Math.min(earliest, this.#engine.now() + CLUSTER_SWEEP_MS);
  }

  /** Whether other processes share the backend (it has a cluster channel). */
  get #shared(): boolean {
    return this.#engine.backend.cluster !== undefined;
  }

  /** The earliest expiry of a held lease, if any. */
  #earliest(): number {
    let min = Number.POSITIVE_INFINITY;
    for (const entry of this.inflight.values()) if (entry.expiresAt < min) min = entry.expiresAt;
    return min;
  }

  /** Moves the sweep to `at` (an extended lease only ever moves it later; no reschedule). */
  #schedule(at: number): void {
    if (this.#sweepTimer !== undefined) clearTimeout(this.#sweepTimer);
    this.#sweepTimer = undefined;
    this.#sweepAt = at;
    if (!this.#engine.running || at === Number.POSITIVE_INFINITY) return;
    const delay = Math.max(0, at - this.#engine.now());
    this.#sweepTimer = setTimeout(() => {
      this.#sweepTimer = undefined;
      this.#sweepAt = Number.POSITIVE_INFINITY;
      this.sweep().then(
        () => this.#schedule(this.#next()),
        (error: unknown) => {
          this.#engine.onError(error);
          // The backend is failing (an outage): retry later, not at once for an overdue lease.
          this.#schedule(Math.max(this.#next(), this.#engine.now() + SWEEP_RETRY_MS));
        },
      );
    }, delay);
  }

  /** Stops the sweep timer. */
  stop(): void {
    if (this.#sweepTimer !== undefined) clearTimeout(this.#sweepTimer);
    this.#sweepTimer = undefined;
    this.#sweepAt = Number.POSITIVE_INFINITY;
  }

  /**
   * An in-process agent whose every slot holds an abandoned (hung) handler can take no work:
   * after a grace period for handlers that honour their abort signal, it is failed as hung.
   */
  #checkHung(member: PoolMember): void {
    const engine = this.#engine;
    if (member.abandoned < member.maxConcurrency * member.batchMax) return;
    setTimeout(() => {
      if (!member.gone && member.abandoned >= member.maxConcurrency * member.batchMax) {
        const error = new SwitchboardError(
          'agent_failed',
          `agent ${member.id}: every slot holds a handler that did not stop after its timeout`,
          { details: { agentId: member.id } },
        );
        void engine.failures.fail(member, 'hung', error);
      }
    }, engine.hungGraceMs);
  }

  #outcome(agentId: string, ok: boolean, now: number, entry: InFlight): void {
    const engine = this.#engine;
    engine.recovery.onTaskOutcome?.(agentId, ok, now);
    // One scratch object for every call: recordTask reads it and keeps nothing of it.
    const outcome = this.#scratch;
    outcome.ok = ok;
    outcome.latencyMs = now - entry.startedAt;
    engine.monitor.recordTask(agentId, outcome);
  }

  /** A lost race is normal (the task was cancelled or expired meanwhile); else report it. */
  #lost(error: unknown): void {
    if (isSwitchboardError(error, 'conflict') || isSwitchboardError(error, 'not_found')) return;
    this.#engine.onError(error);
  }
}
