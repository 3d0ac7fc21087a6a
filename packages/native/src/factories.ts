import {
  BucketQueue,
  type PriorityQueue,
  type RateLimiter,
  TokenBucketLimiter,
  type TokenBucketOptions,
} from '@switchboard/core';
import { type Backend, loadNative } from './loader.js';
import { NativePriorityQueue } from './native-priority-queue.js';
import { NativeRateLimiter } from './native-rate-limiter.js';

/** How a queue or limiter will mostly be called: item by item, or in batches. */
export type Workload = 'single' | 'batch';

/**
 * The faster implementation for each way of calling, as `bench/queue.bench.mjs` and
 * `bench/limiter.bench.mjs` measure them side by side (the figures are in bench/RESULTS.md,
 * Priority queue and Rate limiter):
 * - a queue called in batches: native, since a whole batch crosses into Rust at once. Its
 *   lead narrows in the deepest queues, where both are bound by memory.
 * - a queue called item by item: TypeScript, since each call into native code pays a
 *   Node-API crossing.
 * - a limiter called in batches: native, by a small margin, since interning the string keys
 *   in a `Map` is work that both do in JavaScript.
 * - a limiter checked one key a call: TypeScript, for the same crossing.
 * A queue or limiter keeps its state on one side, so the choice is made per instance, by how
 * it will mostly be called.
 */
export const FASTEST: Readonly<Record<'queue' | 'limiter', Readonly<Record<Workload, Backend>>>> = {
  queue: { single: 'js', batch: 'native' },
  limiter: { single: 'js', batch: 'native' },
};

/** Options of the default factories. */
export interface PickOptions {
  /** How the result will be called (default `batch`): picks the faster implementation. */
  workload?: Workload;
}

/**
 * The Rust priority queue when the addon is loaded, else core's `BucketQueue`.
 *
 * @example
 * ```ts
 * const queue = createNativePriorityQueue<Task>()
 * queue.pushMany(tasks, levels)
 * ```
 */
export function createNativePriorityQueue<T>(): PriorityQueue<T> {
  const { addon } = loadNative();
  return addon === undefined ? new BucketQueue<T>() : new NativePriorityQueue<T>(addon);
}

/**
 * The Rust token bucket when the addon is loaded, else core's `TokenBucketLimiter`.
 *
 * @throws SwitchboardError `invalid_config` for options out of range.
 * @example
 * ```ts
 * const limiter = createNativeRateLimiter({ capacity: 100, refillPerSec: 50 })
 * const waits = limiter.tryAcquireMany(keys)
 * ```
 */
export function createNativeRateLimiter(options: TokenBucketOptions): RateLimiter {
  const { addon } = loadNative();
  return addon === undefined
    ? new TokenBucketLimiter(options)
    : new NativeRateLimiter(addon, options);
}

/**
 * The default queue: the implementation {@link FASTEST} names for the workload, native
 * only when it wins and the addon is loaded.
 *
 * @example
 * ```ts
 * const dispatchQueue = createPriorityQueue<Task>({ workload: 'batch' })
 * ```
 */
export function createPriorityQueue<T>(options: PickOptions = {}): PriorityQueue<T> {
  return FASTEST.queue[options.workload ?? 'batch'] === 'native'
    ? createNativePriorityQueue<T>()
    : new BucketQueue<T>();
}

/**
 * The default limiter: the implementation {@link FASTEST} names for the workload, native
 * only when it wins and the addon is loaded.
 *
 * @throws SwitchboardError `invalid_config` for options out of range.
 * @example
 * ```ts
 * const perSubmitter = createRateLimiter({ capacity: 100, refillPerSec: 50 }, { workload: 'single' })
 * ```
 */
export function createRateLimiter(
  options: TokenBucketOptions,
  pick: PickOptions = {},
): RateLimiter {
  return FASTEST.limiter[pick.workload ?? 'batch'] === 'native'
    ? createNativeRateLimiter(options)
    : new TokenBucketLimiter(options);
}
