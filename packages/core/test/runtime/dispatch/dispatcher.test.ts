import { afterEach, describe, expect, it } from 'vitest';
import { MemoryBackend } from '../../../src/backends/memory/index.js';
import type { AgentCandidate, LoadBalancer } from '../../../src/contracts/load-balancer.js';
import type { Priority } from '../../../src/model/priority.js';
import type { TaskRecord } from '../../../src/model/task.js';
import { Dispatcher } from '../../../src/runtime/dispatch/dispatcher.js';
import type { InFlight, PoolMember } from '../../../src/runtime/pool/pool-member.js';
import {
  type FakeEngineOptions,
  type Fakes,
  fakeEngine,
  inProcessMember,
  queuedTask,
  remoteMember,
} from '../fakes.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let f: Fakes;
let dispatcher: Dispatcher;

/** A dispatcher on fakes, not yet following its backend. */
function build(options: FakeEngineOptions = {}): void {
  f = fakeEngine(options);
  dispatcher = new Dispatcher(f.engine, 'holder');
  f.engine.dispatcher = dispatcher;
}

/** A dispatcher on fakes, woken by its backend. */
function start(options: FakeEngineOptions = {}): void {
  build(options);
  dispatcher.start();
}

afterEach(() => {
  dispatcher.stop();
});

/** Queues tasks of `capability`, one per priority given, in order. */
async function enqueue(capability: string, priorities: Priority[], availableAt?: number) {
  const now = f.engine.now();
  const tasks = priorities.map((priority) =>
    queuedTask(
      capability,
      now,
      availableAt === undefined ? { priority } : { priority, availableAt },
    ),
  );
  await f.backend.enqueue(tasks);
  return tasks;
}

/** Waits until the pumps that were asked for have run. */
async function settled(): Promise<void> {
  await sleep(0);
  await dispatcher.whenIdle();
}

/** What the runner was given: agent id and task id of each run, in order. */
function runs(): [string, string][] {
  return f.runner.calls.run.map(([member, entry]) => [member.id, entry.task.id]);
}

/** A remote agent's long-poll for up to `max` tasks, as RemoteAgents opens one. */
function poll(member: PoolMember, max: number): InFlight[] {
  const tasks: InFlight[] = [];
  member.waiter = {
    max,
    tasks,
    resolve: () => undefined,
    answerAfterPump: Number.POSITIVE_INFINITY,
    timer: undefined,
  };
  return tasks;
}

/** Ends a running in-process task as the runner does, and tells the dispatcher. */
function finish(entry: InFlight): void {
  const member = entry.member as PoolMember;
  entry.settled = true;
  member.running--;
  member.leases.delete(entry);
  dispatcher.freed(member);
}

/** The entry of the first lease the dispatcher added to the book. */
function heldEntry(): InFlight {
  const task = f.book.calls.add[0]?.[0] as TaskRecord;
  return f.book.inflight.get(task.id) as InFlight;
}

/** A balancer that always picks the agent `id`, busy or not. */
function pinTo(id: string): LoadBalancer {
  return {
    name: 'pin',
    select: (candidates: readonly AgentCandidate[]) => candidates.find((c) => c.id === id),
  };
}

