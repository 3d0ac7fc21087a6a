/** One chunk of a task's stream: its place (1 for the first chunk ever), JSON text and time. */
export interface StoredChunk {
  readonly seq: number;
  readonly json: string;
  readonly at: number;
}

/** What a read of a task's stream finds after a place. */
export interface StreamRead {
  /** Chunks after the place, in order. */
  readonly chunks: readonly StoredChunk[];
  /** Chunks after the place that are no longer kept (they came before `chunks`). */
  readonly dropped: number;
}

/** The bounds a shared stream store keeps (the others apply to the memory of one process). */
export interface SharedStreamBounds {
  /** Chunks kept per task; older ones are dropped first. */
  readonly maxChunks: number;
  /** A stream is dropped this long after its last chunk. */
  readonly retainMs: number;
}

/**
 * The streams of partial output kept by a backend that several processes share (optional
 * `Backend.streams`), so that a task's stream reads the same through any of them. A chunk's
 * `seq` is one more than the chunk before it in the task's stream, whichever process
 * appended it.
 */
export interface StreamStore {
  /** Appends chunks (JSON texts) to a task's stream, in order; resolves to the last one's seq. */
  append(taskId: string, texts: readonly string[], now: number): Promise<number>;
  /** At most `limit` chunks after `after` (a seq; 0 for the start). */
  read(taskId: string, after: number, limit: number): Promise<StreamRead>;
}
