import type { TaskColumns } from '../backend/task-columns.js';
import { reserveTaskIds } from '../backend/task-id.js';
import { priorityLevel } from '../messaging/priority.js';
import { BatchResult } from './batch-result.js';
import type { Engine } from './engine.js';
import { isPlainTask, type SubmitInput, type TaskDefaults } from './task-input.js';

/**
 * A batch as columns for `Backend.enqueueColumns`, when it can go that way: the backend
 * takes columns, nothing watches each task as it is queued (the `task.queued` event, a
 * submit rate limit, a payload size limit), the capability has the default assignment
 * policy, and every input is a plain task of that one capability (see `isPlainTask`). Its
 * ids are reserved here. `undefined` otherwise: the batch then goes as records.
 */
export function plainColumns(
  engine: Engine,
  inputs: readonly SubmitInput[],
  defaults: TaskDefaults,
  limited: boolean,
): TaskColumns | undefined {
  if (engine.backend.enqueueColumns === undefined || limited) return undefined;
  if (!Array.isArray(inputs) || inputs.length === 0 || engine.listens('task.queued')) {
    return undefined;
  }
  const capability = (inputs[0] as SubmitInput | null)?.capability;
  const policy = typeof capability === 'string' ? engine.policies.get(capability) : undefined;
  if (policy !== undefined && policy !== 'queued') return undefined;
  const n = inputs.length;
  const payloads: unknown[] = new Array(n);
  const levels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const input = inputs[i] as SubmitInput;
    if (input === null || typeof input !== 'object' || input.capability !== capability) {
      return undefined;
    }
    if (!isPlainTask(input)) return undefined;
    payloads[i] = input.payload;
    levels[i] = priorityLevel(input.priority ?? 'normal') as number;
  }
  return {
    first: reserveTaskIds(n),
    capability: capability as string,
    payloads,
    levels,
    maxAttempts: defaults.maxAttempts,
    timeoutMs: defaults.timeoutMs,
    now: engine.now(),
  };
}

/**
 * `runMany` of a batch of columns: no record or id is made per task until the backend
 * needs one, and the `BatchResult` keeps each result as its task ends. The batch is awaited
 * as one run of ids from before it is queued, so no task can end unseen.
 */
export async function runColumns(engine: Engine, columns: TaskColumns): Promise<unknown[]> {
  const n = columns.payloads.length;
  const batch = new BatchResult(n, true);
  engine.tracker.waitRun(columns.first, n, batch);
  try {
    await (engine.backend.enqueueColumns as (columns: TaskColumns) => Promise<void>)(columns);
  } catch (error) {
    // The caller gets the error from here; the batch's own promise is dropped, handled.
    batch.promise.catch(() => undefined);
    batch.reject(error as Error);
    throw error;
  }
  engine.tracker.counters.submitted += n;
  return batch.promise;
}
