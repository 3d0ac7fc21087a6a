import { checkKnownKeys, type MemoryBackendOptions, SwitchboardError } from '@switchboard/core';

/**
 * As much of a Durable Object's storage (`ctx.storage`) as the backend uses: the
 * asynchronous key-value API, which objects on either storage engine (SQLite or key-value)
 * offer. Each call is a transaction of its own, and the object applies its writes in the
 * order they were made.
 */
export interface DurableObjectStorageLike {
  list<T = unknown>(options: { prefix: string }): Promise<Map<string, T>>;
  put(entries: Record<string, unknown>): Promise<void>;
  delete(keys: string[]): Promise<number>;
}

/** Options of {@link createDurableObjectBackend}. */
export interface DurableObjectBackendOptions extends MemoryBackendOptions {
  /** The object's storage: `ctx.storage` (`state.storage`) of its constructor. */
  storage: DurableObjectStorageLike;
  /**
   * The prefix of every key the backend writes, so that the object can keep other data of
   * its own beside it. Default `sb:`.
   */
  prefix?: string;
  /**
   * The largest task record (payload, and result once completed, measured as JSON) the
   * backend stores: a larger one is refused with `payload_too_large` before anything
   * changes. Default 1,900,000, under the 2 MB a value may take in an object on SQLite
   * storage; an object on key-value storage takes 128 KiB, so set it below that there.
   */
  maxRecordBytes?: number;
}

/** The options with defaults applied. */
export interface ResolvedDurableObjectOptions {
  storage: DurableObjectStorageLike;
  prefix: string;
  maxRecordBytes: number;
  memory: MemoryBackendOptions;
}

const KNOWN = ['storage', 'prefix', 'maxRecordBytes', 'maxRetained', 'retainMs'];

/** Applies defaults and fails fast (`invalid_config`) on what cannot work. */
export function resolveDurableObjectOptions(
  options: DurableObjectBackendOptions,
): ResolvedDurableObjectOptions {
  if (typeof options !== 'object' || options === null) {
    throw invalid("options must be an object with storage (the object's ctx.storage)");
  }
  checkKnownKeys(options, KNOWN);
  const { storage, prefix = 'sb:', maxRecordBytes = 1_900_000, maxRetained, retainMs } = options;
  for (const method of ['list', 'put', 'delete'] as const) {
    if (typeof (storage as unknown as Record<string, unknown>)?.[method] !== 'function') {
      throw invalid(
        `storage must be the Durable Object's ctx.storage (it has no ${method}() method)`,
      );
    }
  }
  if (typeof prefix !== 'string' || prefix.length === 0) {
    throw invalid(`prefix must be a non-empty string, got ${JSON.stringify(prefix)}`);
  }
  if (!Number.isInteger(maxRecordBytes) || maxRecordBytes < 1024) {
    throw invalid(`maxRecordBytes must be a whole number ≥ 1024, got ${String(maxRecordBytes)}`);
  }
  const memory: MemoryBackendOptions = {};
  if (maxRetained !== undefined) memory.maxRetained = maxRetained;
  if (retainMs !== undefined) memory.retainMs = retainMs;
  return { storage, prefix, maxRecordBytes, memory };
}

function invalid(message: string): SwitchboardError {
  return new SwitchboardError('invalid_config', `[durable-object] ${message}`);
}
