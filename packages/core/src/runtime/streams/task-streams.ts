import type { Backend } from '../../contracts/backend.js';
import type { StoredChunk, StreamRead, StreamStore } from '../../contracts/stream-store.js';
import { SwitchboardError } from '../../errors.js';
import { checkKnownKeys } from '../../known-keys.js';
import { DEFAULT_MAX_CHUNK_BYTES, encodeReported } from '../../model/progress.js';

/**
 * Bounds of the streams of partial output (`ctx.stream(chunk)`), kept in the memory of the
 * process the chunks reach. Every figure is a positive integer.
 */
export interface StreamOptions {
  /** Chunks kept per task; older ones are dropped first (default 1,000). */
  readonly maxChunks?: number;
  /** Bytes of chunks (their JSON text) kept per task; older ones are dropped first (default 256 KiB). */
  readonly maxBytes?: number;
  /** The largest chunk, in bytes of its JSON text; a larger one is refused (default 64 KiB). */
  readonly maxChunkBytes?: number;
  /** Streams kept; the one written longest ago is dropped first (default 1,000). */
  readonly maxStreams?: number;
  /** Bytes of every stream together; the one written longest ago is dropped first (default 64 MiB). */
  readonly maxTotalBytes?: number;
  /** A stream is dropped this long after its last chunk (default 1 hour). */
  readonly retainMs?: number;
}

/** The bounds in force: {@link StreamOptions} with the defaults filled in. */
export type StreamBounds = Required<StreamOptions>;

/** The defaults of {@link StreamOptions}. */
export const DEFAULT_STREAM_BOUNDS: StreamBounds = Object.freeze({
  maxChunks: 1000,
  maxBytes: 256 * 1024,
  maxChunkBytes: DEFAULT_MAX_CHUNK_BYTES,
  maxStreams: 1000,
  maxTotalBytes: 64 * 1024 * 1024,
  retainMs: 3_600_000,
});

const KEYS = Object.keys(DEFAULT_STREAM_BOUNDS);

/**
 * {@link StreamOptions} checked, with the defaults filled in.
 *
 * @throws SwitchboardError `invalid_config` naming an unknown key (and the known ones) or a
 * figure that is not a positive integer.
 */
export function resolveStreamOptions(options: unknown, path = 'streams'): StreamBounds {
  if (options === undefined) return DEFAULT_STREAM_BOUNDS;
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new SwitchboardError(
      'invalid_config',
      `${path} must be an object with ${KEYS.join(', ')}`,
      { details: { field: path } },
    );
  }
  checkKnownKeys(options, KEYS, path);
  const bounds: Record<string, number> = { ...DEFAULT_STREAM_BOUNDS };
  for (const [key, value] of Object.entries(options)) {
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
      throw new SwitchboardError(
        'invalid_config',
        `${path}.${key} must be an integer ≥ 1, got ${typeof value === 'string' ? JSON.stringify(value) : String(value)}`,
        { details: { field: `${path}.${key}`, value } },
      );
    }
    bounds[key] = value;
  }
  return Object.freeze(bounds) as unknown as StreamBounds;
}

interface Stream {
  chunks: StoredChunk[];
  /** Index of the oldest kept chunk in `chunks` (dropped ones are cut off in bulk). */
  head: number;
  bytes: number;
  /** The seq of the last chunk appended (0: none yet). */
  last: number;
  writtenAt: number;
  waiters: (() => void)[];
}

const NOTHING: StreamRead = Object.freeze({ chunks: [], dropped: 0 });

/** The most chunks one read of a shared store returns; a reader reads again for more. */
const SHARED_READ = 1000;

/**
 * The streams of partial output of the tasks running through one process: per task an
 * ordered, bounded list of chunks, each with a sequence number that never repeats. Bounds:
 * `maxChunks` and `maxBytes` per task (the oldest chunks go first; a reader learns how many
 * it missed), `maxStreams` and `maxTotalBytes` over all (the stream written longest ago goes
 * first), and `retainMs` after a stream's last chunk. Streams sit in a map in the order they
 * were last written, so dropping the oldest is taking the map's first entry.
 *
 * With a `shared` store (a backend's, see `Backend.streams`), {@link write} and {@link load}
 * go to it instead, and readers are woken by the `task.streamed` event, which reaches every
 * process; the memory here is then unused.
 */
export class TaskStreams {
  readonly bounds: StreamBounds;
  readonly shared: StreamStore | undefined;
  readonly #streams = new Map<string, Stream>();
  #totalBytes = 0;

  constructor(bounds: StreamBounds = DEFAULT_STREAM_BOUNDS, shared?: StreamStore) {
    this.bounds = bounds;
    this.shared = shared;
  }

