import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SwitchboardError } from '../../../src/errors.js';
import type { TaskContext } from '../../../src/model/agent.js';
import type { TaskError, TaskRecord } from '../../../src/model/task.js';
import { InProcessRunner } from '../../../src/runtime/dispatch/in-process-runner.js';
import type { SwitchboardTaskContext } from '../../../src/runtime/dispatch/task-context.js';
import { LeaseBook } from '../../../src/runtime/leases/lease-book.js';
import type { InFlight, PoolMember } from '../../../src/runtime/pool/pool-member.js';
import type { SubmitInput } from '../../../src/runtime/submit/task-input.js';
import { cancelTask } from '../../../src/runtime/submit/task-queries.js';
import type { TaskHandle } from '../../../src/runtime/submit/task-tracker.js';
import {
  FakeLeases,
  type Fakes,
  fakeEngine,
  inProcessMember,
  leasedTasks,
  type MemberOptions,
} from '../fakes.js';

type Handler = NonNullable<MemberOptions['handle']>;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A promise and the function that resolves it. */
function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve: (value: T) => void = () => undefined;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** A fake book whose `fail` rejects with `refusal` while it is set (a lost race, an outage). */
class RefusingLeases extends FakeLeases {
  refusal: Error | undefined;

  override fail(...args: Parameters<FakeLeases['fail']>): Promise<TaskRecord> {
    const answer = super.fail(...args);
    return this.refusal === undefined ? answer : Promise.reject(this.refusal);
  }
}

let f: Fakes;
let runner: InProcessRunner;

afterEach(async () => {
  await f.backend.close();
});

/** Leases one task per payload from the memory backend and adds each to the engine's book. */
async function leased(payloads: readonly unknown[], timeoutMs = 60_000): Promise<InFlight[]> {
  const entries: InFlight[] = [];
  for (const payload of payloads) {
    const [task] = await leasedTasks(f.backend, 'work', 1, Date.now(), { payload, timeoutMs });
    entries.push(f.engine.book.add(task as TaskRecord, 'pending'));
  }
  return entries;
}

/** Starts `entry` on `member` as the dispatcher does: the slot taken, then the handler run. */
function start(member: PoolMember, entry: InFlight): void {
  member.take(entry, Date.now());
  runner.run(member, entry);
}

/** What the fake book was asked to fail, as [task id, error] pairs. */
function failures(): [string, TaskError][] {
  return f.book.calls.fail.map(([entry, error]) => [entry.task.id, error]);
}

