import type { Worker } from '@switchboard/client';
import { createSwitchboard } from '@switchboard/core';
import { otelTelemetry } from '@switchboard/plugins/otel';
import { createRedisBackend } from '@switchboard/plugins/redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisServerHandle, startRedisServer } from '../helpers/redis-server.js';
import {
  call,
  memoryTracing,
  one,
  parentId,
  serve,
  settled,
  spanId,
  traceId,
  until,
  worker,
} from './trace-harness.js';

// Two servers in this process on one real redis-server, each with a tracer provider of its
// own: a task submitted to A and leased through B has one trace across both.
describe('tracing across servers (Redis backend)', () => {
  let redis: RedisServerHandle;
  const tracingA = memoryTracing();
  const tracingB = memoryTracing();
  let a: Awaited<ReturnType<typeof serve>>;
  let b: Awaited<ReturnType<typeof serve>>;
  let w: Worker | undefined;

  const server = (provider: typeof tracingA.provider) =>
    serve(
      createSwitchboard({
        backend: createRedisBackend({ port: redis.port, prefix: 'trace' }),
        telemetry: otelTelemetry({ tracerProvider: provider }),
      }),
    );

  beforeAll(async () => {
    redis = await startRedisServer();
    a = await server(tracingA.provider);
    b = await server(tracingB.provider);
  }, 30_000);
  afterAll(async () => {
    await w?.close({ drain: false });
    await Promise.all([a?.close(), b?.close()]);
    await redis?.dispose();
  });

  it('keeps the trace of a task submitted on one server and leased through the other', async () => {
    const { body } = await call(a.url, 'POST', '/v1/tasks', { capability: 'job', payload: 'x' });
    await until(() => tracingA.of(body.id).length === 1);
    const send = one(tracingA.of(body.id), 'send job');

    let seen: string | undefined;
    w = worker(
      b.url,
      (payload, ctx) => {
        seen = ctx.traceparent;
        return payload;
      },
      tracingB.provider,
    );
    expect((await settled(b.url, body.id)).result).toBe('x');
    await until(() => tracingB.of(body.id).length >= 3);
    const spans = tracingB.of(body.id);
    // No span of the task on A but its submit: B leased it, its worker ran it, B settled it.
    expect(tracingA.of(body.id)).toHaveLength(1);
    expect(new Set(spans.map(traceId))).toEqual(new Set([traceId(send)]));
    const receive = one(spans, 'receive job', 1);
    expect(parentId(receive)).toBe(spanId(send));
    const run = one(spans, 'process job', 1);
    expect(parentId(run)).toBe(spanId(receive));
    expect(seen).toBe(`00-${traceId(send)}-${spanId(run)}-01`);
    expect(parentId(one(spans, 'complete job'))).toBe(spanId(send));
    // Both servers read the task's trace context from Redis.
    const [viewA, viewB] = await Promise.all([
      call(a.url, 'GET', `/v1/tasks/${body.id}`),
      call(b.url, 'GET', `/v1/tasks/${body.id}`),
    ]);
    expect(viewA.body.traceparent).toBe(`00-${traceId(send)}-${spanId(send)}-01`);
    expect(viewB.body.traceparent).toBe(viewA.body.traceparent);
  });
});
