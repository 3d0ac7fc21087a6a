/**
 * The conformance suite of the `Serializer` interface. Every serializer's test calls
 * `testSerializer(name, make, options)`, then adds its own cases. It checks what the
 * contract promises: the JSON-like values a task carries come back equal, `encode` answers
 * bytes (a `Uint8Array`) and `decode` reads any `Uint8Array`, input over `maxBytes` is refused
 * with `payload_too_large` before it is read, and bytes the serializer cannot read are
 * refused with `decode_error`. Either method may answer at once or with a promise, and a
 * decoder may throw or reject: the suite takes both.
 */
import type { DecodeOptions, Serializer } from '@switchboard/core';
import { describe, expect } from 'vitest';
import { rejectsWith } from './rejects-with.js';
import { type SkipCases, suiteCases } from './skip.js';

/** The names of the suite's cases, as {@link SerializerSuiteOptions.skip} lists them. */
export const SERIALIZER_CASES = [
  'has a name and a media type',
  'round-trips a task document of nested objects and arrays',
  'round-trips each JSON scalar on its own',
  'round-trips empty strings, objects and arrays',
  'round-trips unicode text in keys and values',
  'round-trips numbers: safe integers, fractions and the extremes of a double',
  'reads -0 back as 0',
  'reads -0 back as -0',
  'round-trips lone surrogates',
  'round-trips a large document',
  'answers bytes of their own: a later encode leaves them intact',
  'decodes bytes held in a view at an offset of a larger buffer',
  'decodes input of exactly maxBytes',
  'refuses input over maxBytes with payload_too_large',
  'checks maxBytes before reading the input',
  'refuses empty input with decode_error',
  'refuses every truncation of an encoding with decode_error',
  'keeps a __proto__ key as an own property, never a prototype',
  'refuses a __proto__ key with decode_error',
] as const;

/** One case of the serializer suite. */
export type SerializerCase = (typeof SERIALIZER_CASES)[number];

/** Options of {@link testSerializer}. */
export interface SerializerSuiteOptions {
  /**
   * Cases this serializer does not run, each with the reason. Two pairs of cases are a
   * choice each serializer makes, and it skips the one it does not do: `-0` read back as 0
   * or as -0, and a `__proto__` key kept as an own property or refused.
   */
  skip?: readonly SkipCases<SerializerCase>[];
}

/** A task record as the backends store one: what the serializers at their edges carry. */
const TASK = {
  id: '0k3j9x1a8bq0z2m5r7t1c4e-1f',
  capability: 'browser',
  payload: {
    url: 'https://example.org/search?q=switchboard&page=2',
    steps: [
      { action: 'click', selector: '#submit', at: [10, 20.5] },
      { action: 'type', text: 'héllo', delayMs: 0 },
    ],
    options: { headless: true, proxy: null, retries: 3, nested: { deep: [[1, [2, [3]]]] } },
  },
  priority: 'high',
  status: 'queued',
  attempts: 0,
  maxAttempts: 3,
  timeoutMs: 30_000,
  availableAt: 1_700_000_000_000,
  createdAt: 1_700_000_000_000,
  updatedAt: 1_700_000_000_000,
  sessionKey: 'user-42',
  error: { message: 'timed out', code: 'timeout' },
};

/** What a JSON client can send: an own property named `__proto__`, not a prototype. */
function hostile(): object {
  return JSON.parse('{"a":1,"__proto__":{"polluted":true}}') as object;
}

const SCALARS: readonly unknown[] = [null, true, false, 0, 1, -1, 42.5, '', 'text'];

const EMPTIES: readonly unknown[] = [
  '',
  {},
  [],
  [[[]]],
  { '': '' },
  { text: '', object: {}, list: [], nested: { list: [{}, [], ''] } },
];

const UNICODE = {
  latin: 'héllo wörld, ça va, ñandú',
  cjk: '日本語の文章、中文、한국어',
  rtl: 'مرحبا بالعالم שלום',
  astral: '🚀 𝄞 👩‍👩‍👧‍👦 🇫🇷',
  combining: 'e\u0301 a\u030a',
  controls: 'nul \u0000 tab \t newline \n bell \u0007 del \u007f',
  separators: 'line \u2028 paragraph \u2029 bom \ufeff',
  quoting: 'quote " backslash \\ slash / apostrophe \'',
  keys: { ключ: 1, '🔑': 2, 'a\u0000b': 3, 'e\u0301': 4 },
  list: ['α', 'β', '∑', '\u{10ffff}'],
};

