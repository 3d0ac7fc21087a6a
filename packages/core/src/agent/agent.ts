import { SwitchboardError, toError } from '../errors.js';
import {
  type AgentRole,
  type AgentState,
  type Capability,
  emptyMetrics,
  type HealthMetrics,
  type TaskContext,
} from '../model/agent.js';
import { DEFAULT_MAX_CHUNK_BYTES, encodeReported, MAX_PROGRESS_BYTES } from '../model/progress.js';
import { type AgentConfig, type AgentConfigInput, resolveAgentConfig } from './config.js';
import type { AgentBreak, AgentDefinition, HealthReport } from './definition.js';
import { AgentLifecycle, type AgentLifecycleOptions } from './lifecycle.js';

/** Options of one {@link Agent} instance. */
export interface AgentOptions {
  /** Its id; a random UUID unless given. */
  readonly id?: string;
  /** Overrides of the definition's config. */
  readonly config?: AgentConfigInput;
  /** The clock of task latencies, in ms; `performance.now` unless given. */
  readonly clock?: () => number;
  /** Receives errors thrown by lifecycle listeners. */
  readonly onListenerError?: AgentLifecycleOptions['onListenerError'];
  /**
   * Hears the agent's init context's `fail` (a pool fails the agent over). Without it the
   * agent moves to `recovering` and takes no more work.
   */
  readonly onFail?: (error: Error, reason: AgentBreak) => void;
}

/** The task context as callers of `execute` give it: anything left out gets a default. */
export type ExecuteContext = Partial<Omit<TaskContext, 'agentId'>>;

/** The answer of {@link Agent.checkHealth}. */
export interface AgentHealth {
  /** Live (`ready` or `working`) and not reported unhealthy by its health check. */
  readonly healthy: boolean;
  readonly state: AgentState;
  readonly metrics: HealthMetrics;
  /** What the health check threw, if it did. */
  readonly error?: Error;
}

/**
 * Weight of the newest sample in the moving averages of latency and error rate: 0.2 makes
 * roughly the last ten tasks count, so a burst of failures shows within a few tasks.
 */
export const METRICS_ALPHA = 0.2;

let neverAborted: AbortSignal | undefined;

const METRIC_KEYS = ['cpuUsage', 'memoryUsage', 'queueSize', 'errorRate', 'latencyMs'] as const;

/**
 * A live agent: one instance of an {@link AgentDefinition}, with its state machine, its
 * count of running tasks and its health figures. Register it in an `AgentRegistry` to make
 * it discoverable.
 *
 * @example
 * ```ts
 * const agent = new Agent(summarizer)
 * await agent.start()
 * const summary = await agent.execute('a long text', { capability: 'llm' })
 * await agent.stop()
 * ```
 */
export class Agent<I = unknown, O = unknown> {
  readonly id: string;
  readonly name: string;
  readonly role: AgentRole;
  readonly version: string;
  readonly capabilities: Capability[];
  readonly config: AgentConfig;
  readonly lifecycle: AgentLifecycle;
  private running = 0;
  private readonly health: HealthMetrics = emptyMetrics();
  private samples = 0;
  private starting: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  private readonly clock: () => number;
  private readonly onFail: ((error: Error, reason: AgentBreak) => void) | undefined;
  private broken = false;

  /** @throws SwitchboardError `invalid_config` when `options.config` is invalid. */
  constructor(
    readonly definition: AgentDefinition<I, O>,
    options: AgentOptions = {},
  ) {
    this.id = options.id ?? crypto.randomUUID();
    this.name = definition.name;
    this.role = definition.role;
    this.version = definition.version;
    this.capabilities = [...definition.capabilities];
    this.config =
      options.config === undefined
        ? definition.config
        : resolveAgentConfig(options.config, definition.config);
    const lifecycleOptions: AgentLifecycleOptions =
      options.onListenerError === undefined ? {} : { onListenerError: options.onListenerError };
    this.lifecycle = new AgentLifecycle(this.id, lifecycleOptions);
    this.clock = options.clock ?? (() => performance.now());
    this.onFail = options.onFail;
  }

  /** The lifecycle state. */
  get state(): AgentState {
    return this.lifecycle.state;
  }

