import {
  type AgentConfig,
  type AgentInitContext,
  type HealthReport,
  isSwitchboardError,
  SwitchboardError,
  type TaskContext,
} from '@switchboard/core';
import { ChildRun } from './child-run.js';
import type { ResolvedIsolate } from './isolate-options.js';

const MIB = 1024 * 1024;

/**
 * One instance of an isolated agent: the thread or process it runs in now, and any it is
 * recycling. A child that crashes, hangs or reports a break fails the agent (its init
 * context's `fail`): its tasks go back to the queue and the Switchboard's recovery restarts
 * the agent, with a new child, within its restart intensity.
 */
export class IsolatedInstance {
  readonly #options: ResolvedIsolate;
  readonly #ctx: AgentInitContext;
  readonly #runs = new Set<ChildRun>();
  #current: ChildRun;
  #broken: SwitchboardError | undefined;
  #stopping = false;
  #ids = 0;

  constructor(options: ResolvedIsolate, ctx: AgentInitContext) {
    this.#options = options;
    this.#ctx = ctx;
    this.#current = this.#spawn();
  }

  /** Resolves once the first child has loaded the agent and run its init. */
  async start(): Promise<void> {
    try {
      await this.#current.ready;
    } catch (thrown) {
      this.#current.kill();
      throw this.#error(`failed to start: ${(thrown as Error).message}`);
    }
  }

  /** Runs one task in the current child. */
  async run(payload: unknown, ctx: TaskContext): Promise<unknown> {
    if (this.#broken !== undefined) throw this.#broken;
    const child = this.#current;
    await child.ready.catch(() => undefined);
    if (this.#broken !== undefined) throw this.#broken;
    const id = ++this.#ids;
    const result = new Promise<unknown>((resolve, reject) => {
      child.inflight.set(id, { resolve, reject, ctx });
    });
    try {
      child.send({
        t: 'run',
        id,
        payload,
        ctx: {
          taskId: ctx.taskId,
          capability: ctx.capability,
          attempt: ctx.attempt,
          priority: ctx.priority,
          metadata: ctx.metadata,
          ...(ctx.deadline === undefined ? {} : { deadline: ctx.deadline }),
          ...(ctx.sessionKey === undefined ? {} : { sessionKey: ctx.sessionKey }),
          ...(ctx.traceparent === undefined ? {} : { traceparent: ctx.traceparent }),
        },
      });
    } catch (thrown) {
      child.inflight.delete(id);
      if (isSwitchboardError(thrown)) throw thrown;
      const why = thrown instanceof Error ? thrown.message : String(thrown);
      // Sending it again cannot help: the task fails for good, and says why.
      throw new SwitchboardError(
        'invalid_request',
        `task "${ctx.taskId}": its payload or metadata cannot cross to the ${this.#options.runIn} of agent "${this.#ctx.name}": ${why}`,
        { retryable: false, cause: thrown, details: { taskId: ctx.taskId } },
      );
    }
    const signal = ctx.signal;
    const abort = () => {
      try {
        child.send({ t: 'abort', id, reason: String(signal.reason ?? 'aborted') });
      } catch {
        // The child is gone: its end settles the task, there is nothing left to abort.
      }
    };
    signal.addEventListener('abort', abort, { once: true });
    child.taken++;
    const max = this.#options.maxTasks;
    if (max !== undefined && child.taken >= max) this.#recycle(child);
    try {
      return await result;
    } finally {
      signal.removeEventListener('abort', abort);
      if (child.retiring && child.inflight.size === 0) void child.stop(this.#options.stopTimeoutMs);
    }
  }

  /** The agent's health check, run in the current child. */
  async health(): Promise<HealthReport> {
    if (this.#broken !== undefined) return false;
    await this.#current.ready;
    return (await this.#current.health()) as HealthReport;
  }

  /** Runs the shutdown hook in each child and ends them; tasks still out are cancelled. */
  async stop(): Promise<void> {
    this.#stopping = true;
    const runs = [...this.#runs];
    await Promise.all(runs.map((run) => run.stop(this.#options.stopTimeoutMs)));
    const stopped = this.#error('stopped', 'cancelled');
    for (const run of runs) this.#rejectAll(run, stopped);
  }

  #spawn(): ChildRun {
    const options = this.#options;
    const config = this.#ctx.config as AgentConfig;
    const run = new ChildRun(
      options,
      {
        t: 'setup',
        module: options.module,
        exportName: options.exportName,
        agentId: this.#ctx.agentId,
        name: this.#ctx.name,
        config,
        beatMs: config.heartbeatIntervalMs,
      },
      config.heartbeatTimeoutMs,
      {
        broke: (child, why, reason) => {
          if (child.retiring && child.inflight.size === 0 && reason === 'crashed') return;
          this.#break(this.#error(`its ${options.runIn} ${why}`), reason);
        },
        ended: (child) => this.#runs.delete(child),
        failed: (_, error, reason) => this.#break(this.#error(error.message), reason),
        beat: (child, rss) => {
          const limit = options.maxRssMb;
          if (limit !== undefined && rss > limit * MIB && !child.retiring) this.#recycle(child);
        },
      },
    );
    this.#runs.add(run);
    return run;
  }

  /** A new child takes the next tasks; `child` ends once the tasks it holds are done. */
  #recycle(child: ChildRun): void {
    if (child !== this.#current || this.#stopping || this.#broken !== undefined) return;
    child.retiring = true;
    this.#current = this.#spawn();
    // A replacement that cannot start is a crash like any other.
    this.#current.ready.catch((thrown: Error) =>
      this.#break(
        this.#error(`its new ${this.#options.runIn} failed to start: ${thrown.message}`),
        'crashed',
      ),
    );
    if (child.inflight.size === 0) void child.stop(this.#options.stopTimeoutMs);
  }

  #break(error: SwitchboardError, reason: 'crashed' | 'hung'): void {
    if (this.#broken !== undefined || this.#stopping) return;
    this.#broken = error;
    this.#ctx.fail(error, reason);
    for (const run of this.#runs) {
      this.#rejectAll(run, error);
      run.kill();
    }
  }

  #rejectAll(run: ChildRun, error: SwitchboardError): void {
    for (const pending of run.inflight.values()) pending.reject(error);
    run.inflight.clear();
  }

  #error(what: string, code: 'agent_failed' | 'cancelled' = 'agent_failed'): SwitchboardError {
    const { agentId, name } = this.#ctx;
    return new SwitchboardError(code, `isolated agent "${name}" (${agentId}): ${what}`, {
      details: { agentId, runIn: this.#options.runIn },
    });
  }
}
