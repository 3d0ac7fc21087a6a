import { z } from 'zod';
import { DEFAULT_TASK_PAGE, decodeTaskCursor, MAX_TASK_PAGE } from '../../model/task-list.js';
import { isTraceparent, isTracestate, MAX_TRACESTATE_LENGTH } from '../../model/trace-context.js';
import {
  ERROR_CODES,
  keyString,
  MAX_KEY_LENGTH,
  MAX_TEXT_LENGTH,
  metadataSchema,
  nonNegativeInt,
  prioritySchema,
} from './common.js';

/** The longest lease a task may ask for: one day. */
export const MAX_TIMEOUT_MS = 86_400_000;
/** The most attempts a task may ask for. */
export const MAX_ATTEMPTS = 100;
/** The most tasks in one batch. */
export const MAX_BATCH_SIZE = 10_000;
/** The longest `waitMs` of a result query. */
export const MAX_RESULT_WAIT_MS = 60_000;

/** A W3C `traceparent` (https://www.w3.org/TR/trace-context/#traceparent-header). */
export const traceparentSchema = z
  .string()
  .max(512)
  .refine(
    isTraceparent,
    'not a W3C traceparent (00-<32 hex trace id>-<16 hex span id>-<2 hex flags>)',
  )
  .meta({
    id: 'Traceparent',
    description: 'W3C trace context: the span this task continues',
    examples: ['00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'],
  });

/** A W3C `tracestate`: printable ASCII, at most 512 characters. */
export const tracestateSchema = z
  .string()
  .max(MAX_TRACESTATE_LENGTH)
  .refine(isTracestate, 'not a W3C tracestate (printable ASCII)')
  .meta({ id: 'Tracestate', description: 'W3C trace context: vendor state, kept as given' });

/** Every status of a task; `completed`, `dead` and `cancelled` are terminal. */
export const taskStatusSchema = z
  .enum(['queued', 'leased', 'completed', 'dead', 'cancelled'])
  .meta({ id: 'TaskStatus' });

/**
 * The body of `POST /v1/tasks`. Only `capability` is required.
 *
 * @example
 * ```ts
 * const task = validate(taskSubmitSchema, { capability: 'browser', payload: { url } })
 * task.priority // 'normal'
 * task.maxAttempts // 3
 * ```
 */
export const taskSubmitSchema = z
  .object({
    capability: keyString('The capability an agent needs to run it'),
    payload: z.unknown().describe('Any JSON value, handed to the agent as is').exactOptional(),
    priority: prioritySchema.default('normal'),
    timeoutMs: z
      .number()
      .int()
      .min(1)
      .max(MAX_TIMEOUT_MS)
      .describe('How long one lease lasts (default: the server setting, 30000)')
      .exactOptional(),
    maxAttempts: z.number().int().min(1).max(MAX_ATTEMPTS).default(3),
    idempotencyKey: keyString(
      'A repeat within the retention window returns the first task',
    ).exactOptional(),
    sessionKey: keyString('Tasks of one session go to the same live agent').exactOptional(),
    fairnessKey: keyString(
      'Tasks of one key (a tenant, a user) share the agents fairly with other keys, by weight',
    ).exactOptional(),
    delayMs: nonNegativeInt('Not leased before this many ms have passed').exactOptional(),
    metadata: metadataSchema.exactOptional(),
    traceparent: traceparentSchema.exactOptional(),
    tracestate: tracestateSchema.exactOptional(),
  })
  .meta({ id: 'TaskSubmit', description: 'A task to queue' });

/** The body of `POST /v1/tasks/batch`: 1..10,000 tasks, all or nothing. */
export const taskBatchSchema = z
  .object({ tasks: z.array(taskSubmitSchema).min(1).max(MAX_BATCH_SIZE) })
  .meta({ id: 'TaskBatch', description: 'Tasks to queue together; one invalid item fails all' });

const leaseToken = keyString('The token of the lease being answered');

/** The body of `POST /v1/tasks/{id}/complete`. */
export const completeSchema = z
  .object({ leaseToken, result: z.unknown().describe('Any JSON value').exactOptional() })
  .meta({ id: 'TaskComplete' });

