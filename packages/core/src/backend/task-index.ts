import { taskSeq } from './task-id.js';

// 1,024 slots a page: 8 KiB of pointers, small enough that a page of ids mostly ended is
// little waste, large enough that the page map stays small (a thousand pages for 1M tasks).
const PAGE_BITS = 10;
const PAGE_SIZE = 1 << PAGE_BITS;
const PAGE_MASK = PAGE_SIZE - 1;
const MAX_SPARE = 8;

interface Page<T> {
  readonly slots: (T | undefined)[];
  /** Slots in use. */
  count: number;
}

/**
 * A map from task id to a value, built for the ids this process mints (`nextTaskId`: one
 * fixed prefix and a counter). Those are kept by counter, in pages of 1,024 slots: ids
 * minted one after the other share a page, so a store as deep as the queue costs a parse
 * and an array index per lookup instead of a hash-table probe that misses the cache at
 * every step (the cause of the throughput falling as the queue deepened). A page goes when
 * its last entry does. Any other id (another process's, a test's `'t1'`) goes to a `Map`.
 *
 * @example
 * ```ts
 * const index = new TaskIndex<TaskRecord>()
 * index.add(record.id, record) // false when the id is already there
 * index.get(record.id) // record
 * ```
 */
export class TaskIndex<T> {
  #pages = new Map<number, Page<T>>();
  #other = new Map<string, T>();
  #size = 0;
  #spare: Page<T>[] = [];
  // The page of the last lookup: consecutive lookups mostly land on the same page.
  #lastKey = -1;
  #lastPage: Page<T> | undefined;

  /** The number of entries. */
  get size(): number {
    return this.#size;
  }

  get(id: string): T | undefined {
    const seq = taskSeq(id);
    if (seq < 0) return this.#other.get(id);
    return this.#page(seq, false)?.slots[seq & PAGE_MASK];
  }

  has(id: string): boolean {
    return this.get(id) !== undefined;
  }

  /** Removes the entry of `id` and returns its value. */
  take(id: string): T | undefined {
    const seq = taskSeq(id);
    if (seq < 0) {
      const value = this.#other.get(id);
      if (value !== undefined) this.#other.delete(id);
      if (value !== undefined) this.#size--;
      return value;
    }
    const page = this.#page(seq, false);
    if (page === undefined) return undefined;
    const value = page.slots[seq & PAGE_MASK];
    if (value !== undefined) this.#clear(page, seq);
    return value;
  }

  /** Stores `value` under `id` unless the id is there already; `false` then (nothing changes). */
  add(id: string, value: T): boolean {
    const seq = taskSeq(id);
    if (seq < 0) {
      if (this.#other.has(id)) return false;
      this.#other.set(id, value);
    } else {
      const page = this.#page(seq, true) as Page<T>;
      const slot = seq & PAGE_MASK;
      if (page.slots[slot] !== undefined) return false;
      page.slots[slot] = value;
      page.count++;
    }
    this.#size++;
    return true;
  }

  /** Stores `value` under `id` and returns what it replaced, if anything. */
  swap(id: string, value: T): T | undefined {
    const seq = taskSeq(id);
    if (seq < 0) {
      const previous = this.#other.get(id);
      this.#other.set(id, value);
      if (previous === undefined) this.#size++;
      return previous;
    }
    const page = this.#page(seq, true) as Page<T>;
    const slot = seq & PAGE_MASK;
    const previous = page.slots[slot];
    page.slots[slot] = value;
    if (previous === undefined) {
      page.count++;
      this.#size++;
    }
    return previous;
  }

  /** Stores `value` under `id`, replacing what was there. */
  set(id: string, value: T): void {
    if (!this.add(id, value)) {
      const seq = taskSeq(id);
      if (seq < 0) this.#other.set(id, value);
      else (this.#page(seq, false) as Page<T>).slots[seq & PAGE_MASK] = value;
    }
  }

  /** Removes the entry of `id`; `false` when there was none. */
  delete(id: string): boolean {
    const seq = taskSeq(id);
    if (seq < 0) {
      if (!this.#other.delete(id)) return false;
      this.#size--;
      return true;
    }
    const page = this.#page(seq, false);
    if (page === undefined || page.slots[seq & PAGE_MASK] === undefined) return false;
    this.#clear(page, seq);
    return true;
  }

  #clear(page: Page<T>, seq: number): void {
    page.slots[seq & PAGE_MASK] = undefined;
    this.#size--;
    if (--page.count === 0) {
      const key = Math.floor(seq / PAGE_SIZE);
      this.#pages.delete(key);
      // Emptied pages are kept for reuse: an index whose ids come and go (the leases in
      // flight) would otherwise allocate a page for every thousand of them.
      if (this.#spare.length < MAX_SPARE) this.#spare.push(page);
      if (this.#lastKey === key) {
        this.#lastKey = -1;
        this.#lastPage = undefined;
      }
    }
  }

  /** Every value (in no particular order). */
  *values(): IterableIterator<T> {
    for (const page of this.#pages.values()) {
      for (const value of page.slots) if (value !== undefined) yield value;
    }
    yield* this.#other.values();
  }

  /** Removes every entry. */
  clear(): void {
    this.#pages = new Map();
    this.#other = new Map();
    this.#spare = [];
    this.#size = 0;
    this.#lastKey = -1;
    this.#lastPage = undefined;
  }

  #page(seq: number, create: boolean): Page<T> | undefined {
    // Counters pass 2^31 only after two billion tasks; until then the shift is exact.
    const key = seq < 0x80000000 ? seq >>> PAGE_BITS : Math.floor(seq / PAGE_SIZE);
    if (key === this.#lastKey) return this.#lastPage;
    let page = this.#pages.get(key);
    if (page === undefined) {
      if (!create) return undefined;
      page = this.#spare.pop() ?? {
        slots: new Array<T | undefined>(PAGE_SIZE).fill(undefined),
        count: 0,
      };
      this.#pages.set(key, page);
    }
    this.#lastKey = key;
    this.#lastPage = page;
    return page;
  }
}
