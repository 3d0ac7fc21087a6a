import type { Agent } from './agent/agent.js';
import { type AgentDefinition, type AgentSpec, isAgentDefinition } from './agent/definition.js';
import { MemoryScheduleStore } from './backends/memory/memory-schedules.js';
import type { Backend } from './contracts/backend.js';
import { resolveLogger } from './contracts/logger.js';
import { agentNotFound } from './errors.js';
import type { EventBus } from './events/event-bus.js';
import type { HealthMetrics } from './model/agent.js';
import type { TaskLease, TaskRecord } from './model/task.js';
import type { TaskListQuery, TaskPage } from './model/task-list.js';
import { PluginHost } from './plugin/plugin-host.js';
import { tellHolder } from './runtime/cluster/answered-elsewhere.js';
import type { BuiltEngine } from './runtime/create-engine.js';
import { createEngine } from './runtime/create-engine.js';
import { Fairness, resolveFairness } from './runtime/dispatch/fairness.js';
import { completeLease, extendLease, failLease } from './runtime/leases/lease-answers.js';
import { type ShutdownSummary, shutDown, startEngine } from './runtime/lifecycle.js';
import type { ShutdownOptions, SwitchboardOptions, SwitchboardStats } from './runtime/options.js';
import type { AgentPool, PoolEntryOptions } from './runtime/pool/agent-pool.js';
import type { AgentView, LeaseOptions, RemoteAgentInput } from './runtime/remote/remote-agents.js';
import { REFRESH_MS, Scheduler } from './runtime/schedules/scheduler.js';
import { Schedules } from './runtime/schedules/schedules.js';
import { engineStats } from './runtime/stats.js';
import {
  followStream,
  type StreamItem,
  type StreamReadOptions,
} from './runtime/streams/follow-stream.js';
import {
  type ProgressAnswer,
  type ProgressReport,
  reportProgress,
} from './runtime/streams/progress-report.js';
import { SubmitGate } from './runtime/submit/submit-gate.js';
import type { SubmitInput } from './runtime/submit/task-input.js';
import { TaskIntake } from './runtime/submit/task-intake.js';
import { getTask, listTasks, replayTask, waitForTask } from './runtime/submit/task-queries.js';
import type { TaskHandle } from './runtime/submit/task-tracker.js';

/**
 * One Switchboard: agents, a backend, a dispatcher, health monitoring and recovery, wired
 * from {@link SwitchboardOptions}. Every method maps 1:1 onto an endpoint of the HTTP API.
 */
/** How many fairness keys `stats()` shows: those with the most tasks queued and leased. */
const STATS_TOP_KEYS = 10;

