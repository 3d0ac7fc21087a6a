import type { AgentCandidate, LoadBalancer } from '@switchboard/core';
import { configError, describe, readOptions } from '../../shared/index.js';

/** The name `weighted` registers under. */
export const WEIGHTED = 'weighted';

/** Options of {@link weighted}. */
export interface WeightedOptions {
  /**
   * Weights by agent id or agent name (an id wins over a name); candidates not listed use
   * their own `weight`. Each weight must be a finite number > 0.
   */
  weights?: Readonly<Record<string, number>>;
}

/**
 * Smooth weighted round robin (nginx's): over any run of picks, each free candidate gets a
 * share proportional to its weight, interleaved rather than in bursts (5:3:1 gives
 * a b a c a b a b a, not a a a a a b b b c).
 *
 * @example
 * ```ts
 * import { weighted } from '@switchboard/plugins/weighted'
 * createSwitchboard({ loadBalancer: weighted({ weights: { 'gpu-agent': 5, 'cpu-agent': 1 } }) })
 * ```
 */
export function weighted(options?: WeightedOptions): LoadBalancer {
  const opts = readOptions<WeightedOptions>(WEIGHTED, options);
  const weights = readWeights(opts.weights);
  // Each agent's running "current weight" of the smooth algorithm.
  const current = new Map<string, number>();

  const weightOf = (candidate: AgentCandidate): number => {
    const w = weights.get(candidate.id) ?? weights.get(candidate.name) ?? candidate.weight;
    // A candidate's own weight is not validated upstream; a bad one counts as the default 1
    // rather than starving the agent or poisoning the sums with NaN.
    return Number.isFinite(w) && w > 0 ? w : 1;
  };

  return {
    name: WEIGHTED,
    select(candidates) {
      let best: AgentCandidate | undefined;
      let bestCurrent = Number.NEGATIVE_INFINITY;
      let total = 0;
      for (const candidate of candidates) {
        if (candidate.freeSlots <= 0) continue;
        const w = weightOf(candidate);
        const cw = (current.get(candidate.id) ?? 0) + w;
        current.set(candidate.id, cw);
        total += w;
        if (cw > bestCurrent) {
          best = candidate;
          bestCurrent = cw;
        }
      }
      if (best !== undefined) current.set(best.id, bestCurrent - total);
      return best;
    },
    agentRemoved(agentId: string): void {
      current.delete(agentId);
    },
  };
}

function readWeights(input: unknown): Map<string, number> {
  const weights = new Map<string, number>();
  if (input === undefined) return weights;
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw configError(WEIGHTED, `weights must be an object, got ${describe(input)}`);
  }
  for (const [key, value] of Object.entries(input)) {
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
      throw configError(WEIGHTED, `weights must be positive: "${key}" is ${describe(value)}`, {
        field: `weights.${key}`,
      });
    }
    weights.set(key, value);
  }
  return weights;
}
