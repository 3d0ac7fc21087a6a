import type { AgentFailure } from '../../contracts/recovery.js';

/** One failover: an agent failed, its tasks went back to the queue, and were leased again. */
export interface FailoverRecord {
  readonly agentId: string;
  readonly name: string;
  readonly reason: AgentFailure['reason'];
  /** When the failure was detected (the engine's clock, ms). */
  readonly detectedAt: number;
  /** The warm standby promoted in its place, if any. */
  readonly standbyId: string | undefined;
  /** Tasks it held that went back to the queue. */
  tasks: number;
  /** When the first of them was leased again. */
  firstLeaseAt: number | undefined;
  /** Detection → first re-lease, in ms (unset while pending, or when none was re-leased). */
  durationMs: number | undefined;
}

/** The figures of {@link FailoverManager.stats}. */
export interface FailoverStats {
  /** Agents failed while in the pool (failed standbys are not counted). */
  readonly failovers: number;
  /** Standbys promoted by a failover. */
  readonly promotions: number;
  /** Failovers whose tasks wait to be leased again. */
  readonly pending: number;
  /** Detection → first re-lease of the latest failovers that held tasks, oldest first. */
  readonly durationsMs: readonly number[];
  readonly lastMs: number | undefined;
  readonly p50Ms: number | undefined;
  readonly p99Ms: number | undefined;
  readonly maxMs: number | undefined;
}

/** Options of a {@link FailoverManager}. */
export interface FailoverManagerOptions {
  /** How long a failover's tasks are watched for a re-lease, in ms (default 60 000). */
  readonly watchMs?: number;
  /** How many failovers (and durations) are kept (default 100). */
  readonly history?: number;
}
