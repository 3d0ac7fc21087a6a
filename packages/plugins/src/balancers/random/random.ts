import type { LoadBalancer } from '@switchboard/core';
import { freeCandidates, functionOption, randomIndex, readOptions } from '../../shared/index.js';

/** The name `random` registers under. */
export const RANDOM = 'random';

/** Options of {@link random}. */
export interface RandomOptions {
  /** A source of numbers in [0, 1); `Math.random` by default. Inject one for tests. */
  random?: () => number;
}

/**
 * Random: a uniform choice among the candidates with a free slot.
 *
 * @example
 * ```ts
 * import { random } from '@switchboard/plugins/random'
 * createSwitchboard({ loadBalancer: random() })
 * ```
 */
export function random(options?: RandomOptions): LoadBalancer {
  const opts = readOptions<RandomOptions>(RANDOM, options);
  const next = functionOption(RANDOM, 'random', opts.random, Math.random);
  return {
    name: RANDOM,
    select(candidates) {
      const free = freeCandidates(candidates);
      return free.length === 0 ? undefined : free[randomIndex(next, free.length)];
    },
  };
}
