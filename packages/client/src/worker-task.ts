import {
  MAX_TEXT_LENGTH,
  SwitchboardError,
  type TaskLease,
  type TaskSpan,
  type WorkerTelemetry,
} from '@switchboard/core';
import type { AnswerQueue } from './answers.js';
import type { AnswerInput, SwitchboardClient } from './client.js';
import { ProgressReporter } from './progress-reporter.js';
import { type Backoff, classify, retryDelay } from './retry.js';

/** What a handler gets beside the payload: which task it runs, and when to stop. */
export interface TaskContext {
  readonly taskId: string;
  /** 1 on the first run of the task, 2 on its first retry, and so on. */
  readonly attempt: number;
  readonly capability: string;
  /**
   * Aborted when the handler should stop: the task was cancelled or its lease went to
   * another agent (seen at the next extension), the lease expired before it could be
   * extended, or the worker closed without draining. `signal.reason` is a
   * `SwitchboardError` whose code says which: `cancelled`, `conflict`, `expired`, `unavailable`.
   */
  readonly signal: AbortSignal;
  /**
   * Moves the lease's expiry to `ms` from now, for a step known to take long. The worker
   * extends leases by itself; this is only needed to extend by more than it would.
   * Resolves to the new expiry (ms since the epoch, by the server's clock).
   */
  extend(ms: number): Promise<number>;
  /**
   * Reports the task's progress: a number or a small JSON value (at most 4 KiB of JSON). The
   * last value is on the task's view, and followers get a `task.progress` event. Sent with
   * at most one request in flight; values reported meanwhile are coalesced (the last wins).
   *
   * @throws SwitchboardError `invalid_request` (not JSON), `payload_too_large`.
   */
  progress(value: unknown): void;
  /**
   * Appends a chunk of partial output (an LLM token, a log line: any JSON value) to the
   * task's stream, which clients read as it is produced. Chunks reported while a request is
   * in flight go together in the next one, in order. The answer is sent after the chunks.
   *
   * @throws SwitchboardError `invalid_request` (not JSON), `payload_too_large` (over 64 KiB).
   */
  stream(chunk: unknown): void;
  /**
   * The W3C trace context of this run, when the task carries one: the worker's own span with
   * a `telemetry`, else the lease's. A handler passes it to its own tracer (or to the next
   * service, as a `traceparent` header) to continue the task's trace.
   */
  readonly traceparent?: string;
  readonly tracestate?: string;
}

/** The work of a worker: the task's payload in, the task's result out. A throw fails it. */
export type TaskHandler<P = unknown, R = unknown> = (
  payload: P,
  ctx: TaskContext,
) => R | Promise<R>;

/** What a running task needs of its worker. */
export interface TaskRunSettings {
  readonly client: SwitchboardClient;
  /** Where the task's completion or failure goes, to be sent in a batch. */
  readonly answers: AnswerQueue;
  readonly handler: TaskHandler<never, unknown>;
  /** How far each extension moves the expiry; the lease's own length when undefined. */
  readonly extendMs: number | undefined;
  readonly backoff: Required<Backoff>;
  /** Makes a span for each run, when the worker traces. */
  readonly telemetry: WorkerTelemetry | undefined;
  /** The worker's agent id, for the spans. */
  agentId(): string | undefined;
  report(error: unknown, taskId: string): void;
}

// An extension below this would only flood the server; a lease that short is extended
// this far instead.
const MIN_EXTEND_MS = 1000;
const MIN_RETRY_MS = 10;

/**
 * One leased task from its lease to its answer: runs the handler, keeps the lease alive by
 * extending it at half its remaining time, and hands the completion or failure to the
 * worker's answer queue, which retries it through a restart of the server until the server
 * takes it or says the lease is gone.
 */
