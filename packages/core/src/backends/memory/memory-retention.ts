import type { TaskRecord } from '../../model/task.js';
import { RetentionQueue } from './retention-queue.js';

// Stale entries are compacted away once they outnumber live ones by this margin.
const COMPACT_SLACK = 1024;

/**
 * The terminal tasks a memory backend keeps, in the order they ended, and their eviction:
 * the oldest go once more than `maxRetained` are kept or once older than `retainMs`.
 * A record leaves by eviction (then `forget` drops it from the store) or early, by a
 * dead-letter replay or delete ({@link release}); an early leaver's entry stays in the queue,
 * stale, and is skipped when it surfaces.
 */
export class MemoryRetention {
  readonly #queue = new RetentionQueue<TaskRecord>();
  /**
   * Records with entries in the queue that no longer stand (released since), with how
   * many: such entries come before a record's live one, so the first ones to surface are
   * the stale ones. Empty but after dead-letter operations, so evicting the oldest record
   * costs no lookup.
   */
  #stale = new Map<TaskRecord, number>();
  #count = 0;

  constructor(
    private readonly limits: { readonly maxRetained: number; readonly retainMs: number },
    private readonly forget: (t: TaskRecord) => void,
  ) {}

  /** Terminal records kept. */
  get count(): number {
    return this.#count;
  }

  /** Keeps `t`, which just became terminal at `now` (evicted by a later {@link evict}). */
  retire(t: TaskRecord, now: number): void {
    this.#queue.push(now, t);
    this.#count++;
  }

  /** Stops keeping `t` before its turn (a replayed or deleted dead letter). */
  release(t: TaskRecord): void {
    this.#count--;
    this.#stale.set(t, (this.#stale.get(t) ?? 0) + 1);
  }

  /** Evicts the oldest records beyond `maxRetained` or older than `retainMs` at `now`. */
  evict(now: number): void {
    const queue = this.#queue;
    const { maxRetained, retainMs } = this.limits;
    const oldest = now - retainMs;
    for (let at = queue.peekAt(); at !== undefined; at = queue.peekAt()) {
      if (this.#count <= maxRetained && at >= oldest) break;
      const t = queue.peek() as TaskRecord;
      queue.shift();
      if (this.#takeStale(t)) continue;
      this.#count--;
      this.forget(t);
    }
    if (queue.size > 2 * this.#count + COMPACT_SLACK) {
      queue.compact((_at, t) => !this.#takeStale(t));
    }
  }

  /** Drops everything kept (the store is cleared). */
  clear(): void {
    this.#queue.clear();
    this.#stale = new Map();
    this.#count = 0;
  }

  /** Whether this queue entry of `t` is a stale one (and counts it as consumed). */
  #takeStale(t: TaskRecord): boolean {
    if (this.#stale.size === 0) return false;
    const count = this.#stale.get(t);
    if (count === undefined) return false;
    if (count === 1) this.#stale.delete(t);
    else this.#stale.set(t, count - 1);
    return true;
  }
}
