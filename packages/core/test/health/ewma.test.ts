import { describe, expect, it } from 'vitest';
import { isSwitchboardError } from '../../src/errors.js';
import { alphaFromHalfLife, Ewma } from '../../src/health/ewma.js';

describe('Ewma', () => {
  it('gives the weighted mean of the samples so far, the newest weighing alpha', () => {
    const avg = new Ewma({ alpha: 0.5 });
    expect(avg.value).toBe(0);
    // One sample is its own mean, not alpha times it.
    expect(avg.update(10)).toBe(10);
    // Weights 0.25 (older) and 0.5 (newer): (2.5 + 10) / 0.75.
    expect(avg.update(20)).toBeCloseTo(50 / 3, 12);
    // Weights 0.125, 0.25, 0.5: (1.25 + 5 + 0) / 0.875.
    expect(avg.update(0)).toBeCloseTo(6.25 / 0.875, 12);
    expect(avg.count).toBe(3);
  });

  it('does not let one early outlier dominate the error rate', () => {
    const avg = new Ewma({ alpha: 0.2 });
    avg.update(1);
    avg.update(0);
    // 0.2 / (0.2 + 0.16): the newer sample weighs more than the older one.
    expect(avg.value).toBeCloseTo(0.16 / 0.36, 12);
  });

  it('halves the weight of old samples every halfLife samples', () => {
    const avg = new Ewma({ halfLife: 4 });
    // A long run of 1s: the bias correction has faded out.
    for (let i = 0; i < 400; i++) avg.update(1);
    for (let i = 0; i < 4; i++) avg.update(0);
    expect(avg.value).toBeCloseTo(0.5, 9);
    for (let i = 0; i < 4; i++) avg.update(0);
    expect(avg.value).toBeCloseTo(0.25, 9);
    expect(alphaFromHalfLife(1)).toBe(0.5);
  });

  it('converges to a steady error rate', () => {
    const avg = new Ewma({ alpha: 0.1 });
    // 1 failure in 4, repeated: the average settles near 0.25.
    for (let i = 0; i < 400; i++) avg.update(i % 4 === 0 ? 1 : 0);
    expect(avg.value).toBeGreaterThan(0.15);
    expect(avg.value).toBeLessThan(0.35);
  });

  it('ignores non-finite samples and forgets on reset', () => {
    const avg = new Ewma({ alpha: 1 });
    avg.update(3);
    expect(avg.update(Number.NaN)).toBe(3);
    expect(avg.update(Number.POSITIVE_INFINITY)).toBe(3);
    expect(avg.count).toBe(1);
    avg.reset();
    expect(avg.count).toBe(0);
    expect(avg.update(8)).toBe(8);
  });

  it('rejects smoothing out of range as invalid_config', () => {
    for (const bad of [
      { alpha: 0 },
      { alpha: 1.5 },
      { alpha: Number.NaN },
      { halfLife: 0 },
      { halfLife: -2 },
    ]) {
      expect(() => new Ewma(bad as { alpha: number })).toThrow(
        expect.objectContaining({ code: 'invalid_config' }),
      );
    }
    try {
      alphaFromHalfLife(Number.POSITIVE_INFINITY);
      expect.unreachable();
    } catch (err) {
      expect(isSwitchboardError(err, 'invalid_config')).toBe(true);
    }
  });
});
