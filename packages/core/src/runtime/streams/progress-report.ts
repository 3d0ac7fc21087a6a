import { isSwitchboardError, SwitchboardError, taskNotFound } from '../../errors.js';
import { encodeReported, MAX_PROGRESS_BYTES, type TaskProgress } from '../../model/progress.js';
import { type TaskLease, type TaskRecord, toLease } from '../../model/task.js';
import { MAX_TIMEOUT_MS } from '../../protocol/schemas/task-schema.js';
import type { Engine } from '../engine.js';
import type { InFlight } from '../pool/pool-member.js';

/** The roles progress reports use, so that they can be built and tested with just these. */
export type ProgressRoles = Pick<
  Engine,
  'backend' | 'book' | 'emit' | 'now' | 'onError' | 'streams'
>;

/** What the holder of a lease reports: progress, chunks of partial output, a longer lease. */
export interface ProgressReport {
  /** The task's progress now: a number or a small JSON value (at most 4 KiB of JSON). */
  readonly value?: unknown;
  /** Chunks to append to the task's stream, in order. */
  readonly chunks?: readonly unknown[];
  /** The lease's new length from now; default the task's `timeoutMs` (a heartbeat). */
  readonly extendMs?: number;
}

/** What a report answers: the lease as it now stands, and the stream's last chunk. */
export interface ProgressAnswer {
  readonly lease: TaskLease;
  /** The `seq` of the last chunk appended (absent when none was sent). */
  readonly lastSeq?: number;
}

/** The checked JSON text of a progress value. @throws `invalid_request`, `payload_too_large`. */
export function encodeProgress(value: unknown, what = 'value'): string {
  return encodeReported(value, what, MAX_PROGRESS_BYTES);
}

/** A stored progress from its checked JSON text: a copy, so that the caller keeps its object. */
function progressOf(value: unknown, json: string, at: number): TaskProgress {
  return { value: typeof value === 'object' && value !== null ? JSON.parse(json) : value, at };
}

/** Publishes `task.progress` for a stored report (built only when someone listens). */
function announce(engine: ProgressRoles, task: TaskRecord, progress: TaskProgress): void {
  engine.emit('task.progress', () => {
    const event: Record<string, unknown> = {
      taskId: task.id,
      capability: task.capability,
      attempt: task.attempts,
      value: progress.value,
      reportedAt: progress.at,
    };
    if (task.agentId !== undefined) event.agentId = task.agentId;
    return event;
  });
}

/**
 * Applies the report of a lease's holder (a remote agent over HTTP, usually): the lease is
 * renewed as by `extend` (a heartbeat), the progress stored on the record and published as
 * `task.progress`, the chunks appended to the task's stream. Everything is checked before
 * anything is applied.
 *
 * @throws SwitchboardError `conflict` for a stale token, `not_found`, `invalid_request` or
 * `payload_too_large` for a bad value, chunk or `extendMs`.
 */
export async function reportProgress(
  engine: ProgressRoles,
  id: string,
  token: string,
  report: ProgressReport,
): Promise<ProgressAnswer> {
  const { value, chunks = [], extendMs } = report;
  if (
    extendMs !== undefined &&
    !(Number.isInteger(extendMs) && extendMs >= 1 && extendMs <= MAX_TIMEOUT_MS)
  ) {
    const message = `must be an integer in 1..${MAX_TIMEOUT_MS}`;
    throw new SwitchboardError('invalid_request', `extendMs: ${message}`, {
      details: [{ path: 'extendMs', message }],
    });
  }
  const json = value === undefined ? undefined : encodeProgress(value);
  const texts = chunks.map((chunk, i) => engine.streams.encode(chunk, `chunks.${i}`));
  const now = engine.now();
  const progress = json === undefined ? undefined : progressOf(value, json, now);
  const backend = engine.backend;
  let record: TaskRecord;
  if (backend.progress !== undefined) {
    record = await backend.progress(id, token, progress, extendMs, now);
  } else {
    const ms = extendMs ?? (await backend.get(id))?.timeoutMs;
    if (ms === undefined) throw taskNotFound(id);
    record = await backend.extend(id, token, ms, now);
  }
  const entry = engine.book.inflight.get(id);
  if (entry !== undefined && entry.token === token) {
    entry.expiresAt = record.leaseExpiresAt ?? entry.expiresAt;
  }
  if (progress !== undefined) announce(engine, record, progress);
  const lease = toLease(record);
  if (texts.length === 0) return { lease };
  const lastSeq = await engine.streams.write(id, texts, now);
  streamed(engine, id, lastSeq);
  return { lease, lastSeq };
}

