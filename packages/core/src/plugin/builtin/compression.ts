import { assertMaxBytes, type DecodeOptions, type Serializer } from '../../contracts/serializer.js';
import { SwitchboardError } from '../../errors.js';

/** A format of the web `CompressionStream`. */
export type CompressionFormat = 'gzip' | 'deflate' | 'deflate-raw';

/** Options of {@link withCompression}. */
export interface CompressionOptions {
  format: CompressionFormat;
  /** Payloads shorter than this are stored as they are: compressing them costs more than it saves. Default 1024. */
  minBytes?: number;
  /** Decompressed output over this is refused (`payload_too_large`): a bomb guard. Default 16 MiB. */
  maxDecodedBytes?: number;
}

/** The first byte of a frame: how the rest is stored. */
const STORED = 0;
const COMPRESSED = 1;

const FORMATS: readonly CompressionFormat[] = ['gzip', 'deflate', 'deflate-raw'];

/** Default {@link CompressionOptions.maxDecodedBytes}: 16 MiB. */
export const DEFAULT_MAX_DECODED_BYTES = 16 * 1024 * 1024;

function invalid(message: string): SwitchboardError {
  return new SwitchboardError('invalid_config', `[withCompression] ${message}`);
}

function concat(chunks: readonly Uint8Array[], total: number, offset: number): Uint8Array {
  const out = new Uint8Array(offset + total);
  let at = offset;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return out;
}

/**
 * Runs `bytes` through a (de)compression stream and collects the output, giving up with
 * `payload_too_large` as soon as it passes `limit` bytes, so a small bomb never inflates
 * into memory. `offset` leaves that many zero bytes in front (room for a header).
 */
async function pump(
  bytes: Uint8Array<ArrayBuffer>,
  transform: CompressionStream | DecompressionStream,
  limit: number,
  offset: number,
): Promise<Uint8Array> {
  const source = new ReadableStream<Uint8Array<ArrayBuffer>>({
    start(controller) {
      controller.enqueue(bytes);
      controller.close();
    },
  });
  const reader = source.pipeThrough(transform).getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel().catch(() => {
        // Cancelling only frees the stream; the answer is already decided.
      });
      throw new SwitchboardError(
        'payload_too_large',
        `decompressed payload is over the limit of ${limit} bytes`,
        { details: { maxDecodedBytes: limit } },
      );
    }
    chunks.push(value);
  }
  return concat(chunks, total, offset);
}

/** A view the stream APIs accept: they refuse views of a SharedArrayBuffer. */
function ownBuffer(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes.buffer instanceof ArrayBuffer
    ? (bytes as Uint8Array<ArrayBuffer>)
    : new Uint8Array(bytes);
}

/**
 * Wraps a serializer so that its output is compressed with the web `CompressionStream`
 * (any runtime that has it: Node ≥ 18, Bun, Deno, browsers, workers). Each frame starts
 * with one byte: 0 when the rest is stored as is (shorter than `minBytes`, or compression
 * did not make it smaller), 1 when it is compressed. The frames are Switchboard's own, for
 * its edges (Redis, the journal); they are not an HTTP `Content-Encoding`.
 *
 * @throws SwitchboardError `invalid_config` for a bad option, at wrap time.
 * @example
 * ```ts
 * const gz = withCompression(jsonSerializer, { format: 'gzip', minBytes: 512 })
 * const value = await gz.decode(await gz.encode(bigDocument))
 * ```
 */
export function withCompression(inner: Serializer, options: CompressionOptions): Serializer {
  const { format, minBytes = 1024, maxDecodedBytes = DEFAULT_MAX_DECODED_BYTES } = options;
  if (!FORMATS.includes(format)) {
    throw invalid(`format must be one of ${FORMATS.join(', ')}, got ${String(format)}`);
  }
  if (!Number.isInteger(minBytes) || minBytes < 0) {
    throw invalid(`minBytes must be an integer >= 0, got ${minBytes}`);
  }
  if (!Number.isInteger(maxDecodedBytes) || maxDecodedBytes < 1) {
    throw invalid(`maxDecodedBytes must be an integer >= 1, got ${maxDecodedBytes}`);
  }

  return {
    name: `${inner.name}+${format}`,
    contentType: `${inner.contentType}; compression=${format}`,

    async encode(value: unknown): Promise<Uint8Array> {
      const raw = await inner.encode(value);
      if (raw.byteLength >= minBytes) {
        // No size limit while compressing: deflate never grows input by more than a few bytes.
        const packed = await pump(
          ownBuffer(raw),
          new CompressionStream(format),
          Number.POSITIVE_INFINITY,
          1,
        );
        if (packed.byteLength < raw.byteLength + 1) {
          packed[0] = COMPRESSED;
          return packed;
        }
      }
      const stored = new Uint8Array(raw.byteLength + 1);
      stored[0] = STORED;
      stored.set(raw, 1);
      return stored;
    },

    async decode(bytes: Uint8Array, decodeOptions?: DecodeOptions): Promise<unknown> {
      assertMaxBytes(bytes, decodeOptions?.maxBytes);
      const flag = bytes[0];
      const body = bytes.subarray(1);
      if (flag === STORED) return inner.decode(body);
      if (flag !== COMPRESSED) {
        throw new SwitchboardError(
          'decode_error',
          flag === undefined ? 'empty frame' : `unknown frame flag ${flag}`,
        );
      }
      let raw: Uint8Array;
      try {
        raw = await pump(ownBuffer(body), new DecompressionStream(format), maxDecodedBytes, 0);
      } catch (cause) {
        if (cause instanceof SwitchboardError) throw cause;
        throw new SwitchboardError('decode_error', `corrupt ${format} data`, { cause });
      }
      return inner.decode(raw);
    },
  };
}
