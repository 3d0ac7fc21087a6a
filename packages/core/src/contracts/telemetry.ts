import { SwitchboardError } from '../errors.js';
import type { TaskError, TaskLease, TaskRecord } from '../model/task.js';
import type { TraceContext } from '../model/trace-context.js';

/**
 * How an attempt or a lease ended, as a span reports it: `completed`; `retry` (failed, and
 * queued again); `dead` (failed for good, in the dead-letter queue); `failed` (failed, as a
 * remote worker sees it: the server decides between a retry and the dead letter); `lost`
 * (the lease ended before an answer: expired, cancelled, its agent failed or left).
 */
export type TaskOutcome = 'completed' | 'retry' | 'dead' | 'failed' | 'lost';

/**
 * A span a {@link Telemetry} started for a task, held by core until the step it covers ends.
 * Its `traceparent` is absent when the span has no valid context (no tracer is installed).
 */
export interface TaskSpan extends Partial<TraceContext> {
  /**
   * Runs `fn` with this span as the active span, so that the spans a handler makes (and the
   * tasks it submits) are its children.
   */
  run<T>(fn: () => T): T;
  /** Ends the span with the step's outcome and, for a failure, its error. */
  end(outcome: TaskOutcome, error?: TaskError): void;
}

/**
 * The tracing hooks of a Switchboard (`createSwitchboard({ telemetry })`): core calls them at
 * each step of a task and knows nothing of the tracer behind them. Without one, each step
 * costs a single check that the option is absent. `@switchboard/plugins/otel` implements it
 * with `@opentelemetry/api`, after the OpenTelemetry messaging conventions.
 *
 * The calls, for one task: `submit` before it is enqueued (its span's context is stored on
 * the task, so that every later span joins its trace, in any process and after a restart);
 * then for each attempt either `process` (an in-process agent runs it: the span ends when the
 * handler returns or throws) or `lease` (a remote agent leased it: the context returned goes
 * to the agent in its lease); and `settle` when an attempt that no `process` span covers
 * ends (a remote agent's answer, an expired or released lease), with its outcome.
 */
export interface Telemetry {
  readonly name: string;
  /**
   * A task is about to be enqueued. `task.traceparent` and `task.tracestate` hold the
   * caller's context, if any; the span returned is ended once the enqueue is done, and its
   * context replaces the caller's on the task.
   */
  submit(task: TaskRecord): TaskSpan;
  /** An in-process agent starts attempt `task.attempts` of a task it leased at `now`. */
  process(task: TaskRecord, agentId: string, now: number): TaskSpan;
  /**
   * A remote agent leased attempt `attempt` of a task at `now`. The context returned is
   * handed to it in the lease (`undefined`: the task's own), and its spans continue from there.
   */
  lease(task: TaskRecord, agentId: string, attempt: number, now: number): TraceContext | undefined;
  /** An attempt no `process` span covers ended, as the backend now stores the task. */
  settle(task: TaskRecord, outcome: TaskOutcome, error?: TaskError): void;
}

/**
 * The tracing hook of a remote worker (`createWorker({ telemetry })` of
 * `@switchboard/client`): a span for each leased task's run, a child of the trace context
 * its lease carries. `otelWorkerTelemetry()` of `@switchboard/plugins/otel` implements it.
 */
export interface WorkerTelemetry {
  readonly name: string;
  /** A worker starts running a task it leased; the span ends when its handler is done. */
  process(lease: TaskLease, agentId: string | undefined): TaskSpan;
}

const TELEMETRY_METHODS = ['submit', 'process', 'lease', 'settle'] as const;

/**
 * The `telemetry` option checked: `undefined` stays `undefined` (no tracing, no cost);
 * anything but an object with the four hooks fails at configuration time.
 *
 * @throws SwitchboardError `invalid_config` naming the option and the first hook missing.
 */
export function resolveTelemetry(value: unknown, name = 'telemetry'): Telemetry | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null) {
    throw new SwitchboardError(
      'invalid_config',
      `${name} must be an object with ${TELEMETRY_METHODS.join(', ')} methods (e.g. otelTelemetry() of @switchboard/plugins/otel), got ${String(value)}`,
      { details: { field: name } },
    );
  }
  const record = value as Record<string, unknown>;
  const missing = TELEMETRY_METHODS.find((m) => typeof record[m] !== 'function');
  if (missing !== undefined) {
    throw new SwitchboardError(
      'invalid_config',
      `${name}.${missing} must be a function (a telemetry has ${TELEMETRY_METHODS.join(', ')})`,
      { details: { field: `${name}.${missing}` } },
    );
  }
  return value as Telemetry;
}
