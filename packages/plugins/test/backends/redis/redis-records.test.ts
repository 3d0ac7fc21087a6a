import { SwitchboardError } from '@switchboard/core';
import { createRedisBackend, type RedisBackend } from '@switchboard/plugins/redis';
import { taskRecords } from '@switchboard/testing';
import { describe, expect, it } from 'vitest';
import { redisFile } from './redis-fixture.js';

const file = redisFile();
const T0 = 1_000_000;

let seq = 0;
async function make(options = {}): Promise<RedisBackend> {
  const b = createRedisBackend({ port: file.redis.port, prefix: `records-${++seq}`, ...options });
  await file.later(b, (x) => x.close()).open();
  return b;
}

const task = taskRecords('r');

describe('Redis backend record layout', () => {
  it('keeps every field through lease and complete, agent ids with spaces included', async () => {
    const b = await make();
    const t = task({
      idempotencyKey: 'key "1"',
      sessionKey: 's 1',
      submitter: 'me, myself',
      metadata: { tags: ['a b'] },
      availableAt: T0 - 5,
      createdAt: T0 - 7,
      updatedAt: T0 - 6,
    });
    await b.enqueue([t]);
    const [leased] = await b.lease({
      capability: 'cap',
      agentId: 'agent with  spaces ',
      max: 1,
      now: T0,
    });
    const expected = {
      ...t,
      status: 'leased',
      attempts: 1,
      agentId: 'agent with  spaces ',
      leaseExpiresAt: T0 + t.timeoutMs,
      updatedAt: T0,
    };
    expect(leased).toEqual({ ...expected, leaseToken: leased!.leaseToken });
    expect(await b.get(t.id)).toEqual(leased);
    const done = await b.complete(t.id, leased!.leaseToken!, undefined, T0 + 1);
    expect(done).toEqual({ ...leased, status: 'completed', updatedAt: T0 + 1 });
    expect(await b.get(t.id)).toEqual(done);
  });

  it('leaves out a payload JSON cannot carry, and the agent id of a task never leased', async () => {
    const b = await make();
    const t = task({ payload: undefined });
    await b.enqueue([t]);
    const stored = await b.get(t.id);
    expect(stored).not.toHaveProperty('payload');
    expect(stored).not.toHaveProperty('agentId');
    expect(stored).not.toHaveProperty('leaseToken');
  });

  it('refuses a lease token that is empty or holds whitespace, storing nothing', async () => {
    const b = await make();
    for (const leaseToken of ['', 'a b']) {
      const t = task({ leaseToken });
      await expect(b.enqueue([t])).rejects.toMatchObject({ code: 'invalid_request' });
      expect(await b.get(t.id)).toBeUndefined();
    }
  });

  it('keeps priority and FIFO order when a queued task in the middle is cancelled', async () => {
    const b = await make();
    const tasks = [
      task({ priority: 'low' }),
      task(),
      task(),
      task(),
      task({ priority: 'critical' }),
    ];
    await b.enqueue(tasks);
    expect(await b.cancel(tasks[2]!.id, T0)).toMatchObject({ status: 'cancelled' });
    const leased = await b.lease({ capability: 'cap', agentId: 'a', max: 10, now: T0 });
    expect(leased.map((t) => t.id)).toEqual([4, 1, 3, 0].map((i) => tasks[i]!.id));
    expect(await b.readyCapabilities(T0)).toEqual([]);
    expect((await b.stats()).depth).toBe(0);
  });

  it('counts and expires real leases only, however far the sweep looks', async () => {
    const b = await make();
    const tasks = [task(), task()];
    await b.enqueue(tasks);
    const [x, y] = await b.lease({ capability: 'cap', agentId: 'a', max: 2, now: T0 });
    expect((await b.stats()).leased).toBe(2);
    await b.complete(x!.id, x!.leaseToken!, 1, T0);
    const expired = await b.expireLeases(Number.MAX_VALUE);
    expect(expired.map((t) => t.id)).toEqual([y!.id]);
    expect((await b.stats()).leased).toBe(0);
    expect(await b.expireLeases(Number.MAX_VALUE)).toEqual([]);
  });

  it('forgets the capability once its last queued task is cancelled', async () => {
    const b = await make();
    const t = task({ priority: 'high' });
    await b.enqueue([t]);
    expect(await b.readyCapabilities(T0)).toEqual(['cap']);
    await b.cancel(t.id, T0);
    expect(await b.readyCapabilities(T0)).toEqual([]);
  });

  it('evicts beyond maxRetained in the order tasks ended, replayed ones leaving the line', async () => {
    const b = await make({ maxRetained: 2 });
    const [x, y, z] = [task({ maxAttempts: 1 }), task(), task()];
    await b.enqueue([x, y, z]);
    const [lx, ly, lz] = await b.lease({ capability: 'cap', agentId: 'a', max: 3, now: T0 });
    const outcome = { retry: false, availableAt: T0 };
    await b.fail(lx!.id, lx!.leaseToken!, { message: 'no' }, outcome, T0);
    await b.complete(ly!.id, ly!.leaseToken!, 1, T0);
    // Replayed, x is no longer the oldest terminal task: completing z evicts nothing.
    await b.replay(x.id, T0);
    await b.complete(lz!.id, lz!.leaseToken!, 2, T0);
    expect(await b.get(y.id)).toMatchObject({ status: 'completed' });
    const [again] = await b.lease({ capability: 'cap', agentId: 'a', max: 1, now: T0 });
    await b.complete(again!.id, again!.leaseToken!, 3, T0 + 1);
    expect(await b.get(y.id)).toBeUndefined();
    expect(await b.get(z.id)).toMatchObject({ result: 2 });
    expect(await b.get(x.id)).toMatchObject({ result: 3 });
  });
});

describe('RedisBackend.completeMany', () => {
  it('completes a batch in one call, each failure in its own slot', async () => {
    const b = await make();
    const tasks = [task(), task(), task()];
    await b.enqueue(tasks);
    const [a, c, d] = await b.lease({ capability: 'cap', agentId: 'a', max: 3, now: T0 });
    const other = await make({ prefix: `records-${seq}` });
    const out = await other.completeMany(
      [
        { id: a!.id, leaseToken: a!.leaseToken!, result: { n: [] } },
        { id: c!.id, leaseToken: 'stale', result: 1 },
        { id: 'nope', leaseToken: 'x', result: 1 },
        { id: d!.id, leaseToken: d!.leaseToken!, result: 10n },
      ],
      T0 + 2,
    );
    expect(out[0]).toEqual({ ...a, status: 'completed', result: { n: [] }, updatedAt: T0 + 2 });
    expect(out.slice(1).map((e) => e instanceof SwitchboardError && e.code)).toEqual([
      'conflict',
      'not_found',
      'invalid_request',
    ]);
    const [held] = await b.completeMany(
      [{ id: c!.id, leaseToken: c!.leaseToken!, result: 'c' }],
      T0 + 3,
    );
    expect(held).toEqual({ ...c, status: 'completed', result: 'c', updatedAt: T0 + 3 });
    expect(await b.get(c!.id)).toEqual(held);
  });

  it('rejects unavailable when closed', async () => {
    const b = await make();
    await b.close();
    await expect(b.completeMany([], T0)).rejects.toMatchObject({ code: 'unavailable' });
    await expect(
      b.completeMany([{ id: 'x', leaseToken: 't', result: 1 }], T0),
    ).rejects.toMatchObject({ code: 'unavailable' });
  });
});
