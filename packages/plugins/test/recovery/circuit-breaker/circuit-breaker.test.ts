import type { RecoveryStrategy } from '@switchboard/core';
import { circuitBreaker } from '@switchboard/plugins/circuit-breaker';
import { replacement } from '@switchboard/plugins/replacement';
import { agentFailure, testRecoveryStrategy } from '@switchboard/testing';
import { describe, expect, it, vi } from 'vitest';

testRecoveryStrategy('circuit-breaker', () =>
  circuitBreaker({ failureThreshold: 3, cooldownMs: 5_000 }),
);
testRecoveryStrategy('circuit-breaker by ratio', () =>
  circuitBreaker({
    failureThreshold: 100,
    failureRatio: 0.5,
    minRequests: 4,
    cooldownMs: 5_000,
    windowMs: 20_000,
  }),
);

const fail = (cb: ReturnType<typeof circuitBreaker>, now: number, times = 1, id = 'a1') => {
  for (let i = 0; i < times; i++) cb.onTaskOutcome?.(id, false, now);
};

describe('circuitBreaker', () => {
  it('opens after failureThreshold failures within the window, for that agent only', () => {
    const cb = circuitBreaker({ failureThreshold: 3, windowMs: 10_000 });
    fail(cb, 1_000, 2);
    expect(cb.admits?.('a1', 1_500)).toBe(true);
    fail(cb, 2_000);
    expect(cb.stateOf('a1')).toBe('open');
    expect(cb.admits?.('a1', 2_001)).toBe(false);
    expect(cb.admits?.('a2', 2_001)).toBe(true);
    expect(cb.stateOf('a2')).toBe('closed');
  });

  it('does not open for failures spread wider than the window', () => {
    const cb = circuitBreaker({ failureThreshold: 3, windowMs: 10_000 });
    fail(cb, 0);
    fail(cb, 6_000);
    fail(cb, 12_000); // the first is 12 s old by now
    expect(cb.stateOf('a1')).toBe('closed');
    fail(cb, 13_000);
    expect(cb.stateOf('a1')).toBe('open');
  });

  it('half-opens after the cooldown, admits one probe, and closes when it succeeds', () => {
    const cb = circuitBreaker({ failureThreshold: 1, cooldownMs: 5_000 });
    fail(cb, 10_000);
    expect(cb.admits?.('a1', 14_999)).toBe(false);
    expect(cb.admits?.('a1', 15_000)).toBe(true);
    expect(cb.stateOf('a1')).toBe('half_open');
    expect(cb.admits?.('a1', 15_001)).toBe(false); // one probe at a time
    cb.onTaskOutcome?.('a1', true, 15_200);
    expect(cb.stateOf('a1')).toBe('closed');
    expect(cb.admits?.('a1', 15_201)).toBe(true);
    expect(cb.admits?.('a1', 15_202)).toBe(true);
  });

  it('opens again when the probe fails, for a whole new cooldown', () => {
    const cb = circuitBreaker({ failureThreshold: 1, cooldownMs: 5_000 });
    fail(cb, 0);
    expect(cb.admits?.('a1', 5_000)).toBe(true);
    fail(cb, 5_100);
    expect(cb.stateOf('a1')).toBe('open');
    expect(cb.admits?.('a1', 10_000)).toBe(false);
    expect(cb.admits?.('a1', 10_100)).toBe(true);
  });

  it('admits another probe when the first never reports back', () => {
    const cb = circuitBreaker({ failureThreshold: 1, cooldownMs: 1_000 });
    fail(cb, 0);
    expect(cb.admits?.('a1', 1_000)).toBe(true);
    expect(cb.admits?.('a1', 1_999)).toBe(false);
    expect(cb.admits?.('a1', 2_000)).toBe(true);
  });

  it('ignores late outcomes of tasks that started before it opened', () => {
    const cb = circuitBreaker({ failureThreshold: 1, cooldownMs: 1_000 });
    fail(cb, 0);
    cb.onTaskOutcome?.('a1', true, 10);
    expect(cb.stateOf('a1')).toBe('open');
    expect(cb.admits?.('a1', 500)).toBe(false);
  });

  it('opens on a failure ratio once minRequests outcomes are in the window', () => {
    const cb = circuitBreaker({
      failureThreshold: 100,
      failureRatio: 0.5,
      minRequests: 6,
      windowMs: 60_000,
    });
    for (const ok of [true, false, true, false, true]) cb.onTaskOutcome?.('a1', ok, 1_000);
    expect(cb.stateOf('a1')).toBe('closed'); // 2 of 5: too few outcomes to judge
    cb.onTaskOutcome?.('a1', false, 2_000); // 3 of 6 = 0.5
    expect(cb.stateOf('a1')).toBe('open');
  });

  it('does not count outcomes that have left the ratio window', () => {
    const cb = circuitBreaker({
      failureThreshold: 100,
      failureRatio: 0.5,
      minRequests: 4,
      windowMs: 10_000,
    });
    for (let i = 0; i < 3; i++) cb.onTaskOutcome?.('a1', false, 0);
    for (let i = 0; i < 3; i++) cb.onTaskOutcome?.('a1', true, 20_000);
    cb.onTaskOutcome?.('a1', false, 20_000);
    expect(cb.stateOf('a1')).toBe('closed'); // 1 of 4 in the window
  });

  it('leaves failed agents to its inner strategy, restart by default', () => {
    expect(circuitBreaker().onAgentFailure(agentFailure())).toEqual({
      action: 'restart',
      delayMs: 100,
    });
    expect(circuitBreaker({ inner: replacement() }).onAgentFailure(agentFailure())).toEqual({
      action: 'replace',
    });
  });

  it('forgets a removed agent and tells its inner strategy', () => {
    const agentRemoved = vi.fn();
    const inner: RecoveryStrategy = {
      name: 'inner',
      onAgentFailure: () => ({ action: 'failover' }),
      agentRemoved,
    };
    const cb = circuitBreaker({ failureThreshold: 1, inner });
    fail(cb, 0);
    cb.agentRemoved?.('a1');
    expect(cb.stateOf('a1')).toBe('closed');
    expect(cb.admits?.('a1', 1)).toBe(true);
    expect(agentRemoved).toHaveBeenCalledWith('a1');
  });

  it('refuses bad options at construction, naming the plugin', () => {
    expect(() => circuitBreaker({ failureThreshold: 0 })).toThrow(
      /\[circuit-breaker\] failureThreshold must be an integer >= 1/,
    );
    expect(() => circuitBreaker({ cooldownMs: -5 })).toThrow(/cooldownMs must be a number > 0/);
    expect(() => circuitBreaker({ failureRatio: 2 })).toThrow(
      /failureRatio must be a number > 0 and <= 1/,
    );
    expect(() => circuitBreaker({ inner: {} as never })).toThrow(
      /inner must be a recovery strategy/,
    );
  });
});
