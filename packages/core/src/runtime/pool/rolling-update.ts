import type { AgentDefinition } from '../../agent/definition.js';
import { SwitchboardError, toError } from '../../errors.js';
import type { Engine } from '../engine.js';
import { CanarySplit } from './canary-split.js';
import type { PoolMember } from './pool-member.js';
import {
  type ResolvedCanary,
  type RollingUpdateHandle,
  type RollingUpdateOptions,
  type RollingUpdatePhase,
  type RollingUpdateProgress,
  resolveRollingOptions,
} from './rolling-update-options.js';

/** The roles a rolling update uses, so that it can be built and tested with just these. */
export type RollingUpdateRoles = Pick<Engine, 'emit' | 'events' | 'onError' | 'pool'>;

export type {
  CanaryOptions,
  RollingUpdateHandle,
  RollingUpdateOptions,
  RollingUpdatePhase,
  RollingUpdateProgress,
} from './rolling-update-options.js';

const FINAL = new Set<RollingUpdatePhase>(['done', 'rolled_back', 'failed', 'cancelled']);
/** New agents that fail to start before an update gives up on their version. */
const MAX_START_FAILURES = 3;

/**
 * Replaces the agents of one definition with a new version, surge by surge: new agents
 * start first (up to `maxSurge` beyond the instance count), then old ones drain (they take
 * no new work, finish what they hold, then stop), never leaving fewer than the count minus
 * `maxUnavailable`. With a canary, a few new agents first take `share` of the tasks until
 * `promote()` (or `until`), and `rollback()` (or a canary error rate above the threshold)
 * drains them instead. Standbys are replaced last. Made by `pool.rollingUpdate`.
 */
export class RollingUpdate implements RollingUpdateHandle {
  readonly name: string;
  readonly done: Promise<RollingUpdateProgress>;
  readonly #engine: RollingUpdateRoles;
  readonly #from: AgentDefinition;
  readonly #to: AgentDefinition;
  readonly #desired: number;
  readonly #maxSurge: number;
  readonly #maxUnavailable: number;
  readonly #canary: ResolvedCanary | undefined;
  #phase: RollingUpdatePhase;
  #reason: string | undefined;
  #split: CanarySplit | undefined;
  #finish: (progress: RollingUpdateProgress) => void = () => undefined;
  #decided: () => void = () => undefined;
  #cancelled: () => void = () => undefined;
  readonly #stopped: Promise<undefined>;
  #offs: (() => void)[] = [];
  #poll: ReturnType<typeof setTimeout> | undefined;

