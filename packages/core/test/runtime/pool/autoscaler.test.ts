import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { defineAgent } from '../../../src/agent/definition.js';
import type { SwitchboardError } from '../../../src/errors.js';
import type { TaskContext } from '../../../src/model/agent.js';
import type { AutoscaleOptions } from '../../../src/runtime/pool/autoscaler.js';
import { createSwitchboard, type Switchboard } from '../../../src/switchboard.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function worker(ms: number, maxConcurrency = 1) {
  return defineAgent({
    name: 'w',
    capabilities: ['job'],
    config: { maxConcurrency },
    handle: async (n: number, ctx: TaskContext) => {
      await sleep(ms);
      return { n, agent: ctx.agentId };
    },
  });
}

interface Scaled {
  name: string;
  from: number;
  to: number;
  reason: string;
  at: number;
}

function setup(ms: number, autoscale: AutoscaleOptions, maxConcurrency = 1) {
  const sb = createSwitchboard({
    agents: [{ definition: worker(ms, maxConcurrency), autoscale }],
  });
  const scaled: Scaled[] = [];
  sb.events.subscribe('pool.scaled', (e) => {
    scaled.push({ ...(e as unknown as Scaled), at: Date.now() - t0 });
  });
  const t0 = Date.now();
  return { sb, scaled, active: () => sb.pool.definitions()[0]?.count };
}

let sb: Switchboard | undefined;
beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(async () => {
  await sb?.shutdown({ drain: false });
  sb = undefined;
  vi.useRealTimers();
});

