import type { ScheduleStore } from '../../contracts/schedule-store.js';
import { isSwitchboardError } from '../../errors.js';
import { type ScheduleRecord, tickKey } from '../../model/schedule.js';
import { ScheduleClock } from '../../model/schedule-clock.js';
import { type TaskStatus, TERMINAL_STATUSES } from '../../model/task.js';
import type { SubmitInput } from '../submit/task-input.js';
import type { TaskHandle } from '../submit/task-tracker.js';

/** A tick that fires later than this after its instant counts as missed (see `catchUp`). */
export const ON_TIME_MS = 1000;
/**
 * A tick claimed and not settled this long after its claim is fired again by whichever
 * process sees it, and so is one still unsettled when a later tick is due: its claimer died
 * between the claim and the submit, or while recording it. The task's idempotency key makes
 * the second submit return the first task if there was one, so firing again too early costs
 * a second `schedule.fired` event (`recovered: true`) and never a second task; waiting
 * longer than the next tick would let that tick's settlement hide the unsettled one.
 */
export const SETTLE_GRACE_MS = 1000;
/**
 * A claimed tick found unsettled within this of its instant is fired again whatever the
 * catch-up policy: it was on time when claimed, and its claimer stopped while firing it.
 */
export const RECOVER_WITHIN_MS = 10_000;
/** On a backend shared by several processes, schedules written elsewhere are read this often. */
export const REFRESH_MS = 5000;
// A schedule whose evaluation failed (the store unreachable) is looked at again this soon.
const RETRY_MS = 1000;
// setTimeout's longest delay; a later tick is armed again when this one wakes.
const MAX_DELAY_MS = 2 ** 31 - 1;

/** What the scheduler needs from its Switchboard. */
export interface SchedulerDeps {
  readonly store: ScheduleStore;
  readonly now: () => number;
  readonly submit: (input: SubmitInput) => Promise<TaskHandle>;
  /** The status of a stored task, `undefined` when it is not stored (any more). */
  readonly taskStatus: (id: string) => Promise<TaskStatus | undefined>;
  readonly emit: (topic: string, data: () => object) => void;
  readonly onError: (error: unknown) => void;
  /** Re-read the store every this many ms (several processes share it), or never. */
  readonly refreshMs?: number;
}

/** Why a tick did not submit a task (`schedule.fired`'s `skipped`). */
type SkipReason = 'overlap' | 'missed' | 'error';

/**
 * Fires the ticks of the stored schedules with timers of its own: each schedule has a timer
 * for its next tick (or for a claimed tick to settle), so a tick never waits for anything
 * else to happen in the process. At a timer it reads the schedule afresh, claims the ticks
 * due under its catch-up policy (`ScheduleStore.claimTick`: once per tick among every
 * process), submits each claimed tick's task (or skips it: overlap), records the outcome and
 * publishes `schedule.fired`.
 */
export class Scheduler {
  readonly #deps: SchedulerDeps;
  readonly #timers = new Map<string, ReturnType<typeof setTimeout>>();
  readonly #clocks = new Map<string, { key: string; clock: ScheduleClock }>();
  // One evaluation of a schedule at a time in this process: a timer and an upsert may race.
  readonly #chains = new Map<string, Promise<void>>();
  #refresh: ReturnType<typeof setInterval> | undefined;
  running = false;

  constructor(deps: SchedulerDeps) {
    this.#deps = deps;
  }