  /** Appends chunks to the shared store, or here; the last one's seq (0 for no chunk). */
  write(taskId: string, texts: readonly string[], now: number): number | Promise<number> {
    if (this.shared !== undefined) {
      return texts.length === 0 ? 0 : this.shared.append(taskId, texts, now);
    }
    return this.append(taskId, texts, now);
  }

  /** Reads the shared store, or here. */
  load(taskId: string, after: number): StreamRead | Promise<StreamRead> {
    return this.shared === undefined
      ? this.read(taskId, after)
      : this.shared.read(taskId, after, SHARED_READ);
  }

  /**
   * The JSON text of a chunk, checked against `maxChunkBytes`.
   *
   * @throws SwitchboardError `invalid_request` (not JSON), `payload_too_large` (too long).
   */
  encode(data: unknown, what = 'chunk'): string {
    return encodeReported(data, what, this.bounds.maxChunkBytes);
  }

  /**
   * Appends chunks (JSON texts from {@link encode}) to a task's stream here and wakes its
   * readers; returns the last one's seq.
   */
  append(taskId: string, texts: readonly string[], now: number): number {
    if (texts.length === 0) return this.#streams.get(taskId)?.last ?? 0;
    let stream = this.#streams.get(taskId);
    if (stream === undefined) {
      stream = { chunks: [], head: 0, bytes: 0, last: 0, writtenAt: now, waiters: [] };
    } else this.#streams.delete(taskId);
    // Re-inserted, so that the map stays in the order streams were last written.
    this.#streams.set(taskId, stream);
    stream.writtenAt = now;
    const { maxChunks, maxBytes } = this.bounds;
    for (const json of texts) {
      stream.chunks.push({ seq: ++stream.last, json, at: now });
      stream.bytes += json.length;
      this.#totalBytes += json.length;
    }
    while (
      stream.chunks.length - stream.head > maxChunks ||
      (stream.bytes > maxBytes && stream.chunks.length - stream.head > 1)
    ) {
      const gone = stream.chunks[stream.head++] as StoredChunk;
      stream.bytes -= gone.json.length;
      this.#totalBytes -= gone.json.length;
    }
    // Cut the dropped chunks off once they are half the array: amortised O(1) a chunk.
    if (stream.head > 64 && stream.head * 2 > stream.chunks.length) {
      stream.chunks = stream.chunks.slice(stream.head);
      stream.head = 0;
    }
    this.#evict(now, taskId);
    const waiters = stream.waiters;
    stream.waiters = [];
    for (const wake of waiters) wake();
    return stream.last;
  }

  /** The chunks of a task's stream after `after` (a seq; 0 for the start). */
  read(taskId: string, after: number): StreamRead {
    const stream = this.#streams.get(taskId);
    if (stream === undefined) return NOTHING;
    const first = stream.chunks[stream.head];
    if (first === undefined || stream.last <= after) return NOTHING;
    const from = Math.max(0, after + 1 - first.seq);
    return {
      chunks: stream.chunks.slice(stream.head + from),
      dropped: Math.max(0, first.seq - after - 1),
    };
  }

  /**
   * Calls `wake` once, at the next chunk appended to the task's stream. Returns a function
   * that forgets it (a reader that stops waiting for another reason).
   */
  onAppend(taskId: string, wake: () => void, now: number): () => void {
    let stream = this.#streams.get(taskId);
    if (stream === undefined) {
      // An empty stream holds the waiter until the first chunk; it counts as written now.
      stream = { chunks: [], head: 0, bytes: 0, last: 0, writtenAt: now, waiters: [] };
      this.#streams.set(taskId, stream);
      this.#evict(now, taskId);
    }
    const waiters = stream.waiters;
    waiters.push(wake);
    return () => {
      const i = waiters.indexOf(wake);
      if (i >= 0) waiters.splice(i, 1);
    };
  }

  /** Streams kept, and the bytes of their chunks. */
  usage(): { streams: number; bytes: number } {
    return { streams: this.#streams.size, bytes: this.#totalBytes };
  }

  #evict(now: number, keep: string): void {
    const { maxStreams, maxTotalBytes, retainMs } = this.bounds;
    for (const [id, stream] of this.#streams) {
      const over = this.#streams.size > maxStreams || this.#totalBytes > maxTotalBytes;
      if (id === keep || (!over && stream.writtenAt + retainMs > now)) return;
      this.#streams.delete(id);
      this.#totalBytes -= stream.bytes;
      // Readers still waiting look again and find the stream gone (nothing more will come).
      for (const wake of stream.waiters) wake();
    }
  }
}

/** The stream store of an engine: the backend's shared one when it has one, else memory. */
export function taskStreams(backend: Backend, bounds: StreamBounds): TaskStreams {
  const { maxChunks, retainMs } = bounds;
  return new TaskStreams(bounds, backend.streams?.({ maxChunks, retainMs }));
}