  /** Tasks running now. */
  get activeTasks(): number {
    return this.running;
  }

  /** Tasks it may still take at once: `maxConcurrency - activeTasks`. */
  get freeSlots(): number {
    return Math.max(0, this.config.maxConcurrency - this.running);
  }

  /** Its health figures, updated in place as tasks finish (read-only to callers). */
  get metrics(): Readonly<HealthMetrics> {
    return this.health;
  }

  /**
   * Runs the init hook and makes the agent `ready`: `idle → initializing → ready`, or from
   * `recovering` (a restart). Calling it while started or starting is harmless.
   *
   * @throws SwitchboardError `agent_failed` (the hook's error as `cause`) when init throws;
   * the agent is then `recovering`. `invalid_transition` after `stop()`.
   */
  start(): Promise<void> {
    const state = this.lifecycle.state;
    if (state === 'ready' || state === 'working') return Promise.resolve();
    if (this.starting !== undefined) return this.starting;
    try {
      this.lifecycle.transition('initializing', state === 'recovering' ? 'restart' : undefined);
    } catch (error) {
      return Promise.reject(error);
    }
    this.starting = this.runInit().finally(() => {
      this.starting = undefined;
    });
    return this.starting;
  }

  private async runInit(): Promise<void> {
    const init = this.definition.init;
    if (init !== undefined) {
      try {
        const fail = (error: Error, reason: AgentBreak = 'crashed') => this.fail(error, reason);
        await init({ agentId: this.id, name: this.name, config: this.config, fail });
      } catch (thrown) {
        const error = toError(thrown);
        // stop() may have run meanwhile; a stopped agent stays stopped.
        if (this.state === 'initializing') {
          this.lifecycle.transition('recovering', `init failed: ${error.message}`);
        }
        throw new SwitchboardError(
          'agent_failed',
          `agent "${this.name}" (${this.id}) failed to initialize: ${error.message}`,
          { cause: thrown, details: { agentId: this.id } },
        );
      }
    }
    if (this.state !== 'initializing') {
      const message = `agent "${this.name}" (${this.id}) stopped while starting`;
      throw new SwitchboardError('cancelled', message, { details: { agentId: this.id } });
    }
    this.lifecycle.transition('ready');
  }

  /** What the init context's `fail` does: reports the break once, unless the agent stopped. */
  private fail(error: Error, reason: AgentBreak): void {
    if (this.broken || this.stopping !== undefined) return;
    this.broken = true;
    if (this.onFail !== undefined) this.onFail(error, reason);
    else if (this.lifecycle.can('recovering')) this.lifecycle.transition('recovering', reason);
  }

  /**
   * Moves to `shutdown` at once (new tasks are refused), waits for a start in progress,
   * then runs the shutdown hook once. Running tasks are not awaited. Calling it again
   * returns the same promise.
   *
   * @throws SwitchboardError `agent_failed` when the shutdown hook throws (the agent is
   * `shutdown` all the same).
   */
  stop(reason?: string): Promise<void> {
    if (this.stopping === undefined) {
      // Already shut down by a direct lifecycle transition: only the hook is left to run.
      if (this.state !== 'shutdown') this.lifecycle.transition('shutdown', reason);
      this.stopping = this.runShutdown();
    }
    return this.stopping;
  }

  private async runShutdown(): Promise<void> {
    // The start's outcome no longer matters; waiting keeps init and shutdown from overlapping.
    await this.starting?.catch(() => undefined);
    try {
      await this.definition.shutdown?.({ agentId: this.id, name: this.name });
    } catch (thrown) {
      const error = toError(thrown);
      throw new SwitchboardError(
        'agent_failed',
        `agent "${this.name}" (${this.id}) failed to shut down: ${error.message}`,
        { cause: thrown, details: { agentId: this.id }, retryable: false },
      );
    }
  }

