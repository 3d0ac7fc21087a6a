import { SwitchboardError } from '@switchboard/core';

/**
 * What an error of a call to the server means to a worker: `transient` (the server is
 * restarting, draining, overloaded or out of reach: try again later), `gone` (404: the server
 * no longer knows the agent or the task), `conflict` (409: the lease moved on, or the task was
 * cancelled), `fatal` (anything else: a bad token, a bad request; retrying will not help).
 */
export type Failure = 'transient' | 'gone' | 'conflict' | 'fatal';

/** The HTTP status a client error carries, if it came from an answer of the server. */
function statusOf(error: unknown): number | undefined {
  if (!(error instanceof SwitchboardError)) return undefined;
  const status = (error.details as { status?: unknown } | undefined)?.status;
  return typeof status === 'number' ? status : undefined;
}

/** Reads an error of a call to the server, by its status and never by its message. */
export function classify(error: unknown): Failure {
  return classifyStatus(statusOf(error));
}

/** Reads an HTTP status as {@link classify} does; `undefined` for a call that got no answer. */
export function classifyStatus(status: number | undefined): Failure {
  // No status: fetch failed (connection refused or reset, DNS) or the body was not JSON (a
  // proxy's error page while the server restarts). Both pass once the server is back.
  if (status === undefined) return 'transient';
  if (status === 404) return 'gone';
  if (status === 409) return 'conflict';
  if (status >= 500 || status === 429 || status === 408) return 'transient';
  return 'fatal';
}

/** How long a worker waits before trying again after a transient failure. */
export interface Backoff {
  /** The first delay, in ms. Default 100. */
  initialMs?: number;
  /** The longest delay, in ms. Default 5000. */
  maxMs?: number;
}

/**
 * The delay before try `attempt` (0 for the first retry): exponential up to `maxMs`, with
 * half of it random, so that the workers of a restarted server do not all come back at the
 * same instant. A 429's `retryAfterMs` is waited at least.
 */
export function retryDelay(
  attempt: number,
  backoff: Required<Backoff>,
  error?: unknown,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(backoff.maxMs, backoff.initialMs * 2 ** Math.min(attempt, 30));
  const delay = ceiling / 2 + (random() * ceiling) / 2;
  const details = error instanceof SwitchboardError ? error.details : undefined;
  const after = (details as { details?: { retryAfterMs?: unknown } } | undefined)?.details
    ?.retryAfterMs;
  return typeof after === 'number' && after > delay ? after : delay;
}

/** Resolves after `ms`, or at once when `signal` aborts; never rejects. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) {
      resolve();
      return;
    }
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
