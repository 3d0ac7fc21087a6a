// A probe of the test process's own event loop: a timer every few milliseconds notes how late
// it fired. On a machine whose cores are shared, a task can start late because no process got
// the CPU; the lateness checks subtract what the probe saw around each start, so that what is
// left is what the scheduler itself owes (a dispatcher that did not wake).

const EVERY_MS = 5;

/** Records the event loop's delay over time; {@link LoopLag.around} reads it back. */
export class LoopLag {
  readonly #at: number[] = [];
  readonly #lag: number[] = [];
  #timer: ReturnType<typeof setInterval> | undefined;

  /** Starts probing. */
  start(): this {
    let last = performance.now();
    this.#timer = setInterval(() => {
      const now = performance.now();
      this.#at.push(Date.now());
      this.#lag.push(Math.max(0, now - last - EVERY_MS));
      last = now;
    }, EVERY_MS);
    return this;
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** The longest delay the probe saw in the `windowMs` up to `at` (epoch ms), and just after. */
  around(at: number, windowMs = 250): number {
    // The samples are in time order: find the first one past the window, then walk back.
    const end = at + 2 * EVERY_MS;
    let lo = 0;
    let hi = this.#at.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.#at[mid] as number) <= end) lo = mid + 1;
      else hi = mid;
    }
    let max = 0;
    for (let i = lo - 1; i >= 0 && (this.#at[i] as number) >= at - windowMs; i--) {
      max = Math.max(max, this.#lag[i] as number);
    }
    return max;
  }

  /** The longest delay seen since start. */
  max(): number {
    return this.#lag.reduce((a, b) => Math.max(a, b), 0);
  }
}
