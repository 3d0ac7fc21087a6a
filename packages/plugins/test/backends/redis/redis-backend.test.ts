import { createRedisBackend, type RedisBackend } from '@switchboard/plugins/redis';
import { taskRecords } from '@switchboard/testing';
import { describe, expect, it } from 'vitest';
import { redisFile } from './redis-fixture.js';

const file = redisFile();
const T0 = 1_000_000;

async function make(options = {}): Promise<RedisBackend> {
  const b = createRedisBackend({ port: file.redis.port, prefix: `unit-${++seq}`, ...options });
  await file.later(b, (x) => x.close()).open();
  return b;
}

let seq = 0;
const task = taskRecords('t');

const lease = (b: RedisBackend, max: number, now = T0) =>
  b.lease({ capability: 'cap', agentId: 'a', max, now });

describe('createRedisBackend options', () => {
  it.each([
    [{ prefix: '' }, /prefix/],
    [{ prefix: 'a{b}' }, /prefix/],
    [{ maxRetained: -1 }, /maxRetained/],
    [{ retainMs: Number.NaN }, /retainMs/],
    [{ port: 0 }, /port/],
    [{ url: 'http://localhost:6379' }, /url/],
    [{ leaseSweepMs: -5 }, /leaseSweepMs/],
    [{ commandTimeoutMs: 0 }, /commandTimeoutMs/],
  ])('rejects %j at configuration time', (options, name) => {
    expect(() => createRedisBackend(options)).toThrow(name);
    expect(() => createRedisBackend(options)).toThrow(
      expect.objectContaining({ code: 'invalid_config' }),
    );
  });

  it('connects by URL', async () => {
    const b = await make({ url: file.redis.url });
    await b.enqueue([task()]);
    expect((await b.stats()).depth).toBe(1);
  });
});

describe('Redis backend records', () => {
  it('gives back payloads, results and metadata exactly as JSON carries them', async () => {
    const b = await make();
    const payload = { list: [], nested: { a: [1, 2.5, -3e-7] }, big: 2 ** 53 - 1, text: 'é ✓' };
    const t = task({ payload, metadata: { tags: [] }, sessionKey: 's', submitter: 'me' });
    await b.enqueue([t]);
    const [leased] = await lease(b, 1);
    expect(leased).toMatchObject({ payload, metadata: { tags: [] }, sessionKey: 's' });
    const done = await b.complete(t.id, leased!.leaseToken!, { out: [[]], n: 0.1 + 0.2 }, T0 + 1);
    expect(done.result).toEqual({ out: [[]], n: 0.1 + 0.2 });
    expect((await b.get(t.id))?.submitter).toBe('me');
  });

  it('keeps an undefined payload and result undefined', async () => {
    const b = await make();
    const t = task({ payload: undefined });
    await b.enqueue([t]);
    const [leased] = await lease(b, 1);
    expect(leased!.payload).toBeUndefined();
    expect((await b.complete(t.id, leased!.leaseToken!, undefined, T0)).result).toBeUndefined();
  });

  it('refuses a batch with a value JSON cannot carry, enqueueing none of it', async () => {
    const b = await make();
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    await expect(b.enqueue([task(), task({ payload: cyclic })])).rejects.toMatchObject({
      code: 'invalid_request',
    });
    await expect(b.enqueue([task({ payload: 1n })])).rejects.toMatchObject({
      code: 'invalid_request',
    });
    await expect(b.enqueue([task({ priority: 'urgent' as 'low' })])).rejects.toMatchObject({
      code: 'invalid_request',
    });
    expect((await b.stats()).depth).toBe(0);
  });

  it('refuses a known id or an id twice in a batch, writing nothing', async () => {
    const b = await make();
    const first = task();
    await b.enqueue([first]);
    const fresh = task();
    await expect(b.enqueue([fresh, { ...first }])).rejects.toMatchObject({
      code: 'conflict',
      details: { index: 1, id: first.id },
    });
    expect(await b.get(fresh.id)).toBeUndefined();
    const twice = task();
    await expect(b.enqueue([twice, { ...twice }])).rejects.toMatchObject({ code: 'conflict' });
    expect(await b.enqueue([])).toEqual([]);
    expect((await b.stats()).depth).toBe(1);
  });
});

