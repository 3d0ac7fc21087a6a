import { type SpanContext, SpanKind } from '@opentelemetry/api';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { createWorker, type TaskHandler, type Worker } from '@switchboard/client';
import type { Switchboard } from '@switchboard/core';
import { otelWorkerTelemetry } from '@switchboard/plugins/otel';
import { createApp } from '@switchboard/server';
import { nodeRuntime } from '@switchboard/server/node';

/** A tracer provider whose finished spans are kept in memory, as the SDK's tests do it. */
export function memoryTracing() {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  return {
    provider,
    exporter,
    /** The finished spans of one task (by `messaging.message.id`). */
    of: (taskId: string): ReadableSpan[] =>
      exporter.getFinishedSpans().filter((s) => s.attributes['messaging.message.id'] === taskId),
  };
}

/** A Switchboard served over HTTP on 127.0.0.1 (a port the OS picks). */
export async function serve(sb: Switchboard) {
  await sb.start();
  const server = await nodeRuntime.serve(createApp(sb).fetch, { port: 0, host: '127.0.0.1' });
  return {
    url: `http://127.0.0.1:${server.port}`,
    async close() {
      await sb.shutdown({ drain: false });
      await server.close();
    },
  };
}

/** A real TypeScript worker on `url`, traced into `provider` when one is given. */
export function worker(url: string, handler: TaskHandler, provider?: BasicTracerProvider): Worker {
  const w = createWorker({
    url,
    capabilities: ['job'],
    leaseWaitMs: 200,
    handler,
    ...(provider === undefined
      ? {}
      : { telemetry: otelWorkerTelemetry({ tracerProvider: provider }) }),
  });
  void w.run();
  return w;
}

/** An HTTP call to the API; its JSON answer is checked field by field by the tests. */
export async function call(
  url: string,
  method: string,
  path: string,
  body?: unknown,
  headers = {},
  // biome-ignore lint/suspicious/noExplicitAny: answers are checked field by field.
): Promise<{ status: number; body: any }> {
  const res = await fetch(url + path, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text.length > 0 ? JSON.parse(text) : undefined };
}

/** The task once it is terminal (long-polls its result). */
export async function settled(url: string, id: string) {
  const { body } = await call(url, 'GET', `/v1/tasks/${id}/result?waitMs=10000`);
  return body;
}

/** Polls until `check` holds, failing after `ms`. */
export async function until(check: () => boolean, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The one span named `name` among `spans` (with `attempt` when given). */
export function one(spans: readonly ReadableSpan[], name: string, attempt?: number): ReadableSpan {
  const found = spans.filter(
    (s) =>
      s.name === name &&
      (attempt === undefined || s.attributes['switchboard.task.attempt'] === attempt),
  );
  if (found.length !== 1) {
    const names = spans.map((s) => `${s.name}#${String(s.attributes['switchboard.task.attempt'])}`);
    throw new Error(
      `expected one span "${name}" (attempt ${attempt}), got ${found.length}: ${names.join(', ')}`,
    );
  }
  return found[0] as ReadableSpan;
}

/** Anything with a span context: a finished span, or a live one. */
type Spanned = { spanContext(): SpanContext };
export const traceId = (s: Spanned) => s.spanContext().traceId;
export const spanId = (s: Spanned) => s.spanContext().spanId;
export const parentId = (s: ReadableSpan) => s.parentSpanContext?.spanId;
export { SpanKind };
