import {
  invalidPriorityLevel,
  isPriorityLevel,
  MAX_PRIORITY_LEVEL,
  type PriorityLevel,
  type PriorityQueue,
  type QueueHandle,
  SwitchboardError,
} from '@switchboard/core';
import type { NativeAddon, QueueRef } from './addon.js';

const LEVELS = MAX_PRIORITY_LEVEL + 1;
const DEFAULT_LEVEL = 2;
const SCRATCH_MIN = 1024;
// Payload arrays at or below this length are reused when the queue empties; longer ones
// are dropped so that their memory goes back.
const KEEP_ITEMS = 1024;
// At most this many popped payloads stay referenced by their (free) cells. Clearing a cell
// on every pop was a large share of the cost of a batch, and the next push overwrites the
// cell anyway (see bench/RESULTS.md, Figures quoted in code comments before).
const STALE_MAX = 4096;
// Handle arrays of batches up to POOLED_MAX are views into a shared block of POOL handles,
// so there is one allocation per POOL / n batches instead of one per batch, which was a
// clear share of the cost of a batch. A retained view keeps at most this block (64 KiB)
// alive.
const POOL = 8192;
const POOLED_MAX = 1024;

/**
 * The Rust {@link PriorityQueue}: strict priority across levels 0..255, FIFO within one,
 * the same handles as core's `BucketQueue` (`seq * 256 + level`).
 *
 * Payloads never cross into Rust: they sit in a JavaScript array indexed by a *slot*, and
 * Rust keeps the levels, sequence numbers and slots. `pushMany` and `popMany` cross once per
 * batch through typed arrays (levels in a `Uint8Array`, handles out in a `Float64Array`,
 * slots out in a reused `Uint32Array`), which is where native wins. A single `push` or
 * `pop` pays a Node-API call of its own and loses to the TypeScript queue (see
 * bench/RESULTS.md, Priority queue). A queue that empties gives its memory back on both
 * sides.
 *
 * A popped item's cell is not cleared at once: the next push reuses the most recently
 * freed cells and overwrites them, which saves a store per item. Until then (and at most
 * 4096 items, past which they are cleared in one pass) a popped payload stays reachable
 * from the queue; emptying the queue or `clear()` drops every one. And the handles of a
 * batch of up to 1024 items are a view into a shared 64 KiB block, as Node's pooled
 * `Buffer`s are: `handles.buffer` holds other batches' handles too.
 *
 * @example
 * ```ts
 * const { addon } = loadNative()
 * if (addon) {
 *   const queue = new NativePriorityQueue<Task>(addon)
 *   queue.pushMany(tasks, Uint8Array.from(tasks, (t) => t.level))
 *   const next = queue.popMany(256)
 * }
 * ```
 */
export class NativePriorityQueue<T> implements PriorityQueue<T> {
  /** Which implementation this is. */
  readonly backend = 'native' as const;
  readonly #addon: NativeAddon;
  readonly #queue: QueueRef;
  #items: (T | undefined)[] = [];
  #count = 0;
  // Mirrors the Rust sequence counter so `push` can form its handle without a second call.
  #seq = 0;
  #slots = new Uint32Array(SCRATCH_MIN);
  #levels = new Uint8Array(SCRATCH_MIN);
  // Freed cells not yet cleared: the top of Rust's free-slot stack, in order, which the
  // next pushes reuse (and overwrite) first.
  #stale = new Uint32Array(SCRATCH_MIN);
  #staleCount = 0;
  #pool = new Float64Array(0);
  #pooled = 0;

  constructor(addon: NativeAddon) {
    this.#addon = addon;
    this.#queue = addon.queueCreate();
  }

  /** The number of items queued. */
  get size(): number {
    return this.#count;
  }

  /** Entries, slots and payload cells allocated on both sides: a measure of memory held. */
  get capacity(): number {
    const scratch = this.#slots.length + this.#stale.length;
    return this.#addon.queueCapacity(this.#queue) + this.#items.length + scratch;
  }