const NUMBERS = {
  integers: [0, 1, -1, 23, 24, 255, 256, 65_535, 65_536, 2 ** 31, -(2 ** 31) - 1, 2 ** 32],
  safe: [Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 2 ** 53 + 2],
  fractions: [0.1, -2.5, 1 / 3, 3.4028234663852886e38, 16_777_217.5, 1e21, 1.5e-7],
  extremes: [Number.MAX_VALUE, -Number.MAX_VALUE, Number.MIN_VALUE, 2.2250738585072014e-308],
};

/** A document of about 300 KiB: many rows and one long string. */
function largeDocument(): unknown {
  return {
    rows: Array.from({ length: 2_000 }, (_, i) => ({
      i,
      name: `row ${i}`,
      score: i / 7,
      tags: ['a', 'b', String(i % 13)],
    })),
    text: 'lorem ipsum dolor sit amet, '.repeat(8_000),
  };
}

/** `serializer.decode` as a promise, whether it answers, throws or rejects. */
function decoded(
  serializer: Serializer,
  bytes: Uint8Array,
  options?: DecodeOptions,
): Promise<unknown> {
  return Promise.resolve().then(() => serializer.decode(bytes, options));
}

async function encoded(serializer: Serializer, value: unknown): Promise<Uint8Array> {
  const bytes = await serializer.encode(value);
  expect(bytes).toBeInstanceOf(Uint8Array);
  return bytes;
}

async function roundTrip(serializer: Serializer, value: unknown): Promise<unknown> {
  return decoded(serializer, await encoded(serializer, value));
}

/**
 * Runs the rules every serializer must follow against serializers made by `make` (a fresh
 * one per case). A case the serializer legitimately does otherwise is skipped by listing it
 * in `options.skip` with the reason.
 *
 * @example
 * ```ts
 * const jsonChoices = {
 *   skip: [
 *     { reason: 'JSON has no negative zero: it writes -0 as 0', tests: ['reads -0 back as -0'] },
 *     { reason: 'JSON.parse keeps a __proto__ key', tests: ['refuses a __proto__ key with decode_error'] },
 *   ],
 * } satisfies SerializerSuiteOptions
 * testSerializer('json', () => jsonSerializer, jsonChoices)
 * testSerializer('json+gzip', () => withCompression(jsonSerializer, { format: 'gzip' }), jsonChoices)
 * ```
 */
