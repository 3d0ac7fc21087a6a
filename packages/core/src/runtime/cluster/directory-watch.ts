import {
  type AgentDirectory,
  type AgentRecord,
  isAgentLive,
} from '../../contracts/agent-directory.js';
import { SwitchboardError } from '../../errors.js';
import type { Engine } from '../engine.js';
import type { HandedOffRoles } from '../leases/handed-off-leases.js';
import { agentLost, releaseHandedOff } from '../leases/handed-off-leases.js';
import type { PoolMember } from '../pool/pool-member.js';
import type { Link } from '../roles.js';
import type { BackgroundRoles } from './background-error.js';
import { backgroundError } from './background-error.js';
import { isProcessRecord, processLost } from './process-record.js';

/** The roles the directory watch uses, so that it can be built and tested with just these. */
export type DirectoryWatchRoles = Pick<Engine, 'failures' | 'now' | 'pool'> &
  BackgroundRoles &
  HandedOffRoles;

/** After a failover attempt that could not reach the directory, the next waits this long. */
const ORPHAN_RETRY_MS = 500;

/** What the watch needs of the mirror of the directory it watches (see ClusterAgents). */
export interface WatchedMirror {
  /** The directory's records as this process knows them, by id; a fresher one is set here. */
  readonly records: Map<string, AgentRecord>;
  /** Forgets a record removed from the directory (a later notice must not revive it). */
  forget(id: string): void;
  /** Makes the agent of `record` a member of this process's pool, quietly. */
  adopt(record: AgentRecord): PoolMember;
  /** The id of this process's own record (see ProcessRecord), if it keeps one. */
  readonly self: string | undefined;
}

/**
 * The watch of what this process knows only through the directory: the agents no health
 * monitor here hears (when the process they worked through died with them, nothing else
 * would notice) and the other processes' own records. A timer waits for the earliest
 * heartbeat deadline of such a record; when it passes, this process claims the silent record
 * in the directory (of several processes that try, one succeeds) and fails it over: an
 * agent with `agent.failed`, recovery, and every lease it holds back to the queue, whichever
 * process handed it out; a process with every lease it held back to the queue, its
 * in-process handlers' included, their attempts counted.
 */
export class DirectoryWatch {
  readonly #engine: DirectoryWatchRoles;
  readonly #directory: AgentDirectory;
  readonly #link: Link;
  readonly #mirror: WatchedMirror;
  #running = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #at = Number.POSITIVE_INFINITY;

  constructor(
    engine: DirectoryWatchRoles,
    directory: AgentDirectory,
    link: Link,
    mirror: WatchedMirror,
  ) {
    this.#engine = engine;
    this.#directory = directory;
    this.#link = link;
    this.#mirror = mirror;
  }

  /** Starts watching the mirror's records. */
  start(): void {
    this.#running = true;
    this.rearm();
  }

  stop(): void {
    this.#running = false;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#at = Number.POSITIVE_INFINITY;
  }

  /** Arms the watch at the earliest deadline of a record no local monitor watches. */
  rearm(): void {
    let at = Number.POSITIVE_INFINITY;
    for (const r of this.#mirror.records.values()) {
      const deadline = r.lastHeartbeatAt + r.heartbeatTimeoutMs;
      if (deadline < at && !this.#watched(r.id)) at = deadline;
    }
    this.#arm(at, true);
  }

  /** A record changed elsewhere: its deadline is watched, unless a local monitor watches it. */
  heard(record: AgentRecord): void {
    if (!this.#watched(record.id)) this.#arm(record.lastHeartbeatAt + record.heartbeatTimeoutMs);
  }

  /**
   * True for an agent this process's health monitor watches (a live local member), and for
   * this process's own record.
   */
  #watched(id: string): boolean {
    if (id === this.#mirror.self) return true;
    const member = this.#engine.pool.get(id);
    return member?.remote === true && !member.gone;
  }

  /** Moves the watch to `at` (only earlier, unless `reset`: a deadline moves later alone). */
  #arm(at: number, reset = false): void {
    if (!reset && at >= this.#at) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#at = at;
    if (at === Number.POSITIVE_INFINITY || !this.#running) return;
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        this.#at = Number.POSITIVE_INFINITY;
        void this.#sweep();
      },
      Math.max(0, at - this.#engine.now()),
    );
    (this.#timer as { unref?: () => void }).unref?.();
  }

  /** Fails over each silent agent of the mirror that no local monitor watches. */
  async #sweep(): Promise<void> {
    const now = this.#engine.now();
    let retry = false;
    for (const record of [...this.#mirror.records.values()]) {
      if (isAgentLive(record, now) || this.#watched(record.id)) continue;
      if (!(await this.#takeOver(record, now))) retry = true;
    }
    if (!this.#running) return;
    this.rearm();
    if (retry) this.#arm(this.#engine.now() + ORPHAN_RETRY_MS);
  }

  /**
   * Claims a silent record in the directory and, when this call removed it, fails it over
   * here: an agent with `agent.failed`, recovery, and every lease it holds back to the
   * queue, whichever process handed it out; a process with the leases it held. `false` when
   * the directory could not be reached.
   */
  async #takeOver(record: AgentRecord, now: number): Promise<boolean> {
    const engine = this.#engine;
    const id = record.id;
    try {
      if (!(await this.#directory.remove(id, { staleAt: now }))) {
        // Heard through another process meanwhile, or claimed by one: the directory knows.
        const fresh = await this.#directory.get(id);
        if (fresh !== undefined && isAgentLive(fresh, engine.now()))
          this.#mirror.records.set(id, fresh);
        else this.#mirror.forget(id);
        return true;
      }
    } catch (error) {
      backgroundError(engine, error);
      return false;
    }
    this.#mirror.forget(id);
    this.#link.agent({ op: 'remove', id });
    if (isProcessRecord(record)) {
      await releaseHandedOff(engine, id, processLost(record));
      return true;
    }
    const message = `agent ${id}: no heartbeat for ${record.heartbeatTimeoutMs} ms`;
    const error = new SwitchboardError('agent_failed', message, { details: { agentId: id } });
    const member = engine.pool.get(id) ?? this.#mirror.adopt(record);
    await engine.failures.fail(member, 'heartbeat_timeout', error);
    await releaseHandedOff(engine, id, agentLost(message));
    return true;
  }
}
