import { assertMaxBytes, type DecodeOptions, type Serializer } from '../../contracts/serializer.js';
import { SwitchboardError } from '../../errors.js';

// Core's default serializer, a built-in like round-robin and restart: what the HTTP server,
// the journal and Redis use unless a plugin names another.

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
