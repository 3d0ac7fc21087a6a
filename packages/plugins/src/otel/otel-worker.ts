import { context, SpanKind } from '@opentelemetry/api';
import type { TaskLease, TaskSpan, WorkerTelemetry } from '@switchboard/core';
import {
  ATTR,
  contextOf,
  type OtelOptions,
  resolveTracer,
  taskAttributes,
  taskSpan,
} from './otel-spans.js';

/**
 * OpenTelemetry tracing for a remote worker (`createWorker({ telemetry })` of
 * `@switchboard/client`): each run is a `process <capability>` span (consumer), a child of
 * the trace context its lease carries (the server's receive span of that attempt, or the
 * task's own trace when the server does not trace), so a task's spans on the server and on
 * the worker make one trace. The handler runs inside the span: the spans it makes nest under
 * it when a context manager is registered (as the Node SDK does). A run that throws ends
 * with an error status and `switchboard.task.outcome` `failed`.
 *
 * @example
 * ```ts
 * import { createWorker } from '@switchboard/client'
 * import { otelWorkerTelemetry } from '@switchboard/plugins/otel'
 * createWorker({ url, capabilities: ['browser'], handler, telemetry: otelWorkerTelemetry() })
 * ```
 */
export function otelWorkerTelemetry(options?: OtelOptions): WorkerTelemetry {
  const tracer = resolveTracer(options, 'otelWorkerTelemetry');
  return {
    name: 'otel',
    process(lease: TaskLease, agentId: string | undefined): TaskSpan {
      const parent = contextOf(lease.traceparent, lease.tracestate) ?? context.active();
      const attributes = taskAttributes('process', 'process', lease.capability, lease.id);
      attributes[ATTR.attempt] = lease.attempt;
      if (agentId !== undefined) attributes[ATTR.clientId] = agentId;
      const span = tracer.startSpan(
        `process ${lease.capability}`,
        { kind: SpanKind.CONSUMER, attributes },
        parent,
      );
      return taskSpan(span, parent);
    },
  };
}
