import type { AgentFailure, RecoveryAction, RecoveryStrategy } from '@switchboard/core';
import { configError, describe, numberOption, readOptions } from '../../shared/index.js';

/** The name `restart` registers under. */
export const RESTART = 'restart';

/** Options of {@link restart}. */
export interface RestartOptions {
  /** Delay before the first restart in a window. Default 100 ms. */
  initialDelayMs?: number;
  /** The delay doubles on each restart in the window, up to this. Default 30,000 ms. */
  maxDelayMs?: number;
  /** Growth of the delay per restart. Default 2. */
  factor?: number;
  /** Restarts allowed within `windowMs` for one agent definition. Default 3. */
  maxRestarts?: number;
  /** The window restarts are counted over. Default 60,000 ms. */
  windowMs?: number;
  /**
   * What to do past `maxRestarts`: make a fresh agent (`replace`), or leave the slot empty
   * (`give_up`, the default). (Not named `then`: an object with `then` looks like a promise.)
   */
  escalate?: 'replace' | 'give_up';
}

/**
 * Restart, as OTP supervisors do: the failed agent's definition starts again after a delay
 * growing exponentially (`initialDelayMs`, ×`factor`, capped at `maxDelayMs`), at most
 * `maxRestarts` times within `windowMs` per definition; past that the crash is taken as
 * permanent and the action is `escalate` (`give_up` by default, or `replace`). Remote agents
 * cannot be restarted from here, so they get `failover` instead.
 *
 * Restarts are counted by this strategy (per agent name, by `failure.now`), not read from
 * `failure.recentFailures`, whose window is the caller's.
 *
 * @example
 * ```ts
 * import { restart } from '@switchboard/plugins/restart'
 * createSwitchboard({ recovery: restart({ maxRestarts: 5, windowMs: 30_000, escalate: 'replace' }) })
 * ```
 */
export function restart(options?: RestartOptions): RecoveryStrategy {
  const opts = readOptions<RestartOptions>(RESTART, options);
  const initialDelayMs = numberOption(RESTART, 'initialDelayMs', opts.initialDelayMs, 100, {
    min: 0,
  });
  const maxDelayMs = numberOption(RESTART, 'maxDelayMs', opts.maxDelayMs, 30_000, { min: 0 });
  const factor = numberOption(RESTART, 'factor', opts.factor, 2, { min: 1 });
  const maxRestarts = numberOption(RESTART, 'maxRestarts', opts.maxRestarts, 3, {
    integer: true,
    min: 0,
  });
  const windowMs = numberOption(RESTART, 'windowMs', opts.windowMs, 60_000);
  const escalate = opts.escalate ?? 'give_up';
  if (escalate !== 'replace' && escalate !== 'give_up') {
    throw configError(
      RESTART,
      `escalate must be "replace" or "give_up", got ${describe(escalate)}`,
    );
  }
  if (maxDelayMs < initialDelayMs) {
    throw configError(RESTART, `maxDelayMs (${maxDelayMs}) is below initialDelayMs`);
  }
  // Restart instants per agent definition, oldest first, only those inside the window.
  const restarts = new Map<string, number[]>();

  return {
    name: RESTART,
    onAgentFailure(failure: AgentFailure): RecoveryAction {
      if (failure.remote) return { action: 'failover' };
      const recent = (restarts.get(failure.agentName) ?? []).filter(
        (at) => failure.now - at < windowMs,
      );
      if (recent.length >= maxRestarts) {
        restarts.set(failure.agentName, recent);
        if (escalate === 'replace') return { action: 'replace' };
        return {
          action: 'give_up',
          reason: `${failure.agentName} failed (${failure.reason}) after ${recent.length} restarts within ${windowMs} ms`,
        };
      }
      const delayMs = Math.min(maxDelayMs, initialDelayMs * factor ** recent.length);
      recent.push(failure.now);
      restarts.set(failure.agentName, recent);
      return { action: 'restart', delayMs };
    },
  };
}
