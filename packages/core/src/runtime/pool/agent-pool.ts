import {
  type AgentDefinition,
  type AgentSpec,
  defineAgent,
  type TaskToCheck,
} from '../../agent/definition.js';
import { AgentRegistry } from '../../agent/registry.js';
import { agentNotFound, SwitchboardError } from '../../errors.js';
import type { Engine } from '../engine.js';
import type { Pool } from '../roles.js';
import type { AutoscalerRoles } from './autoscaler.js';
import { Autoscaler, type ScaleReason } from './autoscaler.js';
import type { FailoverRoles } from './failover-manager.js';
import { FailoverManager } from './failover-manager.js';
import {
  type PoolEntry as Entry,
  type PoolDefinition,
  type PoolEntryOptions,
  resolvePoolEntry,
} from './pool-entry.js';
import type { PoolMember } from './pool-member.js';
import type { SpawnRoles } from './pool-spawn.js';
import { spawnMember } from './pool-spawn.js';
import type { RollingUpdateRoles } from './rolling-update.js';
import {
  RollingUpdate,
  type RollingUpdateHandle,
  type RollingUpdateOptions,
} from './rolling-update.js';
import type { StandbyRoles } from './standby-reserve.js';
import { StandbyReserve } from './standby-reserve.js';

/** The roles the pool uses, so that it can be built and tested with just these. */
export type PoolRoles = Pick<
  Engine,
  | 'balancer'
  | 'book'
  | 'emit'
  | 'failureWindowMs'
  | 'monitor'
  | 'now'
  | 'onError'
  | 'recovery'
  | 'remotes'
> &
  StandbyRoles &
  AutoscalerRoles &
  RollingUpdateRoles &
  SpawnRoles &
  FailoverRoles;

export type { PoolDefinition, PoolEntryOptions } from './pool-entry.js';

function bad(message: string, details: object): SwitchboardError {
  return new SwitchboardError('invalid_request', message, { details });
}

/**
 * The agents of one Switchboard: in-process instances per definition (min/max, scale up
 * and down, draining scale-down, autoscaling, rolling updates with canaries, warm
 * standbys) and remote agents, indexed by capability. Remote agents are members too (their
 * leases count against their concurrency), registered by `RemoteAgents`.
 *
 * @example
 * ```ts
 * await sb.pool.add(summarizer, 2)
 * await sb.pool.scale('summarizer', 4)
 * await sb.pool.remove(sb.pool.agents('summarizer')[0].id, { drain: true })
 * const update = sb.pool.rollingUpdate('summarizer', summarizerV2, { canary: { share: 0.1 } })
 * update.promote()
 * await update.done
 * ```
 */
export class AgentPool implements Pool {
  readonly #engine: PoolRoles;
  readonly #members = new Map<string, PoolMember>();
  readonly #registry = new AgentRegistry<PoolMember>();
  readonly #entries = new Map<string, Entry>();
  /** The `checkTask` hooks of the definitions, by capability name. */
  readonly #checks = new Map<string, ((task: TaskToCheck) => void)[]>();
  readonly #failures = new Map<string, number[]>();
  readonly #degraded = new Map<string, { level: number; factor: number }>();
  readonly #updates = new Map<string, RollingUpdate>();
  /** Scales autoscaled definitions (one timer for the pool). */
  readonly autoscaler: Autoscaler;
  /** Warm standbys per definition and per capability. */
  readonly backups: StandbyReserve;
  /** Promotes standbys when agents fail, and times failovers. */
  readonly failover: FailoverManager;

