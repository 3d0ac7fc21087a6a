import { failover } from '@switchboard/plugins/failover';
import { agentFailure, testRecoveryStrategy } from '@switchboard/testing';
import { describe, expect, it } from 'vitest';

testRecoveryStrategy('failover', () => failover());

describe('failover', () => {
  it('promotes a standby for local and remote agents alike', () => {
    const strategy = failover();
    expect(strategy.onAgentFailure(agentFailure())).toEqual({ action: 'failover' });
    expect(
      strategy.onAgentFailure(agentFailure({ remote: true, reason: 'heartbeat_timeout' })),
    ).toEqual({ action: 'failover' });
  });

  it('refuses options that are not an object', () => {
    expect(() => failover('fast' as never)).toThrow(
      /\[switchboard\] \[failover\] options must be an object, got "fast"/,
    );
  });
});
