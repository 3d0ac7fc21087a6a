import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type AgentDefinition, defineAgent } from '../../../src/agent/definition.js';
import type { SwitchboardError } from '../../../src/errors.js';
import type { TaskContext } from '../../../src/model/agent.js';
import { createSwitchboard, type Switchboard } from '../../../src/switchboard.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Out {
  n: number;
  version: string;
  agent: string;
}

function version(v: string, opts: { ms?: number; fail?: boolean; init?: () => void } = {}) {
  return defineAgent({
    name: 'svc',
    version: v,
    capabilities: ['svc'],
    config: { maxConcurrency: 2 },
    ...(opts.init === undefined ? {} : { init: opts.init }),
    handle: async (n: number, ctx: TaskContext): Promise<Out> => {
      await sleep(opts.ms ?? 50);
      if (opts.fail) throw new Error(`v${v} is broken`);
      return { n, version: v, agent: ctx.agentId };
    },
  });
}

async function codeOf(run: () => unknown): Promise<string | undefined> {
  try {
    await run();
    return undefined;
  } catch (error) {
    return (error as SwitchboardError).code;
  }
}

let sb: Switchboard;
let v1: AgentDefinition;
beforeEach(async () => {
  vi.useFakeTimers();
});
afterEach(async () => {
  await sb.shutdown({ drain: false });
  vi.useRealTimers();
});

async function start(count: number, extra: object = {}, def = version('1')) {
  v1 = def;
  sb = createSwitchboard({ agents: [{ definition: v1, min: count, ...extra }] });
  await sb.start();
}

function submit(n: number, from = 0) {
  return sb.submitMany<Out>(
    Array.from({ length: n }, (_, i) => ({ capability: 'svc', payload: from + i, maxAttempts: 5 })),
  );
}

