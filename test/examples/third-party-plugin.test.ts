/**
 * The third-party plugin of examples/third-party-plugin as its author would test it, imported
 * by its package name: the conformance suites of `@switchboard/testing` first, then its own
 * cases, then whole scenarios through `createSwitchboard`. Only the public API of
 * `@switchboard/core` is used.
 */
import {
  type BusEvent,
  createSwitchboard,
  defineAgent,
  isSwitchboardError,
  type Switchboard,
  SwitchboardError,
  type SwitchboardOptions,
} from '@switchboard/core';
import {
  agentFailure,
  candidate,
  selectContext,
  testLoadBalancer,
  testRecoveryStrategy,
} from '@switchboard/testing';
import latencyPlugin, { leastLatency, restartThenGiveUp } from 'switchboard-plugin-latency';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

testLoadBalancer('least-latency', () => leastLatency());
testLoadBalancer('least-latency, strict', () =>
  leastLatency({ maxErrorRate: 0.1, toleranceMs: 0 }),
);
testRecoveryStrategy('restart-then-give-up', () => restartThenGiveUp());
testRecoveryStrategy('restart-then-give-up, no restart', () =>
  restartThenGiveUp({ maxRestarts: 0 }),
);

/** The error `fn` throws (failing the test when it throws nothing). */
function thrown(fn: () => unknown): SwitchboardError {
  try {
    fn();
  } catch (error) {
    if (isSwitchboardError(error)) return error;
    throw error;
  }
  throw new Error('expected a SwitchboardError, nothing was thrown');
}

describe('leastLatency', () => {
  const pick = (list: ReturnType<typeof candidate>[], lb = leastLatency()) =>
    lb.select(list, selectContext())?.id;

  it('picks the free agent with the lowest latency, never a busy one', () => {
    const list = [
      candidate('slow', { metrics: { latencyMs: 80 } }),
      candidate('busy-fastest', { freeSlots: 0, metrics: { latencyMs: 1 } }),
      candidate('fast', { metrics: { latencyMs: 12 } }),
    ];
    expect(pick(list)).toBe('fast');
  });

  it('passes over an agent that fails fast while a healthier one is free', () => {
    const list = [
      candidate('fails-fast', { metrics: { latencyMs: 1, errorRate: 0.9 } }),
      candidate('sound', { metrics: { latencyMs: 40, errorRate: 0.05 } }),
    ];
    expect(pick(list)).toBe('sound');
    expect(pick(list, leastLatency({ maxErrorRate: 1 }))).toBe('fails-fast');
  });

  it('takes the least flaky agent when every free one is above maxErrorRate', () => {
    const list = [
      candidate('worse', { metrics: { latencyMs: 1, errorRate: 0.9 } }),
      candidate('bad', { metrics: { latencyMs: 90, errorRate: 0.6 } }),
      candidate('healthy-but-busy', { freeSlots: 0, metrics: { errorRate: 0 } }),
    ];
    expect(pick(list)).toBe('bad');
  });

  it('shares work between agents of about the same speed, by load', () => {
    const list = [
      candidate('a', { activeTasks: 3, maxConcurrency: 4, metrics: { latencyMs: 10 } }),
      candidate('b', { activeTasks: 1, maxConcurrency: 4, metrics: { latencyMs: 10.8 } }),
      candidate('c', { activeTasks: 0, maxConcurrency: 4, metrics: { latencyMs: 12 } }),
    ];
    expect(pick(list)).toBe('b');
    expect(pick(list, leastLatency({ toleranceMs: 0 }))).toBe('a');
    expect(pick(list, leastLatency({ toleranceMs: 5 }))).toBe('c');
  });

  it('refuses bad options, naming the package, the strategy and the option', () => {
    const error = thrown(() => leastLatency({ maxErrorRate: 2 }));
    expect(error.code).toBe('invalid_config');
    expect(error.message).toBe(
      '[switchboard-plugin-latency] [least-latency] maxErrorRate must be a number in 0..1, got 2',
    );
    expect(error.details).toMatchObject({ field: 'maxErrorRate' });
    expect(thrown(() => leastLatency({ toleranceMs: -1 })).message).toMatch(/toleranceMs/);
    const notAnObject = 'fast' as unknown as Parameters<typeof leastLatency>[0];
    expect(thrown(() => leastLatency(notAnObject)).message).toMatch(/options must be an object/);
  });
});

describe('restartThenGiveUp', () => {
  it('restarts with a delay growing with recent failures, then gives up', () => {
    const strategy = restartThenGiveUp({ maxRestarts: 2, delayMs: 50 });
    const actions = [1, 2, 3].map((n) =>
      strategy.onAgentFailure(agentFailure({ recentFailures: n })),
    );
    expect(actions).toEqual([
      { action: 'restart', delayMs: 50 },
      { action: 'restart', delayMs: 100 },
      { action: 'give_up', reason: '"worker" failed 3 times in the window (max 2 restarts)' },
    ]);
  });

  it('never restarts a remote agent', () => {
    const action = restartThenGiveUp().onAgentFailure(agentFailure({ remote: true }));
    expect(action.action).toBe('give_up');
  });

  it('refuses a fractional maxRestarts', () => {
    const error = thrown(() => restartThenGiveUp({ maxRestarts: 1.5 }));
    expect(error.message).toMatch(/\[restart-then-give-up\] maxRestarts must be an integer ≥ 0/);
  });
});

