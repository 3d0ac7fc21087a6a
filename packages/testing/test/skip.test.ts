import { describe, expect, it } from 'vitest';
import { suiteCases } from '../src/skip.js';

const CASES = ['reads -0 back as 0', 'reads -0 back as -0'] as const;

describe('suiteCases', () => {
  it('refuses to skip a case the suite does not have, naming the cases it has', () => {
    const skip = [
      { reason: 'no negative zero', tests: ['reads -0 as -0' as (typeof CASES)[number]] },
    ];
    expect(() => suiteCases('testSerializer(json)', CASES, skip)).toThrow(
      'testSerializer(json) has no case named "reads -0 as -0" to skip; its cases are: reads -0 back as 0; reads -0 back as -0',
    );
  });

  it('refuses a skip without a reason', () => {
    for (const reason of ['', '  ', undefined as unknown as string]) {
      expect(() => suiteCases('s', CASES, [{ reason, tests: ['reads -0 back as 0'] }])).toThrow(
        's: a skip needs a reason',
      );
    }
  });
});

describe('a case listed with a reason', () => {
  const test = suiteCases('s', CASES, [
    { reason: 'it never runs', tests: ['reads -0 back as -0'] },
  ]);
  const ran: string[] = [];
  test('reads -0 back as 0', () => {
    ran.push('0');
  });
  test('reads -0 back as -0', () => {
    ran.push('-0');
    expect.unreachable('a skipped case ran');
  });
  it('is skipped, and the others run', () => {
    expect(ran).toEqual(['0']);
  });
});
