import { definePlugin, type SwitchboardPlugin } from '@switchboard/core';
import { createRedisBackend } from './redis-backend.js';
import type { RedisBackendOptions } from './redis-options.js';

/** The name the Redis backend registers under. */
export const REDIS_BACKEND = 'redis';

/**
 * Registers the Redis backend as `redis`, so options (and `--backend redis://host:port`) can
 * name it. A plugin of its own, apart from the built-in one: it needs Node and `ioredis`.
 *
 * @example
 * ```ts
 * createSwitchboard({
 *   plugins: [redisBackendPlugin],
 *   backend: { name: 'redis', options: { url: 'redis://10.0.0.5:6379', prefix: 'prod' } },
 * })
 * ```
 */
export const redisBackendPlugin: SwitchboardPlugin = definePlugin({
  name: 'redis-backend',
  setup(ctx) {
    // The Switchboard's logger hears of outages, unless the options name a logger of their own.
    ctx.backend(REDIS_BACKEND, (options: RedisBackendOptions | undefined) =>
      createRedisBackend({ logger: ctx.logger, ...options }),
    );
  },
});