describe('Redis backend behaviour', () => {
  it('makes tasks delayed to one instant available in one go, each once', async () => {
    const b = await make();
    const tasks = Array.from({ length: 5 }, () => task({ availableAt: T0 + 10 }));
    await b.enqueue(tasks);
    expect(await b.nextAvailableAt()).toBe(T0 + 10);
    const leased = await lease(b, 10, T0 + 10);
    expect(leased.map((t) => t.id).sort()).toEqual(tasks.map((t) => t.id).sort());
    expect(await b.nextAvailableAt()).toBeUndefined();
  });

  it('skips cancelled tasks at the head of the queue and still fills the lease batch', async () => {
    const b = await make();
    const tasks = Array.from({ length: 8 }, () => task({ priority: 'high' }));
    const low = task({ priority: 'low' });
    await b.enqueue([...tasks, low]);
    // Every other high task, and the first three in a row, are cancelled while queued.
    const gone = tasks.filter((_, i) => i < 3 || i % 2 === 1);
    for (const t of gone) await b.cancel(t.id, T0);
    const kept = tasks.filter((t) => !gone.includes(t));
    expect(await b.stats()).toMatchObject({ depth: 3, byPriority: { high: 2, low: 1 } });
    const first = await lease(b, 2);
    expect(first.map((t) => t.id)).toEqual(kept.map((t) => t.id));
    expect(await lease(b, 3)).toEqual([expect.objectContaining({ id: low.id, status: 'leased' })]);
    for (const t of gone) expect(await b.get(t.id)).toMatchObject({ status: 'cancelled' });
    expect(await b.stats()).toMatchObject({ depth: 0, leased: 3 });
    expect(await lease(b, 3)).toEqual([]);
    expect(await b.readyCapabilities(T0)).toEqual([]);
  });

  it('is ready for a capability while a live task follows cancelled ones in its list', async () => {
    const b = await make();
    const [a, c, d] = [task(), task(), task({ capability: 'other' })];
    await b.enqueue([a, c, d]);
    await b.cancel(a.id, T0);
    await b.cancel(d.id, T0);
    // 'cap' still has c behind a's id; 'other' has only d's: no longer ready.
    expect(await b.readyCapabilities(T0)).toEqual(['cap']);
    const [leased] = await lease(b, 5);
    expect(leased?.id).toBe(c.id);
    expect(await b.readyCapabilities(T0)).toEqual([]);
  });

  it('drops a cancelled delayed task from the delay set at once', async () => {
    const b = await make();
    const later = task({ availableAt: T0 + 50 });
    await b.enqueue([later]);
    await b.cancel(later.id, T0);
    expect(await b.nextAvailableAt()).toBeUndefined();
    expect(await lease(b, 5, T0 + 50)).toEqual([]);
    expect(await b.stats()).toMatchObject({ depth: 0, delayed: 0 });
  });

  it('leases at most 1000 tasks a call', async () => {
    const b = await make();
    await b.enqueue(Array.from({ length: 1200 }, () => task()));
    expect(await lease(b, 5000)).toHaveLength(1000);
    expect(await lease(b, 5000)).toHaveLength(200);
  });

  it('evicts the oldest terminal tasks beyond maxRetained, with their idempotency keys', async () => {
    const b = await make({ maxRetained: 2 });
    const tasks = [0, 1, 2].map((i) => task({ idempotencyKey: `k${i}` }));
    await b.enqueue(tasks);
    for (const [i, t] of (await lease(b, 3)).entries()) {
      await b.complete(t.id, t.leaseToken!, i, T0 + i);
    }
    expect(await b.get(tasks[0]!.id)).toBeUndefined();
    expect((await b.get(tasks[2]!.id))?.result).toBe(2);
    const [again] = await b.enqueue([task({ idempotencyKey: 'k0' })]);
    expect(again!.created).toBe(true);
    const [dup] = await b.enqueue([task({ idempotencyKey: 'k1' })]);
    expect(dup).toMatchObject({ created: false, task: { id: tasks[1]!.id } });
  });

  it('evicts terminal tasks older than retainMs, dead letters included', async () => {
    const b = await make({ retainMs: 100 });
    const [done, dead] = [task(), task({ maxAttempts: 1 })];
    await b.enqueue([done, dead]);
    const [x, y] = await lease(b, 2);
    await b.complete(x!.id, x!.leaseToken!, 'ok', T0);
    await b.fail(y!.id, y!.leaseToken!, { message: 'no' }, { retry: false, availableAt: T0 }, T0);
    expect(await b.expireLeases(T0 + 100)).toEqual([]);
    expect((await b.deadLetters()).map((t) => t.id)).toEqual([dead.id]);
    await b.expireLeases(T0 + 101);
    expect(await b.get(done.id)).toBeUndefined();
    expect(await b.deadLetters()).toEqual([]);
    expect((await b.stats()).dead).toBe(0);
  });

  it('returns a record even when maxRetained 0 evicts it at once', async () => {
    const b = await make({ maxRetained: 0 });
    await b.enqueue([task()]);
    const [t] = await lease(b, 1);
    expect(await b.complete(t!.id, t!.leaseToken!, 7, T0)).toMatchObject({ result: 7 });
    expect(await b.get(t!.id)).toBeUndefined();
  });

  it('keeps two prefixes on one server apart', async () => {
    const a = await make();
    const b = await make();
    await a.enqueue([task()]);
    expect((await b.stats()).depth).toBe(0);
    expect(await lease(b, 1)).toEqual([]);
    expect(await b.readyCapabilities(T0)).toEqual([]);
  });
});

describe('Redis backend task listing', () => {
  it('looks at no more than 10,000 entries a call: a sparse filter pages on with a cursor', async () => {
    const b = await make();
    const rare = task({ capability: 'rare', createdAt: T0 });
    await b.enqueue([rare]);
    const many = Array.from({ length: 10_050 }, (_, i) => task({ createdAt: T0 + 1 + i }));
    for (let i = 0; i < many.length; i += 5000) await b.enqueue(many.slice(i, i + 5000));
    const first = await b.listTasks({ capability: 'rare', limit: 5 });
    expect(first.tasks).toEqual([]);
    expect(first.nextCursor).toEqual(expect.any(String));
    const second = await b.listTasks({ capability: 'rare', limit: 5, cursor: first.nextCursor! });
    expect(second.tasks.map((t) => t.id)).toEqual([rare.id]);
    expect(second.nextCursor).toBeUndefined();
    const newest = await b.listTasks({ limit: 2 });
    expect(newest.tasks.map((t) => t.id)).toEqual([many.at(-1)!.id, many.at(-2)!.id]);
  });

  it('forgets an evicted task from the listing', async () => {
    const b = await make({ maxRetained: 1 });
    await b.enqueue([task({ createdAt: T0 }), task({ createdAt: T0 + 1 })]);
    const held = await lease(b, 2);
    for (const t of held) await b.complete(t.id, t.leaseToken!, null, T0 + 5);
    const page = await b.listTasks({ limit: 10, capability: 'cap' });
    expect(page.tasks.map((t) => t.id)).toEqual([held[1]!.id]);
  });
});
