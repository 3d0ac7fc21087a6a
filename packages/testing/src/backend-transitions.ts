import { expect, it } from 'vitest';
import { type Fixture, T0 } from './backend-fixture.js';
import { rejectsWith } from './rejects-with.js';

/**
 * The lease transitions of the suite: complete, fail, extend, release, expiry, cancel and
 * dead letters, each with the right token, a stale or foreign one, and on terminal tasks.
 * Tokens are kept by value: a backend may return live records that it goes on updating.
 */
export function backendTransitions(f: Fixture): void {
  it("keeps a task's trace context through its lease, a retry and the dead letter", async () => {
    const traceparent = `00-${'4b'.repeat(16)}-${'0f'.repeat(8)}-01`;
    const tracestate = 'vendor=a,other=b';
    const context = { traceparent, tracestate };
    const traced = f.task({ ...context, maxAttempts: 2 });
    const plain = f.task();
    await f.enqueue(traced, plain);
    expect(await f.backend.get(traced.id)).toMatchObject(context);
    const [first, other] = await f.lease(2);
    expect(first).toMatchObject({ id: traced.id, ...context });
    expect(other).toMatchObject({ id: plain.id });
    expect(other?.traceparent).toBeUndefined();
    const err = { message: 'boom', retryable: true };
    const retry = { retry: true, availableAt: T0 };
    await f.backend.fail(traced.id, first!.leaseToken!, err, retry, T0);
    const [second] = await f.lease(1, T0 + 1);
    expect(second).toMatchObject({ id: traced.id, attempts: 2, ...context });
    const dead = await f.backend.fail(traced.id, second!.leaseToken!, err, retry, T0 + 2);
    expect(dead).toMatchObject({ status: 'dead', ...context });
    expect((await f.backend.deadLetters()).find((t) => t.id === traced.id)).toMatchObject(context);
  });

  it('completes with the right token only, once', async () => {
    await f.enqueue(f.task());
    const [t] = await f.lease(1);
    await rejectsWith(f.backend.complete(t!.id, 'forged-token-000000000', 1, T0 + 1), 'conflict');
    const done = await f.backend.complete(t!.id, t!.leaseToken!, { answer: 42 }, T0 + 2);
    expect(done).toMatchObject({
      status: 'completed',
      result: { answer: 42 },
      updatedAt: T0 + 2,
    });
    await rejectsWith(f.backend.complete(t!.id, t!.leaseToken!, 2, T0 + 3), 'conflict');
    await rejectsWith(f.backend.complete('no-such-task', 'x', 1, T0), 'not_found');
    expect((await f.backend.get(t!.id))?.result).toEqual({ answer: 42 });
  });

  it('fails into a retry with backoff while attempts remain, then dead', async () => {
    await f.enqueue(f.task({ maxAttempts: 2 }));
    const [first] = await f.lease(1);
    // Records may be live objects the backend keeps updating: keep the token by value.
    const firstToken = first!.leaseToken!;
    const err = { message: 'boom', retryable: true };
    await rejectsWith(
      f.backend.fail(first!.id, 'forged', err, { retry: true, availableAt: T0 }, T0),
      'conflict',
    );
    const retried = await f.backend.fail(
      first!.id,
      firstToken,
      err,
      { retry: true, availableAt: T0 + 200 },
      T0 + 1,
    );
    expect(retried).toMatchObject({ status: 'queued', attempts: 1, error: { message: 'boom' } });
    expect(await f.lease(1, T0 + 199)).toEqual([]);
    const [second] = await f.lease(1, T0 + 200);
    expect(second).toMatchObject({ id: first!.id, attempts: 2 });
    expect(second!.leaseToken).not.toBe(firstToken);
    await rejectsWith(f.backend.complete(first!.id, firstToken, 1, T0 + 201), 'conflict');
    const dead = await f.backend.fail(
      second!.id,
      second!.leaseToken!,
      { message: 'boom again' },
      { retry: true, availableAt: T0 + 300 },
      T0 + 202,
    );
    expect(dead).toMatchObject({ status: 'dead', error: { message: 'boom again' } });
    expect((await f.backend.deadLetters()).map((t) => t.id)).toEqual([first!.id]);
  });

  it('fails straight to dead when the outcome says no retry', async () => {
    await f.enqueue(f.task({ maxAttempts: 5 }));
    const [t] = await f.lease(1);
    const out = { retry: false, availableAt: T0 };
    const dead = await f.backend.fail(t!.id, t!.leaseToken!, { message: 'bad input' }, out, T0);
    expect(dead).toMatchObject({ status: 'dead', attempts: 1 });
    await rejectsWith(f.backend.fail(t!.id, t!.leaseToken!, { message: 'x' }, out, T0), 'conflict');
    expect((await f.backend.stats()).dead).toBe(1);
  });

  it('extends a lease with the right token only', async () => {
    await f.enqueue(f.task({ timeoutMs: 100 }));
    const [t] = await f.lease(1);
    await rejectsWith(f.backend.extend(t!.id, 'forged', 1000, T0 + 50), 'conflict');
    const extended = await f.backend.extend(t!.id, t!.leaseToken!, 1000, T0 + 50);
    expect(extended.leaseExpiresAt).toBe(T0 + 1050);
    expect(await f.backend.expireLeases(T0 + 500)).toEqual([]);
    expect((await f.backend.expireLeases(T0 + 1051)).map((x) => x.id)).toEqual([t!.id]);
    await rejectsWith(f.backend.extend(t!.id, t!.leaseToken!, 1000, T0 + 1052), 'conflict');
  });

  it('releases leases at once with the attempt counted, skipping stale tokens', async () => {
    const once = f.task({ maxAttempts: 1 });
    const twice = f.task({ maxAttempts: 2 });
    await f.backend.enqueue([once, twice]);
    const leased = await f.lease(2);
    const byId = new Map(leased.map((t) => [t.id, t.leaseToken!]));
    const error = { message: 'agent failed', code: 'agent_failed' };
    const released = await f.backend.release(
      [
        { id: once.id, leaseToken: byId.get(once.id)! },
        { id: twice.id, leaseToken: byId.get(twice.id)! },
        { id: twice.id, leaseToken: 'stale-token-0000000000' },
        { id: 'no-such-task', leaseToken: 'x' },
      ],
      error,
      T0 + 5,
    );
    expect(released.map((t) => [t.id, t.status, t.attempts])).toEqual([
      [once.id, 'dead', 1],
      [twice.id, 'queued', 1],
    ]);
    expect((await f.backend.get(once.id))?.error).toMatchObject({ message: 'agent failed' });
    const [again] = await f.lease(1, T0 + 5);
    expect(again).toMatchObject({ id: twice.id, attempts: 2 });
    const tokens = [{ id: twice.id, leaseToken: byId.get(twice.id)! }];
    expect(await f.backend.release(tokens, error, T0 + 6)).toEqual([]);
  });

  it('expires leases once now reaches leaseExpiresAt, and their tokens conflict', async () => {
    const short = f.task({ timeoutMs: 100, maxAttempts: 3 });
    const long = f.task({ timeoutMs: 10_000 });
    const last = f.task({ timeoutMs: 100, maxAttempts: 1 });
    await f.backend.enqueue([short, long, last]);
    const tokens = new Map((await f.lease(3)).map((t) => [t.id, t.leaseToken!]));
    expect(await f.backend.expireLeases(T0 + 99)).toEqual([]);
    const expired = await f.backend.expireLeases(T0 + 100);
    expect(expired.map((t) => [t.id, t.status]).sort()).toEqual(
      [
        [short.id, 'queued'],
        [last.id, 'dead'],
      ].sort(),
    );
    await rejectsWith(f.backend.complete(short.id, tokens.get(short.id)!, 1, T0 + 151), 'conflict');
    expect((await f.lease(5, T0 + 151)).map((t) => [t.id, t.attempts])).toEqual([[short.id, 2]]);
    expect((await f.backend.get(long.id))?.status).toBe('leased');
    expect(await f.backend.expireLeases(T0 + 160)).toEqual([]);
  });

  it('cancels queued, delayed and leased tasks; terminal ones conflict', async () => {
    const queued = f.task();
    const delayed = f.task({ availableAt: T0 + 100 });
    const leasedTask = f.task({ priority: 'critical' });
    await f.backend.enqueue([queued, delayed, leasedTask]);
    const [held] = await f.lease(1);
    const token = held!.leaseToken!;
    expect(held!.id).toBe(leasedTask.id);
    for (const id of [queued.id, delayed.id, leasedTask.id]) {
      expect(await f.backend.cancel(id, T0 + 1)).toMatchObject({ status: 'cancelled' });
    }
    await rejectsWith(f.backend.complete(held!.id, token, 1, T0 + 2), 'conflict');
    await rejectsWith(f.backend.extend(held!.id, token, 10, T0 + 2), 'conflict');
    await rejectsWith(f.backend.cancel(queued.id, T0 + 2), 'conflict');
    await rejectsWith(f.backend.cancel('no-such-task', T0 + 2), 'not_found');
    expect(await f.lease(5, T0 + 200)).toEqual([]);
    expect(await f.backend.expireLeases(T0 + 5000)).toEqual([]);
    expect(await f.backend.stats()).toMatchObject({ depth: 0, leased: 0, delayed: 0 });
  });

  it('lists, replays and deletes dead letters', async () => {
    const tasks = [f.task({ maxAttempts: 1 }), f.task({ maxAttempts: 1 }), f.task()];
    await f.backend.enqueue(tasks);
    const leased = await f.lease(3);
    const no = { retry: false, availableAt: T0 };
    for (const [i, t] of leased.slice(0, 2).entries()) {
      await f.backend.fail(t.id, t.leaseToken!, { message: `e${i}` }, no, T0 + i);
    }
    expect((await f.backend.deadLetters()).map((t) => t.id)).toEqual([tasks[0]!.id, tasks[1]!.id]);
    expect((await f.backend.deadLetters(1)).map((t) => t.id)).toEqual([tasks[0]!.id]);
    await rejectsWith(f.backend.replay(tasks[2]!.id, T0 + 5), 'not_found');
    await rejectsWith(f.backend.replay('no-such-task', T0 + 5), 'not_found');

    const replayed = await f.backend.replay(tasks[0]!.id, T0 + 5);
    expect(replayed).toMatchObject({ status: 'queued', attempts: 0 });
    const [again] = await f.lease(1, T0 + 6);
    expect(again).toMatchObject({ id: tasks[0]!.id, attempts: 1 });
    await f.backend.complete(again!.id, again!.leaseToken!, 'ok', T0 + 7);

    await f.backend.deleteDeadLetter(tasks[1]!.id);
    expect(await f.backend.get(tasks[1]!.id)).toBeUndefined();
    await rejectsWith(f.backend.deleteDeadLetter(tasks[1]!.id), 'not_found');
    expect(await f.backend.deadLetters()).toEqual([]);
  });
}
