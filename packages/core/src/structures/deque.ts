const MIN_CAPACITY = 4;

/**
 * A FIFO on a power-of-two ring: `push` at the tail, `shift` and `peek` at the head, each
 * O(1) (amortized for `push`, which doubles the ring when full). It backs the fair lanes of
 * the memory backend, which hold one per key with work and one ring of keys per priority
 * level, so it is kept small: an empty deque holds a four-slot array.
 */
export class Deque<T> {
  #items: (T | undefined)[] = new Array<T | undefined>(MIN_CAPACITY);
  #head = 0;
  #length = 0;

  /** Items held. */
  get length(): number {
    return this.#length;
  }

  /** Adds `item` at the tail. */
  push(item: T): void {
    const items = this.#items;
    if (this.#length === items.length) {
      this.#grow();
      this.push(item);
      return;
    }
    items[(this.#head + this.#length) & (items.length - 1)] = item;
    this.#length++;
  }

  /** Removes and returns the head, or `undefined` when empty. */
  shift(): T | undefined {
    if (this.#length === 0) return undefined;
    const items = this.#items;
    const item = items[this.#head];
    // Cleared so that the deque keeps nothing it no longer holds alive.
    items[this.#head] = undefined;
    this.#head = (this.#head + 1) & (items.length - 1);
    this.#length--;
    return item;
  }

  /** The head, without removing it. */
  peek(): T | undefined {
    return this.#length === 0 ? undefined : this.#items[this.#head];
  }

  /** Keeps only the items `keep` accepts, in order; returns how many were dropped. */
  retain(keep: (item: T) => boolean): number {
    const before = this.#length;
    const kept: T[] = [];
    for (let n = before; n > 0; n--) {
      const item = this.shift() as T;
      if (keep(item)) kept.push(item);
    }
    let capacity = MIN_CAPACITY;
    while (capacity < kept.length) capacity *= 2;
    this.#items = new Array<T | undefined>(capacity);
    this.#head = 0;
    this.#length = 0;
    for (const item of kept) this.push(item);
    return before - kept.length;
  }

  #grow(): void {
    const old = this.#items;
    const items = new Array<T | undefined>(old.length * 2);
    for (let i = 0; i < this.#length; i++) items[i] = old[(this.#head + i) & (old.length - 1)];
    this.#items = items;
    this.#head = 0;
  }
}
