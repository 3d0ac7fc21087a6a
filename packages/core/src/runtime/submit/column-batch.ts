import { priorityLevel } from '../../model/priority.js';
import type { TaskRecord } from '../../model/task.js';
import type { TaskColumns } from '../../model/task-columns.js';
import { mintedHere, reserveTaskIds } from '../../model/task-id.js';
import type { Engine } from '../engine.js';
import { BatchResult } from './batch-result.js';
import { ColumnHandle, type ColumnOwner } from './task-handle.js';
import { isPlainTask, type SubmitInput, type TaskDefaults } from './task-input.js';
import type { RunWaiter, TaskHandle } from './task-tracker.js';

/** The roles column batches uses, so that it can be built and tested with just these. */
export type ColumnBatchRoles = Pick<Engine, 'backend' | 'listens' | 'now' | 'policies' | 'tracker'>;

/**
 * A batch as columns for `Backend.enqueueColumns`, when it can go that way: the backend
 * takes columns, nothing watches each task as it is queued (the `task.queued` event, a
 * submit rate limit, a payload size limit), the capability has the default assignment
 * policy, and every input is a plain task of that one capability (see `isPlainTask`). Its
 * ids are reserved here. `undefined` otherwise: the batch then goes as records.
 */
export function plainColumns(
  engine: ColumnBatchRoles,
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
 * needs one, and the `BatchResult` keeps each result as its task ends.
 */
export async function runColumns(
  engine: ColumnBatchRoles,
  columns: TaskColumns,
): Promise<unknown[]> {
  const batch = new BatchResult(columns.payloads.length, true);
  try {
    await enqueueRun(engine, columns, batch);
  } catch (error) {
    // The caller gets the error from here; the batch's own promise is dropped, handled.
    batch.promise.catch(() => undefined);
    throw error;
  }
  return batch.promise;
}

/**
 * `submitMany` of a batch of columns: a handle per task that holds only its place in the
 * batch (see {@link ColumnRun}).
 */
export async function submitColumns(
  engine: ColumnBatchRoles,
  columns: TaskColumns,
  cancel: (id: string) => Promise<TaskRecord>,
): Promise<TaskHandle[]> {
  const n = columns.payloads.length;
  const run = new ColumnRun(columns.first, n, cancel);
  await enqueueRun(engine, columns, run);
  const handles: TaskHandle[] = new Array(n);
  for (let i = 0; i < n; i++) handles[i] = new ColumnHandle(run, i);
  return handles;
}

/**
 * Queues a batch of columns, awaited as one run of ids from before it is queued (so no
 * task can end unseen). A backend that refuses it leaves the run settled and its error is
 * the caller's.
 */
async function enqueueRun(
  engine: ColumnBatchRoles,
  columns: TaskColumns,
  run: RunWaiter,
): Promise<void> {
  const n = columns.payloads.length;
  engine.tracker.waitRun(columns.first, n, run);
  try {
    await (engine.backend.enqueueColumns as (columns: TaskColumns) => Promise<void>)(columns);
  } catch (error) {
    run.reject(error as Error);
    throw error;
  }
  engine.tracker.counters.submitted += n;
}

/**
 * The tasks of a `submitMany` batch of columns, as the tracker's run waiter: it keeps each
 * task's outcome as it ends (the result of a completed one, the record of any other), so
 * that a `result` read later, even once the backend has evicted the record, still settles;
 * and it calls back the handles whose `result` was read before. It holds no record of a
 * completed task, which the backend's retention may then let go.
 */
class ColumnRun implements RunWaiter, ColumnOwner {
  /** Per task: 0 not ended, 1 completed (its result in `#results`), 2 ended otherwise. */
  readonly #state: Uint8Array;
  readonly #results: unknown[];
  /** The records of the tasks that ended without a result (rare). */
  readonly #failed = new Map<number, TaskRecord>();
  #waiting: (ColumnHandle<unknown> | undefined)[] | undefined;
  #left: number;
  #error: Error | undefined;

  constructor(
    readonly first: number,
    n: number,
    readonly cancel: (id: string) => Promise<TaskRecord>,
  ) {
    this.#state = new Uint8Array(n);
    this.#results = new Array(n);
    this.#left = n;
  }

  get settled(): boolean {
    return this.#left === 0 || this.#error !== undefined;
  }

  awaits(offset: number, id: string): boolean {
    return this.#state[offset] === 0 && this.#error === undefined && mintedHere(id);
  }

  endedAt(offset: number, record: TaskRecord): void {
    if (this.#state[offset] !== 0) return;
    if (record.status === 'completed') {
      this.#state[offset] = 1;
      this.#results[offset] = record.result;
    } else {
      this.#state[offset] = 2;
      this.#failed.set(offset, record);
    }
    this.#left--;
    const handle = this.#waiting?.[offset];
    if (handle === undefined) return;
    (this.#waiting as (ColumnHandle<unknown> | undefined)[])[offset] = undefined;
    this.#settle(offset, handle);
  }

  /** Shutdown (or a refused batch): every task not ended yet rejects with `error`. */
  reject(error: Error): void {
    this.#error = error;
    const waiting = this.#waiting ?? [];
    this.#waiting = undefined;
    for (const handle of waiting) handle?.reject(error);
  }

  watch(offset: number, handle: ColumnHandle<unknown>): void {
    if (this.#state[offset] !== 0) this.#settle(offset, handle);
    else if (this.#error !== undefined) handle.reject(this.#error);
    else {
      this.#waiting ??= new Array(this.#state.length);
      this.#waiting[offset] = handle;
    }
  }

  #settle(offset: number, handle: ColumnHandle<unknown>): void {
    if (this.#state[offset] === 1) handle.fulfil(this.#results[offset]);
    else handle.resolve(this.#failed.get(offset) as TaskRecord);
  }
}
