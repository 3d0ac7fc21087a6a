import {
  type AgentRegisterInput,
  type AgentView,
  checkKnownKeys,
  SwitchboardError,
  type TaskLease,
  type WorkerTelemetry,
} from '@switchboard/core';
import { AnswerQueue } from './answers.js';
import { createClient } from './client.js';
import { type Backoff, classify, retryDelay, sleep } from './retry.js';
import { RunningTask, type TaskHandler } from './worker-task.js';

export type { TaskContext, TaskHandler } from './worker-task.js';

/**
 * Where a worker is: `idle` until `run()`, `starting` while it registers, `running` while it
 * leases, `reconnecting` while the server is out of reach (it retries with backoff),
 * `closing` while it drains or releases its tasks, `closed` once it left.
 */
export type WorkerState = 'idle' | 'starting' | 'running' | 'reconnecting' | 'closing' | 'closed';

/** Options of {@link createWorker}. */
export interface WorkerOptions<P = unknown, R = unknown> {
  /** The server's base URL, e.g. `http://127.0.0.1:8787`. */
  url: string;
  /** A bearer token of the agent scope, when the server has auth on. */
  token?: string | undefined;
  /** The agent's name in the pool; the server names it after its id when left out. */
  name?: string;
  /** What the worker can do: task capabilities, `name` or `{ name, version }`. */
  capabilities: AgentRegisterInput['capabilities'];
  /** How many tasks run at once, at most, 1..100000. Default 1. */
  concurrency?: number;
  /** Runs one task: the payload in, the result out; a throw fails the task. */
  handler: TaskHandler<P, R>;
  /** Registration metadata, shown in the agent's view. */
  metadata?: Record<string, unknown>;
  /** The heartbeat interval; the one the server gives at registration by default. */
  heartbeatIntervalMs?: number;
  /** How long one lease poll waits for work, 0..30000 ms. Default 20000. */
  leaseWaitMs?: number;
  /**
   * How far each extension moves a lease's expiry, 1000..86400000 ms; the lease's own length
   * (the task's `timeoutMs`) by default, at least a second.
   */
  leaseExtendMs?: number;
  /** The delays between tries after a transient failure. */
  backoff?: Backoff;
  /**
   * How long a call to the server may wait for its answer (a lease poll: on top of its
   * `leaseWaitMs`) before it is given up and tried again. Default 30000.
   */
  requestTimeoutMs?: number;
  /** The fetch to use; the global one by default. */
  fetch?: typeof fetch;
  /**
   * Told of every error the worker survives: a failed call to the server (it retries), a
   * handler's answer that could not be sent. `taskId` names the task concerned, if any.
   * Default: `console.error`.
   */
  onError?: (error: unknown, taskId?: string) => void;
  /** Told of every change of {@link WorkerState}. */
  onStateChange?: (state: WorkerState) => void;
  /**
   * Traces each run as a child of the trace context its lease carries, e.g.
   * `otelWorkerTelemetry()` of `@switchboard/plugins/otel`. Without it, the handler still
   * gets the lease's `traceparent` in its context.
   */
  telemetry?: WorkerTelemetry;
}

/** Options of {@link Worker.close}. */
export interface CloseOptions {
  /**
   * `true` (the default): stop leasing, let the tasks in flight finish and answer them, then
   * leave. `false`: abort the handlers' signals and leave at once, which puts their tasks
   * back to the queue for another agent.
   */
  drain?: boolean;
}

/** A remote agent that runs a handler for the tasks it leases. */
export interface Worker {
  /** Where the worker is. */
  readonly state: WorkerState;
  /** The agent id the server gave it; undefined before it registered. */
  readonly agentId: string | undefined;
  /** How many tasks it holds now. */
  readonly running: number;
  /**
   * Registers and works until {@link close}; resolves once the worker left. Rejects only
   * when the first registration is refused for good (a bad token, bad capabilities).
   * Calling it again returns the same promise.
   */
  run(): Promise<void>;
  /** Stops the worker; resolves once it left. Safe to call more than once. */
  close(options?: CloseOptions): Promise<void>;
}

