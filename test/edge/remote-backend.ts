/**
 * The Node end of test/edge/fixtures/backend-host.ts: a {@link Backend} whose every method
 * runs on the Durable Object backend of one object on workerd, over HTTP, so that the
 * conformance suite (which runs in Node's vitest) checks that backend where it runs. Errors
 * come back as `SwitchboardError`s of the same code; `onAvailable` listeners hear what the
 * object's backend told its own listener during each call.
 */
import type {
  Backend,
  BackendFairness,
  Completion,
  EnqueueResult,
  FailOutcome,
  LeaseRequest,
  QueueStats,
  ScheduleRecord,
  ScheduleStore,
  TaskError,
  TaskListQuery,
  TaskPage,
  TaskProgress,
  TaskRecord,
} from '@switchboard/core';
import { SwitchboardError } from '@switchboard/core';

interface Answer {
  value?: unknown;
  error?: WireError;
  available?: string[];
}

interface WireError {
  code: SwitchboardError['code'];
  message: string;
  details?: unknown;
}

function errorOf(e: WireError): SwitchboardError {
  return new SwitchboardError(
    e.code,
    e.message,
    e.details === undefined ? {} : { details: e.details },
  );
}

/** A backend of the object `name` of the Worker at `url` (ending in `/`). */
export class RemoteBackend implements Backend {
  readonly name = 'durable-object';
  readonly durable = true;
  readonly #url: string;
  readonly #listeners = new Set<(capability: string) => void>();
  /** The object's backend's schedule store, over the same HTTP calls. */
  readonly schedules: ScheduleStore = {
    put: (record) => this.#call('schedules.put', [record]) as Promise<void>,
    get: (id) => this.#call('schedules.get', [id]) as Promise<ScheduleRecord | undefined>,
    list: () => this.#call('schedules.list', []) as Promise<ScheduleRecord[]>,
    delete: (id) => this.#call('schedules.delete', [id]) as Promise<boolean>,
    claimTick: (id, tickAt) => this.#call('schedules.claimTick', [id, tickAt]) as Promise<boolean>,
    // JSON has no undefined: a skipped tick's absent task id is left out, not sent as null.
    settleTick: (id, tickAt, taskId) =>
      this.#call(
        'schedules.settleTick',
        taskId === undefined ? [id, tickAt] : [id, tickAt, taskId],
      ) as Promise<void>,
  };

  /** The object's backend's fair dispatch, over the same HTTP calls (maps sent as entries). */
  readonly fairness: BackendFairness = {
    configure: (policy) =>
      this.#call('fairness.configure', [
        {
          ...policy,
          weights: [...policy.weights],
          maxConcurrencyByKey: [...policy.maxConcurrencyByKey],
          maxConcurrencyByCapability: [...policy.maxConcurrencyByCapability],
        },
      ]) as Promise<void>,
    setKey: (key, settings) => this.#call('fairness.setKey', [key, settings]) as Promise<void>,
    leased: (key) => this.#call('fairness.leased', [key]) as Promise<number>,
  };

  constructor(url: string, name: string) {
    this.#url = `${url}${name}`;
  }

  /**
   * Makes a new backend in the object, over its storage (a new object after an eviction),
   * with `options` of `createDurableObjectBackend` beside the storage.
   */
  async make(options: { maxRecordBytes?: number } = {}): Promise<this> {
    await this.#call('make', [options]);
    return this;
  }

  async #call(method: string, args: unknown[]): Promise<unknown> {
    const res = await fetch(this.#url, { method: 'POST', body: JSON.stringify({ method, args }) });
    if (!res.ok) throw new Error(`${method}: HTTP ${res.status}: ${await res.text()}`);
    const answer = (await res.json()) as Answer;
    for (const capability of answer.available ?? []) {
      for (const listener of this.#listeners) listener(capability);
    }
    if (answer.error !== undefined) throw errorOf(answer.error);
    if (Array.isArray(answer.value)) {
      return answer.value.map((v) =>
        typeof v === 'object' && v !== null && '$error' in v ? errorOf(v.$error as WireError) : v,
      );
    }
    return answer.value;
  }

  open(): Promise<void> {
    return this.#call('open', []) as Promise<void>;
  }
  close(): Promise<void> {
    return this.#call('close', []) as Promise<void>;
  }
  enqueue(tasks: readonly TaskRecord[]): Promise<EnqueueResult[]> {
    return this.#call('enqueue', [tasks]) as Promise<EnqueueResult[]>;
  }
  enqueueNew(tasks: readonly TaskRecord[]): Promise<void> {
    return this.#call('enqueueNew', [tasks]) as Promise<void>;
  }
  lease(request: LeaseRequest): Promise<TaskRecord[]> {
    return this.#call('lease', [request]) as Promise<TaskRecord[]>;
  }
  complete(id: string, leaseToken: string, result: unknown, now: number): Promise<TaskRecord> {
    return this.#call('complete', [id, leaseToken, result, now]) as Promise<TaskRecord>;
  }
  completeMany(
    completions: readonly Completion[],
    now: number,
  ): Promise<(TaskRecord | SwitchboardError)[]> {
    return this.#call('completeMany', [completions, now]) as Promise<TaskRecord[]>;
  }
  fail(
    id: string,
    leaseToken: string,
    error: TaskError,
    outcome: FailOutcome,
    now: number,
  ): Promise<TaskRecord> {
    return this.#call('fail', [id, leaseToken, error, outcome, now]) as Promise<TaskRecord>;
  }
  extend(id: string, leaseToken: string, ms: number, now: number): Promise<TaskRecord> {
    return this.#call('extend', [id, leaseToken, ms, now]) as Promise<TaskRecord>;
  }
  progress(
    id: string,
    leaseToken: string,
    progress: TaskProgress | undefined,
    ms: number | undefined,
    now: number,
  ): Promise<TaskRecord> {
    // JSON has no undefined: an absent argument crosses as null, which the backend takes as absent.
    return this.#call('progress', [id, leaseToken, progress, ms, now]) as Promise<TaskRecord>;
  }
  release(
    leases: readonly { id: string; leaseToken: string }[],
    error: TaskError,
    now: number,
  ): Promise<TaskRecord[]> {
    return this.#call('release', [leases, error, now]) as Promise<TaskRecord[]>;
  }
  handOff(
    leases: readonly { id: string; leaseToken: string }[],
    agentId: string,
    now: number,
  ): Promise<void> {
    return this.#call('handOff', [leases, agentId, now]) as Promise<void>;
  }
  agentLeases(agentId: string): Promise<TaskRecord[]> {
    return this.#call('agentLeases', [agentId]) as Promise<TaskRecord[]>;
  }
  cancel(id: string, now: number): Promise<TaskRecord> {
    return this.#call('cancel', [id, now]) as Promise<TaskRecord>;
  }
  get(id: string): Promise<TaskRecord | undefined> {
    return this.#call('get', [id]) as Promise<TaskRecord | undefined>;
  }
  expireLeases(now: number): Promise<TaskRecord[]> {
    return this.#call('expireLeases', [now]) as Promise<TaskRecord[]>;
  }
  readyCapabilities(now: number): Promise<string[]> {
    return this.#call('readyCapabilities', [now]) as Promise<string[]>;
  }
  nextAvailableAt(): Promise<number | undefined> {
    return this.#call('nextAvailableAt', []) as Promise<number | undefined>;
  }
  listTasks(query: TaskListQuery): Promise<TaskPage> {
    return this.#call('listTasks', [query]) as Promise<TaskPage>;
  }
  deadLetters(limit?: number): Promise<TaskRecord[]> {
    return this.#call('deadLetters', limit === undefined ? [] : [limit]) as Promise<TaskRecord[]>;
  }
  replay(id: string, now: number): Promise<TaskRecord> {
    return this.#call('replay', [id, now]) as Promise<TaskRecord>;
  }
  deleteDeadLetter(id: string): Promise<void> {
    return this.#call('deleteDeadLetter', [id]) as Promise<void>;
  }
  stats(): Promise<QueueStats> {
    return this.#call('stats', []) as Promise<QueueStats>;
  }
  onAvailable(listener: (capability: string) => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }
}
