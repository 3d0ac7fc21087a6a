import type { AgentCandidate } from '@switchboard/core';

/** The candidates that can take a task now (`freeSlots > 0`), in their given order. */
export function freeCandidates(candidates: readonly AgentCandidate[]): AgentCandidate[] {
  const free: AgentCandidate[] = [];
  for (const candidate of candidates) if (candidate.freeSlots > 0) free.push(candidate);
  return free;
}

/**
 * How busy a candidate is, 0..1: active tasks over its concurrency. Comparing ratios, not
 * counts, keeps a 10-slot agent with 2 tasks ahead of a 1-slot agent with 1.
 */
export function load(candidate: AgentCandidate): number {
  return candidate.maxConcurrency > 0
    ? candidate.activeTasks / candidate.maxConcurrency
    : Number.POSITIVE_INFINITY;
}

/**
 * A `random()` in [0, 1) turned into an index in [0, n). An injected `random` that returns
 * 1 or more (or NaN) still yields a valid index, so a bad source can never pick outside.
 */
export function randomIndex(random: () => number, n: number): number {
  const r = random();
  const i = Number.isFinite(r) ? Math.floor(r * n) : 0;
  return Math.min(Math.max(i, 0), n - 1);
}
