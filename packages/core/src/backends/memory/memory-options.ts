import type { PriorityQueue } from '../../contracts/priority-queue.js';
import { SwitchboardError } from '../../errors.js';
import { BucketQueue } from '../../structures/bucket-queue.js';

/** Options of the in-memory backend. */
export interface MemoryBackendOptions {
  /**
   * At most this many terminal tasks (completed, dead, cancelled) are kept, with their
   * idempotency keys; the oldest are evicted first. Default 10,000; 0 keeps none.
   *
   * Why 10,000: retained records stay in the task map and the heap, so a large window slows
   * the hot path (the map is bigger, and the collector has more to trace) and holds their
   * results in memory. Draining a deep queue ran clearly slower with a window of 100,000
   * than with one of 1,000 (see bench/RESULTS.md, Figures quoted in code comments before).
   * Raise it when clients read results (`get`, `waitFor`) or repeat idempotency keys long
   * after tasks end; a durable backend keeps its own, longer window.
   */
  maxRetained?: number;
  /** Terminal tasks older than this (ms since they ended) are evicted. Default: no limit. */
  retainMs?: number;
  /**
   * Makes the priority queue of each capability (and its replacement when a lane is
   * compacted). Default: core's `BucketQueue`. Available tasks enter with one `pushMany` per
   * capability per operation and leave with one `popMany` per lease, so an implementation in
   * native code crosses its boundary once per batch. Core never imports such an
   * implementation; it is passed in here, by the server or by the user.
   *
   * @example
   * ```ts
   * import { createPriorityQueue } from '@switchboard/native'
   * const sb = createSwitchboard({
   *   backend: {
   *     name: 'memory',
   *     options: { createQueue: <T>() => createPriorityQueue<T>({ workload: 'batch' }) },
   *   },
   * })
   * ```
   */
  createQueue?: <T>() => PriorityQueue<T>;
}

/** The options with defaults applied. */
export interface ResolvedMemoryOptions {
  maxRetained: number;
  retainMs: number;
  createQueue: <T>() => PriorityQueue<T>;
}

const bucketQueue = <T>(): PriorityQueue<T> => new BucketQueue<T>();

/** The default of {@link MemoryBackendOptions.maxRetained}. */
export const DEFAULT_MAX_RETAINED = 10_000;

/** Applies defaults and fails fast (`invalid_config`) on a value that cannot work. */
export function resolveMemoryOptions(options: MemoryBackendOptions): ResolvedMemoryOptions {
  const {
    maxRetained = DEFAULT_MAX_RETAINED,
    retainMs = Number.POSITIVE_INFINITY,
    createQueue = bucketQueue,
  } = options;
  if (!Number.isInteger(maxRetained) || maxRetained < 0) {
    throw new SwitchboardError(
      'invalid_config',
      `[memory] maxRetained must be an integer ≥ 0, got ${maxRetained}`,
      { details: { maxRetained } },
    );
  }
  if (!(retainMs >= 0)) {
    throw new SwitchboardError('invalid_config', `[memory] retainMs must be ≥ 0, got ${retainMs}`, {
      details: { retainMs },
    });
  }
  if (createQueue !== bucketQueue) checkQueueFactory(createQueue);
  return { maxRetained, retainMs, createQueue };
}

/**
 * Makes one queue with a given factory, so that one that cannot work fails at configuration
 * time rather than in the middle of a batch.
 */
function checkQueueFactory(createQueue: unknown): void {
  let probe: unknown;
  let cause: unknown;
  try {
    probe = typeof createQueue === 'function' ? createQueue() : undefined;
  } catch (err) {
    cause = err;
  }
  if (!isQueue(probe)) {
    throw new SwitchboardError(
      'invalid_config',
      '[memory] createQueue must be a function returning a PriorityQueue',
      { details: { createQueue: typeof createQueue }, cause },
    );
  }
}

function isQueue(value: unknown): value is PriorityQueue<unknown> {
  const q = value as Partial<Record<keyof PriorityQueue<unknown>, unknown>> | null | undefined;
  return (
    typeof q?.size === 'number' &&
    typeof q.push === 'function' &&
    typeof q.pushMany === 'function' &&
    typeof q.popMany === 'function'
  );
}
