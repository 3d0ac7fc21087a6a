import { SwitchboardError } from '../../errors.js';
import { PRIORITIES, type Priority } from '../../model/priority.js';
import { newTaskRecord, type TaskRecord } from '../../model/task.js';
import { isTraceparent, isTracestate } from '../../model/trace-context.js';
import { MAX_KEY_LENGTH } from '../../protocol/schemas/common.js';
import {
  MAX_ATTEMPTS,
  MAX_TIMEOUT_MS,
  taskSubmitSchema,
} from '../../protocol/schemas/task-schema.js';
import { validate } from '../../protocol/validator.js';

/**
 * How a task finds its agent: `queued` waits for one (the default), `immediate` fails at
 * submit with `no_agent` when no live agent has the capability, `delegated` goes to a
 * coordinator-role agent (which may split it with `ctx.spawn`), `consolidated` goes to an
 * agent that takes tasks in batches (one handler call for several tasks).
 */
export type AssignmentPolicy = 'queued' | 'immediate' | 'delegated' | 'consolidated';

/** The assignment policies. */
export const ASSIGNMENT_POLICIES: readonly AssignmentPolicy[] = [
  'queued',
  'immediate',
  'delegated',
  'consolidated',
];

/** A task as callers submit it. Only `capability` is required. */
export interface SubmitInput<I = unknown> {
  readonly capability: string;
  readonly payload?: I;
  /** `normal` unless given. */
  readonly priority?: Priority;
  /** The length of one attempt (and of a remote agent's lease), 1..86 400 000 ms. */
  readonly timeoutMs?: number;
  /** Attempts in all, 1..100 (default 3). */
  readonly maxAttempts?: number;
  /** A repeat within the retention window returns the first task and creates nothing. */
  readonly idempotencyKey?: string;
  /** Tasks with the same key go to the same live agent (with a pinning load balancer). */
  readonly sessionKey?: string;
  /**
   * The key (a tenant, a user, a conversation) it is dispatched fairly under: keys with work
   * share the agents of a capability by weight (docs/fairness.md).
   */
  readonly fairnessKey?: string;
  /** Not run before this many ms have passed. */
  readonly delayMs?: number;
  readonly metadata?: Record<string, unknown>;
  /**
   * The W3C trace context the task continues (over HTTP, the `traceparent` and `tracestate`
   * headers or fields). With a `telemetry`, the submit's span is its child; without, it is
   * stored as given and handed to remote agents in their leases.
   */
  readonly traceparent?: string;
  readonly tracestate?: string;
  /** Who submits it, for per-submitter rate limits. In-process only. */
  readonly submitter?: string;
  /** Aborting it cancels the task. In-process only. */
  readonly signal?: AbortSignal;
  /** The assignment policy; the capability's configured one, else `queued`. */
  readonly policy?: AssignmentPolicy;
}

/** What a task gets when its submit leaves something out. */
export interface TaskDefaults {
  readonly timeoutMs: number;
  readonly maxAttempts: number;
}

const PRIORITY_SET: ReadonlySet<string> = new Set(PRIORITIES);

function isKey(value: unknown): boolean {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_KEY_LENGTH;
}

function isIntIn(value: unknown, min: number, max: number): boolean {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
}

function isPlainRecord(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return false;
  for (const key of Object.keys(value)) {
    if (key.length > MAX_KEY_LENGTH || key === '__proto__') return false;
  }
  return true;
}

/**
 * True for a well-formed task that sets nothing but its capability, payload and priority:
 * one that a batch kept as columns can carry (see `TaskColumns`).
 */
export function isPlainTask(input: SubmitInput): boolean {
  return (
    input.timeoutMs === undefined &&
    input.maxAttempts === undefined &&
    input.idempotencyKey === undefined &&
    input.sessionKey === undefined &&
    input.fairnessKey === undefined &&
    input.delayMs === undefined &&
    input.metadata === undefined &&
    input.signal === undefined &&
    input.policy === undefined &&
    input.submitter === undefined &&
    input.traceparent === undefined &&
    input.tracestate === undefined &&
    isWellFormed(input)
  );
}

/**
 * The fast path of validation: true when `input` certainly passes `taskSubmitSchema`.
 * Whatever it does not recognise goes through zod, which then answers with its precise
 * issues; so this check may only ever be stricter than the schema, never looser.
 */
function isWellFormed(input: SubmitInput): boolean {
  return (
    isKey(input.capability) &&
    (input.priority === undefined || PRIORITY_SET.has(input.priority)) &&
    (input.timeoutMs === undefined || isIntIn(input.timeoutMs, 1, MAX_TIMEOUT_MS)) &&
    (input.maxAttempts === undefined || isIntIn(input.maxAttempts, 1, MAX_ATTEMPTS)) &&
    (input.idempotencyKey === undefined || isKey(input.idempotencyKey)) &&
    (input.sessionKey === undefined || isKey(input.sessionKey)) &&
    (input.fairnessKey === undefined || isKey(input.fairnessKey)) &&
    (input.delayMs === undefined || isIntIn(input.delayMs, 0, Number.MAX_SAFE_INTEGER)) &&
    (input.metadata === undefined || isPlainRecord(input.metadata)) &&
    (input.traceparent === undefined || isTraceparent(input.traceparent)) &&
    (input.tracestate === undefined || isTracestate(input.tracestate))
  );
}