  /** Arms every stored schedule (due ticks are looked at at once). */
  async start(): Promise<void> {
    this.running = true;
    await this.refresh();
    const every = this.#deps.refreshMs;
    if (every !== undefined && every > 0) {
      this.#refresh = setInterval(() => {
        this.refresh().catch((e: unknown) => this.#report(e));
      }, every);
    }
  }

  /** Clears every timer; ticks in flight finish on their own. */
  stop(): void {
    this.running = false;
    if (this.#refresh !== undefined) clearInterval(this.#refresh);
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
  }

  /** Reads every schedule and arms it; forgets those no longer stored. */
  async refresh(): Promise<void> {
    const records = await this.#deps.store.list();
    if (!this.running) return;
    const ids = new Set(records.map((r) => r.id));
    for (const id of this.#timers.keys()) {
      if (ids.has(id)) continue;
      this.#disarm(id);
      this.#clocks.delete(id);
    }
    for (const record of records) this.#arm(record);
  }

  /** Looks at a schedule again now (written, paused, resumed or removed in this process). */
  changed(id: string): Promise<void> {
    return this.#serial(id, () => this.#evaluate(id));
  }

  /** The clock of a record, made once per timing. */
  clock(record: ScheduleRecord): ScheduleClock {
    const key = `${record.cron ?? ''}|${record.timezone ?? ''}|${record.everyMs ?? ''}|${record.anchorAt}`;
    const known = this.#clocks.get(record.id);
    if (known?.key === key) return known.clock;
    const clock = new ScheduleClock(record);
    this.#clocks.set(record.id, { key, clock });
    return clock;
  }

  #serial(id: string, work: () => Promise<void>): Promise<void> {
    const previous = this.#chains.get(id) ?? Promise.resolve();
    const next = previous.then(work).catch((e: unknown) => this.#report(e));
    this.#chains.set(id, next);
    void next.then(() => {
      if (this.#chains.get(id) === next) this.#chains.delete(id);
    });
    return next;
  }

  /** An error with no caller; after `stop`, one of the closing backend, which is expected. */
  #report(error: unknown): void {
    if (this.running) this.#deps.onError(error);
  }

  #disarm(id: string): void {
    const timer = this.#timers.get(id);
    if (timer !== undefined) clearTimeout(timer);
    this.#timers.delete(id);
  }

  /** Sets the schedule's timer: its next tick, or sooner for a claimed tick left unsettled. */
  #arm(record: ScheduleRecord | undefined): void {
    if (record === undefined) return;
    this.#disarm(record.id);
    if (!this.running) return;
    if (record.paused) {
      this.#clocks.delete(record.id);
      return;
    }
    let at = this.clock(record).next(record.lastTickAt) ?? Number.POSITIVE_INFINITY;
    if (record.settledTickAt < record.lastTickAt) {
      // Not sooner than RETRY_MS from now: a fire again that failed is not retried at once.
      const settleBy = Math.max(record.lastTickAt + SETTLE_GRACE_MS, this.#deps.now() + RETRY_MS);
      at = Math.min(at, settleBy);
    }
    if (at === Number.POSITIVE_INFINITY) return;
    this.#wakeIn(record.id, at - this.#deps.now());
  }

  /** Evaluates the schedule `id` after `ms` (its timer, replacing any it had). */
  #wakeIn(id: string, ms: number): void {
    this.#disarm(id);
    if (!this.running) return;
    const timer = setTimeout(
      () => {
        this.#timers.delete(id);
        void this.#serial(id, () => this.#evaluate(id));
      },
      Math.min(Math.max(ms, 0), MAX_DELAY_MS),
    );
    this.#timers.set(id, timer);
  }

  async #evaluate(id: string): Promise<void> {
    const { store } = this.#deps;
    try {
      const record = await store.get(id);
      if (!this.running) return;
      if (record === undefined || record.paused) {
        this.#disarm(id);
        this.#clocks.delete(id);
        return;
      }
      await this.#tick(record);
    } catch (error) {
      this.#report(error);
    }
    // Armed from the stored state, whatever became of the ticks; when the store cannot
    // answer (a backend briefly unreachable), looked at again shortly.
    await store.get(id).then(
      (stored) => this.#arm(stored),
      (error: unknown) => {
        this.#wakeIn(id, RETRY_MS);
        this.#report(error);
      },
    );
  }

  /** A claimed tick left unsettled first, then the ticks due now. */
  async #tick(start: ScheduleRecord): Promise<void> {
    let record = start;
    const now = this.#deps.now();
    const tickAt = record.lastTickAt;
    const next = this.clock(record).next(tickAt) ?? Number.POSITIVE_INFINITY;
    if (record.settledTickAt < tickAt && (now - tickAt >= SETTLE_GRACE_MS || next <= now)) {
      // A claim this recent was being fired when its claimer stopped: it fires now. An older
      // one (this process, or every process, was down since) is a missed tick like the
      // others: it fires only when the catch-up policy would fire it, the latest tick due.
      if (now - tickAt <= RECOVER_WITHIN_MS || (record.catchUp !== 'none' && next > now)) {
        record = await this.#fire(record, tickAt, true);
      } else {
        await this.#deps.store.settleTick(record.id, tickAt);
        this.#skipped(record, tickAt, 'missed');
      }
    }
    await this.#fireDue(record, now);
  }

  /** Claims and fires the ticks due at `now` that the catch-up policy keeps. */
  async #fireDue(start: ScheduleRecord, now: number): Promise<void> {
    let record = start;
    const limit = record.catchUp === 'all' ? record.catchUpLimit + 2 : 2;
    const due = this.clock(record).between(record.lastTickAt, now, limit);
    const latest = due.at(-1);
    if (latest === undefined) return;
    const onTime = now - latest <= ON_TIME_MS;
    const missed = onTime ? due.slice(0, -1) : due;
    const fire =
      record.catchUp === 'none'
        ? onTime
          ? [latest]
          : []
        : record.catchUp === 'last'
          ? [latest]
          : [...missed.slice(-record.catchUpLimit), ...(onTime ? [latest] : [])];
    const dropped = missed.filter((t) => !fire.includes(t)).at(-1);
    const { store } = this.#deps;
    if (fire.length === 0) {
      // Nothing fires: the newest missed tick is claimed so that no process looks at these again.
      if (dropped !== undefined && (await store.claimTick(record.id, dropped))) {
        await store.settleTick(record.id, dropped);
        this.#skipped(record, dropped, 'missed');
      }
      return;
    }
    let first = true;
    for (const tickAt of fire) {
      if (!(await store.claimTick(record.id, tickAt))) continue;
      if (first && dropped !== undefined) this.#skipped(record, dropped, 'missed');
      first = false;
      record = await this.#fire(record, tickAt, false);
    }
  }

  /**
   * Fires one claimed tick: skipped while the previous run is unfinished (overlap `skip`),
   * else its task submitted; then the outcome recorded and published. A submit that fails
   * and may succeed later (`retryable`: the backend unreachable, a rate limit) leaves the
   * tick unsettled, so that it is fired again after {@link SETTLE_GRACE_MS}. Returns the
   * record as this tick left it.
   */
  async #fire(record: ScheduleRecord, tickAt: number, recovered: boolean): Promise<ScheduleRecord> {
    const { store } = this.#deps;
    if (
      record.overlap === 'skip' &&
      record.lastTaskId !== undefined &&
      record.lastFiredAt !== tickAt
    ) {
      const running = record.lastTaskId;
      const status = await this.#deps.taskStatus(running);
      if (status !== undefined && !TERMINAL_STATUSES.has(status)) {
        await store.settleTick(record.id, tickAt);
        this.#skipped(record, tickAt, 'overlap', { runningTaskId: running });
        return record;
      }
    }
    const { task } = record;
    let handle: TaskHandle;
    try {
      handle = await this.#deps.submit({
        capability: task.capability,
        priority: task.priority,
        idempotencyKey: tickKey(record.id, tickAt),
        ...(task.payload === undefined ? {} : { payload: task.payload }),
        ...(task.timeoutMs === undefined ? {} : { timeoutMs: task.timeoutMs }),
        ...(task.maxAttempts === undefined ? {} : { maxAttempts: task.maxAttempts }),
        ...(task.sessionKey === undefined ? {} : { sessionKey: task.sessionKey }),
        ...(task.fairnessKey === undefined ? {} : { fairnessKey: task.fairnessKey }),
        ...(task.metadata === undefined ? {} : { metadata: task.metadata }),
      });
    } catch (error) {
      // Refused because the Switchboard shuts down: the tick stays claimed and unsettled, and
      // the next process (or this one's next start) fires it again.
      if (!this.running) return record;
      const retryable = isSwitchboardError(error) && error.retryable;
      if (!retryable) await store.settleTick(record.id, tickAt);
      const { message } = error as Error;
      const code = isSwitchboardError(error) ? error.code : undefined;
      this.#skipped(record, tickAt, 'error', {
        error: code === undefined ? { message } : { message, code },
        willRetry: retryable,
      });
      return record;
    }
    await store.settleTick(record.id, tickAt, handle.id);
    this.#deps.emit('schedule.fired', () => ({
      scheduleId: record.id,
      tickAt,
      taskId: handle.id,
      ...(recovered ? { recovered: true } : {}),
    }));
    return { ...record, lastFiredAt: tickAt, lastTaskId: handle.id, settledTickAt: tickAt };
  }

  #skipped(record: ScheduleRecord, tickAt: number, reason: SkipReason, extra: object = {}): void {
    this.#deps.emit('schedule.fired', () => ({
      scheduleId: record.id,
      tickAt,
      skipped: reason,
      ...extra,
    }));
  }
}