/** The body of `POST /v1/tasks/{id}/fail`; `retryable` defaults to true. */
export const failSchema = z
  .object({
    leaseToken,
    error: z.object({
      message: z.string().max(MAX_TEXT_LENGTH),
      retryable: z.boolean().default(true),
    }),
  })
  .meta({ id: 'TaskFail' });

/** The most answers one request may carry. */
export const MAX_ANSWERS = 1000;

/**
 * One answer of a batch (`POST /v1/tasks/answers`, or the `answers` of a lease request): a
 * failure when it has `error`, else a completion with its optional `result`; never both.
 */
export const answerSchema = z
  .object({
    taskId: keyString('The id of the task answered'),
    leaseToken,
    result: z.unknown().describe('Any JSON value; a completion only').exactOptional(),
    error: failSchema.shape.error.describe('Present for a failure').exactOptional(),
  })
  .refine((answer) => answer.error === undefined || answer.result === undefined, {
    message: 'an answer completes (result) or fails (error), not both',
    path: ['error'],
  })
  .meta({ id: 'TaskAnswer' });

/** The body of `POST /v1/tasks/answers`: completions and failures of leases, applied each on its own. */
export const answersSchema = z
  .object({ answers: z.array(answerSchema).min(1).max(MAX_ANSWERS) })
  .meta({ id: 'TaskAnswers' });

/**
 * What became of one answer, in the order of the request: the task's status after it, or the
 * error (with the HTTP status) that `POST /v1/tasks/{id}/complete` or `/fail` would have
 * answered for it alone.
 */
export const answerOutcomeSchema = z
  .union([
    z.object({ taskId: z.string(), status: taskStatusSchema }),
    z.object({
      taskId: z.string(),
      error: z.object({
        code: z.enum(ERROR_CODES),
        message: z.string(),
        status: z.number().int().describe('The HTTP status of this answer sent alone'),
      }),
    }),
  ])
  .meta({ id: 'AnswerOutcome' });

/** `{"answers": [outcome, ...]}`, one per answer, in order. */
export const answersResponseSchema = z
  .object({ answers: z.array(answerOutcomeSchema) })
  .meta({ id: 'AnswersResponse' });

/** The body of `POST /v1/tasks/{id}/extend`: a longer lease by `ms`. */
export const extendSchema = z
  .object({ leaseToken, ms: z.number().int().min(1).max(MAX_TIMEOUT_MS) })
  .meta({ id: 'TaskExtend' });

/** The query of `GET /v1/tasks/{id}/result`: `waitMs` from a query string, default 0. */
export const resultQuerySchema = z
  .object({ waitMs: z.coerce.number().int().min(0).max(MAX_RESULT_WAIT_MS).default(0) })
  .meta({ id: 'ResultQuery' });

/** A task's last error, as the task view shows it. */
export const taskErrorSchema = z
  .object({
    message: z.string(),
    code: z.string().exactOptional(),
    retryable: z.boolean().exactOptional(),
  })
  .meta({ id: 'TaskError' });

/** The last progress a task's handler reported, and when. */
export const taskProgressSchema = z
  .object({
    value: z.unknown().describe('A number or a small JSON value'),
    at: nonNegativeInt('Epoch ms: when it was reported'),
  })
  .meta({ id: 'TaskProgress' });

/** A task as `GET /v1/tasks/{id}` answers it. */
export const taskViewSchema = z
  .object({
    id: z.string(),
    capability: z.string(),
    status: taskStatusSchema,
    priority: prioritySchema,
    attempts: nonNegativeInt('Attempts made so far'),
    maxAttempts: z.number().int().min(1),
    agentId: z.string().exactOptional(),
    result: z.unknown().exactOptional(),
    error: taskErrorSchema.exactOptional(),
    idempotencyKey: z.string().max(MAX_KEY_LENGTH).exactOptional(),
    sessionKey: z.string().max(MAX_KEY_LENGTH).exactOptional(),
    fairnessKey: z.string().max(MAX_KEY_LENGTH).exactOptional(),
    progress: taskProgressSchema.exactOptional(),
    traceparent: z.string().describe("W3C trace context of the task's submit").exactOptional(),
    tracestate: z.string().exactOptional(),
    createdAt: nonNegativeInt('Epoch ms'),
    updatedAt: nonNegativeInt('Epoch ms'),
  })
  .meta({ id: 'Task' });

