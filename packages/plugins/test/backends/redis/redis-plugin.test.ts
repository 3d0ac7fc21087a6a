import { createSwitchboard, defineAgent, type Switchboard } from '@switchboard/core';
import { createRedisBackend, REDIS_BACKEND, redisBackendPlugin } from '@switchboard/plugins/redis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  type RedisServerHandle,
  startRedisServer,
} from '../../../../../test/helpers/redis-server.js';

let redis: RedisServerHandle;
beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(() => redis.dispose());

let running: Switchboard[] = [];
afterEach(async () => {
  await Promise.all(running.map((sb) => sb.shutdown()));
  running = [];
});

function switchboard(prefix: string, agents: ReturnType<typeof defineAgent>[] = []): Switchboard {
  const sb = createSwitchboard({
    plugins: [redisBackendPlugin],
    backend: { name: REDIS_BACKEND, options: { port: redis.port, prefix } },
    agents,
  });
  running.push(sb);
  return sb;
}

describe('redisBackendPlugin', () => {
  it('runs a Switchboard on the Redis backend by name', async () => {
    const sb = switchboard('plugin-1', [
      defineAgent({ name: 'echo', capabilities: ['echo'], handle: (p: unknown) => p }),
    ]);
    await sb.start();
    expect(await sb.run({ capability: 'echo', payload: { hi: [1, 2] } })).toEqual({ hi: [1, 2] });
  });

  it('lets one Switchboard take the work another one queued', async () => {
    const front = switchboard('plugin-2');
    const worker = switchboard('plugin-2', [
      defineAgent({ name: 'up', capabilities: ['upper'], handle: (p: string) => p.toUpperCase() }),
    ]);
    await Promise.all([front.start(), worker.start()]);
    const handle = await front.submit({ capability: 'upper', payload: 'from the front' });
    const reader = createRedisBackend({ port: redis.port, prefix: 'plugin-2' });
    try {
      await vi.waitFor(async () =>
        expect(await reader.get(handle.id)).toMatchObject({
          status: 'completed',
          result: 'FROM THE FRONT',
        }),
      );
    } finally {
      await reader.close();
    }
  });
});
