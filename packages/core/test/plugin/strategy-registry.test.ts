import { describe, expect, it } from 'vitest';
import { definePlugin } from '../../src/plugin/define-plugin.js';
import { StrategyRegistry } from '../../src/plugin/strategy-registry.js';

interface Named {
  readonly name: string;
}
const isNamed = (v: unknown): v is Named =>
  typeof v === 'object' && v !== null && typeof (v as { run?: unknown }).run === 'function';

describe('StrategyRegistry', () => {
  it('fails at configuration time on names, duplicates, bad specs and throwing factories', () => {
    const registry = new StrategyRegistry<Named>('widget');
    expect(() => registry.register('', () => ({ name: 'x' }))).toThrow(/needs a name/);
    registry.register('a', (o: { n?: number } | undefined) => ({ name: `a${o?.n ?? ''}` }));
    expect(() => registry.register('a', () => ({ name: 'a' }))).toThrow(/registered twice/);
    expect(registry.has('a')).toBe(true);
    expect(registry.resolve({ name: 'a', options: { n: 2 } }, isNamed).name).toBe('a2');
    expect(() => registry.resolve(42 as never, isNamed)).toThrow(/expected a name/);
    registry.register('bad', () => {
      throw new Error('needs options');
    });
    expect(() => registry.resolve('bad', isNamed)).toThrow(/widget "bad": needs options/);
    expect(() => new StrategyRegistry<Named>('w').resolve('x', isNamed)).toThrow(/known: \(none\)/);
  });

  it('lets one plugin replace a core default, but not a second one', () => {
    const registry = new StrategyRegistry<Named>('widget');
    registry.register('std', () => ({ name: 'core-std' }), { default: true });
    expect(registry.resolve('std', isNamed).name).toBe('core-std');
    registry.register('std', () => ({ name: 'plugin-std' }));
    expect(registry.resolve('std', isNamed).name).toBe('plugin-std');
    expect(() => registry.register('std', () => ({ name: 'other' }))).toThrow(/registered twice/);
  });

  it('definePlugin checks its input', () => {
    expect(() => definePlugin(null as never)).toThrow(/expected \{ name, setup \}/);
    expect(() => definePlugin({ name: '', setup: () => {} })).toThrow(/non-empty name/);
    expect(() => definePlugin({ name: 'p', setup: 1 as never })).toThrow(
      /setup must be a function/,
    );
  });
});
