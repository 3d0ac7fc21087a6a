import type { CoordinatedTask, RunOptions, TaskRunner } from '../contracts/task-runner.js';
import { isSwitchboardError, SwitchboardError } from '../errors.js';
import { DagExecution } from './coordinator-dag-run.js';
import type { DagOptions, DagOutcome, DagResult, DagRun } from './coordinator-dag-types.js';
import { type ConsensusInput, type ConsensusResult, runConsensus } from './coordinator-vote.js';
import { type DagNode, type DagSpec, planDag } from './dag.js';

/**
 * How a fan-out treats a failed task: `all` (the default) cancels the others and rejects
 * with the failure; `settled` waits for every task and reports each outcome.
 */
export type FanOutPolicy = 'all' | 'settled';

/** Options of {@link ExecutionCoordinator.fanOut}. */
export interface FanOutOptions extends RunOptions {
  readonly policy?: FanOutPolicy;
  /** Tasks running at once, at most (default: all at once). */
  readonly maxConcurrency?: number;
}

/** One task's outcome in a `settled` fan-out. */
export type Settled<T = unknown> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: SwitchboardError };

/** One step of a pipeline: a task whose payload is built from the previous step's result. */
export interface PipelineStep extends Omit<CoordinatedTask, 'payload'> {
  /** Builds the payload from the previous result; without it the result is the payload. */
  readonly payload?: (previous: unknown) => unknown;
}

/** Options of {@link ExecutionCoordinator.pipeline}. */
export interface PipelineOptions extends RunOptions {
  /** What the first step's `payload` receives (its payload, without a builder). */
  readonly input?: unknown;
}

/** Options of an {@link ExecutionCoordinator}. */
export interface CoordinatorOptions {
  /** The clock deadlines are measured on, epoch ms; the Switchboard's own, if it has one. */
  readonly now?: () => number;
}

/** A failure of one task of a run, naming where it happened and keeping its code. */
function located(error: Error, where: string, taskId: string | undefined): SwitchboardError {
  const code = isSwitchboardError(error) ? error.code : 'task_failed';
  const retryable = isSwitchboardError(error) ? error.retryable : false;
  return new SwitchboardError(code, `${where}: ${error.message}`, {
    retryable,
    cause: error,
    // The task's id beside the original details (a dead task's attempts and last error).
    details: {
      ...(taskId !== undefined && { taskId }),
      ...(isSwitchboardError(error) && error.details !== undefined && { cause: error.details }),
    },
  });
}

/**
 * Runs groups of tasks across agents: fan-out/fan-in, pipelines, DAGs (a node's result
 * feeds its dependents) and consensus votes, with a deadline that every task inherits and
 * cancellation of the whole tree. It drives any {@link TaskRunner}, a Switchboard first.
 *
 * @example
 * ```ts
 * const coordinator = new ExecutionCoordinator(sb)
 * const [en, fr] = await coordinator.fanOut([
 *   { capability: 'translate', payload: { text, to: 'en' } },
 *   { capability: 'translate', payload: { text, to: 'fr' } },
 * ])
 * const run = await coordinator.runDag({
 *   nodes: {
 *     fetch: { capability: 'browser', payload: () => ({ url }) },
 *     summary: { capability: 'llm', dependsOn: ['fetch'], payload: (d) => d.fetch },
 *   },
 * }, { deadlineMs: 60_000 })
 * ```
 */
export class ExecutionCoordinator {
  readonly #runner: TaskRunner;
  readonly #now: () => number;

  constructor(runner: TaskRunner, options: CoordinatorOptions = {}) {
    this.#runner = runner;
    this.#now = options.now ?? Date.now;
  }

  /**
   * Starts a DAG and returns at once with its outcome and a `cancel()` for the whole tree.
   * Each node is submitted as soon as its dependencies completed; independent nodes run
   * in parallel. The run's own failures resolve `result` (`status: 'failed'`).
   *
   * @throws SwitchboardError `invalid_request` (synchronously, before anything is submitted)
   * for a malformed node, an unknown dependency, a cycle (named `a → b → a`), a bad option.
   */
  startDag(spec: DagSpec, options: DagOptions = {}): DagRun {
    const execution = this.#execute(spec, options);
    return {
      result: execution.done.then((o) => o.result),
      cancel: () => execution.cancel('cancelled').then((o) => o.result),
    };
  }