describe('InProcessRunner, against fakes of its roles', () => {
  beforeEach(() => {
    f = fakeEngine();
    runner = new InProcessRunner(f.engine);
    f.engine.runner = runner;
  });

  it("calls the handler with the payload and a context of the attempt, and completes the lease with the handler's result", async () => {
    const gate = deferred();
    const seen: unknown[] = [];
    const m = await inProcessMember({
      handle: async (payload, ctx) => {
        seen.push({
          payload,
          taskId: ctx.taskId,
          agentId: ctx.agentId,
          capability: ctx.capability,
          attempt: ctx.attempt,
          deadline: ctx.deadline,
          aborted: ctx.signal.aborted,
        });
        await gate.promise;
        return { echoed: payload };
      },
    });
    const [entry] = (await leased([{ n: 1 }])) as [InFlight];

    start(m, entry);
    expect(seen).toEqual([
      {
        payload: { n: 1 },
        taskId: entry.task.id,
        agentId: m.id,
        capability: 'work',
        attempt: 1,
        deadline: entry.expiresAt,
        aborted: false,
      },
    ]);
    expect(m.agent?.state).toBe('working');
    expect(f.book.calls.complete).toEqual([]);

    gate.resolve();
    await sleep(0);
    expect(f.book.calls.complete).toEqual([[entry, { echoed: { n: 1 } }]]);
    expect(f.book.calls.fail).toEqual([]);
    expect(m.running).toBe(0);
    expect(m.agent?.state).toBe('ready');
    expect(f.dispatcher.calls.freed).toEqual([[m]]);
  });

  it('completes at once with what a synchronous handler returns, nothing included', async () => {
    const m = await inProcessMember({
      maxConcurrency: 2,
      handle: (payload) => (payload === 'none' ? undefined : `done ${String(payload)}`),
    });
    const [first, second] = (await leased(['a', 'none'])) as [InFlight, InFlight];
    start(m, first);
    expect(f.book.calls.complete).toEqual([[first, 'done a']]);
    start(m, second);
    expect(f.book.calls.complete).toEqual([
      [first, 'done a'],
      [second, undefined],
    ]);
    expect(f.dispatcher.calls.freed).toEqual([[m], [m]]);
    expect(m.agent?.state).toBe('ready');
  });

  it('fails the lease with what the handler threw: its message, its code, and whether another attempt may help', async () => {
    const handle: Handler = async (payload) => {
      if (payload === 'plain') throw new Error('flaky upstream');
      if (payload === 'flagged') {
        throw Object.assign(new Error('quota spent'), { code: 'E_QUOTA', retryable: false });
      }
      // A thrown value that is no Error still fails the task, with a message that shows it.
      if (payload === 'value') throw 'oops';
      return undefined;
    };
    const m = await inProcessMember({
      maxConcurrency: 4,
      handle: (payload, ctx) => {
        // Thrown before any await: the runner's synchronous path.
        if (payload === 'coded') throw new SwitchboardError('invalid_request', 'bad payload');
        return handle(payload, ctx);
      },
    });
    const entries = await leased(['plain', 'coded', 'value', 'flagged']);
    for (const entry of entries) start(m, entry);
    await sleep(0);

    const ids = entries.map((e) => e.task.id);
    expect(failures()).toEqual([
      [ids[1], { message: 'bad payload', code: 'invalid_request', retryable: false }],
      [ids[0], { message: 'flaky upstream', retryable: true }],
      [ids[2], { message: 'non-Error value thrown: oops', retryable: true }],
      [ids[3], { message: 'quota spent', code: 'E_QUOTA', retryable: false }],
    ]);
    expect(f.book.calls.complete).toEqual([]);
    expect(f.dispatcher.calls.freed).toHaveLength(4);
    expect(m.running).toBe(0);
    expect(f.errors).toEqual([]);
  });

  it('fails the agent, not the task, when the handler says its agent is broken', async () => {
    const broken = new SwitchboardError('agent_failed', 'the browser process died');
    const m = await inProcessMember({
      handle: async () => {
        throw broken;
      },
    });
    const [entry] = (await leased(['page'])) as [InFlight];
    start(m, entry);
    await sleep(0);
    expect(f.failures.calls.fail).toEqual([[m, 'crashed', broken]]);
    expect(f.book.calls.fail).toEqual([]);
    expect(f.book.calls.complete).toEqual([]);
    expect(f.dispatcher.calls.freed).toEqual([[m]]);
  });

  it('reports a failure the book could not record, unless the lease had ended meanwhile', async () => {
    const book = new RefusingLeases(f.engine);
    f.engine.book = book;
    const m = await inProcessMember({
      maxConcurrency: 2,
      handle: async () => {
        throw new Error('failed attempt');
      },
    });
    const [raced, lost] = (await leased(['raced', 'lost'])) as [InFlight, InFlight];
    book.refusal = new SwitchboardError('conflict', 'the lease ended');
    start(m, raced);
    await sleep(0);
    const outage = new SwitchboardError('unavailable', 'backend unreachable');
    book.refusal = outage;
    start(m, lost);
    await sleep(0);
    expect(book.calls.fail).toHaveLength(2);
    expect(f.errors).toEqual([outage]);
  });

  it('drops the result of an attempt whose lease was taken again meanwhile, and still frees its slot', async () => {
    const gate = deferred();
    const m = await inProcessMember({
      handle: async () => {
        await gate.promise;
        return 'stale';
      },
    });
    const [entry] = (await leased(['slow'])) as [InFlight];
    start(m, entry);
    // The lease expired in the backend and the task was leased again: a new lease supersedes it.
    f.book.add(entry.task, 'pending');

    gate.resolve();
    await sleep(0);
    expect(f.book.calls.complete).toEqual([]);
    expect(f.book.calls.fail).toEqual([]);
    expect(m.running).toBe(0);
    expect(f.dispatcher.calls.freed).toEqual([[m]]);
  });

  it('hands a batching agent its staged tasks, at most batchMax a call, with one result per task', async () => {
    const calls: { payloads: unknown; batch: unknown; taskId: string }[] = [];
    const m = await inProcessMember({
      maxConcurrency: 2,
      batchMax: 3,
      handle: async (payloads, ctx) => {
        const ctxOf = ctx as SwitchboardTaskContext;
        calls.push({ payloads, batch: ctxOf.batch, taskId: ctxOf.taskId });
        // An Error in the answer fails that task alone.
        return (payloads as number[]).map((p) => (p === 2 ? new Error('two is odd') : p * 10));
      },
    });
    const entries = await leased([1, 2, 3, 4]);
    const ids = entries.map((e) => e.task.id);
    for (const entry of entries) {
      m.take(entry, Date.now());
      runner.stage(m, entry);
    }
    expect(calls).toEqual([]);

    runner.flushBatch(m);
    expect(calls).toEqual([
      { payloads: [1, 2, 3], batch: ids.slice(0, 3), taskId: ids[0] },
      { payloads: [4], batch: ids.slice(3), taskId: ids[3] },
    ]);
    await sleep(0);
    expect(f.book.calls.complete.map(([e, result]) => [e.task.id, result])).toEqual([
      [ids[0], 10],
      [ids[2], 30],
      [ids[3], 40],
    ]);
    expect(failures()).toEqual([[ids[1], { message: 'two is odd', retryable: true }]]);
    expect(m.running).toBe(0);
    expect(f.dispatcher.calls.freed).toHaveLength(4);

    // What was flushed is not handed over twice.
    runner.flushBatch(m);
    await sleep(0);
    expect(calls).toHaveLength(2);
  });

  it('fails every task of a batch answered with the wrong number of results, for good', async () => {
    const m = await inProcessMember({
      maxConcurrency: 2,
      batchMax: 2,
      handle: (payloads) => ((payloads as string[])[0] === 'short' ? ['only one'] : 'no array'),
    });
    const entries = await leased(['short', 'short', 'none', 'none']);
    for (const entry of entries) {
      m.take(entry, Date.now());
      runner.stage(m, entry);
    }
    runner.flushBatch(m);
    const ids = entries.map((e) => e.task.id);
    const short = {
      message: 'agent "worker" returned 1 results for 2 batched tasks',
      code: 'internal',
      retryable: false,
    };
    const none = {
      ...short,
      message: 'agent "worker" returned no array of results for 2 batched tasks',
    };
    expect(failures()).toEqual([
      [ids[0], short],
      [ids[1], short],
      [ids[2], none],
      [ids[3], none],
    ]);
    expect(f.book.calls.complete).toEqual([]);
  });

  it('fails every task of a batch whose handler throws, with its error', async () => {
    const m = await inProcessMember({
      batchMax: 2,
      handle: async () => {
        throw new Error('model offline');
      },
    });
    const entries = await leased(['a', 'b']);
    for (const entry of entries) {
      m.take(entry, Date.now());
      runner.stage(m, entry);
    }
    runner.flushBatch(m);
    await sleep(0);
    const error = { message: 'model offline', retryable: true };
    expect(failures()).toEqual(entries.map((e) => [e.task.id, error]));
    expect(m.running).toBe(0);
  });

  it('submits child tasks through the engine from ctx.spawn, and ctx.run awaits their result', async () => {
    const submitted: SubmitInput[] = [];
    f.engine.submit = (input) => {
      submitted.push(input);
      const handle: TaskHandle = {
        id: `child-${submitted.length}`,
        created: true,
        result: Promise.resolve(`result of ${String(input.payload)}`),
        cancel: () => Promise.reject(new Error('not cancelled here')),
      };
      return Promise.resolve(handle);
    };
    const m = await inProcessMember({
      handle: async (_payload, ctx: TaskContext) => {
        const ctxOf = ctx as SwitchboardTaskContext;
        const spawned = await ctxOf.spawn({ capability: 'search', payload: 'first' });
        const answer = await ctxOf.run({ capability: 'search', payload: 'second' });
        return [spawned.id, answer];
      },
    });
    const [entry] = (await leased(['parent'])) as [InFlight];
    start(m, entry);
    await vi.waitFor(() => expect(f.book.calls.complete).toHaveLength(1));
    expect(submitted).toEqual([
      { capability: 'search', payload: 'first' },
      { capability: 'search', payload: 'second' },
    ]);
    expect(f.book.calls.complete).toEqual([[entry, ['child-1', 'result of second']]]);
  });
});

