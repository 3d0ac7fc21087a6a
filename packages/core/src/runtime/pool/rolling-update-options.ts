import { SwitchboardError } from '../../errors.js';
import type { CanaryProgress } from './canary-split.js';

/** A canary phase: the new version takes `share` of the tasks until promoted or rolled back. */
export interface CanaryOptions {
  /** The share of the definition's tasks that go to the new version, 0..1. */
  readonly share: number;
  /** Polled every `intervalMs` during the canary: promotes once it answers `true`. */
  readonly until?: () => boolean | Promise<boolean>;
  /** How often `until` is polled, in ms (default 1 000). */
  readonly intervalMs?: number;
  /** Roll back once the canary's task error rate is above this, 0..1 (default 0.5)... */
  readonly maxErrorRate?: number;
  /** ...over at least this many task outcomes (default 10). */
  readonly minTasks?: number;
  /** Canary agents started (default `ceil(share × instances)`, at least 1, at most all). */
  readonly agents?: number;
}

/** Options of `pool.rollingUpdate`. */
export interface RollingUpdateOptions {
  /** Agents started beyond the instance count while replacing (default 1). */
  readonly maxSurge?: number;
  /** Agents that may be missing from the instance count while replacing (default 0). */
  readonly maxUnavailable?: number;
  readonly canary?: CanaryOptions;
}

/** Where a rolling update stands. */
export type RollingUpdatePhase =
  | 'canary'
  | 'rolling'
  | 'rolling_back'
  | 'done'
  | 'rolled_back'
  | 'failed'
  | 'cancelled';

/** A rolling update's progress. */
export interface RollingUpdateProgress {
  readonly name: string;
  readonly phase: RollingUpdatePhase;
  readonly fromVersion: string;
  readonly toVersion: string;
  /** Active instances the definition had when the update began (kept throughout). */
  readonly desired: number;
  /** Active instances of the new version. */
  readonly updated: number;
  /** Active instances of any other version. */
  readonly outdated: number;
  readonly canary?: CanaryProgress;
  /** Why it was rolled back, failed or cancelled. */
  readonly reason?: string;
}

/** What `pool.rollingUpdate` returns. */
export interface RollingUpdateHandle {
  readonly name: string;
  progress(): RollingUpdateProgress;
  /** Ends the canary phase: the new version replaces the rest. No-op once rolling. */
  promote(): void;
  /** Goes back to the old version (canary agents or replacements drained). */
  rollback(reason?: string): void;
  /** Resolves with the final progress (`done`, `rolled_back`, `failed` or `cancelled`). */
  readonly done: Promise<RollingUpdateProgress>;
}

function count(field: string, value: unknown, fallback: number): number {
  const v = value ?? fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
    throw new SwitchboardError('invalid_request', `${field} must be an integer ≥ 0`, {
      details: { field, value: v },
    });
  }
  return v;
}

function unit(field: string, value: unknown, fallback: number): number {
  const v = value ?? fallback;
  if (typeof v !== 'number' || !(v >= 0 && v <= 1)) {
    throw new SwitchboardError('invalid_request', `${field} must be a number in 0..1`, {
      details: { field, value: v },
    });
  }
  return v;
}

/** {@link CanaryOptions} with the defaults filled in. */
export interface ResolvedCanary {
  readonly share: number;
  readonly until: (() => boolean | Promise<boolean>) | undefined;
  readonly intervalMs: number;
  readonly maxErrorRate: number;
  readonly minTasks: number;
  readonly agents: number | undefined;
}

/** {@link RollingUpdateOptions} with the defaults filled in. */
export interface ResolvedRollingOptions {
  readonly maxSurge: number;
  readonly maxUnavailable: number;
  readonly canary: ResolvedCanary | undefined;
}

/**
 * Checks rolling update options and fills the defaults (surge 1, unavailable 0; a canary
 * polls every second and rolls back above a 0.5 error rate over 10 outcomes).
 *
 * @throws SwitchboardError `invalid_request` naming the bad option.
 */
export function resolveRollingOptions(options: RollingUpdateOptions): ResolvedRollingOptions {
  const maxSurge = count('maxSurge', options.maxSurge, 1);
  const maxUnavailable = count('maxUnavailable', options.maxUnavailable, 0);
  if (maxSurge + maxUnavailable === 0) {
    throw new SwitchboardError('invalid_request', 'maxSurge or maxUnavailable must be ≥ 1');
  }
  const canary = options.canary;
  if (canary === undefined) return { maxSurge, maxUnavailable, canary: undefined };
  if (canary.until !== undefined && typeof canary.until !== 'function') {
    throw new SwitchboardError('invalid_request', 'canary.until must be a function');
  }
  const intervalMs = canary.intervalMs ?? 1_000;
  if (typeof intervalMs !== 'number' || !(intervalMs > 0)) {
    throw new SwitchboardError('invalid_request', 'canary.intervalMs must be a number > 0');
  }
  return {
    maxSurge,
    maxUnavailable,
    canary: {
      share: unit('canary.share', canary.share, Number.NaN),
      until: canary.until,
      intervalMs,
      maxErrorRate: unit('canary.maxErrorRate', canary.maxErrorRate, 0.5),
      minTasks: count('canary.minTasks', canary.minTasks, 10),
      agents: canary.agents === undefined ? undefined : count('canary.agents', canary.agents, 1),
    },
  };
}
