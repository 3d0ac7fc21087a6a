import {
  type CompressionFormat,
  type CompressionOptions,
  type Serializer,
  SwitchboardError,
  withCompression,
} from '@switchboard/core';
import { configError } from './options.js';

/** Compression of a serializer plugin: a format name, or the full options of `withCompression`. */
export type CompressionSpec = CompressionFormat | CompressionOptions;

/**
 * `serializer` wrapped in compression when `spec` asks for it, else `serializer` itself.
 * A bad spec fails here, naming the plugin.
 */
export function compressed(
  plugin: string,
  serializer: Serializer,
  spec: CompressionSpec | undefined,
): Serializer {
  if (spec === undefined) return serializer;
  const options: CompressionOptions = typeof spec === 'string' ? { format: spec } : spec;
  if (options === null || typeof options !== 'object') {
    throw configError(plugin, 'compression must be a format name or { format, minBytes? }');
  }
  try {
    return withCompression(serializer, options);
  } catch (cause) {
    if (cause instanceof SwitchboardError) {
      throw new SwitchboardError('invalid_config', `[switchboard] [${plugin}] ${cause.message}`, {
        cause,
      });
    }
    throw cause;
  }
}
