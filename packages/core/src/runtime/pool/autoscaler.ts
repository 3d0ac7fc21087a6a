import { PRIORITIES } from '../../model/priority.js';
import type { Engine } from '../engine.js';
import type { ScaleDecision, ScaleReason } from './autoscale-options.js';
import type { PoolDefinition } from './pool-entry.js';

/** The roles the autoscaler uses, so that it can be built and tested with just these. */
export type AutoscalerRoles = Pick<
  Engine,
  'backend' | 'dispatcher' | 'now' | 'onError' | 'pool' | 'running' | 'tracker'
>;

export {
  type AutoscaleOptions,
  type AutoscalePolicy,
  resolveAutoscale,
  type ScaleDecision,
  type ScaleReason,
} from './autoscale-options.js';

interface ScaleState {
  evaluatedAt: number;
  lastScaleAt: number;
  lowSince: number | undefined;
}

/** What one evaluation reads once for every definition. */
interface Load {
  readonly depth: number;
  readonly ready: ReadonlySet<string>;
  readonly p99: number;
}

/**
 * Scales autoscaled definitions of a pool on one timer. Each definition is evaluated every
 * `intervalMs`: it scales up by `scaleUpStep` while the tasks waiting for its capabilities
 * per active agent exceed the target (or, with work waiting, while the p99 latency does),
 * and down by one, draining the idlest agent, once load has stayed well below target for
 * `cooldownMs` (and as long since its last scaling). It never leaves `[min, max]` and
 * leaves a definition alone during its rolling update.
 *
 * Backends report queue depth per priority, not per capability: a definition's share is
 * the depth times the share of ready capabilities that are its own.
 */
export class Autoscaler {
  readonly #engine: AutoscalerRoles;
  readonly #state = new Map<string, ScaleState>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #running = false;
  #stopped = false;

  constructor(engine: AutoscalerRoles) {
    this.#engine = engine;
  }

  /** Starts the timer (when some definition autoscales). Idempotent. */
  start(): void {
    this.#running = true;
    this.#stopped = false;
    if (this.#timer === undefined) this.#arm();
  }

  /** Stops the timer. */
  stop(): void {
    this.#running = false;
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Re-arms the timer after a definition was added (its interval may be shorter). */
  refresh(): void {
    if (!this.#running) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#arm();
  }

  /**
   * Evaluates every autoscaled definition that is due and starts the scaling it calls for
   * (scale-downs drain in the background). Returns the steps taken.
   */
  async evaluate(now: number = this.#engine.now()): Promise<ScaleDecision[]> {
    const engine = this.#engine;
    const due = engine.pool.definitions().filter((d) => {
      const state = this.#state.get(d.name);
      const interval = d.autoscale?.intervalMs ?? Number.POSITIVE_INFINITY;
      return state === undefined || now - state.evaluatedAt >= interval;
    });
    if (due.length === 0) return [];
    const [stats, ready] = await Promise.all([
      engine.backend.stats(),
      engine.backend.readyCapabilities(now),
    ]);
    // Stopped while the backend answered (shutdown): scale nothing any more.
    if (this.#stopped) return [];
    const held = engine.dispatcher.heldByPriority();
    let depth = stats.depth;
    for (const p of PRIORITIES) depth += held[p];
    const load: Load = { depth, ready: new Set(ready), p99: engine.tracker.latency().p99 };
    const decisions: ScaleDecision[] = [];
    for (const definition of due) {
      const decision = this.#decide(definition, load, now);
      if (decision === undefined) continue;
      decisions.push(decision);
      engine.pool
        .scale(decision.name, decision.to, decision.reason)
        .catch((e: unknown) => engine.onError(e));
    }
    return decisions;
  }

  #decide(entry: PoolDefinition, load: Load, now: number): ScaleDecision | undefined {
    const policy = entry.autoscale;
    const pool = this.#engine.pool;
    if (policy === undefined || pool.updating(entry.name)) return undefined;
    let state = this.#state.get(entry.name);
    if (state === undefined) {
      state = { evaluatedAt: now, lastScaleAt: Number.NEGATIVE_INFINITY, lowSince: undefined };
      this.#state.set(entry.name, state);
    }
    state.evaluatedAt = now;
    const active = pool.agents(entry.name).filter((m) => !m.remote && !m.draining && !m.standby);
    const n = active.length;
    const slots = entry.definition.config.maxConcurrency * entry.batchMax;
    const depth = depthFor(entry, load);
    const targetDepth =
      policy.targetQueueDepthPerAgent ?? (policy.targetLatencyMs === undefined ? slots : undefined);
    const scaled = (to: number, reason: ScaleReason): ScaleDecision => {
      state.lastScaleAt = now;
      state.lowSince = undefined;
      return { name: entry.name, from: n, to, reason };
    };
    if (n < policy.min) return scaled(policy.min, 'min');
    const up = Math.min(policy.max, n + policy.scaleUpStep);
    if (n < policy.max && depth > 0) {
      if (n === 0 || (targetDepth !== undefined && depth / n > targetDepth)) {
        return scaled(up, 'queue_depth');
      }
      if (policy.targetLatencyMs !== undefined && load.p99 > policy.targetLatencyMs) {
        return scaled(up, 'latency');
      }
    }
    let running = 0;
    for (const member of active) running += member.running + member.backlog.length;
    // Well below target: little waits, and one agent fewer would still run at most half full.
    const low = depth <= (targetDepth ?? slots) / 4 && running <= ((n - 1) * slots) / 2;
    if (!low || n <= policy.min) {
      state.lowSince = undefined;
      return undefined;
    }
    state.lowSince ??= now;
    const calm = Math.min(now - state.lowSince, now - state.lastScaleAt);
    return calm >= policy.cooldownMs ? scaled(n - 1, 'idle') : undefined;
  }

  #arm(): void {
    let period = Number.POSITIVE_INFINITY;
    for (const d of this.#engine.pool.definitions()) {
      if (d.autoscale !== undefined) period = Math.min(period, d.autoscale.intervalMs);
    }
    if (!this.#running || period === Number.POSITIVE_INFINITY) return;
    this.#timer = setTimeout(() => {
      this.evaluate().then(
        () => this.#rearm(),
        (error: unknown) => {
          this.#engine.onError(error);
          this.#rearm();
        },
      );
    }, period);
  }

  #rearm(): void {
    this.#timer = undefined;
    if (this.#running && this.#engine.running) this.#arm();
  }
}

/** The tasks waiting for an entry's capabilities (see the class comment). */
function depthFor(entry: PoolDefinition, load: Load): number {
  if (load.ready.size === 0 || load.depth === 0) return 0;
  let mine = 0;
  for (const c of entry.definition.capabilities) if (load.ready.has(c.name)) mine++;
  return (load.depth * mine) / load.ready.size;
}
