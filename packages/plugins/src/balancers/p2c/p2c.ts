import type { AgentCandidate, LoadBalancer } from '@switchboard/core';
import { freeCandidates, functionOption, randomIndex, readOptions } from '../../shared/index.js';

/** The name `p2c` registers under. */
export const P2C = 'p2c';

/** Options of {@link p2c}. */
export interface P2cOptions {
  /** A source of numbers in [0, 1); `Math.random` by default. Inject one for tests. */
  random?: () => number;
}

/**
 * Power of two choices on latency: samples two distinct free candidates at random and takes
 * the one with the lower recent latency (then fewer active tasks, then the first sampled).
 * Two random samples avoid the herd that "always the fastest" causes, while still steering
 * work away from slow agents (Mitzenmacher, "The Power of Two Choices", 2001).
 *
 * @example
 * ```ts
 * import { p2c } from '@switchboard/plugins/p2c'
 * createSwitchboard({ loadBalancer: p2c() })
 * ```
 */
export function p2c(options?: P2cOptions): LoadBalancer {
  const opts = readOptions<P2cOptions>(P2C, options);
  const next = functionOption(P2C, 'random', opts.random, Math.random);
  return {
    name: P2C,
    select(candidates) {
      const free = freeCandidates(candidates);
      if (free.length <= 1) return free[0];
      const i = randomIndex(next, free.length);
      // The second sample is drawn from the others, so the two are always distinct.
      let j = randomIndex(next, free.length - 1);
      if (j >= i) j++;
      return better(free[i]!, free[j]!);
    },
  };
}

function better(a: AgentCandidate, b: AgentCandidate): AgentCandidate {
  const la = latency(a);
  const lb = latency(b);
  if (la !== lb) return la < lb ? a : b;
  return b.activeTasks < a.activeTasks ? b : a;
}

/** An agent that reports no (or a nonsensical) latency ranks after those that do. */
function latency(candidate: AgentCandidate): number {
  const ms = candidate.metrics.latencyMs;
  return Number.isFinite(ms) && ms >= 0 ? ms : Number.POSITIVE_INFINITY;
}