describe('Dispatcher', () => {
  it('leases the ready tasks when woken and runs each on an agent with a free slot, in turn', async () => {
    start();
    const a = f.pool.add(await inProcessMember({ id: 'a', maxConcurrency: 2 }));
    const b = f.pool.add(await inProcessMember({ id: 'b', maxConcurrency: 2 }));
    const [t1, t2, t3] = (await enqueue('work', ['normal', 'normal', 'normal'])) as TaskRecord[];
    await settled();

    expect(runs()).toEqual([
      ['a', t1?.id],
      ['b', t2?.id],
      ['a', t3?.id],
    ]);
    expect([a.running, b.running]).toEqual([2, 1]);
    for (const [member, entry] of f.runner.calls.run) {
      expect(entry).toMatchObject({ stage: 'running', member, attempt: 1 });
      expect(entry.task.agentId).toBe(member.id);
      expect([...member.leases]).toContain(entry);
    }
    // Leased under the dispatcher's holder id, in one batch, with one token they share: only
    // in-process agents were there to take them.
    const entries = f.runner.calls.run.map(([, entry]) => entry);
    expect(new Set(entries.map((e) => e.token)).size).toBe(1);
    expect(entries.every((e) => e.shared)).toBe(true);
    expect(f.book.calls.add.map(([, stage]) => stage)).toEqual(['pending', 'pending', 'pending']);
    expect(await f.backend.stats()).toMatchObject({ depth: 0, leased: 3 });
  });

  it('leases no more tasks than the agents have free slots, and a freed slot takes the next', async () => {
    start();
    f.pool.add(await inProcessMember({ id: 'a', maxConcurrency: 2 }));
    const tasks = await enqueue('work', ['normal', 'normal', 'normal', 'normal', 'normal']);
    await settled();
    expect(runs().map(([, id]) => id)).toEqual(tasks.slice(0, 2).map((t) => t.id));
    expect(await f.backend.stats()).toMatchObject({ depth: 3, leased: 2 });

    finish(f.runner.calls.run[0]?.[1] as InFlight);
    await settled();
    expect(runs().map(([, id]) => id)).toEqual(tasks.slice(0, 3).map((t) => t.id));
    expect(await f.backend.stats()).toMatchObject({ depth: 2, leased: 3 });
  });

  it('runs the most urgent task first, and holds what a degraded agent sheds, leased, until it may take it', async () => {
    start();
    const a = f.pool.add(await inProcessMember({ id: 'a', maxConcurrency: 3 }));
    // Degraded to high and critical tasks only.
    a.minPriorityLevel = 1;
    const [low, normal, critical] = (await enqueue('work', ['low', 'normal', 'critical'])) as [
      TaskRecord,
      TaskRecord,
      TaskRecord,
    ];
    await settled();

    expect(runs()).toEqual([['a', critical.id]]);
    expect(dispatcher.heldByPriority()).toEqual({ critical: 0, high: 0, normal: 1, low: 1 });
    // Held, not handed back: handing back would count an attempt never made.
    expect(await f.backend.stats()).toMatchObject({ depth: 0, leased: 3 });
    expect(f.book.calls.release).toEqual([]);

    a.minPriorityLevel = 3;
    dispatcher.wake();
    await settled();
    expect(runs()).toEqual([
      ['a', critical.id],
      ['a', normal.id],
      ['a', low.id],
    ]);
    expect(dispatcher.heldByPriority()).toEqual({ critical: 0, high: 0, normal: 0, low: 0 });
    // The same leases: nothing was leased twice.
    expect(f.book.calls.add).toHaveLength(3);
    expect(f.runner.calls.run.map(([, e]) => e.attempt)).toEqual([1, 1, 1]);
  });

  it('gives a remote agent tasks only while it long-polls, no more than it asked for, each with a token of its own', async () => {
    start();
    const r = f.pool.add(remoteMember({ id: 'r', maxConcurrency: 3 }));
    await enqueue('work', ['normal', 'normal', 'normal']);
    await settled();
    expect(f.book.calls.add).toEqual([]);
    expect(await f.backend.stats()).toMatchObject({ depth: 3, leased: 0 });

    const answer = poll(r, 2);
    const flushes = f.remotes.calls.flush.length;
    dispatcher.wake();
    await settled();
    expect(answer).toHaveLength(2);
    for (const entry of answer) {
      expect(entry).toMatchObject({ stage: 'remote', member: r, shared: false });
      expect(entry.task.agentId).toBe('r');
    }
    expect(answer[0]?.token).not.toBe(answer[1]?.token);
    expect(r.running).toBe(2);
    expect(f.runner.calls.run).toEqual([]);
    // The long-polls are answered after the round.
    expect(f.remotes.calls.flush.length).toBeGreaterThan(flushes);
    expect(await f.backend.stats()).toMatchObject({ depth: 1, leased: 2 });
  });

  it('holds tasks no polling agent may take, and gives them first to a remote agent that may when it polls', async () => {
    start();
    f.engine.policies = new Map([['plan', 'delegated']]);
    const worker = f.pool.add(
      remoteMember({ id: 'worker', capabilities: ['plan'], maxConcurrency: 2 }),
    );
    poll(worker, 2);
    const tasks = await enqueue('plan', ['high', 'normal']);
    await settled();
    expect(dispatcher.heldByPriority()).toEqual({ critical: 0, high: 1, normal: 1, low: 0 });
    expect(worker.waiter?.tasks).toEqual([]);

    const coordinator = f.pool.add(
      remoteMember({
        id: 'coordinator',
        role: 'coordinator',
        capabilities: ['plan'],
        maxConcurrency: 2,
      }),
    );
    const answer = poll(coordinator, 2);
    dispatcher.wake();
    await settled();
    expect(answer.map((e) => e.task.id)).toEqual(tasks.map((t) => t.id));
    expect(dispatcher.heldByPriority()).toEqual({ critical: 0, high: 0, normal: 0, low: 0 });
    // Offered from the hold, not leased again.
    expect(f.book.calls.add).toHaveLength(2);
    expect(answer.map((e) => e.attempt)).toEqual([1, 1]);
  });

  it('hands back held tasks whose shared token only remote agents are left to take, to be leased again with tokens of their own', async () => {
    start();
    f.engine.policies = new Map([['plan', 'delegated']]);
    const local = f.pool.add(await inProcessMember({ id: 'local', capabilities: ['plan'] }));
    await enqueue('plan', ['normal']);
    await settled();
    expect(f.runner.calls.run).toEqual([]);
    expect(dispatcher.heldByPriority().normal).toBe(1);
    const entry = heldEntry();
    expect(entry.shared).toBe(true);
    // The book hands the lease back to the backend.
    f.book.releaseAnswer = (entries) =>
      f.backend.release(
        entries.map((e) => ({ id: e.task.id, leaseToken: e.token })),
        { message: 'handed back' },
        f.engine.now(),
      );

    f.pool.detach(local);
    const coordinator = f.pool.add(
      remoteMember({ id: 'coordinator', role: 'coordinator', capabilities: ['plan'] }),
    );
    const answer = poll(coordinator, 1);
    dispatcher.wake();
    await settled();
    await settled();

    expect(f.book.calls.release).toHaveLength(1);
    expect(f.book.calls.release[0]?.[0]).toEqual([entry]);
    expect(f.book.calls.release[0]?.[1]).toMatchObject({ code: 'released', retryable: true });
    expect(answer).toHaveLength(1);
    expect(answer[0]?.task.id).toBe(entry.task.id);
    expect(answer[0]?.shared).toBe(false);
    expect(answer[0]?.token).not.toBe(entry.token);
    expect(answer[0]?.attempt).toBe(2);
  });

  it('stages the tasks of a batching agent and flushes its batch once per round', async () => {
    start();
    const batcher = f.pool.add(await inProcessMember({ id: 'batcher', batchMax: 4 }));
    const tasks = await enqueue('work', ['normal', 'normal', 'normal']);
    await settled();
    expect(f.runner.calls.stage.map(([m, e]) => [m.id, e.task.id])).toEqual(
      tasks.map((t) => ['batcher', t.id]),
    );
    expect(f.runner.calls.flushBatch).toEqual([[batcher]]);
    expect(f.runner.calls.run).toEqual([]);
  });

  it('parks a task on the busy agent a pinning balancer picked, and starts it first when a slot frees, its lease renewed', async () => {
    let clock = 1_000_000;
    start({ now: () => clock, balancer: pinTo('a') });
    const a = f.pool.add(await inProcessMember({ id: 'a' }));
    f.pool.add(await inProcessMember({ id: 'b' }));
    const [first, second] = (await enqueue('work', ['normal', 'normal'])) as [
      TaskRecord,
      TaskRecord,
    ];
    await settled();

    expect(runs()).toEqual([['a', first.id]]);
    const parked = a.backlog[0] as InFlight;
    expect(parked.task.id).toBe(second.id);
    expect(parked.stage).toBe('parked');
    expect([...a.leases].map((e) => e.task.id)).toEqual([first.id, second.id]);

    clock += 5_000;
    finish(f.runner.calls.run[0]?.[1] as InFlight);
    // Started at once, before any round could lease something else.
    expect(runs()).toEqual([
      ['a', first.id],
      ['a', second.id],
    ]);
    expect(a.backlog).toEqual([]);
    await settled();
    expect(parked.expiresAt).toBe(clock + parked.task.timeoutMs);
    expect((await f.backend.get(second.id))?.leaseExpiresAt).toBe(clock + parked.task.timeoutMs);
  });

  it('renews the held leases that would expire before the horizon, and only those', async () => {
    let clock = 1_000_000;
    start({ now: () => clock });
    const a = f.pool.add(await inProcessMember({ id: 'a' }));
    a.minPriorityLevel = 0;
    await enqueue('work', ['low']);
    await settled();
    const entry = heldEntry();
    const leasedUntil = entry.expiresAt;
    expect(dispatcher.heldByPriority().low).toBe(1);

    clock += 10_000;
    await dispatcher.renewHeld(leasedUntil - 1);
    expect(entry.expiresAt).toBe(leasedUntil);
    await dispatcher.renewHeld(leasedUntil);
    expect(entry.expiresAt).toBe(clock + entry.task.timeoutMs);
    expect((await f.backend.get(entry.task.id))?.leaseExpiresAt).toBe(entry.expiresAt);
  });

  it('forgets a held task dropped by the book: it is not placed when an agent could take it', async () => {
    start();
    const a = f.pool.add(await inProcessMember({ id: 'a' }));
    a.minPriorityLevel = 0;
    await enqueue('work', ['normal']);
    await settled();
    const entry = heldEntry();
    expect(dispatcher.heldByPriority().normal).toBe(1);

    dispatcher.dropPending(entry);
    expect(dispatcher.heldByPriority().normal).toBe(0);
    a.minPriorityLevel = 3;
    dispatcher.wake();
    await settled();
    expect(f.runner.calls.run).toEqual([]);
    expect(dispatcher.stop()).toEqual([]);
  });

  it('stops: hands back the leases it held, and leases nothing more', async () => {
    start();
    const a = f.pool.add(await inProcessMember({ id: 'a', maxConcurrency: 2 }));
    a.minPriorityLevel = 0;
    await enqueue('work', ['normal', 'low']);
    await settled();
    const held = dispatcher.stop();
    expect(held.map((e) => e.task.priority).sort()).toEqual(['low', 'normal']);
    expect(dispatcher.heldByPriority()).toEqual({ critical: 0, high: 0, normal: 0, low: 0 });

    a.minPriorityLevel = 3;
    await enqueue('work', ['critical']);
    dispatcher.wake();
    await settled();
    expect(f.runner.calls.run).toEqual([]);
    expect(await f.backend.stats()).toMatchObject({ depth: 1, leased: 2 });
  });

  it('takes turns between capabilities, so that one with many tasks does not starve another', async () => {
    start();
    const a = f.pool.add(await inProcessMember({ id: 'a', capabilities: ['x', 'y'] }));
    const now = f.engine.now();
    await f.backend.enqueue(['x', 'x', 'y', 'y'].map((c) => queuedTask(c, now)));
    await settled();
    for (let i = 0; i < 3; i++) {
      finish(f.runner.calls.run.at(-1)?.[1] as InFlight);
      await settled();
    }
    const order = f.runner.calls.run.map(([, e]) => e.task.capability);
    expect(order).toHaveLength(4);
    expect(order[0]).not.toBe(order[1]);
    expect(order[1]).not.toBe(order[2]);
    expect(a.running).toBe(1);
  });

  it('follows the backend once started and until stopped: queued tasks wake it', async () => {
    build();
    f.pool.add(await inProcessMember({ id: 'a', maxConcurrency: 3 }));
    const [early] = (await enqueue('work', ['normal'])) as [TaskRecord];
    await settled();
    expect(dispatcher.pumps).toBe(0);

    dispatcher.start();
    const [next] = (await enqueue('work', ['normal'])) as [TaskRecord];
    await settled();
    expect(runs()).toEqual([
      ['a', early.id],
      ['a', next.id],
    ]);

    dispatcher.stop();
    await enqueue('work', ['normal']);
    await settled();
    expect(f.runner.calls.run).toHaveLength(2);
  });

  it('reports a backend that fails a round, and dispatches at the next wake', async () => {
    let failures = 1;
    class Flaky extends MemoryBackend {
      override readyCapabilities(now: number): Promise<string[]> {
        if (failures-- > 0) return Promise.reject(new Error('backend unreachable'));
        return super.readyCapabilities(now);
      }
    }
    start({ backend: new Flaky() });
    f.pool.add(await inProcessMember({ id: 'a' }));
    const [task] = (await enqueue('work', ['normal'])) as [TaskRecord];
    await settled();
    expect(f.errors).toEqual([expect.objectContaining({ message: 'backend unreachable' })]);
    expect(f.runner.calls.run).toEqual([]);

    dispatcher.wake();
    await settled();
    expect(runs()).toEqual([['a', task.id]]);
  });
});

