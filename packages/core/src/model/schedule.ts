import type { Priority } from './priority.js';

/** Whether a tick fires while the task of the schedule's previous run is unfinished. */
export type OverlapPolicy = 'skip' | 'allow';

/**
 * What fires after ticks were missed (the process was down, or nobody ran the scheduler):
 * `none` of them, only the `last`, or `all` of them (the latest `catchUpLimit`), oldest first.
 */
export type CatchUpPolicy = 'none' | 'last' | 'all';

/** The task a schedule submits at each tick: what `submit` takes, less what a tick decides. */
export interface ScheduleTask {
  capability: string;
  payload?: unknown;
  priority: Priority;
  timeoutMs?: number;
  maxAttempts?: number;
  sessionKey?: string;
  /** The fairness key its tasks are dispatched under (docs/fairness.md). */
  fairnessKey?: string;
  metadata?: Record<string, unknown>;
}

/**
 * A schedule as it is written (`sb.schedules.upsert`, `PUT /v1/schedules/{id}`): when it
 * ticks (a cron expression, or a fixed interval), the task each tick submits, and what
 * happens to overlapping and missed ticks.
 */
export interface ScheduleSpec {
  id: string;
  /**
   * A cron expression of 5 fields, or 6 with seconds first (`*\/10 * * * * *`: every ten
   * seconds), as croner reads it. Exactly one of `cron` and `everyMs`.
   */
  cron?: string;
  /** The IANA time zone `cron` is read in (`Europe/Berlin`); UTC when absent. */
  timezone?: string;
  /** A fixed interval in ms (≥ 1000), counted from when the schedule was written. */
  everyMs?: number;
  task: ScheduleTask;
  overlap: OverlapPolicy;
  catchUp: CatchUpPolicy;
  /** With `catchUp: 'all'`, at most this many missed ticks fire (the latest ones). */
  catchUpLimit: number;
  paused: boolean;
}

/**
 * A schedule as a backend stores it: the spec, and where its ticks stand. Plain data, so a
 * shared backend stores it as JSON. Ticks are instants (epoch ms) computed from the spec
 * alone, so every process sharing a backend computes the same ticks and claims each by its
 * instant (see `ScheduleStore.claimTick`).
 */
export interface ScheduleRecord extends ScheduleSpec {
  /** The instant intervals count from (`everyMs` ticks are `anchorAt + k × everyMs`). */
  anchorAt: number;
  createdAt: number;
  updatedAt: number;
  /**
   * The latest tick claimed, or the instant from which ticks count (when the schedule was
   * written or resumed): only ticks after it may fire.
   */
  lastTickAt: number;
  /**
   * The latest tick whose outcome was recorded (a task submitted, or skipped). Behind
   * `lastTickAt` while a claimed tick is being fired, or when its process died in between.
   */
  settledTickAt: number;
  /** The tick of the latest task submitted, and that task's id. */
  lastFiredAt?: number;
  lastTaskId?: string;
}

/** A schedule as `get` and `list` show it: the stored record and its next fire times. */
export interface ScheduleView extends ScheduleRecord {
  /** The next fire times (epoch ms), soonest first; empty while paused. */
  nextRuns: number[];
}

/**
 * The idempotency key of the task a tick submits: a process that fires a tick again (its
 * claimer died before recording it) gets the task that was submitted, if any, not a second.
 */
export function tickKey(id: string, tickAt: number): string {
  return `schedule:${id}:${tickAt}`;
}
