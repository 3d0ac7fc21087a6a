import {
  type LoadBalancer,
  type PluginContext,
  type RecoveryStrategy,
  type Serializer,
  StrategyRegistry,
  silentLogger,
} from '@switchboard/core';
import * as plugins from '@switchboard/plugins';
import { builtinPlugin } from '@switchboard/plugins';
import { candidate, selectContext } from '@switchboard/testing';
import { describe, expect, it } from 'vitest';

/** Runs the plugin's setup against registries, as a Switchboard instance does. */
function install() {
  const registries = {
    loadBalancer: new StrategyRegistry<LoadBalancer>('loadBalancer'),
    recovery: new StrategyRegistry<RecoveryStrategy>('recovery'),
    serializer: new StrategyRegistry<Serializer>('serializer'),
  };
  const ctx: PluginContext = {
    loadBalancer: (name, factory) => registries.loadBalancer.register(name, factory),
    recovery: (name, factory) => registries.recovery.register(name, factory),
    serializer: (name, factory) => registries.serializer.register(name, factory),
    backend: () => {
      throw new Error('the builtin plugin registers no backend');
    },
    hooks: () => {
      throw new Error('the builtin plugin registers no hooks');
    },
    logger: silentLogger,
  };
  builtinPlugin.setup(ctx);
  return registries;
}

const never = (_: unknown): _ is never => false;

describe('builtinPlugin', () => {
  it('registers every built-in strategy by name', () => {
    const r = install();
    expect(r.loadBalancer.names()).toEqual([
      'capability-aware',
      'least-busy',
      'p2c',
      'random',
      'round-robin',
      'session-affinity',
      'weighted',
    ]);
    expect(r.recovery.names()).toEqual([
      'circuit-breaker',
      'degraded-mode',
      'failover',
      'replacement',
      'restart',
    ]);
    expect(r.serializer.names()).toEqual(['cbor', 'json']);
  });

  it('makes each strategy from its name alone, named as registered', () => {
    const r = install();
    for (const kind of ['loadBalancer', 'recovery', 'serializer'] as const) {
      for (const name of r[kind].names()) expect(r[kind].resolve(name, never).name).toBe(name);
    }
    const lb = r.loadBalancer.resolve('least-busy', never);
    const list = [candidate('busy', { activeTasks: 3 }), candidate('idle')];
    expect(lb.select(list, selectContext())?.id).toBe('idle');
  });

  it('passes options given by name to the factory, and bad ones fail at configuration', () => {
    const r = install();
    const restart = r.recovery.resolve(
      { name: 'restart', options: { maxRestarts: 0, escalate: 'replace' } },
      never,
    );
    expect(
      restart.onAgentFailure({
        agentId: 'a',
        agentName: 'w',
        reason: 'crashed',
        recentFailures: 1,
        remote: false,
        now: 0,
      }),
    ).toEqual({
      action: 'replace',
    });
    expect(() =>
      r.loadBalancer.resolve({ name: 'weighted', options: { weights: { a: 0 } } }, never),
    ).toThrow(
      expect.objectContaining({
        code: 'invalid_config',
        message: expect.stringContaining('[weighted] weights must be positive'),
      }),
    );
  });

  it('exports every factory by name too', () => {
    for (const name of [
      'roundRobin',
      'leastBusy',
      'random',
      'capabilityAware',
      'p2c',
      'weighted',
      'sessionAffinity',
      'restart',
      'replacement',
      'failover',
      'degradedMode',
      'circuitBreaker',
      'json',
      'cbor',
    ]) {
      expect(typeof (plugins as Record<string, unknown>)[name]).toBe('function');
    }
  });
});
