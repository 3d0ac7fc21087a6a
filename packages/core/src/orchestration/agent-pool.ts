import { Agent } from '../agent/agent.js';
import { type AgentDefinition, type AgentSpec, defineAgent } from '../agent/definition.js';
import { AgentRegistry } from '../agent/registry.js';
import { SwitchboardError, toError } from '../errors.js';
import type { Engine } from './engine.js';
import {
  type PoolEntry as Entry,
  type PoolDefinition,
  type PoolEntryOptions,
  resolvePoolEntry,
} from './pool-entry.js';
import { PoolMember } from './pool-member.js';

export type { PoolDefinition, PoolEntryOptions } from './pool-entry.js';

function bad(message: string, details: object): SwitchboardError {
  return new SwitchboardError('invalid_request', message, { details });
}

/**
 * The agents of one Switchboard: in-process instances per definition (min/max, scale up
 * and down, draining scale-down) and remote agents, indexed by capability. Remote agents
 * are members too (their leases count against their concurrency), registered by
 * `RemoteAgents`.
 *
 * @example
 * ```ts
 * await sb.pool.add(summarizer, 2)
 * await sb.pool.scale('summarizer', 4)
 * await sb.pool.remove(sb.pool.agents('summarizer')[0].id, { drain: true })
 * ```
 */
export class AgentPool {
  readonly #engine: Engine;
  readonly #members = new Map<string, PoolMember>();
  readonly #registry = new AgentRegistry<PoolMember>();
  readonly #entries = new Map<string, Entry>();
  readonly #failures = new Map<string, number[]>();
  readonly #degraded = new Map<string, { level: number; factor: number }>();

  constructor(engine: Engine) {
    this.#engine = engine;
  }

  /** Registers a definition (validated by `defineAgent`); a second one of the same name must be the same object. */
  define<I, O>(
    spec: AgentDefinition<I, O> | AgentSpec<I, O>,
    options: PoolEntryOptions = {},
  ): Entry {
    const definition = defineAgent(spec) as AgentDefinition;
    const existing = this.#entries.get(definition.name);
    if (existing !== undefined) {
      if (existing.definition !== definition) {
        const message = `another agent definition is named "${definition.name}"`;
        throw new SwitchboardError('conflict', message, { details: { name: definition.name } });
      }
      return existing;
    }
    const entry = resolvePoolEntry(definition, options);
    this.#entries.set(definition.name, entry);
    return entry;
  }

