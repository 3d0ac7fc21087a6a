import type { EnqueueResult } from '../../contracts/backend.js';
import { SwitchboardError, shuttingDown, taskNotFound } from '../../errors.js';
import type { TaskRecord } from '../../model/task.js';
import type { TaskColumns } from '../../model/task-columns.js';
import { idCounter, nextTaskId } from '../../model/task-id.js';
import type { Engine } from '../engine.js';
import type { SwitchboardOptions } from '../options.js';
import { BatchResult } from './batch-result.js';
import { plainColumns, runColumns, submitColumns } from './column-batch.js';
import type { SubmitGate } from './submit-gate.js';
import { endSubmitSpans, startSubmitSpans } from './submit-spans.js';
import { Handle } from './task-handle.js';
import {
  checkPayloadSize,
  type SubmitInput,
  type TaskDefaults,
  toTaskRecord,
  withPrefix,
} from './task-input.js';
import type { QueryRoles } from './task-queries.js';
import { cancelTask } from './task-queries.js';
import { isTerminal, type TaskHandle, type Waiter } from './task-tracker.js';

/** The roles the intake uses, so that it can be built and tested with just these. */
export type IntakeRoles = Pick<
  Engine,
  | 'backend'
  | 'dispatcher'
  | 'events'
  | 'listens'
  | 'now'
  | 'policies'
  | 'pool'
  | 'taskPolicies'
  | 'telemetry'
  | 'tracker'
> &
  QueryRoles;

/** The error `toTaskRecord` gives for an input, its paths prefixed by `prefix`. */
function invalidAt(
  input: SubmitInput,
  id: string,
  now: number,
  defaults: TaskDefaults,
  prefix: string,
): SwitchboardError | undefined {
  try {
    toTaskRecord(input, id, now, defaults, prefix);
  } catch (error) {
    return error as SwitchboardError;
  }
  return undefined;
}

function countByCapability(records: readonly TaskRecord[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of records) counts.set(r.capability, (counts.get(r.capability) ?? 0) + 1);
  return counts;
}

/**
 * The submit side of the Switchboard API: validation, idempotency, rate limits, policies,
 * and the waits of handles and batches (queries and cancel are in task-queries.ts, the
 * lease answers in lease-answers.ts).
 */
export class TaskIntake {
  accepting = true;
  readonly #engine: IntakeRoles;
  readonly #gate: SubmitGate;
  readonly #defaults: TaskDefaults;
  readonly #maxPayloadBytes: number | undefined;
  #opened: Promise<void> | undefined;
  #open = false;

