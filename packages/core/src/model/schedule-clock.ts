import { Cron } from 'croner';
import type { ScheduleRecord } from './schedule.js';

/** The timing fields of a schedule: a cron expression (and its zone), or an interval. */
export type ScheduleTiming = Pick<ScheduleRecord, 'cron' | 'timezone' | 'everyMs' | 'anchorAt'>;

/**
 * The cron expression of `timing` parsed by croner, which reads 5 fields, or 6 with seconds
 * first, in `timezone` (UTC when absent, never the host's zone: every process of a cluster
 * must compute the same ticks). Throws croner's `TypeError` or `RangeError` for a bad one.
 */
export function parseCron(cron: string, timezone: string | undefined): Cron {
  return new Cron(cron, { timezone: timezone ?? 'UTC', mode: '5-or-6-parts' });
}

/** Why `cron` is not a cron expression croner reads, or `undefined` when it is one. */
export function cronSyntaxProblem(cron: string): string | undefined {
  try {
    parseCron(cron, undefined);
    return undefined;
  } catch (error) {
    return `not a cron expression: ${(error as Error).message}`;
  }
}

/** Why `zone` is not an IANA time zone this runtime knows, or `undefined` when it is one. */
export function timezoneProblem(zone: string): string | undefined {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return undefined;
  } catch {
    return `unknown time zone "${zone}"`;
  }
}

/**
 * Why `cron` and `timezone` cannot be used, or `undefined` when they can: the expression
 * parses, the zone is known, and the expression has a next tick (`0 0 30 2 *` never does).
 */
export function cronProblem(cron: string, timezone: string | undefined): string | undefined {
  let parsed: Cron;
  try {
    parsed = parseCron(cron, timezone);
  } catch (error) {
    return `not a cron expression: ${(error as Error).message}`;
  }
  try {
    if (parsed.nextRun(new Date()) === null) return 'the cron expression never fires';
  } catch {
    // croner checks the zone only when it converts a date, and throws there.
    return `unknown time zone "${String(timezone)}"`;
  }
  return undefined;
}

/**
 * The times of one schedule. Cron ticks are whole seconds; interval ticks are
 * `anchorAt + k × everyMs`. A clock is made once per spec and reused.
 */
export class ScheduleClock {
  readonly #cron: Cron | undefined;
  readonly #every: number;
  readonly #anchor: number;

  constructor(timing: ScheduleTiming) {
    this.#cron = timing.cron === undefined ? undefined : parseCron(timing.cron, timing.timezone);
    this.#every = timing.everyMs ?? 0;
    this.#anchor = timing.anchorAt;
  }

  /** The first tick strictly after `after`, or `undefined` when there is none. */
  next(after: number): number | undefined {
    if (this.#cron === undefined) {
      const k = Math.floor((after - this.#anchor) / this.#every) + 1;
      return this.#anchor + Math.max(k, 0) * this.#every;
    }
    return this.#cron.nextRun(new Date(after))?.getTime();
  }

  /** Up to `count` ticks from `after` on (exclusive), soonest first. */
  upcoming(after: number, count: number): number[] {
    const out: number[] = [];
    let at = after;
    while (out.length < count) {
      const next = this.next(at);
      if (next === undefined) break;
      out.push(next);
      at = next;
    }
    return out;
  }

  /**
   * The latest `limit` ticks in `(after, upTo]`, oldest first. What it costs is bounded by
   * `limit`, however long the span (a process down for a year under a per-second schedule).
   */
  between(after: number, upTo: number, limit: number): number[] {
    if (upTo <= after || limit <= 0) return [];
    if (this.#cron === undefined) {
      const last = Math.floor((upTo - this.#anchor) / this.#every);
      const first = Math.max(
        Math.floor((after - this.#anchor) / this.#every) + 1,
        0,
        last - limit + 1,
      );
      const out: number[] = [];
      for (let k = first; k <= last; k++) out.push(this.#anchor + k * this.#every);
      return out;
    }
    // croner drops the reference's milliseconds and excludes it; cron ticks are whole
    // seconds, so the whole second after `upTo` as the reference includes every tick ≤ upTo.
    const runs = this.#cron.previousRuns(limit, new Date(Math.floor(upTo / 1000) * 1000 + 1000));
    const out: number[] = [];
    for (const run of runs) {
      const at = run.getTime();
      if (at > after) out.push(at);
    }
    return out.reverse();
  }
}
