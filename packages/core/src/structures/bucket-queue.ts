import type { PriorityQueue, QueueHandle } from '../contracts/priority-queue.js';
import { SwitchboardError } from '../errors.js';
import {
  invalidPriorityLevel,
  isPriorityLevel,
  MAX_PRIORITY_LEVEL,
  type PriorityLevel,
} from '../model/priority.js';

const LEVELS = MAX_PRIORITY_LEVEL + 1;
const DEFAULT_LEVEL = 2;
const MIN_CAPACITY = 8;
// Compacting a ring costs O(n); doing it only when tombstones outnumber live items keeps
// `remove` amortized O(log n) while bounding the memory that removed items still span.
const COMPACT_MIN_LENGTH = 32;
/** Batches at least this large grow each level once up front (see `BucketQueue.reserve`). */
const RESERVE_MIN_BATCH = 64;
// Per-level counts of the batch being pushed; all zero between calls.
const LEVEL_COUNTS = new Uint32Array(LEVELS);

function capacityFor(live: number): number {
  let capacity = MIN_CAPACITY;
  while (capacity < live * 2) capacity *= 2;
  return capacity;
}

/**
 * One level's FIFO: a power-of-two ring of items beside a ring of their sequence numbers.
 * Sequence numbers only grow, so the ring is sorted by them and a removal is a binary
 * search; a removed slot keeps its sequence negated (a tombstone) so the order stays sound.
 * Invariant: when the ring is not empty, its head and tail slots are live.
 */
class Level<T> {
  items: (T | undefined)[];
  seqs: Float64Array;
  mask: number;
  head = 0;
  /** Slots spanned from head to tail, tombstones included. */
  length = 0;
  live = 0;
  /** The most slots spanned since the last shrink. */
  highWater = 0;
  /**
   * The high-water mark before the last shrink: a ring that refills grows straight back to
   * it in one step. A queue that fills and drains every batch would otherwise regrow from
   * the minimum by doubling (eight copies for a batch of 1,000) and shrink again, each batch.
   */
  hint = 0;

  constructor(capacity: number) {
    this.items = new Array<T | undefined>(capacity);
    this.seqs = new Float64Array(capacity);
    this.mask = capacity - 1;
  }

  get capacity(): number {
    return this.seqs.length;
  }

  push(item: T, seq: number): void {
    if (this.length === this.seqs.length) {
      this.resize(Math.max(this.seqs.length * 2, capacityFor(this.hint >>> 1)));
      // Used once: a burst larger than the next one must not keep its size for ever.
      this.hint = 0;
    }
    const i = (this.head + this.length) & this.mask;
    this.items[i] = item;
    this.seqs[i] = seq;
    if (++this.length > this.highWater) this.highWater = this.length;
    this.live++;
  }

  /** Grows the ring once so that `extra` more items fit (a batch does not regrow it by doubling). */
  reserve(extra: number): void {
    const need = this.length + extra;
    if (need <= this.seqs.length) return;
    let capacity = Math.max(MIN_CAPACITY, this.seqs.length);
    while (capacity < need) capacity *= 2;
    this.resize(capacity);
    this.hint = 0;
  }

  /** Takes the head item. Precondition: `live > 0`. */
  shift(): T {
    const i = this.head;
    const item = this.items[i] as T;
    this.items[i] = undefined;
    this.head = (i + 1) & this.mask;
    this.length--;
    this.live--;
    this.skipHead();
    return item;
  }

