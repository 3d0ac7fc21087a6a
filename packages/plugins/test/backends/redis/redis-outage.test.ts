import { createRedisBackend, type RedisBackend } from '@switchboard/plugins/redis';
import { taskRecords } from '@switchboard/testing';
import { describe, expect, it, vi } from 'vitest';
import { freePort, startRedisServer } from '../../../../../test/helpers/redis-server.js';
import { redisFile } from './redis-fixture.js';

// The server persists every write, so stopping and restarting it stands for an outage of a
// production server, not a loss of its data.
const file = redisFile({ appendonly: true, appendfsync: 'always' });
const T0 = 1_000_000;

function make(prefix: string, options = {}): RedisBackend {
  const port = file.redis.port;
  const b = createRedisBackend({ port, prefix, maxReconnectDelayMs: 50, ...options });
  return file.later(b, (x) => x.close());
}

const task = taskRecords('t');

describe('Redis backend: an outage of the server', () => {
  it('answers unavailable while the server is down, then resumes with nothing lost', async () => {
    const b = make('outage-1');
    await b.open();
    const tasks = Array.from({ length: 10 }, () => task());
    await b.enqueue(tasks);
    const held = await b.lease({ capability: 'cap', agentId: 'x', max: 3, now: T0 });
    const heard: string[] = [];
    b.onAvailable((cap) => heard.push(cap));

    await file.redis.stop();
    const calls = [
      b.enqueue([task()]),
      b.lease({ capability: 'cap', agentId: 'x', max: 1, now: T0 }),
      b.complete(held[0]!.id, held[0]!.leaseToken!, 'x', T0),
      b.get(tasks[0]!.id),
      b.stats(),
      b.nextAvailableAt(),
      b.expireLeases(T0),
    ];
    for (const settled of await Promise.allSettled(calls)) {
      expect(settled).toMatchObject({
        status: 'rejected',
        reason: { code: 'unavailable', retryable: true },
      });
    }

    await file.redis.restart();
    await vi.waitFor(() => b.stats(), { timeout: 5_000, interval: 20 });
    expect(await b.stats()).toMatchObject({ depth: 7, leased: 3 });
    // After the reconnection the process is told what is waiting (its pub/sub missed it).
    await vi.waitFor(() => expect(heard).toContain('cap'));
    for (const t of held) {
      expect(await b.complete(t.id, t.leaseToken!, 'done', T0 + 1)).toMatchObject({
        status: 'completed',
      });
    }
    const rest = await b.lease({ capability: 'cap', agentId: 'x', max: 10, now: T0 + 1 });
    expect(rest.map((t) => t.id)).toEqual(tasks.slice(3).map((t) => t.id));

    // Its subscription came back too: a task another process queues now wakes it.
    const other = make('outage-1');
    await other.open();
    heard.length = 0;
    await other.enqueue([task({ capability: 'late' })]);
    await vi.waitFor(() => expect(heard).toContain('late'), { timeout: 2_000, interval: 10 });
  });

  it('keeps what it acknowledged when the server is killed (appendfsync always)', async () => {
    const b = make('outage-2');
    await b.open();
    const acked: string[] = [];
    for (let i = 0; i < 50; i++) {
      const t = task({ idempotencyKey: `k-${i}` });
      await b.enqueue([t]);
      acked.push(t.id);
    }
    await file.redis.restart({ kill: true });
    await vi.waitFor(() => b.stats(), { timeout: 5_000, interval: 20 });
    const again = await b.enqueue(acked.map((_, i) => task({ idempotencyKey: `k-${i}` })));
    expect(again.every((r) => !r.created)).toBe(true);
    expect(again.map((r) => r.task.id)).toEqual(acked);
  });

  it('fails open() with unavailable when no server answers, and opens once one does', async () => {
    const port = await freePort();
    const b = createRedisBackend({ port, connectTimeoutMs: 200, maxReconnectDelayMs: 50 });
    file.later(b, (x) => x.close());
    await expect(b.open()).rejects.toMatchObject({ code: 'unavailable', retryable: true });
    await expect(b.stats()).rejects.toMatchObject({ code: 'unavailable' });
    const late = await startRedisServer({ port });
    try {
      await b.open();
      expect(await b.stats()).toMatchObject({ depth: 0 });
    } finally {
      await b.close();
      await late.dispose();
    }
  });

  it('sweeps expired leases itself when leaseSweepMs is set', async () => {
    const sweeper = make('outage-3', { leaseSweepMs: 10 });
    const other = make('outage-3');
    await Promise.all([sweeper.open(), other.open()]);
    await other.enqueue([task({ timeoutMs: 30 })]);
    const now = Date.now();
    const [t] = await other.lease({ capability: 'cap', agentId: 'gone', max: 1, now });
    await vi.waitFor(
      async () => expect(await other.get(t!.id)).toMatchObject({ status: 'queued', attempts: 1 }),
      { timeout: 2_000, interval: 10 },
    );
    expect((await other.get(t!.id))?.error).toMatchObject({ code: 'expired' });
  });
});