export class RunningTask {
  /** Settles (never rejects) once the task is answered or given up. */
  readonly done: Promise<void>;
  readonly #lease: TaskLease;
  readonly #settings: TaskRunSettings;
  readonly #controller = new AbortController();
  readonly #extendMs: number;
  /** When the lease expires, on this process's clock. */
  #expiresAt: number;
  #extendTimer: ReturnType<typeof setTimeout> | undefined;
  #expiryTimer: ReturnType<typeof setTimeout> | undefined;
  #extendFailures = 0;
  /** Set once the server said the lease is no longer this worker's, or the worker let it go. */
  #over = false;
  /** Set once the handler returned or threw: the lease needs no extension any more. */
  #handled = false;
  readonly #reporter: ProgressReporter;

  constructor(lease: TaskLease, settings: TaskRunSettings) {
    this.#lease = lease;
    this.#settings = settings;
    // The server's clock until the first extension; this one's from then on.
    this.#expiresAt = lease.leaseExpiresAt;
    this.#extendMs =
      settings.extendMs ?? Math.max(MIN_EXTEND_MS, lease.leaseExpiresAt - Date.now());
    this.#reporter = new ProgressReporter({
      send: (body) => settings.client.progress(lease.id, lease.leaseToken, body),
      backoff: settings.backoff,
      lost: (error) => this.#end(lostReason(this.id, error)),
      report: (error) => settings.report(error, this.id),
    });
    this.#schedule(this.#untilExtension());
    this.done = this.#run();
  }

  get id(): string {
    return this.#lease.id;
  }

  /**
   * Lets the task go without answering (the worker is closing without draining and leaves,
   * which puts the lease back to the queue): the handler's signal aborts and its outcome is
   * dropped.
   */
  release(): void {
    this.#end(new SwitchboardError('unavailable', 'the worker closed without draining'));
  }

  async #run(): Promise<void> {
    const lease = this.#lease;
    const settings = this.#settings;
    const span = settings.telemetry?.process(lease, settings.agentId());
    const ctx: TaskContext = {
      taskId: lease.id,
      attempt: lease.attempt,
      capability: lease.capability,
      signal: this.#controller.signal,
      extend: (ms) => this.#extend(ms, true),
      progress: (value) => this.#reporter.progress(value),
      stream: (chunk) => this.#reporter.stream(chunk),
      ...traceOf(span?.traceparent === undefined ? lease : span),
    };
    const call = (payload: never) => settings.handler(payload, ctx);
    let outcome: { ok: true; value: unknown } | { ok: false; error: unknown };
    try {
      // Through a promise, so that a handler that throws before it awaits anything fails the
      // task like one that rejects.
      const value = await Promise.resolve(lease.payload as never).then(
        span === undefined ? call : (payload) => span.run(() => call(payload)),
      );
      outcome = { ok: true, value };
    } catch (error) {
      outcome = { ok: false, error };
    }
    this.#handled = true;
    this.#clearTimers();
    if (span !== undefined) endSpan(span, outcome, this.#over);
    // The server gave the task to another agent, or it was cancelled: an answer would only
    // get a 409.
    if (this.#over) return;
    // Readers of the task's stream get every chunk before they learn the task ended.
    await this.#reporter.flushed();
    this.#reporter.close();
    if (this.#over) return;
    const { id: taskId, leaseToken } = this.#lease;
    const answer: AnswerInput = outcome.ok
      ? { taskId, leaseToken, result: outcome.value }
      : { taskId, leaseToken, error: failureOf(outcome.error) };
    await this.#settings.answers.push(answer);
    this.#over = true;
  }

  /** The time until the next extension: half of what is left of the lease. */
  #untilExtension(): number {
    return Math.max(0, (this.#expiresAt - Date.now()) / 2);
  }

  #schedule(delay: number): void {
    // An extension answered after the handler ended schedules nothing more.
    if (this.#over || this.#handled) return;
    clearTimeout(this.#extendTimer);
    clearTimeout(this.#expiryTimer);
    this.#extendTimer = setTimeout(() => {
      this.#extend(this.#extendMs, false).catch(() => {
        // Reported and acted on inside #extend; a background extension has no caller to tell.
      });
    }, delay);
    // At the expiry, the server expires the lease (give or take the clocks' skew): the
    // handler should stop, since the task will run again elsewhere. Its answer is still
    // sent, in case the server had not expired it yet. Past the expiry, at once.
    this.#expiryTimer = setTimeout(
      () => this.#abort(new SwitchboardError('expired', `the lease of task ${this.id} expired`)),
      Math.max(0, this.#expiresAt - Date.now()),
    );
  }

  async #extend(ms: number, asked: boolean): Promise<number> {
    if (this.#over) {
      throw new SwitchboardError('conflict', `task ${this.id} is no longer leased by this worker`);
    }
    const sentAt = Date.now();
    try {
      const lease = await this.#settings.client.extend(this.id, this.#lease.leaseToken, ms);
      this.#extendFailures = 0;
      // The server moved the expiry to `ms` from when it got the call, which is after
      // `sentAt`: reckoned on this clock, the lease lasts at least this long whatever the
      // skew between the two clocks.
      this.#expiresAt = sentAt + ms;
      this.#schedule(this.#untilExtension());
      return lease.leaseExpiresAt;
    } catch (error) {
      const kind = classify(error);
      if (kind === 'gone' || kind === 'conflict') {
        this.#end(lostReason(this.id, error));
      } else {
        this.#settings.report(error, this.id);
        // Try again soon, and before the lease runs out while it has not; 10 ms at the least,
        // so that the tries near the expiry do not spin.
        const delay = retryDelay(this.#extendFailures++, this.#settings.backoff, error);
        const left = this.#untilExtension();
        this.#schedule(left > 0 ? Math.min(delay, Math.max(left, MIN_RETRY_MS)) : delay);
      }
      if (asked) throw error;
      return this.#expiresAt;
    }
  }

  /** The lease is no longer this worker's: stop the handler, and answer nothing. */
  #end(reason: SwitchboardError): void {
    if (this.#over) return;
    this.#over = true;
    this.#reporter.close();
    this.#clearTimers();
    this.#abort(reason);
  }

  #abort(reason: SwitchboardError): void {
    if (!this.#controller.signal.aborted) this.#controller.abort(reason);
  }

  #clearTimers(): void {
    clearTimeout(this.#extendTimer);
    clearTimeout(this.#expiryTimer);
  }
}

/** The trace context fields of a handler's context: none when the task carries none. */
function traceOf(trace: { traceparent?: string; tracestate?: string }): {
  traceparent?: string;
  tracestate?: string;
} {
  if (trace.traceparent === undefined) return {};
  if (trace.tracestate === undefined) return { traceparent: trace.traceparent };
  return { traceparent: trace.traceparent, tracestate: trace.tracestate };
}

/** Ends a run's span: completed, failed (the server decides on a retry), or lost with its lease. */
function endSpan(
  span: TaskSpan,
  outcome: { ok: true } | { ok: false; error: unknown },
  lost: boolean,
): void {
  if (lost) span.end('lost');
  else if (outcome.ok) span.end('completed');
  else span.end('failed', failureOf(outcome.error));
}

/** The abort reason for a lease the server no longer holds for this worker. */
function lostReason(id: string, error: unknown): SwitchboardError {
  const server = (error as SwitchboardError).details as { details?: { status?: unknown } };
  if (server?.details?.status === 'cancelled') {
    return new SwitchboardError('cancelled', `task ${id} was cancelled`, { cause: error });
  }
  return new SwitchboardError('conflict', `the lease of task ${id} went to another agent`, {
    cause: error,
  });
}

/** The failure a thrown value reports: its message, retryable unless it says `retryable: false`. */
function failureOf(error: unknown): { message: string; retryable: boolean } {
  const text = error instanceof Error ? error.message : String(error);
  // The server refuses a longer message, and with it the failure: the task would then wait
  // for its lease to expire instead of being retried at once.
  const message = text.length > MAX_TEXT_LENGTH ? `${text.slice(0, MAX_TEXT_LENGTH - 1)}…` : text;
  const retryable = (error as { retryable?: unknown } | null)?.retryable !== false;
  return { message: message === '' ? 'the handler failed' : message, retryable };
}
