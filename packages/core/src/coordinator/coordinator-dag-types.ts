import type { RunOptions } from '../contracts/task-runner.js';
import { isSwitchboardError } from '../errors.js';
import type { NodeError } from './dag.js';

/**
 * What one failed node does to the rest of the run:
 * - `fail-fast` (the default): the first failure cancels every running node and submits
 *   nothing more; the run ends `failed`.
 * - `skip-dependents`: the nodes downstream of a failed one are skipped; independent
 *   branches run to their end.
 * - `continue`: a failed node counts as settled; its dependents still run, their payload
 *   builder seeing the failure in its second argument.
 */
export type PartialFailure = 'fail-fast' | 'continue' | 'skip-dependents';

/** The partial-failure policies. */
export const PARTIAL_FAILURE_POLICIES: readonly PartialFailure[] = [
  'fail-fast',
  'continue',
  'skip-dependents',
];

/** Options of a DAG run. */
export interface DagOptions extends RunOptions {
  /** `fail-fast` unless given. */
  readonly partialFailure?: PartialFailure;
  /** Nodes running at once, at most (default unbounded). */
  readonly maxConcurrency?: number;
}

/** How a DAG run ended: `completed` when every node did, else `failed` or `cancelled`. */
export type DagStatus = 'completed' | 'failed' | 'cancelled';

/**
 * The outcome of a DAG run. A run's own failures resolve into it (`status: 'failed'`);
 * only an invalid DAG or option rejects.
 */
export interface DagResult {
  readonly status: DagStatus;
  /** The result of every node that completed. */
  readonly results: Record<string, unknown>;
  /**
   * Every node that was submitted (or tried to be) and has no result: its error, with
   * code `cancelled` or `timeout` for nodes the run itself stopped.
   */
  readonly errors: Record<string, NodeError>;
  /** Nodes never submitted (a failed dependency, a stop), in topological order. */
  readonly skipped: string[];
  /** The task id of every submitted node, to look its task up. */
  readonly taskIds: Record<string, string>;
  /** Why the run stopped early: its first failure (fail-fast), `timeout` or `cancelled`. */
  readonly error?: NodeError;
}

/** A running DAG: its outcome, and a way to cancel the whole tree. */
export interface DagRun {
  readonly result: Promise<DagResult>;
  /** Cancels every outstanding task and submits nothing more; resolves with the outcome. */
  cancel(): Promise<DagResult>;
}

/**
 * A DAG outcome, plus why it is not `completed` as an error (the first node failure as
 * thrown, else the stop's `timeout` or `cancelled`), for callers that reject with it.
 */
export interface DagOutcome {
  readonly result: DagResult;
  readonly failure?: Error;
}

/** A node's error as the result lists it. */
export function nodeError(error: Error): NodeError {
  return { message: error.message, code: isSwitchboardError(error) ? error.code : 'task_failed' };
}
