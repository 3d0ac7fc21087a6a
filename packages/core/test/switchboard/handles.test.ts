import { describe, expect, it } from 'vitest';
import { defineAgent } from '../../src/agent/definition.js';
import { createMemoryBackend } from '../../src/backends/memory/memory-backend.js';
import type { Backend } from '../../src/contracts/backend.js';
import { SwitchboardError } from '../../src/errors.js';
import { createSwitchboard } from '../../src/switchboard.js';

const echo = defineAgent({
  name: 'echo',
  capabilities: ['echo'],
  config: { maxConcurrency: 4 },
  handle: (payload: unknown) => {
    if (payload === 'poison')
      throw new SwitchboardError('internal', 'bad input', { retryable: false });
    return payload;
  },
});

/**
 * The memory backend without some of its optional members: without `liveRecords` handles
 * must ask it with `get`, without `completeMany` completions go one `complete` each.
 */
function opaqueMemory(hidden: readonly string[]): Backend {
  const inner = createMemoryBackend();
  return new Proxy(inner, {
    get(target, key) {
      if (typeof key === 'string' && hidden.includes(key)) return undefined;
      const value = Reflect.get(target, key) as unknown;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  }) as Backend;
}

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  return promise.then(
    () => undefined,
    (error: unknown) => (error as SwitchboardError).code,
  );
}

describe.each([
  ['memory (live records)', () => createMemoryBackend()],
  ['a backend without live records', () => opaqueMemory(['liveRecords'])],
  ['a backend without completeMany', () => opaqueMemory(['liveRecords', 'completeMany'])],
])('task handles, %s', (_name, backend) => {
  it('settle when `result` is first read after the task ended', async () => {
    const sb = createSwitchboard({ agents: [echo], backend: backend() });
    await sb.start();
    const [done, dead, cancelled] = await sb.submitMany([
      { capability: 'echo', payload: 'x' },
      { capability: 'echo', payload: 'poison', maxAttempts: 1 },
      { capability: 'nobody', payload: 'y' },
    ]);
    await cancelled?.cancel();
    expect((await sb.waitFor(dead!.id, 5_000)).status).toBe('dead');
    expect((await sb.waitFor(done!.id, 5_000)).status).toBe('completed');
    await expect(done!.result).resolves.toBe('x');
    expect(await codeOf(dead!.result)).toBe('task_failed');
    expect(await codeOf(cancelled!.result)).toBe('cancelled');
    await sb.shutdown();
  });

  it('reject with unavailable when read after shutdown left the task unfinished', async () => {
    const sb = createSwitchboard({ agents: [echo], backend: backend() });
    const early = await sb.submit({ capability: 'nobody' });
    const earlyResult = early.result;
    const late = await sb.submit({ capability: 'nobody' });
    await sb.start();
    await sb.shutdown({ drain: false });
    expect(await codeOf(earlyResult)).toBe('unavailable');
    expect(await codeOf(late.result)).toBe('unavailable');
  });

  it('let several callers await one task, and one of them stop waiting', async () => {
    const sb = createSwitchboard({ agents: [echo], backend: backend() });
    const handle = await sb.submit({ capability: 'echo', payload: 7 });
    const first = handle.result;
    const polled = sb.waitFor(handle.id, 0);
    const waited = sb.waitFor(handle.id, 5_000);
    expect((await polled).status).toBe('queued');
    await sb.start();
    await expect(first).resolves.toBe(7);
    expect((await waited).status).toBe('completed');
    await sb.shutdown();
  });
});
