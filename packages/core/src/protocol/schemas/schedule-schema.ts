import { z } from 'zod';
import { cronProblem, cronSyntaxProblem, timezoneProblem } from '../../model/schedule-clock.js';
import {
  closedObject,
  keyString,
  metadataSchema,
  nonNegativeInt,
  prioritySchema,
} from './common.js';
import { MAX_ATTEMPTS, MAX_TIMEOUT_MS } from './task-schema.js';

/** The shortest interval a schedule may have: cron's finest step is a second too. */
export const MIN_SCHEDULE_EVERY_MS = 1000;
/** The most missed ticks `catchUp: 'all'` may fire at once. */
export const MAX_CATCH_UP = 1000;
/** How many next fire times a schedule's view lists. */
export const NEXT_RUNS_SHOWN = 5;

/** A schedule id: it appears in URLs and in the idempotency keys of its tasks. */
export const scheduleIdSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9._:-]+$/, 'letters, digits, ".", "_", ":" and "-" only')
  .describe('The schedule id (1..128 of A-Z a-z 0-9 . _ : -)');

/** The task a schedule submits at each tick. */
export const scheduleTaskSchema = closedObject({
  capability: keyString('The capability an agent needs to run it'),
  payload: z.unknown().describe('Any JSON value, handed to the agent as is').exactOptional(),
  priority: prioritySchema.default('normal'),
  timeoutMs: z.number().int().min(1).max(MAX_TIMEOUT_MS).exactOptional(),
  maxAttempts: z.number().int().min(1).max(MAX_ATTEMPTS).exactOptional(),
  sessionKey: keyString('Tasks of one session go to the same live agent').exactOptional(),
  fairnessKey: keyString('The fairness key its tasks are dispatched under').exactOptional(),
  metadata: metadataSchema.exactOptional(),
}).meta({ id: 'ScheduleTask', description: 'The task each tick submits' });

const scheduleFields = {
  cron: z
    .string()
    .min(1)
    .max(256)
    .describe('5 fields, or 6 with seconds first (`*/10 * * * * *`); exactly one of cron, everyMs')
    .check((ctx) => {
      const problem = cronSyntaxProblem(ctx.value);
      if (problem !== undefined)
        ctx.issues.push({ code: 'custom', message: problem, input: ctx.value });
    })
    .exactOptional(),
  timezone: z
    .string()
    .min(1)
    .max(64)
    .describe('The IANA time zone cron is read in (default UTC)')
    .check((ctx) => {
      const problem = timezoneProblem(ctx.value);
      if (problem !== undefined)
        ctx.issues.push({ code: 'custom', message: problem, input: ctx.value });
    })
    .exactOptional(),
  everyMs: z
    .number()
    .int()
    .min(MIN_SCHEDULE_EVERY_MS)
    .max(Number.MAX_SAFE_INTEGER)
    .describe('A fixed interval, counted from when the schedule was written')
    .exactOptional(),
  task: scheduleTaskSchema,
  overlap: z
    .enum(['skip', 'allow'])
    .default('skip')
    .describe('skip: a tick does not fire while the previous run is unfinished'),
  catchUp: z
    .enum(['none', 'last', 'all'])
    .default('none')
    .describe(
      'Which missed ticks fire after downtime: none, the last, or all (up to catchUpLimit)',
    ),
  catchUpLimit: z.number().int().min(1).max(MAX_CATCH_UP).default(10),
  paused: z.boolean().default(false),
};

/** The checks that span fields: one timing, a zone only with cron, a cron that fires. */
function checkTiming(
  spec: { cron?: string | undefined; timezone?: string | undefined; everyMs?: number | undefined },
  ctx: z.RefinementCtx,
): void {
  if ((spec.cron === undefined) === (spec.everyMs === undefined)) {
    ctx.addIssue({ code: 'custom', path: ['cron'], message: 'give exactly one of cron, everyMs' });
    return;
  }
  if (spec.cron === undefined) {
    if (spec.timezone !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['timezone'], message: 'timezone goes with cron' });
    }
    return;
  }
  // The expression and the zone are each valid here (checked on their fields).
  const problem = cronProblem(spec.cron, spec.timezone);
  if (problem !== undefined) ctx.addIssue({ code: 'custom', path: ['cron'], message: problem });
}

/**
 * The body of `PUT /v1/schedules/{id}`: a cron expression or an interval, the task, and
 * the policies. Unknown keys are refused, naming the known ones.
 *
 * @example
 * ```ts
 * validate(scheduleBodySchema, { cron: '0 * * * *', task: { capability: 'report' } })
 * ```
 */
export const scheduleBodySchema = closedObject(scheduleFields)
  .superRefine(checkTiming)
  .meta({ id: 'ScheduleBody', description: 'A schedule to create or replace' });

/** A schedule as `sb.schedules.upsert` takes it: the body with its `id`. */
export const scheduleSpecSchema = closedObject({ id: scheduleIdSchema, ...scheduleFields })
  .superRefine(checkTiming)
  .meta({ id: 'ScheduleSpec' });

/** A schedule as `GET /v1/schedules/{id}` answers it. */
export const scheduleViewSchema = z
  .object({
    id: z.string(),
    cron: z.string().exactOptional(),
    timezone: z.string().exactOptional(),
    everyMs: z.number().int().exactOptional(),
    task: scheduleTaskSchema,
    overlap: z.enum(['skip', 'allow']),
    catchUp: z.enum(['none', 'last', 'all']),
    catchUpLimit: z.number().int(),
    paused: z.boolean(),
    createdAt: nonNegativeInt('Epoch ms'),
    updatedAt: nonNegativeInt('Epoch ms'),
    lastFiredAt: nonNegativeInt('The tick of the latest task submitted').exactOptional(),
    lastTaskId: z.string().describe('The latest task submitted').exactOptional(),
    nextRuns: z
      .array(nonNegativeInt('Epoch ms'))
      .describe(`The next ${NEXT_RUNS_SHOWN} fire times, soonest first; empty while paused`),
  })
  .meta({ id: 'Schedule' });

/** `{"schedules": [schedule, ...]}`, by id. */
export const scheduleListSchema = z
  .object({ schedules: z.array(scheduleViewSchema) })
  .meta({ id: 'ScheduleList' });

/** A schedule body as validated. */
export type ScheduleBody = z.output<typeof scheduleBodySchema>;
/** A schedule body as a client writes it (defaults not applied). */
export type ScheduleBodyInput = z.input<typeof scheduleBodySchema>;
/** A schedule as `sb.schedules.upsert` takes it (defaults not applied). */
export type ScheduleSpecInput = z.input<typeof scheduleSpecSchema>;
/** A schedule as the HTTP API shows it. */
export type ScheduleViewBody = z.output<typeof scheduleViewSchema>;