export class Switchboard {
  /** Events: `task.*` and `agent.*` (see docs/http.md), and anything published by users. */
  readonly events: EventBus;
  /** The agents (in-process and remote), their definitions, scaling. */
  readonly pool: AgentPool;
  readonly backend: Backend;
  /**
   * Cron and interval schedules that submit tasks: `upsert`, `remove`, `pause`, `resume`,
   * `list`, `get` (docs/schedules.md). Kept by the backend when it has a schedule store.
   */
  readonly schedules: Schedules;
  /**
   * Weights and concurrency caps of fairness keys, read and changed at run time: `set`,
   * `get`, and `enforced`, false on a backend that does not dispatch by them
   * (docs/fairness.md).
   */
  readonly fairness: Fairness;
  readonly #scheduler: Scheduler;
  readonly #engine: BuiltEngine;
  readonly #plugins: PluginHost;
  readonly #intake: TaskIntake;
  readonly #entries: readonly {
    spec: AgentDefinition | AgentSpec<unknown, unknown>;
    options: PoolEntryOptions;
  }[];
  #starting: Promise<void> | undefined;
  #closing: Promise<ShutdownSummary> | undefined;

  /** @throws SwitchboardError `invalid_config` naming the bad option (unknown strategy names list the known ones). */
  constructor(options: SwitchboardOptions = {}) {
    const plugins = new PluginHost(options.plugins ?? [], resolveLogger(options.logger));
    this.#plugins = plugins;
    const engine = createEngine(options, plugins, (input) => this.submit(input));
    this.events = engine.events;
    this.backend = engine.backend;
    this.#engine = engine;
    this.pool = engine.pool;
    this.fairness = new Fairness(engine.backend, resolveFairness(options.fairness));
    const gate = new SubmitGate(
      options.idempotency,
      options.rateLimits,
      engine.now,
      options.createRateLimiter,
      engine.backend.sharedRateLimiter?.bind(engine.backend),
    );
    this.#intake = new TaskIntake(engine, options, gate);
    this.#entries = (options.agents ?? []).map((a) =>
      isAgentDefinition(a) || !('definition' in a)
        ? { spec: a as AgentDefinition, options: {} }
        : { spec: a.definition as AgentDefinition, options: a },
    );
    for (const { spec, options: o } of this.#entries) this.pool.define(spec, o);
    const store = engine.backend.schedules ?? new MemoryScheduleStore();
    this.#scheduler = new Scheduler({
      store,
      now: engine.now,
      submit: (input) => this.submit(input),
      taskStatus: async (id) => (await engine.backend.get(id))?.status,
      emit: engine.emit,
      onError: engine.onError,
      // Schedules written through another process are armed here within this time.
      ...(engine.backend.cluster === undefined ? {} : { refreshMs: REFRESH_MS }),
    });
    this.schedules = new Schedules(store, this.#scheduler, engine.now);
  }

  /** Opens the backend, starts the in-process agents and the dispatcher. Idempotent. */
  start(): Promise<void> {
    this.#starting ??= this.#start();
    return this.#starting;
  }

  async #start(): Promise<void> {
    await startEngine(this.#engine, {
      open: async () => {
        await this.#intake.open();
        await this.fairness.configureBackend();
      },
      plugins: () => this.#plugins.run('start'),
    });
    await this.#scheduler.start();
  }

  /**
   * Queues a task. Validated once here; a repeated `idempotencyKey` returns the first task.
   *
   * @throws SwitchboardError `invalid_request`, `rate_limited` (`details.retryAfterMs`),
   * `no_agent` (policy `immediate`), `payload_too_large`, `cancelled` (signal aborted),
   * `unavailable` (shutting down).
   * @example
   * ```ts
   * const handle = await sb.submit({ capability: 'llm', payload: 'hi', priority: 'high' })
   * const answer = await handle.result
   * ```
   */
  submit<O = unknown, I = unknown>(input: SubmitInput<I>): Promise<TaskHandle<O>> {
    return this.#intake.submit(input) as Promise<TaskHandle<O>>;
  }

  /** Queues many tasks at once: all or nothing (an invalid item's index is in `details`). */
  submitMany<O = unknown>(inputs: readonly SubmitInput[]): Promise<TaskHandle<O>[]> {
    return this.#intake.submitMany(inputs) as Promise<TaskHandle<O>[]>;
  }

  /**
   * Submits many tasks (all or nothing, as `submitMany`) and awaits their results: one
   * promise for the batch, the results in input order, instead of a handle and a promise
   * per task. It rejects as soon as one task ends without a result, with the error its
   * `result` would give (`task_failed`, `cancelled`, `unavailable` at shutdown); the other
   * tasks go on. Use `submitMany` to follow or cancel tasks one by one. A plain batch (one
   * capability, nothing set per task but `payload` and `priority`) is queued as columns
   * when the backend takes them (the memory backend does): no record per task until it
   * runs; `submitMany` does the same.
   *
   * @throws SwitchboardError as `submitMany` (before anything is queued).
   * @example
   * ```ts
   * const summaries = await sb.runMany<string>(pages.map((page) => ({ capability: 'llm', payload: page })))
   * ```
   */
  runMany<O = unknown>(inputs: readonly SubmitInput[]): Promise<O[]> {
    return this.#intake.runMany(inputs) as Promise<O[]>;
  }

  /** Submits a task and awaits its result. */
  async run<O = unknown, I = unknown>(input: SubmitInput<I>): Promise<O> {
    return (await this.submit<O, I>(input)).result;
  }

  /** The task as it stands. @throws `not_found`. */
  get(id: string): Promise<TaskRecord> {
    return getTask(this.#engine, id);
  }

  /**
   * One page of tasks, newest first, filtered by `status`, `capability` or `idempotencyKey`;
   * `limit` is 1 … 1000 (default 50). Pass the page's `nextCursor` back as `cursor` for the
   * next; a page may be short while `nextCursor` is there. What one call costs is the
   * backend's `listTasks`. @throws `invalid_request` naming the field of a bad query.
   *
   * @example
   * ```ts
   * const { tasks, nextCursor } = await switchboard.listTasks({ status: 'dead', limit: 20 })
   * ```
   */
  listTasks(query?: Partial<TaskListQuery>): Promise<TaskPage> {
    return listTasks(this.#engine, query);
  }

  /** Cancels a task that is not terminal. @throws `not_found`, `conflict` when terminal. */
  cancel(id: string): Promise<TaskRecord> {
    return this.#intake.cancel(id);
  }

  /** The task once terminal, or as it stands after `waitMs`. @throws `not_found`. */
  waitFor(id: string, waitMs: number): Promise<TaskRecord> {
    return waitForTask(this.#engine, id, waitMs);
  }

  /** Completes a lease. @throws `conflict` for a stale or foreign token, `not_found`. */
  complete(taskId: string, leaseToken: string, result?: unknown): Promise<TaskRecord> {
    const done = completeLease(this.#engine, taskId, leaseToken, result);
    return tellHolder(this.#engine, done, taskId, leaseToken);
  }

  /** Fails a lease: retried with backoff while attempts remain and `retryable` (default), else dead. */
  fail(
    taskId: string,
    leaseToken: string,
    error: { message: string; retryable?: boolean },
  ): Promise<TaskRecord> {
    const done = failLease(this.#engine, taskId, leaseToken, error);
    return tellHolder(this.#engine, done, taskId, leaseToken);
  }

  /** Extends a lease to `ms` from now. @throws `conflict` for a stale token. */
  extend(taskId: string, leaseToken: string, ms: number): Promise<TaskLease> {
    const done = extendLease(this.#engine, taskId, leaseToken, ms);
    return tellHolder(this.#engine, done, taskId, leaseToken);
  }

  /**
   * The report of a lease's holder (a remote agent's `POST /v1/tasks/{id}/progress`): renews
   * the lease like `extend` (to `extendMs`, default the task's `timeoutMs`), stores `value` as
   * the task's last progress and publishes `task.progress`, and appends `chunks` to the task's
   * stream. @throws `conflict` for a stale token, `not_found`, `invalid_request` or
   * `payload_too_large` for a bad value or chunk.
   */
  progress(taskId: string, leaseToken: string, report: ProgressReport): Promise<ProgressAnswer> {
    const done = reportProgress(this.#engine, taskId, leaseToken, report);
    return tellHolder(
      this.#engine,
      done.then((answer) => answer.lease),
      taskId,
      leaseToken,
    ).then(() => done);
  }

  /**
   * A task's stream of partial output (`ctx.stream(chunk)` of its handler): the chunks kept,
   * then each one as it comes, then an `end` item once the task is terminal. Where older chunks
   * were no longer kept, a `dropped` item says how many. The stream is kept in the memory of
   * the process the chunks reached (see docs/progress.md for the bounds).
   *
   * @throws SwitchboardError `not_found` (at the first step) for an unknown task.
   * @example
   * ```ts
   * const handle = await sb.submit({ capability: 'llm', payload: prompt })
   * for await (const item of sb.stream(handle.id)) {
   *   if (item.type === 'chunk') process.stdout.write(String(item.data))
   * }
   * ```
   */
  stream(taskId: string, options?: StreamReadOptions): AsyncIterable<StreamItem> {
    const engine = this.#engine;
    return followStream(
      {
        streams: engine.streams,
        events: engine.events,
        now: engine.now,
        get: (id) => engine.backend.get(id),
      },
      taskId,
      options,
    );
  }

  /** Dead tasks, oldest first. */
  async deadLetters(limit?: number): Promise<TaskRecord[]> {
    return (await this.backend.deadLetters(limit)).map((r) => ({ ...r }));
  }

  /** Queues a dead task again, attempts starting over. @throws `not_found`. */
  replay(id: string): Promise<TaskRecord> {
    return replayTask(this.#engine, id);
  }

  /** Deletes a dead task for good. @throws `not_found`. */
  deleteDeadLetter(id: string): Promise<void> {
    return this.backend.deleteDeadLetter(id);
  }

  /** Starts `count` (default 1) more in-process agents of a definition. */
  async addAgent<I, O>(
    definition: AgentDefinition<I, O> | AgentSpec<I, O>,
    options: PoolEntryOptions & { count?: number } = {},
  ): Promise<Agent[]> {
    const { count = 1, ...entry } = options;
    const members = await this.pool.add(definition, count, entry);
    return members.map((m) => m.agent as Agent);
  }

  /** Removes an agent; with `drain` (default) it finishes what it holds first. */
  removeAgent(id: string, options: { drain?: boolean } = {}): Promise<void> {
    return this.pool.remove(id, options);
  }

  /** Registers a remote agent. @throws `invalid_request`, `conflict` for a duplicate id. */
  registerRemote(input: RemoteAgentInput): AgentView {
    return this.#engine.remotes.register(input);
  }

  /** A remote agent's heartbeat. @throws `not_found` when unknown or failed. */
  heartbeat(agentId: string, metrics?: Partial<HealthMetrics>): AgentView {
    return this.#engine.remotes.heartbeat(agentId, metrics);
  }

  /** A remote agent's lease long-poll. @throws `not_found`, `invalid_request`. */
  lease(agentId: string, options?: LeaseOptions): Promise<TaskLease[]> {
    return this.#engine.remotes.lease(agentId, options);
  }

  /** A remote agent's graceful leave: its leased tasks go back to the queue at once. */
  leave(agentId: string): Promise<void> {
    return this.#engine.remotes.leave(agentId);
  }

  /**
   * Every agent, as the API shows it. On a backend shared by several processes, the remote
   * agents registered through the others too (live ones, as last mirrored).
   */
  listAgents(): AgentView[] {
    const local = this.pool.agents().map((m) => this.#engine.remotes.view(m));
    const cluster = this.#engine.cluster;
    return cluster === undefined ? local : local.concat(cluster.views());
  }

  /** One agent. @throws `not_found`. */
  getAgent(id: string): AgentView {
    const member = this.pool.get(id);
    if (member === undefined) {
      const view = this.#engine.cluster?.view(id);
      if (view !== undefined) return view;
      throw agentNotFound(id);
    }
    return this.#engine.remotes.view(member);
  }

  /** The figures of `GET /v1/stats`. */
  async stats(): Promise<SwitchboardStats> {
    const stats = await engineStats(this.#engine);
    const keys = await this.fairness.top(STATS_TOP_KEYS, this.#engine.now());
    return keys === undefined ? stats : { ...stats, fairness: { keys } };
  }

  /** True while new tasks are accepted (before and after `start`, until `shutdown`). */
  get accepting(): boolean {
    return this.#intake.accepting;
  }

  /**
   * Stops intake (`unavailable` for new submits) and leasing: nothing queued is handed to an
   * agent from then on. With `drain` (default) the tasks in flight (leased to an in-process
   * or remote agent) finish, up to `timeoutMs`; whatever still holds a lease then is put
   * back to the queue. Then the agents stop and the backend closes. Resolves with what
   * became of the tasks: in flight finished, released, and left queued (kept by a durable
   * backend, dropped by the memory one). Idempotent: every call gets the same summary.
   *
   * @example
   * ```ts
   * process.on('SIGTERM', async () => {
   *   const s = await sb.shutdown({ timeoutMs: 10_000 })
   *   console.log(`${s.finished} in flight finished, ${s.queued} queued ${s.durable ? 'kept' : 'dropped'}`)
   * })
   * ```
   */
  shutdown(options: ShutdownOptions = {}): Promise<ShutdownSummary> {
    this.#closing ??= this.#shutdown(options);
    return this.#closing;
  }

  async #shutdown(options: ShutdownOptions): Promise<ShutdownSummary> {
    this.#intake.accepting = false;
    this.#scheduler.stop();
    await this.#starting?.catch(() => undefined);
    this.#scheduler.stop();
    return shutDown(this.#engine, options, this.#starting !== undefined, async () => {
      await this.pool.stopAll();
      await this.#plugins.run('stop');
    });
  }
}

/**
 * Creates a Switchboard from options that name strategies by string or pass them as objects.
 *
 * @throws SwitchboardError `invalid_config` for a bad option; an unknown strategy name lists
 * the known ones.
 * @example
 * ```ts
 * const sb = createSwitchboard({
 *   agents: [defineAgent({ name: 'echo', capabilities: ['echo'], handle: (p) => p })],
 * })
 * await sb.start()
 * console.log(await sb.run({ capability: 'echo', payload: 'hi' })) // 'hi'
 * await sb.shutdown()
 * ```
 */
export function createSwitchboard(options: SwitchboardOptions = {}): Switchboard {
  return new Switchboard(options);
}
