import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { context, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { createWorker, type Worker } from '@switchboard/client';
import { createSwitchboard, defineAgent } from '@switchboard/core';
import { createJournalBackend } from '@switchboard/plugins/journal';
import { otelTelemetry } from '@switchboard/plugins/otel';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  call,
  memoryTracing,
  one,
  parentId,
  SpanKind,
  serve,
  settled,
  spanId,
  traceId,
  until,
  worker,
} from './trace-harness.js';

// A caller's span, as a W3C traceparent header carries it.
const CALLER_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN = '00f067aa0ba902b7';
const CALLER = `00-${CALLER_TRACE}-${CALLER_SPAN}-01`;

/** Submits a task with the caller's trace context in the W3C headers. */
const submitAsCaller = (url: string) =>
  call(
    url,
    'POST',
    '/v1/tasks',
    { capability: 'job' },
    { traceparent: CALLER, tracestate: 'vendor=abc' },
  );

const contextManager = new AsyncLocalStorageContextManager();
beforeAll(() => {
  // The Node SDK registers one: without it no span is active inside a handler.
  context.setGlobalContextManager(contextManager.enable());
});
afterAll(() => {
  context.disable();
});

const workers: Worker[] = [];
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.close({ drain: false })));
});

describe('tracing over HTTP with a real worker (memory backend)', () => {
  const tracing = memoryTracing();
  const sb = createSwitchboard({
    telemetry: otelTelemetry({ tracerProvider: tracing.provider }),
    retry: { initialDelayMs: 10, factor: 1, jitter: 0 },
  });
  let server: Awaited<ReturnType<typeof serve>>;
  beforeAll(async () => {
    server = await serve(sb);
  });
  afterAll(() => server.close());

  it('makes one trace of submit, the time queued, the lease, the worker run and the answer', async () => {
    const { body } = await call(server.url, 'POST', '/v1/tasks', { capability: 'job', payload: 2 });
    workers.push(worker(server.url, (n) => (n as number) * 2, tracing.provider));
    expect((await settled(server.url, body.id)).result).toBe(4);
    await until(() => tracing.of(body.id).length >= 4);

    const spans = tracing.of(body.id);
    const send = one(spans, 'send job');
    const receive = one(spans, 'receive job', 1);
    const run = one(spans, 'process job', 1);
    const answer = one(spans, 'complete job');
    expect(new Set(spans.map(traceId))).toEqual(new Set([traceId(send)]));
    expect(send.kind).toBe(SpanKind.PRODUCER);
    expect(send.parentSpanContext).toBeUndefined();
    expect(send.attributes).toMatchObject({
      'messaging.system': 'switchboard',
      'messaging.operation.type': 'send',
      'messaging.destination.name': 'job',
      'messaging.message.id': body.id,
    });
    // The time queued is the receive span, from the submit to the lease.
    expect(receive.kind).toBe(SpanKind.CLIENT);
    expect(parentId(receive)).toBe(spanId(send));
    expect(receive.attributes['messaging.operation.type']).toBe('receive');
    expect(receive.attributes['messaging.client.id']).toEqual(expect.any(String));
    // The worker's span continues the lease's context: a child of that attempt's receive.
    expect(run.kind).toBe(SpanKind.CONSUMER);
    expect(parentId(run)).toBe(spanId(receive));
    expect(run.attributes['switchboard.task.outcome']).toBe('completed');
    expect(answer.attributes).toMatchObject({
      'messaging.operation.type': 'settle',
      'switchboard.task.outcome': 'completed',
    });
    expect(parentId(answer)).toBe(spanId(send));
    // The task's view carries the trace context of its submit.
    const view = await call(server.url, 'GET', `/v1/tasks/${body.id}`);
    expect(view.body.traceparent).toBe(`00-${traceId(send)}-${spanId(send)}-01`);
  });

  it('puts each attempt in its own sibling spans, numbered, when a run fails and is retried', async () => {
    const { body } = await call(server.url, 'POST', '/v1/tasks', { capability: 'job' });
    workers.push(
      worker(
        server.url,
        (_, ctx) => {
          if (ctx.attempt === 1) throw new Error('flaky');
          return 'ok';
        },
        tracing.provider,
      ),
    );
    expect((await settled(server.url, body.id)).status).toBe('completed');
    await until(() => tracing.of(body.id).length >= 7);

    const spans = tracing.of(body.id);
    const send = one(spans, 'send job');
    const [first, second] = [one(spans, 'receive job', 1), one(spans, 'receive job', 2)];
    expect(parentId(first)).toBe(spanId(send));
    expect(parentId(second)).toBe(spanId(send));
    expect(parentId(one(spans, 'process job', 1))).toBe(spanId(first));
    expect(parentId(one(spans, 'process job', 2))).toBe(spanId(second));
    const failedRun = one(spans, 'process job', 1);
    expect(failedRun.status).toEqual({ code: SpanStatusCode.ERROR, message: 'flaky' });
    expect(failedRun.attributes['switchboard.task.outcome']).toBe('failed');
    const fail = one(spans, 'fail job');
    expect(fail.attributes).toMatchObject({
      'switchboard.task.attempt': 1,
      'switchboard.task.outcome': 'retry',
    });
    expect(fail.status.code).toBe(SpanStatusCode.ERROR);
    expect(one(spans, 'complete job').attributes['switchboard.task.attempt']).toBe(2);
    expect(new Set(spans.map(traceId)).size).toBe(1);
  });

  it("makes a traceparent header of POST /v1/tasks the parent of the task's trace", async () => {
    const { body } = await submitAsCaller(server.url);
    let seen: string | undefined;
    workers.push(
      worker(
        server.url,
        (_, ctx) => {
          seen = ctx.traceparent;
          return trace.getActiveSpan()?.spanContext().spanId;
        },
        tracing.provider,
      ),
    );
    const task = await settled(server.url, body.id);
    await until(() => tracing.of(body.id).length >= 4);
    const spans = tracing.of(body.id);
    const send = one(spans, 'send job');
    expect(traceId(send)).toBe(CALLER_TRACE);
    expect(parentId(send)).toBe(CALLER_SPAN);
    expect(send.spanContext().traceState?.get('vendor')).toBe('abc');
    const run = one(spans, 'process job', 1);
    expect(traceId(run)).toBe(CALLER_TRACE);
    // The handler ran inside its span, and its context says which.
    expect(task.result).toBe(spanId(run));
    expect(seen).toBe(`00-${CALLER_TRACE}-${spanId(run)}-01`);
  });

  it('takes a traceparent per task in a batch body, the header for the others', async () => {
    const own = `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01`;
    const { status, body } = await call(
      server.url,
      'POST',
      '/v1/tasks/batch',
      { tasks: [{ capability: 'job', traceparent: own }, { capability: 'job' }] },
      { traceparent: CALLER },
    );
    expect(status).toBe(202);
    await until(() => body.ids.every((id: string) => tracing.of(id).length >= 1));
    const [a, b] = body.ids.map((id: string) => one(tracing.of(id), 'send job'));
    expect([traceId(a), parentId(a)]).toEqual(['a'.repeat(32), 'b'.repeat(16)]);
    expect([traceId(b), parentId(b)]).toEqual([CALLER_TRACE, CALLER_SPAN]);
  });

  it('documents the trace context headers, fields and lease field in the OpenAPI document', async () => {
    const { body: doc } = await call(server.url, 'GET', '/openapi.json');
    for (const path of ['/v1/tasks', '/v1/tasks/batch']) {
      const params = doc.paths[path].post.parameters.map(
        (p: { in: string; name: string }) => `${p.in}:${p.name}`,
      );
      expect(params).toEqual(expect.arrayContaining(['header:traceparent', 'header:tracestate']));
    }
    const { schemas } = doc.components;
    expect(schemas.TaskSubmit.properties.traceparent).toBeDefined();
    expect(schemas.TaskLease.properties.traceparent).toBeDefined();
    expect(schemas.Task.properties.traceparent).toBeDefined();
  });

  it('refuses a malformed traceparent field with a 400, and ignores a malformed header', async () => {
    const bad = await call(server.url, 'POST', '/v1/tasks', {
      capability: 'job',
      traceparent: '00-xyz',
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details[0].path).toBe('traceparent');
    const zeros = `00-${'0'.repeat(32)}-${CALLER_SPAN}-01`;
    const { status, body } = await call(
      server.url,
      'POST',
      '/v1/tasks',
      { capability: 'job' },
      { traceparent: zeros },
    );
    expect(status).toBe(202);
    await until(() => tracing.of(body.id).length >= 1);
    const send = one(tracing.of(body.id), 'send job');
    // A trace of its own, as the W3C spec asks of a receiver of an invalid header.
    expect(send.parentSpanContext).toBeUndefined();
    expect(traceId(send)).not.toBe('0'.repeat(32));
    await call(server.url, 'POST', `/v1/tasks/${body.id}/cancel`);
  });
});

describe('tracing in process', () => {
  it('runs a handler inside its process span; a retry is a sibling attempt', async () => {
    const tracing = memoryTracing();
    const tracer = tracing.provider.getTracer('app');
    const contexts: (string | undefined)[] = [];
    const sb = createSwitchboard({
      telemetry: otelTelemetry({ tracerProvider: tracing.provider }),
      retry: { initialDelayMs: 10, factor: 1, jitter: 0 },
      agents: [
        defineAgent({
          name: 'flaky',
          capabilities: ['job'],
          handle: async (_payload, ctx) => {
            contexts.push(ctx.traceparent);
            // A span of the handler's own, which must nest under the attempt's process span.
            tracer.startSpan('inner').end();
            if (ctx.attempt === 1) throw new Error('first try fails');
            return 'done';
          },
        }),
      ],
    });
    await sb.start();
    try {
      const parent = tracer.startSpan('caller');
      const handle = await context.with(trace.setSpan(context.active(), parent), () =>
        sb.submit({ capability: 'job' }),
      );
      parent.end();
      expect(await handle.result).toBe('done');
      await until(() => tracing.of(handle.id).length >= 5);
      const spans = tracing.of(handle.id);
      const send = one(spans, 'send job');
      expect(parentId(send)).toBe(spanId(parent));
      const runs = [one(spans, 'process job', 1), one(spans, 'process job', 2)];
      const receives = [one(spans, 'receive job', 1), one(spans, 'receive job', 2)];
      expect(receives.map(parentId)).toEqual([spanId(send), spanId(send)]);
      expect(runs.map(parentId)).toEqual(receives.map(spanId));
      expect(runs.map((s) => s.attributes['switchboard.task.outcome'])).toEqual([
        'retry',
        'completed',
      ]);
      // Each attempt's handler is told its own process span's context.
      expect(contexts).toEqual(runs.map((s) => `00-${traceId(s)}-${spanId(s)}-01`));
      const inner = tracing.exporter.getFinishedSpans().filter((s) => s.name === 'inner');
      expect(inner.map(parentId).sort()).toEqual(runs.map(spanId).sort());
      expect(new Set([...spans, ...inner].map(traceId))).toEqual(new Set([traceId(parent)]));
      // In process, nothing is settled apart: the process spans carry the outcomes.
      expect(spans.filter((s) => s.attributes['messaging.operation.type'] === 'settle')).toEqual(
        [],
      );
    } finally {
      await sb.shutdown({ drain: false });
    }
  });
});

describe('tracing across a restart (journal backend)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sb-trace-journal-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps the trace of a task submitted before the restart', async () => {
    const before = memoryTracing();
    const first = await serve(
      createSwitchboard({
        backend: createJournalBackend({ dir }),
        telemetry: otelTelemetry({ tracerProvider: before.provider }),
      }),
    );
    const { body } = await call(first.url, 'POST', '/v1/tasks', { capability: 'job' });
    await until(() => before.of(body.id).length === 1);
    const send = one(before.of(body.id), 'send job');
    await first.close();

    const after = memoryTracing();
    const second = await serve(
      createSwitchboard({
        backend: createJournalBackend({ dir }),
        telemetry: otelTelemetry({ tracerProvider: after.provider }),
      }),
    );
    try {
      workers.push(worker(second.url, () => 'after', after.provider));
      expect((await settled(second.url, body.id)).result).toBe('after');
      await until(() => after.of(body.id).length >= 3);
      const spans = after.of(body.id);
      expect(new Set(spans.map(traceId))).toEqual(new Set([traceId(send)]));
      expect(parentId(one(spans, 'receive job', 1))).toBe(spanId(send));
      expect(parentId(one(spans, 'complete job'))).toBe(spanId(send));
    } finally {
      await Promise.all(workers.splice(0).map((w) => w.close({ drain: false })));
      await second.close();
    }
  });
});

