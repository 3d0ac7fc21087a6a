import { SwitchboardError } from '../../errors.js';
import { exponentialDelay } from '../../model/backoff.js';
import type { TaskError } from '../../model/task.js';

/** How long to wait between attempts of a failed task: exponential, capped, with jitter. */
export interface BackoffOptions {
  /** The wait after the first failed attempt, in ms (≥ 0). */
  readonly initialDelayMs: number;
  /** The longest wait, in ms (≥ `initialDelayMs`). */
  readonly maxDelayMs: number;
  /** Growth per attempt (≥ 1; 1 waits `initialDelayMs` every time). */
  readonly factor: number;
  /**
   * The share of each delay that is randomized, 0..1: with 0.2 a 1000 ms delay lands in
   * 800..1000 ms, so tasks that failed together do not all come back at the same instant.
   */
  readonly jitter: number;
}

/** 100 ms, doubling, up to 30 s, 20 % jitter (the agent config's retry defaults). */
export const DEFAULT_BACKOFF: BackoffOptions = Object.freeze({
  initialDelayMs: 100,
  maxDelayMs: 30_000,
  factor: 2,
  jitter: 0.2,
});

/**
 * Fills and checks backoff options.
 *
 * @throws SwitchboardError `invalid_config` naming the bad field.
 */
export function resolveBackoff(input: Partial<BackoffOptions> = {}): BackoffOptions {
  const merged = { ...DEFAULT_BACKOFF, ...input };
  const check = (field: keyof BackoffOptions, ok: boolean) => {
    if (!ok) {
      throw new SwitchboardError(
        'invalid_config',
        `retry.${field}: invalid value ${String(merged[field])}`,
        { details: { field: `retry.${field}`, value: merged[field] } },
      );
    }
  };
  const finite = (v: number) => typeof v === 'number' && Number.isFinite(v);
  check('initialDelayMs', finite(merged.initialDelayMs) && merged.initialDelayMs >= 0);
  check('maxDelayMs', finite(merged.maxDelayMs) && merged.maxDelayMs >= merged.initialDelayMs);
  check('factor', finite(merged.factor) && merged.factor >= 1);
  check('jitter', finite(merged.jitter) && merged.jitter >= 0 && merged.jitter <= 1);
  return Object.freeze(merged);
}

/**
 * The wait before the attempt that follows failed attempt number `attempt` (1 = the first).
 * `random` (0..1) is injectable for tests.
 *
 * @example
 * ```ts
 * backoffDelay(DEFAULT_BACKOFF, 1) // 80..100
 * backoffDelay(DEFAULT_BACKOFF, 4) // 640..800
 * ```
 */
export function backoffDelay(
  options: BackoffOptions,
  attempt: number,
  random: () => number = Math.random,
): number {
  const capped = exponentialDelay(
    options.initialDelayMs,
    options.factor,
    options.maxDelayMs,
    attempt,
  );
  return Math.round(capped - capped * options.jitter * random());
}

/** Whether a failed attempt is tried again, and when the task is available again. */
export interface RetryDecision {
  readonly retry: boolean;
  /** `now` plus the backoff when retried; `now` when not (the task is dead). */
  readonly availableAt: number;
}

/**
 * The retry rule, for a lease failed here or answered by a remote agent alike: another
 * attempt after a backoff while attempts remain and the error does not say it is not
 * retryable; otherwise the task is dead.
 */
export function retryDecision(
  options: BackoffOptions,
  error: TaskError,
  attempt: number,
  maxAttempts: number,
  now: number,
  random: () => number,
): RetryDecision {
  const retry = error.retryable !== false && attempt < maxAttempts;
  return { retry, availableAt: retry ? now + backoffDelay(options, attempt, random) : now };
}
