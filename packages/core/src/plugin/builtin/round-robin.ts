import type { AgentCandidate, LoadBalancer } from '../../contracts/load-balancer.js';

/**
 * The default load balancer: takes the candidates with a free slot in turn. It keeps one
 * counter and scans from it, so a pick costs O(1) while most candidates are free and never
 * more than one pass over the candidates.
 *
 * @example
 * ```ts
 * createSwitchboard({ loadBalancer: 'round-robin' }) // the default
 * createSwitchboard({ loadBalancer: roundRobin() })
 * ```
 */
export function roundRobin(): LoadBalancer {
  let next = 0;
  return {
    name: 'round-robin',
    select(candidates: readonly AgentCandidate[]): AgentCandidate | undefined {
      const n = candidates.length;
      for (let i = 0; i < n; i++) {
        const candidate = candidates[(next + i) % n] as AgentCandidate;
        if (candidate.freeSlots > 0) {
          next = (next + i + 1) % n;
          return candidate;
        }
      }
      return undefined;
    },
  };
}
