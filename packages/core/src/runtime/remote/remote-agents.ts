import { SwitchboardError } from '../../errors.js';
import type { HealthMetrics } from '../../model/agent.js';
import { AGENT_ROLES, normalizeCapability } from '../../model/agent.js';
import { type TaskLease, toLease } from '../../model/task.js';
import type { Engine } from '../engine.js';
import { type InFlight, type LongPoll, PoolMember } from '../pool/pool-member.js';
import type { Remotes } from '../roles.js';
import type {
  AgentView,
  LeaseOptions,
  RemoteAgentInput,
  RemoteMemberInit,
} from './remote-types.js';

/** The roles the remote agents uses, so that it can be built and tested with just these. */
export type RemoteAgentsRoles = Pick<
  Engine,
  | 'backend'
  | 'book'
  | 'cluster'
  | 'dispatcher'
  | 'errorRate'
  | 'heartbeatIntervalMs'
  | 'heartbeatTimeoutMs'
  | 'monitor'
  | 'now'
  | 'onError'
  | 'pool'
  | 'telemetry'
>;

export type {
  AgentView,
  LeaseOptions,
  RemoteAgentInput,
  RemoteMemberInit,
} from './remote-types.js';

const MAX_LEASE = 1000;
const MAX_WAIT_MS = 30_000;

function invalid(path: string, message: string): SwitchboardError {
  return new SwitchboardError('invalid_request', `${path}: ${message}`, {
    details: [{ path, message }],
  });
}

function isIntIn(value: unknown, min: number, max: number): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
}

/**
 * Agents that work over HTTP: they register, heartbeat, long-poll for leases and complete
 * or fail them. They are full pool members; a lease long-poll makes the agent a candidate
 * of the dispatcher for as many tasks as it asked for, and resolves as soon as it got one
 * (woken by the backend, never by polling with sleeps).
 */
export class RemoteAgents implements Remotes {
  readonly #engine: RemoteAgentsRoles;
  readonly #waiting = new Set<PoolMember>();

  constructor(engine: RemoteAgentsRoles) {
    this.#engine = engine;
  }

  /** Registers a remote agent. @throws `invalid_request`, or `conflict` for a known id. */
  register(input: RemoteAgentInput): AgentView {
    const engine = this.#engine;
    if (input === null || typeof input !== 'object') throw invalid('', 'expected an object');
    if (
      input.name !== undefined &&
      (typeof input.name !== 'string' || input.name.length === 0 || input.name.length > 256)
    ) {
      throw invalid('name', 'must be a non-empty string of at most 256 characters');
    }
    const role = input.role ?? 'worker';
    if (!AGENT_ROLES.includes(role))
      throw invalid('role', `must be one of ${AGENT_ROLES.join(', ')}`);
    if (!Array.isArray(input.capabilities) || input.capabilities.length === 0) {
      throw invalid('capabilities', 'must list at least one capability');
    }
    const capabilities = input.capabilities.map((c, i) => {
      try {
        return normalizeCapability(c, `capabilities.${i}`);
      } catch (error) {
        throw invalid(`capabilities.${i}`, (error as Error).message);
      }
    });
    const maxConcurrency = input.maxConcurrency ?? 1;
    if (!isIntIn(maxConcurrency, 1, 100_000))
      throw invalid('maxConcurrency', 'must be an integer ≥ 1');
    const id = input.id ?? crypto.randomUUID();
    if (typeof id !== 'string' || id.length === 0 || id.length > 256) {
      throw invalid('id', 'must be a non-empty string of at most 256 characters');
    }
    if (engine.pool.get(id) !== undefined || engine.cluster?.known(id) !== undefined) {
      throw new SwitchboardError('conflict', `agent ${id} is already registered`, {
        details: { agentId: id },
      });
    }
    const member = this.add({
      id,
      name: input.name ?? id,
      role,
      version: '1',
      capabilities,
      maxConcurrency,
      registeredAt: engine.now(),
      ...(input.metadata === undefined ? {} : { metadata: input.metadata }),
    });
    engine.cluster?.registered(member);
    return this.view(member);
  }

  /** Makes a remote member of a validated registration (this process's, or the cluster's). */
  add(init: RemoteMemberInit): PoolMember {
    const engine = this.#engine;
    const member = new PoolMember({
      id: init.id,
      name: init.name,
      role: init.role,
      version: init.version,
      capabilities: init.capabilities,
      maxConcurrency: init.maxConcurrency,
      weight: 1,
      registeredAt: init.registeredAt,
      metrics: () => engine.monitor.metrics(init.id),
      ...(init.metadata === undefined ? {} : { metadata: init.metadata }),
    });
    engine.monitor.track(init.id, {
      heartbeatIntervalMs: engine.heartbeatIntervalMs,
      heartbeatTimeoutMs: engine.heartbeatTimeoutMs,
      ...engine.errorRate,
    });
    engine.pool.register(member);
    return member;
  }

