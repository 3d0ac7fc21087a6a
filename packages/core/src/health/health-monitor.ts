import { SwitchboardError, toError } from '../errors.js';
import type { HealthMetrics } from '../model/agent.js';
import { Ewma, type EwmaOptions } from './ewma.js';
import { AgentHealth, type HealthFailureReason, type HealthStatus } from './health-agent.js';
import { checkMetrics, resolveTrackOptions, type TrackOptions } from './health-options.js';
import { LoopLag } from './loop-lag.js';

export type { HealthFailureReason, HealthStatus } from './health-agent.js';

/** What `onFailure` receives, once per failure. */
export interface HealthFailure {
  readonly agentId: string;
  readonly reason: HealthFailureReason;
  readonly error?: Error;
  /** When the monitor noticed (its clock, ms). */
  readonly at: number;
}

/** Options of a {@link HealthMonitor}. */
export interface HealthMonitorOptions {
  /** Called once per failure of an agent (again only after it heartbeats or is re-tracked). */
  readonly onFailure: (failure: HealthFailure) => void;
  /** How often the sweep runs, in ms (default 100). */
  readonly sweepIntervalMs?: number;
  /** A sweep later than this (ms) counts as a stall of the monitor itself (default 50). */
  readonly stallToleranceMs?: number;
  /** Smoothing of error rate and latency (default `{ halfLife: 20 }` task outcomes). */
  readonly ewma?: EwmaOptions;
  /** The clock, ms (default `Date.now`). */
  readonly now?: () => number;
  /** Receives what `onFailure` throws (default: rethrown on a microtask, not swallowed). */
  readonly onError?: (error: unknown) => void;
}

/**
 * Watches agents and tells when one fails: missed heartbeats, failing health checks, or a
 * task error rate above a threshold. One timer serves every agent.
 *
 * It measures its own event-loop lag, and a sweep that ran late moves every deadline
 * forward by the delay: an agent fails only after `heartbeatTimeoutMs` of time the monitor
 * actually observed, never because the monitor's own process stalled (a GC pause, a
 * suspended laptop, a long synchronous task). A wall clock stepping backwards is treated the
 * same way, as one sweep interval.
 *
 * @example
 * ```ts
 * const monitor = new HealthMonitor({ onFailure: (f) => failover(f.agentId, f.reason) })
 * monitor.track('browser-1', { heartbeatIntervalMs: 1000, heartbeatTimeoutMs: 5000 })
 * monitor.start()
 * monitor.heartbeat('browser-1', { cpuUsage: 0.3 })
 * monitor.recordTask('browser-1', { ok: true, latencyMs: 420 })
 * monitor.status('browser-1') // 'healthy'
 * monitor.stop()
 * ```
 */
export class HealthMonitor {
  readonly sweepIntervalMs: number;
  readonly stallToleranceMs: number;
  readonly #agents = new Map<string, AgentHealth>();
  readonly #onFailure: (failure: HealthFailure) => void;
  readonly #onError: (error: unknown) => void;
  /** The smoothing of every agent's averages, checked once. */
  readonly #alpha: number;
  readonly #now: () => number;
  readonly #ticker: LoopLag;
  #lastSweepAt: number | undefined;

