import { afterEach, describe, expect, it, vi } from 'vitest';
import type {
  AgentFailure,
  RecoveryAction,
  RecoveryStrategy,
} from '../../../src/contracts/recovery.js';
import type { BusEvent } from '../../../src/events/event-bus.js';
import type { Priority } from '../../../src/model/priority.js';
import { restartWithBackoff } from '../../../src/plugin/builtin/restart.js';
import { AgentFailures } from '../../../src/runtime/pool/agent-failures.js';
import type { InFlight, PoolMember } from '../../../src/runtime/pool/pool-member.js';
import {
  type FakeEngineOptions,
  type Fakes,
  fakeEngine,
  inProcessMember,
  leasedTasks,
  remoteMember,
} from '../fakes.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let clock: number;
let f: Fakes;
let failures: AgentFailures;

function build(options: FakeEngineOptions = {}): void {
  clock = 1_000_000;
  f = fakeEngine({ now: () => clock, ...options });
  failures = new AgentFailures(f.engine);
  f.engine.failures = failures;
}

afterEach(() => {
  failures.stop();
});

/** A recovery strategy that always answers `action`. */
function always(action: RecoveryAction): RecoveryStrategy {
  return { name: 'always', onAgentFailure: () => action };
}

/** `strategy`, recording each failure it is told of. */
function recorded(strategy: RecoveryStrategy): RecoveryStrategy & { told: AgentFailure[] } {
  const told: AgentFailure[] = [];
  return {
    name: strategy.name,
    told,
    onAgentFailure: (failure) => {
      told.push(failure);
      return strategy.onAgentFailure(failure);
    },
  };
}

/** The data of each event of `topic`, as published. */
function collect(topic: string): Record<string, unknown>[] {
  const seen: Record<string, unknown>[] = [];
  f.events.subscribe(topic, ({ topic: _topic, at: _at, ...data }: BusEvent) => {
    seen.push(data);
  });
  return seen;
}

/** A started in-process `browser` agent in the pool, running `count` leased tasks. */
async function browser(count = 0): Promise<{ member: PoolMember; entries: InFlight[] }> {
  const member = f.pool.add(
    await inProcessMember({ name: 'browser', capabilities: ['browse'], maxConcurrency: 2 }),
  );
  const tasks = count === 0 ? [] : await leasedTasks(f.backend, 'browse', count, clock);
  const entries = tasks.map((task) => {
    const entry = f.book.add(task, 'pending');
    member.take(entry, clock);
    return entry;
  });
  return { member, entries };
}

