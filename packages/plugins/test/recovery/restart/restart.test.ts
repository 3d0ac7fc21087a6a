import { restart } from '@switchboard/plugins/restart';
import { agentFailure, testRecoveryStrategy } from '@switchboard/testing';
import { describe, expect, it } from 'vitest';

testRecoveryStrategy('restart', () => restart());
testRecoveryStrategy('restart then replace', () =>
  restart({ maxRestarts: 1, escalate: 'replace' }),
);

describe('restart', () => {
  it('backs off exponentially up to maxDelayMs, then gives up past maxRestarts', () => {
    const strategy = restart({
      initialDelayMs: 100,
      maxDelayMs: 300,
      maxRestarts: 3,
      windowMs: 60_000,
    });
    const actions = [0, 1_000, 2_000, 3_000].map((dt) =>
      strategy.onAgentFailure(agentFailure({ now: 1_000_000 + dt })),
    );
    expect(actions.slice(0, 3)).toEqual([
      { action: 'restart', delayMs: 100 },
      { action: 'restart', delayMs: 200 },
      { action: 'restart', delayMs: 300 },
    ]);
    expect(actions[3]).toEqual({
      action: 'give_up',
      reason: expect.stringContaining('worker failed (crashed) after 3 restarts within 60000 ms'),
    });
  });

  it('counts restarts within the window only: old ones age out', () => {
    const strategy = restart({ initialDelayMs: 50, maxRestarts: 2, windowMs: 10_000 });
    const at = (now: number) => strategy.onAgentFailure(agentFailure({ now }));
    expect(at(0)).toEqual({ action: 'restart', delayMs: 50 });
    expect(at(4_000)).toEqual({ action: 'restart', delayMs: 100 });
    expect(at(9_999).action).toBe('give_up');
    // The restart at 0 is now 10 s old: one slot is free again, and the delay reflects one restart left in the window.
    expect(at(10_000)).toEqual({ action: 'restart', delayMs: 100 });
    // Long quiet: the intensity starts over.
    expect(at(100_000)).toEqual({ action: 'restart', delayMs: 50 });
  });

  it('counts per agent definition', () => {
    const strategy = restart({ maxRestarts: 1 });
    expect(strategy.onAgentFailure(agentFailure({ agentName: 'browser' })).action).toBe('restart');
    expect(strategy.onAgentFailure(agentFailure({ agentName: 'llm' })).action).toBe('restart');
    expect(
      strategy.onAgentFailure(agentFailure({ agentName: 'browser', now: 1_000_001 })).action,
    ).toBe('give_up');
  });

  it("escalates to 'replace' past the limit when told to", () => {
    const strategy = restart({ maxRestarts: 0, escalate: 'replace' });
    expect(strategy.onAgentFailure(agentFailure())).toEqual({ action: 'replace' });
  });

  it('sends remote agents to failover, without counting a restart', () => {
    const strategy = restart({ maxRestarts: 1 });
    expect(strategy.onAgentFailure(agentFailure({ remote: true }))).toEqual({ action: 'failover' });
    expect(strategy.onAgentFailure(agentFailure()).action).toBe('restart');
  });

  it('refuses bad options at construction, naming the plugin', () => {
    expect(() => restart({ initialDelayMs: -1 })).toThrow(
      /\[restart\] initialDelayMs must be a number >= 0/,
    );
    expect(() => restart({ maxRestarts: 1.5 })).toThrow(/maxRestarts must be an integer/);
    expect(() => restart({ windowMs: 0 })).toThrow(/windowMs must be a number > 0/);
    expect(() => restart({ factor: 0.5 })).toThrow(/factor/);
    expect(() => restart({ initialDelayMs: 500, maxDelayMs: 100 })).toThrow(
      /maxDelayMs \(100\) is below initialDelayMs/,
    );
    expect(() => restart({ escalate: 'explode' as never })).toThrow(
      /escalate must be "replace" or "give_up"/,
    );
  });
});
