import { afterEach, describe, expect, it, vi } from 'vitest';
import { type AgentSpec, defineAgent } from '../../src/agent/definition.js';
import { ExecutionCoordinator } from '../../src/coordinator/execution-coordinator.js';
import { isSwitchboardError, type SwitchboardError } from '../../src/errors.js';
import type { TaskContext } from '../../src/model/agent.js';
import { createSwitchboard, type Switchboard } from '../../src/switchboard.js';
import { rejection as rejectionOf } from '../rejection.js';

let boards: Switchboard[] = [];

afterEach(async () => {
  vi.useRealTimers();
  await Promise.all(boards.map((sb) => sb.shutdown({ drain: false })));
  boards = [];
});

/** A started Switchboard with one in-process agent per spec; failed tasks are not retried. */
async function setup(...specs: AgentSpec<never, unknown>[]) {
  const sb = createSwitchboard({ agents: specs.map((s) => defineAgent(s)), defaultMaxAttempts: 1 });
  boards.push(sb);
  await sb.start();
  return { sb, coordinator: new ExecutionCoordinator(sb) };
}

const agent = (
  capability: string,
  handle: (payload: never, ctx: TaskContext) => unknown,
  maxConcurrency = 1,
) => ({
  name: capability,
  capabilities: [capability],
  config: { maxConcurrency },
  handle,
});

/** A handler that never answers on its own; `started` holds the task ids it received. */
function hanging() {
  const started: string[] = [];
  const handle = (_: unknown, ctx: TaskContext) => {
    started.push(ctx.taskId);
    return new Promise(() => undefined);
  };
  return { started, handle };
}

describe('fanOut', () => {
  it('runs the tasks at once and gathers results in the order given', async () => {
    let running = 0;
    let most = 0;
    const { coordinator } = await setup(
      agent(
        'double',
        async (n: number) => {
          most = Math.max(most, ++running);
          await new Promise((r) => setTimeout(r, 1));
          running--;
          return n * 2;
        },
        4,
      ),
    );
    const tasks = [3, 1, 2, 5].map((payload) => ({ capability: 'double', payload }));
    expect(await coordinator.fanOut<number>(tasks)).toEqual([6, 2, 4, 10]);
    expect(most).toBe(4);
    most = 0;
    expect(await coordinator.fanOut<number>(tasks, { maxConcurrency: 1 })).toEqual([6, 2, 4, 10]);
    expect(most).toBe(1);
  });

  it("under policy 'all', the first failure cancels the other tasks and rejects naming the task", async () => {
    const slow = hanging();
    const { sb, coordinator } = await setup(
      agent('slow', slow.handle, 2),
      agent('boom', async () => {
        await vi.waitFor(() => expect(slow.started).toHaveLength(2));
        throw new Error('exploded');
      }),
    );
    const error = await rejectionOf(
      coordinator.fanOut([{ capability: 'slow' }, { capability: 'boom' }, { capability: 'slow' }]),
    );
    expect(error.code).toBe('task_failed');
    expect(error.message).toMatch(/^fan-out task 1 \(boom\): .*exploded/);
    for (const id of slow.started) expect((await sb.get(id)).status).toBe('cancelled');
  });

  it("under policy 'settled', reports every task's outcome", async () => {
    const { coordinator } = await setup(
      agent('check', (n: number) => {
        if (n < 0) throw new Error(`negative: ${n}`);
        return Math.sqrt(n);
      }),
    );
    const outcomes = await coordinator.fanOut<number>(
      [4, -1, 9].map((payload) => ({ capability: 'check', payload })),
      { policy: 'settled' },
    );
    expect(outcomes[0]).toEqual({ ok: true, value: 2 });
    expect(outcomes[2]).toEqual({ ok: true, value: 3 });
    const failed = outcomes[1] as { ok: false; error: SwitchboardError };
    expect(failed.ok).toBe(false);
    expect(failed.error.code).toBe('task_failed');
    expect(failed.error.message).toContain('negative: -1');
    await expect(coordinator.fanOut([], { policy: 'any' as never })).rejects.toThrow(/policy/);
  });
  it('passes idempotency keys through: a repeated key runs once', async () => {
    const handler = vi.fn((n: number) => n + 1);
    const { coordinator } = await setup(agent('inc', handler));
    const results = await coordinator.fanOut([
      { capability: 'inc', payload: 1, idempotencyKey: 'order-42' },
      { capability: 'inc', payload: 1, idempotencyKey: 'order-42' },
    ]);
    expect(results).toEqual([2, 2]);
    expect(handler).toHaveBeenCalledTimes(1);
  });
});

