import { SwitchboardError } from '../errors.js';
import type { Message } from '../model/envelope.js';

/**
 * Why a message was dead-lettered: delivered `maxDeliveries` times without an ack, its ttl
 * ran out, a consumer rejected it (`nack({ requeue: false })`), or nobody could take it.
 * Other strings are allowed for reasons of one's own.
 */
export type DeadLetterReason =
  | 'max_deliveries'
  | 'expired'
  | 'rejected'
  | 'undeliverable'
  | (string & {});

/** One dead letter. */
export interface DeadLetter<M> {
  /** The key of this entry: the message id, unless a copy of it needs its own key. */
  id: string;
  message: M;
  reason: DeadLetterReason;
  /** The last error, when there was one. */
  error?: Error;
  /** When it was dead-lettered (epoch ms). */
  at: number;
  /** The endpoint or subscription it was meant for, when one was. */
  source?: string;
}

/** What {@link DeadLetterQueue.add} takes: `id` defaults to `message.id`, `at` to now. */
export type DeadLetterInit<M> = Omit<DeadLetter<M>, 'id' | 'at'> & { id?: string; at?: number };

/** Options of a {@link DeadLetterQueue}. */
export interface DeadLetterQueueOptions<M> {
  /** Keep at most this many; the oldest is evicted, counted in `dropped` and reported. */
  maxSize?: number;
  /** Told of each entry evicted by `maxSize`. */
  onDrop?: (entry: DeadLetter<M>) => void;
  now?: () => number;
}

/** Selects entries: a predicate, or entries of one reason. */
export type DeadLetterFilter<M> = ((entry: DeadLetter<M>) => boolean) | { reason?: string };

function matcher<M>(filter: DeadLetterFilter<M> | undefined): (entry: DeadLetter<M>) => boolean {
  if (filter === undefined) return () => true;
  if (typeof filter === 'function') return filter;
  return (entry) => filter.reason === undefined || entry.reason === filter.reason;
}

/**
 * Where messages that cannot be delivered end up, kept for inspection and replay instead of
 * being lost. Entries are kept in the order they arrived.
 *
 * @example
 * ```ts
 * const dlq = new DeadLetterQueue<Message>({ maxSize: 10_000, onDrop: (e) => log.warn(e) })
 * dlq.add({ message, reason: 'max_deliveries', error })
 * dlq.replay((e) => e.reason === 'max_deliveries', (m) => broker.send(m))
 * ```
 */
export class DeadLetterQueue<M extends Pick<Message, 'id' | 'attempts'> = Message> {
  private readonly entries = new Map<string, DeadLetter<M>>();
  private readonly maxSize: number;
  private readonly onDrop: ((entry: DeadLetter<M>) => void) | undefined;
  private readonly now: () => number;
  private droppedCount = 0;

  constructor(options: DeadLetterQueueOptions<M> = {}) {
    const { maxSize = Number.POSITIVE_INFINITY } = options;
    if (!(maxSize >= 1)) {
      throw new SwitchboardError(
        'invalid_config',
        `DeadLetterQueue: maxSize must be ≥ 1, got ${maxSize}`,
      );
    }
    this.maxSize = maxSize;
    this.onDrop = options.onDrop;
    this.now = options.now ?? Date.now;
  }

  /** The number of entries held. */
  get size(): number {
    return this.entries.size;
  }

  /** How many entries `maxSize` has evicted so far. */
  get dropped(): number {
    return this.droppedCount;
  }

  /** Adds an entry (replacing one of the same id) and returns it; may evict the oldest. */
  add(init: DeadLetterInit<M>): DeadLetter<M> {
    const entry: DeadLetter<M> = {
      ...init,
      id: init.id ?? init.message.id,
      at: init.at ?? this.now(),
    };
    this.entries.delete(entry.id);
    this.entries.set(entry.id, entry);
    while (this.entries.size > this.maxSize) {
      const [oldestId, oldest] = this.entries.entries().next().value!;
      this.entries.delete(oldestId);
      this.droppedCount++;
      this.onDrop?.(oldest);
    }
    return entry;
  }

  /** The entries, oldest first, optionally filtered. */
  list(filter?: DeadLetterFilter<M>): DeadLetter<M>[] {
    const keep = matcher(filter);
    return [...this.entries.values()].filter(keep);
  }

  /** The entry of `id`, if held. */
  get(id: string): DeadLetter<M> | undefined {
    return this.entries.get(id);
  }

  /** Removes the entry of `id`; `false` when it was not held. */
  remove(id: string): boolean {
    return this.entries.delete(id);
  }

  /**
   * Hands the message of entry `id` (or of every entry the predicate selects) to `resend`
   * with `attempts` reset to 0, and removes the entry. If `resend` throws, the entry is kept
   * (unless `resend` dead-lettered it again itself) and the error is rethrown; entries
   * replayed before it stay replayed. Returns how many were replayed.
   */
  replay(
    target: string | ((entry: DeadLetter<M>) => boolean),
    resend: (message: M) => void,
  ): number {
    const selected =
      typeof target === 'string'
        ? [this.entries.get(target)].filter((e) => e !== undefined)
        : this.list(target);
    let replayed = 0;
    for (const entry of selected) {
      this.entries.delete(entry.id);
      try {
        resend({ ...entry.message, attempts: 0 });
      } catch (err) {
        if (!this.entries.has(entry.id)) this.entries.set(entry.id, entry);
        throw err;
      }
      replayed++;
    }
    return replayed;
  }

  /** Removes every entry, or those the predicate selects; returns how many were removed. */
  purge(predicate?: (entry: DeadLetter<M>) => boolean): number {
    if (predicate === undefined) {
      const n = this.entries.size;
      this.entries.clear();
      return n;
    }
    let n = 0;
    for (const entry of this.list(predicate)) if (this.entries.delete(entry.id)) n++;
    return n;
  }
}