describe('the plugin inside a Switchboard', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  /** Moves fake time forward until `promise` settles (bounded), then returns it. */
  async function settle<T>(promise: Promise<T>, stepMs = 5, maxSteps = 400): Promise<T> {
    let done = false;
    promise.then(
      () => {
        done = true;
      },
      () => {
        done = true;
      },
    );
    for (let i = 0; i < maxSteps && !done; i++) await vi.advanceTimersByTimeAsync(stepMs);
    return promise;
  }

  /** An `llm` agent that answers its own name after `ms`. */
  const timed = (name: string, ms: number) =>
    defineAgent({
      name,
      capabilities: ['llm'],
      config: { maxConcurrency: 2 },
      handle: () => new Promise<string>((resolve) => setTimeout(() => resolve(name), ms)),
    });

  /** Runs `n` tasks one after another and counts which agent ran each. */
  async function placements(options: SwitchboardOptions, n: number): Promise<Map<string, number>> {
    const sb = createSwitchboard({
      ...options,
      agents: [timed('slow', 40), timed('fast', 2)],
    });
    await settle(sb.start());
    const counts = new Map<string, number>();
    for (let i = 0; i < n; i++) {
      const who = await settle(sb.run<string>({ capability: 'llm', payload: i }));
      counts.set(who, (counts.get(who) ?? 0) + 1);
    }
    await settle(sb.shutdown());
    return counts;
  }

  it('selected by name, sends most tasks to the faster agent (round-robin splits them)', async () => {
    const byLatency = await placements(
      { plugins: [latencyPlugin], loadBalancer: 'least-latency' },
      20,
    );
    // Each agent is tried once while unmeasured (0 ms); after that the fast one wins.
    expect(byLatency.get('fast')).toBeGreaterThanOrEqual(18);
    expect(byLatency.get('slow') ?? 0).toBeLessThanOrEqual(2);
    const byTurn = await placements({ plugins: [latencyPlugin], loadBalancer: 'round-robin' }, 20);
    expect(byTurn.get('fast')).toBe(10);
  });

  it('an unknown name fails at createSwitchboard, listing the plugin strategies as known', () => {
    const lb = thrown(() =>
      createSwitchboard({ plugins: [latencyPlugin], loadBalancer: 'least-latncy' }),
    );
    expect(lb.code).toBe('invalid_config');
    expect(lb.message).toBe(
      'unknown loadBalancer "least-latncy"; known: least-latency, round-robin',
    );
    expect(lb.details).toMatchObject({ known: ['least-latency', 'round-robin'] });
    const recovery = thrown(() =>
      createSwitchboard({ plugins: [latencyPlugin], recovery: 'restart-then-quit' }),
    );
    expect(recovery.message).toContain('known: restart, restart-then-give-up');
  });

  it('registries belong to one instance: a Switchboard without the plugin does not know it', () => {
    expect(
      createSwitchboard({ plugins: [latencyPlugin], loadBalancer: 'least-latency' }),
    ).toBeDefined();
    const error = thrown(() => createSwitchboard({ loadBalancer: 'least-latency' }));
    expect(error.message).toBe('unknown loadBalancer "least-latency"; known: round-robin');
  });

  it('bad options given by name fail at createSwitchboard, naming the option', () => {
    const error = thrown(() =>
      createSwitchboard({
        plugins: [latencyPlugin],
        loadBalancer: { name: 'least-latency', options: { maxErrorRate: -0.1 } },
      }),
    );
    expect(error.code).toBe('invalid_config');
    expect(error.message).toContain('[least-latency] maxErrorRate must be a number in 0..1');
  });

  it('installing the plugin twice is a configuration error', () => {
    const error = thrown(() => createSwitchboard({ plugins: [latencyPlugin, latencyPlugin] }));
    expect(error.message).toBe('plugin "switchboard-plugin-latency" is installed twice');
  });

  it('restart-then-give-up by name: a crashing agent is restarted, then its slot left empty', async () => {
    const brittle = defineAgent({
      name: 'brittle',
      capabilities: ['gpu'],
      handle: () => {
        throw new SwitchboardError('agent_failed', 'GPU lost');
      },
    });
    const sb: Switchboard = createSwitchboard({
      plugins: [latencyPlugin],
      recovery: { name: 'restart-then-give-up', options: { maxRestarts: 2, delayMs: 10 } },
      agents: [brittle],
    });
    const actions: unknown[] = [];
    sb.events.subscribe('agent.failed', (e: BusEvent) => {
      actions.push((e.action as { action: string }).action);
    });
    await settle(sb.start());
    const { id } = await settle(sb.submit({ capability: 'gpu', maxAttempts: 10 }));
    await vi.advanceTimersByTimeAsync(500);
    expect(actions).toEqual(['restart', 'restart', 'give_up']);
    expect(sb.listAgents().filter((a) => a.state === 'ready')).toEqual([]);
    // The task was never lost: each crash put it back to the queue, and only the three runs
    // counted as attempts (none burnt on an agent that had already failed).
    expect(await sb.get(id)).toMatchObject({
      status: 'queued',
      attempts: 3,
      error: { code: 'agent_failed' },
    });
    const steady = defineAgent({ name: 'steady', capabilities: ['gpu'], handle: () => 'done' });
    await settle(sb.addAgent(steady));
    expect(await settle(sb.waitFor(id, 1_000))).toMatchObject({
      status: 'completed',
      result: 'done',
      attempts: 4,
    });
    await settle(sb.shutdown({ drain: false }));
  });
});