describe('pipeline', () => {
  it("feeds each step's result into the next", async () => {
    const { coordinator } = await setup(
      agent('fetch', (url: string) => `<h1>${url}</h1>`),
      agent('strip', (html: string) => html.replace(/<[^>]+>/g, '')),
      agent('shout', (p: { text: string }) => `${p.text.toUpperCase()}!`),
    );
    const result = await coordinator.pipeline<string>(
      [
        { capability: 'fetch' },
        { capability: 'strip' },
        { capability: 'shout', payload: (text) => ({ text }) },
      ],
      { input: 'example.org' },
    );
    expect(result).toBe('EXAMPLE.ORG!');
    await expect(coordinator.pipeline([])).rejects.toThrow(/at least one step/);
  });

  it('stops at the failing step, naming it, and never submits the later ones', async () => {
    const later = vi.fn((p: unknown) => p);
    const { coordinator } = await setup(
      agent('ok', (n: number) => n + 1),
      agent('fail', () => {
        throw new Error('bad input');
      }),
      agent('later', later),
    );
    const error = await rejectionOf(
      coordinator.pipeline(
        [{ capability: 'ok' }, { capability: 'fail' }, { capability: 'later' }],
        {
          input: 1,
        },
      ),
    );
    expect(error.code).toBe('task_failed');
    expect(error.message).toMatch(/^pipeline step 1 \(fail\): .*bad input/);
    expect(later).not.toHaveBeenCalled();
  });

  it('rejects with cancelled when its signal aborts, cancelling the running step', async () => {
    const slow = hanging();
    const { sb, coordinator } = await setup(agent('slow', slow.handle));
    const controller = new AbortController();
    const run = coordinator.pipeline([{ capability: 'slow' }, { capability: 'slow' }], {
      signal: controller.signal,
    });
    await vi.waitFor(() => expect(slow.started).toHaveLength(1));
    controller.abort();
    expect((await rejectionOf(run)).code).toBe('cancelled');
    expect((await sb.get(slow.started[0] as string)).status).toBe('cancelled');
    expect(slow.started).toHaveLength(1);
  });
});

