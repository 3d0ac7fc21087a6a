const MIN_CAPACITY = 64;

/**
 * A FIFO of items stamped with the instant they were added (oldest first): a power-of-two
 * ring of stamps (a `Float64Array`, so a stamp is no heap number) beside a ring of items,
 * grown by doubling and halved once a quarter full, so a queue that keeps about as many
 * entries as it takes allocates nothing. The memory backend keeps its terminal tasks here,
 * in the order they ended, to evict the oldest first. Like {@link TimeHeap}, removal is
 * lazy: the owner skips stale entries when they reach the head and calls
 * {@link RetentionQueue.compact} when they pile up.
 */
export class RetentionQueue<T> {
  private stamps = new Float64Array(MIN_CAPACITY);
  private items: (T | undefined)[] = new Array(MIN_CAPACITY);
  private head = 0;
  private count = 0;

  /** Entries held, stale ones included. */
  get size(): number {
    return this.count;
  }

  /** Appends `item`, stamped `at`. */
  push(at: number, item: T): void {
    if (this.count === this.stamps.length) this.resize(2 * this.count);
    const i = (this.head + this.count) & (this.stamps.length - 1);
    this.stamps[i] = at;
    this.items[i] = item;
    this.count++;
  }

  /** The stamp of the oldest entry, or `undefined` when empty. */
  peekAt(): number | undefined {
    return this.count > 0 ? this.stamps[this.head] : undefined;
  }

  /** The oldest item, or `undefined` when empty. */
  peek(): T | undefined {
    return this.count > 0 ? this.items[this.head] : undefined;
  }

  /** Removes the oldest entry. Precondition: not empty. */
  shift(): void {
    // Drop the reference now, so an evicted item can be collected.
    this.items[this.head] = undefined;
    this.head = (this.head + 1) & (this.stamps.length - 1);
    this.count--;
    const capacity = this.stamps.length;
    if (capacity > MIN_CAPACITY && this.count * 4 < capacity) this.resize(capacity >>> 1);
  }

  /** Keeps only the entries for which `keep(at, item)` is true, in order. O(n). */
  compact(keep: (at: number, item: T) => boolean): void {
    const { stamps, items, head, count } = this;
    const mask = stamps.length - 1;
    let k = 0;
    for (let j = 0; j < count; j++) {
      const from = (head + j) & mask;
      const at = stamps[from] as number;
      const item = items[from] as T;
      if (!keep(at, item)) continue;
      // Written over slots already read (k ≤ j), so the ring is compacted in place.
      const to = (head + k) & mask;
      stamps[to] = at;
      items[to] = item;
      k++;
    }
    for (let j = k; j < count; j++) items[(head + j) & mask] = undefined;
    this.count = k;
    let capacity = stamps.length;
    while (capacity > MIN_CAPACITY && k * 4 < capacity) capacity >>>= 1;
    if (capacity !== stamps.length) this.resize(capacity);
  }

  /** Drops every entry and the memory held for them. */
  clear(): void {
    this.stamps = new Float64Array(MIN_CAPACITY);
    this.items = new Array(MIN_CAPACITY);
    this.head = 0;
    this.count = 0;
  }

  /** Moves the entries, oldest first, to rings of `capacity` slots (a power of two ≥ count). */
  private resize(capacity: number): void {
    const { stamps, items, head, count } = this;
    const mask = stamps.length - 1;
    const nextStamps = new Float64Array(capacity);
    const nextItems = new Array<T | undefined>(capacity);
    for (let j = 0; j < count; j++) {
      const from = (head + j) & mask;
      nextStamps[j] = stamps[from] as number;
      nextItems[j] = items[from];
    }
    this.stamps = nextStamps;
    this.items = nextItems;
    this.head = 0;
  }
}
