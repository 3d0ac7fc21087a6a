import { describe, expect, it } from 'vitest';
import { defineAgent } from '../../src/agent/definition.js';
import { createMemoryBackend } from '../../src/backends/memory/memory-backend.js';
import type { SwitchboardError } from '../../src/errors.js';
import { definePlugin } from '../../src/plugin/define-plugin.js';
import { createSwitchboard } from '../../src/switchboard.js';

// Real timers throughout: how long a shutdown takes is what these tests are about.

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves once `check` holds, polling every 5 ms (fails the test after 2 s). */
async function until(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 2000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met within 2 s');
    await sleep(5);
  }
}

describe('shutdown', () => {
  it('drains what is in flight, leases nothing queued, and counts both', async () => {
    const started: number[] = [];
    const done: number[] = [];
    const slow = defineAgent({
      name: 'slow',
      capabilities: ['s'],
      config: { maxConcurrency: 2 },
      handle: async (n: number) => {
        started.push(n);
        await sleep(150);
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
    const outcomes = handles.map((h) => h.result.then(String, (e: SwitchboardError) => e.code));
    await until(() => started.length === 2);
    const t0 = Date.now();
    const closing = sb.shutdown({ drain: true, timeoutMs: 5000 });
    expect(sb.accepting).toBe(false);
    const refused = (await sb
      .submit({ capability: 's' })
      .catch((e: unknown) => e)) as SwitchboardError;
    expect(refused.code).toBe('unavailable');
    const summary = await closing;
    const took = Date.now() - t0;
    // The two running tasks finished; the four queued ones were never started.
    expect(summary).toEqual({
      finished: 2,
      released: 0,
      queued: 4,
      durable: false,
      backend: 'memory',
    });
    expect(took).toBeLessThan(1000);
    expect(started).toEqual([0, 1]);
    expect(done).toEqual([0, 1]);
    expect(await Promise.all(outcomes)).toEqual([
      '0',
      '1',
      'unavailable',
      'unavailable',
      'unavailable',
      'unavailable',
    ]);
    expect(hooks).toEqual(['start', 'stop']);
    // Idempotent: a second call gets the same summary.
    expect(await sb.shutdown()).toBe(summary);
  });

  it('does not wait for queued tasks no agent can take', async () => {
    const sb = createSwitchboard();
    await sb.start();
    await sb.submitMany(Array.from({ length: 120 }, () => ({ capability: 'nobody' })));
    await sb.submit({ capability: 'nobody', delayMs: 60_000 });
    const t0 = Date.now();
    const summary = await sb.shutdown({ drain: true, timeoutMs: 5000 });
    expect(Date.now() - t0).toBeLessThan(500);
    expect(summary).toMatchObject({ finished: 0, released: 0, queued: 121, durable: false });
  });

  it('remote agents complete what they hold during the drain; nothing new is leased to them', async () => {
    const backend = createMemoryBackend();
    const sb = createSwitchboard({ backend });
    await sb.start();
    const agent = sb.registerRemote({ name: 'r', capabilities: ['r'], maxConcurrency: 4 });
    const handles = await sb.submitMany(Array.from({ length: 3 }, () => ({ capability: 'r' })));
    const [lease] = await sb.lease(agent.id, { max: 1, waitMs: 1000 });
    const closing = sb.shutdown({ timeoutMs: 5000 });
    expect(await sb.lease(agent.id, { max: 2, waitMs: 100 })).toEqual([]);
    await sleep(100);
    await sb.complete(lease?.id as string, lease?.leaseToken as string, 'ok');
    const summary = await closing;
    expect(summary).toMatchObject({ finished: 1, released: 0, queued: 2 });
    expect(await handles[0]?.result).toBe('ok');
  });

  it('without drain: in-flight tasks go back to the queue, nothing is lost', async () => {
    const backend = createMemoryBackend();
    const closed: boolean[] = [];
    const close = backend.close.bind(backend);
    backend.close = async () => {
      // Kept open so that the records can be read after the shutdown.
      closed.push(true);
      if (closed.length > 1) await close();
    };
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
    await sleep(20);
    const summary = await sb.shutdown({ drain: false });
    expect(summary).toMatchObject({ finished: 0, released: 2, queued: 5 });
    expect(closed).toEqual([true]);
    const records = await Promise.all(handles.map((h) => backend.get(h.id)));
    expect(records.map((r) => r?.status)).toEqual([
      'queued',
      'queued',
      'queued',
      'queued',
      'queued',
    ]);
    expect(((await outcome) as SwitchboardError).code).toBe('unavailable');
  });

  it('a drain that outlasts timeoutMs puts what is left back to the queue', async () => {
    const backend = createMemoryBackend();
    backend.close = async () => {};
    const hang = defineAgent({
      name: 'h2',
      capabilities: ['h'],
      handle: () => new Promise(() => {}),
    });
    const sb = createSwitchboard({ agents: [hang], backend });
    await sb.start();
    const handle = await sb.submit({ capability: 'h' });
    await sleep(20);
    const t0 = Date.now();
    const summary = await sb.shutdown({ drain: true, timeoutMs: 300 });
    const took = Date.now() - t0;
    expect(took).toBeGreaterThanOrEqual(290);
    expect(took).toBeLessThan(1000);
    expect(summary).toMatchObject({ finished: 0, released: 1, queued: 1 });
    expect((await backend.get(handle.id))?.status).toBe('queued');
  });

  it('says so when the backend is durable', async () => {
    const backend = Object.assign(createMemoryBackend(), { durable: true });
    const sb = createSwitchboard({ backend });
    await sb.start();
    await sb.submit({ capability: 'nobody' });
    expect(await sb.shutdown()).toMatchObject({ queued: 1, durable: true, backend: 'memory' });
  });
});
