import type { Priority } from './priority.js';
import type { TaskProgress } from './progress.js';

/** Where a task stands. `completed`, `dead` and `cancelled` are terminal. */
export type TaskStatus = 'queued' | 'leased' | 'completed' | 'dead' | 'cancelled';

/** The statuses after which a task never changes again (but for a dead-letter replay). */
export const TERMINAL_STATUSES: ReadonlySet<TaskStatus> = new Set([
  'completed',
  'dead',
  'cancelled',
]);

/** The last error of a failed attempt, as stored and as served over HTTP. */
export interface TaskError {
  message: string;
  /** A `SwitchboardError` code, or a code the agent reported. */
  code?: string;
  /** Whether another attempt may succeed. */
  retryable?: boolean;
}

/**
 * A task as the backend stores it. The same shape crosses every process edge (HTTP, Redis,
 * the journal), so it holds plain data only.
 */
export interface TaskRecord {
  id: string;
  capability: string;
  payload: unknown;
  priority: Priority;
  status: TaskStatus;
  /** Attempts started so far (a lease starts one). */
  attempts: number;
  maxAttempts: number;
  /** The length of one lease, and of one attempt of an in-process agent. */
  timeoutMs: number;
  /** Not leased before this instant (a delay, or a retry's backoff). */
  availableAt: number;
  idempotencyKey?: string;
  sessionKey?: string;
  /**
   * The key (a tenant, a user) it is dispatched fairly under: within its capability and
   * priority, keys with work share the agents by weight (docs/fairness.md).
   */
  fairnessKey?: string;
  metadata?: Record<string, unknown>;
  /** Who submitted it (for per-submitter limits and audit). */
  submitter?: string;
  /** The agent holding or that last held the lease. */
  agentId?: string;
  leaseToken?: string;
  leaseExpiresAt?: number;
  result?: unknown;
  error?: TaskError;
  /**
   * The W3C trace context of the span that submitted it (or the caller's own, when no
   * telemetry is configured): every later span of the task joins this trace.
   */
  traceparent?: string;
  tracestate?: string;
  /** The last progress its handler reported (kept when the task ends). */
  progress?: TaskProgress;
  createdAt: number;
  updatedAt: number;
}

/**
 * Makes a new queued record when called as `new TaskRecordOf(...)`. Its prototype is
 * `Object.prototype`, so its records are plain objects of one shape, as a literal's would
 * be. It is not a literal because records live on (queued, then retained), and V8 allocates
 * a literal whose objects survive straight into the old generation: in profiles of large
 * batches the literal was the slowest line of the run phase, and this constructor costs a
 * small part of that (see bench/RESULTS.md, In-process engine, seventh pass).
 */
const TaskRecordOf = function TaskRecordOf(
  this: TaskRecord,
  id: string,
  capability: string,
  payload: unknown,
  priority: Priority,
  maxAttempts: number,
  timeoutMs: number,
  availableAt: number,
  now: number,
) {
  this.id = id;
  this.capability = capability;
  this.payload = payload;
  this.priority = priority;
  this.status = 'queued';
  this.attempts = 0;
  this.maxAttempts = maxAttempts;
  this.timeoutMs = timeoutMs;
  this.availableAt = availableAt;
  this.createdAt = now;
  this.updatedAt = now;
} as unknown as new (
  ...fields: Parameters<typeof newTaskRecord>
) => TaskRecord;
TaskRecordOf.prototype = Object.prototype;

/** A task's record as it is queued: no attempt yet, created and updated `now`. */
export function newTaskRecord(
  id: string,
  capability: string,
  payload: unknown,
  priority: Priority,
  maxAttempts: number,
  timeoutMs: number,
  availableAt: number,
  now: number,
): TaskRecord {
  return new TaskRecordOf(
    id,
    capability,
    payload,
    priority,
    maxAttempts,
    timeoutMs,
    availableAt,
    now,
  );
}

/** A task as handed to a remote agent by a lease (the task-lease of docs/http.md). */
export interface TaskLease {
  id: string;
  capability: string;
  payload: unknown;
  priority: Priority;
  attempt: number;
  leaseToken: string;
  leaseExpiresAt: number;
  sessionKey?: string;
  /** The trace context the agent continues: the lease's span, or the task's own. */
  traceparent?: string;
  tracestate?: string;
}

/** The task-lease view of a leased record. */
export function toLease(task: TaskRecord): TaskLease {
  const lease: TaskLease = {
    id: task.id,
    capability: task.capability,
    payload: task.payload,
    priority: task.priority,
    attempt: task.attempts,
    leaseToken: task.leaseToken ?? '',
    leaseExpiresAt: task.leaseExpiresAt ?? 0,
  };
  if (task.sessionKey !== undefined) lease.sessionKey = task.sessionKey;
  if (task.traceparent !== undefined) {
    lease.traceparent = task.traceparent;
    if (task.tracestate !== undefined) lease.tracestate = task.tracestate;
  }
  return lease;
}
