import type { ScheduleStore } from '../../contracts/schedule-store.js';
import { SwitchboardError } from '../../errors.js';
import type { ScheduleRecord, ScheduleSpec, ScheduleView } from '../../model/schedule.js';
import {
  NEXT_RUNS_SHOWN,
  type ScheduleSpecInput,
  scheduleSpecSchema,
} from '../../protocol/schemas/schedule-schema.js';
import { validate } from '../../protocol/validator.js';
import type { Scheduler } from './scheduler.js';

/**
 * The schedules of a Switchboard (`sb.schedules`): each submits a task at the ticks of a cron
 * expression or a fixed interval. They are kept by the backend when it has a schedule store
 * (memory, journal and Redis do), so on a durable backend they survive restarts, and on a
 * backend shared by several processes each tick fires once among them all. See
 * docs/schedules.md. The methods need a started Switchboard.
 *
 * @example
 * ```ts
 * await sb.schedules.upsert({
 *   id: 'nightly-report',
 *   cron: '0 30 2 * * *',
 *   timezone: 'Europe/Berlin',
 *   task: { capability: 'report', payload: { kind: 'daily' } },
 *   catchUp: 'last',
 * })
 * ```
 */
export class Schedules {
  readonly #store: ScheduleStore;
  readonly #scheduler: Scheduler;
  readonly #now: () => number;

  constructor(store: ScheduleStore, scheduler: Scheduler, now: () => number) {
    this.#store = store;
    this.#scheduler = scheduler;
    this.#now = now;
  }

  /**
   * Creates a schedule, or replaces the one with the same id. Ticks count from now for a new
   * schedule, one whose timing (cron, zone or interval) changed, or one that was paused and
   * is not any more; otherwise the schedule keeps its place, so writing the same schedule
   * again at every start (from a config file) still catches up on the ticks missed meanwhile.
   *
   * @throws SwitchboardError `invalid_request` naming each bad field (unknown keys with the
   * known ones), `unavailable` before `start` or after `shutdown`.
   */
  async upsert(spec: ScheduleSpecInput): Promise<ScheduleView> {
    const parsed = validate(scheduleSpecSchema, spec) as ScheduleSpec;
    this.#check();
    const now = this.#now();
    const stored = await this.#store.get(parsed.id);
    const keeps = stored !== undefined && sameTiming(stored, parsed) && !stored.paused;
    // Otherwise ticks count from now (the store keeps the later of its own and these).
    const record: ScheduleRecord = {
      ...parsed,
      anchorAt: keeps ? stored.anchorAt : now,
      createdAt: stored?.createdAt ?? now,
      updatedAt: now,
      lastTickAt: keeps ? stored.lastTickAt : now,
      settledTickAt: keeps ? stored.settledTickAt : now,
    };
    await this.#store.put(record);
    await this.#scheduler.changed(parsed.id);
    return this.get(parsed.id);
  }

  /** Deletes a schedule; a tick being fired finishes. @throws `not_found`. */
  async remove(id: string): Promise<void> {
    this.#check();
    if (!(await this.#store.delete(id))) throw notFound(id);
    await this.#scheduler.changed(id);
  }

  /** Stops a schedule's ticks until `resume`. @throws `not_found`. */
  async pause(id: string): Promise<ScheduleView> {
    return this.#setPaused(id, true);
  }

  /**
   * Starts a paused schedule's ticks again, counted from now: the ticks of the pause are not
   * caught up. Resuming a schedule that runs changes nothing. @throws `not_found`.
   */
  async resume(id: string): Promise<ScheduleView> {
    return this.#setPaused(id, false);
  }

  /** Every schedule, by id, each with its next fire times. */
  async list(): Promise<ScheduleView[]> {
    this.#check();
    const now = this.#now();
    return (await this.#store.list()).map((r) => this.#view(r, now));
  }

  /** One schedule with its next fire times. @throws `not_found`. */
  async get(id: string): Promise<ScheduleView> {
    this.#check();
    const record = await this.#store.get(id);
    if (record === undefined) throw notFound(id);
    return this.#view(record, this.#now());
  }

  async #setPaused(id: string, paused: boolean): Promise<ScheduleView> {
    this.#check();
    const stored = await this.#store.get(id);
    if (stored === undefined) throw notFound(id);
    if (stored.paused !== paused) {
      const now = this.#now();
      const record: ScheduleRecord = { ...stored, paused, updatedAt: now };
      if (!paused) {
        record.lastTickAt = now;
        record.settledTickAt = now;
      }
      await this.#store.put(record);
      await this.#scheduler.changed(id);
    }
    return this.get(id);
  }

  #view(record: ScheduleRecord, now: number): ScheduleView {
    const nextRuns = record.paused
      ? []
      : this.#scheduler.clock(record).upcoming(Math.max(now, record.lastTickAt), NEXT_RUNS_SHOWN);
    return { ...record, nextRuns };
  }

  #check(): void {
    if (!this.#scheduler.running) {
      throw new SwitchboardError(
        'unavailable',
        'schedules are available between start() and shutdown() of the Switchboard',
      );
    }
  }
}

function sameTiming(a: ScheduleRecord, b: ScheduleSpec): boolean {
  return a.cron === b.cron && a.timezone === b.timezone && a.everyMs === b.everyMs;
}

function notFound(id: string): SwitchboardError {
  return new SwitchboardError('not_found', `schedule ${id} not found`, { details: { id } });
}
