import { describe, expect, it, vi } from 'vitest';
import { defineAgent } from '../../src/agent/definition.js';
import { SwitchboardError } from '../../src/errors.js';
import type { TaskContext } from '../../src/model/agent.js';
import { PRIORITIES, type Priority } from '../../src/model/priority.js';
import type { AgentEntry } from '../../src/runtime/options.js';
import { createSwitchboard } from '../../src/switchboard.js';

const echo = defineAgent({
  name: 'echo',
  capabilities: ['echo'],
  config: { maxConcurrency: 4 },
  handle: (payload: unknown) => payload,
});

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    return (error as SwitchboardError).code;
  }
}

describe('submit → dispatch → execute → result', () => {
  it('runs a task on an in-process agent and resolves its result', async () => {
    const sb = createSwitchboard({ agents: [echo] });
    await sb.start();
    expect(await sb.run({ capability: 'echo', payload: { hi: 1 } })).toEqual({ hi: 1 });
    const handle = await sb.submit({ capability: 'echo', payload: 'x' });
    expect(handle.created).toBe(true);
    await expect(handle.result).resolves.toBe('x');
    const record = await sb.get(handle.id);
    expect(record).toMatchObject({ status: 'completed', attempts: 1, result: 'x' });
    await sb.shutdown();
  });

  it('rejects invalid input with invalid_request naming the field, and queues nothing', async () => {
    const sb = createSwitchboard({ agents: [echo] });
    const err = (await sb.submit({ capability: '' }).catch((e: unknown) => e)) as SwitchboardError;
    expect(err.code).toBe('invalid_request');
    expect(err.message).toMatch(/^capability/);
    const bad = { capability: 'echo', priority: 'urgent' as Priority };
    const batch = (await sb
      .submitMany([{ capability: 'echo' }, bad])
      .catch((e: unknown) => e)) as SwitchboardError;
    expect(batch.code).toBe('invalid_request');
    expect(batch.details).toEqual([expect.objectContaining({ path: 'tasks.1.priority' })]);
    expect((await sb.stats()).queue.depth).toBe(0);
    await sb.shutdown();
  });

  it('leases higher priority first, FIFO within a priority', async () => {
    const order: number[] = [];
    const one = defineAgent({
      name: 'one',
      capabilities: ['work'],
      handle: (n: number) => {
        order.push(n);
      },
    });
    const sb = createSwitchboard({ agents: [one] });
    const priorities: Priority[] = [];
    const inputs = Array.from({ length: 200 }, (_, i) => {
      const priority = PRIORITIES[(i * 7) % 4] as Priority;
      priorities.push(priority);
      return { capability: 'work', payload: i, priority };
    });
    const handles = await sb.submitMany(inputs);
    await sb.start();
    await Promise.all(handles.map((h) => h.result));
    const expected = [...inputs.keys()].sort(
      (a, b) =>
        PRIORITIES.indexOf(priorities[a] as Priority) -
          PRIORITIES.indexOf(priorities[b] as Priority) || a - b,
    );
    expect(order).toEqual(expected);
    await sb.shutdown();
  });

  it('completes 10,000 tasks of mixed capabilities and priorities exactly once each', async () => {
    const runs = new Map<string, number>();
    const seen: Record<string, Priority[]> = { a: [], b: [] };
    const make = (name: string, caps: string[]) =>
      defineAgent({
        name,
        capabilities: caps,
        config: { maxConcurrency: 8 },
        handle: async (n: number, ctx: TaskContext) => {
          runs.set(ctx.taskId, (runs.get(ctx.taskId) ?? 0) + 1);
          seen[ctx.capability]?.push(ctx.priority);
          if (n % 3 === 0) await Promise.resolve();
          return n * 2;
        },
      });
    const sb = createSwitchboard({
      agents: [
        { definition: make('ab', ['a', 'b']), min: 2 },
        { definition: make('a-only', ['a']), min: 1 },
        make('c-only', ['c']),
      ],
    });
    const inputs = Array.from({ length: 10_000 }, (_, i) => ({
      capability: ['a', 'b', 'c'][i % 3] as string,
      payload: i,
      priority: PRIORITIES[i % 4] as Priority,
    }));
    const handles = await sb.submitMany(inputs);
    await sb.start();
    const results = await Promise.all(handles.map((h) => h.result));
    expect(results).toEqual(inputs.map((t) => t.payload * 2));
    expect(runs.size).toBe(10_000);
    expect([...runs.values()].every((n) => n === 1)).toBe(true);
    // Leasing is by priority: the first tasks any agent ran of a capability were critical.
    expect(seen.a?.slice(0, 50).every((p) => p === 'critical')).toBe(true);
    const stats = await sb.stats();
    expect(stats.tasks).toMatchObject({ submitted: 10_000, completed: 10_000, dead: 0 });
    expect(stats.queue.depth).toBe(0);
    await sb.shutdown();
  });

  it('retries a failing task with backoff and completes it', async () => {
    vi.useFakeTimers();
    try {
      let calls = 0;
      const flaky = defineAgent({
        name: 'flaky',
        capabilities: ['flaky'],
        handle: () => {
          calls++;
          if (calls < 3) throw new Error(`boom ${calls}`);
          return 'ok';
        },
      });
      const sb = createSwitchboard({
        agents: [flaky],
        retry: { initialDelayMs: 1000, jitter: 0 },
      });
      await sb.start();
      const handle = await sb.submit({ capability: 'flaky' });
      const result = handle.result;
      await vi.advanceTimersByTimeAsync(999);
      expect(calls).toBe(1);
      await vi.advanceTimersByTimeAsync(1);
      expect(calls).toBe(2);
      await vi.advanceTimersByTimeAsync(2000);
      await expect(result).resolves.toBe('ok');
      expect((await sb.get(handle.id)).attempts).toBe(3);
      await sb.shutdown();
    } finally {
      vi.useRealTimers();
    }
  });

  it('dead-letters a poison task with its last error, and replays it', async () => {
    let poison = true;
    const picky = defineAgent({
      name: 'picky',
      capabilities: ['picky'],
      handle: () => {
        // A non-Error value thrown is handled too.
        if (poison) throw 'bad input';
        return 'fixed';
      },
    });
    const sb = createSwitchboard({ agents: [picky], retry: { initialDelayMs: 0, jitter: 0 } });
    const dead: unknown[] = [];
    sb.events.subscribe('task.dead', (e) => {
      dead.push(e.taskId);
    });
    await sb.start();
    const handle = await sb.submit({ capability: 'picky', maxAttempts: 2 });
    const err = (await handle.result.catch((e: unknown) => e)) as SwitchboardError;
    expect(err.code).toBe('task_failed');
    expect(err.message).toMatch(/bad input/);
    expect(dead).toEqual([handle.id]);
    const letters = await sb.deadLetters();
    expect(letters.map((t) => t.id)).toEqual([handle.id]);
    expect(letters[0]).toMatchObject({ status: 'dead', attempts: 2 });
    poison = false;
    await sb.replay(handle.id);
    const replayed = await sb.waitFor(handle.id, 1000);
    expect(replayed).toMatchObject({ status: 'completed', result: 'fixed', attempts: 1 });
    expect(await sb.deadLetters()).toEqual([]);
    await sb.shutdown();
  });

  it('dead-letters at once an error that says it is not retryable', async () => {
    let calls = 0;
    const strict = defineAgent({
      name: 'strict',
      capabilities: ['strict'],
      handle: () => {
        calls++;
        throw new SwitchboardError('invalid_request', 'malformed', { retryable: false });
      },
    });
    const sb = createSwitchboard({ agents: [strict] });
    await sb.start();
    const handle = await sb.submit({ capability: 'strict', maxAttempts: 5 });
    expect(await codeOf(handle.result)).toBe('task_failed');
    expect(calls).toBe(1);
    expect((await sb.get(handle.id)).error).toMatchObject({
      message: 'malformed',
      code: 'invalid_request',
      retryable: false,
    });
    await sb.deleteDeadLetter(handle.id);
    expect(await sb.deadLetters()).toEqual([]);
    await sb.shutdown();
  });

  it('returns the first task for a repeated idempotency key', async () => {
    const sb = createSwitchboard({ agents: [echo] });
    const first = await sb.submit({ capability: 'echo', payload: 1, idempotencyKey: 'order-42' });
    const again = await sb.submit({ capability: 'echo', payload: 2, idempotencyKey: 'order-42' });
    expect(again).toMatchObject({ id: first.id, created: false });
    const [batched] = await sb.submitMany([{ capability: 'echo', idempotencyKey: 'order-42' }]);
    expect(batched?.id).toBe(first.id);
    await sb.start();
    await expect(again.result).resolves.toBe(1);
    expect((await sb.stats()).tasks.submitted).toBe(1);
    await sb.shutdown();
  });

  it('rate-limits per submitter and per capability with retryAfterMs', async () => {
    let now = 1_000_000;
    const sb = createSwitchboard({
      agents: [echo],
      now: () => now,
      rateLimits: {
        perSubmitter: { capacity: 2, refillPerSec: 1 },
        perCapability: { capacity: 3, refillPerSec: 10 },
      },
    });
    await sb.submit({ capability: 'echo', submitter: 'alice' });
    await sb.submit({ capability: 'echo', submitter: 'alice' });
    const err = (await sb
      .submit({ capability: 'echo', submitter: 'alice' })
      .catch((e: unknown) => e)) as SwitchboardError;
    expect(err.code).toBe('rate_limited');
    expect(err.details).toMatchObject({ scope: 'submitter', key: 'alice', retryAfterMs: 1000 });
    await sb.submit({ capability: 'echo', submitter: 'bob' });
    const cap = (await sb
      .submit({ capability: 'echo', submitter: 'carol' })
      .catch((e: unknown) => e)) as SwitchboardError;
    expect(cap.details).toMatchObject({ scope: 'capability', key: 'echo' });
    now += 1000;
    await expect(sb.submit({ capability: 'echo', submitter: 'alice' })).resolves.toBeDefined();
    await sb.shutdown();
  });

  it('cancels a queued task; its awaiters get cancelled and a second cancel conflicts', async () => {
    const sb = createSwitchboard({ agents: [echo] });
    const handle = await sb.submit({ capability: 'echo' });
    const result = handle.result;
    const record = await handle.cancel();
    expect(record.status).toBe('cancelled');
    expect(await codeOf(result)).toBe('cancelled');
    expect(await codeOf(sb.cancel(handle.id))).toBe('conflict');
    expect(await codeOf(sb.get('nope'))).toBe('not_found');
    await sb.shutdown();
  });

  it('cancels through the submit signal and aborts the running handler', async () => {
    let aborted = false;
    const slow = defineAgent({
      name: 'slow',
      capabilities: ['slow'],
      handle: (_: unknown, ctx: TaskContext) =>
        new Promise((_resolve, reject) => {
          ctx.signal.addEventListener('abort', () => {
            aborted = true;
            reject(ctx.signal.reason);
          });
        }),
    });
    const sb = createSwitchboard({ agents: [slow] });
    await sb.start();
    const controller = new AbortController();
    const handle = await sb.submit({ capability: 'slow', signal: controller.signal });
    await vi.waitFor(async () => expect((await sb.get(handle.id)).status).toBe('leased'));
    controller.abort();
    expect(await codeOf(handle.result)).toBe('cancelled');
    expect(aborted).toBe(true);
    const aborted2 = new AbortController();
    aborted2.abort();
    expect(await codeOf(sb.submit({ capability: 'slow', signal: aborted2.signal }))).toBe(
      'cancelled',
    );
    await sb.shutdown();
  });

  it('waitFor answers with the task as it stands after waitMs, or once terminal', async () => {
    const sb = createSwitchboard({ agents: [echo] });
    const handle = await sb.submit({ capability: 'echo', payload: 5 });
    expect((await sb.waitFor(handle.id, 0)).status).toBe('queued');
    expect((await sb.waitFor(handle.id, 5)).status).toBe('queued');
    await sb.start();
    expect(await sb.waitFor(handle.id, 5000)).toMatchObject({ status: 'completed', result: 5 });
    expect(await codeOf(sb.waitFor('missing', 10))).toBe('not_found');
    await sb.shutdown();
  });

  it('emits task events with topic, at and ids', async () => {
    const sb = createSwitchboard({ agents: [echo] });
    const events: { topic: string; taskId?: unknown; agentId?: unknown; at: number }[] = [];
    sb.events.subscribe('task.*', (e) => {
      events.push(e as (typeof events)[number]);
    });
    await sb.start();
    const handle = await sb.submit({ capability: 'echo' });
    await handle.result;
    expect(events.map((e) => e.topic)).toEqual(['task.queued', 'task.leased', 'task.completed']);
    expect(events.every((e) => e.taskId === handle.id && typeof e.at === 'number')).toBe(true);
    expect(events[2]?.agentId).toBe(sb.pool.agents('echo')[0]?.id);
    await sb.shutdown();
  });

  it('fails fast at createSwitchboard on an unknown strategy, listing the known ones', () => {
    expect(() => createSwitchboard({ loadBalancer: 'nope' })).toThrow(
      /unknown loadBalancer "nope"; known: round-robin/,
    );
    expect(() => createSwitchboard({ recovery: 'nope' })).toThrow(/known: restart/);
    expect(() => createSwitchboard({ backend: 'nope' })).toThrow(/known: memory/);
  });

  it('fails fast at createSwitchboard on an unknown setting of an agents entry', async () => {
    const entry = { definition: echo, count: 4 } as unknown as AgentEntry;
    let error: unknown;
    try {
      createSwitchboard({ agents: [entry] });
    } catch (thrown) {
      error = thrown;
    }
    expect(error).toMatchObject({
      code: 'invalid_config',
      message: expect.stringMatching(/unknown setting "count"; known: min, max/),
      details: { field: `agents["${echo.name}"].count` },
    });
    // The setting meant: `min` instances start with the Switchboard.
    const sb = createSwitchboard({ agents: [{ definition: echo, min: 2 }] });
    await sb.start();
    expect(sb.listAgents()).toHaveLength(2);
    await sb.shutdown();
  });

  it('refuses a payload over maxPayloadBytes', async () => {
    const sb = createSwitchboard({ agents: [echo], maxPayloadBytes: 10 });
    expect(await codeOf(sb.submit({ capability: 'echo', payload: 'x'.repeat(20) }))).toBe(
      'payload_too_large',
    );
    await expect(sb.submit({ capability: 'echo', payload: 'short' })).resolves.toBeDefined();
    await sb.shutdown();
  });
});
