import type { AgentDefinition } from '../../agent/definition.js';
import { SwitchboardError } from '../../errors.js';
import {
  type AutoscaleOptions,
  type AutoscalePolicy,
  resolveAutoscale,
} from './autoscale-options.js';

/** How a definition's agents are run by the pool. */
export interface PoolEntryOptions {
  /**
   * The fewest instances: started by `start()`, and the floor of `scale` (default 1, or
   * `autoscale.min`; 0 for `add`).
   */
  readonly min?: number;
  /** The most instances (default unbounded, or `autoscale.max`). */
  readonly max?: number;
  /** A relative weight for weighted load balancers (default 1). */
  readonly weight?: number;
  /** Opts in to consolidated calls: up to `max` tasks handed to one handler call as an array. */
  readonly batch?: { readonly max: number };
  /** Warm standby instances that take work only when a failover promotes them (default 0). */
  readonly standby?: number;
  /** Scales the definition between `min` and `max` on queue depth and latency. */
  readonly autoscale?: AutoscaleOptions;
}

/** A definition as the pool runs it. */
export interface PoolDefinition {
  readonly name: string;
  /** The definition new instances are made from (a rolling update swaps it). */
  readonly definition: AgentDefinition;
  readonly min: number;
  readonly max: number;
  readonly weight: number;
  readonly batchMax: number;
  readonly standby: number;
  /** The autoscaling policy, when the definition autoscales. */
  readonly autoscale?: AutoscalePolicy;
  /** Active instances now (standbys and draining ones excluded). */
  readonly count: number;
}

/** A definition as the pool keeps it. */
export type PoolEntry = Omit<PoolDefinition, 'count'>;

/** The keys of an agents entry: the definition, then the {@link PoolEntryOptions}. */
const ENTRY_KEYS = ['definition', 'min', 'max', 'weight', 'batch', 'standby', 'autoscale'];

function checkCount(field: string, value: number, min: number): number {
  if (value !== Number.POSITIVE_INFINITY && (!Number.isInteger(value) || value < min)) {
    throw new SwitchboardError('invalid_config', `${field} must be an integer ≥ ${min}`, {
      details: { field, value },
    });
  }
  return value;
}

/**
 * Checks a definition's pool settings and fills the defaults: min 1, max unbounded,
 * weight 1, no batching (unless the definition opts in), no standby, no autoscaling. With
 * `autoscale`, `min` and `max` default to its bounds, which must lie within them.
 *
 * @throws SwitchboardError `invalid_config` naming the agent and the setting.
 */
export function resolvePoolEntry(
  definition: AgentDefinition,
  options: PoolEntryOptions,
): PoolEntry {
  const where = `agents["${definition.name}"]`;
  for (const key of Object.keys(options ?? {})) {
    // A misspelt or invented setting (`count` for `min`) would otherwise be ignored quietly.
    if (!ENTRY_KEYS.includes(key)) {
      throw new SwitchboardError(
        'invalid_config',
        `${where}: unknown setting "${key}"; known: ${ENTRY_KEYS.slice(1).join(', ')}`,
        { details: { field: `${where}.${key}` } },
      );
    }
  }
  const autoscale =
    options.autoscale === undefined
      ? undefined
      : resolveAutoscale(`${where}.autoscale`, options.autoscale);
  const min = checkCount(`${where}.min`, options.min ?? autoscale?.min ?? 1, 0);
  const max = checkCount(
    `${where}.max`,
    options.max ?? autoscale?.max ?? Number.POSITIVE_INFINITY,
    Math.max(1, min),
  );
  if (autoscale !== undefined && (autoscale.min < min || autoscale.max > max)) {
    throw new SwitchboardError(
      'invalid_config',
      `${where}.autoscale must scale within ${min}..${max}, not ${autoscale.min}..${autoscale.max}`,
      { details: { field: `${where}.autoscale`, min, max } },
    );
  }
  const weight = options.weight ?? 1;
  if (!(weight > 0) || !Number.isFinite(weight)) {
    throw new SwitchboardError('invalid_config', `${where}.weight must be a number > 0`);
  }
  const optedIn = (definition as { batch?: { max?: number } }).batch?.max;
  const batchMax = checkCount(`${where}.batch.max`, options.batch?.max ?? optedIn ?? 1, 1);
  const standby = checkCount(`${where}.standby`, options.standby ?? 0, 0);
  const entry = { name: definition.name, definition, min, max, weight, batchMax, standby };
  return autoscale === undefined ? entry : { ...entry, autoscale };
}