describe('Autoscaler', () => {
  it('scales up step by step under a deep queue, never past max, then back down when idle', async () => {
    const s = setup(100, {
      min: 1,
      max: 4,
      targetQueueDepthPerAgent: 2,
      intervalMs: 100,
      cooldownMs: 1_000,
    });
    sb = s.sb;
    await sb.start();
    expect(s.active()).toBe(1);
    const handles = await sb.submitMany(
      Array.from({ length: 60 }, (_, i) => ({ capability: 'job', payload: i })),
    );
    const results = Promise.all(handles.map((h) => h.result));
    await vi.advanceTimersByTimeAsync(100);
    expect(s.active()).toBe(2);
    await vi.advanceTimersByTimeAsync(200);
    expect(s.active()).toBe(4);
    await vi.advanceTimersByTimeAsync(500);
    expect(s.active()).toBe(4);
    expect(s.scaled.slice(0, 3)).toEqual([
      expect.objectContaining({ name: 'w', from: 1, to: 2, reason: 'queue_depth' }),
      expect.objectContaining({ from: 2, to: 3, reason: 'queue_depth' }),
      expect.objectContaining({ from: 3, to: 4, reason: 'queue_depth' }),
    ]);
    // 60 tasks of 100 ms over 4 agents: done by ~1.7 s; then one step down per cooldown.
    await vi.advanceTimersByTimeAsync(1_500);
    expect(((await results) as { n: number }[]).map((r) => r.n)).toEqual(
      Array.from({ length: 60 }, (_, i) => i),
    );
    const downs = () => s.scaled.filter((e) => e.reason === 'idle');
    await vi.advanceTimersByTimeAsync(3_000);
    expect(s.active()).toBe(1);
    expect(downs().map((e) => e.to)).toEqual([3, 2, 1]);
    const gaps = downs().map((e, i, all) => (i === 0 ? 1_000 : e.at - (all[i - 1] as Scaled).at));
    expect(gaps.every((g) => g >= 1_000)).toBe(true);
    // Never below min, however long it idles.
    await vi.advanceTimersByTimeAsync(5_000);
    expect(s.active()).toBe(1);
    expect(s.scaled.every((e) => e.to >= 1 && e.to <= 4)).toBe(true);
    const attempts = await Promise.all(handles.map(async (h) => (await sb?.get(h.id))?.attempts));
    expect(attempts.every((a) => a === 1)).toBe(true);
  });

  it('scale-down drains: the removed agent finishes its in-flight task, then stops', async () => {
    const s = setup(2_000, { min: 1, max: 2, intervalMs: 100, cooldownMs: 500 }, 4);
    sb = s.sb;
    await sb.start();
    await sb.pool.scale('w', 2);
    const handles = await sb.submitMany([
      { capability: 'job', payload: 1 },
      { capability: 'job', payload: 2 },
    ]);
    const results = Promise.all(handles.map((h) => h.result));
    await vi.advanceTimersByTimeAsync(1);
    const agents = sb.pool.agents('w');
    expect(agents.map((a) => a.running)).toEqual([1, 1]);
    await vi.advanceTimersByTimeAsync(600);
    expect(s.active()).toBe(1);
    const draining = agents.find((a) => a.draining);
    expect(draining?.running).toBe(1);
    expect(draining?.state).toBe('working');
    await vi.advanceTimersByTimeAsync(1_500);
    const out = (await results) as { n: number; agent: string }[];
    expect(out.map((r) => r.n)).toEqual([1, 2]);
    // The drained agent completed its own task (no retry elsewhere), then stopped.
    expect(out.some((r) => r.agent === draining?.id)).toBe(true);
    expect(draining?.gone).toBe(true);
    expect(draining?.state).toBe('shutdown');
    expect((await sb.get(handles[0]?.id as string)).attempts).toBe(1);
    expect(s.scaled.at(-1)).toMatchObject({ from: 2, to: 1, reason: 'idle' });
  });

  it('waits for the cooldown before scaling down after a scale-up', async () => {
    const s = setup(50, { min: 1, max: 3, intervalMs: 100, cooldownMs: 2_000 });
    sb = s.sb;
    await sb.start();
    await sb.submitMany(Array.from({ length: 20 }, (_, i) => ({ capability: 'job', payload: i })));
    await vi.advanceTimersByTimeAsync(200);
    expect(s.active()).toBe(3);
    const upAt = s.scaled.at(-1)?.at as number;
    // The queue is empty after ~500 ms; the count holds until the cooldown has passed.
    await vi.advanceTimersByTimeAsync(1_500);
    expect(s.active()).toBe(3);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(s.active()).toBe(2);
    const down = s.scaled.find((e) => e.reason === 'idle') as Scaled;
    expect(down.at - upAt).toBeGreaterThanOrEqual(2_000);
  });

  it('restores min when agents go missing, and scales from zero when work arrives', async () => {
    const s = setup(10, { min: 0, max: 2, intervalMs: 100, cooldownMs: 300 });
    sb = s.sb;
    await sb.start();
    expect(sb.pool.definitions()[0]).toMatchObject({ min: 0, max: 2, count: 0 });
    const result = sb.run({ capability: 'job', payload: 5 });
    await vi.advanceTimersByTimeAsync(100);
    expect(s.active()).toBe(1);
    await vi.advanceTimersByTimeAsync(20);
    await expect(result).resolves.toMatchObject({ n: 5 });
    await vi.advanceTimersByTimeAsync(500);
    expect(s.active()).toBe(0);
    expect(s.scaled.map((e) => [e.from, e.to, e.reason])).toEqual([
      [0, 1, 'queue_depth'],
      [1, 0, 'idle'],
    ]);
  });

  it('scales back up to min after agents are removed', async () => {
    const s = setup(10, { min: 2, max: 3, intervalMs: 100 });
    sb = s.sb;
    await sb.start();
    const [first] = sb.pool.agents('w');
    await sb.removeAgent(first?.id as string);
    expect(s.active()).toBe(1);
    await vi.advanceTimersByTimeAsync(100);
    expect(s.active()).toBe(2);
    expect(s.scaled).toEqual([expect.objectContaining({ from: 1, to: 2, reason: 'min' })]);
  });

  it('scales up on p99 latency while work waits', async () => {
    const s = setup(100, { min: 1, max: 3, targetLatencyMs: 150, intervalMs: 250 });
    sb = s.sb;
    await sb.start();
    await sb.submitMany(Array.from({ length: 8 }, (_, i) => ({ capability: 'job', payload: i })));
    await vi.advanceTimersByTimeAsync(250);
    // Two tasks done (100 ms, 200 ms end to end), six waiting: p99 200 > 150.
    expect(s.scaled).toEqual([expect.objectContaining({ from: 1, to: 2, reason: 'latency' })]);
    expect((await sb.stats()).latencyMs.p99).toBeGreaterThan(150);
  });

  it('only counts the queue of its own capabilities', async () => {
    const other = defineAgent({ name: 'other', capabilities: ['other'], handle: () => sleep(1e6) });
    sb = createSwitchboard({
      agents: [
        { definition: worker(10), autoscale: { min: 1, max: 3, intervalMs: 100 } },
        { definition: other, min: 1 },
      ],
    });
    await sb.start();
    await sb.submitMany(Array.from({ length: 20 }, () => ({ capability: 'other' })));
    await vi.advanceTimersByTimeAsync(500);
    expect(sb.pool.definitions().find((d) => d.name === 'w')?.count).toBe(1);
    expect(await sb.pool.autoscaler.evaluate(Date.now() + 1_000)).toEqual([]);
  });

  it('rejects autoscale settings outside the pool bounds or malformed', () => {
    const def = worker(1);
    const code = (autoscale: unknown, extra: object = {}) => {
      try {
        createSwitchboard({
          agents: [{ definition: def, autoscale: autoscale as AutoscaleOptions, ...extra }],
        });
        return undefined;
      } catch (error) {
        return [(error as SwitchboardError).code, (error as Error).message];
      }
    };
    expect(code({ min: 3, max: 2 })?.[1]).toMatch(/autoscale\.max/);
    expect(code({ min: 1, max: 5 }, { max: 4 })?.[1]).toMatch(/within 1\.\.4/);
    expect(code({ min: 0, max: 2 }, { min: 1 })?.[0]).toBe('invalid_config');
    expect(code({ min: 1, max: 2, cooldownMs: -1 })?.[1]).toMatch(/cooldownMs/);
    expect(code({ min: 1, max: 2, scaleUpStep: 0.5 })?.[1]).toMatch(/scaleUpStep/);
    expect(code({ min: 1, max: 2, targetQueueDepthPerAgent: 0 })?.[1]).toMatch(/targetQueue/);
    expect(code(null)?.[0]).toBe('invalid_config');
    expect(code({ min: 1, max: 2, intervalMs: 50 })).toBeUndefined();
  });
});
