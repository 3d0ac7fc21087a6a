/** A group of deliveries started in the same millisecond with the same timeout. */
export interface Cohort {
  readonly ms: number;
  readonly startedAt: number;
  timer: ReturnType<typeof setTimeout> | undefined;
  /** Tokens started in this cohort; some may have been stopped since. */
  tokens: number[];
  /** How many of `tokens` are still running. */
  live: number;
}

/**
 * Visibility timeouts of in-flight deliveries, with one timer per cohort instead of one per
 * delivery: at a high message rate, a broker would otherwise spend much of its time arming
 * and clearing timers (see bench/RESULTS.md, Figures quoted in code comments before).
 * Deliveries started in the same millisecond (of `now`) with the same timeout share a
 * timer, so a timeout fires at most 1 ms early.
 */
export class VisibilityTimers {
  private readonly open = new Map<number, Cohort>();
  private readonly armed = new Set<Cohort>();

  /**
   * @param now the clock that says which millisecond a delivery starts in; it must advance
   *   with `setTimeout` (as `Date.now` does, fake timers included)
   * @param onExpire told of each token whose timeout passed while it was running
   * @param isRunning whether `token` still belongs to `cohort` (not stopped, not restarted)
   */
  constructor(
    private readonly now: () => number,
    private readonly onExpire: (token: number) => void,
    private readonly isRunning: (token: number, cohort: Cohort) => boolean,
  ) {}

  /** Starts `token`'s timeout of `ms`; keep the cohort to stop it. */
  start(token: number, ms: number): Cohort {
    const startedAt = this.now();
    let cohort = this.open.get(ms);
    if (cohort === undefined || cohort.startedAt !== startedAt) {
      const fresh: Cohort = { ms, startedAt, timer: undefined, tokens: [], live: 0 };
      fresh.timer = setTimeout(() => this.fire(fresh), ms);
      this.armed.add(fresh);
      this.open.set(ms, fresh);
      cohort = fresh;
    }
    cohort.tokens.push(token);
    cohort.live++;
    return cohort;
  }

  /** Stops one token's timeout (it was settled). */
  stop(cohort: Cohort): void {
    if (--cohort.live > 0) return;
    cohort.tokens.length = 0;
    // A cohort still open keeps its timer for the next delivery of this millisecond: in a
    // send-and-ack loop, re-arming a timer per message is exactly the cost saved here.
    if (this.open.get(cohort.ms) === cohort && cohort.startedAt === this.now()) return;
    this.disarm(cohort);
  }

  /** Clears every timer. */
  clear(): void {
    for (const cohort of this.armed) clearTimeout(cohort.timer);
    this.armed.clear();
    this.open.clear();
  }

  private fire(cohort: Cohort): void {
    this.disarm(cohort);
    for (const token of cohort.tokens) if (this.isRunning(token, cohort)) this.onExpire(token);
  }

  private disarm(cohort: Cohort): void {
    clearTimeout(cohort.timer);
    this.armed.delete(cohort);
    if (this.open.get(cohort.ms) === cohort) this.open.delete(cohort.ms);
  }
}