describe('runDag', () => {
  it('runs a diamond: b and c at once on a’s result, d on both of theirs', async () => {
    const seen: Record<string, unknown> = {};
    let bothRunning: () => void = () => undefined;
    const together = new Promise<void>((resolve) => {
      bothRunning = resolve;
    });
    let started = 0;
    const branch = (name: string) => async (n: number) => {
      if (++started === 2) bothRunning();
      // Each branch waits for the other to start: this only finishes if they run concurrently.
      await together;
      return `${name}${n}`;
    };
    const { coordinator } = await setup(
      agent('split', () => 7),
      agent('left', branch('L')),
      agent('right', branch('R')),
      agent('join', (p: unknown) => {
        seen.d = p;
        return 'joined';
      }),
    );
    const result = await coordinator.runDag({
      nodes: {
        d: { capability: 'join', dependsOn: ['b', 'c'], payload: (deps) => deps },
        b: { capability: 'left', dependsOn: ['a'], payload: (deps) => deps.a },
        c: { capability: 'right', dependsOn: ['a'], payload: (deps) => deps.a },
        a: { capability: 'split' },
      },
    });
    expect(result.status).toBe('completed');
    expect(seen.d).toEqual({ b: 'L7', c: 'R7' });
    expect(result.results).toEqual({ a: 7, b: 'L7', c: 'R7', d: 'joined' });
    expect(result.errors).toEqual({});
    expect(result.skipped).toEqual([]);
    expect(Object.keys(result.taskIds).sort()).toEqual(['a', 'b', 'c', 'd']);
  });

  it('rejects a cycle or an unknown dependency before submitting anything', async () => {
    const handler = vi.fn(() => 1);
    const { coordinator } = await setup(agent('x', handler));
    const cycle = await rejectionOf(
      coordinator.runDag({
        nodes: {
          start: { capability: 'x' },
          a: { capability: 'x', dependsOn: ['start', 'b'] },
          b: { capability: 'x', dependsOn: ['a'] },
        },
      }),
    );
    expect(cycle.code).toBe('invalid_request');
    expect(cycle.message).toContain('a → b → a');
    expect(() =>
      coordinator.startDag({ nodes: { a: { capability: 'x', dependsOn: ['nope'] } } }),
    ).toThrow(/unknown node "nope"/);
    await expect(
      coordinator.runDag(
        { nodes: { a: { capability: 'x' } } },
        { partialFailure: 'ignore' as never },
      ),
    ).rejects.toThrow(/partialFailure/);
    await expect(coordinator.runDag({ nodes: {} }, { maxConcurrency: 0 })).rejects.toThrow(
      /maxConcurrency/,
    );
    expect(handler).not.toHaveBeenCalled();
  });

  it('fail-fast: the first failure cancels running nodes and skips pending ones', async () => {
    const slow = hanging();
    const { sb, coordinator } = await setup(
      agent('slow', slow.handle),
      agent('boom', async () => {
        await vi.waitFor(() => expect(slow.started).toHaveLength(1));
        throw new Error('exploded');
      }),
      agent('next', (p: unknown) => p),
    );
    const result = await coordinator.runDag({
      nodes: {
        a: { capability: 'boom' },
        b: { capability: 'slow' },
        c: { capability: 'next', dependsOn: ['a'] },
        d: { capability: 'next', dependsOn: ['b'] },
      },
    });
    expect(result.status).toBe('failed');
    expect(result.error?.code).toBe('task_failed');
    expect(result.errors.a?.message).toContain('exploded');
    expect(result.errors.b?.code).toBe('cancelled');
    expect(result.skipped).toEqual(['c', 'd']);
    expect((await sb.get(result.taskIds.b as string)).status).toBe('cancelled');
  });

  it("continue: a failed node's dependents still run and see the failure", async () => {
    const { coordinator } = await setup(
      agent('boom', () => {
        throw new Error('no data');
      }),
      agent('ok', () => 'fine'),
      agent('report', (p: unknown) => p),
    );
    const result = await coordinator.runDag(
      {
        nodes: {
          a: { capability: 'boom' },
          b: { capability: 'ok' },
          r: {
            capability: 'report',
            dependsOn: ['a', 'b'],
            payload: (deps, failed) => ({ deps, failed: Object.keys(failed) }),
          },
        },
      },
      { partialFailure: 'continue' },
    );
    expect(result.status).toBe('failed');
    expect(result.error).toBeUndefined();
    expect(result.errors.a?.code).toBe('task_failed');
    expect(result.results.r).toEqual({ deps: { b: 'fine' }, failed: ['a'] });
  });

  it('skip-dependents: everything downstream of a failure is skipped, the rest completes', async () => {
    const downstream = vi.fn((p: unknown) => p);
    const { coordinator } = await setup(
      agent('boom', () => {
        throw 'not an Error';
      }),
      agent('down', downstream),
      agent('side', () => 'side done'),
    );
    const result = await coordinator.runDag(
      {
        nodes: {
          a: { capability: 'boom' },
          b: { capability: 'down', dependsOn: ['a'] },
          c: { capability: 'down', dependsOn: ['b', 'x'] },
          x: { capability: 'side' },
          y: { capability: 'down', dependsOn: ['x'] },
        },
      },
      { partialFailure: 'skip-dependents' },
    );
    expect(result.status).toBe('failed');
    expect(result.skipped).toEqual(['b', 'c']);
    expect(result.results).toEqual({ x: 'side done', y: { x: 'side done' } });
    expect(result.errors.a?.message).toContain('not an Error');
    expect(downstream).toHaveBeenCalledTimes(1);
  });

  it('a payload builder that throws fails its node only', async () => {
    const { coordinator } = await setup(agent('x', () => 1));
    const result = await coordinator.runDag(
      {
        nodes: {
          a: { capability: 'x' },
          b: {
            capability: 'x',
            dependsOn: ['a'],
            payload: () => {
              throw new Error('cannot build');
            },
          },
          c: { capability: 'x' },
        },
      },
      { partialFailure: 'continue' },
    );
    expect(result.errors.b).toEqual({ code: 'invalid_request', message: 'node "b": cannot build' });
    expect(result.results).toEqual({ a: 1, c: 1 });
  });

  it('cancelling a running tree cancels every outstanding task and submits nothing more', async () => {
    const slow = hanging();
    const after = vi.fn(() => 'late');
    const { sb, coordinator } = await setup(agent('slow', slow.handle, 3), agent('after', after));
    const run = coordinator.startDag({
      nodes: {
        a: { capability: 'slow' },
        b: { capability: 'slow' },
        c: { capability: 'slow' },
        z: { capability: 'after', dependsOn: ['a', 'b', 'c'] },
      },
    });
    await vi.waitFor(() => expect(slow.started).toHaveLength(3));
    const result = await run.cancel();
    expect(result.status).toBe('cancelled');
    expect(result.error?.code).toBe('cancelled');
    expect(result.skipped).toEqual(['z']);
    for (const id of slow.started) expect((await sb.get(id)).status).toBe('cancelled');
    expect(after).not.toHaveBeenCalled();
    expect(await run.result).toBe(result);
  });

  it('an already aborted signal submits nothing', async () => {
    const handler = vi.fn(() => 1);
    const { coordinator } = await setup(agent('x', handler));
    const result = await coordinator.runDag(
      { nodes: { a: { capability: 'x' } } },
      { signal: AbortSignal.abort() },
    );
    expect(result.status).toBe('cancelled');
    expect(result.skipped).toEqual(['a']);
    expect(handler).not.toHaveBeenCalled();
  });
});

