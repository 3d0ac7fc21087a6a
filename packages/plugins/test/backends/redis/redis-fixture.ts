import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll } from 'vitest';
import {
  type RedisServerHandle,
  type RedisServerOptions,
  startRedisServer,
} from '../../../../../test/helpers/redis-server.js';

/** The redis-server of one test file, and what its tests opened on it. */
export interface RedisFile {
  /** The file's server (started before the file's first test, disposed after its last). */
  readonly redis: RedisServerHandle;
  /** A plain client of the server for the test's own commands (made on first use). */
  readonly admin: Redis;
  /** Registers what a test opened (a backend, a Switchboard) to be closed after the test. */
  later<T>(opened: T, close: (opened: T) => Promise<unknown>): T;
}

/**
 * Starts a real redis-server of the test file's own (see test/helpers/redis-server.ts) and
 * closes, after each test, what the test registered with `later`.
 *
 * @example
 * ```ts
 * const file = redisFile()
 * const backend = file.later(createRedisBackend({ port: file.redis.port }), (b) => b.close())
 * ```
 */
export function redisFile(options: RedisServerOptions = {}): RedisFile {
  let server: RedisServerHandle | undefined;
  let admin: Redis | undefined;
  let closers: (() => Promise<unknown>)[] = [];
  beforeAll(async () => {
    server = await startRedisServer(options);
  });
  afterEach(async () => {
    const list = closers;
    closers = [];
    await Promise.all(list.map((close) => close()));
  });
  afterAll(async () => {
    admin?.disconnect();
    await server?.dispose();
  });
  return {
    get redis(): RedisServerHandle {
      if (server === undefined) throw new Error('the redis-server has not started yet');
      return server;
    },
    get admin(): Redis {
      admin ??= new Redis(this.redis.port, '127.0.0.1');
      return admin;
    },
    later(opened, close) {
      closers.push(() => close(opened));
      return opened;
    },
  };
}