  /** @throws SwitchboardError `invalid_config` on a bad interval, tolerance or smoothing. */
  constructor(options: HealthMonitorOptions) {
    if (typeof options?.onFailure !== 'function') {
      throw new SwitchboardError('invalid_config', 'health monitor: onFailure must be a function');
    }
    const tolerance = options.stallToleranceMs ?? 50;
    if (!Number.isFinite(tolerance) || tolerance < 0) {
      throw new SwitchboardError(
        'invalid_config',
        `health monitor: stallToleranceMs must be a number ≥ 0, got ${tolerance}`,
      );
    }
    this.#onFailure = options.onFailure;
    this.#onError =
      options.onError ??
      ((error) =>
        queueMicrotask(() => {
          throw error;
        }));
    this.#alpha = new Ewma(options.ewma ?? { halfLife: 20 }).alpha;
    this.#now = options.now ?? Date.now;
    this.#ticker = new LoopLag({
      intervalMs: options.sweepIntervalMs ?? 100,
      now: this.#now,
      onTick: (now) => this.sweep(now),
    });
    this.sweepIntervalMs = this.#ticker.intervalMs;
    this.stallToleranceMs = tolerance;
  }

  /** The monitor's own event-loop lag at its latest sweep, in ms. */
  get lagMs(): number {
    return this.#ticker.lagMs;
  }

  /** Whether the sweep timer runs. */
  get running(): boolean {
    return this.#ticker.running;
  }

  /** The number of tracked agents. */
  get size(): number {
    return this.#agents.size;
  }

  /** Starts the periodic sweep (one timer for all agents). */
  start(): void {
    if (this.#ticker.running) return;
    this.#lastSweepAt = this.#now();
    this.#ticker.start();
  }

  /** Stops the sweep; no timer is left running. Tracked agents stay tracked. */
  stop(): void {
    this.#ticker.stop();
    this.#lastSweepAt = undefined;
  }

  /**
   * Starts watching an agent, or starts over for one already tracked (its failure, counters
   * and averages are forgotten). Tracking counts as a first heartbeat.
   *
   * @throws SwitchboardError `invalid_config` on bad options.
   */
  track(agentId: string, options: TrackOptions): void {
    const opts = resolveTrackOptions(agentId, options);
    this.#agents.set(agentId, new AgentHealth(agentId, opts, this.#alpha, this.#now()));
  }

  /** Stops watching an agent; a health check still in flight is ignored when it settles. */
  untrack(agentId: string): boolean {
    return this.#agents.delete(agentId);
  }

  /** Whether the agent is tracked. */
  has(agentId: string): boolean {
    return this.#agents.has(agentId);
  }

  /**
   * A sign of life, with optional metrics merged into the last reported ones. It clears a
   * failure: the agent is healthy again and may fail (and be reported) anew.
   *
   * @throws SwitchboardError `not_found` for an untracked agent, `invalid_request` on bad metrics.
   */
  heartbeat(agentId: string, metrics?: Partial<HealthMetrics>): void {
    const agent = this.#agents.get(agentId);
    if (agent === undefined) {
      throw new SwitchboardError('not_found', `health monitor: agent ${agentId} is not tracked`, {
        details: { agentId },
      });
    }
    if (metrics !== undefined) checkMetrics(agentId, metrics);
    agent.heartbeat(this.#now(), metrics);
  }

  /**
   * Folds a task outcome into the agent's error rate and latency averages, and fails the
   * agent when its error rate is above the threshold after `minSamples` outcomes.
   *
   * @returns `false` when the agent is not tracked (a task that ends after its agent left).
   */
  recordTask(
    agentId: string,
    outcome: { readonly ok: boolean; readonly latencyMs: number },
  ): boolean {
    const agent = this.#agents.get(agentId);
    if (agent === undefined) return false;
    const error = agent.record(outcome.ok, outcome.latencyMs);
    if (error !== undefined) this.#fail(agent, 'error_rate', error, this.#now());
    return true;
  }

  /**
   * The agent's current figures: reported metrics, overlaid by a runtime sample when the
   * agent has one, and by the task averages once a task outcome was recorded.
   */
  metrics(agentId: string): HealthMetrics | undefined {
    return this.#agents.get(agentId)?.metrics();
  }

  /**
   * `failed` after a failure until the next heartbeat; `suspect` when a heartbeat is
   * overdue, a health check failed, or the error rate is above the threshold but on too few
   * samples yet; else `healthy`. `undefined` for an untracked agent.
   */
  status(agentId: string): HealthStatus | undefined {
    return this.#agents.get(agentId)?.status(this.#now());
  }

  /**
   * One pass over every agent: heartbeat deadlines, hung checks, checks that are due. The
   * timer calls it every `sweepIntervalMs`; tests call it with their own `now`. While the
   * timer runs, a sweep that comes late by more than `stallToleranceMs` extends every
   * deadline by the delay.
   */
  sweep(now: number = this.#now()): void {
    const last = this.#lastSweepAt;
    this.#lastSweepAt = now;
    if (this.#ticker.running && last !== undefined) {
      const elapsed = now - last;
      if (elapsed < 0 || elapsed > this.sweepIntervalMs + this.stallToleranceMs) {
        for (const agent of this.#agents.values()) agent.shift(elapsed - this.sweepIntervalMs, now);
      }
    }
    for (const agent of this.#agents.values()) {
      if (agent.failed !== undefined) continue;
      const silent = agent.heartbeatOverdue(now);
      if (silent !== undefined) {
        this.#fail(agent, 'heartbeat_timeout', silent, now);
        continue;
      }
      const hung = agent.abandonHungCheck(now);
      if (hung !== undefined) this.#checkSettled(agent, false, now, hung);
      if (agent.failed !== undefined) continue;
      const gen = agent.beginCheck(now);
      if (gen !== undefined) this.#runCheck(agent, gen);
    }
  }

  #runCheck(agent: AgentHealth, gen: number): void {
    const settle = (ok: boolean, error?: Error) => {
      // Ignore answers of a check abandoned as hung, or of an agent untracked or re-tracked.
      if (this.#agents.get(agent.id) !== agent || !agent.isCurrentCheck(gen)) return;
      this.#checkSettled(agent, ok, this.#now(), error);
    };
    let result: boolean | Promise<boolean>;
    try {
      result = (agent.opts.healthCheck as () => boolean | Promise<boolean>)();
    } catch (err) {
      settle(false, toError(err));
      return;
    }
    if (typeof result === 'boolean') {
      settle(result);
      return;
    }
    Promise.resolve(result).then(
      (ok) => settle(ok === true),
      (err: unknown) => settle(false, toError(err)),
    );
  }

  #checkSettled(agent: AgentHealth, ok: boolean, now: number, error?: Error): void {
    const failure = agent.checkSettled(ok, now, error);
    if (failure !== undefined) this.#fail(agent, 'health_check', failure, now);
  }

  #fail(agent: AgentHealth, reason: HealthFailureReason, error: Error, at: number): void {
    agent.failed = reason;
    try {
      this.#onFailure({ agentId: agent.id, reason, error, at });
    } catch (err) {
      // One throwing listener must not stop the sweep for the other agents.
      this.#onError(err);
    }
  }
}
