import process from 'node:process';
import type { ShutdownSummary } from '@switchboard/core';
import type { ServerLogger } from './log.js';

/**
 * Repeats of a signal closer together than this are one request to stop. A shell whose
 * `sh -c` execs its command (bash, unlike dash) leaves npm as the server's parent: one
 * Ctrl-C then reaches the server twice, from the terminal and forwarded by npm, within
 * milliseconds. A person pressing Ctrl-C again to hurry the drain is slower than this.
 */
export const REPEAT_WINDOW_MS = 300;

/** How often the server looks whether its parent is still there (see `parentPid`). */
const PARENT_POLL_MS = 200;

/** How the serving process stops, besides SIGTERM and SIGINT. */
export interface StopOptions {
  /**
   * Drain and exit once this process is no longer the server's parent. `npm start` runs the
   * server under `sh -c`, and a supervisor's SIGTERM to npm kills that shell without
   * reaching the server: reparented, it would serve on as an orphan. Leave it unset when
   * the server should outlive whoever started it (`nohup`, a daemonizing wrapper).
   */
  readonly parentPid?: number;
}

/** What {@link stopOnSignals} needs of a running server. */
export interface Stoppable {
  /** Drains and resolves once everything is closed; `why` begins the line that says so. */
  stop(why: string): Promise<unknown>;
  /** Where the tasks left queued stay, for the line of a forced exit: `memory`, `journal:<dir>`. */
  readonly where: string;
  /** Whether the backend keeps them. */
  readonly durable: boolean;
}

/**
 * Stops `server` on SIGTERM or SIGINT (and when its parent goes, with `parentPid`): the
 * server logs that the drain began and what became of the tasks, and the process exits 0.
 * A second signal during the drain exits at once (status 1), saying so.
 */
export function stopOnSignals(server: Stoppable, options: StopOptions, log: ServerLogger): void {
  let since: number | undefined;
  const begin = (why: string) => {
    since = Date.now();
    server.stop(why).then(
      () => process.exit(0),
      (err: unknown) => {
        log.fatal({ error: err }, `shutdown failed: ${(err as Error)?.message ?? String(err)}`);
        process.exit(1);
      },
    );
  };
  const onSignal = (signal: string) => {
    if (since === undefined) return begin(signal);
    if (Date.now() - since < REPEAT_WINDOW_MS) return;
    const left = server.durable
      ? `tasks in flight and queued stay in ${server.where}`
      : `tasks in flight and queued are dropped (${server.where} backend)`;
    log.info({ signal }, `second ${signal} during the drain, exiting at once; ${left}`);
    process.exit(1);
  };
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));
  const parent = options.parentPid;
  if (parent === undefined) return;
  const poll = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(poll);
    if (since === undefined) begin(`parent process ${parent} exited`);
  }, PARENT_POLL_MS);
  // The poll alone must not keep a stopping process alive.
  poll.unref();
}

/**
 * The message of the last line a stopped server logs: what finished, what was cut off by the
 * drain timeout, and what is left queued, dropped on a memory backend or kept on a durable one.
 *
 * @example
 * ```ts
 * stoppedLine({ finished: 3, released: 0, queued: 120, durable: false, backend: 'memory' }, 'memory', 10_000)
 * // 'stopped; 3 in flight finished, 120 queued dropped (memory backend)'
 * ```
 */
export function stoppedLine(
  summary: ShutdownSummary,
  where: string,
  drainTimeoutMs: number,
): string {
  const parts = [`${summary.finished} in flight finished`];
  if (summary.released > 0) {
    parts.push(`${summary.released} cut off by the ${drainTimeoutMs} ms drain timeout`);
  }
  const queued = summary.queued === undefined ? 'an unknown number' : String(summary.queued);
  parts.push(
    summary.durable
      ? `${queued} queued kept in ${where}`
      : `${queued} queued dropped (${summary.backend} backend)`,
  );
  return `stopped; ${parts.join(', ')}`;
}