const KNOWN_OPTIONS = [
  'url',
  'token',
  'name',
  'capabilities',
  'concurrency',
  'handler',
  'metadata',
  'heartbeatIntervalMs',
  'leaseWaitMs',
  'leaseExtendMs',
  'backoff',
  'requestTimeoutMs',
  'fetch',
  'onError',
  'onStateChange',
  'telemetry',
];

// The server's bounds: a poll waits at most 30 s and takes at most 1000 tasks, and an agent
// runs at most 100000 at once.
const MAX_WAIT_MS = 30_000;
const MAX_LEASE = 1000;
const MAX_CONCURRENCY = 100_000;

/**
 * A remote worker: registers with the server, long-polls leases up to its free concurrency,
 * heartbeats, extends the leases of long tasks, completes or fails each, and survives the
 * server's restarts (it re-registers on 404 and retries with backoff on 503 and connection
 * errors). No promise of it rejects unhandled.
 *
 * @throws SwitchboardError `invalid_config` for a bad or unknown option.
 * @example
 * ```ts
 * const worker = createWorker({
 *   url: 'http://127.0.0.1:8787',
 *   capabilities: ['browser'],
 *   concurrency: 4,
 *   handler: async (payload: { url: string }, { signal }) => {
 *     const page = await fetch(payload.url, { signal });
 *     return { status: page.status };
 *   },
 * });
 * process.once('SIGTERM', () => void worker.close());
 * await worker.run();
 * ```
 */
