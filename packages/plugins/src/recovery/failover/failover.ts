import type { RecoveryStrategy } from '@switchboard/core';
import { readOptions } from '../../shared/index.js';

/** The name `failover` registers under. */
export const FAILOVER = 'failover';

/** Options of {@link failover}: none yet; the object is accepted for uniformity. */
export type FailoverOptions = Record<string, never>;

/**
 * Failover: a warm standby agent with the same capabilities is promoted in the failed one's
 * place (the failed agent's tasks are back in the queue whatever the strategy). Works for
 * in-process and remote agents alike.
 *
 * @example
 * ```ts
 * import { failover } from '@switchboard/plugins/failover'
 * createSwitchboard({ recovery: failover() })
 * ```
 */
export function failover(options?: FailoverOptions): RecoveryStrategy {
  readOptions(FAILOVER, options);
  return {
    name: FAILOVER,
    onAgentFailure: () => ({ action: 'failover' }),
  };
}