describe('rolling update', () => {
  it('replaces every agent with in-flight work: none lost, old ones drained and stopped', async () => {
    await start(3);
    const old = sb.pool.agents('svc');
    const handles = await submit(30);
    const results = Promise.all(handles.map((h) => h.result));
    await vi.advanceTimersByTimeAsync(20);
    const v2 = version('2');
    const update = sb.pool.rollingUpdate('svc', v2);
    expect(update.progress()).toMatchObject({ phase: 'rolling', desired: 3, fromVersion: '1' });
    let most = 0;
    const sample = setInterval(() => {
      most = Math.max(most, sb.pool.agents('svc').length);
    }, 5);
    await vi.advanceTimersByTimeAsync(1_000);
    clearInterval(sample);
    const final = await update.done;
    expect(final).toMatchObject({ phase: 'done', toVersion: '2', updated: 3, outdated: 0 });
    const out = await results;
    expect(out.map((r) => r.n)).toEqual(Array.from({ length: 30 }, (_, i) => i));
    // Drained, not released: no task needed a second attempt.
    const records = await Promise.all(handles.map((h) => sb.get(h.id)));
    expect(records.every((r) => r.attempts === 1)).toBe(true);
    expect(old.every((m) => m.gone && m.state === 'shutdown')).toBe(true);
    // maxSurge 1, maxUnavailable 0: never more than 4 agents, draining ones included.
    expect(most).toBeLessThanOrEqual(4);
    expect(sb.pool.agents('svc').every((m) => m.version === '2')).toBe(true);
    expect(sb.pool.definitions()[0]?.definition).toBe(v2);
    const later = await submit(6, 100);
    const laterOut = Promise.all(later.map((h) => h.result));
    await vi.advanceTimersByTimeAsync(200);
    expect((await laterOut).every((r) => r.version === '2')).toBe(true);
  });

  it('with maxUnavailable and no surge, never runs more agents than before', async () => {
    await start(3);
    const handles = await submit(12);
    const results = Promise.all(handles.map((h) => h.result));
    const update = sb.pool.rollingUpdate('svc', version('2'), { maxSurge: 0, maxUnavailable: 1 });
    let most = 0;
    const sample = setInterval(() => {
      most = Math.max(most, sb.pool.agents('svc').length);
    }, 5);
    await vi.advanceTimersByTimeAsync(1_000);
    clearInterval(sample);
    expect((await update.done).phase).toBe('done');
    expect(most).toBe(3);
    expect((await results).map((r) => r.n)).toEqual(Array.from({ length: 12 }, (_, i) => i));
  });

  it('a canary takes its share of the tasks, then promotion replaces the rest', async () => {
    await start(3);
    const update = sb.pool.rollingUpdate('svc', version('2'), { canary: { share: 0.25 } });
    await vi.advanceTimersByTimeAsync(1);
    expect(update.progress()).toMatchObject({ phase: 'canary', updated: 1, outdated: 3 });
    const handles = await submit(400);
    const results = Promise.all(handles.map((h) => h.result));
    await vi.advanceTimersByTimeAsync(5_000);
    const out = await results;
    const share = out.filter((r) => r.version === '2').length / out.length;
    expect(share).toBeGreaterThan(0.23);
    expect(share).toBeLessThan(0.27);
    expect(update.progress().canary).toMatchObject({ share: 0.25, completed: 100, failed: 0 });
    // Still the old version's definition until promoted.
    expect(sb.pool.definitions()[0]?.definition).toBe(v1);
    update.promote();
    await vi.advanceTimersByTimeAsync(500);
    expect(await update.done).toMatchObject({ phase: 'done', updated: 3, outdated: 0 });
    expect(sb.pool.agents('svc').every((m) => m.version === '2' && m.gate === undefined)).toBe(
      true,
    );
    expect(await codeOf(() => update.promote())).toBe('conflict');
  });

  it('promotes itself once `until` answers true', async () => {
    await start(2);
    let ready = false;
    const update = sb.pool.rollingUpdate('svc', version('2'), {
      canary: { share: 0.5, until: () => ready, intervalMs: 100 },
    });
    await vi.advanceTimersByTimeAsync(350);
    expect(update.progress().phase).toBe('canary');
    ready = true;
    await vi.advanceTimersByTimeAsync(500);
    expect((await update.done).phase).toBe('done');
    expect(sb.pool.agents('svc').map((m) => m.version)).toEqual(['2', '2']);
  });

  it('rolls back when the canary fails too many tasks; every task still completes', async () => {
    await start(2);
    const update = sb.pool.rollingUpdate('svc', version('2', { fail: true }), {
      canary: { share: 0.5, maxErrorRate: 0.3, minTasks: 4 },
    });
    await vi.advanceTimersByTimeAsync(1);
    const canary = sb.pool.agents('svc').find((m) => m.version === '2');
    const handles = await submit(40);
    const results = Promise.all(handles.map((h) => h.result));
    await vi.advanceTimersByTimeAsync(5_000);
    const final = await update.done;
    expect(final.phase).toBe('rolled_back');
    expect(final.reason).toMatch(/canary error rate 1\.00 above 0\.3/);
    expect(final.canary).toMatchObject({ failed: 4, completed: 0 });
    expect((await results).every((r) => r.version === '1')).toBe(true);
    expect(canary?.gone).toBe(true);
    expect(sb.pool.agents('svc').map((m) => m.version)).toEqual(['1', '1']);
    expect(sb.pool.definitions()[0]?.definition).toBe(v1);
    expect(await codeOf(() => update.promote())).toBe('conflict');
    expect(await codeOf(() => update.rollback())).toBe('conflict');
  });

  it('rollback() by hand during the rollout drains the new agents and restores the old', async () => {
    await start(3);
    const handles = await submit(20);
    const results = Promise.all(handles.map((h) => h.result));
    const update = sb.pool.rollingUpdate('svc', version('2', { ms: 200 }));
    await vi.advanceTimersByTimeAsync(60);
    expect(update.progress().updated).toBeGreaterThanOrEqual(1);
    update.rollback('bad metrics');
    update.rollback(); // already rolling back
    expect(update.progress().phase).toBe('rolling_back');
    await vi.advanceTimersByTimeAsync(2_000);
    expect(await update.done).toMatchObject({ phase: 'rolled_back', reason: 'bad metrics' });
    expect(sb.pool.agents('svc').map((m) => m.version)).toEqual(['1', '1', '1']);
    expect(await results).toHaveLength(20);
  });

  it('rolls back a version whose agents fail to start', async () => {
    await start(2);
    const broken = version('2', {
      init: () => {
        throw new Error('missing model weights');
      },
    });
    const update = sb.pool.rollingUpdate('svc', broken);
    await vi.advanceTimersByTimeAsync(1_000);
    const final = await update.done;
    expect(final).toMatchObject({ phase: 'rolled_back', updated: 0, outdated: 2 });
    expect(final.reason).toMatch(/version 2 failed to start 3 times/);
    // Failed starts were not restarted behind the update's back.
    await vi.advanceTimersByTimeAsync(5_000);
    expect(sb.pool.agents('svc').map((m) => m.version)).toEqual(['1', '1']);
    const result = sb.run<Out>({ capability: 'svc', payload: 1 });
    await vi.advanceTimersByTimeAsync(100);
    expect((await result).version).toBe('1');
  });

  it('replaces standbys too, and pauses autoscaling meanwhile', async () => {
    await start(2, { standby: 1, autoscale: { min: 2, max: 4, intervalMs: 10 } });
    const update = sb.pool.rollingUpdate('svc', version('2'));
    expect(sb.pool.updating('svc')).toBe(true);
    expect(await sb.pool.autoscaler.evaluate(Date.now() + 60_000)).toEqual([]);
    await vi.advanceTimersByTimeAsync(500);
    expect((await update.done).phase).toBe('done');
    expect(sb.pool.updating('svc')).toBe(false);
    const members = sb.pool.agents('svc');
    expect(members.filter((m) => m.standby).map((m) => m.version)).toEqual(['2']);
    expect(members.filter((m) => !m.standby).map((m) => m.version)).toEqual(['2', '2']);
  });

  it('refuses bad input with typed errors', async () => {
    await start(1);
    const other = defineAgent({ name: 'other', capabilities: ['svc'], handle: () => 1 });
    expect(await codeOf(() => sb.pool.rollingUpdate('nope', version('2')))).toBe('not_found');
    expect(await codeOf(() => sb.pool.rollingUpdate('svc', other))).toBe('invalid_request');
    const bad = (options: object) =>
      codeOf(() => sb.pool.rollingUpdate('svc', version('2'), options));
    expect(await bad({ maxSurge: 0, maxUnavailable: 0 })).toBe('invalid_request');
    expect(await bad({ maxSurge: -1 })).toBe('invalid_request');
    expect(await bad({ canary: { share: 1.5 } })).toBe('invalid_request');
    expect(await bad({ canary: { share: 0.5, until: 'soon' } })).toBe('invalid_request');
    expect(sb.pool.updating('svc')).toBe(false);
    const update = sb.pool.rollingUpdate('svc', version('2'), { canary: { share: 0.5 } });
    expect(await codeOf(() => sb.pool.rollingUpdate('svc', version('3')))).toBe('conflict');
    await sb.shutdown({ drain: false });
    expect(await update.done).toMatchObject({ phase: 'cancelled', reason: 'shutdown' });
  });
});
