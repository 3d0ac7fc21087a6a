import { SwitchboardError } from '../errors.js';
import { emptyMetrics, type HealthMetrics } from '../model/agent.js';
import { Ewma } from './ewma.js';
import { pickMetrics, type ResolvedTrackOptions } from './health-options.js';

/** How an agent looks to the monitor. */
export type HealthStatus = 'healthy' | 'suspect' | 'failed';

/** Why the monitor failed an agent. */
export type HealthFailureReason = 'heartbeat_timeout' | 'health_check' | 'error_rate';

/**
 * What the monitor knows of one agent. Its times are on the monitor's clock, and are
 * moved forward by the monitor's own stalls; the monitor owns timers and reporting.
 */
export class AgentHealth {
  readonly id: string;
  readonly opts: ResolvedTrackOptions;
  /** The last sign of life. */
  aliveAt: number;
  failed: HealthFailureReason | undefined;
  readonly #reported: HealthMetrics = emptyMetrics();
  readonly #errorRate: Ewma;
  readonly #latency: Ewma;
  #checkFailures = 0;
  #nextCheckAt: number;
  /** When the check in flight started; undefined when none is. */
  #checkStartedAt: number | undefined;
  /** Bumped per check, so that a late answer of an abandoned check is ignored. */
  #checkGen = 0;

  constructor(id: string, opts: ResolvedTrackOptions, alpha: number, now: number) {
    this.id = id;
    this.opts = opts;
    this.aliveAt = now;
    this.#errorRate = new Ewma({ alpha });
    this.#latency = new Ewma({ alpha });
    this.#nextCheckAt = now + opts.heartbeatIntervalMs;
  }

  /** A sign of life: clears a failure and the count of failed checks. */
  heartbeat(now: number, metrics?: Partial<HealthMetrics>): void {
    if (metrics !== undefined) Object.assign(this.#reported, pickMetrics(metrics));
    this.aliveAt = now;
    this.failed = undefined;
    this.#checkFailures = 0;
  }

  /** Folds in a task outcome; returns the error to fail with when the rate crossed the threshold. */
  record(ok: boolean, latencyMs: number): SwitchboardError | undefined {
    this.#errorRate.update(ok ? 0 : 1);
    if (latencyMs >= 0) this.#latency.update(latencyMs);
    const { errorRateThreshold: threshold, minSamples } = this.opts;
    const rate = this.#errorRate;
    if (this.failed !== undefined || threshold === undefined) return undefined;
    if (rate.count < minSamples || rate.value <= threshold) return undefined;
    return new SwitchboardError(
      'agent_failed',
      `agent ${this.id}: error rate ${rate.value.toFixed(3)} above ${threshold} over ${rate.count} tasks`,
      { details: { agentId: this.id, errorRate: rate.value, threshold } },
    );
  }

  /** Reported figures, overlaid by a runtime sample, then by the task averages. */
  metrics(): HealthMetrics {
    const out = { ...this.#reported };
    if (this.opts.sampleRuntime !== undefined) {
      try {
        Object.assign(out, pickMetrics(this.opts.sampleRuntime()));
      } catch {
        // A runtime sample is best effort: the reported figures stand when it fails.
      }
    }
    if (this.#errorRate.count > 0) out.errorRate = this.#errorRate.value;
    if (this.#latency.count > 0) out.latencyMs = this.#latency.value;
    return out;
  }

  /** `failed`, `suspect` (a beat overdue, a failed check, a high error rate on few samples) or `healthy`. */
  status(now: number): HealthStatus {
    if (this.failed !== undefined) return 'failed';
    const { heartbeatIntervalMs, errorRateThreshold } = this.opts;
    const overdue = now > this.aliveAt + heartbeatIntervalMs;
    const erring = errorRateThreshold !== undefined && this.#errorRate.value > errorRateThreshold;
    return overdue || erring || this.#checkFailures > 0 ? 'suspect' : 'healthy';
  }

  /** Moves every deadline by the monitor's own stall (or clock step). */
  shift(byMs: number, now: number): void {
    // Capped at now: a heartbeat handled during the stall (I/O callbacks run while timers
    // wait) is already fresh and earns no extra grace.
    this.aliveAt = Math.min(this.aliveAt + byMs, now);
    this.#nextCheckAt += byMs;
    if (this.#checkStartedAt !== undefined) {
      this.#checkStartedAt = Math.min(this.#checkStartedAt + byMs, now);
    }
  }

  /** The error to fail with when no sign of life came for the timeout. */
  heartbeatOverdue(now: number): SwitchboardError | undefined {
    const silentMs = now - this.aliveAt;
    if (silentMs < this.opts.heartbeatTimeoutMs) return undefined;
    return new SwitchboardError(
      'agent_failed',
      `agent ${this.id}: no heartbeat for ${silentMs} ms (timeout ${this.opts.heartbeatTimeoutMs} ms)`,
      { details: { agentId: this.id } },
    );
  }

  /** When the check in flight has run past its timeout: abandons it, returns why. */
  abandonHungCheck(now: number): SwitchboardError | undefined {
    const { healthCheckTimeoutMs } = this.opts;
    if (this.#checkStartedAt === undefined || now - this.#checkStartedAt < healthCheckTimeoutMs) {
      return undefined;
    }
    this.#checkGen++;
    this.#checkStartedAt = undefined;
    return new SwitchboardError(
      'timeout',
      `agent ${this.id}: health check did not settle within ${healthCheckTimeoutMs} ms`,
    );
  }

  /** Starts a check when one is due and none is in flight; returns its generation. */
  beginCheck(now: number): number | undefined {
    if (this.opts.healthCheck === undefined || this.#checkStartedAt !== undefined) return undefined;
    if (now < this.#nextCheckAt) return undefined;
    this.#checkStartedAt = now;
    this.#nextCheckAt = now + this.opts.heartbeatIntervalMs;
    return ++this.#checkGen;
  }

  /** Whether `gen` is the check in flight (not abandoned, not superseded). */
  isCurrentCheck(gen: number): boolean {
    return this.#checkGen === gen && this.#checkStartedAt !== undefined;
  }

  /**
   * Takes the answer of the current check (or the verdict on a hung one). A pass is a sign
   * of life; returns the error to fail with after too many failures in a row.
   */
  checkSettled(ok: boolean, now: number, error?: Error): SwitchboardError | undefined {
    this.#checkStartedAt = undefined;
    if (this.failed !== undefined) return undefined;
    if (ok) {
      this.#checkFailures = 0;
      this.aliveAt = Math.max(this.aliveAt, now);
      return undefined;
    }
    this.#checkFailures++;
    if (this.#checkFailures < this.opts.healthCheckFailures) return undefined;
    const why = error ?? new Error(`agent ${this.id}: health check reported unhealthy`);
    return new SwitchboardError(
      'agent_failed',
      `agent ${this.id}: ${this.#checkFailures} failed health checks in a row (${why.message})`,
      { cause: why, details: { agentId: this.id } },
    );
  }
}