/** The fields zod validates, without the in-process extras (signal, submitter, policy). */
function wireFields(input: SubmitInput): Record<string, unknown> {
  const { signal: _s, submitter: _u, policy: _p, ...wire } = input;
  for (const key of Object.keys(wire)) {
    // In-process callers may leave optional fields `undefined`; the wire has no such value.
    if ((wire as Record<string, unknown>)[key] === undefined) {
      delete (wire as Record<string, unknown>)[key];
    }
  }
  return wire;
}

/**
 * Checks one submitted task and builds its record: `queued`, no attempt yet, defaults
 * filled. Well-formed input skips zod (the hot path); anything else is validated by
 * `taskSubmitSchema`, whose issues become the error.
 *
 * @throws SwitchboardError `invalid_request` with `details` listing each issue (`path` is
 * prefixed by `prefix`, e.g. `tasks.3.`).
 */
export function toTaskRecord(
  input: SubmitInput,
  id: string,
  now: number,
  defaults: TaskDefaults,
  prefix = '',
): TaskRecord {
  if (input === null || typeof input !== 'object') {
    throw new SwitchboardError('invalid_request', `${prefix || 'task'}: expected an object`, {
      details: [{ path: prefix.replace(/\.$/, ''), message: 'expected an object' }],
    });
  }
  let source = input;
  if (!isWellFormed(input)) {
    try {
      source = validate(taskSubmitSchema, wireFields(input)) as SubmitInput;
    } catch (error) {
      throw prefix === '' ? error : withPrefix(error as SwitchboardError, prefix);
    }
  }
  checkExtras(input, prefix);
  const task = newTaskRecord(
    id,
    source.capability,
    source.payload,
    source.priority ?? 'normal',
    // zod fills maxAttempts with its own default; the Switchboard's default wins.
    input.maxAttempts === undefined ? defaults.maxAttempts : (source.maxAttempts as number),
    source.timeoutMs ?? defaults.timeoutMs,
    source.delayMs ? now + source.delayMs : now,
    now,
  );
  if (source.idempotencyKey !== undefined) task.idempotencyKey = source.idempotencyKey;
  if (source.sessionKey !== undefined) task.sessionKey = source.sessionKey;
  if (source.fairnessKey !== undefined) task.fairnessKey = source.fairnessKey;
  if (source.metadata !== undefined) task.metadata = source.metadata;
  if (input.submitter !== undefined) task.submitter = input.submitter;
  if (source.traceparent !== undefined) {
    task.traceparent = source.traceparent;
    // A tracestate means nothing without the traceparent it goes with (W3C Trace Context).
    if (source.tracestate !== undefined) task.tracestate = source.tracestate;
  }
  return task;
}

function badExtra(prefix: string, field: string, message: string): SwitchboardError {
  return new SwitchboardError('invalid_request', `${prefix}${field}: ${message}`, {
    details: [{ path: `${prefix}${field}`, message }],
  });
}

function checkExtras(input: SubmitInput, prefix: string): void {
  if (input.policy !== undefined && !ASSIGNMENT_POLICIES.includes(input.policy)) {
    throw badExtra(prefix, 'policy', `must be one of ${ASSIGNMENT_POLICIES.join(', ')}`);
  }
  if (input.submitter !== undefined && !isKey(input.submitter)) {
    throw badExtra(prefix, 'submitter', 'must be a non-empty string of at most 256 characters');
  }
  if (input.signal !== undefined && typeof input.signal?.aborted !== 'boolean') {
    throw badExtra(prefix, 'signal', 'must be an AbortSignal');
  }
}

const encoder = new TextEncoder();

function notSerializable(why: string, cause?: unknown): SwitchboardError {
  const message = `not serializable as JSON (${why}), so its size cannot be checked against maxPayloadBytes`;
  return new SwitchboardError('invalid_request', `payload: ${message}`, {
    details: [{ path: 'payload', message }],
    cause,
  });
}

/**
 * Checks that a payload serializes (as JSON, UTF-8) within `max` bytes. A payload JSON
 * cannot serialize (a cycle, a BigInt, a function) has no size to compare, and would not
 * cross a process edge either: it is refused rather than let through unmeasured.
 *
 * @throws SwitchboardError `invalid_request` (path `payload`) when it is not serializable;
 * `payload_too_large` when it is over `max`.
 */
export function checkPayloadSize(payload: unknown, max: number): void {
  let json: string | undefined;
  try {
    json = JSON.stringify(payload);
  } catch (err) {
    throw notSerializable(String((err as Error).message).split('\n')[0] as string, err);
  }
  if (json === undefined && payload !== undefined) {
    throw notSerializable(`a ${typeof payload} has no JSON form`);
  }
  const bytes = json === undefined ? 0 : encoder.encode(json).length;
  if (bytes > max) {
    throw new SwitchboardError(
      'payload_too_large',
      `payload is ${bytes} bytes; the limit is ${max}`,
      {
        details: { bytes, maxBytes: max },
      },
    );
  }
}

/** `error` (an `invalid_request` whose details list issues) with every path under `prefix`. */
export function withPrefix(error: SwitchboardError, prefix: string): SwitchboardError {
  const issues = (error.details as { path: string; message: string }[]).map((issue) => ({
    path: issue.path === '' ? prefix.slice(0, -1) : prefix + issue.path,
    message: issue.message,
  }));
  const first = issues[0] as { path: string; message: string };
  return new SwitchboardError('invalid_request', `${first.path}: ${first.message}`, {
    details: issues,
    cause: error,
  });
}
