import type { AgentCandidate, LoadBalancer, SelectContext } from '@switchboard/core';
import { functionOption, load, readOptions } from '../../shared/index.js';

/** The name `capability-aware` registers under. */
export const CAPABILITY_AWARE = 'capability-aware';

/**
 * Scores a candidate for a task; the highest score wins. Synchronous and cheap: it runs on
 * the dispatch path, so an expensive ranking (an LLM's, say) is computed elsewhere and
 * looked up here.
 */
export type CandidateScorer = (candidate: AgentCandidate, ctx: SelectContext) => number;

/** Options of {@link capabilityAware}. */
export interface CapabilityAwareOptions {
  /** Replaces the version ranking with a score of your own. */
  scorer?: CandidateScorer;
}

/**
 * Capability-aware: among the free candidates, the one whose capability named by the task
 * has the highest version (or, with a `scorer`, the highest score) wins; ties go to the
 * least busy, then to the first listed.
 *
 * @example
 * ```ts
 * import { capabilityAware } from '@switchboard/plugins/capability-aware'
 * const ranking = new Map([['gpt-agent', 0.9], ['small-agent', 0.4]]) // refreshed elsewhere
 * createSwitchboard({
 *   loadBalancer: capabilityAware({ scorer: (c) => ranking.get(c.name) ?? 0 }),
 * })
 * ```
 */
export function capabilityAware(options?: CapabilityAwareOptions): LoadBalancer {
  const opts = readOptions<CapabilityAwareOptions>(CAPABILITY_AWARE, options);
  const scorer = functionOption<CandidateScorer>(CAPABILITY_AWARE, 'scorer', opts.scorer);
  // Parsing version strings dominated the cost of a pick; agents share a handful of them.
  const versions = new Map<string, number>();
  const versionOf = (version: string): number => {
    let n = versions.get(version);
    if (n === undefined) {
      n = versionNumber(version);
      // Bounded: a flood of distinct versions costs a re-parse, never unbounded memory.
      if (versions.size >= 1024) versions.clear();
      versions.set(version, n);
    }
    return n;
  };
  return {
    name: CAPABILITY_AWARE,
    select(candidates, ctx) {
      let best: AgentCandidate | undefined;
      let bestScore = Number.NEGATIVE_INFINITY;
      let bestLoad = Number.POSITIVE_INFINITY;
      for (const candidate of candidates) {
        if (candidate.freeSlots <= 0) continue;
        const score =
          scorer === undefined
            ? capabilityVersion(candidate, ctx.task.capability, versionOf)
            : safeScore(scorer, candidate, ctx);
        const l = load(candidate);
        if (best === undefined || score > bestScore || (score === bestScore && l < bestLoad)) {
          best = candidate;
          bestScore = score;
          bestLoad = l;
        }
      }
      return best;
    },
  };
}

/**
 * A user scorer that throws or answers NaN must not stop dispatch (it runs for every task),
 * so such a candidate just ranks last.
 */
function safeScore(scorer: CandidateScorer, candidate: AgentCandidate, ctx: SelectContext): number {
  let score: number;
  try {
    score = scorer(candidate, ctx);
  } catch {
    // Deliberately swallowed: see above; the candidate stays eligible, ranked last.
    return Number.NEGATIVE_INFINITY;
  }
  return typeof score === 'number' && !Number.isNaN(score) ? score : Number.NEGATIVE_INFINITY;
}

/**
 * The default ranking as a score, for scorers that build on it: the version of the
 * candidate's capability that the task names, as one number ordered like `major.minor.patch`
 * (exact while each part is below 1e5); `-Infinity` when it has no readable version of it.
 *
 * @example
 * ```ts
 * // Prefer the newest version, and among equals the agents in the home region.
 * capabilityAware({ scorer: (c, ctx) => versionScore(c, ctx) + (c.name.startsWith('eu-') ? 1 : 0) })
 * ```
 */
export function versionScore(candidate: AgentCandidate, ctx: SelectContext): number {
  return capabilityVersion(candidate, ctx.task.capability, versionNumber);
}

function capabilityVersion(
  candidate: AgentCandidate,
  name: string,
  versionOf: (version: string) => number,
): number {
  let best = Number.NEGATIVE_INFINITY;
  for (const capability of candidate.capabilities) {
    if (capability.name === name) best = Math.max(best, versionOf(capability.version));
  }
  return best;
}

function versionNumber(version: string): number {
  const parts = version === '' ? [Number.NaN] : version.split('.').map(Number);
  if (parts.length > 3 || parts.some((p) => !Number.isInteger(p) || p < 0)) {
    return Number.NEGATIVE_INFINITY;
  }
  const [major = 0, minor = 0, patch = 0] = parts;
  return major * 1e10 + Math.min(minor, 99_999) * 1e5 + Math.min(patch, 99_999);
}