/** Publishes `task.streamed`: readers on any process look for the new chunks. */
function streamed(engine: ProgressRoles, taskId: string, lastSeq: number): void {
  engine.emit('task.streamed', () => ({ taskId, lastSeq }));
}

/**
 * The progress and stream of one attempt of an in-process handler (`ctx.progress`,
 * `ctx.stream`). Chunks go straight to the task's stream. Progress is published at once and
 * stored with at most one backend write in flight: values reported meanwhile are coalesced,
 * the last one written next, so a handler that reports on every token costs one write per
 * round trip rather than one per call. The write keeps the lease's expiry where the attempt's
 * deadline has it. Once the attempt is over (answered, timed out, cancelled) reports are
 * dropped: nobody follows that attempt any more.
 */
export class AttemptReporter {
  readonly #engine: ProgressRoles;
  readonly #entry: InFlight;
  #pending: TaskProgress | undefined;
  /** The write in flight, which goes on with the pending value when there is one. */
  #writing: Promise<void> | undefined;
  /** Chunks waiting for the shared store, and the append in flight. */
  #chunks: string[] = [];
  #appending: Promise<void> | undefined;

  constructor(engine: ProgressRoles, entry: InFlight) {
    this.#engine = engine;
    this.#entry = entry;
  }

  /** Checks and reports a progress value. @throws `invalid_request`, `payload_too_large`. */
  progress(value: unknown): void {
    const progress = progressOf(value, encodeProgress(value, 'progress'), this.#engine.now());
    if (!this.#live()) return;
    announce(this.#engine, this.#entry.task, progress);
    this.#pending = progress;
    this.#writing ??= this.#write();
  }

  /** Checks a chunk and appends it to the task's stream. @throws `invalid_request`, `payload_too_large`. */
  stream(chunk: unknown): void {
    const engine = this.#engine;
    const streams = engine.streams;
    const text = streams.encode(chunk);
    if (!this.#live()) return;
    const id = this.#entry.task.id;
    if (streams.shared === undefined) {
      streamed(engine, id, streams.append(id, [text], engine.now()));
      return;
    }
    // A shared store is written with one append in flight, the chunks in order.
    this.#chunks.push(text);
    this.#appending ??= this.#append();
  }

  /**
   * Settles once the progress and chunks reported so far are stored, or `undefined` when
   * they already are: the runner waits for it before it answers the attempt, so that the
   * last value reported is the one the task keeps, and a reader gets every chunk before the
   * task's end.
   */
  flushed(): Promise<void> | undefined {
    const writing = this.#writing;
    const appending = this.#appending;
    if (writing === undefined) return appending;
    return appending === undefined ? writing : Promise.all([writing, appending]).then(() => {});
  }

  async #append(): Promise<void> {
    const engine = this.#engine;
    const id = this.#entry.task.id;
    // One turn first, so that `#appending` is set before this can end and clear it.
    await Promise.resolve();
    try {
      while (this.#chunks.length > 0 && this.#live()) {
        const texts = this.#chunks.splice(0, this.#chunks.length);
        streamed(engine, id, await engine.streams.write(id, texts, engine.now()));
      }
    } catch (error) {
      engine.onError(error);
    } finally {
      this.#chunks = [];
      this.#appending = undefined;
    }
  }

  #live(): boolean {
    const entry = this.#entry;
    return !entry.abandoned && !entry.settled && this.#engine.book.current(entry);
  }

  async #write(): Promise<void> {
    const engine = this.#engine;
    const entry = this.#entry;
    const backend = engine.backend;
    // One turn first, so that `#writing` is set before this can end and clear it.
    await Promise.resolve();
    try {
      for (let p = this.#pending; p !== undefined && this.#live(); p = this.#pending) {
        this.#pending = undefined;
        if (backend.progress === undefined) break;
        const now = engine.now();
        await backend.progress(
          entry.task.id,
          entry.token,
          p,
          Math.max(1, entry.expiresAt - now),
          now,
        );
      }
    } catch (error) {
      // The lease ended meanwhile (expired, cancelled): the report has no attempt to go to.
      if (!isSwitchboardError(error, 'conflict')) engine.onError(error);
    } finally {
      this.#pending = undefined;
      this.#writing = undefined;
    }
  }
}
