import type { Priority } from '../model/priority.js';

/** A task as the coordinator submits it: the fields of a Switchboard submit it uses. */
export interface CoordinatedTask {
  readonly capability: string;
  readonly payload?: unknown;
  readonly priority?: Priority;
  readonly timeoutMs?: number;
  readonly maxAttempts?: number;
  readonly idempotencyKey?: string;
  readonly sessionKey?: string;
  readonly metadata?: Record<string, unknown>;
}

/** What the coordinator needs of a submitted task: its id, its outcome, a way to cancel it. */
export interface RunnerHandle {
  readonly id: string;
  /** Resolves with the result; rejects (`task_failed`, `cancelled`, …) when there is none. */
  readonly result: Promise<unknown>;
  cancel(): Promise<unknown>;
}

/**
 * The engine the coordinator drives: anything that submits a task and hands back a handle.
 * A `Switchboard` is one; so is a client of the HTTP API that wraps `POST /v1/tasks`.
 */
export interface TaskRunner {
  submit(input: CoordinatedTask): Promise<RunnerHandle>;
}

/** What every coordinated run accepts: a deadline for the whole run and a way to abort it. */
export interface RunOptions {
  /**
   * The time the whole run may take, in ms. Each task's `timeoutMs` is lowered to the time
   * left and the instant goes in its `metadata.deadline`; nothing is submitted after it,
   * and what still runs then is cancelled (`timeout`).
   */
  readonly deadlineMs?: number;
  /** Aborting it cancels every outstanding task and stops submitting (`cancelled`). */
  readonly signal?: AbortSignal;
}
