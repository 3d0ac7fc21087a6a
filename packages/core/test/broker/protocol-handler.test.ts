import { describe, expect, it, vi } from 'vitest';
import { ProtocolHandler } from '../../src/broker/protocol-handler.js';
import { SwitchboardError } from '../../src/errors.js';
import type { Message } from '../../src/model/envelope.js';
import { withCompression } from '../../src/plugin/builtin/compression.js';
import { jsonSerializer } from '../../src/plugin/builtin/json.js';
import { createTokenBucket } from '../../src/structures/token-bucket.js';
import { rejection } from '../rejection.js';

const message = (over: Partial<Message> = {}): Message => ({
  id: 'm-1',
  type: 'task',
  priority: 'normal',
  sender: 'client-7',
  recipient: 'browser-1',
  payload: { url: 'https://example.org' },
  createdAt: 1_700_000_000_000,
  attempts: 0,
  ...over,
});

const bytes = (value: unknown) => jsonSerializer.encodeSync(value);

describe('ProtocolHandler', () => {
  it('decodes, validates and routes a message, counting it as handled', async () => {
    const routed: Message[] = [];
    const handler = new ProtocolHandler({
      serializer: jsonSerializer,
      route: (m) => void routed.push(m),
    });
    const sent = message({ headers: { trace: 't' } });
    await expect(
      handler.handle(bytes({ ...sent, extra: 1 }), { submitter: 'client-7' }),
    ).resolves.toEqual(sent);
    expect(routed).toEqual([sent]);
    expect(handler.stats()).toEqual({ handled: 1, rejected: {} });
  });

  it('rejects at each stage with a typed error, counts it by code and tells onError', async () => {
    const onError = vi.fn();
    const route = vi.fn();
    const handler = new ProtocolHandler({
      serializer: jsonSerializer,
      limiter: createTokenBucket({ capacity: 1, refillPerSec: 1 }),
      route,
      maxBytes: 512,
      onError,
      now: () => 5_000,
    });
    const ctx = { submitter: 's1' };
    expect((await rejection(handler.handle(new Uint8Array(513), ctx))).code).toBe(
      'payload_too_large',
    );
    expect((await rejection(handler.handle(new TextEncoder().encode('{"id":'), ctx))).code).toBe(
      'decode_error',
    );
    const invalid = await rejection(handler.handle(bytes({ ...message(), type: 'gossip' }), ctx));
    expect(invalid).toMatchObject({
      code: 'invalid_request',
      message: expect.stringMatching(/^type: /),
    });
    await handler.handle(bytes(message()), ctx);
    const limited = await rejection(handler.handle(bytes(message()), ctx));
    expect(limited).toMatchObject({
      code: 'rate_limited',
      retryable: true,
      details: { retryAfterMs: 1000 },
    });
    expect(route).toHaveBeenCalledTimes(1);
    expect(handler.stats()).toEqual({
      handled: 1,
      rejected: { payload_too_large: 1, decode_error: 1, invalid_request: 1, rate_limited: 1 },
    });
    expect(onError.mock.calls.map(([err, failure]) => [err.code, failure.stage])).toEqual([
      ['payload_too_large', 'decode'],
      ['decode_error', 'decode'],
      ['invalid_request', 'validate'],
      ['rate_limited', 'rate_limit'],
    ]);
    expect(onError.mock.calls[0]?.[1]).toEqual({ stage: 'decode', submitter: 's1' });
  });

  it('limits each submitter on its own', async () => {
    const handler = new ProtocolHandler({
      serializer: jsonSerializer,
      limiter: createTokenBucket({ capacity: 1, refillPerSec: 1 }),
      route: () => {},
      now: () => 0,
    });
    await handler.handle(bytes(message()), { submitter: 'a' });
    await handler.handle(bytes(message()), { submitter: 'b' });
    await expect(handler.handle(bytes(message()), { submitter: 'a' })).rejects.toThrow(/a is over/);
    expect(handler.stats().handled).toBe(2);
  });

  it('keeps handling after a route fails, wrapping a foreign error as internal', async () => {
    let calls = 0;
    const handler = new ProtocolHandler({
      serializer: jsonSerializer,
      route: async (m) => {
        calls++;
        if (m.id === 'boom') throw new Error('broker down');
        if (m.id === 'typed') throw new SwitchboardError('no_agent', 'nobody can run it');
        if (m.id === 'weird') throw 'a string';
      },
      onError: () => {
        throw new Error('observer bug');
      },
    });
    const ctx = { submitter: 's' };
    const boom = await rejection(handler.handle(bytes(message({ id: 'boom' })), ctx));
    expect(boom).toMatchObject({ code: 'internal', message: 'route failed: broker down' });
    expect((boom.cause as Error).message).toBe('broker down');
    expect((await rejection(handler.handle(bytes(message({ id: 'typed' })), ctx))).code).toBe(
      'no_agent',
    );
    expect((await rejection(handler.handle(bytes(message({ id: 'weird' })), ctx))).message).toMatch(
      /a string/,
    );
    await expect(handler.handle(bytes(message({ id: 'fine' })), ctx)).resolves.toMatchObject({
      id: 'fine',
    });
    expect(calls).toBe(4);
    expect(handler.stats()).toEqual({ handled: 1, rejected: { internal: 2, no_agent: 1 } });
  });

  it('handles many messages concurrently, a failure among them touching no other', async () => {
    const routed: string[] = [];
    const handler = new ProtocolHandler({
      serializer: withCompression(jsonSerializer, { format: 'gzip', minBytes: 0 }),
      route: (m) => void routed.push(m.id),
    });
    const gz = withCompression(jsonSerializer, { format: 'gzip', minBytes: 0 });
    const frames = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        gz.encode(message({ id: `m${i}`, attempts: i === 7 ? -1 : 0 })),
      ),
    );
    const results = await Promise.allSettled(
      frames.map((f) => handler.handle(f, { submitter: 's' })),
    );
    expect(results.filter((r) => r.status === 'rejected')).toHaveLength(1);
    expect(routed.sort()).toEqual(
      Array.from({ length: 20 }, (_, i) => `m${i}`)
        .filter((id) => id !== 'm7')
        .sort(),
    );
    expect(handler.stats()).toEqual({ handled: 19, rejected: { invalid_request: 1 } });
  });

  it('refuses a bad maxBytes at construction', () => {
    expect(
      () => new ProtocolHandler({ serializer: jsonSerializer, route: () => {}, maxBytes: 0 }),
    ).toThrow(expect.objectContaining({ code: 'invalid_config' }));
  });

  it('returns a snapshot of stats that callers cannot alter', async () => {
    const handler = new ProtocolHandler({ serializer: jsonSerializer, route: () => {} });
    await rejection(handler.handle(new Uint8Array([0xff]), { submitter: 's' }));
    const snapshot = handler.stats();
    snapshot.rejected.decode_error = 99;
    expect(handler.stats().rejected).toEqual({ decode_error: 1 });
  });
});
