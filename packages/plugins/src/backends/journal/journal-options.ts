import {
  type Logger,
  type MemoryBackendOptions,
  resolveLogger,
  SwitchboardError,
} from '@switchboard/core';
import { type FsAdapter, nodeFs } from './fs-adapter.js';

/**
 * When an append counts as done:
 * - `fsync` (default): written and fsynced before the operation resolves. Survives a
 *   process kill and a power loss.
 * - `write`: written to the OS before it resolves; fsynced every `flushIntervalMs`.
 *   Survives a process kill; a power loss may lose the last interval.
 * - `none`: buffered in the process and written every `flushIntervalMs`. A process kill
 *   may lose the last interval. For tests and throwaway data.
 */
export type Durability = 'fsync' | 'write' | 'none';

/** Something the journal recovered from, for logs and alerts. */
export interface JournalWarning {
  /**
   * `torn_tail`: the last frames of the log were partial or failed their checksum (a write
   * cut short by a crash) and were truncated. `repaired`: corruption before valid frames
   * was truncated because `repair: 'truncate'` was set; the frames after it are lost.
   */
  code: 'torn_tail' | 'repaired';
  message: string;
  /** The file concerned. */
  file: string;
  /** Where the valid frames end: the file was truncated to this size. */
  offset: number;
  /** Bytes cut off. */
  bytes: number;
}

/** Options of {@link createJournalBackend}. */
export interface JournalBackendOptions extends MemoryBackendOptions {
  /** The directory of the journal (created when missing). One backend per directory. */
  dir: string;
  /** When an append counts as done. Default `fsync`. */
  durability?: Durability;
  /** The log is compacted into a snapshot once it grows past this. Default 64 MiB. */
  compactAfterBytes?: number;
  /** `write`: fsync interval; `none`: write interval. Default 100 ms. */
  flushIntervalMs?: number;
  /**
   * `truncate`: corruption found before valid frames is cut off, with everything after it,
   * instead of failing `open()`. Set it only to accept that loss on purpose.
   */
  repair?: 'truncate';
  /** Hears of what recovery fixed. Default: the `logger`'s `warn`, else `console.warn`. */
  onWarning?: (warning: JournalWarning) => void;
  /**
   * Hears one line at each `open()`: what the journal recovered (tasks queued, leases kept
   * or ended, dead letters). Registered through `journalPlugin`, it is the Switchboard's
   * `logger`. Default: silent.
   */
  logger?: Logger;
  /** The file operations. Default {@link nodeFs}. */
  fs?: FsAdapter;
}

/** The options with defaults applied. */
export interface ResolvedJournalOptions {
  dir: string;
  durability: Durability;
  compactAfterBytes: number;
  flushIntervalMs: number;
  repair: 'truncate' | undefined;
  onWarning: (warning: JournalWarning) => void;
  logger: Logger;
  fs: FsAdapter;
  memory: MemoryBackendOptions;
}

const DURABILITIES: ReadonlySet<string> = new Set(['fsync', 'write', 'none']);

/** Applies defaults and fails fast (`invalid_config`) on a value that cannot work. */
export function resolveJournalOptions(options: JournalBackendOptions): ResolvedJournalOptions {
  const {
    dir,
    durability = 'fsync',
    compactAfterBytes = 64 * 1024 * 1024,
    flushIntervalMs = 100,
    repair,
    logger: given,
    fs = nodeFs(),
    maxRetained,
    retainMs,
  } = options ?? ({} as JournalBackendOptions);
  const fail = (what: string, details: unknown) =>
    new SwitchboardError('invalid_config', `[journal] ${what}`, { details });
  const logger = resolveLogger(given, '[journal] logger');
  const onWarning =
    options?.onWarning ??
    (given === undefined
      ? (w: JournalWarning) => console.warn(`[journal] ${w.message}`)
      : (w: JournalWarning) => logger.warn(`journal: ${w.message}`, { ...w }));
  if (typeof dir !== 'string' || dir.length === 0) throw fail('dir: required', { dir });
  if (!DURABILITIES.has(durability)) {
    throw fail(`durability must be fsync, write or none, got ${durability}`, { durability });
  }
  if (!(compactAfterBytes >= 1024) || !Number.isFinite(compactAfterBytes)) {
    throw fail(`compactAfterBytes must be ≥ 1024, got ${compactAfterBytes}`, {
      compactAfterBytes,
    });
  }
  if (!(flushIntervalMs > 0) || !Number.isFinite(flushIntervalMs)) {
    throw fail(`flushIntervalMs must be > 0, got ${flushIntervalMs}`, { flushIntervalMs });
  }
  if (repair !== undefined && repair !== 'truncate') {
    throw fail(`repair must be 'truncate' when set, got ${String(repair)}`, { repair });
  }
  const memory: MemoryBackendOptions = {};
  if (maxRetained !== undefined) memory.maxRetained = maxRetained;
  if (retainMs !== undefined) memory.retainMs = retainMs;
  return {
    dir,
    durability,
    compactAfterBytes,
    flushIntervalMs,
    repair,
    onWarning,
    logger,
    fs,
    memory,
  };
}
