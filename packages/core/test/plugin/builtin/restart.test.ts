import { restartWithBackoff } from '@switchboard/core';
import { agentFailure, testRecoveryStrategy } from '@switchboard/testing';
import { describe, expect, it } from 'vitest';

testRecoveryStrategy('restart (core)', () => restartWithBackoff());
testRecoveryStrategy('restart (core), no restart', () => restartWithBackoff({ maxRestarts: 0 }));

describe('restartWithBackoff', () => {
  it('doubles the delay with each recent failure up to maxDelayMs, then gives up', () => {
    const strategy = restartWithBackoff({ initialDelayMs: 100, maxDelayMs: 500, maxRestarts: 4 });
    const actions = [1, 2, 3, 4, 5].map((recentFailures) =>
      strategy.onAgentFailure(agentFailure({ recentFailures })),
    );
    expect(actions).toEqual([
      { action: 'restart', delayMs: 100 },
      { action: 'restart', delayMs: 200 },
      { action: 'restart', delayMs: 400 },
      { action: 'restart', delayMs: 500 },
      { action: 'give_up', reason: '5 failures in the window' },
    ]);
  });

  it('gives a remote agent up at once: it registers again itself', () => {
    expect(restartWithBackoff().onAgentFailure(agentFailure({ remote: true }))).toEqual({
      action: 'give_up',
      reason: 'remote agents register again',
    });
  });
});
