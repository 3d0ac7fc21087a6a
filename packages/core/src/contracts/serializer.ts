import { SwitchboardError } from '../errors.js';

/** Options of one {@link Serializer.decode} call. */
export interface DecodeOptions {
  /** Refuse input longer than this many bytes (`payload_too_large`) before decoding it. */
  maxBytes?: number;
}

/**
 * Turns values into bytes and back at a process edge (HTTP, Redis, the journal). Encode
 * and decode may answer synchronously or with a promise (compression is async), so a caller
 * always `await`s them; the built-in `jsonSerializer` (plugin/builtin/json.ts) also offers a
 * sync path.
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
