import type { AgentCandidate, LoadBalancer } from '@switchboard/core';
import { numberOption, readOptions } from './options.js';

/** The name `least-latency` registers under. */
export const LEAST_LATENCY = 'least-latency';

/** Options of {@link leastLatency}. */
export interface LeastLatencyOptions {
  /**
   * Agents whose error rate (0..1, a moving average) is above this are passed over while a
   * healthier agent has a free slot. Default 0.5: an agent that fails fast looks fast, and
   * without this it would attract every task.
   */
  readonly maxErrorRate?: number;
  /**
   * Latencies within this many ms of the best count as equal; the least loaded of those
   * wins, so agents of about the same speed share the work. Default 1.
   */
  readonly toleranceMs?: number;
}

/**
 * Least latency: the free candidate with the lowest `metrics.latencyMs`, among those whose
 * error rate is at most `maxErrorRate`. Ties (within `toleranceMs`) go to the least loaded,
 * then to the first listed. An agent that has not finished a task yet reports 0 ms, so each
 * new agent is tried once before the measured ones win.
 *
 * When every free candidate is above `maxErrorRate`, the least flaky one is picked rather
 * than none: a balancer that declines leaves the task waiting, and banning an agent is the
 * recovery strategy's job (a circuit breaker), not the balancer's.
 *
 * Synchronous and free of I/O: two passes over the candidates, nothing kept between calls.
 *
 * @example
 * ```ts
 * import { leastLatency } from 'switchboard-plugin-latency'
 * createSwitchboard({ loadBalancer: leastLatency({ maxErrorRate: 0.2 }) })
 * ```
 */
export function leastLatency(options?: LeastLatencyOptions): LoadBalancer {
  const opts = readOptions<LeastLatencyOptions>(LEAST_LATENCY, options);
  const maxErrorRate = numberOption(LEAST_LATENCY, 'maxErrorRate', opts.maxErrorRate, 0.5, {
    min: 0,
    max: 1,
  });
  const toleranceMs = numberOption(LEAST_LATENCY, 'toleranceMs', opts.toleranceMs, 1, { min: 0 });
  return {
    name: LEAST_LATENCY,
    select(candidates: readonly AgentCandidate[]): AgentCandidate | undefined {
      // `metrics` may be computed on each read (the engine's are): read it once per candidate.
      let fastest = Number.POSITIVE_INFINITY;
      let leastFlaky: AgentCandidate | undefined;
      let leastFlakyRate = Number.POSITIVE_INFINITY;
      for (const c of candidates) {
        if (c.freeSlots <= 0) continue;
        const { errorRate, latencyMs } = c.metrics;
        if (errorRate <= maxErrorRate) {
          if (latencyMs < fastest) fastest = latencyMs;
        } else if (errorRate < leastFlakyRate) {
          leastFlaky = c;
          leastFlakyRate = errorRate;
        }
      }
      if (fastest === Number.POSITIVE_INFINITY) return leastFlaky;
      let best: AgentCandidate | undefined;
      let bestLoad = Number.POSITIVE_INFINITY;
      for (const c of candidates) {
        if (c.freeSlots <= 0) continue;
        const { errorRate, latencyMs } = c.metrics;
        if (errorRate > maxErrorRate || latencyMs > fastest + toleranceMs) continue;
        const load = c.activeTasks / c.maxConcurrency;
        if (load < bestLoad) {
          best = c;
          bestLoad = load;
        }
      }
      return best;
    },
  };
}
