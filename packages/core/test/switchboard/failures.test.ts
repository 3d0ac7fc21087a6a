import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { defineAgent } from '../../src/agent/definition.js';
import type {
  AgentFailure,
  RecoveryAction,
  RecoveryStrategy,
} from '../../src/contracts/recovery.js';
import { SwitchboardError } from '../../src/errors.js';
import type { TaskContext } from '../../src/model/agent.js';
import { createSwitchboard } from '../../src/switchboard.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

function recovery(decide: (f: AgentFailure) => RecoveryAction, seen: AgentFailure[] = []) {
  const strategy: RecoveryStrategy = {
    name: 'test-recovery',
    onAgentFailure: (f) => {
      seen.push(f);
      return decide(f);
    },
  };
  return strategy;
}

describe('agent failures', () => {
  it('an agent that crashes mid-task: its tasks finish elsewhere, none lost, none doubled', async () => {
    const completions = new Map<number, string[]>();
    let crashed = false;
    let crashingId: string | undefined;
    const worker = defineAgent({
      name: 'worker',
      capabilities: ['job'],
      config: { maxConcurrency: 5 },
      handle: async (n: number, ctx: TaskContext) => {
        await new Promise((r) => setTimeout(r, 10));
        if (!crashed && n === 7) {
          crashed = true;
          crashingId = ctx.agentId;
          throw new SwitchboardError('agent_failed', 'browser process died');
        }
        if (ctx.agentId === crashingId) {
          // Handlers of the crashed agent that were still running: their outcome is ignored.
          return 'late';
        }
        completions.set(n, [...(completions.get(n) ?? []), ctx.agentId]);
        return n;
      },
    });
    const failures: AgentFailure[] = [];
    const sb = createSwitchboard({
      agents: [{ definition: worker, min: 2 }],
      recovery: recovery(() => ({ action: 'give_up', reason: 'test' }), failures),
    });
    const failed: unknown[] = [];
    sb.events.subscribe('agent.failed', (e) => {
      failed.push(e.agentId);
    });
    await sb.start();
    const handles = await sb.submitMany(
      Array.from({ length: 40 }, (_, i) => ({ capability: 'job', payload: i })),
    );
    const results = Promise.all(handles.map((h) => h.result));
    await vi.advanceTimersByTimeAsync(500);
    expect(await results).toEqual(Array.from({ length: 40 }, (_, i) => i));
    expect(completions.size).toBe(40);
    expect([...completions.values()].every((agents) => agents.length === 1)).toBe(true);
    expect(failed).toEqual([crashingId]);
    expect(failures[0]).toMatchObject({ agentId: crashingId, reason: 'crashed', remote: false });
    expect(sb.pool.agents('worker').map((a) => a.id)).not.toContain(crashingId);
    // Attempts of the tasks the crashed agent held were counted.
    const retried = await Promise.all(handles.map((h) => sb.get(h.id)));
    expect(retried.some((t) => t.attempts === 2)).toBe(true);
    await sb.shutdown();
  });

  it('restarts a crashed agent after the recovery delay', async () => {
    let crashes = 1;
    const fragile = defineAgent({
      name: 'fragile',
      capabilities: ['x'],
      handle: () => {
        if (crashes-- > 0) throw new SwitchboardError('agent_failed', 'crash');
        return 'done';
      },
    });
    const sb = createSwitchboard({
      agents: [fragile],
      recovery: recovery(() => ({ action: 'restart', delayMs: 1000 })),
    });
    await sb.start();
    const first = sb.pool.agents('fragile')[0]?.id;
    const handle = await sb.submit({ capability: 'x' });
    const result = handle.result;
    await vi.advanceTimersByTimeAsync(10);
    expect(sb.pool.agents('fragile')).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1000);
    await expect(result).resolves.toBe('done');
    const [restarted] = sb.pool.agents('fragile');
    expect(restarted?.id).not.toBe(first);
    expect(restarted?.state).toBe('ready');
    await sb.shutdown();
  });

  it('the default recovery restarts an agent whose init fails, with backoff', async () => {
    let inits = 0;
    const slowStart = defineAgent({
      name: 'slow-start',
      capabilities: ['y'],
      init: () => {
        inits++;
        if (inits < 3) throw new Error('not yet');
      },
      handle: () => 'ok',
    });
    const sb = createSwitchboard({ agents: [slowStart] });
    const failed: unknown[] = [];
    sb.events.subscribe('agent.failed', (e) => {
      failed.push(e.action);
    });
    await sb.start();
    const result = sb.run({ capability: 'y' });
    await vi.advanceTimersByTimeAsync(100);
    expect(inits).toBe(2);
    await vi.advanceTimersByTimeAsync(200);
    expect(inits).toBe(3);
    await expect(result).resolves.toBe('ok');
    expect(failed).toEqual([
      { action: 'restart', delayMs: 100 },
      { action: 'restart', delayMs: 200 },
    ]);
    await sb.shutdown();
  });

  it('a hanging handler: the attempt times out, the agent is failed as hung, the task completes elsewhere', async () => {
    let hang = true;
    const sometimesHangs = defineAgent({
      name: 'hangs',
      capabilities: ['h'],
      handle: () => {
        if (hang) {
          hang = false;
          return new Promise(() => {}); // never settles, ignores its signal
        }
        return 'second try';
      },
    });
    const failures: AgentFailure[] = [];
    const sb = createSwitchboard({
      agents: [{ definition: sometimesHangs, min: 2 }],
      recovery: recovery(() => ({ action: 'replace' }), failures),
      hungGraceMs: 100,
    });
    await sb.start();
    const handle = await sb.submit({ capability: 'h', timeoutMs: 1000 });
    const result = handle.result;
    await vi.advanceTimersByTimeAsync(1000);
    await expect(result).resolves.toBe('second try');
    expect((await sb.get(handle.id)).attempts).toBe(2);
    await vi.advanceTimersByTimeAsync(100);
    expect(failures.map((f) => f.reason)).toEqual(['hung']);
    // Replaced: the definition has two live agents again.
    await vi.advanceTimersByTimeAsync(1);
    expect(sb.pool.agents('hangs').filter((a) => a.live)).toHaveLength(2);
    await sb.shutdown({ drain: false });
  });

  it('a handler that always hangs is dead-lettered after its attempts', async () => {
    const stuck = defineAgent({
      name: 'stuck',
      capabilities: ['s'],
      config: { maxConcurrency: 2 },
      handle: (_: unknown, ctx: TaskContext) =>
        new Promise((_r, reject) =>
          ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)),
        ),
    });
    const sb = createSwitchboard({ agents: [stuck] });
    await sb.start();
    const handle = await sb.submit({ capability: 's', timeoutMs: 500, maxAttempts: 2 });
    const outcome = handle.result.catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(1100);
    const err = (await outcome) as SwitchboardError;
    expect(err.code).toBe('task_failed');
    expect((await sb.deadLetters()).map((t) => t.id)).toEqual([handle.id]);
    // It honoured its signal, so the agent was not failed as hung.
    expect(sb.pool.agents('stuck')[0]?.live).toBe(true);
    await sb.shutdown();
  });

  it('failover promotes a warm standby at once and replenishes it', async () => {
    let crash = true;
    const primary = defineAgent({
      name: 'primary',
      capabilities: ['p'],
      handle: (_: unknown, ctx: TaskContext) => {
        if (crash) {
          crash = false;
          throw new SwitchboardError('agent_failed', 'gone');
        }
        return ctx.agentId;
      },
    });
    const sb = createSwitchboard({
      agents: [{ definition: primary, min: 1, standby: 1 }],
      recovery: recovery(() => ({ action: 'failover' })),
    });
    await sb.start();
    const [active, standby] = sb.pool.agents('primary');
    expect(standby?.standby).toBe(true);
    const result = sb.run({ capability: 'p' });
    await vi.advanceTimersByTimeAsync(0);
    expect(await result).toBe(standby?.id);
    expect(sb.pool.get(active?.id as string)).toBeUndefined();
    const members = sb.pool.agents('primary');
    expect(members.filter((m) => m.standby)).toHaveLength(1);
    expect(members.filter((m) => !m.standby)).toHaveLength(1);
    await sb.shutdown();
  });

  it('degraded mode sheds low-priority work and lowers concurrency', async () => {
    let crash = true;
    const seen: string[] = [];
    const worker = defineAgent({
      name: 'deg',
      capabilities: ['d'],
      config: { maxConcurrency: 4 },
      handle: (p: string) => {
        if (crash) {
          crash = false;
          throw new SwitchboardError('agent_failed', 'overloaded');
        }
        seen.push(p);
        return p;
      },
    });
    const sb = createSwitchboard({
      agents: [{ definition: worker, min: 2 }],
      recovery: recovery(() => ({
        action: 'degrade',
        minPriority: 'high',
        concurrencyFactor: 0.5,
      })),
    });
    await sb.start();
    await sb.submit({ capability: 'd', payload: 'trigger', priority: 'critical' });
    await vi.advanceTimersByTimeAsync(0);
    const [survivor] = sb.pool.agents('deg');
    expect(survivor?.maxConcurrency).toBe(2);
    const low = await sb.submit({ capability: 'd', payload: 'low', priority: 'low' });
    const high = await sb.submit({ capability: 'd', payload: 'high', priority: 'high' });
    await high.result;
    // Shed, not lost: the low task waits (past its lease timeout) without burning attempts.
    await vi.advanceTimersByTimeAsync(120_000);
    expect(seen).toEqual(['trigger', 'high']);
    expect(await sb.get(low.id)).toMatchObject({ status: 'queued', attempts: 1 });
    expect((await sb.stats()).queue).toMatchObject({ depth: 1, byPriority: { low: 1 } });
    await sb.shutdown({ drain: false });
  });
  it('fails an agent whose error rate passes the errorRate threshold, and its work moves on', async () => {
    const seen: AgentFailure[] = [];
    const flaky = defineAgent({
      name: 'flaky',
      capabilities: ['job'],
      handle: () => {
        throw new SwitchboardError('task_failed', 'upstream 502', { retryable: true });
      },
    });
    const sb = createSwitchboard({
      agents: [flaky],
      errorRate: { threshold: 0.5, minSamples: 3 },
      recovery: recovery(() => ({ action: 'give_up', reason: 'test' }), seen),
      retry: { initialDelayMs: 1, maxDelayMs: 1, jitter: 0 },
    });
    await sb.start();
    const handle = await sb.submit({ capability: 'job', maxAttempts: 10 });
    await vi.advanceTimersByTimeAsync(200);
    expect(seen.map((f) => f.reason)).toEqual(['error_rate']);
    expect(sb.listAgents()).toEqual([]);
    // Three failed attempts, then no agent: the task waits in the queue, not lost.
    expect(await sb.get(handle.id)).toMatchObject({ status: 'queued', attempts: 3 });
    const steady = defineAgent({ name: 'steady', capabilities: ['job'], handle: () => 'ok' });
    await sb.addAgent(steady);
    await vi.advanceTimersByTimeAsync(10);
    expect(await handle.result).toBe('ok');
    await sb.shutdown({ drain: false });
  });

  it('rejects an errorRate threshold outside 0..1 at createSwitchboard', () => {
    expect(() => createSwitchboard({ errorRate: { threshold: 2 } })).toThrow(
      /errorRate.threshold must be a number in 0..1/,
    );
    expect(() => createSwitchboard({ errorRate: { threshold: 0.5, minSamples: 0 } })).toThrow(
      /errorRate.minSamples/,
    );
  });
});
