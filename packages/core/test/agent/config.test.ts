import { describe, expect, it } from 'vitest';
import {
  DEFAULT_AGENT_CONFIG,
  normalizeCapability,
  resolveAgentConfig,
  retryDelay,
} from '../../src/agent/index.js';
import { SwitchboardError } from '../../src/errors.js';

function failure(fn: () => unknown): SwitchboardError {
  try {
    fn();
  } catch (e) {
    if (e instanceof SwitchboardError) return e;
    throw e;
  }
  throw new Error('expected a SwitchboardError');
}

describe('normalizeCapability', () => {
  it('fills defaults from a bare name: type = name, version "1"', () => {
    expect(normalizeCapability('llm')).toEqual({ name: 'llm', type: 'llm', version: '1' });
  });

  it('keeps what is given, copies and freezes parameters', () => {
    const parameters = { model: 'x' };
    const c = normalizeCapability({
      name: 'browser',
      type: 'browser_control',
      version: '2.1',
      parameters,
    });
    expect(c).toEqual({ name: 'browser', type: 'browser_control', version: '2.1', parameters });
    parameters.model = 'changed';
    expect(c.parameters).toEqual({ model: 'x' });
    expect(Object.isFrozen(c)).toBe(true);
  });

  it.each([
    ['', /name must be a non-empty string/],
    [{ name: ' ' }, /name must be/],
    [{ name: 'a', version: '2.x' }, /version "2.x"/],
    [{ name: 'a', type: '' }, /type must be/],
    [{ name: 'a', parameters: 3 }, /parameters must be an object/],
    [null, /expected a name/],
  ])('rejects %j with invalid_config', (input, message) => {
    const error = failure(() => normalizeCapability(input as never, 'capabilities[0]'));
    expect(error.code).toBe('invalid_config');
    expect(error.message).toMatch(message);
    expect(error.message).toMatch(/^capabilities\[0\]: /);
  });
});

describe('resolveAgentConfig', () => {
  it('gives the documented defaults, frozen', () => {
    const config = resolveAgentConfig();
    expect(config).toEqual(DEFAULT_AGENT_CONFIG);
    expect(config).toMatchObject({ maxConcurrency: 1, timeoutMs: 30_000 });
    expect(Object.isFrozen(config) && Object.isFrozen(config.retry)).toBe(true);
  });

  it('merges retry field by field and over a given base', () => {
    const base = resolveAgentConfig({ maxConcurrency: 4, retry: { backoff: 'fixed' } });
    const config = resolveAgentConfig({ retry: { maxAttempts: 5 }, resources: { gpu: 1 } }, base);
    expect(config.maxConcurrency).toBe(4);
    expect(config.retry).toEqual({
      ...DEFAULT_AGENT_CONFIG.retry,
      backoff: 'fixed',
      maxAttempts: 5,
    });
    expect(config.resources).toEqual({ gpu: 1 });
  });

  it.each([
    [{ maxConcurrency: 0 }, 'maxConcurrency'],
    [{ maxConcurrency: 1.5 }, 'maxConcurrency'],
    [{ timeoutMs: -1 }, 'timeoutMs'],
    [{ timeoutMs: Number.NaN }, 'timeoutMs'],
    [{ heartbeatIntervalMs: 0 }, 'heartbeatIntervalMs'],
    [{ heartbeatIntervalMs: 1000, heartbeatTimeoutMs: 500 }, 'heartbeatTimeoutMs'],
    [{ retry: { maxAttempts: 0 } }, 'retry.maxAttempts'],
    [{ retry: { maxAttempts: 101 } }, 'retry.maxAttempts'],
    [{ retry: { backoff: 'linear' } }, 'retry.backoff'],
    [{ retry: { initialDelayMs: 10, maxDelayMs: 5 } }, 'retry.maxDelayMs'],
    [{ retry: { jitter: 2 } }, 'retry.jitter'],
    [{ retry: { retries: 3 } }, 'retry.retries'],
    [{ retry: 3 }, 'retry'],
    [{ resources: { memoryMb: -5 } }, 'resources.memoryMb'],
    [{ resources: 'lots' }, 'resources'],
    [{ concurrency: 2 }, 'concurrency'],
    [[], 'config'],
  ])('rejects %j naming %s', (input, field) => {
    const error = failure(() => resolveAgentConfig(input as never));
    expect(error.code).toBe('invalid_config');
    expect(error.details).toMatchObject({ field });
    expect(error.message).toContain(`agent config: ${field} `);
  });
});

it('names a BigInt setting without crashing on its serialization', () => {
  const error = failure(() => resolveAgentConfig({ timeoutMs: 10n } as never));
  expect(error.message).toBe('agent config: timeoutMs must be a number ≥ 1 (got 10)');
});

describe('retryDelay', () => {
  const policy = { ...DEFAULT_AGENT_CONFIG.retry, initialDelayMs: 100, maxDelayMs: 1000 };

  it('doubles exponentially up to the cap, with jitter taking up to its share off', () => {
    const none = () => 0;
    const p = { ...policy, maxAttempts: 10 };
    expect([1, 2, 3, 4, 5].map((a) => retryDelay(p, a, none))).toEqual([100, 200, 400, 800, 1000]);
    expect(retryDelay(p, 1, () => 1)).toBeCloseTo(80);
  });

  it('waits the same with fixed backoff and stops when attempts run out', () => {
    const fixed = { ...policy, backoff: 'fixed' as const, jitter: 0, maxAttempts: 3 };
    expect(retryDelay(fixed, 1)).toBe(100);
    expect(retryDelay(fixed, 2)).toBe(100);
    expect(retryDelay(fixed, 3)).toBeUndefined();
  });
});
