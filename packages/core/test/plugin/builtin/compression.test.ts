import { describe, expect, it } from 'vitest';
import {
  type CompressionFormat,
  withCompression,
} from '../../../src/plugin/builtin/compression.js';
import { jsonSerializer } from '../../../src/plugin/builtin/json.js';
import { rejection } from '../../rejection.js';

const big = { rows: Array.from({ length: 500 }, (_, i) => ({ i, name: 'row', tags: ['a', 'b'] })) };

async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>])
    .stream()
    .pipeThrough(new CompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

describe('withCompression', () => {
  it.each<CompressionFormat>(['gzip', 'deflate', 'deflate-raw'])(
    'compresses large payloads with %s and round-trips them',
    async (format) => {
      const s = withCompression(jsonSerializer, { format });
      expect(s.name).toBe(`json+${format}`);
      const raw = jsonSerializer.encodeSync(big);
      const bytes = await s.encode(big);
      expect(bytes[0]).toBe(1);
      expect(bytes.byteLength).toBeLessThan(raw.byteLength / 5);
      expect(await s.decode(bytes)).toEqual(big);
    },
  );

  it('stores small payloads as they are, behind a 0 flag', async () => {
    const s = withCompression(jsonSerializer, { format: 'gzip', minBytes: 64 });
    const bytes = await s.encode({ tiny: 'é' });
    expect(bytes[0]).toBe(0);
    expect(new TextDecoder().decode(bytes.subarray(1))).toBe('{"tiny":"é"}');
    expect(await s.decode(bytes)).toEqual({ tiny: 'é' });
  });

  it('stores data that compression would not shrink', async () => {
    // Nine bytes of JSON: deflate's own framing makes them longer, so they are stored.
    const s = withCompression(jsonSerializer, { format: 'deflate-raw', minBytes: 0 });
    const bytes = await s.encode(['k7x2p']);
    expect(bytes[0]).toBe(0);
    expect(await s.decode(bytes)).toEqual(['k7x2p']);
  });

  it('answers decode_error for corrupt data, an unknown flag or an empty frame', async () => {
    const s = withCompression(jsonSerializer, { format: 'gzip' });
    const good = await s.encode(big);
    const corrupt = good.slice();
    corrupt.fill(0x5a, 20, 60);
    const err = await rejection(Promise.resolve(s.decode(corrupt)));
    expect(err.code).toBe('decode_error');
    expect(err.cause).toBeInstanceOf(Error);
    expect((await rejection(Promise.resolve(s.decode(good.subarray(0, 40))))).code).toBe(
      'decode_error',
    );
    expect((await rejection(Promise.resolve(s.decode(new Uint8Array([7, 1]))))).message).toMatch(
      /flag 7/,
    );
    expect(await rejection(Promise.resolve(s.decode(new Uint8Array())))).toMatchObject({
      code: 'decode_error',
      message: 'empty frame',
    });
  });

  it('stops a decompression bomb at maxDecodedBytes with payload_too_large', async () => {
    // 4 MiB of zeros gzip to a few KiB; the limit is 64 KiB.
    const zeros = jsonSerializer.encodeSync('0'.repeat(4 * 1024 * 1024));
    const packed = await gzip(zeros);
    expect(packed.byteLength).toBeLessThan(16 * 1024);
    const frame = new Uint8Array(packed.byteLength + 1);
    frame[0] = 1;
    frame.set(packed, 1);
    const s = withCompression(jsonSerializer, { format: 'gzip', maxDecodedBytes: 64 * 1024 });
    const err = await rejection(Promise.resolve(s.decode(frame)));
    expect(err.code).toBe('payload_too_large');
    expect(err.details).toEqual({ maxDecodedBytes: 64 * 1024 });
  });

  it('applies maxBytes to the compressed frame', async () => {
    const s = withCompression(jsonSerializer, { format: 'gzip' });
    const bytes = await s.encode(big);
    expect((await rejection(Promise.resolve(s.decode(bytes, { maxBytes: 10 })))).code).toBe(
      'payload_too_large',
    );
  });

  it('refuses bad options at wrap time with invalid_config', () => {
    const bad = [
      { format: 'brotli' as CompressionFormat },
      { format: 'gzip' as const, minBytes: -1 },
      { format: 'gzip' as const, maxDecodedBytes: 0 },
    ];
    for (const options of bad) {
      expect(() => withCompression(jsonSerializer, options)).toThrow(
        expect.objectContaining({ code: 'invalid_config' }),
      );
    }
  });
});
