/**
 * A batch of new tasks of one capability given as columns, for
 * `Backend.enqueueColumns`: what sets one task apart from the next is its payload and its
 * priority; everything else is the batch's. Its tasks have no record, and no id string,
 * until one is needed: task i's id is `taskIdAt(first + i)`, and its record is the one
 * `enqueue` would have stored for `{ id, capability, payload: payloads[i], priority:
 * PRIORITIES[levels[i]], status: 'queued', attempts: 0, maxAttempts, timeoutMs,
 * availableAt: now, createdAt: now, updatedAt: now }`.
 */
export interface TaskColumns {
  /** The id counter of the first task (from `reserveTaskIds`). */
  readonly first: number;
  readonly capability: string;
  readonly payloads: readonly unknown[];
  /** Each task's priority level: 0 `critical` … 3 `low`. As long as `payloads`. */
  readonly levels: Uint8Array;
  readonly maxAttempts: number;
  readonly timeoutMs: number;
  /** When the batch was submitted, and is available. */
  readonly now: number;
}
