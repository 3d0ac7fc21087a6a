import type { AgentFailure, RecoveryAction, RecoveryStrategy } from '../../contracts/recovery.js';
import { exponentialDelay } from '../../model/backoff.js';

/** Options of {@link restartWithBackoff}. */
export interface RestartWithBackoffOptions {
  /** The delay of the first restart, in ms (default 100). */
  readonly initialDelayMs?: number;
  /** The longest delay, in ms (default 30 000). */
  readonly maxDelayMs?: number;
  /** Give up once this many failures fall in the failure window (default 10). */
  readonly maxRestarts?: number;
}

/**
 * Core's default recovery: restart the failed agent after a delay that doubles with each
 * recent failure of its definition, and give up past `maxRestarts` (as OTP supervisors do).
 * Remote agents cannot be restarted from here; they register again themselves.
 *
 * @example
 * ```ts
 * createSwitchboard({ recovery: restartWithBackoff({ maxRestarts: 3 }) })
 * ```
 */
export function restartWithBackoff(options: RestartWithBackoffOptions = {}): RecoveryStrategy {
  const initial = options.initialDelayMs ?? 100;
  const max = options.maxDelayMs ?? 30_000;
  const maxRestarts = options.maxRestarts ?? 10;
  return {
    name: 'restart',
    onAgentFailure(failure: AgentFailure): RecoveryAction {
      if (failure.remote) return { action: 'give_up', reason: 'remote agents register again' };
      if (failure.recentFailures > maxRestarts) {
        return { action: 'give_up', reason: `${failure.recentFailures} failures in the window` };
      }
      const delayMs = exponentialDelay(initial, 2, max, failure.recentFailures);
      return { action: 'restart', delayMs };
    },
  };
}
