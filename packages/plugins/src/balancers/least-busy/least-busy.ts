import type { AgentCandidate, LoadBalancer } from '@switchboard/core';
import { load, readOptions } from '../../shared/index.js';

/** The name `least-busy` registers under. */
export const LEAST_BUSY = 'least-busy';

/** Options of {@link leastBusy}: none yet; the object is accepted for uniformity. */
export type LeastBusyOptions = Record<string, never>;

/**
 * Least busy: the free candidate with the fewest active tasks relative to its concurrency;
 * ties go to the lowest error rate, then to the first listed.
 *
 * @example
 * ```ts
 * import { leastBusy } from '@switchboard/plugins/least-busy'
 * createSwitchboard({ loadBalancer: leastBusy() })
 * ```
 */
export function leastBusy(options?: LeastBusyOptions): LoadBalancer {
  readOptions(LEAST_BUSY, options);
  return {
    name: LEAST_BUSY,
    select: (candidates) => pickLeastBusy(candidates),
  };
}

/**
 * The least busy free candidate of `candidates` (see {@link leastBusy}), or `undefined`
 * when none is free. Other strategies use it to break their ties.
 */
export function pickLeastBusy(candidates: readonly AgentCandidate[]): AgentCandidate | undefined {
  let best: AgentCandidate | undefined;
  let bestLoad = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    if (candidate.freeSlots <= 0) continue;
    const l = load(candidate);
    if (
      best === undefined ||
      l < bestLoad ||
      (l === bestLoad && candidate.metrics.errorRate < best.metrics.errorRate)
    ) {
      best = candidate;
      bestLoad = l;
    }
  }
  return best;
}
