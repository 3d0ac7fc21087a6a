import type { TaskRecord } from '../../model/task.js';
import { taskIdAt } from '../../model/task-id.js';
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
 * What both kinds of handle share: a `result` promise made on first access, and the
 * callbacks the tracker calls when the task ends (the handle itself is the waiter: no
 * closure or waiter object per task). `watch` registers the handle, on that first access.
 */
abstract class ResultHandle<O> implements TaskHandle<O> {
  #result: Promise<O> | undefined;
  #resolve: ((value: unknown) => void) | undefined;
  #reject: ((error: Error) => void) | undefined;

  abstract readonly id: string;
  abstract readonly created: boolean;
  abstract cancel(): Promise<TaskRecord>;
  /** Asks to be called back once the task is terminal (at once when it already is). */
  protected abstract watch(): void;

  get result(): Promise<O> {
    if (this.#result === undefined) {
      this.#result = new Promise<O>(capture);
      this.#resolve = nextResolve;
      this.#reject = nextReject;
      nextResolve = undefined;
      nextReject = undefined;
      this.watch();
    }
    return this.#result;
  }

  /** The task ended (a {@link Waiter} callback). */
  resolve(record: TaskRecord): void {
    if (record.status === 'completed') this.#resolve?.(record.result as O);
    else this.#reject?.(terminalError(record));
  }

  /** The task completed with `value`. */
  fulfil(value: unknown): void {
    this.#resolve?.(value);
  }

  reject(error: Error): void {
    this.#reject?.(error);
  }
}

/**
 * The handle `submit` returns. With a backend of live records it holds its task's record,
 * whose status then tells at once whether the task has already ended.
 */
export class Handle<O> extends ResultHandle<O> {
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
    super();
    this.#intake = intake;
    this.#record = record;
  }

  cancel(): Promise<TaskRecord> {
    return this.#intake.cancel(this.id);
  }

  protected watch(): void {
    this.#intake.await(this, this.#record);
  }
}

/** What a {@link ColumnHandle} calls on: the run of its batch, and the intake to cancel. */
export interface ColumnOwner {
  /** The id counter of the batch's first task. */
  readonly first: number;
  /** Settles `handle` once the task at `offset` is terminal (at once when it already is). */
  watch(offset: number, handle: ColumnHandle<unknown>): void;
  cancel(id: string): Promise<TaskRecord>;
}

/**
 * The handle of a task submitted in a batch of columns (`submitMany` of a plain batch): it
 * holds no record and no id string, only its place in the batch; its `id` is spelled when
 * read.
 */
export class ColumnHandle<O> extends ResultHandle<O> {
  readonly #owner: ColumnOwner;
  readonly #offset: number;

  constructor(owner: ColumnOwner, offset: number) {
    super();
    this.#owner = owner;
    this.#offset = offset;
  }

  get id(): string {
    return taskIdAt(this.#owner.first + this.#offset);
  }

  /** Always `true`: a batch of columns carries no idempotency key. */
  get created(): boolean {
    return true;
  }

  /** As a {@link Handle} serializes (its fields are own properties there). */
  toJSON(): { id: string; created: boolean } {
    return { id: this.id, created: true };
  }

  cancel(): Promise<TaskRecord> {
    return this.#owner.cancel(this.id);
  }

  protected watch(): void {
    this.#owner.watch(this.#offset, this as ColumnHandle<unknown>);
  }
}
