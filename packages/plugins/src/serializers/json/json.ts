import { jsonSerializer, type Serializer } from '@switchboard/core';
import { type CompressionSpec, compressed, readOptions } from '../../shared/index.js';

/** The name `json` registers under. */
export const JSON_SERIALIZER = 'json';

/** Options of {@link json}. */
export interface JsonOptions {
  /** Compress frames: a format (`gzip`, `deflate`, `deflate-raw`) or `withCompression` options. */
  compression?: CompressionSpec;
}

/**
 * UTF-8 JSON: core's `jsonSerializer`, optionally compressed with the web
 * `CompressionStream` (frames then start with a one-byte stored/compressed flag).
 *
 * @example
 * ```ts
 * import { json } from '@switchboard/plugins/json'
 * const gz = json({ compression: { format: 'gzip', minBytes: 512 } })
 * const value = await gz.decode(await gz.encode({ hello: 'world' }))
 * ```
 */
export function json(options?: JsonOptions): Serializer {
  const opts = readOptions<JsonOptions>(JSON_SERIALIZER, options);
  return compressed(JSON_SERIALIZER, jsonSerializer, opts.compression);
}
