import { createRedisBackend, type RedisBackend } from '@switchboard/plugins/redis';
import { taskRecords } from '@switchboard/testing';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { redisFile } from './redis-fixture.js';

// Several backends on one server stand for several Switchboard processes: each has its own
// connections, and they share only what is in Redis.
const file = redisFile();

const T0 = 1_000_000;

async function backends(n: number, options = {}): Promise<RedisBackend[]> {
  const list = Array.from({ length: n }, () =>
    createRedisBackend({ port: file.redis.port, prefix: 'multi', ...options }),
  );
  for (const b of list) file.later(b, (x) => x.close());
  await Promise.all(list.map((b) => b.open()));
  return list;
}

const task = taskRecords('t');

beforeEach(async () => {
  await file.admin.flushall();
});

describe('Redis backend: several processes on one server', () => {
  it('keeps strict priority and FIFO across the processes that enqueued', async () => {
    const [a, b, c] = await backends(3);
    const low = task({ priority: 'low' });
    const n1 = task();
    const crit = task({ priority: 'critical' });
    const n2 = task();
    const high = task({ priority: 'high' });
    await a!.enqueue([low, n1]);
    await b!.enqueue([crit]);
    await c!.enqueue([n2, high]);
    const leased = await b!.lease({ capability: 'cap', agentId: 'x', max: 10, now: T0 });
    expect(leased.map((t) => t.id)).toEqual([crit.id, high.id, n1.id, n2.id, low.id]);
  });

  it('leases each task to exactly one process under concurrent lease calls', async () => {
    const [a, b, c] = await backends(3);
    const all = Array.from({ length: 300 }, (_, i) =>
      task({ priority: (['critical', 'high', 'normal', 'low'] as const)[i % 4] }),
    );
    await a!.enqueue(all);
    const got = new Map<RedisBackend, string[]>();
    await Promise.all(
      [a!, b!, c!].map(async (backend) => {
        const mine: string[] = [];
        got.set(backend, mine);
        for (;;) {
          const chunk = await backend.lease({ capability: 'cap', agentId: 'x', max: 7, now: T0 });
          if (chunk.length === 0) return;
          mine.push(...chunk.map((t) => t.id));
        }
      }),
    );
    const ids = [...got.values()].flat();
    expect(ids).toHaveLength(300);
    expect(new Set(ids).size).toBe(300);
    for (const mine of got.values()) expect(mine.length).toBeGreaterThan(0);
  });

  it('deduplicates one idempotency key enqueued by several processes at once', async () => {
    const list = await backends(3);
    const results = await Promise.all(
      list.map((b) => b.enqueue([task({ idempotencyKey: 'order-1' })])),
    );
    const created = results.flat().filter((r) => r.created);
    expect(created).toHaveLength(1);
    expect(new Set(results.flat().map((r) => r.task.id)).size).toBe(1);
    expect((await list[0]!.stats()).depth).toBe(1);
  });

  it('tells a process of tasks another one enqueued, requeued or replayed', async () => {
    const [a, b] = await backends(2);
    const heard: string[] = [];
    a!.onAvailable((cap) => heard.push(cap));
    await b!.enqueue([task({ capability: 'remote', maxAttempts: 1 })]);
    await vi.waitFor(() => expect(heard).toEqual(['remote']));
    const [t] = await b!.lease({ capability: 'remote', agentId: 'x', max: 1, now: T0 });
    await b!.fail(t!.id, t!.leaseToken!, { message: 'x' }, { retry: false, availableAt: T0 }, T0);
    await b!.replay(t!.id, T0 + 1);
    await vi.waitFor(() => expect(heard).toEqual(['remote', 'remote']));
  });

  it('requeues an expired lease once when every process expires at the same time', async () => {
    const [a, b, c] = await backends(3);
    await a!.enqueue(Array.from({ length: 90 }, () => task({ timeoutMs: 100 })));
    const leased = await a!.lease({ capability: 'cap', agentId: 'dead', max: 100, now: T0 });
    expect(leased).toHaveLength(90);
    const runs = await Promise.all(
      [a!, b!, c!, a!, b!, c!].map((backend) => backend.expireLeases(T0 + 500)),
    );
    const expired = runs.flat().map((t) => t.id);
    expect(expired.sort()).toEqual(leased.map((t) => t.id).sort());
    expect(await a!.stats()).toMatchObject({ depth: 90, leased: 0 });
    const again = await c!.lease({ capability: 'cap', agentId: 'y', max: 100, now: T0 + 501 });
    expect(again).toHaveLength(90);
    expect(again.every((t) => t.attempts === 2)).toBe(true);
  });

  it('lets the lease of a process that went away be completed by nobody but its holder', async () => {
    const [a, b] = await backends(2);
    await a!.enqueue([task()]);
    const [t] = await a!.lease({ capability: 'cap', agentId: 'x', max: 1, now: T0 });
    await a!.close();
    await expect(b!.complete(t!.id, 'forged-token-000000000', 1, T0)).rejects.toMatchObject({
      code: 'conflict',
    });
    expect(await b!.complete(t!.id, t!.leaseToken!, 'ok', T0 + 1)).toMatchObject({
      status: 'completed',
      result: 'ok',
    });
  });
});

