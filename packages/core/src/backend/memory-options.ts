import { SwitchboardError } from '../errors.js';

/** Options of the in-memory backend. */
export interface MemoryBackendOptions {
  /**
   * At most this many terminal tasks (completed, dead, cancelled) are kept, with their
   * idempotency keys; the oldest are evicted first. Default 10,000; 0 keeps none.
   *
   * Why 10,000: retained records stay in the task map and the heap, so a large window slows
   * the hot path (bigger map, more for the GC to trace; draining 100k tasks ran at 0.35–0.56M
   * tasks/s with 100,000 retained against 0.8–1.5M with 1,000) and holds their results in
   * memory. Raise it when clients read results (`get`, `waitFor`) or repeat idempotency keys
   * long after tasks end; a durable backend keeps its own, longer window.
   */
  maxRetained?: number;
  /** Terminal tasks older than this (ms since they ended) are evicted. Default: no limit. */
  retainMs?: number;
}

/** The options with defaults applied. */
export interface ResolvedMemoryOptions {
  maxRetained: number;
  retainMs: number;
}

/** The default of {@link MemoryBackendOptions.maxRetained}. */
export const DEFAULT_MAX_RETAINED = 10_000;

/** Applies defaults and fails fast (`invalid_config`) on a value that cannot work. */
export function resolveMemoryOptions(options: MemoryBackendOptions): ResolvedMemoryOptions {
  const { maxRetained = DEFAULT_MAX_RETAINED, retainMs = Number.POSITIVE_INFINITY } = options;
  if (!Number.isInteger(maxRetained) || maxRetained < 0) {
    throw new SwitchboardError(
      'invalid_config',
      `[memory] maxRetained must be an integer ≥ 0, got ${maxRetained}`,
      { details: { maxRetained } },
    );
  }
  if (!(retainMs >= 0)) {
    throw new SwitchboardError('invalid_config', `[memory] retainMs must be ≥ 0, got ${retainMs}`, {
      details: { retainMs },
    });
  }
  return { maxRetained, retainMs };
}
