import { replacement } from '@switchboard/plugins/replacement';
import { agentFailure, testRecoveryStrategy } from '@switchboard/testing';
import { describe, expect, it } from 'vitest';

testRecoveryStrategy('replacement', () => replacement());

describe('replacement', () => {
  it('replaces a local agent at once, whatever the reason and however often', () => {
    const strategy = replacement();
    for (const reason of ['crashed', 'hung', 'error_rate'] as const) {
      expect(strategy.onAgentFailure(agentFailure({ reason, recentFailures: 50 }))).toEqual({
        action: 'replace',
      });
    }
  });

  it('fails a remote agent over to a standby, since it cannot be made here', () => {
    expect(replacement().onAgentFailure(agentFailure({ remote: true }))).toEqual({
      action: 'failover',
    });
  });
});
