import type { TaskRecord } from '../../model/task.js';
import { mintedHere } from '../../model/task-id.js';
import { isTerminal, type RunWaiter, terminalError, type Waiter } from './task-tracker.js';

/**
 * The results of a batch run (`runMany`): one waiter for every task of the batch, and one
 * promise, settled with the results in input order once every task has completed, or
 * rejected as soon as one ends without a result.
 *
 * With a backend of live records the waiter needs nothing per task: it counts the ends and
 * reads each result from the record it already holds, and the tasks it created are waited
 * for as one run of ids (`TaskTracker.waitRun`: no index entry per task; a flag byte per
 * task keeps each end counted once). A task known only by id (an idempotency key matched an
 * earlier one, or the backend hands out copies) gets a small {@link BatchSlot} that keeps
 * its result. A batch sent as columns (`columns`) has no record at all: every task is in
 * the run from the start, and each result is kept as its task ends.
 */
export class BatchResult implements Waiter, RunWaiter {
  readonly promise: Promise<unknown[]>;
  readonly #records: (TaskRecord | undefined)[];
  readonly #results: unknown[];
  /** 1 for the tasks of the run whose end is still awaited (see {@link inRun}). */
  readonly #running: Uint8Array;
  #left: number;
  readonly #columns: boolean;
  #done = false;
  #resolve!: (results: unknown[]) => void;
  #reject!: (error: Error) => void;

  constructor(size: number, columns = false) {
    this.#records = new Array(columns ? 0 : size);
    this.#results = new Array(size);
    this.#running = new Uint8Array(size);
    if (columns) this.#running.fill(1);
    this.#columns = columns;
    this.#left = size;
    this.promise = new Promise<unknown[]>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
  }

  /**
   * Task `index` is the live record `record`: counted when it ends (at once when it has).
   * Answers whether it still has to end (the caller then makes this waiter wait for it).
   */
  live(index: number, record: TaskRecord): boolean {
    this.#records[index] = record;
    if (!isTerminal(record.status)) return true;
    this.resolve(record);
    return false;
  }

  /** Task `index` (stored by {@link live}) is awaited as part of the batch's run of ids. */
  inRun(index: number): void {
    this.#running[index] = 1;
  }

  /** Whether the task at `index` of the run is the one of `id`, still awaited. */
  awaits(index: number, id: string): boolean {
    if (this.#running[index] !== 1 || this.#done) return false;
    // A batch of columns holds no id: a task of the run has the run's counter and was
    // minted here (a restored task of another process may share the counter).
    return this.#columns ? mintedHere(id) : this.#records[index]?.id === id;
  }

  /** The task at `index` of the run ended. */
  endedAt(index: number, record: TaskRecord): void {
    if (this.#running[index] !== 1) return;
    this.#running[index] = 0;
    if (this.#columns && record.status === 'completed') this.#results[index] = record.result;
    this.resolve(record);
  }

  /** True once the promise is settled. */
  get settled(): boolean {
    return this.#done;
  }

  /** The waiter of a task known only by id: it keeps the task's result at `index`. */
  slot(index: number): BatchSlot {
    return new BatchSlot(this, index);
  }

  /** A task of the batch ended. */
  resolve(record: TaskRecord): void {
    if (this.#done) return;
    if (record.status !== 'completed') {
      this.reject(terminalError(record));
      return;
    }
    if (--this.#left > 0) return;
    this.#done = true;
    const results = this.#results;
    const records = this.#records;
    // Columns kept each result as it came; live records are read now.
    for (let i = 0; i < records.length; i++) {
      const record = records[i];
      if (record !== undefined) results[i] = record.result;
    }
    this.#resolve(results);
  }

  reject(error: Error): void {
    if (this.#done) return;
    this.#done = true;
    this.#reject(error);
  }

  /** Keeps the result of the task at `index` (see {@link BatchSlot}). */
  keep(index: number, result: unknown): void {
    this.#results[index] = result;
  }
}

/** The waiter of one task of a batch whose record is not live: it keeps the result. */
export class BatchSlot implements Waiter {
  readonly #batch: BatchResult;
  readonly #index: number;

  constructor(batch: BatchResult, index: number) {
    this.#batch = batch;
    this.#index = index;
  }

  resolve(record: TaskRecord): void {
    if (record.status === 'completed') this.#batch.keep(this.#index, record.result);
    this.#batch.resolve(record);
  }

  reject(error: Error): void {
    this.#batch.reject(error);
  }
}
