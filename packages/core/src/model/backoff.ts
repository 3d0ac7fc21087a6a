/**
 * The one formula of every exponential wait in the core (retries of a failed task, an
 * agent's retry policy, restarts of a failed agent): `initialMs` after the first failure,
 * times `factor` after each further one, never more than `maxMs`. Each caller adds its own
 * jitter and rounding.
 *
 * @example
 * ```ts
 * exponentialDelay(100, 2, 30_000, 1) // 100
 * exponentialDelay(100, 2, 30_000, 4) // 800
 * ```
 */
export function exponentialDelay(
  initialMs: number,
  factor: number,
  maxMs: number,
  failures: number,
): number {
  return Math.min(initialMs * factor ** Math.max(0, failures - 1), maxMs);
}
