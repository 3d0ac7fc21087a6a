import {
  assertMaxBytes,
  type DecodeOptions,
  type Serializer,
  SwitchboardError,
} from '@switchboard/core';
import { Decoder } from 'cbor-x/decode';
import { Encoder } from 'cbor-x/encode';
import { type CompressionSpec, compressed, readOptions } from '../../shared/index.js';
import { toDocument } from './to-document.js';

/** The name `cbor` registers under. */
export const CBOR_SERIALIZER = 'cbor';

/** Options of {@link cbor}. */
export interface CborOptions {
  /** Compress frames: a format (`gzip`, `deflate`, `deflate-raw`) or `withCompression` options. */
  compression?: CompressionSpec;
}

/** The CBOR serializer, with a synchronous path for callers that cannot await. */
export interface CborSerializer extends Serializer {
  encode(value: unknown): Promise<Uint8Array>;
  decode(bytes: Uint8Array, options?: DecodeOptions): Promise<unknown>;
  /** `encode`, synchronously. */
  encodeSync(value: unknown): Uint8Array;
  /** `decode`, synchronously. */
  decodeSync(bytes: Uint8Array, options?: DecodeOptions): unknown;
}

/**
 * CBOR (RFC 8949) by `cbor-x`: objects are written as plain maps (no cbor-x records), and
 * objects with `toJSON` are written as what it returns, so a document reads back as the same
 * document JSON would carry. Decoding is safe for untrusted input: `__proto__` keys, cyclic
 * or shared values and exotic tags are refused with `decode_error`, as is malformed input.
 * Like JSON, it writes -0 as 0. Unlike JSON, a string holding a lone surrogate reads back
 * with replacement characters (U+FFFD) in its place, since CBOR text is UTF-8.
 * With `compression`, frames are compressed with the web `CompressionStream`.
 *
 * @example
 * ```ts
 * import { cbor } from '@switchboard/plugins/cbor'
 * const serializer = cbor()
 * const bytes = await serializer.encode({ capability: 'browser', payload: { url } })
 * const task = await serializer.decode(bytes, { maxBytes: 1 << 20 })
 * ```
 */
export function cbor(options?: CborOptions): Serializer {
  const opts = readOptions<CborOptions>(CBOR_SERIALIZER, options);
  return compressed(CBOR_SERIALIZER, cborSerializer(), opts.compression);
}

/** A new uncompressed {@link CborSerializer} (each has its own cbor-x encoder state). */
export function cborSerializer(): CborSerializer {
  const encoder = new Encoder({ useRecords: false, mapsAsObjects: true, useToJSON: true });
  // Maps stay `Map`s here so that keys can be checked before they touch an object, and byte
  // strings are copied so they never alias a caller's reused buffer.
  const decoder = new Decoder({ useRecords: false, mapsAsObjects: false, copyBuffers: true });

  const encodeSync = (value: unknown): Uint8Array => {
    try {
      return encoder.encode(value);
    } catch (cause) {
      // Cycles (a stack overflow), functions and symbols land here.
      const reason = cause instanceof Error ? cause.message : String(cause);
      throw new SwitchboardError('invalid_request', `value cannot be encoded as CBOR: ${reason}`, {
        cause,
      });
    }
  };

  const decodeSync = (bytes: Uint8Array, decodeOptions?: DecodeOptions): unknown => {
    assertMaxBytes(bytes, decodeOptions?.maxBytes);
    if (bytes.byteLength === 0) throw new SwitchboardError('decode_error', 'empty CBOR payload');
    let raw: unknown;
    try {
      raw = decoder.decode(bytes);
    } catch (cause) {
      const reason = cause instanceof Error ? cause.message : String(cause);
      throw new SwitchboardError('decode_error', `payload is not valid CBOR: ${reason}`, {
        cause,
      });
    }
    return toDocument(raw);
  };

  return Object.freeze({
    name: CBOR_SERIALIZER,
    contentType: 'application/cbor',
    encodeSync,
    decodeSync,
    // Async wrappers so that every failure is a rejection, whichever path a caller takes.
    encode: async (value: unknown) => encodeSync(value),
    decode: async (bytes: Uint8Array, decodeOptions?: DecodeOptions) =>
      decodeSync(bytes, decodeOptions),
  });
}
