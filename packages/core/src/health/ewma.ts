import { SwitchboardError } from '../errors.js';

/**
 * How fast an {@link Ewma} forgets: either `alpha` (the weight of each new sample, 0 < alpha ≤ 1)
 * or `halfLife` (after this many samples, an old sample weighs half as much). Give one, not both.
 */
export type EwmaOptions =
  | { readonly alpha: number; readonly halfLife?: never }
  | { readonly halfLife: number; readonly alpha?: never };

/** The smoothing factor whose weight halves every `halfLife` samples: 1 − 2^(−1/halfLife). */
export function alphaFromHalfLife(halfLife: number): number {
  if (!Number.isFinite(halfLife) || halfLife <= 0) {
    throw new SwitchboardError(
      'invalid_config',
      `ewma: halfLife must be a positive number of samples, got ${halfLife}`,
    );
  }
  return 1 - 2 ** (-1 / halfLife);
}

/**
 * An exponentially weighted moving average: each new sample weighs `alpha`, and every older
 * one `(1 − alpha)` times what it weighed before. The average is bias-corrected (divided by
 * the sum of the weights so far, as Adam does), so the first few samples give their true
 * weighted mean instead of reading low (started at 0) or being ruled by the first sample.
 *
 * @example
 * ```ts
 * const latency = new Ewma({ halfLife: 10 })
 * latency.update(120)
 * latency.update(80)
 * latency.value // ≈ 99.3: two recent samples weigh almost the same
 * ```
 */
export class Ewma {
  /** The weight of each new sample. */
  readonly alpha: number;
  /** The uncorrected average, started at 0. */
  #raw = 0;
  /** (1 − alpha)^count: the weight missing from the uncorrected average. */
  #decay = 1;
  #count = 0;

  /** @throws SwitchboardError `invalid_config` when `alpha` or `halfLife` is out of range. */
  constructor(options: EwmaOptions) {
    const alpha = options.alpha ?? alphaFromHalfLife(options.halfLife as number);
    if (!Number.isFinite(alpha) || alpha <= 0 || alpha > 1) {
      throw new SwitchboardError('invalid_config', `ewma: alpha must be in (0, 1], got ${alpha}`);
    }
    this.alpha = alpha;
  }

  /** The current average, 0 before any sample. */
  get value(): number {
    return this.#count === 0 ? 0 : this.#raw / (1 - this.#decay);
  }

  /** How many samples have been folded in. */
  get count(): number {
    return this.#count;
  }

  /** Folds in one sample and returns the new average. Non-finite samples are ignored. */
  update(sample: number): number {
    if (!Number.isFinite(sample)) return this.value;
    this.#raw += this.alpha * (sample - this.#raw);
    this.#decay *= 1 - this.alpha;
    this.#count++;
    return this.value;
  }

  /** Forgets every sample. */
  reset(): void {
    this.#raw = 0;
    this.#decay = 1;
    this.#count = 0;
  }
}
