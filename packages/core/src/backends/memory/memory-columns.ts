import { PRIORITIES, priorityLevel } from '../../model/priority.js';
import { newTaskRecord, type TaskRecord } from '../../model/task.js';
import type { TaskColumns } from '../../model/task-columns.js';
import { idCounter, mintedHere, taskIdAt } from '../../model/task-id.js';
import type { TaskIndex } from '../../structures/task-index.js';
import type { LaneItem, LaneItems } from './lane-items.js';

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
 * read ({@link record}: a read, a cancel) or leased (a lane entry read by {@link live}),
 * and put in the store's index, which keeps it from then on like any other; a batch is
 * dropped once all of its tasks have records. It answers the lanes for their entries,
 * which are records or the id counters of tasks held here.
 */
export class ColumnStore implements LaneItems {
  /** The batches with tasks still without a record, by `first` (ids are reserved in order). */
  #batches: Batch[] = [];
  #count = 0;

  /** `tasks`: the store's index, where a record made here is put. */
  constructor(private readonly tasks: TaskIndex<TaskRecord>) {}

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
  #holdsSeq(seq: number): boolean {
    const batch = this.#find(seq);
    return batch !== undefined && batch.made[seq - batch.columns.first] === 0;
  }

  /** The first counter of `first` … `first + n - 1` that a batch held here spans, if any. */
  #overlap(first: number, n: number): number | undefined {
    for (const { columns, made } of this.#batches) {
      const from = Math.max(first, columns.first);
      if (from < Math.min(first + n, columns.first + made.length)) return from;
    }
    return undefined;
  }

  /** Whether the task of `id` is held here, still without a record. */
  holds(id: string): boolean {
    return this.#count > 0 && mintedHere(id) && this.#holdsSeq(idCounter(id));
  }

  /** The priority level of the task of counter `seq`, held here without a record. */
  #levelOf(seq: number): number {
    const batch = this.#find(seq) as Batch;
    return batch.columns.levels[seq - batch.columns.first] as number;
  }

  /**
   * The record of `id`: stored, or made now for a task held here (and stored from then
   * on); `undefined` for an id the store does not hold.
   */
  record(id: string): TaskRecord | undefined {
    const t = this.tasks.get(id);
    if (t !== undefined || !this.holds(id)) return t;
    return this.#make(idCounter(id));
  }

  /** The first of the id counters `first` … `first + n - 1` in use in the store, if any. */
  taken(first: number, n: number): number | undefined {
    return this.#overlap(first, n) ?? this.tasks.counterIn(first, n);
  }

  live(item: LaneItem): TaskRecord | undefined {
    if (typeof item !== 'number') return item.status === 'queued' ? item : undefined;
    if (this.#holdsSeq(item)) return this.#make(item);
    // Its record was made before its lease (read, or cancelled): the entry stands while
    // that record is queued.
    const t = this.tasks.get(taskIdAt(item));
    return t?.status === 'queued' ? t : undefined;
  }

  queued(item: LaneItem, leaving?: TaskRecord): boolean {
    if (typeof item === 'number') {
      if (this.#holdsSeq(item)) return true;
      const t = this.tasks.get(taskIdAt(item));
      return t !== undefined && t !== leaving && t.status === 'queued';
    }
    return item !== leaving && item.status === 'queued';
  }

  level(item: LaneItem): number {
    if (typeof item !== 'number') return priorityLevel(item.priority) as number;
    if (this.#holdsSeq(item)) return this.#levelOf(item);
    return priorityLevel((this.tasks.get(taskIdAt(item)) as TaskRecord).priority) as number;
  }

  /**
   * Makes the record of the task of counter `seq`, held here without one (checked with
   * `#holdsSeq`), and lets go of it: the store's index keeps it from now on.
   */
  #make(seq: number): TaskRecord {
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
    this.tasks.addMinted(seq, record.id, record);
    return record;
  }

  /**
   * The batches held here, each with which of its tasks still have no record (`made[i]` is
   * 0), so that a listing reads them without making a record for each.
   */
  heldBatches(): readonly { readonly columns: TaskColumns; readonly made: Uint8Array }[] {
    return this.#batches;
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
