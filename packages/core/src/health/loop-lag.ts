import { SwitchboardError } from '../errors.js';

/** Options of a {@link LoopLag} probe. */
export interface LoopLagOptions {
  /** How often the probe fires, in ms. */
  readonly intervalMs: number;
  /** The clock, in ms (default `Date.now`). */
  readonly now?: () => number;
  /** Called on every firing with the time it fired and how late it was (≥ 0). */
  readonly onTick?: (now: number, lagMs: number) => void;
}

/**
 * Measures the event-loop lag of its own runtime: a timer scheduled every `intervalMs`
 * compares when it fired with when it was due. A busy or stalled loop (a long synchronous
 * task, a suspended process, a GC pause) makes it fire late by that much.
 *
 * It chains `setTimeout` rather than using `setInterval`, so a stall yields one late firing
 * with the whole stall as lag instead of a burst of catch-up firings.
 *
 * @example
 * ```ts
 * const probe = new LoopLag({ intervalMs: 100 })
 * probe.start()
 * // later
 * if (probe.lagMs > 50) console.warn('event loop is lagging', probe.lagMs)
 * probe.stop()
 * ```
 */
export class LoopLag {
  readonly intervalMs: number;
  readonly #now: () => number;
  readonly #onTick: ((now: number, lagMs: number) => void) | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #dueAt = 0;
  #lagMs = 0;
  #maxLagMs = 0;

  /** @throws SwitchboardError `invalid_config` when `intervalMs` is not a positive number. */
  constructor(options: LoopLagOptions) {
    if (!Number.isFinite(options.intervalMs) || options.intervalMs <= 0) {
      throw new SwitchboardError(
        'invalid_config',
        `loop lag: intervalMs must be a positive number, got ${options.intervalMs}`,
      );
    }
    this.intervalMs = options.intervalMs;
    this.#now = options.now ?? Date.now;
    this.#onTick = options.onTick;
  }

  /** How late the latest firing was, in ms (0 before the first). */
  get lagMs(): number {
    return this.#lagMs;
  }

  /** The largest lag seen since start or the last {@link resetMax}. */
  get maxLagMs(): number {
    return this.#maxLagMs;
  }

  /** Whether the timer is scheduled. */
  get running(): boolean {
    return this.#timer !== undefined;
  }

  /** Starts firing; a second call does nothing. */
  start(): void {
    if (this.#timer !== undefined) return;
    this.#schedule();
  }

  /** Stops firing; no timer is left behind. */
  stop(): void {
    if (this.#timer === undefined) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Forgets the peak lag (the latest reading stays). */
  resetMax(): void {
    this.#maxLagMs = this.#lagMs;
  }

  #schedule(): void {
    // Due time taken when scheduling, not when the previous tick began: the tick's own work
    // must not count as lag.
    this.#dueAt = this.#now() + this.intervalMs;
    this.#timer = setTimeout(() => this.#fire(), this.intervalMs);
  }

  #fire(): void {
    const now = this.#now();
    // A clock that went backwards is not a fast loop: clamp at 0.
    this.#lagMs = Math.max(0, now - this.#dueAt);
    if (this.#lagMs > this.#maxLagMs) this.#maxLagMs = this.#lagMs;
    // Reschedule first, so a throwing onTick does not stop the probe.
    this.#schedule();
    this.#onTick?.(now, this.#lagMs);
  }
}
