const INITIAL_CAPACITY = 64;

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
  // Instants and tie-breaking sequence numbers in typed arrays: a plain array holding
  // epoch-ms doubles can box each one as a heap number, an allocation per entry.
  private ats = new Float64Array(INITIAL_CAPACITY);
  private seqs = new Float64Array(INITIAL_CAPACITY);
  // As long as `ats`, the entries in its first `n` slots: its length is set by `grow` alone,
  // so a heap whose entries come and go (the lease expiries) does not regrow it by pushes.
  private items: (T | undefined)[] = new Array(INITIAL_CAPACITY);
  private n = 0;
  private seq = 0;

  /** Entries held, stale ones included. */
  get size(): number {
    return this.n;
  }

  /** Adds `item` due at `at`. O(log n). */
  push(at: number, item: T): void {
    const seq = ++this.seq;
    let i = this.n++;
    if (i === this.ats.length) this.grow(2 * i);
    const { ats, seqs } = this;
    // Sift up: move parents down until the new entry's slot is found.
    while (i > 0) {
      const parent = (i - 1) >>> 1;
      if (!less(at, seq, ats[parent] as number, seqs[parent] as number)) break;
      this.move(parent, i);
      i = parent;
    }
    this.set(i, at, seq, item);
  }

  /** The instant of the earliest entry, or `undefined` when empty. */
  peekAt(): number | undefined {
    return this.n > 0 ? this.ats[0] : undefined;
  }

  /** The item of the earliest entry, or `undefined` when empty. */
  peek(): T | undefined {
    return this.items[0];
  }

  /** Removes and returns the earliest entry's item. Precondition: not empty. */
  pop(): T {
    const items = this.items;
    const top = items[0] as T;
    const n = --this.n;
    const item = items[n] as T;
    items[n] = undefined;
    if (n > 0) this.siftDown(0, this.ats[n] as number, this.seqs[n] as number, item, n);
    if (n >= INITIAL_CAPACITY && n * 4 < this.ats.length) this.grow(2 * n);
    return top;
  }

  /** Keeps only the entries for which `keep(at, item)` is true, then restores heap order. */
  compact(keep: (at: number, item: T) => boolean): void {
    const { ats, seqs, items, n } = this;
    let k = 0;
    for (let i = 0; i < n; i++) {
      if (!keep(ats[i] as number, items[i] as T)) continue;
      ats[k] = ats[i] as number;
      seqs[k] = seqs[i] as number;
      items[k] = items[i] as T;
      k++;
    }
    items.fill(undefined, k, n);
    this.n = k;
    if (k >= INITIAL_CAPACITY && k * 4 < ats.length) this.grow(2 * k);
    // Floyd's heap construction: O(n).
    for (let i = (k >>> 1) - 1; i >= 0; i--) {
      this.siftDown(i, this.ats[i] as number, this.seqs[i] as number, items[i] as T, k);
    }
  }

  /** Drops every entry and the memory held for them. */
  clear(): void {
    this.ats = new Float64Array(INITIAL_CAPACITY);
    this.seqs = new Float64Array(INITIAL_CAPACITY);
    this.items = new Array(INITIAL_CAPACITY);
    this.n = 0;
  }

  /** Moves the entries to arrays of `capacity` slots (more, or fewer once mostly empty). */
  private grow(capacity: number): void {
    const n = this.n;
    const ats = new Float64Array(Math.max(capacity, INITIAL_CAPACITY));
    const seqs = new Float64Array(ats.length);
    const items = new Array<T | undefined>(ats.length);
    const kept = Math.min(n, this.ats.length);
    ats.set(this.ats.subarray(0, kept));
    seqs.set(this.seqs.subarray(0, kept));
    for (let i = 0; i < kept; i++) items[i] = this.items[i];
    this.ats = ats;
    this.seqs = seqs;
    this.items = items;
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