describe('AgentFailures', () => {
  it('takes a failed agent out of the pool, gives its leases back through the book, wakes the dispatcher and says what recovery decided', async () => {
    build({ recovery: restartWithBackoff({ initialDelayMs: 20 }) });
    const { member, entries } = await browser(2);
    const states: string[] = [];
    member.agent?.lifecycle.onTransition((e) => {
      states.push(e.to);
    });
    const failed = collect('agent.failed');
    let goneAtRelease: boolean | undefined;
    f.book.releaseAnswer = (released) => {
      goneAtRelease = member.gone;
      return Promise.resolve(released.map((e) => e.task));
    };
    clock += 5;

    await failures.fail(member, 'crashed');

    expect(member.gone).toBe(true);
    expect(f.pool.get(member.id)).toBeUndefined();
    // Out of the pool before its tasks go back, so that none of them is handed to it again.
    expect(goneAtRelease).toBe(true);
    const message = `agent ${member.id} failed (crashed)`;
    expect(f.book.calls.release).toEqual([
      [entries, { message, code: 'agent_failed', retryable: true }],
    ]);
    expect(f.pool.failover.calls.begin).toEqual([[member, 'crashed', clock]]);
    expect(f.pool.failover.calls.released.map(([, records]) => records)).toEqual([
      entries.map((e) => e.task),
    ]);
    expect(f.remotes.calls.dismiss).toEqual([[member]]);
    expect(f.dispatcher.calls.wake).toHaveLength(1);
    expect(failed).toEqual([
      {
        agentId: member.id,
        name: 'browser',
        reason: 'crashed',
        error: message,
        remote: false,
        action: { action: 'restart', delayMs: 20 },
      },
    ]);
    // Recovering, then stopped: its handlers may still run, but it takes no more work.
    expect(states).toEqual(['recovering', 'shutdown']);
  });

  it('tells the error it was given, to the book, the event and the recovery strategy', async () => {
    const recovery = recorded(always({ action: 'give_up', reason: 'test' }));
    build({ recovery });
    const { member } = await browser(1);
    const failed = collect('agent.failed');
    const error = new Error('health check failed twice');
    await failures.fail(member, 'health_check', error);
    expect(f.book.calls.release[0]?.[1].message).toBe('health check failed twice');
    expect(failed[0]?.error).toBe('health check failed twice');
    expect(recovery.told).toEqual([
      {
        agentId: member.id,
        agentName: 'browser',
        reason: 'health_check',
        recentFailures: 1,
        remote: false,
        now: clock,
        error,
      },
    ]);
  });

  it('restarts the agent after the delay recovery asks for, not before', async () => {
    build({ recovery: restartWithBackoff({ initialDelayMs: 80 }) });
    const { member } = await browser();
    const failedAt = Date.now();
    await failures.fail(member, 'crashed');
    await sleep(40);
    expect(f.pool.calls.spawn).toEqual([]);
    await vi.waitFor(() => expect(f.pool.calls.spawn).toEqual([['browser', 1]]), {
      timeout: 2_000,
      interval: 5,
    });
    expect(Date.now() - failedAt).toBeGreaterThanOrEqual(79);
  });

  it('counts the failures of a definition in the window: each restart waits twice as long, and past the limit the slot stays empty', async () => {
    const recovery = recorded(restartWithBackoff({ initialDelayMs: 10, maxRestarts: 2 }));
    build({ recovery, failureWindowMs: 1_000 });
    const failed = collect('agent.failed');
    const times: number[] = [];
    for (const step of [100, 100, 100, 2_000]) {
      clock += step;
      times.push(clock);
      await failures.fail((await browser()).member, 'crashed');
    }
    expect(f.pool.calls.recordFailure).toEqual(times.map((at) => ['browser', at]));
    expect(recovery.told.map((t) => t.recentFailures)).toEqual([1, 2, 3, 1]);
    expect(failed.map((e) => e.action)).toEqual([
      { action: 'restart', delayMs: 10 },
      { action: 'restart', delayMs: 20 },
      { action: 'give_up', reason: '3 failures in the window' },
      { action: 'restart', delayMs: 10 },
    ]);
    await vi.waitFor(() => expect(f.pool.calls.spawn).toHaveLength(3), {
      timeout: 2_000,
      interval: 5,
    });
    await sleep(40);
    expect(f.pool.calls.spawn).toHaveLength(3);
  });

  it.each([{ action: 'replace' }, { action: 'failover' }] as const)(
    'spawns a new agent at once for $action when no standby took the place',
    async (action) => {
      build({ recovery: always(action) });
      const { member } = await browser();
      await failures.fail(member, 'crashed');
      expect(f.pool.calls.spawn).toEqual([['browser', 1]]);
      expect(f.pool.backups.calls.replenish).toEqual([]);
    },
  );

  it('leaves the slot empty when recovery gives up', async () => {
    build({ recovery: always({ action: 'give_up', reason: 'enough' }) });
    const failed = collect('agent.failed');
    await failures.fail((await browser()).member, 'crashed');
    await sleep(20);
    expect(f.pool.calls.spawn).toEqual([]);
    expect(failed[0]?.action).toEqual({ action: 'give_up', reason: 'enough' });
  });

  it.each([
    { minPriority: 'high', concurrencyFactor: 0.5, level: 1, factor: 0.5 },
    { minPriority: 'critical', concurrencyFactor: 2, level: 0, factor: 1 },
    { minPriority: 'low', concurrencyFactor: -1, level: 3, factor: 0 },
    { minPriority: 'urgent', concurrencyFactor: 0.25, level: 3, factor: 0.25 },
  ])(
    'degrades the definition for $minPriority × $concurrencyFactor: level $level, factor $factor',
    async ({ minPriority, concurrencyFactor, level, factor }) => {
      build({
        recovery: always({
          action: 'degrade',
          minPriority: minPriority as Priority,
          concurrencyFactor,
        }),
      });
      await failures.fail((await browser()).member, 'error_rate');
      expect(f.pool.calls.degrade).toEqual([['browser', level, factor]]);
      expect(f.pool.calls.spawn).toEqual([]);
    },
  );

  it('leaves a remote agent failed: its poll is ended, recovery is told it is remote, nothing is spawned', async () => {
    build();
    const member = f.pool.add(remoteMember({ id: 'remote-1', capabilities: ['browse'] }));
    const failed = collect('agent.failed');
    await failures.fail(member, 'heartbeat_timeout');
    expect(member.gone).toBe(true);
    expect(member.state).toBe('recovering');
    expect(f.remotes.calls.dismiss).toEqual([[member]]);
    expect(failed).toEqual([
      expect.objectContaining({
        agentId: 'remote-1',
        reason: 'heartbeat_timeout',
        remote: true,
        action: { action: 'give_up', reason: 'remote agents register again' },
      }),
    ]);
    await sleep(20);
    expect(f.pool.calls.spawn).toEqual([]);
  });

  it.each([
    { action: { action: 'restart', delayMs: 15 }, replenished: [[15]], degraded: 0 },
    { action: { action: 'replace' }, replenished: [[]], degraded: 0 },
    {
      action: { action: 'degrade', minPriority: 'high', concurrencyFactor: 0.5 },
      replenished: [[]],
      degraded: 1,
    },
    { action: { action: 'give_up', reason: 'test' }, replenished: [], degraded: 0 },
  ] as const)(
    'refills the standbys instead of the slot a promoted standby took ($action.action)',
    async ({ action, replenished, degraded }) => {
      build({ recovery: always(action) });
      f.pool.failover.standbyId = 'standby-1';
      const failed = collect('agent.failed');
      await failures.fail((await browser()).member, 'crashed');
      expect(failed[0]?.standbyId).toBe('standby-1');
      expect(f.pool.backups.calls.replenish).toEqual(replenished);
      expect(f.pool.calls.degrade).toHaveLength(degraded);
      await sleep(30);
      expect(f.pool.calls.spawn).toEqual([]);
    },
  );

  it('refills the standbys when a standby itself fails', async () => {
    build({ recovery: always({ action: 'replace' }) });
    const { member } = await browser();
    member.standby = true;
    const failed = collect('agent.failed');
    await failures.fail(member, 'crashed');
    expect(failed[0]?.standby).toBe(true);
    expect(f.pool.backups.calls.replenish).toEqual([[]]);
    expect(f.pool.calls.spawn).toEqual([]);
  });

  it('does not refill the slot of an agent that was draining away', async () => {
    build({ recovery: always({ action: 'replace' }) });
    const { member, entries } = await browser(1);
    member.draining = true;
    await failures.fail(member, 'crashed');
    expect(f.book.calls.release).toEqual([
      [entries, expect.objectContaining({ code: 'agent_failed' })],
    ]);
    expect(f.pool.calls.spawn).toEqual([]);
  });

  it('leaves the slot to a rolling update that is replacing the definition, even one begun during the restart delay', async () => {
    build({ recovery: restartWithBackoff({ initialDelayMs: 20 }) });
    f.pool.convergingNames.add('browser');
    await failures.fail((await browser()).member, 'crashed');
    f.pool.convergingNames.clear();
    await failures.fail((await browser()).member, 'crashed');
    f.pool.convergingNames.add('browser');
    await sleep(80);
    expect(f.pool.calls.spawn).toEqual([]);
  });

  it('fails an agent once', async () => {
    build({ recovery: always({ action: 'replace' }) });
    const { member } = await browser(1);
    const failed = collect('agent.failed');
    await Promise.all([failures.fail(member, 'crashed'), failures.fail(member, 'hung')]);
    await failures.fail(member, 'crashed');
    expect(failed).toHaveLength(1);
    expect(f.book.calls.release).toHaveLength(1);
    expect(f.pool.calls.spawn).toHaveLength(1);
  });

  it('reports a backend that cannot take the tasks back, and goes on with the recovery', async () => {
    build({ recovery: always({ action: 'replace' }) });
    const { member } = await browser(1);
    const failed = collect('agent.failed');
    const down = new Error('backend unreachable');
    f.book.releaseAnswer = () => Promise.reject(down);
    await failures.fail(member, 'crashed');
    expect(f.errors).toEqual([down]);
    expect(f.pool.failover.calls.released).toEqual([]);
    expect(failed).toHaveLength(1);
    expect(f.pool.calls.spawn).toEqual([['browser', 1]]);
  });

  it('gives the agent up when the recovery strategy throws', async () => {
    build({
      recovery: {
        name: 'broken',
        onAgentFailure: () => {
          throw new Error('no idea');
        },
      },
    });
    const failed = collect('agent.failed');
    await failures.fail((await browser()).member, 'crashed');
    expect(failed[0]?.action).toEqual({ action: 'give_up', reason: 'recovery threw: no idea' });
    await sleep(20);
    expect(f.pool.calls.spawn).toEqual([]);
  });

  it('reports a replacement that could not be spawned', async () => {
    build({ recovery: always({ action: 'replace' }) });
    const refused = new Error('no room');
    f.pool.spawnAnswer = () => Promise.reject(refused);
    await failures.fail((await browser()).member, 'crashed');
    await vi.waitFor(() => expect(f.errors).toEqual([refused]), { timeout: 1_000, interval: 5 });
  });

  it('stop cancels the restarts waiting for their delay, and stops the standbys and the failover watches', async () => {
    build({ recovery: restartWithBackoff({ initialDelayMs: 30 }) });
    await failures.fail((await browser()).member, 'crashed');
    failures.stop();
    expect(f.pool.backups.calls.stop).toHaveLength(1);
    expect(f.pool.failover.calls.stop).toHaveLength(1);
    await sleep(80);
    expect(f.pool.calls.spawn).toEqual([]);
  });

  it('restarts nothing once the engine stopped running', async () => {
    build({ recovery: restartWithBackoff({ initialDelayMs: 20 }) });
    await failures.fail((await browser()).member, 'crashed');
    f.engine.running = false;
    await sleep(70);
    expect(f.pool.calls.spawn).toEqual([]);
  });
});
