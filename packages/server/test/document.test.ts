import { SwitchboardError } from '@switchboard/core';
import { Encoder } from 'cbor-x';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeBody } from '../src/codec.js';
import { checkJsonDocument, MAX_DEPTH, toDocument } from '../src/document.js';

const json = (text: string) => decodeBody(new TextEncoder().encode(text), 'json');
const cbor = (value: unknown) =>
  decodeBody(new Encoder({ useRecords: false, mapsAsObjects: false }).encode(value), 'cbor');

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof SwitchboardError ? err.code : 'not a SwitchboardError';
  }
  return undefined;
}

describe('toDocument', () => {
  it('keeps a JSON document as it is', () => {
    const doc = { a: [1, 'x', null, true, { b: 2.5 }], c: {} };
    expect(toDocument(doc)).toEqual(doc);
  });

  it('refuses a __proto__ key at any depth, from JSON', () => {
    expect(codeOf(() => json('{"__proto__": {"polluted": true}}'))).toBe('invalid_request');
    expect(codeOf(() => json('{"a": [{"__proto__": {}}]}'))).toBe('invalid_request');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('refuses constructor.prototype but accepts a plain constructor key', () => {
    expect(codeOf(() => json('{"constructor": {"prototype": {"x": 1}}}'))).toBe('invalid_request');
    expect(json('{"constructor": "Brunel"}')).toEqual({ constructor: 'Brunel' });
  });

  it('refuses a __proto__ key from CBOR (a map, never renamed)', () => {
    const map = new Map<string, unknown>([['__proto__', { polluted: true }]]);
    expect(codeOf(() => cbor(map))).toBe('invalid_request');
  });

  it('turns CBOR maps into plain objects', () => {
    const map = new Map<string, unknown>([
      ['capability', 'x'],
      ['payload', new Map([['n', 1]])],
    ]);
    expect(cbor(map)).toEqual({ capability: 'x', payload: { n: 1 } });
    expect(Object.getPrototypeOf(cbor(map))).toBe(Object.prototype);
  });

  it('refuses what JSON cannot carry: non-string keys, bytes, dates, sets, NaN, undefined', () => {
    expect(codeOf(() => cbor(new Map([[1, 'x']])))).toBe('invalid_request');
    expect(codeOf(() => cbor({ b: new Uint8Array([1, 2]) }))).toBe('invalid_request');
    expect(codeOf(() => cbor({ d: new Date(0) }))).toBe('invalid_request');
    expect(codeOf(() => cbor(new Set([1])))).toBe('invalid_request');
    expect(codeOf(() => cbor({ n: Number.NaN }))).toBe('invalid_request');
    expect(codeOf(() => cbor([undefined]))).toBe('invalid_request');
    expect(codeOf(() => toDocument(10n))).toBe('invalid_request');
  });

  it('refuses shared references (a DAG or a cycle is not a JSON tree)', () => {
    const shared = { x: 1 };
    expect(codeOf(() => toDocument([shared, shared]))).toBe('invalid_request');
    const cycle: unknown[] = [];
    cycle.push(cycle);
    expect(codeOf(() => toDocument(cycle))).toBe('invalid_request');
  });

  it('refuses nesting deeper than MAX_DEPTH with a 400, not a stack overflow', () => {
    const deep = `${'['.repeat(MAX_DEPTH + 1)}${']'.repeat(MAX_DEPTH + 1)}`;
    expect(codeOf(() => json(deep))).toBe('invalid_request');
    const ok = `${'['.repeat(MAX_DEPTH - 1)}${']'.repeat(MAX_DEPTH - 1)}`;
    expect(codeOf(() => json(ok))).toBeUndefined();
    const huge = `${'['.repeat(500_000)}${']'.repeat(500_000)}`;
    expect(codeOf(() => json(huge))).toBe('invalid_request');
  });

  it('names the path of the offending value in details', () => {
    try {
      json('{"tasks": [{"capability": "x"}, {"payload": {"__proto__": 1}}]}');
      expect.unreachable();
    } catch (err) {
      expect((err as SwitchboardError).details).toEqual([
        { path: 'tasks.1.payload.__proto__', message: 'the key "__proto__" is not allowed' },
      ]);
    }
  });
});

describe('checkJsonDocument', () => {
  const outcome = (fn: () => unknown) => {
    try {
      return { ok: true, value: fn() };
    } catch (err) {
      return {
        ok: false,
        message: (err as Error).message,
        details: (err as SwitchboardError).details,
      };
    }
  };

  it('accepts and refuses exactly what toDocument does, with the same error and path', () => {
    // JSON texts with the keys that matter sprinkled in: what a client can actually send.
    const key = fc.oneof(
      fc.string({ maxLength: 4 }),
      fc.constantFrom('__proto__', 'constructor', 'prototype'),
    );
    const value = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: 'small' },
        fc.oneof(
          fc.integer(),
          fc.double({ noNaN: true, noDefaultInfinity: true }),
          fc.string(),
          fc.boolean(),
          fc.constant(null),
        ),
        fc.array(tie('node'), { maxLength: 4 }),
        fc.dictionary(key, tie('node'), { maxKeys: 4 }),
      ),
    })).node;
    fc.assert(
      fc.property(value, (v) => {
        const text = JSON.stringify(v);
        const a = outcome(() => checkJsonDocument(JSON.parse(text)));
        const b = outcome(() => toDocument(JSON.parse(text)));
        expect(a).toEqual(b);
      }),
      { numRuns: 500 },
    );
  });
});
