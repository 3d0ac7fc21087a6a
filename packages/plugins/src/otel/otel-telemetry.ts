import { type Context, context, SpanKind, trace } from '@opentelemetry/api';
import type {
  TaskError,
  TaskOutcome,
  TaskRecord,
  TaskSpan,
  Telemetry,
  TraceContext,
} from '@switchboard/core';
import {
  ATTR,
  contextOf,
  finish,
  type OtelOptions,
  resolveTracer,
  taskAttributes,
  taskSpan,
  traceOf,
} from './otel-spans.js';

/** What a settle span is named after, by outcome (`messaging.operation.name`). */
const SETTLE_NAMES: Readonly<Record<TaskOutcome, string>> = {
  completed: 'complete',
  retry: 'fail',
  dead: 'fail',
  failed: 'fail',
  lost: 'release',
};

/** The instant a task became leasable for this attempt: its time queued starts there. */
function queuedSince(task: TaskRecord, now: number): number {
  return Math.min(now, Math.max(task.createdAt, task.availableAt));
}

/**
 * OpenTelemetry tracing for a Switchboard, after the OpenTelemetry semantic conventions for
 * messaging spans (`messaging.system` is `switchboard`, the destination is the capability,
 * the message id the task id). For each task:
 *
 * - `send <capability>` (producer): the submit, a child of the caller's `traceparent` or of
 *   the active span; its context is stored on the task, so every later span joins its trace;
 * - `receive <capability>` (client), one per attempt: from the instant the task became
 *   leasable to its lease, so its length is the time the task was queued; `switchboard.task.attempt`
 *   numbers it, and retries are siblings under the send span;
 * - `process <capability>` (consumer), a child of the receive span, while an in-process agent
 *   runs it (the handler runs inside it, so its own spans nest there); a remote agent gets the
 *   receive span's context in its lease instead, and its worker's process span continues it;
 * - `complete`, `fail` or `release <capability>` (client) when an attempt no process span
 *   covers ends: a remote agent's answer, an expired or released lease.
 *
 * Every span that ends otherwise than completed has an error status, `error.type` and
 * `switchboard.task.outcome` (`retry`, `dead`, `lost`).
 *
 * @example
 * ```ts
 * import { createSwitchboard } from '@switchboard/core'
 * import { otelTelemetry } from '@switchboard/plugins/otel'
 * // With an OpenTelemetry SDK registered (e.g. @opentelemetry/sdk-node):
 * const sb = createSwitchboard({ telemetry: otelTelemetry() })
 * ```
 */
export function otelTelemetry(options?: OtelOptions): Telemetry {
  const tracer = resolveTracer(options, 'otelTelemetry');

  /** The context of a task's send span, stored on it; the root when it has none. */
  const taskContext = (task: TaskRecord): Context =>
    contextOf(task.traceparent, task.tracestate) ?? context.active();

  /** The receive span of an attempt: from queued to leased at `now`. */
  const receive = (task: TaskRecord, agentId: string, attempt: number, now: number) => {
    const parent = taskContext(task);
    const attributes = taskAttributes('receive', 'receive', task.capability, task.id);
    attributes[ATTR.attempt] = attempt;
    attributes[ATTR.clientId] = agentId;
    const span = tracer.startSpan(
      `receive ${task.capability}`,
      { kind: SpanKind.CLIENT, attributes, startTime: queuedSince(task, now) },
      parent,
    );
    span.end(now);
    return { span, parent };
  };

  return {
    name: 'otel',
    submit(task: TaskRecord): TaskSpan {
      const parent = contextOf(task.traceparent, task.tracestate) ?? context.active();
      const attributes = taskAttributes('send', 'send', task.capability, task.id);
      attributes[ATTR.priority] = task.priority;
      const span = tracer.startSpan(
        `send ${task.capability}`,
        { kind: SpanKind.PRODUCER, attributes },
        parent,
      );
      const spanned = taskSpan(span, parent);
      // Ended once the task is enqueued: only a failed enqueue marks it.
      spanned.end = (outcome, error) => {
        if (outcome === 'completed') span.end();
        else finish(span, outcome, error);
      };
      // A span with no valid context (no SDK installed): the caller's context stays on the task.
      return spanned.traceparent === undefined ? { ...spanned, ...callerTrace(task) } : spanned;
    },
    process(task: TaskRecord, agentId: string, now: number): TaskSpan {
      const leased = receive(task, agentId, task.attempts, now);
      const parent = trace.setSpan(leased.parent, leased.span);
      const attributes = taskAttributes('process', 'process', task.capability, task.id);
      attributes[ATTR.attempt] = task.attempts;
      attributes[ATTR.clientId] = agentId;
      const span = tracer.startSpan(
        `process ${task.capability}`,
        { kind: SpanKind.CONSUMER, attributes, startTime: now },
        parent,
      );
      return taskSpan(span, parent);
    },
    lease(
      task: TaskRecord,
      agentId: string,
      attempt: number,
      now: number,
    ): TraceContext | undefined {
      const { traceparent, tracestate } = traceOf(receive(task, agentId, attempt, now).span);
      if (traceparent === undefined) return undefined;
      return tracestate === undefined ? { traceparent } : { traceparent, tracestate };
    },
    settle(task: TaskRecord, outcome: TaskOutcome, error?: TaskError): void {
      const name = SETTLE_NAMES[outcome];
      const attributes = taskAttributes('settle', name, task.capability, task.id);
      attributes[ATTR.attempt] = task.attempts;
      if (task.agentId !== undefined) attributes[ATTR.clientId] = task.agentId;
      const span = tracer.startSpan(
        `${name} ${task.capability}`,
        { kind: SpanKind.CLIENT, attributes },
        taskContext(task),
      );
      finish(span, outcome, error);
    },
  };
}

function callerTrace(task: TaskRecord): { traceparent?: string; tracestate?: string } {
  if (task.traceparent === undefined) return {};
  return task.tracestate === undefined
    ? { traceparent: task.traceparent }
    : { traceparent: task.traceparent, tracestate: task.tracestate };
}
