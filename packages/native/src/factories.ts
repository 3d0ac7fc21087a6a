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
 * The faster implementation per operation, as measured side by side by
 * `bench/queue.bench.mjs` and `bench/limiter.bench.mjs` (Node 20, 2 shared cores):
 * - queue, batches of 1024: native ~2.45× the TypeScript queue at depth 1k, ~2.2× at 100k,
 *   ~1.6× at 1M (where both are bound by memory);
 * - queue, item by item: TypeScript ~5× native (one Node-API crossing, ~60–80 ns, per call);
 * - limiter, batches of 1024: native 1.05–1.7× (string-key interning in a `Map` is shared work);
 * - limiter, one check a call: TypeScript ~5× native.
 * A queue or limiter keeps its state on one side, so the choice is per instance, by how it
 * will mostly be called.
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
