// Delays, backoffs and aborts against the real clock. Fake timers fire exactly when asked and
// cannot show a wake-up that comes early or is forgotten, which is how delayed tasks and
// retries used to stall until unrelated work woke the dispatcher.
import { describe, expect, it } from 'vitest';
import { defineAgent } from '../../src/agent/definition.js';
import { SwitchboardError } from '../../src/errors.js';
import type { TaskContext } from '../../src/model/agent.js';
import { createSwitchboard } from '../../src/switchboard.js';

/**
 * How late a task may start past its due time here. DESIGN.md's bar is 50 ms, which
 * test/timing holds the 99th percentile to; one start may be later while other test files
 * load the cores, but a forgotten due time is far later: the task waits for other work, or
 * forever.
 */
const LATE_MS = 250;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** An agent that records when each task started, by payload. */
function stamping(started: Map<number, number>, now: () => number) {
  return defineAgent({
    name: 'stamper',
    capabilities: ['job'],
    config: { maxConcurrency: 8 },
    handle: (n: number) => {
      started.set(n, now());
      return n;
    },
  });
}

describe('delayed tasks and retries on the real clock', () => {
  it('starts each of several delayed tasks on time, with nothing else to wake the dispatcher', async () => {
    const started = new Map<number, number>();
    const sb = createSwitchboard({ agents: [{ definition: stamping(started, Date.now) }] });
    await sb.start();
    const delays = [5, 30, 60, 15, 90];
    const t0 = Date.now();
    const handles = await sb.submitMany(
      delays.map((delayMs, n) => ({ capability: 'job', payload: n, delayMs })),
    );
    await Promise.race([
      Promise.all(handles.map((h) => h.result)),
      sleep(90 + LATE_MS * 2).then(() => undefined),
    ]);
    const late = delays.map((d, n) => (started.get(n) ?? Number.POSITIVE_INFINITY) - (t0 + d));
    expect(late.every((ms) => ms <= LATE_MS)).toBe(true);
    await sb.shutdown();
  });

  it('starts single delayed tasks on time, one after another', async () => {
    const started = new Map<number, number>();
    const sb = createSwitchboard({ agents: [{ definition: stamping(started, Date.now) }] });
    await sb.start();
    const lateness: number[] = [];
    for (let n = 0; n < 60; n++) {
      const delayMs = 5 + (n % 6);
      const due = Date.now() + delayMs;
      const handle = await sb.submit({ capability: 'job', payload: n, delayMs });
      await Promise.race([handle.result, sleep(delayMs + LATE_MS * 2)]);
      lateness.push((started.get(n) ?? Number.POSITIVE_INFINITY) - due);
    }
    expect(Math.max(...lateness)).toBeLessThanOrEqual(LATE_MS);
    await sb.shutdown();
  });

  it('retries after each backoff without waiting for other work (sb.run with a handler that throws twice)', async () => {
    const attempts = new Map<number, number[]>();
    const flaky = defineAgent({
      name: 'flaky',
      capabilities: ['job'],
      handle: (n: number, ctx: TaskContext) => {
        const seen = attempts.get(n) ?? [];
        seen.push(Date.now());
        attempts.set(n, seen);
        if (ctx.attempt < 3) throw new Error(`attempt ${ctx.attempt} fails`);
        return n;
      },
    });
    const retry = { initialDelayMs: 5, maxDelayMs: 10, factor: 2, jitter: 0 };
    const sb = createSwitchboard({ agents: [{ definition: flaky }], retry });
    await sb.start();
    for (let n = 0; n < 30; n++) {
      const result = await Promise.race([
        sb.run<number>({ capability: 'job', payload: n, maxAttempts: 3 }),
        sleep(15 + LATE_MS * 2).then(() => 'stalled'),
      ]);
      expect(result).toBe(n);
    }
    // Each retry started no later than its backoff plus the bar after the attempt before it.
    for (const [, times] of attempts) {
      expect(times).toHaveLength(3);
      expect((times[1] as number) - (times[0] as number)).toBeLessThanOrEqual(5 + LATE_MS);
      expect((times[2] as number) - (times[1] as number)).toBeLessThanOrEqual(10 + LATE_MS);
    }
    await sb.shutdown();
  });

  it('re-arms a wake-up that fires before the clock reaches the due time', async () => {
    // A clock that runs at 80 % of real time: every timer set from it fires early against it,
    // as Node's timers may against Date.now(). The task must still start once it is due.
    const origin = Date.now();
    const slow = () => origin + Math.floor((Date.now() - origin) * 0.8);
    const started = new Map<number, number>();
    const sb = createSwitchboard({ agents: [{ definition: stamping(started, slow) }], now: slow });
    await sb.start();
    const due = slow() + 40;
    const handle = await sb.submit({ capability: 'job', payload: 1, delayMs: 40 });
    const result = await Promise.race([handle.result, sleep(40 / 0.8 + LATE_MS * 2)]);
    expect(result).toBe(1);
    expect((started.get(1) as number) - due).toBeLessThanOrEqual(LATE_MS);
    await sb.shutdown();
  });
});

describe('the abort signal of an attempt', () => {
  it('is aborted when first read after the task was cancelled', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const seen: { aborted: boolean; reason: unknown }[] = [];
    const agent = defineAgent({
      name: 'late-reader',
      capabilities: ['job'],
      handle: async (_: unknown, ctx: TaskContext) => {
        await gate;
        // The first read of ctx.signal comes after the cancel.
        seen.push({ aborted: ctx.signal.aborted, reason: ctx.signal.reason });
        return 'done';
      },
    });
    const sb = createSwitchboard({ agents: [{ definition: agent }] });
    await sb.start();
    const handle = await sb.submit({ capability: 'job', payload: null });
    while ((await sb.get(handle.id)).status !== 'leased') await sleep(1);
    await sb.cancel(handle.id);
    release();
    await expect(handle.result).rejects.toMatchObject({ code: 'cancelled' });
    while (seen.length === 0) await sleep(1);
    expect(seen[0]?.aborted).toBe(true);
    expect(seen[0]?.reason).toBeInstanceOf(SwitchboardError);
    await sb.shutdown();
  });

  it('is aborted when first read after the attempt timed out', async () => {
    const seen: boolean[] = [];
    const agent = defineAgent({
      name: 'slow-reader',
      capabilities: ['job'],
      handle: async (_: unknown, ctx: TaskContext) => {
        await sleep(60);
        seen.push(ctx.signal.aborted);
        return 'too late';
      },
    });
    const sb = createSwitchboard({ agents: [{ definition: agent }] });
    await sb.start();
    const handle = await sb.submit({
      capability: 'job',
      payload: null,
      timeoutMs: 20,
      maxAttempts: 1,
    });
    await expect(handle.result).rejects.toMatchObject({ code: 'task_failed' });
    while (seen.length === 0) await sleep(1);
    expect(seen[0]).toBe(true);
    await sb.shutdown();
  });
});