export function createWorker<P = unknown, R = unknown>(options: WorkerOptions<P, R>): Worker {
  const o = checkOptions(options);
  const client = createClient({
    baseUrl: o.url,
    timeoutMs: o.requestTimeoutMs ?? 30_000,
    ...(o.token === undefined ? {} : { token: o.token }),
    ...(o.fetch === undefined ? {} : { fetch: o.fetch }),
  });
  const concurrency = o.concurrency ?? 1;
  const waitMs = o.leaseWaitMs ?? 20_000;
  const backoff: Required<Backoff> = {
    initialMs: o.backoff?.initialMs ?? 100,
    maxMs: o.backoff?.maxMs ?? 5000,
  };
  const tasks = new Map<string, RunningTask>();
  // Aborted by close(): ends sleeps, the open lease poll and waits for a free slot.
  const closing = new AbortController();
  // Aborted by close({ drain: false }): answers of tasks are no longer retried.
  const stop = new AbortController();
  let state: WorkerState = 'idle';
  let agent: AgentView | undefined;
  let registered = false;
  // The loop of run(); close() waits for it before leaving.
  let working: Promise<void> | undefined;
  let running: Promise<void> | undefined;
  let closed: Promise<void> | undefined;
  let poll: AbortController | undefined;
  let heartbeat: ReturnType<typeof setInterval> | undefined;
  let beating = false;
  let wake: (() => void) | undefined;

  const report = (error: unknown, taskId?: string) => {
    try {
      if (o.onError !== undefined) o.onError(error, taskId);
      else console.error('[switchboard] [worker]', taskId ?? '', error);
    } catch {
      // A throwing error listener must not take the worker down with it.
    }
  };
  const setState = (next: WorkerState) => {
    // Once closing, only closed follows: a call that fails meanwhile does not say reconnecting.
    if (state === next || state === 'closed' || (state === 'closing' && next !== 'closed')) return;
    state = next;
    try {
      o.onStateChange?.(next);
    } catch (error) {
      report(error);
    }
  };
  const answers = new AnswerQueue({
    client,
    backoff,
    stop: stop.signal,
    report,
    // A task's answer frees its slot for the next lease request, which takes the answer along.
    queued: () => wake?.(),
  });
  const settings = {
    client,
    answers,
    handler: o.handler as TaskHandler<never, unknown>,
    extendMs: o.leaseExtendMs,
    backoff,
    telemetry: o.telemetry,
    agentId: () => agent?.id,
    report,
  };

  /** Registers, retrying transient failures; throws a refusal only on the first try. */
  async function register(first: boolean): Promise<void> {
    for (let attempt = 0; !closing.signal.aborted; attempt++) {
      try {
        agent = await client.registerAgent({
          capabilities: o.capabilities,
          maxConcurrency: concurrency,
          ...(o.name === undefined ? {} : { name: o.name }),
          ...(o.metadata === undefined ? {} : { metadata: o.metadata }),
        });
        registered = true;
        setState('running');
        startHeartbeat(o.heartbeatIntervalMs ?? agent.heartbeatIntervalMs);
        return;
      } catch (error) {
        if (first && classify(error) === 'fatal') throw error;
        if (closing.signal.aborted) return;
        report(error);
        setState('reconnecting');
        await sleep(retryDelay(attempt, backoff, error), closing.signal);
      }
    }
  }

  function startHeartbeat(intervalMs: number): void {
    clearInterval(heartbeat);
    heartbeat = setInterval(() => {
      const id = agent?.id;
      if (beating || !registered || id === undefined) return;
      beating = true;
      client
        .heartbeat(id)
        .catch((error: unknown) => {
          if (classify(error) === 'gone') forgotten(id);
          else report(error);
        })
        .finally(() => {
          beating = false;
        });
    }, intervalMs);
  }

  /** The server no longer knows agent `id` (it failed it, or lost it): register again. */
  function forgotten(id: string): void {
    if (agent?.id !== id) return;
    registered = false;
    poll?.abort();
  }

  function start(lease: TaskLease): void {
    const task = new RunningTask(lease, settings);
    tasks.set(lease.id, task);
    void task.done.finally(() => {
      tasks.delete(lease.id);
      wake?.();
    });
  }

  /** Resolves when a task ends or the worker closes. */
  function slotFreed(): Promise<void> {
    return new Promise((resolve) => {
      wake = resolve;
      if (closing.signal.aborted) resolve();
    });
  }

  async function work(): Promise<void> {
    setState('starting');
    await register(true);
    let failures = 0;
    while (!closing.signal.aborted) {
      const id = agent?.id;
      if (!registered || id === undefined) {
        setState('starting');
        await register(false);
        continue;
      }
      // A task holds its slot until the server has its answer; those sent along with this
      // lease request free theirs for it, since the server applies them first.
      if (concurrency - tasks.size + answers.length <= 0) {
        await slotFreed();
        continue;
      }
      const along = answers.takeForLease();
      const free = concurrency - tasks.size + along.length;
      if (free <= 0) {
        // The answers wait out a backoff: their slots free once they are through.
        await slotFreed();
        continue;
      }
      poll = new AbortController();
      let leases: TaskLease[];
      try {
        const max = Math.min(free, MAX_LEASE);
        const request = { max, waitMs, signal: poll.signal };
        const answered = await client.lease(
          id,
          along.length === 0 ? request : { ...request, answers: along.map((q) => q.answer) },
        );
        answers.settleLease(along, answered.answers);
        leases = answered.tasks;
      } catch (error) {
        answers.requeue(along);
        if (closing.signal.aborted || !registered) continue;
        const kind = classify(error);
        // Refused because of the answers it carried (too large a body, a bad answer): they
        // go by themselves from now on, and the lease is asked for again without them.
        if (kind === 'fatal' && along.length > 0) {
          answers.leaseRefused(error);
          continue;
        }
        if (kind === 'gone') {
          forgotten(id);
          continue;
        }
        report(error);
        if (kind === 'transient') setState('reconnecting');
        await sleep(retryDelay(failures++, backoff, error), closing.signal);
        continue;
      }
      failures = 0;
      setState('running');
      for (const lease of leases) start(lease);
    }
  }

  async function leave(drain: boolean): Promise<void> {
    if (drain) await Promise.all([...tasks.values()].map((t) => t.done));
    else for (const task of tasks.values()) task.release();
    clearInterval(heartbeat);
    const id = agent?.id;
    if (id === undefined || !registered) return;
    try {
      await client.leave(id);
    } catch (error) {
      // The server is gone or forgot the agent: it fails the agent by its heartbeat timeout,
      // and the tasks it held go back to the queue then.
      if (classify(error) !== 'gone') report(error);
    }
  }

  const worker: Worker = {
    get state() {
      return state;
    },
    get agentId() {
      return agent?.id;
    },
    get running() {
      return tasks.size;
    },
    run() {
      working ??= work();
      running ??= working.then(
        () => closed,
        async (error: unknown) => {
          clearInterval(heartbeat);
          setState('closed');
          throw error;
        },
      );
      return running;
    },
    close({ drain = true } = {}) {
      if (closed !== undefined) return closed;
      setState('closing');
      closing.abort();
      if (!drain) stop.abort();
      poll?.abort();
      wake?.();
      closed = (working ?? Promise.resolve())
        .catch(() => {
          // run()'s refusal belongs to run()'s caller; close only ends the worker.
        })
        .then(() => leave(drain))
        .then(() => setState('closed'));
      return closed;
    },
  };
  return worker;
}

