import {
  type AgentRegisterInput,
  type AgentView,
  type AnswerOutcome,
  type ErrorCode,
  type FairnessKeyBody,
  type FairnessKeyViewBody,
  type FairnessViewBody,
  type ScheduleBodyInput,
  type ScheduleViewBody,
  type Stats,
  SwitchboardError,
  type TaskLease,
  type TaskSubmitInput,
  type TaskView,
} from '@switchboard/core';
import { type EventsRequest, followEvents, type StreamEvent } from './events.js';
import { followTaskStream, type TaskStreamItem, type TaskStreamRequest } from './task-stream.js';

/** Options of {@link createClient}. */
export interface ClientOptions {
  /** The server's base URL, e.g. `http://127.0.0.1:8787`. */
  baseUrl: string;
  /** A bearer token, when the server has auth on. */
  token?: string;
  /** The fetch to use (a test double, or one with a proxy); the global one by default. */
  fetch?: typeof fetch;
  /**
   * How long a call may wait for its answer before it is given up with a `timeout` error, so
   * that a server that hangs (or a network that drops packets) cannot hang its caller. A
   * long-poll (`lease`, `result`) gets its `waitMs` on top. None by default.
   */
  timeoutMs?: number;
}

/** The query of {@link SwitchboardClient.listTasks}: filters and a page, all optional. */
export interface TaskListFilters {
  status?: TaskView['status'];
  capability?: string;
  idempotencyKey?: string;
  /** 1 … 1000; the server's default is 50. */
  limit?: number;
  cursor?: string;
}

/** One answer to a lease: a completion with its `result`, or a failure when it has `error`. */
export type AnswerInput =
  | { taskId: string; leaseToken: string; result?: unknown }
  | { taskId: string; leaseToken: string; error: { message: string; retryable?: boolean } };

