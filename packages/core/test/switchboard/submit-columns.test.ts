import { describe, expect, it, vi } from 'vitest';
import { defineAgent } from '../../src/agent/definition.js';
import { createMemoryBackend } from '../../src/backends/memory/memory-backend.js';
import { idCounter } from '../../src/model/task-id.js';
import { createSwitchboard } from '../../src/switchboard.js';
import { gatedAgent } from './gated-agent.js';

function doubler(maxConcurrency = 8) {
  return defineAgent({
    name: 'double',
    capabilities: ['double'],
    config: { maxConcurrency },
    handle: async (payload: unknown) => {
      if (payload === 'poison') throw new Error('bad input');
      return (payload as number) * 2;
    },
  });
}

describe('submitMany of a plain batch (kept as columns)', () => {
  it('hands out handles whose ids, results and JSON are those of any handle', async () => {
    const backend = createMemoryBackend();
    const columns = vi.spyOn(backend, 'enqueueColumns');
    const sb = createSwitchboard({ backend, agents: [doubler()] });
    const handles = await sb.submitMany([
      { capability: 'double', payload: 1, priority: 'low' },
      { capability: 'double', payload: 2 },
    ]);
    expect(columns).toHaveBeenCalledTimes(1);
    const [a, b] = handles as [(typeof handles)[0], (typeof handles)[0]];
    expect(idCounter(b.id)).toBe(idCounter(a.id) + 1);
    expect(a.id).toBe(a.id);
    expect(JSON.parse(JSON.stringify(handles))).toEqual([
      { id: a.id, created: true },
      { id: b.id, created: true },
    ]);
    expect(await sb.get(b.id)).toMatchObject({ status: 'queued', payload: 2 });
    await sb.start();
    expect(await Promise.all(handles.map((h) => h.result))).toEqual([2, 4]);
    expect(await sb.get(a.id)).toMatchObject({ status: 'completed', result: 2 });
    await sb.shutdown();
  });

  it('settles a result read after its task ended, even once the record is evicted', async () => {
    const sb = createSwitchboard({
      backend: createMemoryBackend({ maxRetained: 0 }),
      agents: [doubler()],
    });
    await sb.start();
    const handles = await sb.submitMany(
      Array.from({ length: 50 }, (_, i) => ({ capability: 'double', payload: i })),
    );
    await vi.waitFor(async () => expect((await sb.stats()).tasks.completed).toBe(50));
    await expect(sb.get(handles[7]?.id as string)).rejects.toMatchObject({ code: 'not_found' });
    expect(await Promise.all(handles.map((h) => h.result))).toEqual(
      Array.from({ length: 50 }, (_, i) => i * 2),
    );
    await sb.shutdown();
  });

  it('rejects a failed or cancelled task’s result, and unfinished ones at shutdown', async () => {
    const { agent, open } = gatedAgent((payload) => {
      if (payload === 'poison') throw new Error('bad input');
      return payload;
    });
    const sb = createSwitchboard({ agents: [agent], defaultMaxAttempts: 1 });
    const [poison, queued, later] = await sb.submitMany([
      { capability: 'double', payload: 'poison', priority: 'critical' },
      { capability: 'double', payload: 'q' },
      { capability: 'double', payload: 'l', priority: 'low' },
    ]);
    await sb.start();
    // Cancelled while queued, through its handle: its record is made for the cancel.
    expect(await queued?.cancel()).toMatchObject({ status: 'cancelled', payload: 'q' });
    await expect(queued?.result).rejects.toMatchObject({ code: 'cancelled' });
    open();
    await expect(poison?.result).rejects.toMatchObject({ code: 'task_failed' });
    expect(await later?.result).toBe('l');
    await sb.shutdown();
    // A batch that never ran: its results reject at shutdown, read before or after it.
    const idle = createSwitchboard({ agents: [doubler()] });
    const [first, second] = await idle.submitMany([
      { capability: 'double', payload: 1 },
      { capability: 'double', payload: 2 },
    ]);
    const early = first?.result;
    await idle.shutdown({ drain: false });
    await expect(early).rejects.toMatchObject({ code: 'unavailable' });
    await expect(second?.result).rejects.toMatchObject({ code: 'unavailable' });
  });
});
