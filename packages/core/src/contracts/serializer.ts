import { SwitchboardError } from '../errors.js';

/** Options of one {@link Serializer.decode} call. */
export interface DecodeOptions {
  /** Refuse input longer than this many bytes (`payload_too_large`) before decoding it. */
  maxBytes?: number;
}

/**
 * Turns values into bytes and back at a process edge (HTTP, Redis, the journal). Encode
 * and decode may answer synchronously or with a promise (compression is async), so a caller
 * always `await`s them; {@link jsonSerializer} also offers a sync path.
 * A decoder throws (or rejects with) a {@link SwitchboardError}: `decode_error` for bytes it
 * cannot read, `payload_too_large` for input over a limit.
 */
export interface Serializer {
  /** A short name, e.g. `json`, `cbor`, `json+gzip`. */
  readonly name: string;
  /** The media type of what `encode` produces. */
  readonly contentType: string;
  encode(value: unknown): Uint8Array | Promise<Uint8Array>;
  decode(bytes: Uint8Array, options?: DecodeOptions): unknown | Promise<unknown>;
}

/**
 * Throws `payload_too_large` when `bytes` is longer than `maxBytes` (when given).
 * Serializer implementations call it first thing in `decode`.
 */
export function assertMaxBytes(bytes: Uint8Array, maxBytes: number | undefined): void {
  if (maxBytes !== undefined && bytes.byteLength > maxBytes) {
    throw new SwitchboardError(
      'payload_too_large',
      `payload of ${bytes.byteLength} bytes is over the limit of ${maxBytes}`,
      { details: { bytes: bytes.byteLength, maxBytes } },
    );
  }
}

const encoder = new TextEncoder();
// `fatal` makes invalid UTF-8 an error instead of silently becoming U+FFFD.
const decoder = new TextDecoder('utf-8', { fatal: true });

/** The JSON serializer, with a synchronous path for callers that cannot await. */
export interface JsonSerializer extends Serializer {
  encode(value: unknown): Promise<Uint8Array>;
  decode(bytes: Uint8Array, options?: DecodeOptions): Promise<unknown>;
  /** `encode`, synchronously. */
  encodeSync(value: unknown): Uint8Array;
  /** `decode`, synchronously. */
  decodeSync(bytes: Uint8Array, options?: DecodeOptions): unknown;
}

function encodeSync(value: unknown): Uint8Array {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (cause) {
    // Circular structures and BigInt values land here.
    throw new SwitchboardError('invalid_request', 'value cannot be encoded as JSON', { cause });
  }
  // JSON.stringify answers undefined for undefined, functions and symbols at the top level.
  if (text === undefined) {
    throw new SwitchboardError('invalid_request', `a ${typeof value} cannot be encoded as JSON`);
  }
  return encoder.encode(text);
}

function decodeSync(bytes: Uint8Array, options?: DecodeOptions): unknown {
  assertMaxBytes(bytes, options?.maxBytes);
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch (cause) {
    throw new SwitchboardError('decode_error', 'payload is not valid UTF-8', { cause });
  }
  try {
    return JSON.parse(text);
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new SwitchboardError('decode_error', `payload is not valid JSON: ${reason}`, { cause });
  }
}

/**
 * UTF-8 JSON. `decode` refuses invalid UTF-8 and invalid JSON with `decode_error`.
 * A `__proto__` key in the input stays a plain own property (JSON.parse semantics); it never
 * becomes a prototype, and validation drops it from every object and record schema.
 *
 * @example
 * ```ts
 * const bytes = await jsonSerializer.encode({ hello: 'world' })
 * const value = await jsonSerializer.decode(bytes, { maxBytes: 1 << 20 })
 * ```
 */
export const jsonSerializer: JsonSerializer = Object.freeze({
  name: 'json',
  contentType: 'application/json',
  encodeSync,
  decodeSync,
  // Async wrappers so that every failure is a rejection, whichever path a caller takes.
  encode: async (value: unknown) => encodeSync(value),
  decode: async (bytes: Uint8Array, options?: DecodeOptions) => decodeSync(bytes, options),
});