  /** Queues `item` at `priority` (0..255, default 2) and returns its handle. */
  push(item: T, priority: PriorityLevel = DEFAULT_LEVEL): QueueHandle {
    if (!isPriorityLevel(priority)) throw invalidPriorityLevel(priority);
    const slot = this.#addon.queuePush(this.#queue, priority);
    this.#items[slot] = item;
    this.#count++;
    if (this.#staleCount > 0) this.#staleCount--;
    return ++this.#seq * LEVELS + priority;
  }

  /**
   * Queues `items[i]` at `priorities[i]` in one native call. A `Uint8Array` of priorities
   * is used as is (every byte is a valid level); other array-likes are checked first.
   */
  pushMany(items: readonly T[], priorities: ArrayLike<PriorityLevel>): Float64Array {
    const n = items.length;
    if (priorities.length !== n) {
      throw new SwitchboardError(
        'invalid_request',
        `pushMany: ${n} items but ${priorities.length} priorities`,
        { details: { items: n, priorities: priorities.length } },
      );
    }
    let levels: Uint8Array;
    if (priorities instanceof Uint8Array) levels = priorities;
    else {
      if (this.#levels.length < n) this.#levels = new Uint8Array(Math.max(n, SCRATCH_MIN * 2));
      levels = this.#levels.subarray(0, n);
      for (let i = 0; i < n; i++) {
        const level = priorities[i];
        if (!isPriorityLevel(level)) throw invalidPriorityLevel(level, i);
        levels[i] = level;
      }
    }
    const handles = this.#handles(n);
    const slots = this.#scratch(n);
    this.#addon.queuePushMany(this.#queue, levels, handles, slots);
    const store = this.#items;
    for (let i = 0; i < n; i++) store[slots[i]!] = items[i];
    this.#count += n;
    this.#seq += n;
    this.#staleCount = Math.max(0, this.#staleCount - n);
    return handles;
  }

  /** Removes and returns the most urgent, oldest item, or `undefined` when empty. */
  pop(): T | undefined {
    if (this.#count === 0) return undefined;
    const slot = this.#addon.queuePop(this.#queue);
    return this.#take(slot);
  }

  /** Removes and returns up to `max` items in pop order (`max` ≥ 0; fractions round down). */
  popMany(max: number): T[] {
    if (!(max >= 0)) {
      throw new SwitchboardError('invalid_request', `popMany: max must be ≥ 0, got ${max}`, {
        details: { max },
      });
    }
    const want = Math.min(Math.floor(max), this.#count);
    if (want === 0) return [];
    const slots = this.#scratch(want);
    const n = this.#addon.queuePopMany(this.#queue, want, slots);
    const store = this.#items;
    const out = new Array<T>(n);
    for (let i = 0; i < n; i++) out[i] = store[slots[i]!] as T;
    this.#count -= n;
    if (this.#count === 0) this.#release();
    else this.#retire(slots, n);
    return out;
  }

  /** The item `pop` would return, without removing it. */
  peek(): T | undefined {
    if (this.#count === 0) return undefined;
    return this.#items[this.#addon.queuePeek(this.#queue)];
  }

  /** Removes the item of `handle`; `false` when it was popped, removed, or never issued. */
  remove(handle: QueueHandle): boolean {
    if (typeof handle !== 'number' || this.#count === 0) return false;
    const slot = this.#addon.queueRemove(this.#queue, handle);
    if (slot < 0) return false;
    this.#take(slot);
    return true;
  }

  /** The number of items queued at one level. */
  sizeAt(priority: PriorityLevel): number {
    if (!isPriorityLevel(priority)) throw invalidPriorityLevel(priority);
    return this.#addon.queueSizeAt(this.#queue, priority);
  }

  /** Removes every item and gives back the memory held for them. */
  clear(): void {
    this.#addon.queueClear(this.#queue);
    this.#count = 0;
    this.#release();
  }

  #take(slot: number): T {
    const item = this.#items[slot] as T;
    if (--this.#count === 0) this.#release();
    else {
      if (this.#staleCount === this.#stale.length) this.#reserveStale(1);
      this.#stale[this.#staleCount++] = slot;
    }
    return item;
  }

  /**
   * Records the first `n` of `slots`, just freed (in the order Rust pushed them on its
   * free stack), as stale; past `STALE_MAX` every stale cell is cleared at once. Every
   * freed slot is recorded (here or in `#take`), so `#stale` always mirrors the top of
   * Rust's free stack.
   */
  #retire(slots: Uint32Array, n: number): void {
    if (this.#staleCount + n > STALE_MAX) {
      this.#flush();
      if (n > STALE_MAX) {
        const store = this.#items;
        for (let i = 0; i < n; i++) store[slots[i]!] = undefined;
        return;
      }
    }
    if (this.#stale.length < this.#staleCount + n) this.#reserveStale(n);
    this.#stale.set(slots.subarray(0, n), this.#staleCount);
    this.#staleCount += n;
  }

  /** Makes room for `n` more stale cells: grows `#stale`, or clears them all at the bound. */
  #reserveStale(n: number): void {
    const need = this.#staleCount + n;
    if (need > STALE_MAX) {
      this.#flush();
      return;
    }
    const grown = new Uint32Array(Math.min(STALE_MAX, Math.max(need, this.#stale.length * 2)));
    grown.set(this.#stale.subarray(0, this.#staleCount));
    this.#stale = grown;
  }

  /** Clears every stale cell, so that the payloads they held can be collected. */
  #flush(): void {
    const store = this.#items;
    const stale = this.#stale;
    for (let i = 0; i < this.#staleCount; i++) store[stale[i]!] = undefined;
    this.#staleCount = 0;
  }

  /** A fresh array for `n` handles, carved from the pool when the batch is small. */
  #handles(n: number): Float64Array {
    if (n > POOLED_MAX) return new Float64Array(n);
    // A transferred (detached) pool has length 0, so it is replaced here too.
    if (this.#pool.length - this.#pooled < n) {
      this.#pool = new Float64Array(POOL);
      this.#pooled = 0;
    }
    const start = this.#pooled;
    this.#pooled += n;
    return this.#pool.subarray(start, this.#pooled);
  }

  /** The slot scratch array, at least `n` long. */
  #scratch(n: number): Uint32Array {
    if (this.#slots.length < n) this.#slots = new Uint32Array(Math.max(n, this.#slots.length * 2));
    return this.#slots;
  }

  /** Rust restarts slot numbering when the queue empties, so big arrays are dropped with it. */
  #release(): void {
    this.#staleCount = 0;
    if (this.#items.length > KEEP_ITEMS) this.#items = [];
    else this.#items.fill(undefined);
    if (this.#slots.length > SCRATCH_MIN) this.#slots = new Uint32Array(SCRATCH_MIN);
    if (this.#levels.length > SCRATCH_MIN) this.#levels = new Uint8Array(SCRATCH_MIN);
    if (this.#stale.length > SCRATCH_MIN) this.#stale = new Uint32Array(SCRATCH_MIN);
  }
}
