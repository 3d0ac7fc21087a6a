import { isSwitchboardError, jsonSerializer } from '@switchboard/core';
import { json } from '@switchboard/plugins/json';
import { type SerializerSuiteOptions, testSerializer } from '@switchboard/testing';
import { describe, expect, it } from 'vitest';

const jsonChoices: SerializerSuiteOptions = {
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
};
testSerializer('json', () => json(), jsonChoices);
// minBytes 0: every frame that compression shrinks is compressed, small ones too.
testSerializer(
  'json+gzip',
  () => json({ compression: { format: 'gzip', minBytes: 0 } }),
  jsonChoices,
);

const doc = {
  capability: 'browser',
  payload: {
    url: 'https://example.org',
    steps: Array.from({ length: 200 }, (_, i) => ({ i, action: 'click' })),
  },
  priority: 'high',
  maxAttempts: 3,
};

async function codeOf(promise: Promise<unknown> | unknown): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return isSwitchboardError(err) ? err.code : err;
  }
  return undefined;
}

describe('json', () => {
  it("is core's JSON serializer when no compression is asked for", async () => {
    const serializer = json();
    expect(serializer).toBe(jsonSerializer);
    expect(await serializer.decode(await serializer.encode(doc))).toEqual(doc);
  });

  it('round-trips through gzip, smaller than plain JSON', async () => {
    const serializer = json({ compression: 'gzip' });
    expect(serializer.name).toBe('json+gzip');
    const bytes = await serializer.encode(doc);
    expect(bytes.byteLength).toBeLessThan(JSON.stringify(doc).length / 4);
    expect(await serializer.decode(bytes)).toEqual(doc);
  });

  it('stores small documents uncompressed below minBytes, and still reads them', async () => {
    const serializer = json({ compression: { format: 'deflate', minBytes: 4096 } });
    const small = { ok: true };
    const bytes = await serializer.encode(small);
    expect(bytes[0]).toBe(0); // the "stored" frame flag
    expect(await serializer.decode(bytes)).toEqual(small);
  });

  it('refuses invalid JSON and corrupt frames with decode_error', async () => {
    expect(await codeOf(json().decode(new TextEncoder().encode('{"a":')))).toBe('decode_error');
    expect(await codeOf(json({ compression: 'gzip' }).decode(new Uint8Array([1, 9, 9, 9])))).toBe(
      'decode_error',
    );
  });

  it('refuses a bad compression option at construction, naming the plugin', () => {
    expect(() => json({ compression: 'zip' as never })).toThrow(
      /^\[switchboard\] \[json\] .*format must be one of gzip, deflate, deflate-raw/,
    );
    expect(() => json({ compression: { format: 'gzip', minBytes: -1 } })).toThrow(
      expect.objectContaining({ code: 'invalid_config' }),
    );
    expect(() => json({ compression: null as never })).toThrow(
      /\[json\] compression must be a format name/,
    );
  });
});
