import type { TaskRecord } from '../backend/task.js';
import { type TaskHandle, terminalError } from './task-tracker.js';

/** What a handle calls on: the task intake. */
export interface HandleOwner {
  /** Settles `handle` once its task is terminal (at once when it already is). */
  await(handle: Handle<unknown>, live: TaskRecord | undefined): void;
  cancel(id: string): Promise<TaskRecord>;
}

// The executor of every result promise: it hands the resolving functions over through
// these two slots, so making a promise allocates no executor closure.
let nextResolve: ((value: unknown) => void) | undefined;
let nextReject: ((error: Error) => void) | undefined;
function capture(resolve: (value: never) => void, reject: (error: Error) => void): void {
  nextResolve = resolve as (value: unknown) => void;
  nextReject = reject;
}

/**
 * The handle `submit` returns; its `result` promise is made on first access, and the handle
 * itself is what the tracker calls back when the task ends (no closure or waiter per task).
 * With a backend of live records it holds its task's record, whose status then tells at
 * once whether the task has already ended.
 */
export class Handle<O> implements TaskHandle<O> {
  #result: Promise<O> | undefined;
  #resolve: ((value: unknown) => void) | undefined;
  #reject: ((error: Error) => void) | undefined;
  // Private: the backend's own object, which nobody outside may touch.
  readonly #record: TaskRecord | undefined;
  readonly #intake: HandleOwner;

  /** `record`: the backend's live record (a backend with `liveRecords`), else `undefined`. */
  constructor(
    readonly id: string,
    readonly created: boolean,
    intake: HandleOwner,
    record: TaskRecord | undefined,
  ) {
    this.#intake = intake;
    this.#record = record;
  }

  get result(): Promise<O> {
    if (this.#result === undefined) {
      this.#result = new Promise<O>(capture);
      this.#resolve = nextResolve;
      this.#reject = nextReject;
      nextResolve = undefined;
      nextReject = undefined;
      this.#intake.await(this, this.#record);
    }
    return this.#result;
  }

  cancel(): Promise<TaskRecord> {
    return this.#intake.cancel(this.id);
  }

  /** The task ended (a {@link Waiter} callback). */
  resolve(record: TaskRecord): void {
    if (record.status === 'completed') this.#resolve?.(record.result as O);
    else this.#reject?.(terminalError(record));
  }

  reject(error: Error): void {
    this.#reject?.(error);
  }
}
