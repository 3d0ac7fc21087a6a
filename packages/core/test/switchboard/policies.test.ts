import { describe, expect, it, vi } from 'vitest';
import { defineAgent } from '../../src/agent/definition.js';
import type { AgentCandidate, LoadBalancer } from '../../src/contracts/load-balancer.js';
import type { SwitchboardError } from '../../src/errors.js';
import { definePlugin } from '../../src/plugin/define-plugin.js';
import type { SwitchboardTaskContext } from '../../src/runtime/dispatch/task-context.js';
import { createSwitchboard } from '../../src/switchboard.js';

async function codeOf(run: () => unknown): Promise<string | undefined> {
  try {
    await run();
    return undefined;
  } catch (error) {
    return (error as SwitchboardError).code;
  }
}

describe('assignment policies', () => {
  it('immediate fails fast with no_agent when no live agent has the capability', async () => {
    const sb = createSwitchboard({ policies: { render: 'immediate' } });
    await sb.start();
    expect(await codeOf(() => sb.submit({ capability: 'render' }))).toBe('no_agent');
    expect(await codeOf(() => sb.submit({ capability: 'other', policy: 'immediate' }))).toBe(
      'no_agent',
    );
    // queued (the default) waits for an agent instead.
    const queued = await sb.submit({ capability: 'render', policy: 'queued' });
    await sb.addAgent(
      defineAgent({ name: 'renderer', capabilities: ['render'], handle: () => 'png' }),
    );
    await expect(queued.result).resolves.toBe('png');
    await expect(sb.run({ capability: 'render' })).resolves.toBe('png');
    await sb.shutdown();
  });

  it('delegated: a coordinator receives the task and splits it into sub-tasks', async () => {
    const coordinator = defineAgent({
      name: 'planner',
      role: 'coordinator',
      capabilities: ['research'],
      handle: async (topics: string[], ctx) => {
        const sb = ctx as SwitchboardTaskContext;
        const parts = await Promise.all(
          topics.map((t) => sb.run<string>({ capability: 'search', payload: t })),
        );
        return parts.join(' + ');
      },
    });
    const worker = defineAgent({
      name: 'worker',
      capabilities: ['research', 'search'],
      config: { maxConcurrency: 4 },
      handle: (q: unknown) => (Array.isArray(q) ? 'worker did it' : `found ${String(q)}`),
    });
    const sb = createSwitchboard({
      agents: [coordinator, worker],
      policies: { research: 'delegated' },
    });
    await sb.start();
    await expect(sb.run({ capability: 'research', payload: ['a', 'b'] })).resolves.toBe(
      'found a + found b',
    );
    // A per-submit policy does the same for a capability configured otherwise.
    const other = createSwitchboard({ agents: [worker, coordinator] });
    await other.start();
    await expect(
      other.run({ capability: 'research', payload: ['c'], policy: 'delegated' }),
    ).resolves.toBe('found c');
    await Promise.all([sb.shutdown(), other.shutdown()]);
  });

  it('consolidated: small tasks go to one handler call as an array, each completes alone', async () => {
    const calls: number[][] = [];
    const embed = defineAgent({
      name: 'embedder',
      capabilities: ['embed'],
      handle: (texts: unknown) => {
        const batch = texts as number[];
        calls.push(batch);
        return batch.map((n) => (n === 13 ? new Error('unlucky') : n * 10));
      },
    });
    const sb = createSwitchboard({
      agents: [{ definition: embed, batch: { max: 8 } }],
      policies: { embed: 'consolidated' },
      retry: { initialDelayMs: 0, jitter: 0 },
    });
    const handles = await sb.submitMany(
      Array.from({ length: 20 }, (_, i) => ({ capability: 'embed', payload: i, maxAttempts: 1 })),
    );
    await sb.start();
    const results = await Promise.allSettled(handles.map((h) => h.result));
    expect(calls[0]).toHaveLength(8);
    expect(calls.flat().sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(results[3]).toEqual({ status: 'fulfilled', value: 30 });
    expect(results[13]?.status).toBe('rejected');
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(19);
    await sb.shutdown();
  });

  it('consolidated: a handler that returns the wrong number of results fails the batch', async () => {
    const broken = defineAgent({
      name: 'broken',
      capabilities: ['b'],
      handle: () => ['only one'],
    });
    const sb = createSwitchboard({ agents: [{ definition: broken, batch: { max: 4 } }] });
    const handles = await sb.submitMany([
      { capability: 'b', maxAttempts: 1 },
      { capability: 'b', maxAttempts: 1 },
    ]);
    await sb.start();
    for (const h of handles) expect(await codeOf(() => h.result)).toBe('task_failed');
    expect((await sb.get(handles[0]?.id as string)).error?.message).toMatch(/1 results for 2/);
    await sb.shutdown();
  });
});

describe('session affinity through a plugin', () => {
  it('tasks with one sessionKey go to one live agent, even when it is busy', async () => {
    const sticky = definePlugin({
      name: 'sticky-sessions',
      setup(ctx) {
        ctx.loadBalancer('sticky', () => {
          const pins = new Map<string, string>();
          let next = 0;
          const balancer: LoadBalancer = {
            name: 'sticky',
            select(candidates: readonly AgentCandidate[], { task }) {
              const key = task.sessionKey;
              const pinned = key === undefined ? undefined : pins.get(key);
              const found = candidates.find((c) => c.id === pinned);
              if (found !== undefined) return found;
              const free = candidates.filter((c) => c.freeSlots > 0);
              const pick = free[next++ % Math.max(1, free.length)];
              if (pick !== undefined && key !== undefined) pins.set(key, pick.id);
              return pick;
            },
            agentRemoved(id) {
              for (const [k, v] of pins) if (v === id) pins.delete(k);
            },
          };
          return balancer;
        });
      },
    });
    const ranOn = new Map<string, Set<string>>();
    const browser = defineAgent({
      name: 'browser',
      capabilities: ['browse'],
      config: { maxConcurrency: 2 },
      handle: async (session: string, ctx) => {
        await new Promise((r) => setTimeout(r, 1));
        const set = ranOn.get(session) ?? new Set<string>();
        set.add(ctx.agentId);
        ranOn.set(session, set);
        return ctx.agentId;
      },
    });
    const sb = createSwitchboard({
      plugins: [sticky],
      loadBalancer: 'sticky',
      agents: [{ definition: browser, min: 3 }],
    });
    await sb.start();
    const inputs = Array.from({ length: 60 }, (_, i) => {
      const session = `user-${i % 4}`;
      return { capability: 'browse', payload: session, sessionKey: session };
    });
    const handles = await sb.submitMany(inputs);
    await Promise.all(handles.map((h) => h.result));
    expect(ranOn.size).toBe(4);
    for (const agents of ranOn.values()) expect(agents.size).toBe(1);
    await sb.shutdown();
  });

  it('a balancer that declines leaves the task queued without burning attempts', async () => {
    vi.useFakeTimers();
    try {
      let accept = false;
      const sb = createSwitchboard({
        loadBalancer: {
          name: 'gate',
          select: (c) => (accept ? c.find((x) => x.freeSlots > 0) : undefined),
        },
        agents: [defineAgent({ name: 'a', capabilities: ['g'], handle: () => 'in' })],
      });
      await sb.start();
      const handle = await sb.submit({ capability: 'g', timeoutMs: 1000, maxAttempts: 1 });
      await vi.advanceTimersByTimeAsync(10_000);
      expect((await sb.get(handle.id)).status).toBe('queued');
      accept = true;
      await sb.addAgent(defineAgent({ name: 'b', capabilities: ['g'], handle: () => 'in' }));
      await vi.advanceTimersByTimeAsync(0);
      await expect(handle.result).resolves.toBe('in');
      await sb.shutdown();
    } finally {
      vi.useRealTimers();
    }
  });
});
