import { isSwitchboardError } from '@switchboard/core';
import { cbor, cborSerializer } from '@switchboard/plugins/cbor';
import { type SerializerSuiteOptions, testSerializer } from '@switchboard/testing';
import { Encoder } from 'cbor-x';
import { describe, expect, it } from 'vitest';

const cborChoices: SerializerSuiteOptions = {
  skip: [
    { reason: 'cbor-x writes -0 as the integer 0, as JSON does', tests: ['reads -0 back as -0'] },
    {
      reason:
        'CBOR text is UTF-8, which cannot hold a lone surrogate: it reads back as U+FFFD characters',
      tests: ['round-trips lone surrogates'],
    },
    {
      reason: 'a __proto__ key is refused when read, so no decoded object carries one',
      tests: ['keeps a __proto__ key as an own property, never a prototype'],
    },
  ],
};
testSerializer('cbor', () => cbor(), cborChoices);
// minBytes 0: every frame that compression shrinks is compressed, small ones too.
testSerializer(
  'cbor+deflate-raw',
  () => cbor({ compression: { format: 'deflate-raw', minBytes: 0 } }),
  cborChoices,
);

const hex = (text: string) => Uint8Array.from(Buffer.from(text.replace(/\s+/g, ''), 'hex'));

function codeOf(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return isSwitchboardError(err) ? err.code : err;
  }
  return undefined;
}

const task = {
  id: '7f0c',
  capability: 'llm',
  payload: { prompt: 'héllo ✓', tokens: [1, 2.5, -3], nested: { deep: [{ x: null }, true, 'z'] } },
  priority: 'normal',
  status: 'queued',
  attempts: 0,
  maxAttempts: 3,
  createdAt: 1_700_000_000_000,
  metadata: {},
};

describe('cbor', () => {
  const s = cborSerializer();

  it('round-trips a task record into the same document JSON carries', async () => {
    const serializer = cbor();
    expect(serializer.contentType).toBe('application/cbor');
    const back = await serializer.decode(await serializer.encode(task));
    expect(back).toEqual(JSON.parse(JSON.stringify(task)));
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
  });

  it('is more compact than JSON for the same document', () => {
    expect(s.encodeSync(task).byteLength).toBeLessThan(JSON.stringify(task).length);
  });

  it('encodes class instances that have toJSON as JSON would', () => {
    class Money {
      constructor(readonly cents: number) {}
      toJSON() {
        return `${this.cents / 100} EUR`;
      }
    }
    class Point {
      constructor(readonly x: number) {}
      toJSON() {
        return { x: this.x };
      }
    }
    const value = { money: new Money(500), p: new Point(3) };
    expect(s.decodeSync(s.encodeSync(value))).toEqual(JSON.parse(JSON.stringify(value)));
  });

  it('reads maps with number keys as objects with string keys', () => {
    expect(s.decodeSync(hex('a2 01 61 61 02 61 62'))).toEqual({ 1: 'a', 2: 'b' });
  });

  it('refuses a __proto__ key, so decoding cannot pollute any prototype', () => {
    // {"__proto__": {"polluted": true}} as raw CBOR, and nested one level down.
    const top = hex('a1 69 5f5f70726f746f5f5f a1 68 706f6c6c75746564 f5');
    const nested = hex('a1 61 61 a1 69 5f5f70726f746f5f5f a1 68 706f6c6c75746564 f5');
    for (const bytes of [top, nested]) {
      expect(codeOf(() => s.decodeSync(bytes))).toBe('decode_error');
    }
    // What a JSON client could send, re-encoded: the own "__proto__" key is refused too.
    const hostile = JSON.parse('{"a":1,"__proto__":{"polluted":true}}');
    expect(() => s.decodeSync(s.encodeSync(hostile))).toThrow(/the key "__proto__" is not allowed/);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('refuses cyclic and shared values (CBOR value-sharing tags)', () => {
    // tag 28 [ tag 29 0 ]: an array that contains itself.
    expect(() => s.decodeSync(hex('d81c 81 d81d 00'))).toThrow(
      /shared or cyclic references are not allowed/,
    );
    const shared = new Encoder({ structuredClone: true, useRecords: false });
    const leaf = { big: 'x' };
    expect(codeOf(() => s.decodeSync(shared.encode({ a: leaf, b: leaf })))).toBe('decode_error');
  });

  it('refuses tagged values a JSON document cannot hold', () => {
    const tagged = [
      hex('d81b 83 65 4572726f72 62 6869 f6'), // tag 27: an Error object
      hex('d90102 82 01 02'), // tag 258: a Set
      hex('d9ffff 01'), // an unknown tag
    ];
    for (const bytes of tagged) expect(codeOf(() => s.decodeSync(bytes))).toBe('decode_error');
  });

  it('keeps dates and byte strings, copying bytes out of the input buffer', () => {
    const input = s.encodeSync({ at: new Date(0), raw: new Uint8Array([1, 2, 3]) });
    const out = s.decodeSync(input) as { at: Date; raw: Uint8Array };
    input.fill(0);
    expect(out.at.getTime()).toBe(0);
    expect([...out.raw]).toEqual([1, 2, 3]);
  });

  it('refuses malformed input with decode_error', () => {
    const bad = [
      new Uint8Array(0),
      hex('a1'),
      hex('01 02'),
      hex('ff'),
      hex('9b 00000000ffffffff'),
      hex('a1 a0 01'),
    ];
    for (const bytes of bad) expect(codeOf(() => s.decodeSync(bytes))).toBe('decode_error');
  });

  it('survives absurd nesting without overflowing the stack', () => {
    const deep = new Uint8Array(100_001).fill(0x81);
    deep[100_000] = 0;
    expect(codeOf(() => s.decodeSync(deep))).toBe('decode_error');
  });

  it('rejects input over maxBytes before decoding it, and async failures reject', async () => {
    const bytes = s.encodeSync(task);
    expect(codeOf(() => s.decodeSync(bytes, { maxBytes: 10 }))).toBe('payload_too_large');
    await expect(s.decode(hex('a1'))).rejects.toMatchObject({ code: 'decode_error' });
  });

  it('refuses values it cannot encode with invalid_request', async () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(codeOf(() => s.encodeSync(cyclic))).toBe('invalid_request');
    await expect(s.encode({ fn: () => 1 })).rejects.toMatchObject({ code: 'invalid_request' });
  });

  it('round-trips through deflate-raw compression, and refuses a bad option', async () => {
    const serializer = cbor({ compression: { format: 'deflate-raw', minBytes: 16 } });
    expect(serializer.name).toBe('cbor+deflate-raw');
    const big = { ...task, payload: { text: 'lorem ipsum '.repeat(500) } };
    const bytes = await serializer.encode(big);
    expect(bytes.byteLength).toBeLessThan(s.encodeSync(big).byteLength / 10);
    expect(await serializer.decode(bytes)).toEqual(big);
    expect(() => cbor({ compression: 'brotli' as never })).toThrow(/\[switchboard\] \[cbor\]/);
  });
});
