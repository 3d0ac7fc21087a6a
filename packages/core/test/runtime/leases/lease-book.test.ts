import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { RecoveryStrategy } from '../../../src/contracts/recovery.js';
import { SwitchboardError } from '../../../src/errors.js';
import type { BusEvent } from '../../../src/events/event-bus.js';
import type { TaskRecord } from '../../../src/model/task.js';
import { RunContext } from '../../../src/runtime/dispatch/task-context.js';
import { resolveBackoff } from '../../../src/runtime/leases/backoff.js';
import { LeaseBook } from '../../../src/runtime/leases/lease-book.js';
import type { InFlight, PoolMember } from '../../../src/runtime/pool/pool-member.js';
import { type Fakes, fakeEngine, inProcessMember, leasedTasks, remoteMember } from '../fakes.js';

/** A recovery strategy that gives every failed agent up and records each task outcome. */
class RecordingRecovery implements RecoveryStrategy {
  readonly name = 'recording';
  readonly outcomes: { agentId: string; ok: boolean; now: number }[] = [];

  onAgentFailure() {
    return { action: 'give_up', reason: 'recording recovery' } as const;
  }

  onTaskOutcome(agentId: string, ok: boolean, now: number): void {
    this.outcomes.push({ agentId, ok, now });
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** An event's data, as its publisher gave it. */
function data(event: BusEvent): Record<string, unknown> {
  const { topic: _topic, at: _at, ...rest } = event;
  return rest;
}

/** The signal a handler of `entry` reads from its context. */
function signalOf(entry: InFlight): AbortSignal {
  const submit = () => Promise.reject(new Error('no submit here'));
  return new RunContext(entry, entry.member?.id ?? '', { submit, reports: f.engine }).signal;
}

let f: Fakes;
let recovery: RecordingRecovery;
let book: LeaseBook;

/** A lease book over fakes of its roles, on the clock `now`. */
function setUp(options: { now?: () => number; hungGraceMs?: number } = {}): void {
  recovery = new RecordingRecovery();
  f = fakeEngine({ ...options, recovery });
  book = new LeaseBook(f.engine);
  f.engine.book = book;
}

/** The events of `topic`, as published. */
function collect(topic: string): Record<string, unknown>[] {
  const seen: Record<string, unknown>[] = [];
  f.events.subscribe(topic, (event) => {
    seen.push(data(event));
  });
  return seen;
}

/** Resolves with the first event of `topic`. */
function next(topic: string): Promise<Record<string, unknown>> {
  return new Promise((resolve) => {
    f.events.once(topic, (event) => {
      resolve(data(event));
    });
  });
}

/** Resolves with the record the tracker gives the task's submitter once it ended. */
function ended(id: string): Promise<TaskRecord> {
  return new Promise((resolve, reject) => f.tracker.wait(id, { resolve, reject }));
}

/** A remote member in a long-poll for up to `max` tasks. */
function polling(max: number): PoolMember {
  const member = remoteMember({ maxConcurrency: max });
  member.waiter = {
    max,
    tasks: [],
    resolve: () => undefined,
    answerAfterPump: Number.POSITIVE_INFINITY,
    timer: undefined,
  };
  return member;
}

afterEach(async () => {
  book.stop();
  await f.backend.close();
});

describe('LeaseBook, on a clock of its own', () => {
  let clock: number;

  beforeEach(() => {
    clock = 1_000_000;
    setUp({ now: () => clock });
    f.engine.backoff = resolveBackoff({
      initialDelayMs: 100,
      maxDelayMs: 1_000,
      factor: 2,
      jitter: 0.5,
    });
    f.engine.random = () => 0.5;
  });

  /** Leases `count` new tasks and adds them to the book, as the dispatcher does. */
  async function lease(count: number, maxAttempts = 3): Promise<InFlight[]> {
    const tasks = await leasedTasks(f.backend, 'work', count, clock, {
      maxAttempts,
      timeoutMs: 60_000,
    });
    return tasks.map((task) => book.add(task, 'pending'));
  }

  /** An in-process member whose health the monitor tracks, as the pool spawns one. */
  async function member(): Promise<PoolMember> {
    const m = await inProcessMember({ maxConcurrency: 4, registeredAt: clock });
    f.monitor.track(m.id, { heartbeatIntervalMs: 1_000, heartbeatTimeoutMs: 5_000 });
    return m;
  }

  /** Leases `count` tasks and starts them on `m`, as the dispatcher does. */
  async function running(m: PoolMember, count: number, maxAttempts = 3): Promise<InFlight[]> {
    const entries = await lease(count, maxAttempts);
    for (const entry of entries) m.take(entry, clock);
    return entries;
  }

  describe('add and current', () => {
    it('holds a lease as the backend gave it, until a later lease of the same task supersedes it', async () => {
      const [first] = (await lease(1)) as [InFlight];
      const task = first.task;
      expect(first).toMatchObject({
        token: task.leaseToken,
        attempt: 1,
        expiresAt: clock + 60_000,
        stage: 'pending',
        member: undefined,
      });
      expect(book.current(first)).toBe(true);
      expect(book.inflight.get(task.id)).toBe(first);

      // The backend expired the first lease behind the book's back and leased the task again.
      clock += 60_000;
      await f.backend.expireLeases(clock);
      const [again] = await f.backend.lease({
        capability: 'work',
        agentId: 'fake-dispatcher',
        max: 1,
        now: clock,
      });
      const second = book.add(again as TaskRecord, 'pending');
      expect(book.current(first)).toBe(false);
      expect(book.current(second)).toBe(true);
      expect(book.inflight.get(task.id)).toBe(second);
      // Each entry keeps what identified its own lease, though the record moved on.
      expect([first.attempt, second.attempt]).toEqual([1, 2]);
      expect(first.token).not.toBe(second.token);
    });
  });

  describe('detach', () => {
    it('leaves a running handler its slot, marks it abandoned and aborts its signal with the reason', async () => {
      const m = await member();
      const [timedOut, cancelled] = (await running(m, 2)) as [InFlight, InFlight];
      const signal = signalOf(timedOut);
      const reason = new SwitchboardError('timeout', 'attempt timed out');

      book.detach(timedOut, reason);
      book.detach(cancelled);

      expect(book.current(timedOut)).toBe(false);
      expect(book.inflight.get(timedOut.task.id)).toBeUndefined();
      expect(m.leases.size).toBe(0);
      expect(m.running).toBe(2);
      expect(m.abandoned).toBe(2);
      expect(signal.aborted).toBe(true);
      expect(signal.reason).toBe(reason);
      // Its handler had not read its signal yet: a first read still sees it aborted, and why.
      expect(signalOf(cancelled).aborted).toBe(true);
      expect(signalOf(cancelled).reason).toMatchObject({ code: 'cancelled' });
      // Detached again, it is not counted twice.
      book.detach(timedOut, reason);
      expect(m.abandoned).toBe(2);
    });

    it('frees the slot of a settled handler without abandoning it', async () => {
      const m = await member();
      const [entry] = (await running(m, 1)) as [InFlight];
      m.settle(entry);
      book.detach(entry);
      expect(m.abandoned).toBe(0);
      expect(entry.controller).toBeUndefined();
      expect(m.idle).toBe(true);
    });

    it('frees a remote slot and takes the lease out of the long-poll, then wakes those waiting for the agent to be idle', async () => {
      const remote = polling(2);
      const [kept, dropped] = (await running(remote, 2)) as [InFlight, InFlight];
      remote.waiter?.tasks.push(kept, dropped);
      let idle = false;
      void remote.whenIdle().then(() => {
        idle = true;
      });

      book.detach(dropped);
      expect(remote.running).toBe(1);
      expect(remote.waiter?.tasks).toEqual([kept]);
      book.detach(kept);
      expect(remote.running).toBe(0);
      expect(remote.waiter?.tasks).toEqual([]);
      await Promise.resolve();
      expect(idle).toBe(true);
    });

    it('frees a remote slot once when the same lease is detached twice (a release racing a cancel)', async () => {
      const remote = polling(2);
      const [kept, dropped] = (await running(remote, 2)) as [InFlight, InFlight];
      book.detach(dropped);
      book.detach(dropped);
      expect(remote.running).toBe(1);
      expect([...remote.leases]).toEqual([kept]);
      expect(remote.freeSlots).toBeLessThanOrEqual(1);
    });

    it("takes a parked lease out of its agent's backlog", async () => {
      const m = await member();
      const [other, parked] = (await lease(2)) as [InFlight, InFlight];
      m.park(other);
      m.park(parked);
      book.detach(parked);
      expect(m.backlog).toEqual([other]);
      expect([...m.leases]).toEqual([other]);
      expect(f.dispatcher.calls.dropPending).toEqual([]);
    });

    it('has the dispatcher forget a lease it held for want of an agent', async () => {
      const [pending] = (await lease(1)) as [InFlight];
      book.detach(pending);
      expect(f.dispatcher.calls.dropPending).toEqual([[pending]]);
      expect(book.current(pending)).toBe(false);
    });
  });

  describe('complete', () => {
    it('sends the completions of one turn to the backend in one call, then tells the submitter, the counters, the events, the strategy and the health figures', async () => {
      const m = await member();
      const entries = await running(m, 3);
      const results = entries.map((e) => ended(e.task.id));
      const events = collect('task.completed');
      const completeMany = vi.spyOn(f.backend, 'completeMany');
      clock += 50;

      entries.forEach((entry, i) => {
        m.settle(entry);
        book.complete(entry, `result ${i}`);
      });
      // Taken off the agent at once, sent to the backend at the end of the turn.
      expect(m.leases.size).toBe(0);
      expect(entries.map((e) => book.current(e))).toEqual([false, false, false]);
      expect(completeMany).not.toHaveBeenCalled();

      const records = await Promise.all(results);
      expect(completeMany).toHaveBeenCalledTimes(1);
      expect(completeMany.mock.calls[0]?.[0]).toHaveLength(3);
      expect(records.map((r) => [r.status, r.result])).toEqual([
        ['completed', 'result 0'],
        ['completed', 'result 1'],
        ['completed', 'result 2'],
      ]);
      expect(f.tracker.counters.completed).toBe(3);
      expect(events).toEqual(
        entries.map((e) => ({ taskId: e.task.id, capability: 'work', agentId: m.id, attempt: 1 })),
      );
      expect(recovery.outcomes).toEqual(
        entries.map(() => ({ agentId: m.id, ok: true, now: clock })),
      );
      const health = f.monitor.metrics(m.id);
      expect(health?.errorRate).toBe(0);
      expect(health?.latencyMs).toBeCloseTo(50);
      expect(f.errors).toEqual([]);
    });

    it('drops a completion that lost its race (the task was cancelled meanwhile) without an error', async () => {
      const m = await member();
      const [entry] = (await running(m, 1)) as [InFlight];
      const events = collect('task.completed');
      await f.backend.cancel(entry.task.id, clock);
      m.settle(entry);
      book.complete(entry, 'too late');
      await sleep(0);
      expect((await f.backend.get(entry.task.id))?.status).toBe('cancelled');
      expect(f.errors).toEqual([]);
      expect(events).toEqual([]);
      expect(f.tracker.counters.completed).toBe(0);
      expect(recovery.outcomes).toEqual([]);
    });

    it('reports a backend that cannot answer, and tells no one the task completed', async () => {
      const m = await member();
      const [entry] = (await running(m, 1)) as [InFlight];
      await f.backend.close();
      m.settle(entry);
      book.complete(entry, 'lost');
      await sleep(0);
      expect(f.errors).toEqual([expect.objectContaining({ code: 'unavailable' })]);
      expect(f.tracker.counters.completed).toBe(0);
      expect(recovery.outcomes).toEqual([]);
    });
  });

  describe('fail', () => {
    it('queues a retryable attempt again after the backoff, longer for each attempt, and wakes the dispatcher then', async () => {
      const m = await member();
      const [entry] = (await running(m, 1)) as [InFlight];
      const id = entry.task.id;
      const failed = collect('task.failed');
      const dead = collect('task.dead');
      const error = { message: 'flaky', code: 'E_FLAKY', retryable: true };

      m.settle(entry);
      const first = await book.fail(entry, error);
      // 100 ms, less half of it jittered by a random 0.5.
      const firstAt = clock + 75;
      expect(first).toMatchObject({ status: 'queued', attempts: 1, availableAt: firstAt });
      expect(f.dispatcher.calls.wakeAt).toEqual([[firstAt]]);
      const leaseAt = (now: number) =>
        f.backend.lease({ capability: 'work', agentId: 'fake-dispatcher', max: 1, now });
      expect(await leaseAt(firstAt - 1)).toEqual([]);
      const [again] = await leaseAt(firstAt);
      expect(again?.attempts).toBe(2);

      clock = firstAt;
      const second = book.add(again as TaskRecord, 'pending');
      m.take(second, clock);
      m.settle(second);
      const retried = await book.fail(second, error);
      // Twice as long for the second attempt: 200 ms, less a quarter.
      expect(retried).toMatchObject({ status: 'queued', availableAt: clock + 150 });
      expect(f.dispatcher.calls.wakeAt).toEqual([[firstAt], [clock + 150]]);

      const event = { taskId: id, capability: 'work', agentId: m.id, error, willRetry: true };
      expect(failed).toEqual([event, event]);
      expect(dead).toEqual([]);
      expect(f.tracker.counters).toMatchObject({ failed: 2, dead: 0 });
      expect(recovery.outcomes.map((o) => o.ok)).toEqual([false, false]);
      expect(f.monitor.metrics(m.id)?.errorRate).toBe(1);
    });

    it('sends the last attempt to the dead-letter queue, and its submitter hears it ended', async () => {
      const m = await member();
      const [entry] = (await running(m, 1, 1)) as [InFlight];
      const result = ended(entry.task.id);
      const failed = collect('task.failed');
      const dead = collect('task.dead');
      const error = { message: 'broken', retryable: true };

      m.settle(entry);
      const record = await book.fail(entry, error);
      expect(record.status).toBe('dead');
      expect((await result).status).toBe('dead');
      expect(failed).toEqual([
        expect.objectContaining({ taskId: entry.task.id, willRetry: false }),
      ]);
      expect(dead).toEqual([{ taskId: entry.task.id, capability: 'work', attempts: 1, error }]);
      expect(f.tracker.counters).toMatchObject({ failed: 1, dead: 1 });
      expect(f.dispatcher.calls.wakeAt).toEqual([]);
    });

    it('sends an error marked not retryable to the dead-letter queue at once, attempts left or not', async () => {
      const [entry] = (await lease(1, 5)) as [InFlight];
      const dead = collect('task.dead');
      const record = await book.fail(entry, { message: 'bad input', retryable: false });
      expect(record).toMatchObject({ status: 'dead', attempts: 1 });
      expect(dead).toHaveLength(1);
      expect(f.dispatcher.calls.wakeAt).toEqual([]);
    });

    it('rejects with conflict for a lease that already ended, and reports no failure', async () => {
      const [entry] = (await lease(1)) as [InFlight];
      const failed = collect('task.failed');
      await f.backend.cancel(entry.task.id, clock);
      await expect(book.fail(entry, { message: 'late' })).rejects.toMatchObject({
        code: 'conflict',
      });
      expect(failed).toEqual([]);
      expect(f.tracker.counters.failed).toBe(0);
    });
  });

  describe('release', () => {
    it('puts several leases back at once: the slots free, the attempts count, and one out of attempts is dead', async () => {
      const remote = polling(3);
      const entries = [...(await running(remote, 2, 3)), ...(await running(remote, 1, 1))];
      const last = entries[2] as InFlight;
      const lastEnded = ended(last.task.id);
      const dead = collect('task.dead');
      const error = { message: 'agent left', code: 'released', retryable: true };

      const records = await book.release(entries, error);
      expect(records.map((r) => [r.id, r.status, r.attempts])).toEqual([
        [entries[0]?.task.id, 'queued', 1],
        [entries[1]?.task.id, 'queued', 1],
        [last.task.id, 'dead', 1],
      ]);
      expect(remote.running).toBe(0);
      expect(entries.some((e) => book.current(e))).toBe(false);
      expect(dead).toEqual([expect.objectContaining({ taskId: last.task.id, attempts: 1 })]);
      expect((await lastEnded).status).toBe('dead');
      expect(f.tracker.counters.dead).toBe(1);
      // Queued again at once: a lease handed back waits for no backoff.
      const again = await f.backend.lease({
        capability: 'work',
        agentId: 'fake-dispatcher',
        max: 5,
        now: clock,
      });
      expect(again.map((t) => [t.id, t.attempts])).toEqual([
        [entries[0]?.task.id, 2],
        [entries[1]?.task.id, 2],
      ]);
    });

    it('skips a lease that already ended, and asks the backend nothing for no lease', async () => {
      const [done, live] = (await lease(2)) as [InFlight, InFlight];
      await f.backend.complete(done.task.id, done.token, 'done', clock);
      const released = await book.release([done, live], { message: 'shutdown' });
      expect(released.map((r) => r.id)).toEqual([live.task.id]);
      expect((await f.backend.get(done.task.id))?.status).toBe('completed');

      const release = vi.spyOn(f.backend, 'release');
      expect(await book.release([], { message: 'nothing' })).toEqual([]);
      expect(release).not.toHaveBeenCalled();
    });
  });
});

describe('LeaseBook, on the real clock', () => {
  const graceMs = 40;

  beforeEach(() => {
    setUp({ hungGraceMs: graceMs });
  });

  async function lease(timeoutMs: number): Promise<InFlight> {
    const [task] = await leasedTasks(f.backend, 'work', 1, Date.now(), { timeoutMs });
    return book.add(task as TaskRecord, 'pending');
  }

  it('ends an expired lease with its one timer: the task is queued again, its handler aborted with a timeout, the dispatcher woken', async () => {
    const m = await inProcessMember({ maxConcurrency: 2 });
    const expiring = await lease(30);
    const lasting = await lease(60_000);
    m.take(expiring, Date.now());
    m.take(lasting, Date.now());
    const signal = signalOf(expiring);
    const failed = next('task.failed');

    expect(await failed).toMatchObject({
      taskId: expiring.task.id,
      agentId: m.id,
      willRetry: true,
      error: { code: 'expired' },
    });
    expect(await f.backend.get(expiring.task.id)).toMatchObject({ status: 'queued', attempts: 1 });
    expect(signal.reason).toMatchObject({ code: 'timeout' });
    expect(m.abandoned).toBe(1);
    expect(book.current(expiring)).toBe(false);
    expect(book.current(lasting)).toBe(true);
    expect((await f.backend.get(lasting.task.id))?.status).toBe('leased');
    expect(f.dispatcher.calls.wake).toHaveLength(1);
    expect(f.dispatcher.calls.renewHeld).toHaveLength(1);
    expect(recovery.outcomes).toEqual([expect.objectContaining({ agentId: m.id, ok: false })]);
    // With a slot left, the agent is not hung.
    await sleep(graceMs + 30);
    expect(f.failures.calls.fail).toEqual([]);
  });

  it('arms no sweep while not running, and start arms it for the leases taken meanwhile', async () => {
    f.engine.running = false;
    const entry = await lease(10);
    await sleep(40);
    expect((await f.backend.get(entry.task.id))?.status).toBe('leased');

    f.engine.running = true;
    const failed = next('task.failed');
    book.start();
    expect(await failed).toMatchObject({ taskId: entry.task.id, willRetry: true });
    expect((await f.backend.get(entry.task.id))?.status).toBe('queued');
  });

  it('sweeps no more once stopped', async () => {
    const entry = await lease(10);
    book.stop();
    await sleep(40);
    expect((await f.backend.get(entry.task.id))?.status).toBe('leased');
    expect(book.current(entry)).toBe(true);
  });

  it('fails an agent whose every slot holds a handler that ignored its timeout, after the grace', async () => {
    const m = await inProcessMember({ maxConcurrency: 1 });
    m.take(await lease(10), Date.now());
    await next('task.failed');
    expect(f.failures.calls.fail).toEqual([]);

    await vi.waitFor(() => expect(f.failures.calls.fail).toHaveLength(1), {
      timeout: 2_000,
      interval: 10,
    });
    const [[failedMember, reason, error]] = f.failures.calls.fail as [
      Parameters<Fakes['failures']['fail']>,
    ];
    expect(failedMember).toBe(m);
    expect(reason).toBe('hung');
    expect(error).toMatchObject({ code: 'agent_failed', details: { agentId: m.id } });
  });

  it('spares an agent whose handler stops within the grace', async () => {
    const m = await inProcessMember({ maxConcurrency: 1 });
    const entry = await lease(10);
    m.take(entry, Date.now());
    await next('task.failed');
    // What the runner does when the abandoned handler returns.
    m.settle(entry);
    await sleep(graceMs + 40);
    expect(f.failures.calls.fail).toEqual([]);
    expect(m.abandoned).toBe(0);
  });
});
