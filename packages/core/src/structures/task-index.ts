import { idCounter, ownId } from '../model/task-id.js';

// 1,024 slots a page: 8 KiB of pointers, small enough that a page of ids mostly ended is
// little waste, large enough that the page map stays small (a thousand pages for 1M tasks).
const PAGE_BITS = 10;
const PAGE_SIZE = 1 << PAGE_BITS;
const PAGE_MASK = PAGE_SIZE - 1;
const MAX_SPARE = 8;

interface Page<T> {
  readonly slots: (T | undefined)[];
  /** The id each value was stored under (compared on lookup: see TaskIndex). */
  readonly keys: (string | undefined)[];
  /** Slots in use. */
  count: number;
}

/**
 * A map from task id to a value, built for the ids this process mints (`nextTaskId`: one
 * fixed prefix and a counter). Those are kept by counter, in pages of 1,024 slots: ids
 * minted one after the other share a page, so a store as deep as the queue costs a read of
 * the counter digits and an array index per lookup instead of a hash-table probe that
 * misses the cache at every step (the cause of the throughput falling as the queue
 * deepened). A page keeps each value's id beside it, and a lookup answers only when the
 * id matches (the same string object nearly always, so one pointer comparison): the
 * prefix need not be read back, and no other id is ever mistaken for a minted one. A page
 * goes when its last entry does. Any other id (another process's, a test's `'t1'`, one
 * whose counter slot is taken) goes to a `Map`.
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
    const seq = idCounter(id);
    if (seq >= 0) {
      const page = this.#page(seq, false);
      const slot = seq & PAGE_MASK;
      if (page !== undefined && page.keys[slot] === id) return page.slots[slot];
    }
    return this.#other.size === 0 ? undefined : this.#other.get(id);
  }

  has(id: string): boolean {
    return this.get(id) !== undefined;
  }

  /**
   * The first of the counters `first` … `first + n - 1` under which an id is kept in a page
   * (whatever its prefix), if any: a page that does not exist is skipped whole.
   */
  counterIn(first: number, n: number): number | undefined {
    const end = first + n;
    for (let seq = first; seq < end; ) {
      const pageEnd = Math.min(end, (Math.floor(seq / PAGE_SIZE) + 1) * PAGE_SIZE);
      const page = this.#page(seq, false);
      if (page !== undefined) {
        for (let at = seq; at < pageEnd; at++)
          if (page.keys[at & PAGE_MASK] !== undefined) return at;
      }
      seq = pageEnd;
    }
    return undefined;
  }

  /** Removes the entry of `id` and returns its value. */
  take(id: string): T | undefined {
    const seq = idCounter(id);
    if (seq >= 0) {
      const page = this.#page(seq, false);
      if (page !== undefined && page.keys[seq & PAGE_MASK] === id) {
        const value = page.slots[seq & PAGE_MASK];
        this.#clear(page, seq);
        return value;
      }
    }
    if (this.#other.size === 0) return undefined;
    const value = this.#other.get(id);
    if (value !== undefined) {
      this.#other.delete(id);
      this.#size--;
    }
    return value;
  }

  /** Removes the entry of `id`; `false` when there was none. */
  delete(id: string): boolean {
    return this.take(id) !== undefined;
  }

  /** Stores `value` under `id` unless the id is there already; `false` then (nothing changes). */
  add(id: string, value: T): boolean {
    const seq = this.#home(id);
    if (seq < 0) {
      if (this.#other.has(id)) return false;
      this.#other.set(id, value);
    } else {
      const page = this.#page(seq, true) as Page<T>;
      const slot = seq & PAGE_MASK;
      if (page.keys[slot] === id) return false;
      page.slots[slot] = value;
      page.keys[slot] = id;
      page.count++;
    }
    this.#size++;
    return true;
  }

  /**
   * {@link add} for an id minted here whose counter the caller knows (`seq`, as
   * `taskIdAt(seq)` spells it): the id is not read again.
   */
  addMinted(seq: number, id: string, value: T): boolean {
    if (this.#other.size > 0 && this.#other.has(id)) return false;
    const page = this.#page(seq, true) as Page<T>;
    const slot = seq & PAGE_MASK;
    const key = page.keys[slot];
    if (key === id) return false;
    if (key !== undefined) this.#other.set(id, value);
    else {
      page.slots[slot] = value;
      page.keys[slot] = id;
      page.count++;
    }
    this.#size++;
    return true;
  }

  /** Stores `value` under `id` and returns what it replaced, if anything. */
  swap(id: string, value: T): T | undefined {
    const seq = this.#home(id);
    if (seq < 0) {
      const previous = this.#other.get(id);
      this.#other.set(id, value);
      if (previous === undefined) this.#size++;
      return previous;
    }
    const page = this.#page(seq, true) as Page<T>;
    const slot = seq & PAGE_MASK;
    const previous = page.keys[slot] === id ? page.slots[slot] : undefined;
    page.slots[slot] = value;
    if (previous === undefined) {
      page.keys[slot] = id;
      page.count++;
      this.#size++;
    }
    return previous;
  }

  /** Stores `value` under `id`, replacing what was there. */
  set(id: string, value: T): void {
    this.swap(id, value);
  }

  /**
   * The counter under which `id` is kept in a page, or -1 when it is kept in the map: not
   * one of this process's ids, already in the map, or its slot holds another id (a
   * spelling with a leading zero, a foreign id that passed the prefix sample).
   */
  #home(id: string): number {
    const seq = idCounter(id);
    if (seq < 0 || !ownId(id)) return -1;
    if (this.#other.size > 0 && this.#other.has(id)) return -1;
    const page = this.#page(seq, false);
    const key = page?.keys[seq & PAGE_MASK];
    return key === undefined || key === id ? seq : -1;
  }

  #clear(page: Page<T>, seq: number): void {
    page.slots[seq & PAGE_MASK] = undefined;
    page.keys[seq & PAGE_MASK] = undefined;
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
      for (let i = 0; i < PAGE_SIZE; i++) {
        if (page.keys[i] !== undefined) yield page.slots[i] as T;
      }
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
        keys: new Array<string | undefined>(PAGE_SIZE).fill(undefined),
        count: 0,
      };
      this.#pages.set(key, page);
    }
    this.#lastKey = key;
    this.#lastPage = page;
    return page;
  }
}
