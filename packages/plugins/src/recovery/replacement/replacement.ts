import type { RecoveryStrategy } from '@switchboard/core';
import { readOptions } from '../../shared/index.js';

/** The name `replacement` registers under. */
export const REPLACEMENT = 'replacement';

/** Options of {@link replacement}: none yet; the object is accepted for uniformity. */
export type ReplacementOptions = Record<string, never>;

/**
 * Replacement: a failed agent is discarded and a new one is made at once from its
 * definition's factory, with no delay (fresh state beats retrying a corrupted one). Remote
 * agents are not made here, so they get `failover` (a warm standby) instead.
 *
 * @example
 * ```ts
 * import { replacement } from '@switchboard/plugins/replacement'
 * createSwitchboard({ recovery: replacement() })
 * ```
 */
export function replacement(options?: ReplacementOptions): RecoveryStrategy {
  readOptions(REPLACEMENT, options);
  return {
    name: REPLACEMENT,
    onAgentFailure: (failure) => (failure.remote ? { action: 'failover' } : { action: 'replace' }),
  };
}
