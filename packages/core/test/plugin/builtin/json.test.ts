import { jsonSerializer, SwitchboardError } from '@switchboard/core';
import { testSerializer } from '@switchboard/testing';
import { describe, expect, it } from 'vitest';
import { rejection } from '../../rejection.js';

testSerializer('json (core)', () => jsonSerializer, {
  skip: [
    {
      reason: 'JSON has no negative zero: JSON.stringify writes -0 as 0',
      tests: ['reads -0 back as -0'],
    },
    {
      reason: 'JSON.parse keeps a __proto__ key as an own property',
      tests: ['refuses a __proto__ key with decode_error'],
    },
  ],
});

describe('jsonSerializer', () => {
  it('round-trips unicode and nested values, async and sync alike', async () => {
    const value = {
      text: 'héllo wörld — 日本語 🚀 \u0000 "quoted"',
      nested: { list: [1, -2.5, null, true, { deep: [[[]]] }] },
      empty: {},
    };
    const bytes = await jsonSerializer.encode(value);
    expect(bytes).toBeInstanceOf(Uint8Array);
    expect(await jsonSerializer.decode(bytes)).toEqual(value);
    expect(jsonSerializer.decodeSync(jsonSerializer.encodeSync(value))).toEqual(value);
    expect(new TextDecoder().decode(jsonSerializer.encodeSync('é'))).toBe('"é"');
    expect(jsonSerializer.contentType).toBe('application/json');
  });

  it('refuses invalid UTF-8 and invalid JSON with decode_error and a cause', async () => {
    const badUtf8 = await rejection(
      jsonSerializer.decode(new Uint8Array([0x22, 0xc3, 0x28, 0x22])),
    );
    expect(badUtf8.code).toBe('decode_error');
    expect(badUtf8.message).toMatch(/UTF-8/);
    expect(badUtf8.cause).toBeInstanceOf(TypeError);
    const badJson = await rejection(jsonSerializer.decode(new TextEncoder().encode('{"a": ')));
    expect(badJson).toMatchObject({ code: 'decode_error', cause: expect.any(SyntaxError) });
    expect(() => jsonSerializer.decodeSync(new Uint8Array())).toThrow(SwitchboardError);
  });

  it('refuses input over maxBytes with payload_too_large before parsing it', async () => {
    const bytes = jsonSerializer.encodeSync({ a: 'x'.repeat(100) });
    const err = await rejection(jsonSerializer.decode(bytes, { maxBytes: 50 }));
    expect(err.code).toBe('payload_too_large');
    expect(err.details).toEqual({ bytes: bytes.byteLength, maxBytes: 50 });
    expect(await jsonSerializer.decode(bytes, { maxBytes: bytes.byteLength })).toEqual({
      a: 'x'.repeat(100),
    });
  });

  it('refuses to encode what JSON cannot carry', async () => {
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    expect((await rejection(jsonSerializer.encode(circular))).code).toBe('invalid_request');
    expect((await rejection(jsonSerializer.encode(10n))).code).toBe('invalid_request');
    expect(() => jsonSerializer.encodeSync(undefined)).toThrow(/undefined cannot be encoded/);
  });
});