  /**
   * Runs a DAG to its end. Under `fail-fast` (the default) the first failure cancels every
   * running and pending node and the result is `failed` (it resolves; it does not reject).
   *
   * @throws SwitchboardError `invalid_request` for an invalid DAG or option.
   * @example
   * ```ts
   * const { status, results } = await coordinator.runDag({ nodes: {
   *   a: { capability: 'split' },
   *   b: { capability: 'left', dependsOn: ['a'], payload: (d) => d.a },
   *   c: { capability: 'right', dependsOn: ['a'], payload: (d) => d.a },
   *   d: { capability: 'join', dependsOn: ['b', 'c'], payload: (d) => [d.b, d.c] },
   * } })
   * ```
   */
  async runDag(spec: DagSpec, options: DagOptions = {}): Promise<DagResult> {
    return (await this.#execute(spec, options).done).result;
  }

  /**
   * Submits every task at once (or `maxConcurrency` at a time) and gathers the results in
   * the order given. Policy `all` rejects with the first failure (its message names the
   * task's index, `details.taskId` its id) after cancelling the others.
   *
   * @throws SwitchboardError the failing task's code (`task_failed`…), `timeout`, `cancelled`.
   */
  fanOut<T = unknown>(
    tasks: readonly CoordinatedTask[],
    options?: FanOutOptions & { policy?: 'all' },
  ): Promise<T[]>;
  fanOut<T = unknown>(
    tasks: readonly CoordinatedTask[],
    options: FanOutOptions & { policy: 'settled' },
  ): Promise<Settled<T>[]>;
  async fanOut<T>(
    tasks: readonly CoordinatedTask[],
    options: FanOutOptions = {},
  ): Promise<T[] | Settled<T>[]> {
    const { policy = 'all', ...rest } = options;
    if (policy !== 'all' && policy !== 'settled') {
      throw new SwitchboardError('invalid_request', 'policy must be one of all, settled', {
        details: { policy },
      });
    }
    if (!Array.isArray(tasks)) {
      throw new SwitchboardError('invalid_request', 'fan-out: expected an array of tasks');
    }
    const nodes: Record<string, DagNode> = {};
    tasks.forEach((task, i) => {
      const { payload, ...fields } = task;
      nodes[i] = { ...fields, payload: () => payload };
    });
    const partialFailure = policy === 'all' ? 'fail-fast' : 'continue';
    const execution = this.#execute({ nodes }, { ...rest, partialFailure });
    const { result, failure } = await execution.done;
    const where = (id: string) => `fan-out task ${id} (${tasks[Number(id)]?.capability})`;
    if (result.status === 'cancelled' || (policy === 'all' && result.status !== 'completed')) {
      throw rejection(execution, result, failure, where);
    }
    if (policy === 'all') return tasks.map((_, i) => result.results[i] as T);
    return tasks.map((_, i): Settled<T> => {
      if (i in result.results) return { ok: true, value: result.results[i] as T };
      const error = execution.errorOf(String(i)) ?? failure;
      return { ok: false, error: located(error as Error, where(String(i)), result.taskIds[i]) };
    });
  }

  /**
   * Runs steps one after another, each step's payload built from the previous result;
   * resolves with the last result. The first failure stops the pipeline.
   *
   * @throws SwitchboardError `invalid_request` without steps; else the failing step's code
   * (its message names the step), `timeout`, `cancelled`.
   */
  async pipeline<T = unknown>(
    steps: readonly PipelineStep[],
    options: PipelineOptions = {},
  ): Promise<T> {
    if (!Array.isArray(steps) || steps.length === 0) {
      throw new SwitchboardError('invalid_request', 'pipeline: expected at least one step');
    }
    const { input, ...rest } = options;
    const nodes: Record<string, DagNode> = {};
    steps.forEach((step, i) => {
      const { payload: build, ...fields } = step;
      const previous = (deps: Record<string, unknown>) => (i === 0 ? input : deps[i - 1]);
      nodes[i] = {
        ...fields,
        ...(i > 0 && { dependsOn: [String(i - 1)] }),
        payload: (deps) => (build === undefined ? previous(deps) : build(previous(deps))),
      };
    });
    const execution = this.#execute({ nodes }, { ...rest, partialFailure: 'fail-fast' });
    const { result, failure } = await execution.done;
    if (result.status !== 'completed') {
      const where = (id: string) => `pipeline step ${id} (${steps[Number(id)]?.capability})`;
      throw rejection(execution, result, failure, where);
    }
    return result.results[steps.length - 1] as T;
  }

  /**
   * Sends the same task to `agents` replicas and accepts the answer once `quorum` agree
   * under `compare`; the replicas still running are then cancelled. Replicas carry
   * `metadata: { consensusGroup, replica }`; distinct placement is best-effort (see
   * {@link runConsensus}).
   *
   * @throws SwitchboardError `invalid_request`, `task_failed` without a quorum
   * (`details.answers`: each distinct answer and its count), `timeout`, `cancelled`.
   * @example
   * ```ts
   * const { value } = await coordinator.consensus({ capability: 'llm', payload: q, agents: 3, quorum: 2 })
   * ```
   */
  async consensus<T = unknown>(input: ConsensusInput<T>): Promise<ConsensusResult<T>> {
    if (
      input === null ||
      typeof input !== 'object' ||
      typeof input.capability !== 'string' ||
      input.capability === ''
    ) {
      throw new SwitchboardError(
        'invalid_request',
        'consensus: capability must be a non-empty string',
      );
    }
    return runConsensus(this.#runner, input, this.#now);
  }

  #execute(spec: DagSpec, options: DagOptions): DagExecution {
    const execution = new DagExecution(planDag(spec), this.#runner, options, this.#now);
    execution.start();
    return execution;
  }
}

/** The error a fan-out or pipeline rejects with: the stop's, or the first failure located. */
function rejection(
  execution: DagExecution,
  result: DagResult,
  failure: DagOutcome['failure'],
  where: (id: string) => string,
): SwitchboardError {
  // Always set when the run did not complete: the first failure, else the stop's reason.
  const error = failure as Error;
  const id =
    result.status === 'cancelled'
      ? undefined
      : Object.keys(result.errors).find((k) => execution.errorOf(k) === error);
  return id === undefined
    ? (error as SwitchboardError)
    : located(error, where(id), result.taskIds[id]);
}
