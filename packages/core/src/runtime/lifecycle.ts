import { SwitchboardError } from '../errors.js';
import type { BuiltEngine } from './create-engine.js';
import type { Engine } from './engine.js';
import type { ShutdownOptions } from './options.js';
import type { InFlight } from './pool/pool-member.js';

/**
 * What {@link Switchboard.shutdown} did with the tasks it held, for a final log line (the
 * server prints one) or an embedder's own report. Tasks left queued are the backend's from
 * then on: a durable backend (journal, Redis) keeps them for the next start, the memory
 * backend drops them with the process.
 *
 * @example
 * ```ts
 * const { finished, queued, durable } = await sb.shutdown()
 * console.log(`${finished} finished, ${queued} queued ${durable ? 'kept' : 'dropped'}`)
 * ```
 */
export interface ShutdownSummary {
  /** Tasks in flight (leased to an agent) when shutdown began that ended during the drain. */
  readonly finished: number;
  /**
   * Tasks still in flight when the drain ended (its timeout, or `drain: false`): their
   * leases were released, so they are queued again, their attempt counted.
   */
  readonly released: number;
  /**
   * Tasks left queued or delayed in the backend, the released ones included (on a backend
   * several processes share, the shared queue's). Undefined when the backend could not say.
   */
  readonly queued: number | undefined;
  /** The backend's `durable` flag: true, queued tasks are kept; false, they are dropped. */
  readonly durable: boolean;
  /** The backend's name (`memory`, `journal`, `redis`, or a plugin's). */
  readonly backend: string;
}

/** What a shutdown stops besides the engine's own parts: agents and plugins. */
export type StopRest = () => Promise<void>;

/** What a start runs besides the engine's own parts. */
export interface StartSteps {
  /** Opens the backend and the submit gate (before anything reads the queue). */
  readonly open: () => Promise<void>;
  /** Runs the plugins' `start` hooks (once the agents run, before dispatch begins). */
  readonly plugins: () => Promise<void>;
}

/**
 * The start sequence of a Switchboard: the backend opens, the cluster link and directory
 * start (so that this process hears the others before it leases), the lease sweep, the
 * dispatcher's subscription to the backend and the health monitor start, then the agents and
 * the plugins; dispatch begins last, once there are agents to dispatch to.
 */
export async function startEngine(engine: BuiltEngine, steps: StartSteps): Promise<void> {
  await steps.open();
  engine.link?.start();
  await engine.cluster?.start();
  engine.running = true;
  engine.book.start();
  engine.dispatcher.start();
  engine.monitor.start();
  await engine.pool.startAll();
  await steps.plugins();
  await engine.dispatcher.catchUp();
}

/** How long a drain waits at most when `timeoutMs` is not given. */
const DEFAULT_DRAIN_TIMEOUT_MS = 30_000;

/**
 * The shutdown sequence of a Switchboard whose intake is already closed. Nothing new is
 * leased from its start: a queued task would only be leased to be cut short, and a remote
 * agent may not be there to lease it (the server refuses leases while it drains). The tasks
 * in flight finish, up to `timeoutMs`; whatever still holds a lease then is released, the
 * agents and plugins stop, waiters of unfinished tasks get `unavailable`, and the backend
 * closes.
 */
export async function shutDown(
  engine: Engine,
  options: ShutdownOptions,
  started: boolean,
  stopRest: StopRest,
): Promise<ShutdownSummary> {
  const message = 'Switchboard shut down';
  const error = { message, code: 'unavailable', retryable: true };
  // Tasks the dispatcher holds for want of an agent were never given to one: back to the queue
  // now, while their leases are still fresh (nothing renews them once the dispatcher stops).
  const held = engine.dispatcher.stop();
  await engine.book.release(held, error).catch((e: unknown) => engine.onError(e));
  const inFlight = [...engine.book.inflight.values()];
  if ((options.drain ?? true) && started) {
    await inFlightEnded(engine, inFlight, options.timeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS);
  }
  const finished = inFlight.filter((entry) => !engine.book.current(entry)).length;
  engine.running = false;
  // Its remote agents live on through the other processes: nothing of this is announced.
  engine.cluster?.stop();
  engine.link?.stop();
  engine.failures.stop();
  engine.remotes.stop();
  engine.book.stop();
  engine.monitor.stop();
  const leases = [...engine.book.inflight.values()];
  await engine.book.release(leases, error).catch((e: unknown) => engine.onError(e));
  // Its leases are back in the queue: no other process need wait to claim them.
  await engine.cluster?.leave();
  await stopRest();
  engine.tracker.rejectAll(new SwitchboardError('unavailable', `${message} before the task ended`));
  const queued = await engine.backend.stats().then(
    // `depth` counts every queued task, the delayed ones included.
    (stats) => stats.depth,
    (e: unknown) => {
      engine.onError(e);
      return undefined;
    },
  );
  await engine.backend.close();
  const { durable, name } = engine.backend;
  return { finished, released: leases.length, queued, durable, backend: name };
}

/**
 * Resolves once none of `entries` holds its lease any more (completed, failed, expired, its
 * agent failed over), or after `timeoutMs`. Re-checked whenever a task event is published,
 * and at least every 50 ms (a remote agent's completion may publish nothing here).
 */
async function inFlightEnded(
  engine: Engine,
  entries: readonly InFlight[],
  timeoutMs: number,
): Promise<void> {
  const deadline = engine.now() + timeoutMs;
  let left = entries.filter((entry) => engine.book.current(entry));
  while (left.length > 0) {
    const wait = deadline - engine.now();
    if (wait <= 0) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        off();
        resolve();
      };
      const timer = setTimeout(done, Math.min(wait, 50));
      const off = engine.events.subscribe('task.*', done);
    });
    left = left.filter((entry) => engine.book.current(entry));
  }
}
