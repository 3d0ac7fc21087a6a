export type { LimiterRef, NativeAddon, QueueRef } from './addon.js';
export {
  createNativePriorityQueue,
  createNativeRateLimiter,
  createPriorityQueue,
  createRateLimiter,
  FASTEST,
  type PickOptions,
  type Workload,
} from './factories.js';
export {
  type Backend,
  candidatePaths,
  loadNative,
  loadNativeFrom,
  type NativeLoad,
  platformTriples,
} from './loader.js';
export { NativePriorityQueue } from './native-priority-queue.js';
export { NativeRateLimiter } from './native-rate-limiter.js';
