import { describe, expect, it } from 'vitest';
import { definePlugin } from '../../src/plugin/define-plugin.js';
import { PluginHost } from '../../src/plugin/plugin-host.js';
import { createSwitchboard } from '../../src/switchboard.js';

describe('PluginHost', () => {
  it('knows the built-ins and what plugins register, per instance', () => {
    const plugin = definePlugin({
      name: 'extra',
      setup(ctx) {
        ctx.loadBalancer('first', () => ({ name: 'first', select: (c) => c[0] }));
        ctx.recovery('never', () => ({
          name: 'never',
          onAgentFailure: () => ({ action: 'give_up', reason: 'never' }),
        }));
      },
    });
    const host = new PluginHost([plugin]);
    expect(host.loadBalancers.names()).toEqual(['first', 'round-robin']);
    expect(host.recoveries.names()).toEqual(['never', 'restart']);
    expect(host.backends.names()).toEqual(['memory']);
    expect(host.serializers.names()).toEqual(['json']);
    expect(host.loadBalancer('first').name).toBe('first');
    expect(new PluginHost().loadBalancers.names()).toEqual(['round-robin']);
    expect(host.serializer('json').contentType).toMatch(/json/);
  });

  it('resolves objects and { name, options } specs', () => {
    const host = new PluginHost();
    const custom = { name: 'mine', select: () => undefined };
    expect(host.loadBalancer(custom)).toBe(custom);
    const restart = host.recovery({ name: 'restart', options: { maxRestarts: 0 } });
    expect(
      restart.onAgentFailure({
        agentId: 'a',
        agentName: 'a',
        reason: 'crashed',
        recentFailures: 1,
        remote: false,
        now: 0,
      }),
    ).toMatchObject({ action: 'give_up' });
    expect(host.backend('memory').name).toBe('memory');
  });

  it('names the plugin whose setup fails, and refuses one installed twice', () => {
    const broken = definePlugin({
      name: 'broken',
      setup() {
        throw new Error('missing peer');
      },
    });
    expect(() => new PluginHost([broken])).toThrow(/plugin "broken": missing peer/);
    const twice = definePlugin({
      name: 'twice',
      setup: (ctx) => ctx.loadBalancer('rr', () => ({ name: 'rr', select: () => undefined })),
    });
    expect(() => new PluginHost([twice, twice])).toThrow(/installed twice/);
    expect(() => createSwitchboard({ plugins: [{ name: 'x' } as never] })).toThrow(/definePlugin/);
  });

  it('runs lifecycle hooks in order', async () => {
    const calls: string[] = [];
    const host = new PluginHost([
      definePlugin({ name: 'a', setup: (ctx) => ctx.hooks({ start: () => void calls.push('a') }) }),
      definePlugin({
        name: 'b',
        setup: (ctx) => ctx.hooks({ start: async () => void calls.push('b') }),
      }),
    ]);
    await host.run('start');
    await host.run('stop');
    expect(calls).toEqual(['a', 'b']);
  });
});