  constructor(engine: PoolRoles) {
    this.#engine = engine;
    this.autoscaler = new Autoscaler(engine);
    this.backups = new StandbyReserve(engine);
    this.failover = new FailoverManager(engine);
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
    this.#indexChecks();
    if (entry.autoscale !== undefined) this.autoscaler.refresh();
    if (entry.standby > 0) this.backups.replenish();
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

  /**
   * Creates and starts `count` instances of a registered definition (warm standbys with
   * `standby`), from `definition` when given (a rolling update's versions), else the entry's.
   */
  async spawn(
    name: string,
    count: number,
    standby = false,
    definition?: AgentDefinition,
  ): Promise<PoolMember[]> {
    const entry = this.#entry(name);
    const made: Promise<PoolMember>[] = [];
    for (let i = 0; i < count; i++) {
      made.push(this.#create(entry, standby, definition ?? entry.definition));
    }
    return Promise.all(made);
  }

  /** Starts every registered definition's `min` instances and standbys, then autoscaling. */
  async startAll(): Promise<void> {
    const started: Promise<PoolMember[]>[] = [];
    for (const entry of this.#entries.values()) {
      if (entry.min > 0) started.push(this.spawn(entry.name, entry.min));
    }
    started.push(this.backups.reconcile());
    this.autoscaler.start();
    await Promise.all(started);
  }

  /**
   * Replaces the running agents of definition `name` with `definition` (a new version of
   * the same name): new agents start, old ones drain one by one, no task is lost. With
   * `canary`, a few new agents first take `share` of the tasks until promoted.
   *
   * @throws SwitchboardError `not_found` for an unknown name, `invalid_request` for a
   * definition of another name or bad options, `conflict` while another update runs.
   */
  rollingUpdate<I, O>(
    name: string,
    definition: AgentDefinition<I, O> | AgentSpec<I, O>,
    options: RollingUpdateOptions = {},
  ): RollingUpdateHandle {
    const entry = this.#entry(name);
    const next = defineAgent(definition) as AgentDefinition;
    if (next.name !== name) {
      throw bad(`a rolling update of "${name}" needs a definition named "${name}"`, {
        name,
        definition: next.name,
      });
    }
    if (this.#updates.has(name)) {
      throw new SwitchboardError('conflict', `agent "${name}" is being updated already`, {
        details: { name },
      });
    }
    const update = new RollingUpdate(this.#engine, entry.definition, next, options);
    this.#updates.set(name, update);
    update.start();
    return update;
  }

  /** True while a rolling update of `name` runs (the autoscaler leaves it alone). */
  updating(name: string): boolean {
    return this.#updates.has(name);
  }

  /** True while a rolling update replaces `name`'s agents: it refills failed slots itself. */
  converging(name: string): boolean {
    return this.#updates.get(name)?.converging ?? false;
  }

  /** Makes new instances of `name` from `definition` (a rolling update's step). */
  setDefinition(name: string, definition: AgentDefinition): void {
    this.#entries.set(name, { ...this.#entry(name), definition });
    this.#indexChecks();
  }

  /** True when some definition checks the tasks submitted to it (see `checkTask`). */
  get checksTasks(): boolean {
    return this.#checks.size > 0;
  }

  /**
   * Runs the `checkTask` hook of every definition with the task's capability, so that a task
   * one of them could not take is refused at submit.
   */
  checkTask(task: TaskToCheck): void {
    const checks = this.#checks.get(task.capability);
    if (checks === undefined) return;
    for (const check of checks) {
      try {
        check(task);
      } catch (error) {
        if (error instanceof SwitchboardError && error.code === 'invalid_request') throw error;
        // A hook that fails otherwise could not vouch for the task: refused all the same,
        // with what it threw, rather than a crash of the submit.
        const why = error instanceof Error ? error.message : String(error);
        throw new SwitchboardError('invalid_request', `payload: ${why}`, {
          details: [{ path: 'payload', message: why }],
          cause: error,
        });
      }
    }
  }

  /** Rebuilds the `checkTask` hooks by capability from the definitions. */
  #indexChecks(): void {
    this.#checks.clear();
    for (const { definition } of this.#entries.values()) {
      const check = definition.checkTask;
      if (check === undefined) continue;
      for (const { name } of definition.capabilities) {
        const list = this.#checks.get(name);
        if (list === undefined) this.#checks.set(name, [check]);
        else if (!list.includes(check)) list.push(check);
      }
    }
  }

  /** A rolling update ended. */
  finishUpdate(update: { readonly name: string }): void {
    if (this.#updates.get(update.name) === update) this.#updates.delete(update.name);
  }

  /**
   * Removes an agent. With `drain` (the default) it takes no new work, finishes what it
   * holds, then stops: no task is dropped. Without, its tasks go back to the queue at once.
   */
  async remove(id: string, options: { drain?: boolean } = {}): Promise<void> {
    const member = this.#members.get(id);
    if (member === undefined) {
      throw agentNotFound(id);
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

  /**
   * Scales a definition to `count` active instances; scaling down drains the idlest ones.
   * Emits `pool.scaled` (`{ name, from, to, reason }`) when the count changes.
   */
  async scale(name: string, count: number, reason: ScaleReason = 'manual'): Promise<void> {
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
    if (count !== active.length) {
      const from = active.length;
      this.#engine.emit('pool.scaled', () => ({ name, from, to: count, reason }));
    }
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
    return this.backups.promote(failed);
  }

  /** Degrades a definition: only tasks at `level` or above, concurrency times `factor`. */
  degrade(name: string, level: number, factor: number): void {
    this.#degraded.set(name, { level, factor });
    for (const member of this.#members.values()) {
      if (member.name === name) this.#applyDegrade(member, level, factor);
    }
  }

  /** Stops autoscaling, rolling updates and every in-process agent; forgets every member. */
  async stopAll(): Promise<void> {
    this.autoscaler.stop();
    this.backups.stop();
    for (const update of this.#updates.values()) update.cancel('shutdown');
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

  #create(entry: Entry, standby: boolean, definition: AgentDefinition): Promise<PoolMember> {
    return spawnMember(this.#engine, entry, definition, standby, (member) => {
      this.register(member);
      this.#updates.get(entry.name)?.adopt(member);
    });
  }
}
