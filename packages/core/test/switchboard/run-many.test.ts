import { describe, expect, it, vi } from 'vitest';
import { defineAgent } from '../../src/agent/definition.js';
import { createMemoryBackend } from '../../src/backends/memory/memory-backend.js';
import type { Backend } from '../../src/contracts/backend.js';
import { SwitchboardError } from '../../src/errors.js';
import type { Priority } from '../../src/model/priority.js';
import { idCounter, taskIdAt } from '../../src/model/task-id.js';
import { createSwitchboard } from '../../src/switchboard.js';
import { gatedAgent } from './gated-agent.js';

const PRIORITIES: Priority[] = ['critical', 'high', 'normal', 'low'];

function doubler(maxConcurrency = 8, calls: unknown[] = []) {
  return defineAgent({
    name: 'double',
    capabilities: ['double'],
    config: { maxConcurrency },
    handle: async (payload: unknown) => {
      calls.push(payload);
      if (payload === 'poison')
        throw new SwitchboardError('internal', 'bad input', { retryable: false });
      if (payload === 'hang') return new Promise(() => undefined);
      return (payload as number) * 2;
    },
  });
}

/** The memory backend handing out copies (no `liveRecords`): results come through `get`. */
function copyingMemory(): Backend {
  const inner = createMemoryBackend();
  const copy = (value: unknown): unknown =>
    Array.isArray(value)
      ? value.map(copy)
      : value !== null && typeof value === 'object' && 'id' in value
        ? { ...value }
        : value !== null && typeof value === 'object' && 'task' in value
          ? { ...value, task: { ...(value as { task: object }).task } }
          : value;
  return new Proxy(inner, {
    get(target, key) {
      if (key === 'liveRecords') return undefined;
      const value = Reflect.get(target, key) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const out = (value as (...a: unknown[]) => unknown).apply(target, args);
        return out instanceof Promise ? out.then(copy) : out;
      };
    },
  }) as Backend;
}

async function errorOf(promise: Promise<unknown>): Promise<SwitchboardError> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error as SwitchboardError,
  );
}

