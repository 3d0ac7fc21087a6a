/**
 * Generic data structures of the hot path: the priority bucket queue and the token bucket (the task index is internal).
 *
 * @module
 */
export { BucketQueue, createPriorityQueue } from './bucket-queue.js';
export {
  createTokenBucket,
  DEFAULT_MAX_KEYS,
  resolveTokenBucketOptions,
  TokenBucketLimiter,
} from './token-bucket.js';
