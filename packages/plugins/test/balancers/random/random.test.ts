import { random } from '@switchboard/plugins/random';
import { candidate, selectContext, testLoadBalancer } from '@switchboard/testing';
import { describe, expect, it } from 'vitest';

testLoadBalancer('random', () => random());

describe('random', () => {
  const list = [
    candidate('a'),
    candidate('busy', { freeSlots: 0 }),
    candidate('b'),
    candidate('c'),
  ];

  it('maps the injected random() uniformly over the free candidates only', () => {
    const draws = [0, 0.34, 0.67, 0.999];
    const lb = random({ random: () => draws.shift()! });
    const picks = Array.from({ length: 4 }, () => lb.select(list, selectContext())?.id);
    expect(picks).toEqual(['a', 'b', 'c', 'c']);
  });

  it('stays within the list when the injected random() misbehaves', () => {
    for (const r of [1, 7, -3, Number.NaN]) {
      const pick = random({ random: () => r }).select(list, selectContext());
      expect(['a', 'b', 'c']).toContain(pick?.id);
    }
  });

  it('refuses a random option that is not a function', () => {
    expect(() => random({ random: 0.5 as never })).toThrow(
      expect.objectContaining({
        code: 'invalid_config',
        message: expect.stringContaining('[random] random must be a function'),
      }),
    );
  });
});
