import type { CoordinatedTask, RunnerHandle, TaskRunner } from '../contracts/task-runner.js';
import { isSwitchboardError, SwitchboardError, toError } from '../errors.js';
import {
  type DagOptions,
  type DagOutcome,
  type DagResult,
  type DagStatus,
  nodeError,
  PARTIAL_FAILURE_POLICIES,
  type PartialFailure,
} from './coordinator-dag-types.js';
import { type DagNode, type DagPlan, downstreamOf, type NodeError } from './dag.js';
import { Deadline } from './deadline.js';

type NodeState = 'waiting' | 'ready' | 'active' | 'completed' | 'failed' | 'skipped';

/**
 * Runs one validated DAG on a {@link TaskRunner}: each node is submitted once all of its
 * dependencies settled, with the payload built from their results.
 */
export class DagExecution {
  /** Settles once nothing of the run is outstanding any more. */
  readonly done: Promise<DagOutcome>;
  readonly #plan: DagPlan;
  readonly #runner: TaskRunner;
  readonly #policy: PartialFailure;
  readonly #max: number;
  readonly #deadline: Deadline;
  readonly #signal: AbortSignal | undefined;
  readonly #state = new Map<string, NodeState>();
  readonly #waiting = new Map<string, number>();
  readonly #results = new Map<string, unknown>();
  readonly #errors = new Map<string, NodeError>();
  readonly #causes = new Map<string, Error>();
  readonly #taskIds = new Map<string, string>();
  readonly #handles = new Map<string, RunnerHandle>();
  readonly #queue: string[] = [];
  #active = 0;
  #stop: { status: DagStatus; error: SwitchboardError; timeout: boolean } | undefined;
  #failure: Error | undefined;
  #finished = false;
  #disarm: () => void = () => undefined;
  #resolve!: (outcome: DagOutcome) => void;

  /** @throws SwitchboardError `invalid_request` for a bad option. */
  constructor(plan: DagPlan, runner: TaskRunner, options: DagOptions, now: () => number) {
    const policy = options.partialFailure ?? 'fail-fast';
    if (!PARTIAL_FAILURE_POLICIES.includes(policy)) {
      throw new SwitchboardError(
        'invalid_request',
        `partialFailure must be one of ${PARTIAL_FAILURE_POLICIES.join(', ')}`,
        { details: { partialFailure: policy } },
      );
    }
    const max = options.maxConcurrency ?? Number.POSITIVE_INFINITY;
    if (!(max === Number.POSITIVE_INFINITY || (Number.isInteger(max) && max >= 1))) {
      throw new SwitchboardError('invalid_request', 'maxConcurrency must be an integer ≥ 1', {
        details: { maxConcurrency: max },
      });
    }
    this.#plan = plan;
    this.#runner = runner;
    this.#policy = policy;
    this.#max = max;
    this.#deadline = new Deadline(options.deadlineMs, now);
    this.#signal = options.signal;
    this.done = new Promise((resolve) => {
      this.#resolve = resolve;
    });
  }

  /** Submits the nodes without dependencies and arms the deadline and the signal. */
  start(): void {
    for (const id of this.#plan.order) {
      const count = (this.#plan.deps.get(id) as readonly string[]).length;
      this.#waiting.set(id, count);
      this.#state.set(id, count === 0 ? 'ready' : 'waiting');
      if (count === 0) this.#queue.push(id);
    }
    const onAbort = () => this.#end('cancelled');
    let disarmTimer = (): void => undefined;
    this.#signal?.addEventListener('abort', onAbort, { once: true });
    this.#disarm = () => {
      disarmTimer();
      this.#signal?.removeEventListener('abort', onAbort);
    };
    if (this.#signal?.aborted) this.#end('cancelled');
    // Armed after the listener, so an already-passed deadline ends the run through #disarm too.
    else disarmTimer = this.#deadline.onExpire(() => this.#end('timeout'));
    this.#pump();
  }

  /** The error a node ended with, as thrown (`undefined` for a node without one). */
  errorOf(id: string): Error | undefined {
    return this.#causes.get(id);
  }

  /** Stops the run: outstanding tasks are cancelled, nothing more is submitted. */
  cancel(reason: 'cancelled' | 'timeout'): Promise<DagOutcome> {
    this.#end(reason);
    return this.done;
  }

  #end(reason: 'cancelled' | 'timeout'): void {
    const error =
      reason === 'timeout'
        ? new SwitchboardError('timeout', `deadline passed (${this.#deadline.at ?? 0})`, {
            details: { deadline: this.#deadline.at },
          })
        : new SwitchboardError('cancelled', 'run cancelled');
    this.#halt(reason === 'timeout' ? 'failed' : 'cancelled', error, reason === 'timeout');
  }

  #halt(status: DagStatus, error: SwitchboardError, timeout = false): void {
    if (this.#stop !== undefined || this.#finished) return;
    this.#stop = { status, error, timeout };
    this.#disarm();
    for (const [id, handle] of this.#handles) this.#cancelTask(id, handle);
    this.#settleIfIdle();
  }

  #cancelTask(id: string, handle: RunnerHandle): void {
    handle.cancel().catch((error: unknown) => {
      // `conflict`: the task ended meanwhile and its result settles the node by itself.
      // Anything else means the result may never come: the node is given up on.
      if (!isSwitchboardError(error, 'conflict')) this.#failed(id, toError(error));
    });
  }

  #pump(): void {
    while (this.#stop === undefined && this.#queue.length > 0 && this.#active < this.#max) {
      if (this.#deadline.expired) {
        // A timer can fire late (a busy loop); the deadline still bars any new submit.
        this.#end('timeout');
        return;
      }
      this.#submit(this.#queue.shift() as string);
    }
    this.#settleIfIdle();
  }