/** A typed client of every endpoint of the HTTP contract (docs/http.md), events included. */
export interface SwitchboardClient {
  registerAgent(body: AgentRegisterInput): Promise<AgentView>;
  listAgents(): Promise<{ agents: AgentView[] }>;
  getAgent(id: string): Promise<AgentView>;
  heartbeat(id: string, metrics?: Record<string, number>): Promise<AgentView>;
  /**
   * Long-polls for leases; `signal` hangs up the poll (the server then hands nothing out).
   * `answers` are applied first, as {@link answer} applies them; their outcomes come back in
   * `answers`, in order.
   */
  lease(
    id: string,
    options?: { max?: number; waitMs?: number; answers?: AnswerInput[]; signal?: AbortSignal },
  ): Promise<{ tasks: TaskLease[]; answers?: AnswerOutcome[] }>;
  leave(id: string): Promise<unknown>;
  submit(task: TaskSubmitInput): Promise<{ id: string; status: string }>;
  submitBatch(tasks: TaskSubmitInput[]): Promise<{ ids: string[] }>;
  getTask(id: string): Promise<TaskView>;
  /**
   * A page of tasks, newest first (`GET /v1/tasks`); pass `nextCursor` back as `cursor` for
   * the next page. A page may be short while `nextCursor` is there.
   */
  listTasks(query?: TaskListFilters): Promise<{ tasks: TaskView[]; nextCursor?: string }>;
  result(id: string, waitMs?: number): Promise<TaskView>;
  cancel(id: string): Promise<TaskView>;
  complete(id: string, leaseToken: string, result?: unknown): Promise<TaskView>;
  fail(
    id: string,
    leaseToken: string,
    error: { message: string; retryable?: boolean },
  ): Promise<TaskView>;
  extend(id: string, leaseToken: string, ms: number): Promise<TaskLease>;
  /**
   * Reports a lease's progress (`value`) and appends `chunks` to the task's stream; renews the
   * lease as `extend` does (to `extendMs`, default the task's `timeoutMs`). `lastSeq` is the
   * seq of the last chunk appended, when chunks were sent.
   */
  progress(
    id: string,
    leaseToken: string,
    report: { value?: unknown; chunks?: unknown[]; extendMs?: number },
  ): Promise<{ id: string; leaseExpiresAt: number; lastSeq?: number }>;
  /**
   * Follows a task's stream of partial output until its `end` (see {@link followTaskStream}):
   * the chunks kept, then each one as it is produced, reconnecting with the last seq.
   */
  stream(id: string, request?: TaskStreamRequest): AsyncGenerator<TaskStreamItem, void, undefined>;
  /**
   * Completes and fails up to 1,000 leases in one request, each on its own: one outcome per
   * answer, in order, with the task's status or the error it would have had alone.
   */
  answer(answers: AnswerInput[]): Promise<{ answers: AnswerOutcome[] }>;
  deadLetters(): Promise<{ tasks: TaskView[] }>;
  replay(id: string): Promise<{ id: string; status: 'queued' }>;
  deleteDeadLetter(id: string): Promise<unknown>;
  publish(topic: string, data?: unknown): Promise<unknown>;
  stats(): Promise<Stats>;
  /**
   * Creates or replaces the schedule `id`: a cron expression (`cron`, `timezone`) or an
   * interval (`everyMs`), the task each tick submits, and its policies (docs/schedules.md).
   */
  putSchedule(id: string, body: ScheduleBodyInput): Promise<ScheduleViewBody>;
  /** Every schedule, by id, each with its next fire times. */
  listSchedules(): Promise<{ schedules: ScheduleViewBody[] }>;
  getSchedule(id: string): Promise<ScheduleViewBody>;
  /** No tick of the schedule fires until it is resumed. */
  pauseSchedule(id: string): Promise<ScheduleViewBody>;
  /** The schedule's ticks fire again, counted from now. */
  resumeSchedule(id: string): Promise<ScheduleViewBody>;
  deleteSchedule(id: string): Promise<{ id: string; deleted: true }>;
  /** The fairness policy in force: the defaults, the caps by capability, the keys set apart. */
  getFairness(): Promise<FairnessViewBody>;
  /** One fairness key's weight and cap as they apply, and its tasks leased now. */
  getFairnessKey(key: string): Promise<FairnessKeyViewBody>;
  /**
   * Replaces a fairness key's own settings (admin): those left out return to the defaults
   * (docs/fairness.md).
   */
  setFairnessKey(key: string, settings: FairnessKeyBody): Promise<FairnessKeyViewBody>;
  /** Clears a fairness key's own settings (admin): it follows the defaults again. */
  clearFairnessKey(key: string): Promise<FairnessKeyViewBody>;
  /** Follows the event stream, reconnecting without losing events (see {@link followEvents}). */
  events(request?: EventsRequest): AsyncGenerator<StreamEvent, void, undefined>;
}

/**
 * A small typed client over `fetch` (any runtime). An error answer throws a
 * `SwitchboardError` with the server's code, the HTTP status in `details.status`, and the
 * server's `details` in `details.details`.
 *
 * @example
 * ```ts
 * const client = createClient({ baseUrl: 'http://127.0.0.1:8787' })
 * const { id } = await client.submit({ capability: 'browser', payload: { url } })
 * const task = await client.result(id, 30_000)
 * ```
 */
