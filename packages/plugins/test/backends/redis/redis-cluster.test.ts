import { type BusEvent, createSwitchboard, defineAgent, type Switchboard } from '@switchboard/core';
import { createRedisBackend, type RedisBackend } from '@switchboard/plugins/redis';
import { beforeEach, describe, expect, it } from 'vitest';
import { redisFile } from './redis-fixture.js';

// Two Switchboards on two backends of one real server stand for two processes: each has its
// own connections, and they share only Redis (state, directory, pub/sub).
const file = redisFile();

const HEARTBEAT = { heartbeatIntervalMs: 40, heartbeatTimeoutMs: 200 };
async function cluster(n: number): Promise<Switchboard[]> {
  const list = Array.from({ length: n }, () =>
    createSwitchboard({
      backend: createRedisBackend({ port: file.redis.port, prefix: 'cluster' }),
      healthSweepIntervalMs: 10,
      ...HEARTBEAT,
    }),
  );
  for (const sb of list) file.later(sb, (x) => x.shutdown({ drain: false }));
  await Promise.all(list.map((sb) => sb.start()));
  return list;
}

/** Polls `check` until it holds (cross-process news travels over pub/sub). */
async function until(check: () => boolean | Promise<boolean>, ms = 2_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeEach(async () => {
  await file.admin.flushall();
});

describe('Redis cluster: the agent registry', () => {
  it('lets an agent registered on A heartbeat, lease, complete and leave through B', async () => {
    const [a, b] = (await cluster(2)) as [Switchboard, Switchboard];
    const agent = a.registerRemote({ name: 'w', capabilities: ['job'], maxConcurrency: 2 });
    await until(() => b.listAgents().some((x) => x.id === agent.id));
    expect(b.getAgent(agent.id)).toMatchObject({ name: 'w', maxConcurrency: 2, remote: true });
    expect(b.heartbeat(agent.id).id).toBe(agent.id);

    const handle = await a.submit({ capability: 'job', payload: 21 });
    const [lease] = await b.lease(agent.id, { max: 1, waitMs: 1_000 });
    expect(lease?.id).toBe(handle.id);
    await b.complete(handle.id, lease!.leaseToken, 42);
    // The submitter on A hears the end of a task completed through B.
    await expect(handle.result).resolves.toBe(42);

    await b.leave(agent.id);
    await until(() => !a.listAgents().some((x) => x.id === agent.id));
    expect(() => a.heartbeat(agent.id)).toThrow(/register again/);
  });

  it('adopts on a lease poll an agent the mirror has not heard of yet (the directory knows)', async () => {
    const [a, b] = (await cluster(2)) as [Switchboard, Switchboard];
    const agent = a.registerRemote({ name: 'w', capabilities: ['job'] });
    await until(async () => (await file.admin.exists('{cluster}:ag:' + agent.id)) === 1);
    const polls = await b.lease(agent.id, { max: 1, waitMs: 0 });
    expect(polls).toEqual([]);
    expect(b.getAgent(agent.id).activeTasks).toBe(0);
    await expect(b.lease('nobody', { waitMs: 0 })).rejects.toThrow(/register again/);
  });

  it('refuses a second registration of a live id made through another process', async () => {
    const [a, b] = (await cluster(2)) as [Switchboard, Switchboard];
    a.registerRemote({ name: 'w', capabilities: ['job'], id: 'fixed' });
    await until(() => b.listAgents().some((x) => x.id === 'fixed'));
    expect(() => b.registerRemote({ name: 'x', capabilities: ['job'], id: 'fixed' })).toThrow(
      /already registered/,
    );
  });

  it('lets the process that handed a lease out go of it when it is answered elsewhere', async () => {
    const [a, b] = (await cluster(2)) as [Switchboard, Switchboard];
    const agent = a.registerRemote({ name: 'w', capabilities: ['job'], maxConcurrency: 1 });
    const first = await a.submit({ capability: 'job', payload: 1 });
    const [l1] = await a.lease(agent.id, { waitMs: 1_000 });
    expect(a.getAgent(agent.id).activeTasks).toBe(1);
    const extended = await b.extend(first.id, l1!.leaseToken, 60_000);
    expect(extended.leaseExpiresAt).toBeGreaterThan(Date.now() + 50_000);
    await b.complete(first.id, l1!.leaseToken, 'done');
    // A frees the slot: the agent (concurrency 1) gets the next task through A.
    await until(() => a.getAgent(agent.id).activeTasks === 0);
    const second = await a.submit({ capability: 'job', payload: 2 });
    const [l2] = await a.lease(agent.id, { waitMs: 1_000 });
    expect(l2?.id).toBe(second.id);
    await expect(b.complete(first.id, l1!.leaseToken, 'again')).rejects.toMatchObject({
      code: 'conflict',
    });
  });
});

describe('Redis cluster: failover', () => {
  it('does not fail over on A an agent that moved to B, and fails a dead one over once', async () => {
    const [a, b] = (await cluster(2)) as [Switchboard, Switchboard];
    const failed: BusEvent[] = [];
    a.events.subscribe('agent.failed', (e) => {
      if (e.origin === undefined) failed.push(e);
    });
    b.events.subscribe('agent.failed', (e) => {
      if (e.origin === undefined) failed.push(e);
    });
    const agent = a.registerRemote({ name: 'w', capabilities: ['job'], maxConcurrency: 2 });
    const t1 = await a.submit({ capability: 'job' });
    const [lease] = await a.lease(agent.id, { waitMs: 1_000 });
    // From now on it talks to B only, for three heartbeat timeouts.
    for (let i = 0; i < 15; i++) {
      b.heartbeat(agent.id);
      await sleep(40);
    }
    expect(failed).toEqual([]);
    expect((await a.get(t1.id)).status).toBe('leased');
    await b.complete(t1.id, lease!.leaseToken, 'ok');

    // Then it dies holding a lease from B: failed over once, its task leased again.
    const t2 = await a.submit({ capability: 'job' });
    const [held] = await b.lease(agent.id, { waitMs: 1_000 });
    expect(held?.id).toBe(t2.id);
    await until(() => failed.length > 0, 3_000);
    await sleep(300);
    expect(failed).toHaveLength(1);
    await until(async () => (await a.get(t2.id)).status === 'queued');
    expect((await a.get(t2.id)).attempts).toBe(1);
    expect(a.listAgents()).toEqual([]);
    expect(b.listAgents()).toEqual([]);
    expect(() => b.heartbeat(agent.id)).toThrow(/register again/);
  });
});

describe('Redis cluster: processes', () => {
  /** The directory's records: agents and processes alike. */
  const records = async () => (await file.admin.keys('{cluster}:ag:*')).length;

  it('keeps a record of each live process, never listed as an agent, until it stops', async () => {
    const [a, b] = (await cluster(2)) as [Switchboard, Switchboard];
    expect(await records()).toBe(2);
    expect(a.listAgents()).toEqual([]);
    expect(b.listAgents()).toEqual([]);
    // Their ids are taken: no agent may register under one (its leases would be the agent's).
    const ids = (await file.admin.keys('{cluster}:ag:*')).map((k) => k.split(':ag:')[1]);
    await sleep(3 * HEARTBEAT.heartbeatIntervalMs);
    for (const sb of [a, b]) {
      for (const id of ids) {
        expect(() => sb.registerRemote({ capabilities: ['job'], id })).toThrow(
          /already registered/,
        );
      }
    }
    // A graceful stop says so: nothing is left for the others to wait on.
    await a.shutdown();
    expect(await records()).toBe(1);
    // B heartbeats its own record: it is still there three heartbeat timeouts later.
    await sleep(3 * HEARTBEAT.heartbeatTimeoutMs);
    expect(await records()).toBe(1);
    expect(b.listAgents()).toEqual([]);
  });

  it('runs the tasks a process held for its own handlers once that process falls silent', async () => {
    const [submitter] = (await cluster(1)) as [Switchboard];
    // A process whose in-process agent holds every task it gets, and whose connections to
    // Redis then drop as a dead process's do.
    const holding = defineAgent({
      name: 'holding',
      capabilities: ['job'],
      config: { maxConcurrency: 2 },
      handle: () => new Promise(() => {}),
    });
    const dying = createSwitchboard({
      backend: createRedisBackend({ port: file.redis.port, prefix: 'cluster' }),
      agents: [holding],
      onError: () => undefined,
      ...HEARTBEAT,
    });
    file.later(dying, (x) => x.shutdown({ drain: false }));
    await dying.start();
    const handles = await submitter.submitMany([
      { capability: 'job', timeoutMs: 60_000 },
      { capability: 'job', timeoutMs: 60_000 },
    ]);
    const leased = async () =>
      (await Promise.all(handles.map((h) => submitter.get(h.id)))).every(
        (t) => t.status === 'leased',
      );
    await until(leased);
    await dying.backend.close();
    const silentAt = Date.now();
    const ran: number[] = [];
    const quick = defineAgent({
      name: 'quick',
      capabilities: ['job'],
      handle: () => {
        ran.push(Date.now());
        return 'ok';
      },
    });
    const live = createSwitchboard({
      backend: createRedisBackend({ port: file.redis.port, prefix: 'cluster' }),
      agents: [quick],
      ...HEARTBEAT,
    });
    file.later(live, (x) => x.shutdown({ drain: false }));
    await live.start();
    await expect(Promise.all(handles.map((h) => h.result))).resolves.toEqual(['ok', 'ok']);
    // Within its heartbeat timeout (and the directory's write granularity), not at the
    // leases' expiry; the attempt that died with it counted.
    expect(Math.max(...ran) - silentAt).toBeLessThanOrEqual(HEARTBEAT.heartbeatTimeoutMs + 250);
    for (const h of handles) expect((await submitter.get(h.id)).attempts).toBe(2);
  });
});

describe('Redis cluster: events', () => {
  it('delivers each event to subscribers of every process exactly once', async () => {
    const [a, b, c] = (await cluster(3)) as [Switchboard, Switchboard, Switchboard];
    const seen = { a: [] as BusEvent[], b: [] as BusEvent[], c: [] as BusEvent[] };
    a.events.subscribe('task.*', (e) => {
      seen.a.push(e);
    });
    b.events.subscribe('task.*', (e) => {
      seen.b.push(e);
    });
    b.events.subscribe('user.**', (e) => {
      seen.b.push(e);
    });
    // Interest travels over pub/sub: A and C learn that B listens.
    await until(() => a.events.hasSubscribers('task.queued') && c.events.hasSubscribers('user.x'));
    const handle = await a.submit({ capability: 'nobody' });
    await a.cancel(handle.id);
    c.events.publish('user.hello', { n: 1 });
    await until(() => seen.b.length >= 3);
    await sleep(100);
    const topics = (list: BusEvent[]) => list.map((e) => `${e.topic}:${e.taskId ?? e.n}`);
    expect(topics(seen.a)).toEqual([`task.queued:${handle.id}`, `task.cancelled:${handle.id}`]);
    // In order per process of origin; A's and C's messages may interleave either way.
    expect(topics(seen.b).filter((t) => t.startsWith('task.'))).toEqual([
      `task.queued:${handle.id}`,
      `task.cancelled:${handle.id}`,
    ]);
    expect(topics(seen.b).filter((t) => !t.startsWith('task.'))).toEqual(['user.hello:1']);
    expect(seen.a.every((e) => e.origin === undefined)).toBe(true);
    expect(seen.b.every((e) => typeof e.origin === 'string')).toBe(true);
    expect(seen.c).toEqual([]);
  });

  it('stops forwarding a topic once the last subscriber elsewhere has gone', async () => {
    const [a, b] = (await cluster(2)) as [Switchboard, Switchboard];
    const off = b.events.subscribe('task.queued', () => undefined);
    await until(() => a.events.hasSubscribers('task.queued'));
    off();
    await until(() => !a.events.hasSubscribers('task.queued'));
  });
});

describe('Redis cluster: connections', () => {
  it('keeps two connections per process with the registry and the events on', async () => {
    const before = await clients();
    const [a, b] = (await cluster(2)) as [Switchboard, Switchboard];
    b.events.subscribe('**', () => undefined);
    const agent = a.registerRemote({ name: 'w', capabilities: ['job'] });
    for (let i = 0; i < 20; i++) await a.submit({ capability: 'job' });
    await b.lease(agent.id, { max: 20, waitMs: 500 });
    expect((await clients()) - before).toBe(4);
  });
});

async function clients(): Promise<number> {
  const list = (await file.admin.client('LIST')) as string;
  return list.split('\n').filter((l) => l.includes('name=switchboard-')).length;
}

export type { RedisBackend };
