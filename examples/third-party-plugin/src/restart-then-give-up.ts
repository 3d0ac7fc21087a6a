import type { AgentFailure, RecoveryAction, RecoveryStrategy } from '@switchboard/core';
import { numberOption, readOptions } from './options.js';

/** The name `restart-then-give-up` registers under. */
export const RESTART_THEN_GIVE_UP = 'restart-then-give-up';

/** Options of {@link restartThenGiveUp}. */
export interface RestartThenGiveUpOptions {
  /** Restarts allowed while failures of one definition pile up in the window. Default 3. */
  readonly maxRestarts?: number;
  /** The wait before a restart, times the recent failures (linear backoff). Default 100 ms. */
  readonly delayMs?: number;
}

/**
 * Restart, then give up: a failed in-process agent is started again after
 * `delayMs × recentFailures`, until its definition has failed more than `maxRestarts`
 * times within Switchboard's failure window (`failureWindowMs`); then its slot stays empty.
 * Remote agents are never restarted from here: they register again by themselves.
 *
 * Stateless: it decides from the failure alone, so two instances always agree.
 *
 * @example
 * ```ts
 * import { restartThenGiveUp } from 'switchboard-plugin-latency'
 * createSwitchboard({ recovery: restartThenGiveUp({ maxRestarts: 5 }) })
 * ```
 */
export function restartThenGiveUp(options?: RestartThenGiveUpOptions): RecoveryStrategy {
  const opts = readOptions<RestartThenGiveUpOptions>(RESTART_THEN_GIVE_UP, options);
  const maxRestarts = numberOption(RESTART_THEN_GIVE_UP, 'maxRestarts', opts.maxRestarts, 3, {
    min: 0,
    integer: true,
  });
  const delayMs = numberOption(RESTART_THEN_GIVE_UP, 'delayMs', opts.delayMs, 100, { min: 0 });
  return {
    name: RESTART_THEN_GIVE_UP,
    onAgentFailure(failure: AgentFailure): RecoveryAction {
      if (failure.remote) {
        return { action: 'give_up', reason: 'remote agents register again by themselves' };
      }
      if (failure.recentFailures > maxRestarts) {
        return {
          action: 'give_up',
          reason: `"${failure.agentName}" failed ${failure.recentFailures} times in the window (max ${maxRestarts} restarts)`,
        };
      }
      return { action: 'restart', delayMs: delayMs * Math.max(1, failure.recentFailures) };
    },
  };
}
