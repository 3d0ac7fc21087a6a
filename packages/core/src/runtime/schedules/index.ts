/**
 * Schedules: cron expressions and fixed intervals that submit tasks (`sb.schedules`), the
 * times they tick at, and the scheduler that fires them. See docs/schedules.md.
 *
 * @module
 */
export { MemoryScheduleStore } from '../../backends/memory/memory-schedules.js';
export {
  copySchedule,
  mergeSchedule,
  type ScheduleStore,
  settledSchedule,
} from '../../contracts/schedule-store.js';
export {
  type CatchUpPolicy,
  type OverlapPolicy,
  type ScheduleRecord,
  type ScheduleSpec,
  type ScheduleTask,
  type ScheduleView,
  tickKey,
} from '../../model/schedule.js';
export { cronProblem, ScheduleClock, type ScheduleTiming } from '../../model/schedule-clock.js';
export {
  MAX_CATCH_UP,
  MIN_SCHEDULE_EVERY_MS,
  NEXT_RUNS_SHOWN,
  type ScheduleBody,
  type ScheduleBodyInput,
  type ScheduleSpecInput,
  type ScheduleViewBody,
  scheduleBodySchema,
  scheduleIdSchema,
  scheduleListSchema,
  scheduleSpecSchema,
  scheduleTaskSchema,
  scheduleViewSchema,
} from '../../protocol/schemas/schedule-schema.js';
export { ON_TIME_MS, SETTLE_GRACE_MS } from './scheduler.js';
export { Schedules } from './schedules.js';
