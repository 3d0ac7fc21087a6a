import { SwitchboardError } from '../../errors.js';
import type { Engine } from '../engine.js';
import type { Backups } from '../roles.js';
import type { PoolMember } from './pool-member.js';

/** The roles the standbys uses, so that it can be built and tested with just these. */
export type StandbyRoles = Pick<
  Engine,
  'dispatcher' | 'emit' | 'monitor' | 'onError' | 'pool' | 'running'
>;

/** Warm standbys kept for one capability, made from one definition. */
export interface StandbyTarget {
  readonly capability: string;
  readonly count: number;
  /** The name of the definition standbys are made from. */
  readonly definition: string;
}

/** States a standby may be promoted from (a starting one becomes live once started). */
const PROMOTABLE = new Set(['ready', 'initializing']);

/**
 * Warm standby agents: started and health-checked like any agent, but taking no work until
 * a failover promotes one. Standbys are kept per definition (the `standby` pool entry
 * option) and per capability ({@link reserve}); after a promotion or a standby's own
 * failure the set is replenished in the background.
 *
 * @example
 * ```ts
 * const sb = createSwitchboard({ agents: [{ definition: browser, min: 2, standby: 1 }] })
 * await sb.start()
 * sb.pool.backups.reserve('llm', 1) // one more standby, of a definition that has 'llm'
 * sb.pool.backups.standbys('browser') // [PoolMember { standby: true, ... }]
 * ```
 */
export class StandbyReserve implements Backups {
  readonly #engine: StandbyRoles;
  readonly #targets = new Map<string, StandbyTarget>();
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();
  #promotions = 0;

  constructor(engine: StandbyRoles) {
    this.#engine = engine;
  }

  /** Standbys promoted so far. */
  get promotions(): number {
    return this.#promotions;
  }

  /**
   * Keeps `count` warm standbys able to serve `capability` (0 stops keeping them; standbys
   * already running stay until promoted). They are made from `definition`, by default the
   * first pool definition that has the capability, and started at once when running.
   *
   * @throws SwitchboardError `invalid_request` for a bad count or a definition without the
   * capability, `not_found` when no definition has it.
   */
  reserve(capability: string, count: number, options: { definition?: string } = {}): void {
    if (typeof capability !== 'string' || capability.length === 0) {
      throw new SwitchboardError(
        'invalid_request',
        'standby capability must be a non-empty string',
      );
    }
    if (!Number.isInteger(count) || count < 0) {
      throw new SwitchboardError('invalid_request', 'standby count must be an integer ≥ 0', {
        details: { capability, count },
      });
    }
    const has = (d: { definition: { capabilities: readonly { name: string }[] } }) =>
      d.definition.capabilities.some((c) => c.name === capability);
    const definitions = this.#engine.pool.definitions();
    const named = options.definition;
    const entry =
      named === undefined ? definitions.find(has) : definitions.find((d) => d.name === named);
    if (entry === undefined) {
      const what = named === undefined ? `with capability "${capability}"` : `"${named}"`;
      throw new SwitchboardError('not_found', `no agent definition ${what}`, {
        details: { capability, definition: named },
      });
    }
    if (!has(entry)) {
      throw new SwitchboardError(
        'invalid_request',
        `agent "${entry.name}" has no capability "${capability}"`,
        { details: { capability, definition: entry.name } },
      );
    }
    if (count === 0) this.#targets.delete(capability);
    else this.#targets.set(capability, { capability, count, definition: entry.name });
    if (this.#engine.running) this.replenish();
  }

  /** The per-capability standby targets. */
  targets(): StandbyTarget[] {
    return [...this.#targets.values()];
  }

  /** Standbys in the pool (starting ones included), or those that serve `capability`. */
  standbys(capability?: string): PoolMember[] {
    return this.#engine.pool
      .agents()
      .filter(
        (m) =>
          m.standby &&
          (capability === undefined || m.capabilities.some((c) => c.name === capability)),
      );
  }

  /**
   * Promotes the standby best placed to take over from `failed` (a member already out of
   * the pool): one of its own definition first, then one with all its capabilities, then
   * one with a capability no live agent has any more. Healthy, started standbys go first.
   * A draining agent was leaving anyway, and a rolling update refills its own slots: then
   * only an orphaned capability calls for a standby.
   */
  promote(failed: PoolMember): PoolMember | undefined {
    if (failed.standby) return undefined;
    const engine = this.#engine;
    const needs = failed.capabilities.map((c) => c.name);
    const orphaned = needs.filter((n) => !engine.pool.hasLive(n));
    const leaving = failed.draining || engine.pool.converging(failed.name);
    const serves = (m: PoolMember, n: string) => m.capabilities.some((c) => c.name === n);
    const rank = (m: PoolMember): number => {
      let score = 0;
      if (leaving) {
        if (!orphaned.some((n) => serves(m, n))) return -1;
      } else if (m.name === failed.name) score = 3;
      else if (needs.every((n) => serves(m, n))) score = 2;
      else if (orphaned.some((n) => serves(m, n))) score = 1;
      else return -1;
      const healthy = m.state === 'ready' && engine.monitor.status(m.id) === 'healthy';
      return score * 2 + (healthy ? 1 : 0);
    };
    let pick: PoolMember | undefined;
    let best = -1;
    for (const member of this.standbys()) {
      if (!PROMOTABLE.has(member.state)) continue;
      const score = rank(member);
      if (score > best) {
        best = score;
        pick = member;
      }
    }
    if (pick === undefined) return undefined;
    pick.standby = false;
    this.#promotions++;
    const promoted = pick;
    engine.emit('agent.promoted', () => ({
      agentId: promoted.id,
      name: promoted.name,
      replaces: failed.id,
    }));
    engine.dispatcher.wake();
    return pick;
  }

  /** Starts the missing standbys in the background, after `delayMs` (a restart's backoff). */
  replenish(delayMs = 0): void {
    const engine = this.#engine;
    const run = () => {
      this.reconcile().catch((e: unknown) => engine.onError(e));
    };
    if (delayMs <= 0) {
      run();
      return;
    }
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      run();
    }, delayMs);
    this.#timers.add(timer);
  }

  /**
   * Starts the standbys missing from every target (per definition, then per capability)
   * and resolves once they have started. Does nothing before start or after shutdown.
   */
  async reconcile(): Promise<PoolMember[]> {
    const engine = this.#engine;
    if (!engine.running) return [];
    const pool = engine.pool;
    const started: Promise<PoolMember[]>[] = [];
    for (const entry of pool.definitions()) {
      // Standbys register synchronously, so each count below sees those started above.
      const missing = entry.standby - this.standbys().filter((m) => m.name === entry.name).length;
      if (missing > 0) started.push(pool.spawn(entry.name, missing, true));
    }
    for (const target of this.#targets.values()) {
      const missing = target.count - this.standbys(target.capability).length;
      if (missing > 0) started.push(pool.spawn(target.definition, missing, true));
    }
    return (await Promise.all(started)).flat();
  }

  /** Cancels pending replenishments. */
  stop(): void {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
  }
}

/** @deprecated The old name of {@link StandbyReserve}, kept for one minor version. */
export const BackupCoordinator = StandbyReserve;
/** @deprecated The old name of {@link StandbyReserve}, kept for one minor version. */
export type BackupCoordinator = StandbyReserve;