describe('Dispatcher on the real clock', () => {
  const delayMs = 150;
  // How late a timer may fire on a loaded machine before the test calls it a failure.
  const lateMs = 200;

  it('dispatches a delayed task at its time, not before, though a later wake-up was asked first', async () => {
    start();
    f.pool.add(await inProcessMember({ id: 'a' }));
    dispatcher.wakeAt(Date.now() + 60_000);
    let ranAt = 0;
    const ran = new Promise<void>((resolve) => {
      f.runner.onRun = () => {
        ranAt = Date.now();
        resolve();
      };
    });
    const at = Date.now() + delayMs;
    const [task] = (await enqueue('work', ['normal'], at)) as [TaskRecord];
    dispatcher.wake();
    await settled();
    expect(f.runner.calls.run).toEqual([]);

    await ran;
    expect(runs()).toEqual([['a', task.id]]);
    expect(ranAt).toBeGreaterThanOrEqual(at);
    expect(ranAt - at).toBeLessThan(lateMs);
  });

  it('catches up when the agents run: what is ready goes now, a delayed task at its time', async () => {
    build();
    f.pool.add(await inProcessMember({ id: 'a', maxConcurrency: 2 }));
    const at = Date.now() + delayMs;
    const [ready] = (await enqueue('work', ['normal'])) as [TaskRecord];
    const [delayed] = (await enqueue('work', ['normal'], at)) as [TaskRecord];
    let delayedAt = 0;
    const ran = new Promise<void>((resolve) => {
      f.runner.onRun = (_member, entry) => {
        if (entry.task.id !== delayed.id) return;
        delayedAt = Date.now();
        resolve();
      };
    });

    await dispatcher.catchUp();
    await settled();
    expect(runs()).toEqual([['a', ready.id]]);
    await ran;
    expect(runs()).toEqual([
      ['a', ready.id],
      ['a', delayed.id],
    ]);
    expect(delayedAt).toBeGreaterThanOrEqual(at);
    expect(delayedAt - at).toBeLessThan(lateMs);
  });

  it('runs a round at the time it was asked to wake at, not before', async () => {
    const roundsAt: number[] = [];
    class Timed extends MemoryBackend {
      override readyCapabilities(now: number): Promise<string[]> {
        roundsAt.push(Date.now());
        return super.readyCapabilities(now);
      }
    }
    start({ backend: new Timed() });
    const at = Date.now() + delayMs;
    dispatcher.wakeAt(at);
    await sleep(delayMs / 2);
    expect(roundsAt).toEqual([]);
    await sleep(delayMs / 2 + lateMs);
    expect(roundsAt).toHaveLength(1);
    expect(roundsAt[0]).toBeGreaterThanOrEqual(at);
    expect((roundsAt[0] as number) - at).toBeLessThan(lateMs);
  });

  it('wakes no more once stopped', async () => {
    start();
    f.pool.add(await inProcessMember({ id: 'a' }));
    await enqueue('work', ['normal'], Date.now() + 50);
    dispatcher.wake();
    await settled();
    const pumps = dispatcher.pumps;
    dispatcher.stop();
    await sleep(120);
    expect(dispatcher.pumps).toBe(pumps);
    expect(f.runner.calls.run).toEqual([]);
  });
});