describe('Redis backend: connections', () => {
  const named = async () =>
    ((await file.admin.client('LIST')) as string)
      .split('\n')
      .filter((line) => / name=switchboard-(command|subscriber) /.test(line)).length;

  it('opens two connections per backend, however many operations run at once', async () => {
    const [b] = await backends(1);
    expect(await named()).toBe(2);
    const tasks = Array.from({ length: 2000 }, () => task());
    await Promise.all(tasks.map((t) => b!.enqueue([t])));
    const leased = (
      await Promise.all(
        Array.from({ length: 500 }, () =>
          b!.lease({ capability: 'cap', agentId: 'x', max: 4, now: T0 }),
        ),
      )
    ).flat();
    expect(leased).toHaveLength(2000);
    await Promise.all(leased.map((t) => b!.complete(t.id, t.leaseToken!, null, T0 + 1)));
    expect(await named()).toBe(2);
    await backends(2);
    expect(await named()).toBe(6);
  });

  it('closes its connections', async () => {
    const [b] = await backends(1);
    await b!.close();
    await vi.waitFor(async () => expect(await named()).toBe(0));
    await expect(b!.stats()).rejects.toMatchObject({ code: 'unavailable' });
    expect(() => b!.onAvailable(() => undefined)).toThrow(/closed/);
  });
});

describe('Redis backend: a complete whose reply was lost', () => {
  // A script that keeps the server busy: a command sent meanwhile runs after it, by which
  // time the caller's commandTimeout has given up on the reply.
  const block = (ms: number) =>
    file.admin.eval(
      `local t = redis.call('TIME') local start = t[1] * 1e6 + t[2]
       repeat t = redis.call('TIME') until t[1] * 1e6 + t[2] - start > ${ms * 1000}
       return 1`,
      0,
    );

  it('returns the completed task when retried with the same token, once', async () => {
    const [b] = await backends(1, { commandTimeoutMs: 50 });
    await b!.enqueue([task()]);
    const [t] = await b!.lease({ capability: 'cap', agentId: 'x', max: 1, now: T0 });
    const busy = block(300);
    await new Promise((r) => setTimeout(r, 20));
    await expect(b!.complete(t!.id, t!.leaseToken!, { v: 1 }, T0 + 1)).rejects.toMatchObject({
      code: 'unavailable',
      retryable: true,
    });
    await busy;
    const retried = await b!.complete(t!.id, t!.leaseToken!, { v: 1 }, T0 + 2);
    expect(retried).toMatchObject({ status: 'completed', result: { v: 1 }, updatedAt: T0 + 1 });
    // Only the retry of a lost reply is answered so; a second complete is a conflict.
    await expect(b!.complete(t!.id, t!.leaseToken!, { v: 1 }, T0 + 3)).rejects.toMatchObject({
      code: 'conflict',
    });
  });

  it('recognizes the retry of a fail whose reply was lost', async () => {
    const [b] = await backends(1, { commandTimeoutMs: 50 });
    await b!.enqueue([task({ maxAttempts: 1 })]);
    const [t] = await b!.lease({ capability: 'cap', agentId: 'x', max: 1, now: T0 });
    const busy = block(300);
    await new Promise((r) => setTimeout(r, 20));
    const outcome = { retry: true, availableAt: T0 };
    const fail = () => b!.fail(t!.id, t!.leaseToken!, { message: 'boom' }, outcome, T0 + 1);
    await expect(fail()).rejects.toMatchObject({ code: 'unavailable' });
    await busy;
    expect(await fail()).toMatchObject({ status: 'dead', error: { message: 'boom' } });
    await expect(fail()).rejects.toMatchObject({ code: 'conflict' });
    expect((await b!.deadLetters()).map((d) => d.id)).toEqual([t!.id]);
  });
});

describe('Redis backend: keys deleted by hand', () => {
  it('keeps leasing, promoting and expiring around tasks that vanished', async () => {
    const [b] = await backends(1);
    const [queued, delayed, leased, fine] = [
      task(),
      task({ availableAt: T0 + 10 }),
      task({ priority: 'critical', timeoutMs: 5 }),
      task({ priority: 'low' }),
    ];
    await b!.enqueue([queued, delayed, leased, fine]);
    await b!.lease({ capability: 'cap', agentId: 'x', max: 1, now: T0 });
    await file.admin.del(...[queued, delayed, leased].map((t) => `{multi}:t:${t.id}`));
    expect(await b!.expireLeases(T0 + 100)).toEqual([]);
    const rest = await b!.lease({ capability: 'cap', agentId: 'x', max: 10, now: T0 + 100 });
    expect(rest.map((t) => t.id)).toEqual([fine.id]);
    expect(await b!.readyCapabilities(T0 + 100)).toEqual([]);
  });
});