  remove(seq: number): boolean {
    const { seqs, mask, head } = this;
    let lo = 0;
    let hi = this.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const i = (head + mid) & mask;
      const found = Math.abs(seqs[i]);
      if (found < seq) lo = mid + 1;
      else if (found > seq) hi = mid - 1;
      else {
        if (seqs[i] < 0) return false;
        seqs[i] = -seq;
        this.items[i] = undefined;
        this.live--;
        if (mid === 0) this.skipHead();
        else if (mid === this.length - 1) this.trimTail();
        if (this.length > COMPACT_MIN_LENGTH && this.length - this.live > this.live) {
          this.resize(capacityFor(this.live));
        } else this.shrinkIfSparse();
        return true;
      }
    }
    return false;
  }

  /** Halves (or more) the ring when a quarter or less of it is used. */
  shrinkIfSparse(): void {
    const capacity = this.seqs.length;
    if (capacity > MIN_CAPACITY && this.length * 4 <= capacity) {
      this.hint = this.highWater;
      this.resize(capacityFor(this.live));
      this.highWater = this.length;
    }
  }

  private skipHead(): void {
    while (this.length > 0 && this.seqs[this.head] < 0) {
      this.head = (this.head + 1) & this.mask;
      this.length--;
    }
  }

  private trimTail(): void {
    while (this.length > 0 && this.seqs[(this.head + this.length - 1) & this.mask] < 0) {
      this.length--;
    }
  }

  /** Copies the live items, in order, into fresh rings of `capacity` slots. */
  private resize(capacity: number): void {
    const items = new Array<T | undefined>(capacity);
    const seqs = new Float64Array(capacity);
    let k = 0;
    for (let j = 0; j < this.length; j++) {
      const i = (this.head + j) & this.mask;
      const seq = this.seqs[i];
      if (seq > 0) {
        items[k] = this.items[i];
        seqs[k] = seq;
        k++;
      }
    }
    this.items = items;
    this.seqs = seqs;
    this.mask = capacity - 1;
    this.head = 0;
    this.length = k;
  }
}

/**
 * The TypeScript {@link PriorityQueue}: a bucket queue over the 256 integer levels.
 *
 * Each level is a growable ring buffer (FIFO); a 256-bit bitmap of non-empty levels finds
 * the most urgent one with `Math.clz32`, so `push`, `pop` and `peek` are O(1) at any depth.
 * A handle encodes the item's level and a global sequence number (`seq * 256 + level`):
 * `remove` finds the level at once and the slot by binary search, O(log n). Each queued
 * item costs one array slot and one 8-byte sequence, no object of its own; rings shrink
 * as they drain and `clear()` gives all their memory back.
 *
 * @example
 * ```ts
 * const queue = new BucketQueue<string>()
 * const handle = queue.push('report', priorityLevel('low'))
 * queue.push('page on-call', priorityLevel('critical'))
 * queue.pop() // 'page on-call'
 * queue.remove(handle) // true: cancelled before it ran
 * ```
 */
export class BucketQueue<T> implements PriorityQueue<T> {
  private levels: (Level<T> | undefined)[] = new Array(LEVELS);
  private readonly nonEmpty = new Uint32Array(LEVELS / 32);
  private count = 0;
  // Never reset, not even by clear(): a stale handle must never name a newer item.
  private seq = 0;

  /** The number of items queued (removed items excluded). */
  get size(): number {
    return this.count;
  }

  /** Item slots currently allocated across all levels: a measure of memory held. */
  get capacity(): number {
    let total = 0;
    for (const level of this.levels) if (level !== undefined) total += level.capacity;
    return total;
  }

  /** Queues `item` at `priority` (0..255, default 2) and returns its handle. */
  push(item: T, priority: PriorityLevel = DEFAULT_LEVEL): QueueHandle {
    if (!isPriorityLevel(priority)) throw invalidPriorityLevel(priority);
    return this.pushAt(item, priority);
  }

  /** Queues `items[i]` at `priorities[i]`; validates every level before queuing any. */
  pushMany(items: readonly T[], priorities: ArrayLike<PriorityLevel>): Float64Array {
    const n = items.length;
    if (priorities.length !== n) {
      throw new SwitchboardError(
        'invalid_request',
        `pushMany: ${n} items but ${priorities.length} priorities`,
        { details: { items: n, priorities: priorities.length } },
      );
    }
    for (let i = 0; i < n; i++)
      if (!isPriorityLevel(priorities[i])) throw invalidPriorityLevel(priorities[i], i);
    if (n >= RESERVE_MIN_BATCH) this.reserve(priorities, n);
    const handles = new Float64Array(n);
    for (let i = 0; i < n; i++) handles[i] = this.pushAt(items[i] as T, priorities[i] as number);
    return handles;
  }