describe('InProcessRunner, with the real lease book', () => {
  let book: LeaseBook;

  beforeEach(() => {
    f = fakeEngine();
    book = new LeaseBook(f.engine);
    f.engine.book = book;
    runner = new InProcessRunner(f.engine);
    f.engine.runner = runner;
  });

  afterEach(() => {
    book.stop();
  });

  it('completes the task in the backend with what the handler returned', async () => {
    const m = await inProcessMember({ handle: async (payload) => `done ${String(payload)}` });
    const [entry] = (await leased(['job'])) as [InFlight];
    const ended = new Promise<TaskRecord>((resolve, reject) =>
      f.tracker.wait(entry.task.id, { resolve, reject }),
    );
    start(m, entry);
    expect(await ended).toMatchObject({ status: 'completed', result: 'done job' });
  });

  it('aborts the signal of an attempt that timed out, and drops the result its handler returns late', async () => {
    const reasons: unknown[] = [];
    const m = await inProcessMember({
      handle: (_payload, ctx) =>
        new Promise((resolve) => {
          ctx.signal.addEventListener('abort', () => {
            reasons.push(ctx.signal.reason);
            setTimeout(() => resolve('late'), 10);
          });
        }),
    });
    const [entry] = (await leased(['slow'], 30)) as [InFlight];
    start(m, entry);
    await vi.waitFor(() => expect(m.running).toBe(0), { timeout: 2_000, interval: 10 });

    expect(reasons).toEqual([expect.objectContaining({ code: 'timeout' })]);
    expect(await f.backend.get(entry.task.id)).toMatchObject({
      status: 'queued',
      attempts: 1,
      error: { code: 'expired' },
    });
    expect(m.abandoned).toBe(0);
    expect(f.dispatcher.calls.freed).toEqual([[m]]);
    expect(f.errors).toEqual([]);
  });

  it('aborts the signal of a cancelled task; the slot stays taken until the handler returns, and its result is dropped', async () => {
    const gate = deferred();
    let signal: AbortSignal | undefined;
    const m = await inProcessMember({
      handle: async (_payload, ctx) => {
        signal = ctx.signal;
        await gate.promise;
        return 'finished anyway';
      },
    });
    const [entry] = (await leased(['job'])) as [InFlight];
    start(m, entry);

    await cancelTask(f.engine, entry.task.id);
    expect(signal?.aborted).toBe(true);
    expect(signal?.reason).toMatchObject({ code: 'cancelled' });
    expect(m.running).toBe(1);
    expect(m.abandoned).toBe(1);

    gate.resolve();
    await sleep(0);
    expect(m.running).toBe(0);
    expect(m.abandoned).toBe(0);
    expect((await f.backend.get(entry.task.id))?.status).toBe('cancelled');
    // Freed once by the cancel, once more when the handler returned.
    expect(f.dispatcher.calls.freed).toEqual([[m], [m]]);
    expect(f.errors).toEqual([]);
  });
});
