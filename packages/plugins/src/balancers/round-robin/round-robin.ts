import type { AgentCandidate, LoadBalancer } from '@switchboard/core';
import { readOptions } from '../../shared/index.js';

/** The name `round-robin` registers under. */
export const ROUND_ROBIN = 'round-robin';

/** Options of {@link roundRobin}: none yet; the object is accepted for uniformity. */
export type RoundRobinOptions = Record<string, never>;

/**
 * Round robin: each task goes to the next candidate with a free slot after the one chosen
 * last time. The rotation survives the candidate list changing between calls: it resumes
 * after the last chosen agent when that agent is still listed, else at the index it had.
 *
 * @example
 * ```ts
 * import { roundRobin } from '@switchboard/plugins/round-robin'
 * createSwitchboard({ loadBalancer: roundRobin() })
 * ```
 */
export function roundRobin(options?: RoundRobinOptions): LoadBalancer {
  readOptions(ROUND_ROBIN, options);
  let lastId: string | undefined;
  // Where the last chosen agent stood. When it has left the list, its successor has
  // usually shifted into that index, so the rotation resumes there.
  let lastIndex = -1;

  return {
    name: ROUND_ROBIN,
    select(candidates: readonly AgentCandidate[]): AgentCandidate | undefined {
      const n = candidates.length;
      if (n === 0) return undefined;
      const last = lastId === undefined ? -1 : candidates.findIndex((c) => c.id === lastId);
      const start = last >= 0 ? last + 1 : Math.max(lastIndex, 0);
      for (let step = 0; step < n; step++) {
        const index = (start + step) % n;
        const candidate = candidates[index]!;
        if (candidate.freeSlots > 0) {
          lastId = candidate.id;
          lastIndex = index;
          return candidate;
        }
      }
      return undefined;
    },
    agentRemoved(agentId: string): void {
      if (agentId === lastId) lastId = undefined;
    },
  };
}