  /** A sign of life. @throws `not_found` for an unknown or failed agent (it must register again). */
  heartbeat(id: string, metrics?: Partial<HealthMetrics>): AgentView {
    const member = this.#member(id);
    this.#engine.monitor.heartbeat(id, metrics);
    member.lastHeartbeatAt = this.#engine.now();
    this.#engine.cluster?.heard(member);
    return this.view(member);
  }

  /**
   * Long-polls for up to `max` tasks of the agent's capabilities, never more than its free
   * concurrency; resolves as soon as at least one is leased, or with `[]` after `waitMs`.
   * A new poll of the same agent ends the previous one with `[]`.
   */
  lease(id: string, options: LeaseOptions = {}): Promise<TaskLease[]> {
    const engine = this.#engine;
    const max = options.max ?? 1;
    const waitMs = options.waitMs ?? 0;
    if (!isIntIn(max, 1, MAX_LEASE)) throw invalid('max', `must be an integer in 1..${MAX_LEASE}`);
    if (!isIntIn(waitMs, 0, MAX_WAIT_MS))
      throw invalid('waitMs', `must be an integer in 0..${MAX_WAIT_MS}`);
    const cluster = engine.cluster;
    if (cluster !== undefined && this.#local(id) === undefined) {
      // Registered through another process, maybe not mirrored yet: the directory knows.
      return cluster.adopt(id).then(() => this.#poll(this.#member(id), options, max, waitMs));
    }
    return this.#poll(this.#member(id), options, max, waitMs);
  }

  #poll(
    member: PoolMember,
    options: LeaseOptions,
    max: number,
    waitMs: number,
  ): Promise<TaskLease[]> {
    const engine = this.#engine;
    // Polling is a sign of life too.
    engine.monitor.heartbeat(member.id);
    member.lastHeartbeatAt = engine.now();
    engine.cluster?.heard(member);
    this.#end(member, []);
    // The client went away before the poll began (while its body was read, say): nothing is
    // handed to it, since nobody would receive it.
    if (options.signal?.aborted) return Promise.resolve([]);
    return new Promise<InFlight[]>((resolve) => {
      const waiter: LongPoll = {
        max,
        tasks: [],
        resolve,
        answerAfterPump: waitMs === 0 ? engine.dispatcher.pumps + 1 : Number.POSITIVE_INFINITY,
        timer: undefined,
      };
      member.waiter = waiter;
      this.#waiting.add(member);
      // Tasks pinned to this agent while it was not polling come first.
      engine.dispatcher.freed(member);
      if (waitMs > 0 && member.waiter === waiter)
        this.#keepAlive(member, waiter, engine.now() + waitMs);
      options.signal?.addEventListener('abort', () => this.#end(member, [], waiter), {
        once: true,
      });
      engine.dispatcher.wake();
    }).then((entries) =>
      entries.length > 0 && engine.backend.handOff !== undefined
        ? this.#handOff(member, entries)
        : this.#leases(member, entries),
    );
  }

  /**
   * Tells the backend which leases the agent holds before it hears of them: a durable backend
   * then keeps them across a restart, and any process of a shared one can fail them over.
   * When the backend cannot take it, the leases go back to the queue and the poll fails.
   */
  async #handOff(member: PoolMember, entries: InFlight[]): Promise<TaskLease[]> {
    const engine = this.#engine;
    const leases = entries.map((e) => ({ id: e.task.id, leaseToken: e.token }));
    try {
      await engine.backend.handOff?.(leases, member.id, engine.now());
    } catch (error) {
      const reason = { message: 'lease not handed off', code: 'unavailable', retryable: true };
      engine.book.release(entries, reason).catch((e: unknown) => engine.onError(e));
      throw error;
    }
    return this.#leases(member, entries);
  }

  /** The leases as handed out, each with the trace context its agent continues. */
  #leases(member: PoolMember, entries: InFlight[]): TaskLease[] {
    const telemetry = this.#engine.telemetry;
    if (telemetry === undefined) return entries.map(toTaskLease);
    return entries.map((entry) => {
      const lease = toTaskLease(entry);
      const context = telemetry.lease(entry.task, member.id, entry.attempt, entry.startedAt);
      if (context === undefined) return lease;
      lease.traceparent = context.traceparent;
      if (context.tracestate === undefined) delete lease.tracestate;
      else lease.tracestate = context.tracestate;
      return lease;
    });
  }

  /** Answers the long-polls that got tasks, and the no-wait polls whose pump has run. */
  flush(): void {
    if (this.#waiting.size === 0) return;
    const pumps = this.#engine.dispatcher.pumps;
    for (const member of this.#waiting) {
      const waiter = member.waiter;
      if (waiter === undefined) continue;
      if (waiter.tasks.length > 0 || pumps >= waiter.answerAfterPump) {
        this.#end(member, waiter.tasks);
      }
    }
  }

  /** Ends the poll of a member that left the pool. */
  dismiss(member: PoolMember): void {
    this.#end(member, []);
  }

  /** A graceful leave: the agent's leased tasks go back to the queue at once. */
  async leave(id: string): Promise<void> {
    if (this.#local(id) === undefined) await this.#engine.cluster?.adopt(id);
    const member = this.#member(id);
    this.#engine.pool.detach(member);
    member.remoteState = 'shutdown';
    this.#end(member, []);
    await this.#engine.book.release([...member.leases], {
      message: `agent ${id} left`,
      code: 'unavailable',
      retryable: true,
    });
    this.#engine.cluster?.left(id);
    this.#engine.dispatcher.wake();
  }

  /** Ends every poll (shutdown). */
  stop(): void {
    for (const member of [...this.#waiting]) this.#end(member, []);
  }

  /** The API view of any member, in-process or remote. */
  view(member: PoolMember): AgentView {
    const config = member.agent?.config;
    return {
      id: member.id,
      name: member.name,
      role: member.role,
      state: member.state,
      capabilities: member.capabilities.map((c) => ({ ...c })),
      maxConcurrency: member.maxConcurrency,
      activeTasks: member.running,
      heartbeatIntervalMs: config?.heartbeatIntervalMs ?? this.#engine.heartbeatIntervalMs,
      heartbeatTimeoutMs: config?.heartbeatTimeoutMs ?? this.#engine.heartbeatTimeoutMs,
      registeredAt: member.registeredAt,
      lastHeartbeatAt: member.lastHeartbeatAt,
      remote: member.remote,
      version: member.version,
      metadata: member.metadata,
    };
  }

  /** The local remote member of `id`, if any. */
  #local(id: string): PoolMember | undefined {
    const member = this.#engine.pool.get(id);
    return member === undefined || member.gone || !member.remote ? undefined : member;
  }

  /** The member of `id`, adopted from the cluster's mirror when registered elsewhere. */
  #member(id: string): PoolMember {
    const member = this.#local(id) ?? this.#engine.cluster?.adoptKnown(id);
    if (member === undefined || member.gone || !member.remote) {
      throw new SwitchboardError('not_found', `no agent ${id}; register again`, {
        details: { agentId: id },
      });
    }
    return member;
  }

  /**
   * An open long-poll is a sign of life: an agent blocked in a 30 s poll must not be failed
   * by a 15 s heartbeat timeout. One timer per polling agent, at the heartbeat interval,
   * until the poll's end.
   */
  #keepAlive(member: PoolMember, waiter: LongPoll, endsAt: number): void {
    const engine = this.#engine;
    const left = endsAt - engine.now();
    if (left <= 0) {
      this.#end(member, waiter.tasks, waiter);
      return;
    }
    waiter.timer = setTimeout(
      () => {
        if (member.waiter !== waiter || member.gone) return;
        engine.monitor.heartbeat(member.id);
        member.lastHeartbeatAt = engine.now();
        engine.cluster?.heard(member);
        this.#keepAlive(member, waiter, endsAt);
      },
      Math.min(left, engine.heartbeatIntervalMs),
    );
  }

  #end(member: PoolMember, tasks: InFlight[], only?: LongPoll): void {
    const waiter = member.waiter;
    if (waiter === undefined || (only !== undefined && waiter !== only)) return;
    member.waiter = undefined;
    this.#waiting.delete(member);
    if (waiter.timer !== undefined) clearTimeout(waiter.timer);
    waiter.resolve(tasks);
  }
}

/** The lease as handed out: its token and expiry as leased, not as the record now reads. */
function toTaskLease(entry: InFlight): TaskLease {
  const lease = toLease(entry.task);
  lease.leaseToken = entry.token;
  lease.leaseExpiresAt = entry.expiresAt;
  lease.attempt = entry.attempt;
  return lease;
}