export function testSerializer(
  name: string,
  make: () => Serializer,
  options: SerializerSuiteOptions = {},
): void {
  describe(`Serializer conformance: ${name}`, () => {
    const test = suiteCases(`testSerializer(${name})`, SERIALIZER_CASES, options.skip);

    test('has a name and a media type', () => {
      const serializer = make();
      expect(typeof serializer.name).toBe('string');
      expect(serializer.name.trim()).toBe(serializer.name);
      expect(serializer.name.length).toBeGreaterThan(0);
      // type/subtype, then parameters if any (`application/json; compression=gzip`).
      expect(serializer.contentType).toMatch(/^[\w.+-]+\/[\w.+-]+(\s*;\s*[\w.+-]+=\S+)*$/);
    });

    test('round-trips a task document of nested objects and arrays', async () => {
      expect(await roundTrip(make(), TASK)).toEqual(TASK);
    });

    test('round-trips each JSON scalar on its own', async () => {
      const serializer = make();
      for (const value of SCALARS) expect(await roundTrip(serializer, value)).toEqual(value);
    });

    test('round-trips empty strings, objects and arrays', async () => {
      const serializer = make();
      for (const value of EMPTIES) expect(await roundTrip(serializer, value)).toEqual(value);
    });

    test('round-trips unicode text in keys and values', async () => {
      const serializer = make();
      expect(await roundTrip(serializer, UNICODE)).toEqual(UNICODE);
      expect(await roundTrip(serializer, UNICODE.astral)).toBe(UNICODE.astral);
    });

    test('round-trips numbers: safe integers, fractions and the extremes of a double', async () => {
      // toEqual compares numbers with Object.is: every value must come back to the bit.
      expect(await roundTrip(make(), NUMBERS)).toEqual(NUMBERS);
    });

    test('reads -0 back as 0', async () => {
      const serializer = make();
      expect(await roundTrip(serializer, -0)).toBe(0);
      expect(await roundTrip(serializer, { n: -0, list: [-0] })).toEqual({ n: 0, list: [0] });
    });

    test('reads -0 back as -0', async () => {
      const serializer = make();
      expect(await roundTrip(serializer, -0)).toBe(-0);
      expect(await roundTrip(serializer, { n: -0, list: [-0] })).toEqual({ n: -0, list: [-0] });
    });

    test('round-trips lone surrogates', async () => {
      const value = { high: 'a\ud800b', low: '\udc00', reversed: '\udc00\ud800' };
      expect(await roundTrip(make(), value)).toEqual(value);
    });

    test('round-trips a large document', async () => {
      const value = largeDocument();
      expect(await roundTrip(make(), value)).toEqual(value);
    });

    test('answers bytes of their own: a later encode leaves them intact', async () => {
      const serializer = make();
      const first = await encoded(serializer, { first: 'a'.repeat(64) });
      const copy = first.slice();
      await encoded(serializer, { second: 'b'.repeat(64) });
      await encoded(serializer, TASK);
      expect(first).toEqual(copy);
      expect(await decoded(serializer, first)).toEqual({ first: 'a'.repeat(64) });
    });

    test('decodes bytes held in a view at an offset of a larger buffer', async () => {
      // A Node Buffer from a socket or Redis, or the body of a frame, is such a view.
      const serializer = make();
      const bytes = await encoded(serializer, TASK);
      const buffer = new Uint8Array(bytes.byteLength + 11).fill(0xee);
      buffer.set(bytes, 7);
      const view = buffer.subarray(7, 7 + bytes.byteLength);
      expect(await decoded(serializer, view)).toEqual(TASK);
    });

    test('decodes input of exactly maxBytes', async () => {
      const serializer = make();
      const bytes = await encoded(serializer, TASK);
      expect(await decoded(serializer, bytes, { maxBytes: bytes.byteLength })).toEqual(TASK);
    });

    test('refuses input over maxBytes with payload_too_large', async () => {
      const serializer = make();
      const bytes = await encoded(serializer, TASK);
      const limit = { maxBytes: bytes.byteLength - 1 };
      await rejectsWith(decoded(serializer, bytes, limit), 'payload_too_large');
      await rejectsWith(decoded(serializer, bytes, { maxBytes: 0 }), 'payload_too_large');
    });

    test('checks maxBytes before reading the input', async () => {
      // Bytes it could not read, over the limit: the limit answers, as the bytes are not read.
      const serializer = make();
      const bytes = await encoded(serializer, TASK);
      const cut = bytes.subarray(0, bytes.byteLength - 1);
      await rejectsWith(
        decoded(serializer, cut, { maxBytes: cut.byteLength - 1 }),
        'payload_too_large',
      );
    });

    test('refuses empty input with decode_error', async () => {
      await rejectsWith(decoded(make(), new Uint8Array(0)), 'decode_error');
    });

    test('refuses every truncation of an encoding with decode_error', async () => {
      const serializer = make();
      const value = { a: [1, 2, { b: 'héllo' }], c: 'x'.repeat(40), d: { e: null } };
      const bytes = await encoded(serializer, value);
      for (let n = 1; n < bytes.byteLength; n++) {
        await rejectsWith(decoded(serializer, bytes.slice(0, n)), 'decode_error');
      }
    });

    test('keeps a __proto__ key as an own property, never a prototype', async () => {
      const back = (await roundTrip(make(), hostile())) as Record<string, unknown>;
      expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
      expect(Object.hasOwn(back, '__proto__')).toBe(true);
      expect(back.polluted).toBeUndefined();
      expect(back).toEqual(hostile());
    });

    test('refuses a __proto__ key with decode_error', async () => {
      const serializer = make();
      const bytes = await encoded(serializer, hostile());
      await rejectsWith(decoded(serializer, bytes), 'decode_error');
      expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
    });
  });
}
