import { describe, expect, it } from 'vitest';
import {
  compareVersions,
  isValidVersion,
  parseRange,
  parseVersion,
  satisfies,
} from '../../src/agent/index.js';
import { isSwitchboardError } from '../../src/errors.js';

describe('parseVersion', () => {
  it.each([
    ['2', { major: 2, minor: 0, patch: 0 }],
    ['2.1', { major: 2, minor: 1, patch: 0 }],
    ['1.4.0', { major: 1, minor: 4, patch: 0 }],
    [' 10.20.30 ', { major: 10, minor: 20, patch: 30 }],
  ])('parses %j', (text, expected) => {
    expect(parseVersion(text)).toEqual(expected);
  });

  it.each(['', 'v1', '1.2.3.4', '1.x', '01', '1.-2', 'latest', '1..2', '1.2.3-beta'])(
    'rejects %j as invalid_request',
    (text) => {
      expect(() => parseVersion(text)).toThrow(/invalid version version/);
      expect(isValidVersion(text)).toBe(false);
    },
  );

  it('rejects non-strings without crashing', () => {
    expect(isValidVersion(2)).toBe(false);
    expect(() => parseVersion(2 as unknown as string)).toThrow(/not a string/);
  });
});

describe('compareVersions', () => {
  it('orders by major, then minor, then patch, treating missing parts as 0', () => {
    expect(compareVersions('2', '2.0.0')).toBe(0);
    expect(compareVersions('1.10', '1.9.9')).toBe(1);
    expect(compareVersions('1.2.3', '1.2.4')).toBe(-1);
    expect(compareVersions('3', '2.99')).toBe(1);
    expect(['1.4.0', '2', '0.9', '1.10'].sort(compareVersions)).toEqual([
      '0.9',
      '1.4.0',
      '1.10',
      '2',
    ]);
  });
});

describe('satisfies', () => {
  // [range, versions that match, versions that do not]
  const table: [string, string[], string[]][] = [
    ['*', ['0.0.1', '2', '99.1'], []],
    ['x', ['1'], []],
    ['2', ['2', '2.0.0', '2.9.9'], ['1.9.9', '3', '3.0.0']],
    ['2.x', ['2.0.0', '2.5'], ['1.0.0', '3.0.0']],
    ['2.1.*', ['2.1.0', '2.1.7'], ['2.2.0', '2.0.9']],
    ['2.1', ['2.1.0', '2.1.9'], ['2.2', '2.0.9']],
    ['^1.2.0', ['1.2.0', '1.9.9'], ['1.1.9', '2.0.0']],
    ['^0.2.3', ['0.2.3', '0.2.9'], ['0.3.0', '0.2.2']],
    ['^0.0.3', ['0.0.3'], ['0.0.4', '0.0.2']],
    ['^0.0', ['0.0.0', '0.0.9'], ['0.1.0']],
    ['^0.x', ['0.0.1', '0.9.0'], ['1.0.0']],
    ['^1', ['1.0.0', '1.9'], ['2', '0.9']],
    ['~1.2', ['1.2.0', '1.2.9'], ['1.3.0', '1.1.9']],
    ['~1.2.3', ['1.2.3', '1.2.9'], ['1.3.0', '1.2.2']],
    ['~1', ['1.0.0', '1.9.9'], ['2.0.0']],
    ['>=1.0.0 <2', ['1.0.0', '1.99.99'], ['0.9.9', '2.0.0']],
    ['>= 1.0.0 < 2', ['1.5'], ['2']],
    ['>1', ['2.0.0', '3'], ['1.9.9', '1']],
    ['>1.2', ['1.3.0'], ['1.2.9']],
    ['>1.2.3', ['1.2.4'], ['1.2.3']],
    ['<=3.1', ['3.1.9', '0.1'], ['3.2.0']],
    ['<=3', ['3.9.9'], ['4']],
    ['<=1.2.3', ['1.2.3'], ['1.2.4']],
    ['<2.1', ['2.0.9'], ['2.1.0']],
    ['=1.2.3', ['1.2.3'], ['1.2.4', '1.2.2']],
    ['=1.2', ['1.2.0', '1.2.5'], ['1.3']],
    ['1 || 3', ['1.5', '3.0.0'], ['2.0.0', '4']],
    ['<1 || >=2.0.0 <2.1 || 5.x', ['0.5', '2.0.5', '5.1'], ['1.0.0', '2.1.0', '6']],
    ['>=*', ['0.0.0', '7'], []],
    ['>*', [], ['0.0.0', '7']],
    ['>* || 2', ['2.3'], ['3']],
  ];

  it.each(table)('%s', (range, yes, no) => {
    const parsed = parseRange(range);
    for (const version of yes)
      expect({ version, ok: satisfies(version, parsed) }).toEqual({ version, ok: true });
    for (const version of no)
      expect({ version, ok: satisfies(version, range) }).toEqual({ version, ok: false });
  });

  it('accepts a parsed version', () => {
    expect(satisfies({ major: 1, minor: 2, patch: 0 }, '^1')).toBe(true);
  });

  it.each([
    '',
    '  ',
    '1 ||',
    '|| 2',
    '>=',
    '^',
    '1.x.2',
    'abc',
    '>=1 <',
    '1 - 2',
    '1.2.3.4',
    '~>1',
  ])('rejects the invalid range %j with invalid_request naming it', (range) => {
    let error: unknown;
    try {
      satisfies('1.0.0', range);
    } catch (e) {
      error = e;
    }
    expect(isSwitchboardError(error, 'invalid_request')).toBe(true);
    expect((error as Error).message).toContain(`"${range}"`);
  });

  it('rejects a non-string range', () => {
    expect(() => parseRange(undefined as unknown as string)).toThrow(/not a string/);
  });
});
