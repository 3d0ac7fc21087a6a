import { degradedMode } from '@switchboard/plugins/degraded-mode';
import { agentFailure, testRecoveryStrategy } from '@switchboard/testing';
import { describe, expect, it } from 'vitest';

testRecoveryStrategy('degraded-mode', () => degradedMode());

describe('degradedMode', () => {
  it('sheds below high priority and halves concurrency by default', () => {
    expect(degradedMode().onAgentFailure(agentFailure())).toEqual({
      action: 'degrade',
      minPriority: 'high',
      concurrencyFactor: 0.5,
    });
  });

  it('uses the configured priority floor and factor', () => {
    expect(
      degradedMode({ minPriority: 'critical', concurrencyFactor: 1 }).onAgentFailure(
        agentFailure({ remote: true }),
      ),
    ).toEqual({
      action: 'degrade',
      minPriority: 'critical',
      concurrencyFactor: 1,
    });
  });

  it('refuses an unknown priority or a factor outside (0, 1]', () => {
    expect(() => degradedMode({ minPriority: 'urgent' as never })).toThrow(
      /\[degraded-mode\] minPriority must be one of critical, high, normal, low, got "urgent"/,
    );
    for (const concurrencyFactor of [0, 1.5, -0.2, Number.NaN]) {
      expect(() => degradedMode({ concurrencyFactor })).toThrow(
        /concurrencyFactor must be a number > 0 and <= 1/,
      );
    }
  });
});
