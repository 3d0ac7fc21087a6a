import type { Backend } from '@switchboard/core';
import { createRedisBackend } from '@switchboard/plugins/redis';
import { testBackend } from '@switchboard/testing';
import { afterAll, beforeAll } from 'vitest';
import {
  type RedisServerHandle,
  startRedisServer,
} from '../../../../../test/helpers/redis-server.js';

// One server for the file, persisting every write (appendfsync always); each backend gets a
// prefix of its own, so the suite's fresh backends share nothing. A reopen kills the server
// with SIGKILL and starts it again on the same data: what the backend acknowledged is there.
let redis: RedisServerHandle;
beforeAll(async () => {
  redis = await startRedisServer({ appendonly: true, appendfsync: 'always' });
});
afterAll(() => redis.dispose());

const prefixes = new WeakMap<Backend, string>();
let made = 0;

function make(prefix = `conformance-${++made}`): Backend {
  const backend = createRedisBackend({ port: redis.port, prefix });
  prefixes.set(backend, prefix);
  return backend;
}

async function reopen(backend: Backend): Promise<Backend> {
  await backend.close();
  await redis.restart({ kill: true });
  return make(prefixes.get(backend));
}

testBackend('redis', () => make(), {
  durable: true,
  reopen,
  skipFairness: 'the Redis backend stores fairness keys but leases in FIFO order (a later step)',
});