function checkOptions<P, R>(options: WorkerOptions<P, R>): WorkerOptions<P, R> {
  if (options === null || typeof options !== 'object') {
    throw invalid('', 'the options must be an object');
  }
  checkKnownKeys(options, KNOWN_OPTIONS, '', 'worker option');
  if (options.backoff !== undefined) {
    checkKnownKeys(options.backoff, ['initialMs', 'maxMs'], 'backoff', 'worker option');
  }
  if (typeof options.url !== 'string' || !/^https?:\/\//.test(options.url)) {
    throw invalid('url', 'must be an http(s) URL');
  }
  if (!Array.isArray(options.capabilities) || options.capabilities.length === 0) {
    throw invalid('capabilities', 'must list at least one capability');
  }
  if (typeof options.handler !== 'function') throw invalid('handler', 'must be a function');
  checkInt(options, 'concurrency', 1, MAX_CONCURRENCY);
  checkInt(options, 'leaseWaitMs', 0, MAX_WAIT_MS);
  checkInt(options, 'heartbeatIntervalMs', 1, 2 ** 31 - 1);
  checkInt(options, 'requestTimeoutMs', 1, 2 ** 31 - 1);
  // Below a second, extensions would flood the server; above a day, the server refuses them.
  checkInt(options, 'leaseExtendMs', 1000, 86_400_000);
  if (options.backoff !== undefined) {
    checkInt(options.backoff, 'initialMs', 1, 2 ** 31 - 1, 'backoff.');
    checkInt(options.backoff, 'maxMs', 1, 2 ** 31 - 1, 'backoff.');
  }
  for (const key of ['onError', 'onStateChange', 'fetch'] as const) {
    if (options[key] !== undefined && typeof options[key] !== 'function') {
      throw invalid(key, 'must be a function');
    }
  }
  const telemetry = options.telemetry as { process?: unknown } | null | undefined;
  if (telemetry !== undefined && typeof telemetry?.process !== 'function') {
    throw invalid('telemetry', 'must be an object with a process method (a WorkerTelemetry)');
  }
  return options;
}

function checkInt(options: object, key: string, min: number, max: number, prefix = ''): void {
  const value = (options as Record<string, unknown>)[key];
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalid(prefix + key, `must be an integer in ${min}..${max}`);
  }
}

function invalid(key: string, message: string): SwitchboardError {
  const where = key === '' ? '' : `${key}: `;
  return new SwitchboardError('invalid_config', `[switchboard] [worker] ${where}${message}`, {
    details: { key },
  });
}
