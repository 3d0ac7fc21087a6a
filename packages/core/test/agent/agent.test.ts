import { describe, expect, it, vi } from 'vitest';
import { Agent, type AgentState, defineAgent, type TaskContext } from '../../src/agent/index.js';
import { isSwitchboardError } from '../../src/errors.js';
import { rejection } from '../rejection.js';

/** A handler whose calls stay pending until released, to hold tasks open. */
function gate<T>() {
  const pending: ((value: T) => void)[] = [];
  const handle = (_payload: unknown, _ctx: TaskContext) =>
    new Promise<T>((resolve) => {
      pending.push(resolve);
    });
  return { handle, release: (value: T) => pending.shift()?.(value) };
}

const echo = defineAgent({
  name: 'echo',
  capabilities: ['echo', 'other'],
  handle: (payload: string, ctx: TaskContext) => ({ payload, ctx }),
});

describe('Agent start and stop', () => {
  it('starts idle → initializing → ready, running init once with its id', async () => {
    const init = vi.fn();
    const agent = new Agent(
      defineAgent({ name: 'a', capabilities: ['x'], handle: () => 1, init }),
      {
        id: 'agent-1',
      },
    );
    const states: AgentState[] = [];
    agent.lifecycle.onTransition((e) => states.push(e.to));
    expect(agent.state).toBe('idle');
    const started = agent.start();
    expect(agent.start()).toBe(started); // a second call joins the first
    await started;
    await agent.start(); // started already: harmless
    expect(states).toEqual(['initializing', 'ready']);
    expect(init).toHaveBeenCalledExactlyOnceWith({
      agentId: 'agent-1',
      name: 'a',
      config: agent.config,
      fail: expect.any(Function),
    });
  });

  it('gives each agent a fresh UUID unless an id is given', () => {
    const a = new Agent(echo);
    const b = new Agent(echo);
    expect(a.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(a.id).not.toBe(b.id);
  });

  it('a throwing init leaves the agent recovering and rejects with agent_failed and the cause', async () => {
    let fail = true;
    const agent = new Agent(
      defineAgent({
        name: 'flaky',
        capabilities: ['x'],
        handle: () => 1,
        init: () => {
          if (fail) throw 'no browser';
        },
      }),
      { id: 'f1' },
    );
    const error = await rejection(agent.start());
    expect(error.code).toBe('agent_failed');
    expect(error.retryable).toBe(true);
    expect(error.message).toBe(
      'agent "flaky" (f1) failed to initialize: non-Error value thrown: no browser',
    );
    expect(error.cause).toBe('no browser');
    expect(agent.state).toBe('recovering');
    // A restart from recovering runs init again.
    fail = false;
    await agent.start();
    expect(agent.state).toBe('ready');
  });

  it('stop moves to shutdown, runs the shutdown hook once, and is idempotent', async () => {
    const shutdown = vi.fn();
    const agent = new Agent(
      defineAgent({ name: 'a', capabilities: ['x'], handle: () => 1, shutdown }),
    );
    await agent.start();
    const stopped = agent.stop('bye');
    expect(agent.state).toBe('shutdown');
    expect(agent.stop()).toBe(stopped);
    await stopped;
    expect(shutdown).toHaveBeenCalledOnce();
    const error = await rejection(agent.start());
    expect(error.code).toBe('invalid_transition');
    expect(error.message).toContain('shutdown → initializing');
  });

  it('stops an agent that was never started, and one already shut down through its lifecycle', async () => {
    const idle = new Agent(echo);
    await idle.stop();
    expect(idle.state).toBe('shutdown');
    const shutdown = vi.fn();
    const direct = new Agent(
      defineAgent({ name: 'a', capabilities: ['x'], handle: () => 1, shutdown }),
    );
    direct.lifecycle.transition('shutdown');
    await direct.stop();
    expect(shutdown).toHaveBeenCalledOnce();
  });

  it('a stop during init waits for init, then shuts down; the start rejects as cancelled', async () => {
    const order: string[] = [];
    let finishInit = () => {};
    const agent = new Agent(
      defineAgent({
        name: 'slow',
        capabilities: ['x'],
        handle: () => 1,
        init: () =>
          new Promise<void>((resolve) => {
            finishInit = () => {
              order.push('init done');
              resolve();
            };
          }),
        shutdown: () => {
          order.push('shutdown');
        },
      }),
    );
    const started = agent.start();
    const stopped = agent.stop();
    finishInit();
    expect((await rejection(started)).code).toBe('cancelled');
    await stopped;
    expect(order).toEqual(['init done', 'shutdown']);
    expect(agent.state).toBe('shutdown');
  });

  it('a stop during a failing init keeps the agent shut down', async () => {
    let failInit = () => {};
    const agent = new Agent(
      defineAgent({
        name: 'x',
        capabilities: ['x'],
        handle: () => 1,
        init: () =>
          new Promise<void>((_, reject) => {
            failInit = () => reject(new Error('boom'));
          }),
      }),
    );
    const started = agent.start();
    const stopped = agent.stop();
    failInit();
    expect((await rejection(started)).code).toBe('agent_failed');
    await stopped;
    expect(agent.state).toBe('shutdown');
  });

  it('a throwing shutdown hook rejects stop with agent_failed; the agent is shut down anyway', async () => {
    const agent = new Agent(
      defineAgent({
        name: 'x',
        capabilities: ['x'],
        handle: () => 1,
        shutdown: () => {
          throw new Error('leak');
        },
      }),
    );
    const error = await rejection(agent.stop());
    expect(error.code).toBe('agent_failed');
    expect(error.message).toMatch(/failed to shut down: leak/);
    expect(agent.state).toBe('shutdown');
  });
});

describe('Agent execute', () => {
  it('runs the handler with a complete context and defaults', async () => {
    const agent = new Agent(echo, { id: 'e1' });
    await agent.start();
    const controller = new AbortController();
    const { payload, ctx } = await agent.execute('hi', {
      taskId: 't1',
      capability: 'other',
      attempt: 2,
      priority: 'high',
      signal: controller.signal,
      deadline: Date.now() + 60_000,
      sessionKey: 's',
      metadata: { k: 1 },
    });
    expect(payload).toBe('hi');
    expect(ctx).toEqual({
      taskId: 't1',
      agentId: 'e1',
      capability: 'other',
      attempt: 2,
      priority: 'high',
      signal: controller.signal,
      deadline: expect.any(Number),
      sessionKey: 's',
      metadata: { k: 1 },
      progress: expect.any(Function),
      stream: expect.any(Function),
    });
    const defaults = (await agent.execute('x')).ctx;
    expect(defaults).toMatchObject({
      agentId: 'e1',
      capability: 'echo',
      attempt: 1,
      priority: 'normal',
      metadata: {},
    });
    expect(defaults.signal.aborted).toBe(false);
    expect(defaults.taskId).toMatch(/^[0-9a-f-]{36}$/);
    expect('deadline' in defaults || 'sessionKey' in defaults).toBe(false);
  });

  it("reports progress and chunks to the caller's functions, checking them either way", async () => {
    const agent = new Agent(
      defineAgent({
        name: 'reporter',
        capabilities: ['r'],
        handle: (value: unknown, ctx: TaskContext) => {
          ctx.progress(value);
          ctx.stream('token');
          return 'ok';
        },
      }),
    );
    await agent.start();
    const seen: unknown[] = [];
    await agent.execute(0.5, {
      progress: (value) => seen.push(['progress', value]),
      stream: (chunk) => seen.push(['chunk', chunk]),
    });
    expect(seen).toEqual([
      ['progress', 0.5],
      ['chunk', 'token'],
    ]);
    // Without them the values go nowhere, but a bad one still fails as it would in a pool.
    expect(await agent.execute(0.5)).toBe('ok');
    await expect(agent.execute(Number.NaN)).rejects.toMatchObject({ code: 'invalid_request' });
    await agent.stop();
  });

  it('refuses work unless ready or working', async () => {
    const agent = new Agent(echo, { id: 'e2' });
    const error = await rejection(agent.execute('x'));
    expect(error.code).toBe('unavailable');
    expect(error.message).toBe('agent "echo" (e2) is idle');
    await agent.stop();
    expect((await rejection(agent.execute('x'))).message).toMatch(/is shutdown/);
  });

  it('refuses an already cancelled task and one past its deadline without running the handler', async () => {
    const handle = vi.fn();
    const agent = new Agent(defineAgent({ name: 'a', capabilities: ['x'], handle }));
    await agent.start();
    const controller = new AbortController();
    controller.abort(new Error('user cancelled'));
    const cancelled = await rejection(agent.execute(1, { taskId: 't', signal: controller.signal }));
    expect(cancelled.code).toBe('cancelled');
    expect(cancelled.cause).toEqual(new Error('user cancelled'));
    const late = await rejection(agent.execute(1, { deadline: Date.now() - 1 }));
    expect(late.code).toBe('timeout');
    expect(handle).not.toHaveBeenCalled();
    expect(agent.activeTasks).toBe(0);
  });

  it('counts concurrent tasks, moves ready ↔ working, and refuses beyond maxConcurrency', async () => {
    const g = gate<string>();
    const agent = new Agent(
      defineAgent({
        name: 'g',
        capabilities: ['x'],
        config: { maxConcurrency: 2 },
        handle: g.handle,
      }),
    );
    await agent.start();
    const states: string[] = [];
    agent.lifecycle.onTransition((e) => states.push(`${e.from}→${e.to}`));
    expect(agent.freeSlots).toBe(2);
    const one = agent.execute(1);
    const two = agent.execute(2);
    expect([agent.activeTasks, agent.freeSlots, agent.state]).toEqual([2, 0, 'working']);
    expect(agent.metrics.queueSize).toBe(2);
    expect((await rejection(agent.execute(3))).message).toMatch(/is full \(2\/2 tasks\)/);
    g.release('a');
    await expect(one).resolves.toBe('a');
    expect([agent.activeTasks, agent.state]).toEqual([1, 'working']);
    g.release('b');
    await expect(two).resolves.toBe('b');
    expect([agent.activeTasks, agent.freeSlots, agent.state]).toEqual([0, 2, 'ready']);
    expect(states).toEqual(['ready→working', 'working→ready']);
    expect(agent.metrics.queueSize).toBe(0);
  });

  it('wraps a thrown string into an Error with the value as cause, and keeps Errors as they are', async () => {
    const boom = new TypeError('bad input');
    const agent = new Agent(
      defineAgent({
        name: 't',
        capabilities: ['x'],
        handle: (kind: string) => {
          if (kind === 'string') throw 'oops';
          throw boom;
        },
      }),
    );
    await agent.start();
    const error = await agent.execute('string').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toBe('non-Error value thrown: oops');
    expect((error as Error).cause).toBe('oops');
    await expect(agent.execute('error')).rejects.toBe(boom);
    expect([agent.activeTasks, agent.state]).toEqual([0, 'ready']);
  });

  it('tracks latency and error rate as moving averages seeded by the first task', async () => {
    let now = 0;
    const agent = new Agent(
      defineAgent({
        name: 'm',
        capabilities: ['x'],
        handle: ({ ms, fail }: { ms: number; fail?: boolean }) => {
          now += ms;
          if (fail) throw new Error('failed');
          return ms;
        },
      }),
      { clock: () => now },
    );
    await agent.start();
    await agent.execute({ ms: 100 });
    expect(agent.metrics).toMatchObject({ latencyMs: 100, errorRate: 0 });
    await agent.execute({ ms: 200, fail: true }).catch(() => undefined);
    expect(agent.metrics.latencyMs).toBeCloseTo(120); // 100 + 0.2 × (200 − 100)
    expect(agent.metrics.errorRate).toBeCloseTo(0.2);
    await agent.execute({ ms: 100 });
    expect(agent.metrics.errorRate).toBeCloseTo(0.16);
  });

  it('does not move a stopped agent back to ready when its last task ends', async () => {
    const g = gate<number>();
    const agent = new Agent(defineAgent({ name: 'g', capabilities: ['x'], handle: g.handle }));
    await agent.start();
    const running = agent.execute(1);
    await agent.stop();
    g.release(7);
    await expect(running).resolves.toBe(7);
    expect([agent.state, agent.activeTasks]).toEqual(['shutdown', 0]);
  });

  it('applies config overrides over the definition', () => {
    const agent = new Agent(echo, { config: { maxConcurrency: 5 } });
    expect(agent.config.maxConcurrency).toBe(5);
    expect(agent.freeSlots).toBe(5);
    expect(() => new Agent(echo, { config: { maxConcurrency: -1 } })).toThrow(/maxConcurrency/);
  });

  it('reports lifecycle listener errors through onListenerError', async () => {
    const onListenerError = vi.fn();
    const agent = new Agent(echo, { onListenerError });
    agent.lifecycle.onTransition(() => {
      throw new Error('x');
    });
    await agent.start();
    expect(agent.state).toBe('ready');
    expect(onListenerError).toHaveBeenCalledTimes(2);
  });
});

describe('Agent checkHealth', () => {
  it('is healthy only when live, without a health check', async () => {
    const agent = new Agent(echo);
    expect((await agent.checkHealth()).healthy).toBe(false);
    await agent.start();
    expect(await agent.checkHealth()).toEqual({
      healthy: true,
      state: 'ready',
      metrics: { cpuUsage: 0, memoryUsage: 0, queueSize: 0, errorRate: 0, latencyMs: 0 },
    });
  });

  it('merges reported figures, honours a verdict, and treats a throwing check as unhealthy', async () => {
    let report: unknown = { cpuUsage: 0.7, memoryUsage: Number.NaN, healthy: true };
    const agent = new Agent(
      defineAgent({
        name: 'h',
        capabilities: ['x'],
        handle: () => 1,
        healthCheck: () => {
          if (report instanceof Error) throw report;
          return report as boolean;
        },
      }),
    );
    await agent.start();
    const first = await agent.checkHealth();
    expect(first.healthy).toBe(true);
    expect(first.metrics).toMatchObject({ cpuUsage: 0.7, memoryUsage: 0 });
    report = { healthy: false };
    expect((await agent.checkHealth()).healthy).toBe(false);
    report = false;
    expect((await agent.checkHealth()).healthy).toBe(false);
    report = new Error('probe failed');
    const failed = await agent.checkHealth();
    expect(failed.healthy).toBe(false);
    expect(failed.error?.message).toBe('probe failed');
    expect(isSwitchboardError(failed.error)).toBe(false);
  });
});
