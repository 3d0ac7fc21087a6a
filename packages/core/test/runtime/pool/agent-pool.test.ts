import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { defineAgent } from '../../../src/agent/definition.js';
import type { SwitchboardError } from '../../../src/errors.js';
import { createSwitchboard, type Switchboard } from '../../../src/switchboard.js';

async function codeOf(run: () => unknown): Promise<string | undefined> {
  try {
    await run();
    return undefined;
  } catch (error) {
    return (error as SwitchboardError).code;
  }
}

const slow = defineAgent({
  name: 'slow',
  capabilities: ['job'],
  config: { maxConcurrency: 2 },
  handle: async (n: number) => {
    await new Promise((r) => setTimeout(r, 100));
    return n;
  },
});

let sb: Switchboard;
beforeEach(async () => {
  vi.useFakeTimers();
  sb = createSwitchboard({ agents: [{ definition: slow, min: 1, max: 4, weight: 3 }] });
  await sb.start();
});
afterEach(async () => {
  await sb.shutdown({ drain: false });
  vi.useRealTimers();
});

describe('AgentPool', () => {
  it('starts min instances and lists its definitions', () => {
    expect(sb.pool.definitions()).toEqual([
      expect.objectContaining({ name: 'slow', min: 1, max: 4, weight: 3, count: 1 }),
    ]);
    const [agent] = sb.pool.agents('slow');
    expect(agent).toMatchObject({ weight: 3, remote: false, state: 'ready', maxConcurrency: 2 });
    expect(sb.listAgents()).toHaveLength(1);
  });

  it('scales up and down within min..max; scale-down drains without dropping a task', async () => {
    await sb.pool.scale('slow', 3);
    expect(sb.pool.agents('slow')).toHaveLength(3);
    const handles = await sb.submitMany(
      Array.from({ length: 12 }, (_, i) => ({ capability: 'job', payload: i })),
    );
    const results = Promise.all(handles.map((h) => h.result));
    await vi.advanceTimersByTimeAsync(10);
    const scaling = sb.pool.scale('slow', 1);
    await vi.advanceTimersByTimeAsync(1000);
    await scaling;
    expect(await results).toEqual(Array.from({ length: 12 }, (_, i) => i));
    expect(sb.pool.agents('slow')).toHaveLength(1);
    const attempts = await Promise.all(handles.map(async (h) => (await sb.get(h.id)).attempts));
    expect(attempts.every((a) => a === 1)).toBe(true);
    expect(await codeOf(() => sb.pool.scale('slow', 5))).toBe('invalid_request');
    expect(await codeOf(() => sb.pool.scale('slow', 0))).toBe('invalid_request');
    expect(await codeOf(() => sb.pool.scale('nope', 1))).toBe('not_found');
  });

  it('removes an agent without drain: its tasks go back to the queue and run elsewhere', async () => {
    const [first] = sb.pool.agents('slow');
    const handle = await sb.submit({ capability: 'job', payload: 7 });
    await vi.advanceTimersByTimeAsync(10);
    await sb.addAgent(slow);
    await sb.removeAgent(first?.id as string, { drain: false });
    expect(sb.pool.get(first?.id as string)).toBeUndefined();
    await vi.advanceTimersByTimeAsync(200);
    await expect(handle.result).resolves.toBe(7);
    expect((await sb.get(handle.id)).attempts).toBe(2);
    expect(await codeOf(() => sb.removeAgent('ghost'))).toBe('not_found');
  });

  it('adds instances up to max, and refuses a different definition under a known name', async () => {
    const agents = await sb.addAgent(slow, { count: 3 });
    expect(agents).toHaveLength(3);
    expect(agents.every((a) => a.state === 'ready')).toBe(true);
    expect(await codeOf(() => sb.addAgent(slow))).toBe('invalid_request');
    const impostor = defineAgent({ name: 'slow', capabilities: ['x'], handle: () => 1 });
    expect(await codeOf(() => sb.addAgent(impostor))).toBe('conflict');
    expect(await codeOf(() => sb.addAgent(slow, { count: 0 }))).toBe('invalid_request');
  });

  it('rejects bad pool settings at configuration time', () => {
    expect(() => createSwitchboard({ agents: [{ definition: slow, min: -1 }] })).toThrow(/min/);
    expect(() => createSwitchboard({ agents: [{ definition: slow, min: 3, max: 2 }] })).toThrow(
      /max/,
    );
    expect(() => createSwitchboard({ agents: [{ definition: slow, weight: 0 }] })).toThrow(
      /weight/,
    );
  });

  it('emits pool.scaled when a scale changes the count', async () => {
    const scaled: unknown[] = [];
    sb.events.subscribe('pool.scaled', (e) => {
      scaled.push(e);
    });
    await sb.pool.scale('slow', 3);
    await sb.pool.scale('slow', 3);
    await sb.pool.scale('slow', 2);
    expect(scaled).toEqual([
      expect.objectContaining({ name: 'slow', from: 1, to: 3, reason: 'manual' }),
      expect.objectContaining({ name: 'slow', from: 3, to: 2, reason: 'manual' }),
    ]);
    expect(sb.pool.definitions()[0]?.count).toBe(2);
  });

  it('reports agents and busy counts in stats', async () => {
    await sb.submit({ capability: 'job', payload: 1 });
    await vi.advanceTimersByTimeAsync(1);
    const stats = await sb.stats();
    expect(stats.agents).toMatchObject({ total: 1, busy: 1, byState: { working: 1 } });
    await vi.advanceTimersByTimeAsync(200);
    const after = await sb.stats();
    expect(after.agents.busy).toBe(0);
    expect(after.tasks.completed).toBe(1);
    expect(after.latencyMs.p50).toBeGreaterThanOrEqual(100);
    expect(after.throughputPerSec).toBeGreaterThan(0);
  });
});
