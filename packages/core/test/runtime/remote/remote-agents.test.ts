import { afterEach, describe, expect, it } from 'vitest';
import { MemoryBackend } from '../../../src/backends/memory/index.js';
import type { SwitchboardError } from '../../../src/errors.js';
import type { TaskLease } from '../../../src/model/task.js';
import type { InFlight, PoolMember } from '../../../src/runtime/pool/pool-member.js';
import { RemoteAgents } from '../../../src/runtime/remote/remote-agents.js';
import type { RemoteAgentInput } from '../../../src/runtime/remote/remote-types.js';
import {
  type FakeEngineOptions,
  type Fakes,
  fakeEngine,
  inProcessMember,
  leasedTasks,
} from '../fakes.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let f: Fakes;
let remotes: RemoteAgents;
/** Leases the fake dispatcher hands to polling agents at its next round. */
let offered: InFlight[];

/**
 * Remote agents on fakes. The fake dispatcher's rounds hand the offered leases to the
 * agents that poll, up to their free slots, as the dispatcher does; then the polls that can
 * be are answered.
 */
function build(options: FakeEngineOptions = {}): void {
  f = fakeEngine(options);
  remotes = new RemoteAgents(f.engine);
  f.engine.remotes = remotes;
  offered = [];
  f.dispatcher.onPump = () => {
    for (const member of f.pool.members.values()) {
      while (member.freeSlots > 0 && offered.length > 0) {
        const entry = offered.shift() as InFlight;
        member.take(entry, f.engine.now());
        member.waiter?.tasks.push(entry);
      }
    }
  };
}

afterEach(() => {
  remotes.stop();
});

/** Leases `count` tasks to be handed out at the next dispatch round. */
async function offer(count: number): Promise<InFlight[]> {
  const tasks = await leasedTasks(f.backend, 'work', count, f.engine.now());
  const entries = tasks.map((task) => f.book.add(task, 'pending'));
  offered.push(...entries);
  return entries;
}

/** The lease an agent is given for `entry`. */
function leaseOf(entry: InFlight): TaskLease {
  return {
    id: entry.task.id,
    capability: 'work',
    payload: undefined,
    priority: 'normal',
    attempt: 1,
    leaseToken: entry.token,
    leaseExpiresAt: entry.expiresAt,
  };
}

/** The error `run` throws or rejects with (a poll may do either), or `undefined`. */
async function failure(run: () => unknown): Promise<SwitchboardError | undefined> {
  try {
    await run();
    return undefined;
  } catch (error) {
    return error as SwitchboardError;
  }
}

/** Polls and notes when the answer came, in ms since the poll. */
async function timedLease(
  id: string,
  options: Parameters<RemoteAgents['lease']>[1],
): Promise<{ leases: TaskLease[]; ms: number }> {
  const started = Date.now();
  const leases = await remotes.lease(id, options);
  return { leases, ms: Date.now() - started };
}