  /**
   * Runs one task through the handler. The agent must be `ready` or `working` with a free
   * slot; it is `working` while any task runs. A non-Error thrown by the handler is
   * rethrown as an `Error` whose `cause` is the value.
   *
   * @throws SwitchboardError `unavailable` when not started, stopped or full; `cancelled`
   * when `ctx.signal` is already aborted; `timeout` when `ctx.deadline` has passed.
   */
  async execute(payload: I, ctx: ExecuteContext = {}): Promise<O> {
    const state = this.lifecycle.state;
    if (state !== 'ready' && state !== 'working') {
      throw this.unavailable(`is ${state}`);
    }
    if (this.running >= this.config.maxConcurrency) {
      throw this.unavailable(`is full (${this.running}/${this.config.maxConcurrency} tasks)`);
    }
    const context = this.context(ctx);
    if (context.signal.aborted) {
      throw new SwitchboardError('cancelled', `task "${context.taskId}" was cancelled`, {
        cause: context.signal.reason,
        details: { taskId: context.taskId },
      });
    }
    if (context.deadline !== undefined && context.deadline <= Date.now()) {
      throw new SwitchboardError('timeout', `task "${context.taskId}" is past its deadline`, {
        details: { taskId: context.taskId, deadline: context.deadline },
      });
    }
    this.running++;
    this.health.queueSize = this.running;
    if (state === 'ready') this.lifecycle.transition('working');
    const started = this.clock();
    let failed = false;
    try {
      return await this.definition.handle(payload, context);
    } catch (thrown) {
      failed = true;
      throw toError(thrown);
    } finally {
      this.running--;
      this.record(this.clock() - started, failed);
      // After stop() or a failure elsewhere the state is no longer ours to change.
      if (this.running === 0 && this.lifecycle.state === 'working') {
        this.lifecycle.transition('ready');
      }
    }
  }

  /**
   * Asks the health check (when the definition has one) and merges the figures it reports
   * into `metrics`. A throwing or rejecting check answers unhealthy, never throws.
   */
  async checkHealth(): Promise<AgentHealth> {
    let report: HealthReport = true;
    let error: Error | undefined;
    try {
      report = (await this.definition.healthCheck?.({ agentId: this.id, name: this.name })) ?? true;
    } catch (thrown) {
      error = toError(thrown);
      report = false;
    }
    let reported = true;
    if (typeof report === 'boolean') {
      reported = report;
    } else {
      reported = report.healthy !== false;
      for (const key of METRIC_KEYS) {
        const value = report[key];
        if (typeof value === 'number' && Number.isFinite(value)) this.health[key] = value;
      }
    }
    const state = this.state;
    const healthy = reported && (state === 'ready' || state === 'working');
    const metrics = { ...this.health };
    return error === undefined ? { healthy, state, metrics } : { healthy, state, metrics, error };
  }

  private context(ctx: ExecuteContext): TaskContext {
    neverAborted ??= new AbortController().signal;
    const context: TaskContext = {
      taskId: ctx.taskId ?? crypto.randomUUID(),
      agentId: this.id,
      capability: ctx.capability ?? (this.capabilities[0] as Capability).name,
      attempt: ctx.attempt ?? 1,
      priority: ctx.priority ?? 'normal',
      signal: ctx.signal ?? neverAborted,
      metadata: ctx.metadata ?? {},
      // Run outside a Switchboard, the agent reports to whoever called it, else to nobody;
      // the values are checked either way, so a handler fails here as it would in a pool.
      progress:
        ctx.progress ?? ((value) => void encodeReported(value, 'progress', MAX_PROGRESS_BYTES)),
      stream:
        ctx.stream ?? ((chunk) => void encodeReported(chunk, 'chunk', DEFAULT_MAX_CHUNK_BYTES)),
    };
    if (ctx.deadline !== undefined) Object.assign(context, { deadline: ctx.deadline });
    if (ctx.sessionKey !== undefined) Object.assign(context, { sessionKey: ctx.sessionKey });
    return context;
  }

  private record(latencyMs: number, failed: boolean): void {
    const m = this.health;
    // The first sample seeds the averages, so an agent's first task is not diluted by zeros.
    const alpha = this.samples++ === 0 ? 1 : METRICS_ALPHA;
    m.latencyMs += alpha * (latencyMs - m.latencyMs);
    m.errorRate += alpha * ((failed ? 1 : 0) - m.errorRate);
    m.queueSize = this.running;
  }

  private unavailable(why: string): SwitchboardError {
    return new SwitchboardError('unavailable', `agent "${this.name}" (${this.id}) ${why}`, {
      details: { agentId: this.id, state: this.state },
    });
  }
}
