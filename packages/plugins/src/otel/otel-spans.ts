import {
  type Attributes,
  type Context,
  context,
  createTraceState,
  isSpanContextValid,
  ROOT_CONTEXT,
  type Span,
  SpanStatusCode,
  type Tracer,
  type TracerProvider,
  trace,
} from '@opentelemetry/api';
import {
  checkKnownKeys,
  formatTraceparent,
  parseTraceparent,
  SwitchboardError,
  type TaskError,
  type TaskOutcome,
  type TaskSpan,
} from '@switchboard/core';

/** The instrumentation scope of every span Switchboard makes. */
export const TRACER_NAME = '@switchboard/plugins/otel';

/** `messaging.system` of every span: Switchboard is the messaging system. */
export const MESSAGING_SYSTEM = 'switchboard';

// Attribute names of the OpenTelemetry semantic conventions for messaging spans, and the two
// of Switchboard's own that they have no name for.
export const ATTR = {
  system: 'messaging.system',
  operationType: 'messaging.operation.type',
  operationName: 'messaging.operation.name',
  destination: 'messaging.destination.name',
  messageId: 'messaging.message.id',
  clientId: 'messaging.client.id',
  batchCount: 'messaging.batch.message_count',
  errorType: 'error.type',
  attempt: 'switchboard.task.attempt',
  priority: 'switchboard.task.priority',
  outcome: 'switchboard.task.outcome',
} as const;

/** Options of `otelTelemetry` and `otelWorkerTelemetry`. */
export interface OtelOptions {
  /** The tracer to use; by default the global provider's (`trace.getTracer`). */
  readonly tracer?: Tracer;
  /** The provider to take the tracer from, instead of the global one. */
  readonly tracerProvider?: TracerProvider;
}

/** The tracer the options name; `invalid_config` for an unknown key or a wrong type. */
export function resolveTracer(options: OtelOptions | undefined, what: string): Tracer {
  if (options === undefined) return trace.getTracer(TRACER_NAME);
  if (options === null || typeof options !== 'object') {
    throw new SwitchboardError('invalid_config', `[otel] ${what} options must be an object`);
  }
  checkKnownKeys(options, ['tracer', 'tracerProvider'], '', `[otel] ${what} option`);
  if (options.tracer !== undefined) {
    if (typeof options.tracer?.startSpan !== 'function') {
      throw new SwitchboardError('invalid_config', '[otel] tracer must be an OpenTelemetry Tracer');
    }
    return options.tracer;
  }
  if (options.tracerProvider !== undefined) {
    if (typeof options.tracerProvider?.getTracer !== 'function') {
      throw new SwitchboardError(
        'invalid_config',
        '[otel] tracerProvider must be an OpenTelemetry TracerProvider',
      );
    }
    return options.tracerProvider.getTracer(TRACER_NAME);
  }
  return trace.getTracer(TRACER_NAME);
}

/**
 * The context whose span is the one `traceparent` names (a remote parent), or `undefined`
 * when there is none or it is malformed.
 */
export function contextOf(
  traceparent: string | undefined,
  tracestate: string | undefined,
): Context | undefined {
  const parsed = parseTraceparent(traceparent);
  if (parsed === undefined) return undefined;
  return trace.setSpanContext(ROOT_CONTEXT, {
    traceId: parsed.traceId,
    spanId: parsed.spanId,
    traceFlags: parsed.flags,
    isRemote: true,
    ...(tracestate === undefined || tracestate === ''
      ? {}
      : { traceState: createTraceState(tracestate) }),
  });
}

/** The W3C `traceparent` and `tracestate` of a span, or `{}` when its context is invalid. */
export function traceOf(span: Span): { traceparent?: string; tracestate?: string } {
  const sc = span.spanContext();
  if (!isSpanContextValid(sc)) return {};
  const traceparent = formatTraceparent(sc.traceId, sc.spanId, sc.traceFlags);
  const state = sc.traceState?.serialize();
  return state === undefined || state === '' ? { traceparent } : { traceparent, tracestate: state };
}

/** Marks a span with the outcome of its step, and as an error unless it completed. */
export function finish(span: Span, outcome: TaskOutcome, error?: TaskError, at?: number): void {
  span.setAttribute(ATTR.outcome, outcome);
  if (outcome !== 'completed') {
    span.setAttribute(ATTR.errorType, error?.code ?? (outcome === 'lost' ? 'lost' : '_OTHER'));
    span.setStatus({ code: SpanStatusCode.ERROR, message: error?.message ?? outcome });
  }
  span.end(at);
}

/** A started span as core holds it: its context, `run` inside it, and `end`. */
export function taskSpan(span: Span, parent: Context): TaskSpan {
  const active = trace.setSpan(parent, span);
  return {
    ...traceOf(span),
    run: (fn) => context.with(active, fn),
    end: (outcome, error) => finish(span, outcome, error),
  };
}

/** The attributes every span of a task carries. */
export function taskAttributes(
  operationType: string,
  operationName: string,
  capability: string,
  id: string,
): Attributes {
  return {
    [ATTR.system]: MESSAGING_SYSTEM,
    [ATTR.operationType]: operationType,
    [ATTR.operationName]: operationName,
    [ATTR.destination]: capability,
    [ATTR.messageId]: id,
  };
}
