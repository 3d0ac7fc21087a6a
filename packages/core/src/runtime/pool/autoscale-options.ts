import { SwitchboardError } from '../../errors.js';

/** How a definition autoscales (the `autoscale` pool entry option). */
export interface AutoscaleOptions {
  /** The fewest active instances the autoscaler keeps (may be 0: scale to zero). */
  readonly min: number;
  /** The most active instances the autoscaler starts. */
  readonly max: number;
  /**
   * Scale up while more tasks than this wait per active agent. Defaults to the agent's slots
   * (`maxConcurrency` × batch size) unless only `targetLatencyMs` is given.
   */
  readonly targetQueueDepthPerAgent?: number;
  /** Scale up while work waits and the end-to-end p99 latency (ms) is above this. */
  readonly targetLatencyMs?: number;
  /** Agents added per scale-up (default 1). */
  readonly scaleUpStep?: number;
  /** How long load must stay well below target before each scale-down step, in ms (default 30 000). */
  readonly cooldownMs?: number;
  /** How often the definition is evaluated, in ms (default 1 000). */
  readonly intervalMs?: number;
}

/** {@link AutoscaleOptions} with the defaults filled in. */
export interface AutoscalePolicy {
  readonly min: number;
  readonly max: number;
  readonly targetQueueDepthPerAgent: number | undefined;
  readonly targetLatencyMs: number | undefined;
  readonly scaleUpStep: number;
  readonly cooldownMs: number;
  readonly intervalMs: number;
}

/** Why a definition was scaled (the `reason` of `pool.scaled` events). */
export type ScaleReason = 'queue_depth' | 'latency' | 'idle' | 'min' | 'manual';

/** One scaling step the autoscaler took. */
export interface ScaleDecision {
  readonly name: string;
  readonly from: number;
  readonly to: number;
  readonly reason: ScaleReason;
}

/**
 * Checks autoscale options and fills the defaults.
 *
 * @throws SwitchboardError `invalid_config` naming the bad field under `where`.
 */
export function resolveAutoscale(where: string, options: AutoscaleOptions): AutoscalePolicy {
  const fail = (field: string, why: string, value: unknown) =>
    new SwitchboardError('invalid_config', `${where}.${field} ${why}, got ${String(value)}`, {
      details: { field: `${where}.${field}`, value },
    });
  const integer = (field: string, value: unknown, min: number): number => {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
      throw fail(field, `must be an integer ≥ ${min}`, value);
    }
    return value;
  };
  const positive = (field: string, value: unknown): number | undefined => {
    if (value === undefined) return undefined;
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
      throw fail(field, 'must be a number > 0', value);
    }
    return value;
  };
  if (typeof options !== 'object' || options === null) throw fail('', 'must be an object', options);
  const min = integer('min', options.min, 0);
  const max = integer('max', options.max, Math.max(1, min));
  return {
    min,
    max,
    targetQueueDepthPerAgent: positive(
      'targetQueueDepthPerAgent',
      options.targetQueueDepthPerAgent,
    ),
    targetLatencyMs: positive('targetLatencyMs', options.targetLatencyMs),
    scaleUpStep: integer('scaleUpStep', options.scaleUpStep ?? 1, 1),
    cooldownMs: positive('cooldownMs', options.cooldownMs) ?? 30_000,
    intervalMs: positive('intervalMs', options.intervalMs) ?? 1_000,
  };
}