  #submit(id: string): void {
    this.#state.set(id, 'active');
    this.#active++;
    let task: CoordinatedTask;
    let submitted: Promise<RunnerHandle>;
    try {
      task = this.#task(id);
      submitted = this.#runner.submit(task);
    } catch (error) {
      // A payload builder or a synchronous runner that throws fails this node only.
      const cause = toError(error);
      const wrapped = isSwitchboardError(cause)
        ? cause
        : new SwitchboardError('invalid_request', `node "${id}": ${cause.message}`, { cause });
      this.#failed(id, wrapped);
      return;
    }
    submitted.then(
      (handle) => {
        this.#taskIds.set(id, handle.id);
        this.#handles.set(id, handle);
        if (this.#stop !== undefined) this.#cancelTask(id, handle);
        handle.result.then(
          (value) => this.#completed(id, value),
          (error: unknown) => this.#failed(id, toError(error)),
        );
      },
      (error: unknown) => this.#failed(id, toError(error)),
    );
  }

  #task(id: string): CoordinatedTask {
    const node = this.#plan.nodes.get(id) as DagNode;
    const deps = this.#plan.deps.get(id) as readonly string[];
    const results: Record<string, unknown> = {};
    const failed: Record<string, NodeError> = {};
    for (const dep of deps) {
      if (this.#results.has(dep)) Object.defineProperty(results, dep, own(this.#results.get(dep)));
      else Object.defineProperty(failed, dep, own(this.#errors.get(dep)));
    }
    const payload =
      node.payload !== undefined
        ? node.payload(results, failed)
        : deps.length > 0
          ? results
          : undefined;
    const timeoutMs = this.#deadline.taskTimeout(node.timeoutMs);
    const at = this.#deadline.at;
    const metadata = at === undefined ? node.metadata : { ...node.metadata, deadline: at };
    return {
      capability: node.capability,
      ...(payload !== undefined && { payload }),
      ...(node.priority !== undefined && { priority: node.priority }),
      ...(timeoutMs !== undefined && { timeoutMs }),
      ...(node.maxAttempts !== undefined && { maxAttempts: node.maxAttempts }),
      ...(node.idempotencyKey !== undefined && { idempotencyKey: node.idempotencyKey }),
      ...(node.sessionKey !== undefined && { sessionKey: node.sessionKey }),
      ...(metadata !== undefined && { metadata }),
    };
  }

  #completed(id: string, value: unknown): void {
    if (!this.#leave(id, 'completed')) return;
    this.#results.set(id, value);
    for (const next of this.#plan.dependents.get(id) as readonly string[]) this.#release(next);
    this.#pump();
  }

  #failed(id: string, error: Error): void {
    if (!this.#leave(id, 'failed')) return;
    const stop = this.#stop;
    // A task the deadline cancelled reports `timeout`, not a bare cancel.
    const recorded = stop?.timeout && isSwitchboardError(error, 'cancelled') ? stop.error : error;
    this.#errors.set(id, nodeError(recorded));
    this.#causes.set(id, recorded);
    if (stop === undefined) {
      this.#failure ??= error;
      if (this.#policy === 'fail-fast') {
        this.#halt('failed', asSwitchboardError(error));
      } else if (this.#policy === 'skip-dependents') {
        for (const next of downstreamOf(this.#plan, id)) {
          if (this.#state.get(next) === 'waiting') this.#state.set(next, 'skipped');
        }
      } else {
        for (const next of this.#plan.dependents.get(id) as readonly string[]) this.#release(next);
      }
    }
    this.#pump();
  }

  /** Marks an active node settled; false when it already was (a late or duplicate answer). */
  #leave(id: string, state: 'completed' | 'failed'): boolean {
    if (this.#state.get(id) !== 'active') return false;
    this.#state.set(id, state);
    this.#handles.delete(id);
    this.#active--;
    return true;
  }

  #release(id: string): void {
    const left = (this.#waiting.get(id) as number) - 1;
    this.#waiting.set(id, left);
    if (left === 0 && this.#state.get(id) === 'waiting') {
      this.#state.set(id, 'ready');
      this.#queue.push(id);
    }
  }

  #settleIfIdle(): void {
    if (this.#finished || this.#active > 0) return;
    if (this.#stop === undefined && this.#queue.length > 0) return;
    this.#finished = true;
    this.#disarm();
    const skipped = this.#plan.order.filter((id) => {
      const state = this.#state.get(id);
      return state !== 'completed' && state !== 'failed';
    });
    const stop = this.#stop;
    const status: DagStatus = stop?.status ?? (this.#errors.size > 0 ? 'failed' : 'completed');
    const result: DagResult = {
      status,
      results: Object.fromEntries(this.#results),
      errors: Object.fromEntries(this.#errors),
      skipped,
      taskIds: Object.fromEntries(this.#taskIds),
      ...(stop !== undefined && { error: nodeError(stop.error) }),
    };
    const failure = stop?.status === 'cancelled' ? stop.error : (this.#failure ?? stop?.error);
    this.#resolve(failure === undefined ? { result } : { result, failure });
  }
}

function asSwitchboardError(error: Error): SwitchboardError {
  return isSwitchboardError(error)
    ? error
    : new SwitchboardError('task_failed', error.message, { cause: error });
}

// Node ids are arbitrary strings: `__proto__` must become an own key, not a prototype.
function own(value: unknown): PropertyDescriptor {
  return { value, enumerable: true, configurable: true, writable: true };
}