describe('RemoteAgents.register', () => {
  it('makes a remote member of the pool, tracked by the health monitor, and answers its view', () => {
    build({ now: () => 1_000, heartbeatIntervalMs: 2_000, heartbeatTimeoutMs: 6_000 });
    const view = remotes.register({
      id: 'crawler-1',
      name: 'crawler',
      role: 'gateway',
      capabilities: ['crawl', { name: 'render', version: '2.1' }],
      maxConcurrency: 3,
      metadata: { region: 'eu' },
    });
    expect(view).toEqual({
      id: 'crawler-1',
      name: 'crawler',
      role: 'gateway',
      state: 'ready',
      capabilities: [
        { name: 'crawl', type: 'crawl', version: '1' },
        { name: 'render', type: 'render', version: '2.1' },
      ],
      maxConcurrency: 3,
      activeTasks: 0,
      heartbeatIntervalMs: 2_000,
      heartbeatTimeoutMs: 6_000,
      registeredAt: 1_000,
      lastHeartbeatAt: 1_000,
      remote: true,
      version: '1',
      metadata: { region: 'eu' },
    });
    const member = f.pool.get('crawler-1') as PoolMember;
    expect(f.pool.calls.register).toEqual([[member]]);
    expect(member.remote).toBe(true);
    expect(f.monitor.has('crawler-1')).toBe(true);
    // No long-poll yet: it takes no work.
    expect(member.freeSlots).toBe(0);
  });

  it('names an agent by its id, a random one unless given, as a worker of one slot', () => {
    build();
    const view = remotes.register({ capabilities: ['work'] });
    expect(view.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(view).toMatchObject({ name: view.id, role: 'worker', maxConcurrency: 1, metadata: {} });
    expect(remotes.register({ capabilities: ['work'] }).id).not.toBe(view.id);
  });

  it.each([
    [null, ''],
    ['agent', ''],
    [{ name: '', capabilities: ['work'] }, 'name'],
    [{ name: 'n'.repeat(257), capabilities: ['work'] }, 'name'],
    [{ role: 'boss', capabilities: ['work'] }, 'role'],
    [{}, 'capabilities'],
    [{ capabilities: [] }, 'capabilities'],
    [{ capabilities: 'work' }, 'capabilities'],
    [{ capabilities: ['work', { name: '' }] }, 'capabilities.1'],
    [{ capabilities: [{ name: 'work', version: 'v2' }] }, 'capabilities.0'],
    [{ capabilities: ['work'], maxConcurrency: 0 }, 'maxConcurrency'],
    [{ capabilities: ['work'], maxConcurrency: 1.5 }, 'maxConcurrency'],
    [{ capabilities: ['work'], maxConcurrency: 100_001 }, 'maxConcurrency'],
    [{ capabilities: ['work'], id: '' }, 'id'],
    [{ capabilities: ['work'], id: 'i'.repeat(257) }, 'id'],
    [{ capabilities: ['work'], id: 42 }, 'id'],
  ])('refuses %j as invalid_request at %j, registering nothing', async (input, path) => {
    build();
    const error = await failure(() => remotes.register(input as unknown as RemoteAgentInput));
    expect(error?.code).toBe('invalid_request');
    expect(error?.details).toEqual([{ path, message: expect.any(String) }]);
    expect(error?.message.startsWith(`${path}: `)).toBe(true);
    expect(f.pool.members.size).toBe(0);
    expect(f.monitor.size).toBe(0);
  });

  it('refuses an id the pool knows, remote or in-process, as a conflict', async () => {
    build();
    remotes.register({ id: 'taken', capabilities: ['work'] });
    const local = f.pool.add(await inProcessMember({ id: 'local' }));
    for (const id of ['taken', local.id]) {
      const error = await failure(() => remotes.register({ id, capabilities: ['other'] }));
      expect(error?.code).toBe('conflict');
      expect(error?.details).toEqual({ agentId: id });
    }
    expect(f.pool.calls.register).toHaveLength(1);
    expect(f.pool.get('taken')?.capabilities.map((c) => c.name)).toEqual(['work']);
  });
});

describe('RemoteAgents.heartbeat', () => {
  it('records the metrics an agent reports and when it was last heard', () => {
    let clock = 1_000;
    build({ now: () => clock });
    remotes.register({ id: 'a', capabilities: ['work'] });
    clock += 700;
    const view = remotes.heartbeat('a', { cpuUsage: 0.5, memoryUsage: 0.25, queueSize: 4 });
    expect(view.lastHeartbeatAt).toBe(1_700);
    expect(f.monitor.metrics('a')).toMatchObject({
      cpuUsage: 0.5,
      memoryUsage: 0.25,
      queueSize: 4,
    });
    expect(f.pool.get('a')?.metrics).toMatchObject({ cpuUsage: 0.5 });
    expect(f.monitor.status('a')).toBe('healthy');
  });

  it('refuses metrics out of range, and the beat does not count', async () => {
    let clock = 1_000;
    build({ now: () => clock });
    remotes.register({ id: 'a', capabilities: ['work'] });
    clock += 700;
    const error = await failure(() => remotes.heartbeat('a', { cpuUsage: -1 }));
    expect(error?.code).toBe('invalid_request');
    expect(remotes.view(f.pool.get('a') as PoolMember).lastHeartbeatAt).toBe(1_000);
  });

  it('answers not_found for an agent it does not know, one that left, and an in-process one', async () => {
    build();
    remotes.register({ id: 'gone', capabilities: ['work'] });
    f.pool.detach(f.pool.get('gone') as PoolMember);
    const local = f.pool.add(await inProcessMember({ id: 'local' }));
    for (const id of ['nobody', 'gone', local.id]) {
      const error = await failure(() => remotes.heartbeat(id));
      expect(error?.code).toBe('not_found');
      expect(error?.details).toEqual({ agentId: id });
    }
  });
});

describe('RemoteAgents.lease', () => {
  it.each([
    [{ max: 0 }, 'max'],
    [{ max: 1_001 }, 'max'],
    [{ max: 1.5 }, 'max'],
    [{ waitMs: -1 }, 'waitMs'],
    [{ waitMs: 30_001 }, 'waitMs'],
    [{ waitMs: 0.5 }, 'waitMs'],
  ])('refuses %j as invalid_request at %s', async (options, path) => {
    build();
    remotes.register({ id: 'a', capabilities: ['work'] });
    const error = await failure(() => remotes.lease('a', options));
    expect(error?.code).toBe('invalid_request');
    expect(error?.details).toEqual([{ path, message: expect.any(String) }]);
    expect(f.pool.get('a')?.waiter).toBeUndefined();
  });

  it('answers not_found for an agent it does not know', async () => {
    build();
    expect((await failure(() => remotes.lease('nobody', { waitMs: 1_000 })))?.code).toBe(
      'not_found',
    );
  });

  it('answers at once with the tasks ready, as many as asked for and the agent has free slots', async () => {
    build();
    remotes.register({ id: 'a', capabilities: ['work'], maxConcurrency: 2 });
    const entries = await offer(3);
    const { leases, ms } = await timedLease('a', { max: 5, waitMs: 10_000 });
    expect(leases).toEqual(entries.slice(0, 2).map(leaseOf));
    expect(ms).toBeLessThan(1_000);
    expect(f.dispatcher.calls.freed).toEqual([[f.pool.get('a')]]);
    expect(remotes.view(f.pool.get('a') as PoolMember).activeTasks).toBe(2);

    // Its slots are full: the next poll gets nothing, after the next round.
    expect(await remotes.lease('a', { max: 5 })).toEqual([]);
  });

  it('answers with no more than `max` tasks', async () => {
    build();
    remotes.register({ id: 'a', capabilities: ['work'], maxConcurrency: 5 });
    const [first] = (await offer(3)) as [InFlight];
    expect(await remotes.lease('a', { max: 1, waitMs: 5_000 })).toEqual([leaseOf(first)]);
    expect(offered).toHaveLength(2);
  });

  it('without a wait, answers after the next dispatch round, empty when it found nothing', async () => {
    build();
    remotes.register({ id: 'a', capabilities: ['work'] });
    const pumps = f.dispatcher.pumps;
    expect(await remotes.lease('a')).toEqual([]);
    expect(f.dispatcher.pumps).toBe(pumps + 1);
    const [entry] = (await offer(1)) as [InFlight];
    expect(await remotes.lease('a')).toEqual([leaseOf(entry)]);
  });

  it('waits up to waitMs for a task, then answers empty', async () => {
    build();
    remotes.register({ id: 'a', capabilities: ['work'] });
    const { leases, ms } = await timedLease('a', { waitMs: 150 });
    expect(leases).toEqual([]);
    expect(ms).toBeGreaterThanOrEqual(150);
    expect(ms).toBeLessThan(150 + 250);
    // The poll is over: the agent takes no work until it polls again.
    expect(f.pool.get('a')?.freeSlots).toBe(0);
  });

  it('answers as soon as a task arrives while it waits', async () => {
    build();
    remotes.register({ id: 'a', capabilities: ['work'] });
    const poll = timedLease('a', { waitMs: 10_000 });
    await sleep(60);
    const [entry] = (await offer(1)) as [InFlight];
    f.dispatcher.wake();
    const { leases, ms } = await poll;
    expect(leases).toEqual([leaseOf(entry)]);
    expect(ms).toBeGreaterThanOrEqual(55);
    expect(ms).toBeLessThan(1_000);
  });

  it('ends with no task when the poll is aborted', async () => {
    build();
    remotes.register({ id: 'a', capabilities: ['work'] });
    const abort = new AbortController();
    const poll = timedLease('a', { waitMs: 10_000, signal: abort.signal });
    await sleep(30);
    abort.abort();
    const { leases, ms } = await poll;
    expect(leases).toEqual([]);
    expect(ms).toBeLessThan(1_000);
    expect(f.pool.get('a')?.waiter).toBeUndefined();
  });

  it('answers no task at once, and takes none, when the poll is aborted before it starts (the client went away while its body was read)', async () => {
    build();
    remotes.register({ id: 'a', capabilities: ['work'] });
    await offer(1);
    const abort = new AbortController();
    abort.abort();
    const { leases, ms } = await timedLease('a', { waitMs: 10_000, signal: abort.signal });
    expect(leases).toEqual([]);
    expect(ms).toBeLessThan(1_000);
    expect(f.pool.get('a')?.waiter).toBeUndefined();
    expect(f.pool.get('a')?.running).toBe(0);
  });

  it('ends the previous poll of the agent with no task; aborting that one leaves the new one waiting', async () => {
    build();
    remotes.register({ id: 'a', capabilities: ['work'] });
    const abort = new AbortController();
    const first = remotes.lease('a', { waitMs: 10_000, signal: abort.signal });
    const second = remotes.lease('a', { waitMs: 10_000 });
    expect(await first).toEqual([]);
    abort.abort();
    const [entry] = (await offer(1)) as [InFlight];
    f.dispatcher.wake();
    expect(await second).toEqual([leaseOf(entry)]);
  });

  it('keeps the agent alive while its poll waits, though the poll outlasts the heartbeat timeout', async () => {
    build({ heartbeatIntervalMs: 25, heartbeatTimeoutMs: 120 });
    remotes.register({ id: 'polling', capabilities: ['work'] });
    remotes.register({ id: 'silent', capabilities: ['work'] });
    const registeredAt = Date.now();
    const poll = remotes.lease('polling', { waitMs: 400 });
    await sleep(300);
    f.monitor.sweep();
    expect(f.healthFailures.map((h) => [h.agentId, h.reason])).toEqual([
      ['silent', 'heartbeat_timeout'],
    ]);
    expect(f.pool.get('polling')?.lastHeartbeatAt).toBeGreaterThan(registeredAt + 150);
    expect(await poll).toEqual([]);
  });

  it('tells the backend which leases the agent holds before answering', async () => {
    const handedOff: { leases: unknown; agentId: string }[] = [];
    class Durable extends MemoryBackend {
      handOff(leases: readonly { id: string; leaseToken: string }[], agentId: string) {
        handedOff.push({ leases, agentId });
        return Promise.resolve();
      }
    }
    build({ backend: new Durable() });
    remotes.register({ id: 'a', capabilities: ['work'], maxConcurrency: 2 });
    const entries = await offer(2);
    expect(await remotes.lease('a', { max: 2, waitMs: 1_000 })).toEqual(entries.map(leaseOf));
    expect(handedOff).toEqual([
      { leases: entries.map((e) => ({ id: e.task.id, leaseToken: e.token })), agentId: 'a' },
    ]);
  });

  it('gives the leases back and fails the poll when the backend cannot take them', async () => {
    const refused = new Error('journal full');
    class Full extends MemoryBackend {
      handOff() {
        return Promise.reject(refused);
      }
    }
    build({ backend: new Full() });
    remotes.register({ id: 'a', capabilities: ['work'] });
    const entries = await offer(1);
    await expect(remotes.lease('a', { waitMs: 1_000 })).rejects.toBe(refused);
    expect(f.book.calls.release).toEqual([
      [entries, { message: 'lease not handed off', code: 'unavailable', retryable: true }],
    ]);
  });

  it('ends every poll at stop, and an agent’s poll when it is dismissed', async () => {
    build();
    remotes.register({ id: 'a', capabilities: ['work'] });
    remotes.register({ id: 'b', capabilities: ['work'] });
    remotes.register({ id: 'c', capabilities: ['work'] });
    const polls = ['a', 'b'].map((id) => remotes.lease(id, { waitMs: 10_000 }));
    const dismissed = remotes.lease('c', { waitMs: 10_000 });
    remotes.dismiss(f.pool.get('c') as PoolMember);
    expect(await dismissed).toEqual([]);
    remotes.stop();
    expect(await Promise.all(polls)).toEqual([[], []]);
  });
});

describe('RemoteAgents.leave', () => {
  it('takes the agent out, ends its poll, and gives its leases back to the queue at once', async () => {
    build();
    remotes.register({ id: 'a', capabilities: ['work'], maxConcurrency: 2 });
    const member = f.pool.get('a') as PoolMember;
    const entries = await offer(1);
    expect(await remotes.lease('a', { waitMs: 1_000 })).toHaveLength(1);
    const poll = remotes.lease('a', { waitMs: 10_000 });
    const wakes = f.dispatcher.calls.wake.length;

    await remotes.leave('a');
    expect(await poll).toEqual([]);
    expect(member.gone).toBe(true);
    expect(remotes.view(member).state).toBe('shutdown');
    expect(f.book.calls.release).toEqual([
      [entries, { message: 'agent a left', code: 'unavailable', retryable: true }],
    ]);
    expect(f.dispatcher.calls.wake.length).toBeGreaterThan(wakes);
    expect((await failure(() => remotes.heartbeat('a')))?.code).toBe('not_found');
  });

  it('answers not_found for an agent it does not know', async () => {
    build();
    expect((await failure(() => remotes.leave('nobody')))?.code).toBe('not_found');
  });
});

describe('RemoteAgents.view', () => {
  it('shows an in-process agent with its own heartbeat settings, a remote one with the engine’s', async () => {
    build({ heartbeatIntervalMs: 100, heartbeatTimeoutMs: 300 });
    const local = f.pool.add(await inProcessMember({ id: 'local', maxConcurrency: 2 }));
    local.running = 1;
    expect(remotes.view(local)).toMatchObject({
      id: 'local',
      remote: false,
      state: 'ready',
      maxConcurrency: 2,
      activeTasks: 1,
      heartbeatIntervalMs: 5_000,
      heartbeatTimeoutMs: 15_000,
    });
    const view = remotes.register({ id: 'far', capabilities: ['work'] });
    expect(view).toMatchObject({ remote: true, heartbeatIntervalMs: 100, heartbeatTimeoutMs: 300 });
  });
});
