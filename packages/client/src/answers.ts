import { type AnswerOutcome, SwitchboardError } from '@switchboard/core';
import type { AnswerInput, SwitchboardClient } from './client.js';
import { type Backoff, classify, classifyStatus, retryDelay, sleep } from './retry.js';

/** An answer on its way to the server, and how to tell its task that it arrived. */
export interface QueuedAnswer {
  readonly answer: AnswerInput;
  /** The answer's size as JSON, so that a batch stays under the server's body limit. */
  readonly bytes: number;
  readonly settle: () => void;
}

/** What the answer queue needs of its worker. */
export interface AnswerQueueSettings {
  readonly client: SwitchboardClient;
  readonly backoff: Required<Backoff>;
  /** Aborted when the worker closes without draining: answers are no longer retried. */
  readonly stop: AbortSignal;
  report(error: unknown, taskId?: string): void;
  /** Called when an answer is queued: the worker's loop may take it with its next lease. */
  queued(): void;
}

// The server takes at most this many answers in one request.
const MAX_ANSWERS = 1000;
// A batch's share of the server's default body limit (1 MiB), leaving room for the rest of
// the request; halved each time a server with a lower limit refuses a batch as too large.
const INITIAL_BUDGET = 512 * 1024;
const MIN_BUDGET = 1024;

/**
 * The answers (completions and failures) a worker owes the server, sent in batches: along
 * with the worker's next lease request when it is about to make one (one request then both
 * answers tasks and leases the next), or else by `POST /v1/tasks/answers`, one request at a
 * time with whatever piled up meanwhile. An answer is retried through a restart of the
 * server until the server takes it or says its lease is gone (404 or 409). One too large for
 * a batch, and every answer of a batch the server refuses as a whole (a server with a lower
 * body limit, or one without the batch endpoint), goes alone by `/complete` or `/fail`.
 */
export class AnswerQueue {
  readonly #settings: AnswerQueueSettings;
  #waiting: QueuedAnswer[] = [];
  #budget = INITIAL_BUDGET;
  /** True while a batch is on its way: the next waits for its outcome. */
  #sending = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** Until when (this clock) batches wait after a failure that may pass. */
  #backoffUntil = 0;
  #failures = 0;
  /** Cleared when the server ignores the answers of a lease request (it predates them). */
  #alongLeases = true;
  /** Cleared when the server has no batch endpoint: answers then go alone. */
  #batches = true;

  constructor(settings: AnswerQueueSettings) {
    this.#settings = settings;
  }

  /** How many answers wait to be sent. */
  get length(): number {
    return this.#waiting.length;
  }

  /** Queues an answer; resolves (never rejects) once the server took it or it was given up. */
  push(answer: AnswerInput): Promise<void> {
    return new Promise((settle) => {
      const queued = { ...sendable(answer), settle };
      if (!this.#batches || queued.bytes > this.#budget) {
        void this.#alone(queued);
        return;
      }
      this.#waiting.push(queued);
      this.#settings.queued();
      this.#schedule();
    });
  }

  /**
   * Takes the answers to send along with a lease request: as many as fit one batch, none
   * after a failure while the queue backs off, or when the server ignores them.
   */
  takeForLease(): QueuedAnswer[] {
    if (!this.#alongLeases || Date.now() < this.#backoffUntil) return [];
    return this.#take();
  }

  /**
   * Settles answers sent along with a lease request by the outcomes of its answer. Without
   * outcomes (a server that predates them dropped the answers) they go back to the queue,
   * and later answers are no longer sent along with leases.
   */
  settleLease(batch: QueuedAnswer[], outcomes: AnswerOutcome[] | undefined): void {
    if (batch.length === 0) return;
    if (outcomes === undefined) {
      this.#alongLeases = false;
      this.requeue(batch);
      return;
    }
    this.#settle(batch, outcomes);
  }

  /**
   * A lease request that carried answers was refused for a reason that will not pass (a
   * 413, a 400): a 413 shrinks the batches; anything else stops sending answers along with
   * leases, so that the lease requests themselves go through again.
   */
  leaseRefused(error: unknown): void {
    if ((error as SwitchboardError).code === 'payload_too_large') this.#shrink();
    else this.#alongLeases = false;
  }

  /**
   * Puts back answers whose request failed: whether the server applied them is unknown, and
   * one sent again after it did is told 409, which settles it.
   */
  requeue(batch: QueuedAnswer[]): void {
    if (batch.length === 0) return;
    this.#waiting = batch.concat(this.#waiting);
    this.#schedule();
  }

  #take(): QueuedAnswer[] {
    let bytes = 0;
    let n = 0;
    while (n < this.#waiting.length && n < MAX_ANSWERS) {
      bytes += this.#waiting[n]!.bytes;
      if (n > 0 && bytes > this.#budget) break;
      n++;
    }
    return this.#waiting.splice(0, n);
  }

  #schedule(): void {
    if (this.#timer !== undefined || this.#sending || this.#waiting.length === 0) return;
    // A turn of the event loop at least, so that the answers of tasks that end together, and
    // a lease request the worker is about to make, take them in one request.
    const delay = Math.max(0, this.#backoffUntil - Date.now());
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#flush();
    }, delay);
  }