describe('runMany', () => {
  it('resolves with every result in input order, each task run exactly once', async () => {
    const calls: unknown[] = [];
    const sb = createSwitchboard({ agents: [doubler(3, calls)] });
    const inputs = Array.from({ length: 500 }, (_, i) => ({
      capability: 'double',
      payload: i,
      priority: PRIORITIES[i % 4] as Priority,
    }));
    const all = sb.runMany<number>(inputs);
    await sb.start();
    expect(await all).toEqual(inputs.map((_, i) => i * 2));
    expect(calls).toHaveLength(500);
    expect(new Set(calls).size).toBe(500);
    expect((await sb.stats()).tasks.completed).toBe(500);
    await sb.shutdown();
  });

  it('runs higher priorities first, as the tasks queued one by one would', async () => {
    const order: unknown[] = [];
    const agent = defineAgent({
      name: 'one',
      capabilities: ['one'],
      config: { maxConcurrency: 1 },
      handle: (payload: unknown) => {
        order.push(payload);
        return payload;
      },
    });
    const sb = createSwitchboard({ agents: [agent] });
    const all = sb.runMany([
      { capability: 'one', payload: 'low', priority: 'low' },
      { capability: 'one', payload: 'critical', priority: 'critical' },
      { capability: 'one', payload: 'normal' },
    ]);
    await sb.start();
    expect(await all).toEqual(['low', 'critical', 'normal']);
    expect(order).toEqual(['critical', 'normal', 'low']);
    await sb.shutdown();
  });

  it('rejects with task_failed once a task is dead; the other tasks still complete', async () => {
    const sb = createSwitchboard({ agents: [doubler()] });
    await sb.start();
    const error = await errorOf(
      sb.runMany([
        { capability: 'double', payload: 1 },
        { capability: 'double', payload: 'poison' },
        { capability: 'double', payload: 3 },
      ]),
    );
    expect(error.code).toBe('task_failed');
    expect(error.message).toContain('bad input');
    await vi.waitFor(async () =>
      expect((await sb.stats()).tasks).toMatchObject({ completed: 2, dead: 1 }),
    );
    await sb.shutdown();
  });

  it('rejects with cancelled when a task of the batch is cancelled', async () => {
    const sb = createSwitchboard({ agents: [doubler()] });
    const controller = new AbortController();
    const all = sb.runMany([
      { capability: 'double', payload: 1 },
      { capability: 'double', payload: 2, signal: controller.signal },
    ]);
    await Promise.resolve();
    controller.abort();
    expect((await errorOf(all)).code).toBe('cancelled');
    await sb.shutdown({ drain: false });
  });

  it('rejects with unavailable when Switchboard shuts down first', async () => {
    const sb = createSwitchboard({ agents: [doubler()] });
    await sb.start();
    const all = sb.runMany([
      { capability: 'double', payload: 1 },
      { capability: 'double', payload: 'hang' },
    ]);
    await sb.shutdown({ drain: false });
    expect((await errorOf(all)).code).toBe('unavailable');
  });

  it('answers an idempotency key with the earlier task’s result, also within one batch', async () => {
    const sb = createSwitchboard({ agents: [doubler()] });
    await sb.start();
    expect(await sb.run({ capability: 'double', payload: 5, idempotencyKey: 'k5' })).toBe(10);
    const results = await sb.runMany([
      { capability: 'double', payload: 1, idempotencyKey: 'k5' },
      { capability: 'double', payload: 2, idempotencyKey: 'k2' },
      { capability: 'double', payload: 3, idempotencyKey: 'k2' },
      { capability: 'double', payload: 4 },
    ]);
    expect(results).toEqual([10, 4, 4, 8]);
    expect((await sb.stats()).tasks.submitted).toBe(3);
    await sb.shutdown();
  });

  it('rejects a batch with an invalid item before queueing anything', async () => {
    const sb = createSwitchboard({ agents: [doubler()] });
    const error = await errorOf(
      sb.runMany([{ capability: 'double', payload: 1 }, { capability: '' }]),
    );
    expect(error.code).toBe('invalid_request');
    expect(error.details).toEqual([expect.objectContaining({ path: 'tasks.1.capability' })]);
    expect((await errorOf(sb.runMany([]))).code).toBe('invalid_request');
    expect((await sb.stats()).queue.depth).toBe(0);
    await sb.shutdown();
  });

  it('works on a backend that hands out copies of its records', async () => {
    const sb = createSwitchboard({ agents: [doubler()], backend: copyingMemory() });
    await sb.start();
    const inputs = Array.from({ length: 20 }, (_, i) => ({ capability: 'double', payload: i }));
    expect(await sb.runMany<number>(inputs)).toEqual(inputs.map((_, i) => i * 2));
    const error = await errorOf(
      sb.runMany([
        { capability: 'double', payload: 1 },
        { capability: 'double', payload: 'poison' },
      ]),
    );
    expect(error.code).toBe('task_failed');
    const hanging = sb.runMany([{ capability: 'double', payload: 'hang' }]);
    await sb.shutdown({ drain: false });
    expect((await errorOf(hanging)).code).toBe('unavailable');
  });

  it('resolves batches queued while agents run, side by side, with a synchronous handler', async () => {
    const sb = createSwitchboard({
      agents: [
        {
          definition: defineAgent({
            name: 'sync',
            capabilities: ['sync'],
            config: { maxConcurrency: 64 },
            handle: (payload: unknown) => (payload as number) + 1,
          }),
          min: 2,
        },
      ],
    });
    await sb.start();
    const batches = Array.from({ length: 5 }, (_, b) =>
      Array.from({ length: 200 }, (_, i) => ({ capability: 'sync', payload: b * 1000 + i })),
    );
    const results = await Promise.all(batches.map((inputs) => sb.runMany<number>(inputs)));
    results.forEach((out, b) => {
      expect(out).toEqual(batches[b]!.map((input) => input.payload + 1));
    });
    // A batch after them resolves as well.
    expect(await sb.runMany<number>([{ capability: 'sync', payload: 1 }])).toEqual([2]);
    await sb.shutdown();
  });

  it('sends a plain batch as columns: no record is made per task until it is needed', async () => {
    const backend = createMemoryBackend();
    const enqueued = vi.spyOn(backend, 'enqueueColumns');
    const { agent, open } = gatedAgent((payload) => (payload as number) * 2);
    const sb = createSwitchboard({ backend, agents: [agent] });
    const started = new Promise<string>((resolve) => {
      sb.events.subscribe('task.leased', (event) => resolve(event.taskId as string));
    });
    const all = sb.runMany<number>([
      { capability: 'double', payload: 1, priority: 'high' },
      { capability: 'double', payload: 2 },
      { capability: 'double', payload: 3, priority: 'low' },
    ]);
    await vi.waitFor(() => expect(enqueued).toHaveBeenCalledTimes(1));
    expect(await sb.stats()).toMatchObject({ queue: { depth: 3 } });
    await sb.start();
    // The ids are consecutive; the second task, still queued, can be read and cancelled.
    const first = await started;
    const second = taskIdAt(idCounter(first) + 1);
    expect(await sb.get(second)).toMatchObject({ status: 'queued', payload: 2 });
    await sb.cancel(second);
    expect((await errorOf(all)).code).toBe('cancelled');
    open();
    // The others still run; the batch as a whole settled with the cancel.
    await vi.waitFor(async () => expect((await sb.stats()).tasks.completed).toBe(2));
    expect(await sb.get(taskIdAt(idCounter(first) + 2))).toMatchObject({
      status: 'completed',
      result: 6,
    });
    await sb.shutdown();
  });

  it('sends records instead when each task must be seen queued, or has options', async () => {
    const backend = createMemoryBackend();
    const enqueued = vi.spyOn(backend, 'enqueueColumns');
    const sb = createSwitchboard({ backend, agents: [doubler()] });
    await sb.start();
    expect(await sb.runMany([{ capability: 'double', payload: 1, timeoutMs: 500 }])).toEqual([2]);
    expect(await sb.runMany([{ capability: 'double', payload: 2, metadata: {} }])).toEqual([4]);
    const queued: string[] = [];
    const off = sb.events.subscribe('task.queued', (event) => {
      queued.push(event.taskId as string);
    });
    expect(await sb.runMany([{ capability: 'double', payload: 3 }])).toEqual([6]);
    expect(queued).toHaveLength(1);
    off();
    expect(enqueued).not.toHaveBeenCalled();
    expect(await sb.runMany([{ capability: 'double', payload: 4 }])).toEqual([8]);
    expect(enqueued).toHaveBeenCalledTimes(1);
    await sb.shutdown();
  });

  it('rejects with the backend’s error when it refuses a batch of columns', async () => {
    const backend = createMemoryBackend();
    vi.spyOn(backend, 'enqueueColumns').mockRejectedValue(
      new SwitchboardError('unavailable', 'backend down'),
    );
    const sb = createSwitchboard({ backend, agents: [doubler()] });
    await sb.start();
    const error = await errorOf(sb.runMany([{ capability: 'double', payload: 1 }]));
    expect(error).toMatchObject({ code: 'unavailable', message: 'backend down' });
    expect((await sb.stats()).tasks.submitted).toBe(0);
    // Nothing was queued, and the next batch goes through.
    vi.mocked(backend.enqueueColumns).mockRestore();
    expect(await sb.runMany([{ capability: 'double', payload: 2 }])).toEqual([4]);
    await sb.shutdown();
  });
});