  constructor(engine: IntakeRoles, options: SwitchboardOptions, gate: SubmitGate) {
    this.#engine = engine;
    this.#gate = gate;
    this.#defaults = {
      timeoutMs: options.defaultTimeoutMs ?? 30_000,
      maxAttempts: options.defaultMaxAttempts ?? 3,
    };
    this.#maxPayloadBytes = options.maxPayloadBytes;
  }

  /** Opens the backend once (submits before `start()` are queued). */
  open(): Promise<void> {
    this.#opened ??= this.#engine.backend.open().then(() => {
      this.#open = true;
    });
    return this.#opened;
  }

  /**
   * One task: the steps of {@link submitMany} without its arrays, count maps and per-item
   * error gathering (a single submit is the HTTP hot path: one task a request).
   */
  async submit(input: SubmitInput): Promise<TaskHandle> {
    const engine = this.#engine;
    if (!this.accepting) throw shuttingDown();
    if (!this.#open) await this.open();
    const now = engine.now();
    const record = toTaskRecord(input, nextTaskId(), now, this.#defaults);
    this.#check(input, record);
    const key = record.idempotencyKey;
    if (key !== undefined) {
      const known = this.#gate.known(key);
      if (known !== undefined) return new Handle(known, false, this, undefined);
    }
    if (this.#gate.limited) {
      // A promise only when the buckets live in a shared backend.
      const admitted = this.#gate.admit(record.submitter, new Map([[record.capability, 1]]), now);
      if (admitted !== undefined) await admitted;
    }
    const telemetry = engine.telemetry;
    const spans = telemetry === undefined ? undefined : startSubmitSpans(telemetry, [record]);
    const enqueued = engine.backend.enqueue([record]);
    if (spans !== undefined) endSubmitSpans(spans, enqueued);
    const [result] = await enqueued;
    const { task, created } = result as { task: TaskRecord; created: boolean };
    this.#accepted(input, task, created, now);
    return new Handle(
      task.id,
      created,
      this,
      engine.backend.liveRecords === true ? task : undefined,
    );
  }

  async submitMany(inputs: readonly SubmitInput[]): Promise<TaskHandle[]> {
    const columns = await this.#plain(inputs);
    if (columns !== undefined) return submitColumns(this.#engine, columns, (id) => this.cancel(id));
    const handles: TaskHandle[] = new Array(inputs.length);
    await this.#enqueueMany(inputs, (i, id, created, live) => {
      handles[i] = new Handle(id, created, this, live);
    });
    return handles;
  }

  /**
   * Submits tasks as {@link submitMany} does and resolves with their results in input
   * order; rejects as soon as one task ends without a result (see `Switchboard.runMany`).
   */
  async runMany(inputs: readonly SubmitInput[]): Promise<unknown[]> {
    const columns = await this.#plain(inputs);
    if (columns !== undefined) return runColumns(this.#engine, columns);
    const batch = new BatchResult(Array.isArray(inputs) ? inputs.length : 0);
    const tracker = this.#engine.tracker;
    let run = 0;
    const each = (i: number, id: string, created: boolean, live: TaskRecord | undefined) => {
      if (live === undefined) this.#watch(id, batch.slot(i), undefined);
      else if (!batch.live(i, live)) return;
      else if (created) {
        // Its id is the one minted for input i: awaited with the batch's run of ids.
        batch.inRun(i);
        run++;
      } else tracker.wait(id, batch);
    };
    // Called in the same turn as `each`, before any task of the batch can have ended.
    const enqueued = (first: number) => {
      if (run > 0) tracker.waitRun(first, inputs.length, batch);
    };
    await this.#enqueueMany(inputs, each, enqueued);
    return batch.promise;
  }

  /**
   * The batch as columns when it is plain and the backend takes columns (see
   * `plainColumns`), the backend opened; `undefined` when it goes as records.
   */
  async #plain(inputs: readonly SubmitInput[]): Promise<TaskColumns | undefined> {
    if (!this.accepting) return undefined;
    // A traced batch goes as records: each task needs its own submit span and trace context.
    const limited =
      this.#gate.limited ||
      this.#maxPayloadBytes !== undefined ||
      this.#engine.pool.checksTasks ||
      this.#engine.telemetry !== undefined;
    const columns = plainColumns(this.#engine, inputs, this.#defaults, limited);
    if (columns === undefined) return undefined;
    if (!this.#open) await this.open();
    // Shutdown may have begun while the backend opened.
    if (!this.accepting) throw shuttingDown();
    return columns;
  }

  /**
   * Validates and enqueues a batch, all or nothing (an invalid item's index is in
   * `details`), then tells `each` of every task: its id, whether it was created (not an
   * idempotency key's earlier task), and its record when the backend hands out live ones.
   * Then, in the same turn (no task of the batch can have ended yet), tells `enqueued` the
   * id counter of the first input's task: input i's id has the counter `first + i`, the
   * batch's ids being minted one after the other in one synchronous loop.
   */
  async #enqueueMany(
    inputs: readonly SubmitInput[],
    each: (index: number, id: string, created: boolean, live: TaskRecord | undefined) => void,
    enqueued?: (first: number) => void,
  ): Promise<void> {
    const engine = this.#engine;
    if (!this.accepting) throw shuttingDown();
    if (!this.#open) await this.open();
    if (!Array.isArray(inputs) || inputs.length === 0) {
      throw new SwitchboardError('invalid_request', 'tasks: expected at least one task');
    }
    const now = engine.now();
    const n = inputs.length;
    const records: TaskRecord[] = new Array(n);
    const issues: unknown[] = [];
    let firstError: SwitchboardError | undefined;
    let keyed = false;
    let firstId = '';
    for (let i = 0; i < n; i++) {
      const input = inputs[i] as SubmitInput;
      const id = nextTaskId();
      if (i === 0) firstId = id;
      try {
        const record = toTaskRecord(input, id, now, this.#defaults);
        this.#check(input, record);
        if (record.idempotencyKey !== undefined) keyed = true;
        records[i] = record;
      } catch (error) {
        if (!(error instanceof SwitchboardError) || error.code !== 'invalid_request') throw error;
        // Built again for its error only, with the item's path (no path string per task).
        // An input toTaskRecord takes failed a check of #check (its payload): prefixed as is.
        const prefixed =
          invalidAt(input, id, now, this.#defaults, `tasks.${i}.`) ??
          withPrefix(error, `tasks.${i}.`);
        firstError ??= prefixed;
        issues.push(...(prefixed.details as unknown[]));
      }
    }
    if (firstError !== undefined) {
      throw new SwitchboardError('invalid_request', firstError.message, { details: issues });
    }
    // Without idempotency keys every record is fresh: no second array, no lookups.
    let fresh = records;
    let known: (string | undefined)[] | undefined;
    if (keyed) {
      fresh = [];
      known = new Array(n);
      for (let i = 0; i < n; i++) {
        const record = records[i] as TaskRecord;
        const key = record.idempotencyKey;
        known[i] = key === undefined ? undefined : this.#gate.known(key);
        if (known[i] === undefined) fresh.push(record);
      }
    }
    let results: readonly EnqueueResult[] | undefined;
    if (fresh.length > 0) {
      if (this.#gate.limited)
        await this.#gate.admit(records[0]?.submitter, countByCapability(fresh), now);
      const backend = engine.backend;
      const telemetry = engine.telemetry;
      const spans = telemetry === undefined ? undefined : startSubmitSpans(telemetry, fresh);
      // No idempotency key: every task is new, and no result per task is needed.
      const enqueued =
        !keyed && backend.enqueueNew !== undefined
          ? backend.enqueueNew(fresh)
          : backend.enqueue(fresh).then((r) => {
              results = r;
            });
      if (spans !== undefined) endSubmitSpans(spans, enqueued);
      await enqueued;
    }
    const live = engine.backend.liveRecords === true;
    let k = 0;
    for (let i = 0; i < n; i++) {
      const knownId = known?.[i];
      if (knownId !== undefined) {
        each(i, knownId, false, undefined);
        continue;
      }
      let task = records[i] as TaskRecord;
      let created = true;
      if (results !== undefined) ({ task, created } = results[k++] as EnqueueResult);
      this.#accepted(inputs[i] as SubmitInput, task, created, now);
      each(i, task.id, created, live ? task : undefined);
    }
    enqueued?.(idCounter(firstId));
  }

  /**
   * The checks that need the Switchboard: policy, payload size, a signal already aborted,
   * and the agents' own `checkTask` hooks.
   */
  #check(input: SubmitInput, record: TaskRecord): void {
    const engine = this.#engine;
    const policy = input.policy ?? engine.policies.get(record.capability);
    if (policy === 'immediate' && !engine.pool.hasLive(record.capability)) {
      throw new SwitchboardError(
        'no_agent',
        `no live agent has capability "${record.capability}"`,
        {
          details: { capability: record.capability },
        },
      );
    }
    if (input.signal?.aborted)
      throw new SwitchboardError('cancelled', 'the submit signal is aborted');
    const max = this.#maxPayloadBytes;
    if (max !== undefined) checkPayloadSize(record.payload, max);
    if (engine.pool.checksTasks) engine.pool.checkTask(record);
  }

  #accepted(input: SubmitInput, task: TaskRecord, created: boolean, now: number): void {
    const engine = this.#engine;
    if (task.idempotencyKey !== undefined) this.#gate.remember(task.idempotencyKey, task.id);
    if (!created) return;
    engine.tracker.counters.submitted++;
    const policy = input.policy;
    if (
      (policy === 'delegated' || policy === 'consolidated') &&
      engine.policies.get(task.capability) !== policy
    ) {
      engine.taskPolicies.set(task.id, policy);
    }
    if (task.availableAt > now) engine.dispatcher.wakeAt(task.availableAt);
    input.signal?.addEventListener('abort', () => this.cancel(task.id).catch(() => undefined), {
      once: true,
    });
    if (engine.listens('task.queued')) {
      engine.events.publish('task.queued', {
        taskId: task.id,
        capability: task.capability,
        priority: task.priority,
      });
    }
  }

  /** Settles `handle` once its task is terminal (at once when it already is). */
  await(handle: Handle<unknown>, live: TaskRecord | undefined): void {
    this.#watch(handle.id, handle, live);
  }

  /** Tells `waiter` once the task of `id` is terminal (at once when it already is). */
  #watch(id: string, waiter: Waiter, live: TaskRecord | undefined): void {
    const engine = this.#engine;
    if (live !== undefined) {
      // The backend's own record: its status is current, no lookup needed.
      if (isTerminal(live.status)) waiter.resolve(live);
      else engine.tracker.wait(id, waiter);
      return;
    }
    engine.tracker.wait(id, waiter);
    engine.backend.get(id).then(
      (record) => {
        if (record === undefined) waiter.reject(taskNotFound(id));
        else if (isTerminal(record.status)) engine.tracker.ended(record);
      },
      (error: unknown) => waiter.reject(error as Error),
    );
  }

  /** Cancels a task (see {@link cancelTask}); a handle's `cancel` and an aborted signal call it. */
  cancel(id: string): Promise<TaskRecord> {
    return cancelTask(this.#engine, id);
  }
}
