import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LoopLag } from '../../src/health/loop-lag.js';

describe('LoopLag', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_000_000 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('reads ~0 on a free loop and the stall length after a stall', () => {
    const ticks: number[] = [];
    const probe = new LoopLag({ intervalMs: 100, onTick: (_now, lag) => ticks.push(lag) });
    probe.start();
    vi.advanceTimersByTime(300);
    expect(ticks).toEqual([0, 0, 0]);
    // The loop is blocked for 2 s: time passes, timers do not run.
    vi.setSystemTime(Date.now() + 2_000);
    vi.advanceTimersByTime(100);
    expect(probe.lagMs).toBe(2_000);
    expect(probe.maxLagMs).toBe(2_000);
    // One late firing, not twenty catch-up firings.
    expect(ticks).toHaveLength(4);
    vi.advanceTimersByTime(100);
    expect(probe.lagMs).toBe(0);
    expect(probe.maxLagMs).toBe(2_000);
    probe.resetMax();
    expect(probe.maxLagMs).toBe(0);
    probe.stop();
  });

  it('keeps firing when onTick throws, and stop leaves no timer', () => {
    let calls = 0;
    const probe = new LoopLag({
      intervalMs: 50,
      onTick: () => {
        calls++;
        throw new Error('listener bug');
      },
    });
    probe.start();
    probe.start();
    expect(vi.getTimerCount()).toBe(1);
    expect(() => vi.advanceTimersByTime(50)).toThrow('listener bug');
    expect(() => vi.advanceTimersByTime(50)).toThrow('listener bug');
    expect(calls).toBe(2);
    probe.stop();
    probe.stop();
    expect(probe.running).toBe(false);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('rejects a non-positive interval', () => {
    expect(() => new LoopLag({ intervalMs: 0 })).toThrow(
      expect.objectContaining({ code: 'invalid_config' }),
    );
  });
});