describe('deadline propagation', () => {
  it('gives each task the time left, then cancels what runs and submits nothing more', async () => {
    vi.useFakeTimers();
    const slow = hanging();
    const contexts: TaskContext[] = [];
    const never = vi.fn();
    const { sb, coordinator } = await setup(
      agent('prepare', async (_: unknown, ctx: TaskContext) => {
        contexts.push(ctx);
        await new Promise((r) => setTimeout(r, 600));
        return 'ready';
      }),
      agent('slow', (p: unknown, ctx: TaskContext) => {
        contexts.push(ctx);
        return slow.handle(p, ctx);
      }),
      agent('never', never),
    );
    const start = Date.now();
    const run = coordinator.runDag(
      {
        nodes: {
          a: { capability: 'prepare', timeoutMs: 60_000 },
          b: { capability: 'slow', dependsOn: ['a'] },
          c: { capability: 'never', dependsOn: ['b'] },
        },
      },
      { deadlineMs: 1_000 },
    );
    await vi.advanceTimersByTimeAsync(700);
    expect(slow.started).toHaveLength(1);
    const b = await sb.get(slow.started[0] as string);
    expect(b.timeoutMs).toBeLessThanOrEqual(400);
    expect(b.timeoutMs).toBeGreaterThan(300);
    expect(contexts.map((ctx) => ctx.metadata.deadline)).toEqual([start + 1_000, start + 1_000]);
    await vi.advanceTimersByTimeAsync(300);
    const result = await run;
    expect(result.status).toBe('failed');
    expect(result.error?.code).toBe('timeout');
    expect(result.results).toEqual({ a: 'ready' });
    expect(result.errors.b?.code).toBe('timeout');
    expect(result.skipped).toEqual(['c']);
    expect(never).not.toHaveBeenCalled();
    expect((await sb.get(result.taskIds.b as string)).status).toBe('cancelled');
  });

  it('a fan-out past its deadline rejects with timeout', async () => {
    vi.useFakeTimers();
    const slow = hanging();
    const { coordinator } = await setup(agent('slow', slow.handle, 2));
    const run = rejectionOf(
      coordinator.fanOut([{ capability: 'slow' }, { capability: 'slow' }], { deadlineMs: 50 }),
    );
    await vi.advanceTimersByTimeAsync(50);
    expect((await run).code).toBe('timeout');
    await expect(
      coordinator.fanOut([{ capability: 'slow' }], { deadlineMs: 0 }),
    ).rejects.toMatchObject({
      code: 'timeout',
    });
    expect(slow.started).toHaveLength(2);
    expect(isSwitchboardError(await run, 'timeout')).toBe(true);
  });
});
