// Shifting from the front of a JS array is O(n); a moving head with an occasional splice
// keeps it O(1) amortized. Below this many consumed slots the splice is not worth it.
const SPLICE_MIN = 1024;

/**
 * A FIFO of items stamped with the instant they were added (oldest first), in parallel
 * arrays. The memory backend keeps its terminal tasks here, in the order they ended, to
 * evict the oldest first. Like {@link TimeHeap}, removal is lazy: the owner skips stale
 * entries when they reach the head and calls {@link RetentionQueue.compact} when they pile up.
 */
export class RetentionQueue<T> {
  private stamps: number[] = [];
  private items: T[] = [];
  private head = 0;

  /** Entries held, stale ones included. */
  get size(): number {
    return this.items.length - this.head;
  }

  /** Appends `item`, stamped `at`. */
  push(at: number, item: T): void {
    this.stamps.push(at);
    this.items.push(item);
  }

  /** The stamp of the oldest entry, or `undefined` when empty. */
  peekAt(): number | undefined {
    return this.head < this.items.length ? this.stamps[this.head] : undefined;
  }

  /** The oldest item, or `undefined` when empty. */
  peek(): T | undefined {
    return this.head < this.items.length ? this.items[this.head] : undefined;
  }

  /** Removes the oldest entry. Precondition: not empty. */
  shift(): void {
    // Drop the reference now so an evicted item can be collected before the next splice.
    (this.items as (T | undefined)[])[this.head] = undefined;
    this.head++;
    if (this.head >= SPLICE_MIN && this.head * 2 >= this.items.length) {
      this.stamps.splice(0, this.head);
      this.items.splice(0, this.head);
      this.head = 0;
    }
  }

  /** Keeps only the entries for which `keep(at, item)` is true, in order. O(n). */
  compact(keep: (at: number, item: T) => boolean): void {
    const stamps: number[] = [];
    const items: T[] = [];
    for (let i = this.head; i < this.items.length; i++) {
      const at = this.stamps[i] as number;
      const item = this.items[i] as T;
      if (keep(at, item)) {
        stamps.push(at);
        items.push(item);
      }
    }
    this.stamps = stamps;
    this.items = items;
    this.head = 0;
  }

  /** Drops every entry. */
  clear(): void {
    this.stamps = [];
    this.items = [];
    this.head = 0;
  }
}
