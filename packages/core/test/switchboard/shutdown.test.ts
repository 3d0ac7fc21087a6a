import { describe, expect, it, vi } from 'vitest';
import { defineAgent } from '../../src/agent/definition.js';
import { createMemoryBackend } from '../../src/backend/memory-backend.js';
import type { SwitchboardError } from '../../src/errors.js';
import { definePlugin } from '../../src/plugin/define-plugin.js';
import { createSwitchboard } from '../../src/switchboard.js';

describe('shutdown', () => {
  it('drains: in-flight tasks finish, queued ones run, new submits are unavailable', async () => {
    vi.useFakeTimers();
    try {
      const done: number[] = [];
      const slow = defineAgent({
        name: 'slow',
        capabilities: ['s'],
        config: { maxConcurrency: 2 },
        handle: async (n: number) => {
          await new Promise((r) => setTimeout(r, 100));
          done.push(n);
          return n;
        },
      });
      const hooks: string[] = [];
      const sb = createSwitchboard({
        agents: [slow],
        plugins: [
          definePlugin({
            name: 'hooks',
            setup: (ctx) =>
              ctx.hooks({
                start: () => void hooks.push('start'),
                stop: () => void hooks.push('stop'),
              }),
          }),
        ],
      });
      await sb.start();
      const handles = await sb.submitMany(
        Array.from({ length: 6 }, (_, i) => ({ capability: 's', payload: i })),
      );
      const results = Promise.all(handles.map((h) => h.result));
      await vi.advanceTimersByTimeAsync(50);
      const closing = sb.shutdown({ drain: true });
      expect(sb.accepting).toBe(false);
      const refused = (await sb
        .submit({ capability: 's' })
        .catch((e: unknown) => e)) as SwitchboardError;
      expect(refused.code).toBe('unavailable');
      await vi.advanceTimersByTimeAsync(400);
      await closing;
      expect(await results).toEqual([0, 1, 2, 3, 4, 5]);
      expect(done.sort()).toEqual([0, 1, 2, 3, 4, 5]);
      expect(hooks).toEqual(['start', 'stop']);
    } finally {
      vi.useRealTimers();
    }
  });

  it('without drain: in-flight tasks go back to the queue, nothing is lost', async () => {
    vi.useFakeTimers();
    try {
      const backend = createMemoryBackend();
      const close = vi.spyOn(backend, 'close').mockResolvedValue(undefined);
      const hang = defineAgent({
        name: 'hang',
        capabilities: ['h'],
        config: { maxConcurrency: 2 },
        handle: () => new Promise(() => {}),
      });
      const sb = createSwitchboard({ agents: [hang], backend });
      await sb.start();
      const handles = await sb.submitMany(Array.from({ length: 5 }, () => ({ capability: 'h' })));
      const outcome = handles[0]?.result.catch((e: unknown) => e);
      await vi.advanceTimersByTimeAsync(10);
      await sb.shutdown({ drain: false });
      expect(close).toHaveBeenCalled();
      const records = await Promise.all(handles.map((h) => backend.get(h.id)));
      expect(records.map((r) => r?.status)).toEqual([
        'queued',
        'queued',
        'queued',
        'queued',
        'queued',
      ]);
      expect(((await outcome) as SwitchboardError).code).toBe('unavailable');
    } finally {
      vi.useRealTimers();
    }
  });

  it('a drain that outlasts timeoutMs puts what is left back to the queue', async () => {
    vi.useFakeTimers();
    try {
      const backend = createMemoryBackend();
      vi.spyOn(backend, 'close').mockResolvedValue(undefined);
      const hang = defineAgent({
        name: 'h2',
        capabilities: ['h'],
        handle: () => new Promise(() => {}),
      });
      const sb = createSwitchboard({ agents: [hang], backend });
      await sb.start();
      const handle = await sb.submit({ capability: 'h' });
      await vi.advanceTimersByTimeAsync(10);
      const closing = sb.shutdown({ drain: true, timeoutMs: 1000 });
      await vi.advanceTimersByTimeAsync(1100);
      await closing;
      expect((await backend.get(handle.id))?.status).toBe('queued');
    } finally {
      vi.useRealTimers();
    }
  });
});
