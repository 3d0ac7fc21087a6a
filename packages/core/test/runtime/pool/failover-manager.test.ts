import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type AgentDefinition, defineAgent } from '../../../src/agent/definition.js';
import type { RecoveryAction, RecoveryStrategy } from '../../../src/contracts/recovery.js';
import { SwitchboardError } from '../../../src/errors.js';
import type { TaskContext } from '../../../src/model/agent.js';
import type { PoolEntryOptions } from '../../../src/runtime/pool/agent-pool.js';
import { createSwitchboard, type Switchboard } from '../../../src/switchboard.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function fixed(action: RecoveryAction): RecoveryStrategy {
  return { name: 'fixed', onAgentFailure: () => action };
}

/**
 * The first agent to run a task with `crash` crashes after `ms` (its other tasks still
 * running); every later run answers with its agent id.
 */
function browserAgent(ms = 20) {
  let crashed = false;
  return defineAgent({
    name: 'browser',
    capabilities: ['browser'],
    config: { maxConcurrency: 2 },
    handle: async (p: { crash?: boolean }, ctx: TaskContext) => {
      await sleep(ms);
      if (p.crash && !crashed) {
        crashed = true;
        throw new SwitchboardError('agent_failed', 'browser process died');
      }
      await sleep(ms);
      return ctx.agentId;
    },
  });
}

let sb: Switchboard;
beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(async () => {
  await sb.shutdown({ drain: false });
  vi.useRealTimers();
});

async function start(
  entry: PoolEntryOptions,
  recovery?: RecoveryStrategy,
  def: AgentDefinition = browserAgent() as AgentDefinition,
) {
  sb = createSwitchboard({
    agents: [{ definition: def, ...entry }],
    ...(recovery === undefined ? {} : { recovery }),
  });
  await sb.start();
}