  /** The definitions the pool runs, with their instance counts. */
  definitions(): PoolDefinition[] {
    return [...this.#entries.values()].map((e) => ({ ...e, count: this.#active(e.name).length }));
  }

  /** Every member (in-process and remote), or those of one definition name. */
  agents(name?: string): PoolMember[] {
    const all = [...this.#members.values()];
    return name === undefined ? all : all.filter((m) => m.name === name);
  }

  get(id: string): PoolMember | undefined {
    return this.#members.get(id);
  }

  /** Live members with the capability that the recovery strategy admits (busy ones included). */
  candidates(capability: string): PoolMember[] {
    const holders = this.#registry.discover(capability);
    const recovery = this.#engine.recovery;
    const now = this.#engine.now();
    const out: PoolMember[] = [];
    for (const member of holders) {
      if (member.live && (recovery.admits === undefined || recovery.admits(member.id, now))) {
        out.push(member);
      }
    }
    return out;
  }

  /** True when a live agent has the capability (the `immediate` policy's test). */
  hasLive(capability: string): boolean {
    return this.#registry.discover(capability).some((m) => m.live);
  }

  /** Starts `count` more instances of a definition (registering it first when new). */
  async add<I, O>(
    spec: AgentDefinition<I, O> | AgentSpec<I, O>,
    count = 1,
    options: PoolEntryOptions = {},
  ): Promise<PoolMember[]> {
    const entry = this.define(spec, { min: 0, ...options });
    if (!Number.isInteger(count) || count < 1) throw bad('count must be an integer ≥ 1', { count });
    const active = this.#active(entry.name).length;
    if (active + count > entry.max) {
      throw bad(`agent "${entry.name}" may have at most ${entry.max} instances`, {
        max: entry.max,
      });
    }
    return this.spawn(entry.name, count);
  }

  /** Creates and starts `count` instances of a registered definition. */
  async spawn(name: string, count: number, standby = false): Promise<PoolMember[]> {
    const entry = this.#entry(name);
    const made: Promise<PoolMember>[] = [];
    for (let i = 0; i < count; i++) made.push(this.#create(entry, standby));
    return Promise.all(made);
  }

  /** Starts every registered definition's `min` instances and standbys. */
  async startAll(): Promise<void> {
    const started: Promise<PoolMember[]>[] = [];
    for (const entry of this.#entries.values()) {
      if (entry.min > 0) started.push(this.spawn(entry.name, entry.min));
      if (entry.standby > 0) started.push(this.spawn(entry.name, entry.standby, true));
    }
    await Promise.all(started);
  }

  /**
   * Removes an agent. With `drain` (the default) it takes no new work, finishes what it
   * holds, then stops: no task is dropped. Without, its tasks go back to the queue at once.
   */
  async remove(id: string, options: { drain?: boolean } = {}): Promise<void> {
    const member = this.#members.get(id);
    if (member === undefined) {
      throw new SwitchboardError('not_found', `no agent ${id}`, { details: { agentId: id } });
    }
    if (member.remote) return this.#engine.remotes.leave(id);
    if (options.drain ?? true) {
      member.draining = true;
      await member.whenIdle();
    } else {
      const message = `agent ${id} removed`;
      await this.#engine.book.release([...member.leases], { message, code: 'unavailable' });
    }
    if (member.gone) return;
    this.detach(member);
    await member.agent?.stop('removed').catch((e: unknown) => this.#engine.onError(e));
  }

  /** Scales a definition to `count` active instances; scaling down drains the idlest ones. */
  async scale(name: string, count: number): Promise<void> {
    const entry = this.#entry(name);
    if (!Number.isInteger(count) || count < entry.min || count > entry.max) {
      throw bad(`agent "${name}" scales within ${entry.min}..${entry.max}, not to ${count}`, {
        name,
        count,
        min: entry.min,
        max: entry.max,
      });
    }
    const active = this.#active(name);
    if (count > active.length) {
      await this.spawn(name, count - active.length);
      return;
    }
    const victims = [...active]
      .sort((a, b) => a.running - b.running)
      .slice(0, active.length - count);
    await Promise.all(victims.map((m) => this.remove(m.id, { drain: true })));
  }

  /** Adds a member made elsewhere (a remote agent). */
  register(member: PoolMember): void {
    const degraded = this.#degraded.get(member.name);
    if (degraded !== undefined) this.#applyDegrade(member, degraded.level, degraded.factor);
    this.#registry.register(member);
    this.#members.set(member.id, member);
    this.#engine.emit('agent.registered', () => ({
      agentId: member.id,
      name: member.name,
      remote: member.remote,
      capabilities: member.capabilities.map((c) => c.name),
    }));
  }

  /** Takes a member out of the pool (failed, left or drained); its leases are not touched. */
  detach(member: PoolMember): void {
    if (member.gone) return;
    const engine = this.#engine;
    member.gone = true;
    this.#members.delete(member.id);
    this.#registry.deregister(member.id);
    engine.monitor.untrack(member.id);
    engine.balancer.agentRemoved?.(member.id);
    engine.recovery.agentRemoved?.(member.id);
    engine.emit('agent.removed', () => ({
      agentId: member.id,
      name: member.name,
      remote: member.remote,
    }));
  }

  /** Counts a failure of a definition and returns the failures within the window. */
  recordFailure(name: string, now: number): number {
    const since = now - this.#engine.failureWindowMs;
    const recent = (this.#failures.get(name) ?? []).filter((at) => at > since);
    recent.push(now);
    this.#failures.set(name, recent);
    return recent.length;
  }

  /** Promotes a warm standby able to take the failed agent's work, if there is one. */
  promoteStandby(failed: PoolMember): PoolMember | undefined {
    const needs = failed.capabilities.map((c) => c.name);
    const standbys = [...this.#members.values()].filter((m) => m.standby && !m.gone);
    const pick =
      standbys.find((m) => m.name === failed.name) ??
      standbys.find((m) => needs.every((n) => m.capabilities.some((c) => c.name === n)));
    if (pick !== undefined) pick.standby = false;
    return pick;
  }

  /** Degrades a definition: only tasks at `level` or above, concurrency times `factor`. */
  degrade(name: string, level: number, factor: number): void {
    this.#degraded.set(name, { level, factor });
    for (const member of this.#members.values()) {
      if (member.name === name) this.#applyDegrade(member, level, factor);
    }
  }

  /** Stops every in-process agent and forgets every member. */
  async stopAll(): Promise<void> {
    const members = [...this.#members.values()];
    for (const member of members) this.detach(member);
    await Promise.all(
      members.map((m) => m.agent?.stop('shutdown').catch((e: unknown) => this.#engine.onError(e))),
    );
  }

  #applyDegrade(member: PoolMember, level: number, factor: number): void {
    member.minPriorityLevel = level;
    member.maxConcurrency = Math.max(1, Math.floor(member.baseConcurrency * factor));
  }

  #entry(name: string): Entry {
    const entry = this.#entries.get(name);
    if (entry === undefined) {
      throw new SwitchboardError('not_found', `no agent definition "${name}"`, {
        details: { name },
      });
    }
    return entry;
  }

  #active(name: string): PoolMember[] {
    return this.agents(name).filter((m) => !m.remote && !m.draining && !m.standby);
  }

  async #create(entry: Entry, standby: boolean): Promise<PoolMember> {
    const engine = this.#engine;
    const agent = new Agent(entry.definition, { onListenerError: (e) => engine.onError(e) });
    const member = new PoolMember({
      id: agent.id,
      name: entry.name,
      role: agent.role,
      version: agent.version,
      capabilities: agent.capabilities,
      maxConcurrency: agent.config.maxConcurrency,
      weight: entry.weight,
      registeredAt: engine.now(),
      agent,
      batchMax: entry.batchMax,
      metrics: () => engine.monitor.metrics(agent.id),
    });
    member.standby = standby;
    agent.lifecycle.onTransition((e) =>
      engine.emit('agent.state', () => ({
        agentId: e.agentId,
        from: e.from,
        to: e.to,
        reason: e.reason,
      })),
    );
    this.register(member);
    const check = entry.definition.healthCheck;
    engine.monitor.track(agent.id, {
      heartbeatIntervalMs: agent.config.heartbeatIntervalMs,
      heartbeatTimeoutMs: agent.config.heartbeatTimeoutMs,
      // A passing check is the in-process agent's heartbeat.
      healthCheck:
        check === undefined ? () => true : () => agent.checkHealth().then((h) => h.healthy),
    });
    try {
      await agent.start();
    } catch (thrown) {
      await engine.failures.fail(member, 'crashed', toError(thrown));
      return member;
    }
    engine.distributor.wake();
    return member;
  }
}
