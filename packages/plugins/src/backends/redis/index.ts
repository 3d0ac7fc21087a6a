/** The Redis backend (`ioredis`): queues, leases and tasks shared by several processes. */
export { createRedisBackend, RedisBackend } from './redis-backend.js';
export type { RedisBackendOptions } from './redis-options.js';
export { REDIS_BACKEND, redisBackendPlugin } from './redis-plugin.js';
export { RedisRateLimiter } from './redis-rate-limiter.js';
