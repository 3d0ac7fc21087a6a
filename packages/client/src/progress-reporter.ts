import { DEFAULT_MAX_CHUNK_BYTES, encodeReported, MAX_PROGRESS_BYTES } from '@switchboard/core';
import { type Backoff, classify, retryDelay, sleep } from './retry.js';

/** One report as `POST /v1/tasks/{id}/progress` takes it, without the lease token. */
export interface ReportBody {
  value?: unknown;
  chunks?: unknown[];
}

/** The most chunks and bytes of chunks one report request carries (the server takes 1,000). */
const MAX_CHUNKS_A_REPORT = 1000;
const MAX_BYTES_A_REPORT = 512 * 1024;
/** Chunks a worker holds for a task while the server cannot be reached; older ones go first. */
const MAX_PENDING_CHUNKS = 10_000;

/** What a {@link ProgressReporter} reports to and through. */
export interface ReporterSettings {
  /** Sends one report; rejects with the client's error. */
  send(body: ReportBody): Promise<unknown>;
  readonly backoff: Required<Backoff>;
  /** The lease is no longer this worker's (404, 409): the task should stop. */
  lost(error: unknown): void;
  /** A report that could not be sent for a reason retrying will not cure, or chunks dropped. */
  report(error: unknown): void;
}

/**
 * The progress and partial output of one task run by a worker (`ctx.progress`, `ctx.stream`),
 * sent to the server with at most one request in flight: what the handler reports while a
 * request is out is coalesced into the next one (the last progress value, every chunk in
 * order), so a handler that streams an LLM's tokens one by one costs one request per round
 * trip, not one per token. A transient failure (the server restarting) is retried with
 * backoff, keeping what waits; meanwhile at most 10,000 chunks wait, older ones dropped.
 */
export class ProgressReporter {
  readonly #settings: ReporterSettings;
  #value: { v: unknown } | undefined;
  #chunks: { data: unknown; bytes: number }[] = [];
  #sending: Promise<void> | undefined;
  #closed = false;
  #failures = 0;

  constructor(settings: ReporterSettings) {
    this.#settings = settings;
  }

  /** Checks a progress value and queues it. @throws `invalid_request`, `payload_too_large`. */
  progress(value: unknown): void {
    encodeReported(value, 'progress', MAX_PROGRESS_BYTES);
    if (this.#closed) return;
    this.#value = { v: value };
    this.#sending ??= this.#drain();
  }

  /** Checks a chunk and queues it. @throws `invalid_request`, `payload_too_large`. */
  stream(chunk: unknown): void {
    const bytes = encodeReported(chunk, 'chunk', DEFAULT_MAX_CHUNK_BYTES).length;
    if (this.#closed) return;
    this.#chunks.push({ data: chunk, bytes });
    if (this.#chunks.length > MAX_PENDING_CHUNKS) {
      const dropped = this.#chunks.length - MAX_PENDING_CHUNKS;
      this.#chunks.splice(0, dropped);
      this.#settings.report(
        new Error(`${dropped} chunk(s) dropped while the server was unreachable`),
      );
    }
    this.#sending ??= this.#drain();
  }

  /** Settles once everything queued so far is sent (or given up); the answer waits for it. */
  flushed(): Promise<void> {
    return this.#sending ?? Promise.resolve();
  }

  /** Drops what waits and takes no more reports (the lease is over). */
  close(): void {
    this.#closed = true;
    this.#value = undefined;
    this.#chunks = [];
  }

  async #drain(): Promise<void> {
    // One turn first: what a handler reports in one synchronous burst goes in one request.
    await Promise.resolve();
    try {
      while (!this.#closed && (this.#value !== undefined || this.#chunks.length > 0)) {
        const body = this.#take();
        try {
          await this.#settings.send(body);
          this.#failures = 0;
        } catch (error) {
          const kind = classify(error);
          if (kind === 'gone' || kind === 'conflict') {
            this.close();
            this.#settings.lost(error);
            return;
          }
          this.#settings.report(error);
          if (kind === 'fatal') continue;
          this.#putBack(body);
          await sleep(retryDelay(this.#failures++, this.#settings.backoff, error));
        }
      }
    } finally {
      this.#sending = undefined;
    }
  }

  #take(): ReportBody {
    const body: ReportBody = {};
    if (this.#value !== undefined) body.value = this.#value.v;
    this.#value = undefined;
    let n = 0;
    let bytes = 0;
    while (n < this.#chunks.length && n < MAX_CHUNKS_A_REPORT) {
      const next = (this.#chunks[n] as { bytes: number }).bytes;
      if (n > 0 && bytes + next > MAX_BYTES_A_REPORT) break;
      bytes += next;
      n++;
    }
    if (n > 0) body.chunks = this.#chunks.splice(0, n).map((c) => c.data);
    return body;
  }

  /** A report that failed goes back ahead of what came since (a newer value wins). */
  #putBack(body: ReportBody): void {
    if (body.value !== undefined && this.#value === undefined) this.#value = { v: body.value };
    if (body.chunks !== undefined) {
      this.#chunks.unshift(
        ...body.chunks.map((data) => ({ data, bytes: JSON.stringify(data).length })),
      );
    }
  }
}
