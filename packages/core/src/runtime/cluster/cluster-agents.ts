import {
  type AgentDirectory,
  type AgentRecord,
  isAgentLive,
} from '../../contracts/agent-directory.js';
import type { AgentNotice } from '../../contracts/cluster-channel.js';
import type { HealthFailure } from '../../health/health-monitor.js';
import type { Engine } from '../engine.js';
import { agentLost, holdHandedOff, releaseHandedOff } from '../leases/handed-off-leases.js';
import type { PoolMember } from '../pool/pool-member.js';
import type { AgentView } from '../remote/remote-agents.js';
import type { ClusterDirectory, Link } from '../roles.js';
import type { BackgroundRoles } from './background-error.js';
import { backgroundError } from './background-error.js';
import type { ClusterEventBus } from './cluster-event-bus.js';
import { agentRecord, agentView } from './directory-records.js';
import { DirectoryWatch } from './directory-watch.js';
import { isProcessRecord, ProcessRecord } from './process-record.js';

/** The roles the cluster directory uses, so that it can be built and tested with just these. */
export type ClusterAgentsRoles = Pick<
  Engine,
  | 'backend'
  | 'book'
  | 'dispatcher'
  | 'failures'
  | 'heartbeatIntervalMs'
  | 'heartbeatTimeoutMs'
  | 'monitor'
  | 'now'
  | 'pool'
  | 'remotes'
> &
  BackgroundRoles;

/**
 * The remote agents of a cluster, as this process sees them: the shared directory (the
 * authority), a local mirror of it for the synchronous views (refreshed every heartbeat
 * interval and by the other processes' notices), and the rules that keep one agent's
 * failover from happening twice. An agent registered elsewhere becomes a local pool member
 * ("adopted") when it heartbeats, polls or leaves through this process. An agent that is no
 * member here and falls silent (the process it worked through died) is failed over by
 * whichever live process claims it first, at its heartbeat timeout (see DirectoryWatch).
 * On a backend several processes share that lists leases by holder, this process keeps a
 * record of its own there too (see ProcessRecord), so that its in-process handlers' leases
 * are failed over the same way when it dies.
 */