describe('FailoverManager', () => {
  it('the only agent of a capability crashes mid-task: a standby takes its tasks at once, then is replaced', async () => {
    await start({ min: 1, standby: 1 });
    const [active, standby] = sb.pool.agents('browser');
    expect(standby?.standby).toBe(true);
    const promoted: unknown[] = [];
    sb.events.subscribe('agent.promoted', (e) => {
      promoted.push(e);
    });
    const steady = await sb.submit<string>({ capability: 'browser', payload: {} });
    const crashing = await sb.submit<string>({ capability: 'browser', payload: { crash: true } });
    const results = Promise.all([steady.result, crashing.result]);
    await vi.advanceTimersByTimeAsync(25);
    // Crashed at 20 ms: the standby already holds both tasks, the first mid-way lost.
    expect(active?.gone).toBe(true);
    expect(standby?.standby).toBe(false);
    expect(standby?.running).toBe(2);
    expect(promoted).toEqual([
      expect.objectContaining({ agentId: standby?.id, replaces: active?.id }),
    ]);
    await vi.advanceTimersByTimeAsync(100);
    expect(await results).toEqual([standby?.id, standby?.id]);
    // The default recovery's restart delay (100 ms) paces the replenishment.
    const standbys = sb.pool.backups.standbys('browser');
    expect(standbys).toHaveLength(1);
    expect(standbys[0]?.id).not.toBe(standby?.id);
    expect(standbys[0]?.state).toBe('ready');
    expect(sb.pool.definitions()[0]?.count).toBe(1);
    const stats = sb.pool.failover.stats();
    expect(stats).toMatchObject({ failovers: 1, promotions: 1, pending: 0 });
    expect(stats.durationsMs).toHaveLength(1);
    expect(stats.maxMs).toBeLessThanOrEqual(250);
    const [record] = sb.pool.failover.history();
    expect(record).toMatchObject({ agentId: active?.id, standbyId: standby?.id, tasks: 2 });
  });

  it('times detection → first re-lease: immediate with a standby, the restart delay without', async () => {
    const health = { ok: false };
    const primary = defineAgent({
      name: 'primary',
      capabilities: ['browser'],
      config: { heartbeatIntervalMs: 100, heartbeatTimeoutMs: 300 },
      healthCheck: () => health.ok,
      handle: (_: unknown, ctx: TaskContext) => (health.ok ? ctx.agentId : new Promise(() => {})),
    });
    const backup = defineAgent({
      name: 'backup',
      capabilities: ['browser'],
      handle: (_: unknown, ctx: TaskContext) => ctx.agentId,
    });
    const run = async (standby: number) => {
      health.ok = false;
      sb = createSwitchboard({
        agents: [
          { definition: primary, min: 1 },
          { definition: backup, min: 0 },
        ],
        recovery: fixed({ action: 'restart', delayMs: 1_000 }),
      });
      await sb.start();
      sb.pool.backups.reserve('browser', standby, { definition: 'backup' });
      await vi.advanceTimersByTimeAsync(0);
      const [first] = sb.pool.agents('primary');
      const result = sb.run<string>({ capability: 'browser' });
      await vi.advanceTimersByTimeAsync(1);
      // Its task hangs; failing checks are no heartbeats, so 300 ms of silence fail it.
      expect(first?.running).toBe(1);
      await vi.advanceTimersByTimeAsync(400);
      expect(first?.gone).toBe(true);
      health.ok = true;
      await vi.advanceTimersByTimeAsync(1_000);
      const by = await result;
      const [record] = sb.pool.failover.history();
      await sb.shutdown({ drain: false });
      return { record, by };
    };
    const fast = await run(1);
    expect(fast.record).toMatchObject({
      reason: 'heartbeat_timeout',
      durationMs: 0,
      standbyId: fast.by,
    });
    expect(fast.record?.firstLeaseAt).toBe(fast.record?.detectedAt);
    const slow = await run(0);
    expect(slow.record?.standbyId).toBeUndefined();
    expect(slow.record?.durationMs).toBeGreaterThanOrEqual(1_000);
    expect(slow.record?.durationMs).toBeLessThan(1_100);
  });

  it('without a standby, a surviving agent takes the tasks at once', async () => {
    await start({ min: 2 }, fixed({ action: 'give_up', reason: 'test' }));
    const handles = await sb.submitMany<string>([
      { capability: 'browser', payload: { crash: true } },
      { capability: 'browser', payload: {} },
      { capability: 'browser', payload: {} },
    ]);
    const results = Promise.all(handles.map((h) => h.result));
    await vi.advanceTimersByTimeAsync(200);
    const survivors = sb.pool.agents('browser');
    expect(survivors).toHaveLength(1);
    expect(new Set(await results)).toEqual(new Set([survivors[0]?.id]));
    expect(sb.pool.failover.stats()).toMatchObject({ failovers: 1, promotions: 0, lastMs: 0 });
  });

  it('does not wait for tasks that cannot come back (dead on release)', async () => {
    await start({ min: 1 }, fixed({ action: 'give_up', reason: 'test' }));
    const dead = await sb.submit({
      capability: 'browser',
      payload: { crash: true },
      maxAttempts: 1,
    });
    const deadResult = dead.result.catch((e: unknown) => (e as SwitchboardError).code);
    await vi.advanceTimersByTimeAsync(30);
    expect(await deadResult).toBe('task_failed');
    expect(sb.pool.failover.stats()).toMatchObject({ failovers: 1, pending: 0, durationsMs: [] });
  });

  it('keeps a failover pending while its tasks wait, up to the watch window', async () => {
    let healthy = true;
    const flaky = defineAgent({
      name: 'browser',
      capabilities: ['browser'],
      config: { heartbeatIntervalMs: 100, heartbeatTimeoutMs: 300 },
      healthCheck: () => healthy,
      handle: () => new Promise(() => {}),
    });
    await start({ min: 1 }, fixed({ action: 'give_up', reason: 'test' }), flaky);
    await sb.submit({ capability: 'browser' });
    await vi.advanceTimersByTimeAsync(1);
    healthy = false;
    await vi.advanceTimersByTimeAsync(500);
    expect(sb.pool.failover.stats()).toMatchObject({ failovers: 1, pending: 1 });
    await vi.advanceTimersByTimeAsync(60_000);
    expect(sb.pool.failover.stats()).toMatchObject({ pending: 0, durationsMs: [] });
    expect(sb.pool.failover.history()[0]?.durationMs).toBeUndefined();
  });
});