  async #flush(): Promise<void> {
    const batch = this.#take();
    if (batch.length === 0) return;
    this.#sending = true;
    try {
      const { answers } = await this.#settings.client.answer(batch.map((q) => q.answer));
      this.#failures = 0;
      this.#backoffUntil = 0;
      this.#settle(batch, answers);
    } catch (error) {
      this.#refused(batch, error);
    } finally {
      this.#sending = false;
      this.#schedule();
    }
  }

  #settle(batch: QueuedAnswer[], outcomes: AnswerOutcome[]): void {
    const retry: QueuedAnswer[] = [];
    batch.forEach((queued, i) => {
      const outcome = outcomes[i];
      if (outcome === undefined || !('error' in outcome)) {
        queued.settle();
        return;
      }
      const { code, message, status } = outcome.error;
      const error = new SwitchboardError(code, message, { details: { status } });
      const kind = classifyStatus(status);
      // A 404 or 409: the task was cancelled, or its lease expired and went on, or this
      // answer was applied before; nothing is left to answer.
      if (kind === 'gone' || kind === 'conflict') queued.settle();
      else if (kind === 'transient' && !this.#settings.stop.aborted) retry.push(queued);
      else {
        this.#settings.report(error, queued.answer.taskId);
        queued.settle();
      }
    });
    if (retry.length > 0) {
      this.#backOff();
      this.requeue(retry);
    }
  }

  /** A batch request failed as a whole. */
  #refused(batch: QueuedAnswer[], error: unknown): void {
    const kind = classify(error);
    if (kind === 'transient') {
      this.#settings.report(error);
      if (this.#settings.stop.aborted) for (const queued of batch) queued.settle();
      else {
        this.#backOff();
        this.requeue(batch);
      }
      return;
    }
    // Refused for the batch, not for an answer: too large for this server's body limit, no
    // batch endpoint (404), or one bad answer (400). Each goes alone, where a bad one is
    // refused alone.
    if ((error as SwitchboardError).code === 'payload_too_large') this.#shrink();
    if (kind === 'gone') this.#batches = false;
    for (const queued of batch) void this.#alone(queued);
  }

  #shrink(): void {
    this.#budget = Math.max(MIN_BUDGET, Math.floor(this.#budget / 2));
  }

  #backOff(): void {
    this.#backoffUntil = Date.now() + retryDelay(this.#failures++, this.#settings.backoff);
  }

  /** Sends one answer by itself, retrying what may pass. */
  async #alone(queued: QueuedAnswer): Promise<void> {
    const { client, stop, backoff, report } = this.#settings;
    const { answer } = queued;
    for (let attempt = 0; ; attempt++) {
      try {
        if ('error' in answer) await client.fail(answer.taskId, answer.leaseToken, answer.error);
        else await client.complete(answer.taskId, answer.leaseToken, answer.result);
        break;
      } catch (error) {
        const kind = classify(error);
        if (kind === 'gone' || kind === 'conflict') break;
        report(error, answer.taskId);
        if (kind === 'fatal' || stop.aborted) break;
        await sleep(retryDelay(attempt, backoff, error), stop);
      }
    }
    queued.settle();
  }
}

/**
 * The answer as it can be sent, with its size as JSON. A result JSON cannot carry (a BigInt,
 * a cycle) fails the task instead, not retryable: it would fail the same way every time.
 */
function sendable(answer: AnswerInput): { answer: AnswerInput; bytes: number } {
  try {
    return { answer, bytes: JSON.stringify(answer).length };
  } catch (error) {
    const failed: AnswerInput = {
      taskId: answer.taskId,
      leaseToken: answer.leaseToken,
      error: {
        message: `the result cannot be sent as JSON: ${(error as Error).message}`,
        retryable: false,
      },
    };
    return { answer: failed, bytes: JSON.stringify(failed).length };
  }
}
