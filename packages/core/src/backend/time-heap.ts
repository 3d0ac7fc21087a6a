/**
 * A binary min-heap of items keyed by an instant (epoch ms), ties broken by insertion order,
 * held in parallel arrays so an entry costs no object of its own.
 *
 * Removal is lazy: the owner leaves an entry in place when its item moves on (a lease
 * completed, a delayed task cancelled) and skips it when it surfaces, which keeps every
 * transition O(1). {@link TimeHeap.compact} drops such stale entries in O(n); the owner
 * calls it when they outnumber live ones, so the heap's memory stays proportional to the
 * live entries and the cost stays amortized O(1) per entry.
 */
export class TimeHeap<T> {
  private ats: number[] = [];
  private seqs: number[] = [];
  private items: T[] = [];
  private seq = 0;

  /** Entries held, stale ones included. */
  get size(): number {
    return this.items.length;
  }

  /** Adds `item` due at `at`. O(log n). */
  push(at: number, item: T): void {
    const seq = ++this.seq;
    let i = this.items.length;
    this.ats.push(at);
    this.seqs.push(seq);
    this.items.push(item);
    // Sift up: move parents down until the new entry's slot is found.
    while (i > 0) {
      const parent = (i - 1) >>> 1;
      if (!less(at, seq, this.ats[parent] as number, this.seqs[parent] as number)) break;
      this.move(parent, i);
      i = parent;
    }
    this.set(i, at, seq, item);
  }

  /** The instant of the earliest entry, or `undefined` when empty. */
  peekAt(): number | undefined {
    return this.ats[0];
  }

  /** The item of the earliest entry, or `undefined` when empty. */
  peek(): T | undefined {
    return this.items[0];
  }

  /** Removes and returns the earliest entry's item. Precondition: not empty. */
  pop(): T {
    const top = this.items[0] as T;
    const at = this.ats.pop() as number;
    const seq = this.seqs.pop() as number;
    const item = this.items.pop() as T;
    const n = this.items.length;
    if (n > 0) this.siftDown(0, at, seq, item, n);
    return top;
  }

  /** Keeps only the entries for which `keep(at, item)` is true, then restores heap order. */
  compact(keep: (at: number, item: T) => boolean): void {
    const { ats, seqs, items } = this;
    let k = 0;
    for (let i = 0; i < items.length; i++) {
      if (!keep(ats[i] as number, items[i] as T)) continue;
      ats[k] = ats[i] as number;
      seqs[k] = seqs[i] as number;
      items[k] = items[i] as T;
      k++;
    }
    ats.length = k;
    seqs.length = k;
    items.length = k;
    // Floyd's heap construction: O(n).
    for (let i = (k >>> 1) - 1; i >= 0; i--) {
      this.siftDown(i, ats[i] as number, seqs[i] as number, items[i] as T, k);
    }
  }

  /** Drops every entry and the memory held for them. */
  clear(): void {
    this.ats = [];
    this.seqs = [];
    this.items = [];
  }

  private siftDown(i: number, at: number, seq: number, item: T, n: number): void {
    const { ats, seqs } = this;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      const right = child + 1;
      if (
        right < n &&
        less(
          ats[right] as number,
          seqs[right] as number,
          ats[child] as number,
          seqs[child] as number,
        )
      ) {
        child = right;
      }
      if (!less(ats[child] as number, seqs[child] as number, at, seq)) break;
      this.move(child, i);
      i = child;
    }
    this.set(i, at, seq, item);
  }

  private move(from: number, to: number): void {
    this.ats[to] = this.ats[from] as number;
    this.seqs[to] = this.seqs[from] as number;
    this.items[to] = this.items[from] as T;
  }

  private set(i: number, at: number, seq: number, item: T): void {
    this.ats[i] = at;
    this.seqs[i] = seq;
    this.items[i] = item;
  }
}

/** Whether key (`a`, `aSeq`) orders before key (`b`, `bSeq`). */
function less(a: number, aSeq: number, b: number, bSeq: number): boolean {
  return a !== b ? a < b : aSeq < bSeq;
}
