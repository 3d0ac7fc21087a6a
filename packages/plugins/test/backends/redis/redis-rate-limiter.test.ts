import { createSwitchboard, isSwitchboardError, type SwitchboardError } from '@switchboard/core';
import { createRedisBackend, type RedisBackend } from '@switchboard/plugins/redis';
import { describe, expect, it } from 'vitest';
import { redisFile } from './redis-fixture.js';

// Two backends on one real server stand for two processes: the buckets are in Redis.
const file = redisFile();
const T0 = 1_000_000;

async function backend(prefix: string): Promise<RedisBackend> {
  const b = file.later(createRedisBackend({ port: file.redis.port, prefix }), (x) => x.close());
  await b.open();
  return b;
}

describe('Redis shared rate limiter', () => {
  it('gives every process one bucket per key, refilled by time', async () => {
    const [a, b] = [await backend('rl-1'), await backend('rl-1')];
    const options = { capacity: 3, refillPerSec: 10 };
    const onA = a.sharedRateLimiter('api', options);
    const onB = b.sharedRateLimiter('api', options);
    const taken = [
      await onA.acquire('alice', 1, T0),
      await onB.acquire('alice', 1, T0),
      await onA.acquire('alice', 1, T0),
    ];
    expect(taken.map((d) => [d.allowed, d.remaining])).toEqual([
      [true, 2],
      [true, 1],
      [true, 0],
    ]);
    expect(await onB.acquire('alice', 1, T0)).toEqual({
      allowed: false,
      retryAfterMs: 100,
      remaining: 0,
    });
    // Another key, and another limit name, have buckets of their own.
    expect((await onB.acquire('bob', 3, T0)).allowed).toBe(true);
    expect((await b.sharedRateLimiter('other', options).acquire('alice', 1, T0)).allowed).toBe(
      true,
    );
    // 100 ms refill one token; a cost over the capacity never passes.
    expect((await onB.acquire('alice', 1, T0 + 100)).allowed).toBe(true);
    expect((await onA.acquire('alice', 4, T0 + 10_000)).retryAfterMs).toBe(
      Number.POSITIVE_INFINITY,
    );
  });

  it('expires an idle bucket once it would be full again', async () => {
    const b = await backend('rl-2');
    await b.sharedRateLimiter('api', { capacity: 10, refillPerSec: 5 }).acquire('k', 4, T0);
    const ttl = await file.admin.pttl('{rl-2}:rl:api:k');
    // 4 tokens at 5 a second: full in 800 ms, kept a second longer.
    expect(ttl).toBeGreaterThan(1_500);
    expect(ttl).toBeLessThanOrEqual(1_800);
  });

  it('makes the submit limits of Switchboards on one Redis hold for the cluster', async () => {
    const rateLimits = { perSubmitter: { capacity: 2, refillPerSec: 1 } };
    const make = () =>
      file.later(
        createSwitchboard({
          backend: createRedisBackend({ port: file.redis.port, prefix: 'rl-3' }),
          rateLimits,
          // A still clock: no token comes back during the test, however slow the machine.
          now: () => T0,
        }),
        (sb) => sb.shutdown({ drain: false }),
      );
    const [a, b] = [make(), make()];
    await Promise.all([a.start(), b.start()]);
    await a.submit({ capability: 'x', submitter: 'alice' });
    await b.submit({ capability: 'x', submitter: 'alice' });
    const refused = (await a
      .submit({ capability: 'x', submitter: 'alice' })
      .catch((e: unknown) => e)) as SwitchboardError;
    expect(isSwitchboardError(refused, 'rate_limited')).toBe(true);
    expect(refused.details).toMatchObject({ scope: 'submitter', key: 'alice' });
    await expect(b.submit({ capability: 'x', submitter: 'bob' })).resolves.toMatchObject({
      created: true,
    });
  });
});
