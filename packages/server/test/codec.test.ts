import { SwitchboardError } from '@switchboard/core';
import { decode } from 'cbor-x';
import { describe, expect, it } from 'vitest';
import { decodeBody, encodeBody, requestMediaType, responseMediaType } from '../src/codec.js';

const bytes = (text: string) => new TextEncoder().encode(text);

describe('requestMediaType', () => {
  it('reads JSON (with parameters or +json), CBOR, and a missing header as JSON', () => {
    expect(requestMediaType('application/json; charset=utf-8')).toBe('json');
    expect(requestMediaType('Application/JSON')).toBe('json');
    expect(requestMediaType('application/merge-patch+json')).toBe('json');
    expect(requestMediaType('application/cbor')).toBe('cbor');
    expect(requestMediaType(null)).toBe('json');
  });

  it('refuses any other media type with unsupported_media_type', () => {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data']) {
      expect(() => requestMediaType(type)).toThrow(
        expect.objectContaining({ code: 'unsupported_media_type' }),
      );
    }
  });
});

describe('responseMediaType', () => {
  it('answers CBOR only when the client prefers it', () => {
    expect(responseMediaType(null)).toBe('json');
    expect(responseMediaType('application/cbor')).toBe('cbor');
    expect(responseMediaType('application/cbor, application/json')).toBe('cbor');
    expect(responseMediaType('application/json, application/cbor')).toBe('json');
    expect(responseMediaType('application/json;q=0.5, application/cbor')).toBe('cbor');
    expect(responseMediaType('application/cbor;q=0.2, */*')).toBe('json');
    expect(responseMediaType('application/cbor;q=0')).toBe('json');
  });
});

describe('decodeBody / encodeBody', () => {
  it('an empty body is undefined (optional bodies)', () => {
    expect(decodeBody(new Uint8Array(0), 'json')).toBeUndefined();
  });

  it('malformed JSON, bad UTF-8 and malformed CBOR are invalid_request', () => {
    for (const [body, type] of [
      [bytes('{"a":'), 'json'],
      [new Uint8Array([0x7b, 0xff, 0x7d]), 'json'],
      [new Uint8Array([0xbf, 0x61]), 'cbor'],
      [new Uint8Array([0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), 'cbor'],
    ] as const) {
      expect(() => decodeBody(body, type)).toThrow(SwitchboardError);
    }
  });

  it('round-trips a document through both encodings', () => {
    const doc = { id: 'a', list: [1, 2, { x: null }], text: 'é' };
    expect(JSON.parse(encodeBody(doc, 'json') as string)).toEqual(doc);
    expect(decode(encodeBody(doc, 'cbor') as Uint8Array)).toEqual(doc);
    expect(decodeBody(encodeBody(doc, 'cbor') as Uint8Array, 'cbor')).toEqual(doc);
  });
});
