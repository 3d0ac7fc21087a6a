import { describe, expect, it } from 'vitest';
import { exponentialDelay } from '../../src/model/backoff.js';

describe('exponentialDelay', () => {
  it('waits the initial delay after the first failure, then multiplies by the factor', () => {
    expect([1, 2, 3, 4].map((n) => exponentialDelay(100, 2, 30_000, n))).toEqual([
      100, 200, 400, 800,
    ]);
  });

  it('never waits more than the cap', () => {
    expect(exponentialDelay(100, 2, 30_000, 20)).toBe(30_000);
    expect(exponentialDelay(500, 3, 400, 1)).toBe(400);
  });

  it('waits the initial delay every time with a factor of 1 (a fixed backoff)', () => {
    expect([1, 5, 50].map((n) => exponentialDelay(250, 1, 30_000, n))).toEqual([250, 250, 250]);
  });

  it('treats no failure yet like the first one', () => {
    expect(exponentialDelay(100, 2, 30_000, 0)).toBe(100);
  });
});
