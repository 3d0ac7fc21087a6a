import { SwitchboardError } from '../errors.js';

// setTimeout fires at once for delays above 2^31 - 1 ms; longer deadlines re-arm in steps.
const MAX_TIMER_MS = 2_147_483_647;

/**
 * A run-level deadline: an instant after which nothing more is submitted, and which each
 * submitted task inherits as a `timeoutMs` no longer than the time left.
 *
 * @example
 * ```ts
 * const deadline = new Deadline(5_000, Date.now)
 * deadline.taskTimeout(30_000) // ≤ 5 000: a task may not outlive its run
 * const stop = deadline.onExpire(() => cancelEverything())
 * ```
 */
export class Deadline {
  /** The instant (epoch ms), or `undefined` for a run without a deadline. */
  readonly at: number | undefined;
  readonly #now: () => number;

  /**
   * @param deadlineMs the time the run may take from now, ≥ 0; `undefined` for none.
   * @throws SwitchboardError `invalid_request` when `deadlineMs` is not a number ≥ 0.
   */
  constructor(deadlineMs: number | undefined, now: () => number) {
    if (deadlineMs !== undefined && !(typeof deadlineMs === 'number' && deadlineMs >= 0)) {
      throw new SwitchboardError('invalid_request', 'deadlineMs must be a number ≥ 0', {
        details: { deadlineMs },
      });
    }
    this.#now = now;
    this.at = deadlineMs === undefined ? undefined : now() + deadlineMs;
  }

  /** Milliseconds left (`Infinity` without a deadline, ≤ 0 once passed). */
  remaining(): number {
    return this.at === undefined ? Number.POSITIVE_INFINITY : this.at - this.#now();
  }

  /** True once the deadline has passed. */
  get expired(): boolean {
    return this.remaining() <= 0;
  }

  /**
   * The `timeoutMs` to give a task: the one requested, lowered to the whole milliseconds
   * left (at least 1, the smallest a task accepts). `undefined` when neither limits it.
   */
  taskTimeout(requested?: number): number | undefined {
    const left = this.remaining();
    if (left === Number.POSITIVE_INFINITY) return requested;
    const cap = Math.max(1, Math.floor(left));
    return requested === undefined ? cap : Math.min(requested, cap);
  }

  /** Calls `fn` once the deadline passes (never without one); returns a function that disarms it. */
  onExpire(fn: () => void): () => void {
    if (this.at === undefined) return () => undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const arm = () => {
      const left = this.remaining();
      if (left <= 0) {
        timer = undefined;
        fn();
        return;
      }
      timer = setTimeout(arm, Math.min(left, MAX_TIMER_MS));
    };
    arm();
    return () => {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
    };
  }
}