export class ClusterAgents implements ClusterDirectory {
  readonly #engine: ClusterAgentsRoles;
  readonly #directory: AgentDirectory;
  readonly #link: Link;
  readonly #bus: ClusterEventBus;
  readonly #mirror = new Map<string, AgentRecord>();
  /** When this process last wrote each local agent's heartbeat to the directory. */
  readonly #written = new Map<string, number>();
  /**
   * Ids removed lately, and when: a directory read or a notice that reached this process
   * after the removal but tells of an older heartbeat must not revive them.
   */
  readonly #removed = new Map<string, number>();
  readonly #watch: DirectoryWatch;
  readonly #self: ProcessRecord | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    engine: ClusterAgentsRoles,
    directory: AgentDirectory,
    link: Link,
    bus: ClusterEventBus,
  ) {
    this.#engine = engine;
    this.#directory = directory;
    this.#link = link;
    this.#bus = bus;
    const { cluster, agentLeases } = engine.backend;
    if (cluster !== undefined && agentLeases !== undefined) {
      this.#self = new ProcessRecord(engine, directory, link);
    }
    this.#watch = new DirectoryWatch(engine, directory, link, {
      records: this.#mirror,
      forget: (id) => this.#forget(id),
      adopt: (record) => this.#adopt(record),
      self: this.#self?.id,
    });
  }

  /**
   * Loads the directory, then refreshes the mirror every heartbeat interval. Alone on its
   * backend (no cluster channel: the journal), this process is where every registered agent
   * works: it takes each back as a member, with the leases the backend kept for it, and its
   * heartbeat timeout runs from now. On a shared backend, this process's own record is
   * written before it leases anything, and touched every heartbeat interval.
   */
  async start(): Promise<void> {
    await this.refresh();
    if (this.#engine.backend.cluster === undefined) await this.#takeBack();
    await this.#self?.put();
    this.#timer ??= setInterval(() => {
      this.#self?.beat();
      this.refresh().catch((error: unknown) => backgroundError(this.#engine, error));
    }, this.#engine.heartbeatIntervalMs);
    (this.#timer as { unref?: () => void }).unref?.();
    this.#watch.start();
  }

  /** Stops the refreshes, the watch and this process's heartbeats. */
  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#watch.stop();
  }

  /**
   * Removes this process's own record (a graceful stop, once its leases were handed back),
   * so that no other process waits for its heartbeat timeout to claim it.
   */
  leave(): Promise<void> {
    return this.#self?.remove() ?? Promise.resolve();
  }

  /** Replaces the mirror with the directory's records. */
  async refresh(): Promise<void> {
    const records = await this.#directory.list(this.#engine.now());
    this.#mirror.clear();
    const forgetBefore = this.#engine.now() - this.#engine.heartbeatTimeoutMs;
    for (const [id, at] of this.#removed) if (at < forgetBefore) this.#removed.delete(id);
    for (const record of records) if (!this.#outdated(record)) this.#mirror.set(record.id, record);
    this.#watch.rearm();
  }

  async #takeBack(): Promise<void> {
    const engine = this.#engine;
    const now = engine.now();
    for (const record of [...this.#mirror.values()]) {
      if (!isAgentLive(record, now) || isProcessRecord(record)) continue;
      if (engine.pool.get(record.id) !== undefined) continue;
      const member = this.#adopt(record);
      const kept = (await engine.backend.agentLeases?.(record.id)) ?? [];
      for (const task of kept) holdHandedOff(engine, member, task);
    }
  }

  /** The live record of an id the directory holds (an agent's or a process's), as mirrored. */
  known(id: string): AgentRecord | undefined {
    const record = this.#mirror.get(id);
    return record !== undefined && isAgentLive(record, this.#engine.now()) ? record : undefined;
  }

  /** The live record of an agent, as mirrored (never a process's). */
  #knownAgent(id: string): AgentRecord | undefined {
    const record = this.known(id);
    return record === undefined || isProcessRecord(record) ? undefined : record;
  }

  /** Makes a live agent known from the mirror a local member; `undefined` when not known. */
  adoptKnown(id: string): PoolMember | undefined {
    const record = this.#knownAgent(id);
    return record === undefined ? undefined : this.#adopt(record);
  }

  /** Like {@link adoptKnown}, asking the directory itself when the mirror does not know it. */
  async adopt(id: string): Promise<PoolMember | undefined> {
    const local = this.adoptKnown(id);
    if (local !== undefined) return local;
    const record = await this.#directory.get(id);
    if (record === undefined || isProcessRecord(record)) return undefined;
    if (!isAgentLive(record, this.#engine.now())) return undefined;
    this.#mirror.set(id, record);
    // Another call may have adopted it while the directory answered.
    return this.#engine.pool.get(id) ?? this.#adopt(record);
  }

  /** A registration made here: written to the directory, announced to the others. */
  registered(member: PoolMember): void {
    const record = agentRecord(this.#engine, member, this.#link.origin);
    this.#removed.delete(member.id);
    this.#mirror.set(member.id, record);
    this.#written.set(member.id, this.#engine.now());
    this.#directory.put(record).then(
      () => this.#link.agent({ op: 'put', id: member.id, record }),
      (error: unknown) => backgroundError(this.#engine, error),
    );
  }

  /**
   * A sign of life of a local member heard here. Written at most every half heartbeat
   * interval per agent; when the directory no longer knows the agent (another process
   * failed it over), it is let go here too, and its next heartbeat answers `not_found`.
   */
  heard(member: PoolMember): void {
    const engine = this.#engine;
    const now = engine.now();
    const last = this.#written.get(member.id);
    if (last !== undefined && now - last < engine.heartbeatIntervalMs / 2) return;
    this.#written.set(member.id, now);
    this.#directory.touch(member.id, this.#link.origin, now).then(
      (record) => {
        if (record !== undefined) {
          this.#mirror.set(record.id, record);
          this.#link.agent({ op: 'touch', id: record.id, record });
        } else if (!member.gone) void this.#retire(member);
      },
      (error: unknown) => backgroundError(engine, error),
    );
  }

  /** A local member left for good (a graceful leave, a failure decided here). */
  left(id: string): void {
    this.#forget(id);
    this.#written.delete(id);
    this.#directory.remove(id).then(
      () => this.#link.agent({ op: 'remove', id }),
      (error: unknown) => backgroundError(this.#engine, error),
    );
  }

  /**
   * The health monitor stopped hearing a remote member. When another process heard it
   * within the timeout, it lives on there: it stays here and the monitor is re-armed. Else
   * the one process that removes its record fails it over (event, recovery); any other
   * holder only puts its own leases back, quietly.
   */
  async timedOut(member: PoolMember, failure: HealthFailure): Promise<void> {
    const engine = this.#engine;
    let claimed: boolean;
    try {
      const record = await this.#directory.get(member.id);
      const now = engine.now();
      if (record !== undefined && isAgentLive(record, now)) {
        if (member.gone) return;
        this.#mirror.set(record.id, record);
        member.lastHeartbeatAt = record.lastHeartbeatAt;
        if (engine.monitor.has(member.id)) engine.monitor.heartbeat(member.id);
        return;
      }
      claimed = await this.#directory.remove(member.id, { staleAt: now });
    } catch (error) {
      // The directory is out of reach: fail it over here, as a single process would.
      backgroundError(engine, error);
      claimed = true;
    }
    this.#forget(member.id);
    if (claimed) {
      this.#link.agent({ op: 'remove', id: member.id });
      await engine.failures.fail(member, failure.reason, failure.error);
      const message = failure.error?.message ?? `agent ${member.id} failed (${failure.reason})`;
      await releaseHandedOff(engine, member.id, agentLost(message));
    } else await this.#retire(member);
  }

  /** Applies the directory changes another process made. */
  receive(notices: readonly AgentNotice[]): void {
    const engine = this.#engine;
    for (const notice of notices) {
      if (typeof notice?.id !== 'string') continue;
      const member = engine.pool.get(notice.id);
      if (notice.op === 'remove') {
        this.#forget(notice.id);
        if (member?.remote) void this.#retire(member);
      } else if (notice.record !== undefined) {
        if (this.#outdated(notice.record)) continue;
        this.#mirror.set(notice.id, notice.record);
        this.#watch.heard(notice.record);
        // Heard elsewhere: alive, so this process's monitor must not time it out.
        if (notice.op === 'touch' && member?.remote && engine.monitor.has(member.id)) {
          member.lastHeartbeatAt = Math.max(member.lastHeartbeatAt, notice.record.lastHeartbeatAt);
          engine.monitor.heartbeat(member.id);
          this.#written.set(member.id, engine.now());
        }
      }
    }
  }

  /** Views of the live agents known only through the directory (not members here). */
  views(): AgentView[] {
    const out: AgentView[] = [];
    const now = this.#engine.now();
    for (const record of this.#mirror.values()) {
      if (!isAgentLive(record, now) || isProcessRecord(record)) continue;
      if (this.#engine.pool.get(record.id) === undefined) out.push(agentView(record));
    }
    return out;
  }

  /** The view of a live agent known only through the directory. */
  view(id: string): AgentView | undefined {
    const record = this.#knownAgent(id);
    return record === undefined ? undefined : agentView(record);
  }

  /** True for a record of an agent removed here after the heartbeat the record tells of. */
  #outdated(record: AgentRecord): boolean {
    const removedAt = this.#removed.get(record.id);
    return removedAt !== undefined && record.lastHeartbeatAt <= removedAt;
  }

  #forget(id: string): void {
    this.#mirror.delete(id);
    this.#written.delete(id);
    this.#removed.set(id, this.#engine.now());
  }

  #adopt(record: AgentRecord): PoolMember {
    const engine = this.#engine;
    const member = this.#bus.quietly(() => engine.remotes.add(record));
    member.lastHeartbeatAt = Math.max(member.lastHeartbeatAt, record.lastHeartbeatAt);
    return member;
  }

  /** Lets a member go without an event: its leases go back to the queue at once. */
  async #retire(member: PoolMember): Promise<void> {
    const engine = this.#engine;
    if (member.gone) return;
    this.#bus.quietly(() => engine.pool.detach(member));
    member.remoteState = 'shutdown';
    engine.remotes.dismiss(member);
    this.#written.delete(member.id);
    try {
      await engine.book.release([...member.leases], {
        message: `agent ${member.id} left the cluster`,
        code: 'agent_failed',
        retryable: true,
      });
    } catch (error) {
      // Their leases expire and requeue them.
      backgroundError(engine, error);
    }
    engine.dispatcher.wake();
  }
}
