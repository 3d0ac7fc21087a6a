import { SwitchboardError } from '../errors.js';
import type { HealthMetrics } from '../model/agent.js';

/** How a tracked agent is watched. */
export interface TrackOptions {
  /** How often the agent heartbeats, and how often its health check runs, in ms. */
  readonly heartbeatIntervalMs: number;
  /** No heartbeat for this long (monitor-observed time) and the agent is failed. */
  readonly heartbeatTimeoutMs: number;
  /**
   * An in-process probe run every `heartbeatIntervalMs`. Resolving `true` passes and also
   * counts as a heartbeat; `false`, any other value, a throw, or not settling within
   * `healthCheckTimeoutMs` counts as a failure.
   */
  readonly healthCheck?: () => boolean | Promise<boolean>;
  /** Consecutive failing checks that fail the agent (default 3). */
  readonly healthCheckFailures?: number;
  /** A check that has not settled after this long failed (default `heartbeatIntervalMs`). */
  readonly healthCheckTimeoutMs?: number;
  /** Fail the agent when its task error rate (EWMA, 0..1) rises above this. Off by default. */
  readonly errorRateThreshold?: number;
  /** Task outcomes needed before the error rate can fail the agent (default 10). */
  readonly minSamples?: number;
  /**
   * Reads cpu/memory figures of the runtime the agent runs in, when the runtime exposes
   * them (core cannot reach Node globals itself). Called when `metrics()` is read.
   */
  readonly sampleRuntime?: () => Partial<HealthMetrics>;
}

/** {@link TrackOptions} with every default filled in. */
export interface ResolvedTrackOptions {
  readonly heartbeatIntervalMs: number;
  readonly heartbeatTimeoutMs: number;
  readonly healthCheck: (() => boolean | Promise<boolean>) | undefined;
  readonly healthCheckFailures: number;
  readonly healthCheckTimeoutMs: number;
  readonly errorRateThreshold: number | undefined;
  readonly minSamples: number;
  readonly sampleRuntime: (() => Partial<HealthMetrics>) | undefined;
}

const METRIC_KEYS = ['cpuUsage', 'memoryUsage', 'queueSize', 'errorRate', 'latencyMs'] as const;

/**
 * Checks and completes the options of `track`.
 *
 * @throws SwitchboardError `invalid_config` naming the agent and the bad field.
 */
export function resolveTrackOptions(agentId: string, options: TrackOptions): ResolvedTrackOptions {
  const fail = (field: string, why: string) =>
    new SwitchboardError('invalid_config', `health monitor: agent ${agentId}: ${field} ${why}`, {
      details: { agentId, field },
    });
  const positive = (field: string, value: unknown) => {
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
      throw fail(field, `must be a positive number, got ${String(value)}`);
    }
    return value;
  };
  if (options === null || typeof options !== 'object') throw fail('options', 'must be an object');
  const interval = positive('heartbeatIntervalMs', options.heartbeatIntervalMs);
  const timeout = positive('heartbeatTimeoutMs', options.heartbeatTimeoutMs);
  if (timeout < interval) throw fail('heartbeatTimeoutMs', 'must be at least heartbeatIntervalMs');
  if (options.healthCheck !== undefined && typeof options.healthCheck !== 'function') {
    throw fail('healthCheck', 'must be a function');
  }
  const failures = options.healthCheckFailures ?? 3;
  if (!Number.isInteger(failures) || failures < 1) {
    throw fail('healthCheckFailures', `must be an integer ≥ 1, got ${failures}`);
  }
  const threshold = options.errorRateThreshold;
  if (threshold !== undefined && !(threshold >= 0 && threshold <= 1)) {
    throw fail('errorRateThreshold', `must be in 0..1, got ${threshold}`);
  }
  const minSamples = options.minSamples ?? 10;
  if (!Number.isInteger(minSamples) || minSamples < 1) {
    throw fail('minSamples', `must be an integer ≥ 1, got ${minSamples}`);
  }
  if (options.sampleRuntime !== undefined && typeof options.sampleRuntime !== 'function') {
    throw fail('sampleRuntime', 'must be a function');
  }
  return {
    heartbeatIntervalMs: interval,
    heartbeatTimeoutMs: timeout,
    healthCheck: options.healthCheck,
    healthCheckFailures: failures,
    healthCheckTimeoutMs: positive(
      'healthCheckTimeoutMs',
      options.healthCheckTimeoutMs ?? interval,
    ),
    errorRateThreshold: threshold,
    minSamples,
    sampleRuntime: options.sampleRuntime,
  };
}

/**
 * Checks reported metrics: every field given must be a finite number ≥ 0.
 *
 * @throws SwitchboardError `invalid_request` naming the bad field.
 */
export function checkMetrics(agentId: string, metrics: Partial<HealthMetrics>): void {
  if (metrics === null || typeof metrics !== 'object') {
    throw new SwitchboardError(
      'invalid_request',
      `heartbeat of ${agentId}: metrics must be an object`,
    );
  }
  for (const key of METRIC_KEYS) {
    const value = metrics[key];
    if (
      value !== undefined &&
      !(typeof value === 'number' && Number.isFinite(value) && value >= 0)
    ) {
      throw new SwitchboardError(
        'invalid_request',
        `heartbeat of ${agentId}: metrics.${key} must be a finite number ≥ 0, got ${String(value)}`,
        { details: { agentId, field: `metrics.${key}` } },
      );
    }
  }
}

/** Copies only the known metric fields that hold numbers (a runtime sample may carry more). */
export function pickMetrics(source: Partial<HealthMetrics>): Partial<HealthMetrics> {
  const out: Partial<HealthMetrics> = {};
  for (const key of METRIC_KEYS) {
    const value = source[key];
    if (typeof value === 'number' && Number.isFinite(value)) out[key] = value;
  }
  return out;
}