/** A leased task as an agent receives it. */
export const taskLeaseSchema = z
  .object({
    id: z.string(),
    capability: z.string(),
    payload: z.unknown(),
    priority: prioritySchema,
    attempt: z.number().int().min(1).describe('1 on the first attempt'),
    leaseToken: z.string(),
    leaseExpiresAt: nonNegativeInt('Epoch ms'),
    sessionKey: z.string().exactOptional(),
    traceparent: z
      .string()
      .describe('W3C trace context for the spans of this attempt: their parent')
      .exactOptional(),
    tracestate: z.string().exactOptional(),
  })
  .meta({ id: 'TaskLease' });

/** `202 {"id", "status": "queued"}` of a submit or a replay; `200` with the first task's status for a repeated idempotency key. */
export const taskAcceptedSchema = z
  .object({ id: z.string(), status: taskStatusSchema })
  .meta({ id: 'TaskAccepted' });

/** `202 {"ids": [...]}` of a batch, in the order of the batch. */
export const batchAcceptedSchema = z
  .object({ ids: z.array(z.string()) })
  .meta({ id: 'BatchAccepted' });

/** `{"tasks": [task, ...]}`: dead letters. */
export const taskListSchema = z.object({ tasks: z.array(taskViewSchema) }).meta({ id: 'TaskList' });

/**
 * The query of `GET /v1/tasks`: filters, all optional, and a page (`limit` 1 … 1000, default
 * 50; `cursor` a page's `nextCursor`). An unknown parameter is refused, so a misspelt filter
 * never lists every task.
 */
export const taskListQuerySchema = z
  .strictObject({
    status: taskStatusSchema.exactOptional(),
    capability: keyString('Only tasks of this capability').exactOptional(),
    idempotencyKey: keyString('The task submitted with this key').exactOptional(),
    limit: z.coerce.number().int().min(1).max(MAX_TASK_PAGE).default(DEFAULT_TASK_PAGE),
    cursor: z
      .string()
      .max(2048)
      .refine((c) => decodeTaskCursor(c) !== undefined, 'not a cursor a task listing answered')
      .describe("The previous page's nextCursor")
      .exactOptional(),
  })
  .meta({ id: 'TaskListQuery' });

/** `{"tasks": [task, ...], "nextCursor"?}`: a page of `GET /v1/tasks`, newest first. */
export const taskPageSchema = z
  .object({
    tasks: z.array(taskViewSchema),
    nextCursor: z
      .string()
      .describe('There when more tasks may follow: pass it as cursor for the next page')
      .exactOptional(),
  })
  .meta({ id: 'TaskPage' });

/** `{"tasks": [task-lease, ...]}`: the answer to a lease request. */
export const leaseResponseSchema = z
  .object({
    tasks: z.array(taskLeaseSchema),
    answers: z
      .array(answerOutcomeSchema)
      .describe("The outcomes of the request's answers, when it carried some")
      .exactOptional(),
  })
  .meta({ id: 'LeaseResponse' });

/** A task as a client writes it (defaults not yet applied). */
export type TaskSubmitInput = z.input<typeof taskSubmitSchema>;
/** A validated task, defaults applied. */
export type TaskSubmit = z.output<typeof taskSubmitSchema>;
/** A validated batch. */
export type TaskBatch = z.output<typeof taskBatchSchema>;
/** A validated complete body. */
export type CompleteRequest = z.output<typeof completeSchema>;
/** A validated fail body (`retryable` filled). */
export type FailRequest = z.output<typeof failSchema>;
/** One validated answer: a completion, or a failure when it has `error`. */
export type Answer = z.output<typeof answerSchema>;
/** What became of one answer. */
export type AnswerOutcome = z.output<typeof answerOutcomeSchema>;
/** A validated extend body. */
export type ExtendRequest = z.output<typeof extendSchema>;
/** A validated task listing query. */
export type TaskListRequest = z.output<typeof taskListQuerySchema>;
/** A page of tasks as the API shows it. */
export type TaskPageView = z.output<typeof taskPageSchema>;
/** A validated result query. */
export type ResultQuery = z.output<typeof resultQuerySchema>;
/** A task's status. */
export type TaskStatus = z.output<typeof taskStatusSchema>;
/** A task as the API shows it. */
export type TaskView = z.output<typeof taskViewSchema>;
/** A leased task as the API shows it. */
export type TaskLease = z.output<typeof taskLeaseSchema>;
