import { PRIORITIES } from '../messaging/priority.js';
import { newTaskRecord, type TaskRecord } from './task.js';
import type { TaskColumns } from './task-columns.js';
import { idCounter, mintedHere, taskIdAt } from './task-id.js';

/** One enqueued batch of columns, and which of its tasks still have no record. */
interface Batch {
  readonly columns: TaskColumns;
  /** The batch's payloads; a task's slot is emptied once it has a record. */
  readonly payloads: unknown[];
  /** 1 for a task that has had its record made (it is in the store's index since). */
  readonly made: Uint8Array;
  /** Tasks of the batch still without a record. */
  left: number;
}

/**
 * The tasks a memory backend holds as columns (`enqueueColumns`): queued, with no record
 * and no id string until one is needed. A task's record is made once, when it is first
 * read, leased or cancelled ({@link ColumnStore.make}), and from then on the store keeps
 * it like any other; a batch is dropped once all of its tasks have records.
 */
export class ColumnStore {
  /** The batches with tasks still without a record, by `first` (ids are reserved in order). */
  #batches: Batch[] = [];
  #count = 0;

  /** Tasks still without a record. */
  get count(): number {
    return this.#count;
  }

  add(columns: TaskColumns): void {
    const n = columns.payloads.length;
    const batch: Batch = {
      columns,
      payloads: [...columns.payloads],
      made: new Uint8Array(n),
      left: n,
    };
    const batches = this.#batches;
    let at = batches.length;
    while (at > 0 && (batches[at - 1] as Batch).columns.first > columns.first) at--;
    batches.splice(at, 0, batch);
    this.#count += n;
  }

  /** Whether the task of counter `seq` is held here, still without a record. */
  holdsSeq(seq: number): boolean {
    const batch = this.#find(seq);
    return batch !== undefined && batch.made[seq - batch.columns.first] === 0;
  }

  /** The first counter of `first` … `first + n - 1` that a batch held here spans, if any. */
  overlap(first: number, n: number): number | undefined {
    for (const { columns, made } of this.#batches) {
      const from = Math.max(first, columns.first);
      if (from < Math.min(first + n, columns.first + made.length)) return from;
    }
    return undefined;
  }

  /** Whether the task of `id` is held here, still without a record. */
  holds(id: string): boolean {
    return this.#count > 0 && mintedHere(id) && this.holdsSeq(idCounter(id));
  }

  /** The priority level of the task of counter `seq`, held here without a record. */
  levelOf(seq: number): number {
    const batch = this.#find(seq) as Batch;
    return batch.columns.levels[seq - batch.columns.first] as number;
  }

  /**
   * Makes the record of the task of counter `seq`, held here without one (the caller has
   * checked with {@link holdsSeq}), and lets go of it: from now on the caller keeps it.
   */
  make(seq: number): TaskRecord {
    const batch = this.#find(seq) as Batch;
    const { columns } = batch;
    const offset = seq - columns.first;
    const { now } = columns;
    const record = newTaskRecord(
      taskIdAt(seq),
      columns.capability,
      batch.payloads[offset],
      PRIORITIES[columns.levels[offset] as number] ?? 'low',
      columns.maxAttempts,
      columns.timeoutMs,
      now,
      now,
    );
    batch.made[offset] = 1;
    batch.payloads[offset] = undefined;
    this.#count--;
    if (--batch.left === 0) this.#batches.splice(this.#batches.indexOf(batch), 1);
    return record;
  }

  /** Drops every batch. */
  clear(): void {
    this.#batches = [];
    this.#count = 0;
  }

  /** The batch whose counters include `seq`. */
  #find(seq: number): Batch | undefined {
    const batches = this.#batches;
    let lo = 0;
    let hi = batches.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const batch = batches[mid] as Batch;
      const first = batch.columns.first;
      if (seq < first) hi = mid - 1;
      else if (seq >= first + batch.made.length) lo = mid + 1;
      else return batch;
    }
    return undefined;
  }
}
