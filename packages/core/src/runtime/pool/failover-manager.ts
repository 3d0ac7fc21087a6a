import type { AgentFailure } from '../../contracts/recovery.js';
import { type TaskRecord, TERMINAL_STATUSES } from '../../model/task.js';
import type { Engine } from '../engine.js';
import type { Failover } from '../roles.js';
import type { FailoverManagerOptions, FailoverRecord, FailoverStats } from './failover-types.js';
import type { PoolMember } from './pool-member.js';

/** The roles the failover manager uses, so that it can be built and tested with just these. */
export type FailoverRoles = Pick<Engine, 'events' | 'now' | 'pool'>;

export type { FailoverManagerOptions, FailoverRecord, FailoverStats } from './failover-types.js';

/**
 * Moves a failed agent's work on at once. The engine puts the agent's tasks back to the
 * queue; before it does, the manager promotes a warm standby (through the
 * {@link StandbyReserve}) when one can take the agent's place, and always when the
 * agent was the last live holder of a capability. It then times each failover from
 * detection to the first re-lease of one of the agent's tasks.
 *
 * Watching re-leases subscribes to `task.leased` only while a failover is pending, so the
 * dispatch hot path builds no event otherwise.
 *
 * @example
 * ```ts
 * const { failovers, p99Ms } = sb.pool.failover.stats()
 * ```
 */
export class FailoverManager implements Failover {
  readonly #engine: FailoverRoles;
  readonly #watchMs: number;
  readonly #keep: number;
  readonly #history: FailoverRecord[] = [];
  readonly #durations: number[] = [];
  readonly #watched = new Map<string, FailoverRecord>();
  readonly #timers = new Map<FailoverRecord, ReturnType<typeof setTimeout>>();
  #failovers = 0;
  #promotions = 0;
  #unsubscribe: (() => void) | undefined;

  constructor(engine: FailoverRoles, options: FailoverManagerOptions = {}) {
    this.#engine = engine;
    this.#watchMs = options.watchMs ?? 60_000;
    this.#keep = options.history ?? 100;
  }

  /**
   * A member failed and has left the pool; its leases are about to be released. Promotes a
   * standby in its place when one fits, and starts watching its tasks.
   */
  begin(member: PoolMember, reason: AgentFailure['reason'], detectedAt: number): FailoverRecord {
    const standby = member.standby ? undefined : this.#engine.pool.backups.promote(member);
    const record: FailoverRecord = {
      agentId: member.id,
      name: member.name,
      reason,
      detectedAt,
      standbyId: standby?.id,
      tasks: member.leases.size,
      firstLeaseAt: undefined,
      durationMs: undefined,
    };
    if (member.standby) return record;
    this.#failovers++;
    if (standby !== undefined) this.#promotions++;
    this.#history.push(record);
    if (this.#history.length > this.#keep) this.#history.shift();
    if (record.tasks > 0)
      this.#watch(
        record,
        [...member.leases].map((e) => e.task.id),
      );
    return record;
  }

  /**
   * The released tasks as they stand: those that ended (dead, out of attempts) are not
   * waited for. A backend may answer with live records, already leased again.
   */
  released(record: FailoverRecord, records: readonly TaskRecord[]): void {
    record.tasks = 0;
    for (const task of records) {
      if (!TERMINAL_STATUSES.has(task.status)) record.tasks++;
      else if (this.#watched.get(task.id) === record) this.#watched.delete(task.id);
    }
    if (record.tasks === 0) this.#settle(record);
  }

  /** The latest failovers, oldest first. */
  history(): readonly FailoverRecord[] {
    return [...this.#history];
  }

  stats(): FailoverStats {
    const durations = [...this.#durations];
    const sorted = [...durations].sort((a, b) => a - b);
    const at = (q: number) =>
      sorted.length === 0
        ? undefined
        : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
    return {
      failovers: this.#failovers,
      promotions: this.#promotions,
      pending: this.#timers.size,
      durationsMs: durations,
      lastMs: durations.at(-1),
      p50Ms: at(0.5),
      p99Ms: at(0.99),
      maxMs: sorted.at(-1),
    };
  }

  /** Stops watching (shutdown). */
  stop(): void {
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
    this.#watched.clear();
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
  }

  #watch(record: FailoverRecord, ids: readonly string[]): void {
    for (const id of ids) this.#watched.set(id, record);
    this.#unsubscribe ??= this.#engine.events.subscribe('task.leased', (event) => {
      const found = this.#watched.get(event.taskId as string);
      if (found === undefined) return;
      found.firstLeaseAt = this.#engine.now();
      found.durationMs = Math.max(0, found.firstLeaseAt - found.detectedAt);
      this.#durations.push(found.durationMs);
      if (this.#durations.length > this.#keep) this.#durations.shift();
      this.#settle(found);
    });
    const timer = setTimeout(() => this.#settle(record), this.#watchMs);
    this.#timers.set(record, timer);
  }

  /** Stops watching a failover's tasks. */
  #settle(record: FailoverRecord): void {
    const timer = this.#timers.get(record);
    if (timer !== undefined) clearTimeout(timer);
    this.#timers.delete(record);
    for (const [id, r] of this.#watched) if (r === record) this.#watched.delete(id);
    if (this.#watched.size === 0) {
      this.#unsubscribe?.();
      this.#unsubscribe = undefined;
    }
  }
}