  /** @throws SwitchboardError `invalid_request` for bad options. */
  constructor(
    engine: RollingUpdateRoles,
    from: AgentDefinition,
    to: AgentDefinition,
    options: RollingUpdateOptions,
  ) {
    this.#engine = engine;
    this.name = from.name;
    this.#from = from;
    this.#to = to;
    const resolved = resolveRollingOptions(options);
    this.#maxSurge = resolved.maxSurge;
    this.#maxUnavailable = resolved.maxUnavailable;
    const canary = resolved.canary;
    this.#canary = canary;
    this.#desired = this.#active().length;
    this.#phase = canary === undefined ? 'rolling' : 'canary';
    this.#stopped = new Promise((resolve) => {
      this.#cancelled = () => resolve(undefined);
    });
    this.done = new Promise((resolve) => {
      this.#finish = resolve;
    });
  }

  /** Begins the update (the pool calls it once the update is registered). */
  start(): void {
    void this.#run().then(this.#finish);
  }

  /** True while the update moves agents from one version to the other. */
  get converging(): boolean {
    return this.#phase === 'rolling' || this.#phase === 'rolling_back';
  }

  /** A member of the definition was created during the update: the split applies to it. */
  adopt(member: PoolMember): void {
    if (this.#phase === 'canary' && this.#split !== undefined) {
      this.#split.adopt(member, member.definition === this.#to);
    }
  }

  progress(): RollingUpdateProgress {
    const active = this.#active();
    const updated = active.filter((m) => m.definition === this.#to).length;
    return {
      name: this.name,
      phase: this.#phase,
      fromVersion: this.#from.version,
      toVersion: this.#to.version,
      desired: this.#desired,
      updated,
      outdated: active.length - updated,
      ...(this.#split === undefined ? {} : { canary: this.#split.progress() }),
      ...(this.#reason === undefined ? {} : { reason: this.#reason }),
    };
  }

  /** @throws SwitchboardError `conflict` once the update rolls back or has ended. */
  promote(): void {
    if (this.#phase === 'rolling') return;
    if (this.#phase !== 'canary') {
      throw new SwitchboardError('conflict', `rolling update of "${this.name}" is ${this.#phase}`);
    }
    this.#engine.pool.setDefinition(this.name, this.#to);
    this.#phase = 'rolling';
    this.#endCanary();
  }

  /** @throws SwitchboardError `conflict` once the update has ended. */
  rollback(reason = 'rolled back on request'): void {
    if (this.#phase === 'rolling_back') return;
    if (FINAL.has(this.#phase)) {
      throw new SwitchboardError('conflict', `rolling update of "${this.name}" is ${this.#phase}`);
    }
    this.#engine.pool.setDefinition(this.name, this.#from);
    this.#phase = 'rolling_back';
    this.#reason = reason;
    this.#endCanary();
  }

  /** Stops the update where it stands (shutdown). */
  cancel(reason = 'cancelled'): void {
    if (FINAL.has(this.#phase)) return;
    this.#phase = 'cancelled';
    this.#reason = reason;
    this.#endCanary();
    this.#cancelled();
  }

  async #run(): Promise<RollingUpdateProgress> {
    const pool = this.#engine.pool;
    try {
      if (this.#desired === 0) pool.setDefinition(this.name, this.#to);
      else if (this.#canary !== undefined) await this.#runCanary(this.#canary);
      else pool.setDefinition(this.name, this.#to);
      await this.#roll();
      if (this.converging) {
        await this.#swapStandbys();
        // An agent that failed meanwhile left a gap: restarts are held back while converging.
        await this.#roll();
      }
      if (this.#phase === 'rolling') this.#phase = 'done';
      else if (this.#phase === 'rolling_back') this.#phase = 'rolled_back';
    } catch (thrown) {
      this.#phase = 'failed';
      this.#reason = toError(thrown).message;
    } finally {
      this.#endCanary();
      pool.finishUpdate(this);
    }
    const progress = this.progress();
    this.#engine.emit('pool.updated', () => ({ ...progress }));
    return progress;
  }

  async #runCanary(canary: ResolvedCanary): Promise<void> {
    const engine = this.#engine;
    const split = new CanarySplit(canary.share);
    this.#split = split;
    for (const member of engine.pool.agents(this.name)) {
      if (!member.remote) split.adopt(member, false);
    }
    const decided = new Promise<void>((resolve) => {
      this.#decided = resolve;
    });
    const { maxErrorRate, minTasks } = canary;
    const outcome = (agentId: unknown, ok: boolean) => {
      if (this.#phase !== 'canary' || !split.isCanary(agentId as string)) return;
      const { rate, samples } = split.outcome(ok);
      if (samples >= minTasks && rate > maxErrorRate) {
        this.rollback(`canary error rate ${rate.toFixed(2)} above ${maxErrorRate}`);
      }
    };
    const events = engine.events;
    this.#offs.push(
      events.subscribe('task.leased', (e) => {
        if (split.covers(e.agentId as string)) split.started(e.agentId as string);
      }),
      events.subscribe('task.completed', (e) => outcome(e.agentId, true)),
      events.subscribe('task.failed', (e) => outcome(e.agentId, false)),
      events.subscribe('agent.failed', (e) => outcome(e.agentId, false)),
    );
    this.#pollUntil(canary);
    const agents = Math.min(
      this.#desired,
      Math.max(1, canary.agents ?? Math.ceil(canary.share * this.#desired)),
    );
    const made = await this.#race(engine.pool.spawn(this.name, agents, false, this.#to));
    if (made?.every((m) => m.gone) && this.#phase === 'canary') {
      this.rollback('canary agents failed to start');
    }
    await this.#race(decided);
  }

  /** Converges the definition's active agents on the target version. */
  async #roll(): Promise<void> {
    const pool = this.#engine.pool;
    let failures = 0;
    while (this.#phase === 'rolling' || this.#phase === 'rolling_back') {
      const target = this.#phase === 'rolling' ? this.#to : this.#from;
      let active = this.#active();
      let fresh = active.filter((m) => m.definition === target).length;
      if (fresh >= this.#desired && fresh === active.length) return;
      const up = Math.min(this.#desired - fresh, this.#desired + this.#maxSurge - active.length);
      if (up > 0) {
        const made = (await this.#race(pool.spawn(this.name, up, false, target))) ?? [];
        failures += made.filter((m) => m.gone).length;
        if (failures >= MAX_START_FAILURES) {
          const why = `version ${target.version} failed to start ${failures} times`;
          if (this.#phase !== 'rolling') throw new SwitchboardError('agent_failed', why);
          this.rollback(why);
          failures = 0;
          continue;
        }
        active = this.#active();
        fresh = active.filter((m) => m.definition === target).length;
      }
      const stale = active.filter((m) => m.definition !== target);
      const down = Math.min(stale.length, active.length - (this.#desired - this.#maxUnavailable));
      if (down > 0) {
        const victims = stale.sort((a, b) => a.running - b.running).slice(0, down);
        await this.#race(Promise.all(victims.map((m) => this.#drain(m))));
      } else if (up <= 0) {
        throw new SwitchboardError('internal', `rolling update of "${this.name}" cannot progress`);
      }
    }
  }

  /** Standbys of another version are replaced by standbys of the one now running. */
  async #swapStandbys(): Promise<void> {
    const pool = this.#engine.pool;
    const target = this.#phase === 'rolling' ? this.#to : this.#from;
    const old = pool.agents(this.name).filter((m) => m.standby && m.definition !== target);
    if (old.length === 0) return;
    await this.#race(pool.spawn(this.name, old.length, true, target));
    await this.#race(Promise.all(old.filter((m) => m.standby).map((m) => this.#drain(m))));
  }

  #drain(member: PoolMember): Promise<void> {
    if (member.gone) return Promise.resolve();
    return this.#engine.pool.remove(member.id, { drain: true }).catch((e: unknown) => {
      // A member that failed meanwhile has left already: nothing is left to drain.
      if (!member.gone) this.#engine.onError(e);
    });
  }

  #pollUntil(canary: ResolvedCanary): void {
    const until = canary.until;
    if (until === undefined) return;
    this.#poll = setTimeout(() => {
      this.#poll = undefined;
      const polled = (ok: boolean) => {
        if (this.#phase !== 'canary') return;
        if (ok) this.promote();
        else this.#pollUntil(canary);
      };
      void Promise.resolve()
        .then(until)
        .then(
          (ok) => polled(ok === true),
          (error: unknown) => {
            // A throwing check does not promote; it is reported and asked again.
            this.#engine.onError(error);
            polled(false);
          },
        );
    }, canary.intervalMs);
  }

  #endCanary(): void {
    if (this.#poll !== undefined) clearTimeout(this.#poll);
    this.#poll = undefined;
    for (const off of this.#offs) off();
    this.#offs = [];
    this.#split?.release();
    this.#decided();
  }

  /** Active in-process agents of the definition (standbys and draining ones excluded). */
  #active(): PoolMember[] {
    return this.#engine.pool
      .agents(this.name)
      .filter((m) => !m.remote && !m.draining && !m.standby);
  }

  /** Waits for `work` unless the update is cancelled first (then `undefined`). */
  #race<T>(work: Promise<T>): Promise<T | undefined> {
    return Promise.race([work, this.#stopped]);
  }
}
