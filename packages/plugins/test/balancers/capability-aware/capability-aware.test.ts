import { capabilityAware, versionScore } from '@switchboard/plugins/capability-aware';
import { candidate, selectContext, testLoadBalancer } from '@switchboard/testing';
import { describe, expect, it } from 'vitest';

testLoadBalancer('capability-aware', () => capabilityAware());
testLoadBalancer(
  'capability-aware with a scorer',
  () => capabilityAware({ scorer: (c) => (c.id === 'a' ? 1 : 0) }),
  { spreads: false },
);

const withLlm = (id: string, version: string, extra: Parameters<typeof candidate>[1] = {}) =>
  candidate(id, { capabilities: [{ name: 'llm', type: 'llm', version }], ...extra });

describe('capabilityAware', () => {
  it('picks the highest version of the capability the task names', () => {
    const list = [withLlm('v1.9', '1.9'), withLlm('v1.10', '1.10'), withLlm('v1.2.3', '1.2.3')];
    expect(capabilityAware().select(list, selectContext())?.id).toBe('v1.10');
  });

  it('ignores versions of other capabilities', () => {
    const list = [
      candidate('browser-9', {
        capabilities: [
          { name: 'llm', type: 'llm', version: '1' },
          { name: 'browser', type: 'browser', version: '9' },
        ],
      }),
      withLlm('llm-2', '2'),
    ];
    expect(capabilityAware().select(list, selectContext())?.id).toBe('llm-2');
  });

  it('ranks a capability with an unreadable version below every readable one', () => {
    const list = [withLlm('odd', 'latest'), withLlm('empty', ''), withLlm('v0', '0.0.1')];
    expect(capabilityAware().select(list, selectContext())?.id).toBe('v0');
  });

  it('does not pick the best version when it is busy', () => {
    const list = [withLlm('best', '3', { freeSlots: 0 }), withLlm('next', '2')];
    expect(capabilityAware().select(list, selectContext())?.id).toBe('next');
  });

  it('gives ties to the least busy', () => {
    const list = [
      withLlm('busy', '2', { activeTasks: 3 }),
      withLlm('idle', '2', { activeTasks: 0 }),
    ];
    expect(capabilityAware().select(list, selectContext())?.id).toBe('idle');
  });

  it('lets a scorer override versions, with the task in context', () => {
    const ranking = new Map([
      ['small', 0.9],
      ['large', 0.4],
    ]);
    const seen: string[] = [];
    const lb = capabilityAware({
      scorer: (c, ctx) => {
        seen.push(ctx.task.capability);
        return ranking.get(c.id) ?? 0;
      },
    });
    const list = [withLlm('large', '5'), withLlm('small', '1')];
    expect(lb.select(list, selectContext())?.id).toBe('small');
    expect(seen).toEqual(['llm', 'llm']);
  });

  it('offers the version ranking as a score that scorers can build on', () => {
    const lb = capabilityAware({
      scorer: (c, ctx) => versionScore(c, ctx) + (c.id.startsWith('eu') ? 1 : 0),
    });
    const list = [withLlm('us-2', '2'), withLlm('eu-2', '2'), withLlm('eu-1', '1.99')];
    expect(lb.select(list, selectContext())?.id).toBe('eu-2');
    expect(versionScore(withLlm('x', '2.1'), selectContext())).toBeGreaterThan(
      versionScore(withLlm('y', '2.0.9'), selectContext()),
    );
  });

  it('ranks last a candidate whose scorer throws or answers NaN, without failing dispatch', () => {
    const lb = capabilityAware({
      scorer: (c) => {
        if (c.id === 'throws') throw new Error('ranking table missing');
        return c.id === 'nan' ? Number.NaN : -5;
      },
    });
    const list = [withLlm('throws', '1'), withLlm('nan', '1'), withLlm('low', '1')];
    expect(lb.select(list, selectContext())?.id).toBe('low');
    expect(lb.select([withLlm('throws', '1')], selectContext())?.id).toBe('throws');
  });

  it('refuses a scorer that is not a function', () => {
    expect(() => capabilityAware({ scorer: 'llm' as never })).toThrow(
      /\[capability-aware\] scorer must be a function/,
    );
  });
});
