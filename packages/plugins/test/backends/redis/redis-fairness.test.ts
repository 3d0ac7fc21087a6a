import { createSwitchboard, defineAgent } from '@switchboard/core';
import { createRedisBackend } from '@switchboard/plugins/redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type RedisServerHandle,
  startRedisServer,
} from '../../../../../test/helpers/redis-server.js';

// The Redis backend has no fair dispatch yet (docs/fairness.md): a task's fairnessKey is kept
// and tasks are leased in priority and FIFO order, and sb.fairness says it is not enforced.

let redis: RedisServerHandle;
beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(() => redis.dispose());

describe('fairness keys on the Redis backend', () => {
  it('are kept and served first come, first served, and sb.fairness says so', async () => {
    const started: string[] = [];
    const worker = defineAgent({
      name: 'worker',
      capabilities: ['crawl'],
      config: { maxConcurrency: 1 },
      handle: (payload: string) => {
        started.push(payload);
        return payload;
      },
    });
    const sb = createSwitchboard({
      backend: createRedisBackend({ port: redis.port, prefix: 'fairness-1' }),
      agents: [worker],
      fairness: { weights: { quiet: 10 } },
    });
    expect(sb.fairness.enforced).toBe(false);
    const handles = await sb.submitMany([
      ...['noisy-0', 'noisy-1', 'noisy-2'].map((payload) => ({
        capability: 'crawl',
        payload,
        fairnessKey: 'noisy',
      })),
      { capability: 'crawl', payload: 'quiet-0', fairnessKey: 'quiet' },
    ]);
    await sb.start();
    try {
      await Promise.all(handles.map((h) => h.result));
      expect(started).toEqual(['noisy-0', 'noisy-1', 'noisy-2', 'quiet-0']);
      expect((await sb.get(handles[3]!.id))?.fairnessKey).toBe('quiet');
      expect(await sb.fairness.get('quiet')).toEqual({ key: 'quiet', weight: 10, enforced: false });
    } finally {
      await sb.shutdown();
    }
  });
});