describe('without telemetry', () => {
  it('makes no span and still hands the caller trace context to the worker', async () => {
    const tracing = memoryTracing();
    // A global provider that would record any span made through the API.
    trace.setGlobalTracerProvider(tracing.provider);
    const server = await serve(createSwitchboard());
    try {
      const { body } = await submitAsCaller(server.url);
      let seen: unknown;
      workers.push(
        worker(server.url, (_, ctx) => {
          seen = [ctx.traceparent, ctx.tracestate];
          return 1;
        }),
      );
      expect((await settled(server.url, body.id)).status).toBe('completed');
      expect(seen).toEqual([CALLER, 'vendor=abc']);
      expect(tracing.exporter.getFinishedSpans()).toEqual([]);
      const view = await call(server.url, 'GET', `/v1/tasks/${body.id}`);
      expect(view.body.traceparent).toBe(CALLER);
    } finally {
      await Promise.all(workers.splice(0).map((w) => w.close({ drain: false })));
      await server.close();
      trace.disable();
    }
  });

  it("tells an in-process handler the submitter's trace context as it was sent", async () => {
    let seen: string | undefined;
    const sb = createSwitchboard({
      agents: [
        defineAgent({
          name: 'plain',
          capabilities: ['job'],
          handle: (_payload, ctx) => {
            seen = ctx.traceparent;
          },
        }),
      ],
    });
    await sb.start();
    try {
      await sb.run({ capability: 'job', traceparent: CALLER });
      expect(seen).toBe(CALLER);
      await sb.run({ capability: 'job' });
      expect(seen).toBeUndefined();
    } finally {
      await sb.shutdown({ drain: false });
    }
  });

  it('leaves @opentelemetry/api out of core: no dependency and no import', () => {
    const core = new URL('../../packages/core/', import.meta.url).pathname;
    const pkg = JSON.parse(readFileSync(join(core, 'package.json'), 'utf8'));
    const deps = { ...pkg.dependencies, ...pkg.peerDependencies, ...pkg.optionalDependencies };
    expect(Object.keys(deps).filter((d) => d.startsWith('@opentelemetry/'))).toEqual([]);
    const sources = readdirSync(join(core, 'src'), { recursive: true, withFileTypes: true })
      .filter((f) => f.isFile() && f.name.endsWith('.ts'))
      .map((f) => join(f.parentPath, f.name));
    expect(sources.length).toBeGreaterThan(50);
    const imports = /(?:from|import\s*\()\s*['"]@opentelemetry\//;
    const importing = sources.filter((f) => imports.test(readFileSync(f, 'utf8')));
    expect(importing).toEqual([]);
  });

  it('refuses a telemetry without its hooks, or with an unknown option, at configuration time', () => {
    expect(() => createSwitchboard({ telemetry: { name: 'x' } as never })).toThrow(
      /telemetry\.submit must be a function/,
    );
    expect(() => otelTelemetry({ tracerProvder: {} } as never)).toThrow(
      /unknown \[otel\] otelTelemetry option "tracerProvder" \(did you mean "tracerProvider"\?\)/,
    );
    const handler = () => 1;
    const options = { url: 'http://127.0.0.1:9', capabilities: ['job'], handler };
    expect(() => createWorker({ ...options, telemetry: {} as never })).toThrow(
      /telemetry: must be an object with a process method/,
    );
  });
});