  /** Removes and returns the most urgent, oldest item, or `undefined` when empty. */
  pop(): T | undefined {
    if (this.count === 0) return undefined;
    const index = this.firstLevel();
    const level = this.levels[index]!;
    const item = level.shift();
    level.shrinkIfSparse();
    if (level.live === 0) this.markEmpty(index);
    this.count--;
    return item;
  }

  /** Removes and returns up to `max` items in pop order (`max` ≥ 0; fractions round down). */
  popMany(max: number): T[] {
    if (!(max >= 0)) {
      throw new SwitchboardError('invalid_request', `popMany: max must be ≥ 0, got ${max}`, {
        details: { max },
      });
    }
    const n = Math.min(Math.floor(max), this.count);
    const out: T[] = [];
    while (out.length < n) {
      const index = this.firstLevel();
      const level = this.levels[index]!;
      const take = Math.min(n - out.length, level.live);
      for (let k = 0; k < take; k++) out.push(level.shift());
      level.shrinkIfSparse();
      if (level.live === 0) this.markEmpty(index);
    }
    this.count -= n;
    return out;
  }

  /** The item `pop` would return, without removing it. */
  peek(): T | undefined {
    if (this.count === 0) return undefined;
    const level = this.levels[this.firstLevel()]!;
    return level.items[level.head];
  }

  /** Removes the item of `handle`; `false` when it was popped, removed, or never issued. */
  remove(handle: QueueHandle): boolean {
    if (!Number.isSafeInteger(handle) || handle < LEVELS) return false;
    const index = handle % LEVELS;
    const seq = (handle - index) / LEVELS;
    const level = this.levels[index];
    if (seq > this.seq || level === undefined || !level.remove(seq)) return false;
    if (level.live === 0) this.markEmpty(index);
    this.count--;
    return true;
  }

  /** The number of items queued at one level. */
  sizeAt(priority: PriorityLevel): number {
    if (!isPriorityLevel(priority)) throw invalidPriorityLevel(priority);
    return this.levels[priority]?.live ?? 0;
  }

  /** Removes every item and drops every ring, so their memory can be reclaimed. */
  clear(): void {
    this.levels = new Array(LEVELS);
    this.nonEmpty.fill(0);
    this.count = 0;
  }

  private pushAt(item: T, index: number): QueueHandle {
    let level = this.levels[index];
    if (level === undefined) {
      level = new Level<T>(MIN_CAPACITY);
      this.levels[index] = level;
    }
    const seq = ++this.seq;
    level.push(item, seq);
    if (level.live === 1) this.nonEmpty[index >>> 5] |= 1 << (index & 31);
    this.count++;
    return seq * LEVELS + index;
  }

  /** Grows each level a batch goes to once, to fit its share of the batch. */
  private reserve(priorities: ArrayLike<PriorityLevel>, n: number): void {
    const counts = LEVEL_COUNTS;
    for (let i = 0; i < n; i++) counts[priorities[i] as number]++;
    for (let index = 0; index < LEVELS; index++) {
      const count = counts[index] as number;
      if (count === 0) continue;
      counts[index] = 0;
      let level = this.levels[index];
      if (level === undefined) {
        level = new Level<T>(MIN_CAPACITY);
        this.levels[index] = level;
      }
      level.reserve(count);
    }
  }

  private markEmpty(index: number): void {
    this.nonEmpty[index >>> 5] &= ~(1 << (index & 31));
  }

  /** The lowest non-empty level: the lowest set bit of the first non-zero word. */
  private firstLevel(): number {
    const words = this.nonEmpty;
    for (let w = 0; w < words.length; w++) {
      const word = words[w];
      if (word !== 0) return (w << 5) + 31 - Math.clz32(word & -word);
    }
    return -1;
  }
}

/** Creates the TypeScript priority queue ({@link BucketQueue}). */
export function createPriorityQueue<T>(): PriorityQueue<T> {
  return new BucketQueue<T>();
}
