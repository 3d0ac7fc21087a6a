import { PRIORITIES, type Priority, type RecoveryStrategy } from '@switchboard/core';
import { configError, describe, numberOption, readOptions } from '../../shared/index.js';

/** The name `degraded-mode` registers under. */
export const DEGRADED_MODE = 'degraded-mode';

/** Options of {@link degradedMode}. */
export interface DegradedModeOptions {
  /** Only tasks at this priority or above are dispatched while degraded. Default `high`. */
  minPriority?: Priority;
  /** The definition's concurrency is multiplied by this, in (0, 1]. Default 0.5. */
  concurrencyFactor?: number;
}

/**
 * Degraded mode: keep going with less. Low-priority work is shed (left queued) and the
 * failed definition's concurrency is lowered, so the agents left standing serve what matters
 * most. When to return to normal is the engine's decision.
 *
 * @example
 * ```ts
 * import { degradedMode } from '@switchboard/plugins/degraded-mode'
 * createSwitchboard({ recovery: degradedMode({ minPriority: 'critical', concurrencyFactor: 0.25 }) })
 * ```
 */
export function degradedMode(options?: DegradedModeOptions): RecoveryStrategy {
  const opts = readOptions<DegradedModeOptions>(DEGRADED_MODE, options);
  const minPriority = opts.minPriority ?? 'high';
  if (!(PRIORITIES as readonly unknown[]).includes(minPriority)) {
    throw configError(
      DEGRADED_MODE,
      `minPriority must be one of ${PRIORITIES.join(', ')}, got ${describe(minPriority)}`,
    );
  }
  const concurrencyFactor = numberOption(
    DEGRADED_MODE,
    'concurrencyFactor',
    opts.concurrencyFactor,
    0.5,
    { max: 1 },
  );
  const action = Object.freeze({ action: 'degrade', minPriority, concurrencyFactor } as const);
  return {
    name: DEGRADED_MODE,
    onAgentFailure: () => action,
  };
}