export function createClient(options: ClientOptions): SwitchboardClient {
  const base = options.baseUrl.replace(/\/+$/, '');
  const doFetch = options.fetch ?? fetch;
  const call = async <T>(
    method: string,
    path: string,
    body?: unknown,
    signal?: AbortSignal,
    waitMs = 0,
  ): Promise<T> => {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
    const init: RequestInit = { method, headers };
    const deadline = withDeadline(signal, options.timeoutMs, waitMs);
    if (deadline.signal !== undefined) init.signal = deadline.signal;
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let res: Response;
    let text: string;
    try {
      res = await doFetch(`${base}${path}`, init);
      text = await res.text();
    } finally {
      deadline.clear();
    }
    const value: unknown = text === '' ? undefined : JSON.parse(text);
    if (res.ok) return value as T;
    const error = (value as { error?: { code?: ErrorCode; message?: string; details?: unknown } })
      ?.error;
    throw new SwitchboardError(error?.code ?? 'internal', error?.message ?? `HTTP ${res.status}`, {
      details: { status: res.status, details: error?.details },
    });
  };
  const id = encodeURIComponent;
  return {
    registerAgent: (body) => call('POST', '/v1/agents', body),
    listAgents: () => call('GET', '/v1/agents'),
    getAgent: (a) => call('GET', `/v1/agents/${id(a)}`),
    heartbeat: (a, metrics) =>
      call('POST', `/v1/agents/${id(a)}/heartbeat`, metrics === undefined ? {} : { metrics }),
    lease: (a, { signal, ...o } = {}) =>
      call('POST', `/v1/agents/${id(a)}/lease`, o, signal, o.waitMs),
    leave: (a) => call('DELETE', `/v1/agents/${id(a)}`),
    submit: (task) => call('POST', '/v1/tasks', task),
    submitBatch: (tasks) => call('POST', '/v1/tasks/batch', { tasks }),
    getTask: (t) => call('GET', `/v1/tasks/${id(t)}`),
    listTasks: (query = {}) => {
      const params = new URLSearchParams();
      for (const [key, value] of Object.entries(query)) {
        if (value !== undefined) params.set(key, String(value));
      }
      const search = params.size === 0 ? '' : `?${params}`;
      return call('GET', `/v1/tasks${search}`);
    },
    result: (t, waitMs = 0) =>
      call('GET', `/v1/tasks/${id(t)}/result?waitMs=${waitMs}`, undefined, undefined, waitMs),
    cancel: (t) => call('POST', `/v1/tasks/${id(t)}/cancel`),
    complete: (t, leaseToken, result) =>
      call('POST', `/v1/tasks/${id(t)}/complete`, { leaseToken, result }),
    fail: (t, leaseToken, error) => call('POST', `/v1/tasks/${id(t)}/fail`, { leaseToken, error }),
    extend: (t, leaseToken, ms) => call('POST', `/v1/tasks/${id(t)}/extend`, { leaseToken, ms }),
    progress: (t, leaseToken, report) =>
      call('POST', `/v1/tasks/${id(t)}/progress`, { leaseToken, ...report }),
    stream: (t, request) => followTaskStream(options, t, request),
    answer: (answers) => call('POST', '/v1/tasks/answers', { answers }),
    deadLetters: () => call('GET', '/v1/dead-letters'),
    replay: (t) => call('POST', `/v1/dead-letters/${id(t)}/replay`),
    deleteDeadLetter: (t) => call('DELETE', `/v1/dead-letters/${id(t)}`),
    publish: (topic, data) => call('POST', '/v1/events', { topic, data }),
    stats: () => call('GET', '/v1/stats'),
    putSchedule: (s, body) => call('PUT', `/v1/schedules/${id(s)}`, body),
    listSchedules: () => call('GET', '/v1/schedules'),
    getSchedule: (s) => call('GET', `/v1/schedules/${id(s)}`),
    pauseSchedule: (s) => call('POST', `/v1/schedules/${id(s)}/pause`),
    resumeSchedule: (s) => call('POST', `/v1/schedules/${id(s)}/resume`),
    deleteSchedule: (s) => call('DELETE', `/v1/schedules/${id(s)}`),
    getFairness: () => call('GET', '/v1/fairness'),
    getFairnessKey: (key) => call('GET', `/v1/fairness/keys/${id(key)}`),
    setFairnessKey: (key, settings) => call('PUT', `/v1/fairness/keys/${id(key)}`, settings),
    clearFairnessKey: (key) => call('DELETE', `/v1/fairness/keys/${id(key)}`),
    events: (request) => followEvents(options, request),
  };
}

/**
 * The signal of one call: the caller's, aborted too after `timeoutMs + waitMs` when a
 * timeout is set. `clear` stops the clock once the answer is read.
 */
function withDeadline(
  signal: AbortSignal | undefined,
  timeoutMs: number | undefined,
  waitMs: number,
): { signal: AbortSignal | undefined; clear(): void } {
  if (timeoutMs === undefined) return { signal, clear: () => {} };
  const controller = new AbortController();
  const ms = timeoutMs + waitMs;
  const timer = setTimeout(() => {
    controller.abort(new SwitchboardError('timeout', `no answer within ${ms} ms`));
  }, ms);
  const follow = () => controller.abort(signal?.reason);
  if (signal?.aborted) follow();
  else signal?.addEventListener('abort', follow, { once: true });
  return {
    signal: controller.signal,
    clear: () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', follow);
    },
  };
}
