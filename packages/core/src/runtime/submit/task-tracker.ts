import { SwitchboardError } from '../../errors.js';
import type { TaskRecord, TaskStatus } from '../../model/task.js';
import { idCounter } from '../../model/task-id.js';
import { TaskIndex } from '../../structures/task-index.js';

/** Who is told when a task ends. */
export interface Waiter {
  resolve(record: TaskRecord): void;
  reject(error: Error): void;
}

/** Task counters since start, as `stats()` reports them. */
export interface TaskCounters {
  submitted: number;
  completed: number;
  failed: number;
  dead: number;
  cancelled: number;
}

/**
 * The waiter of a run of tasks whose ids were minted one after the other (a `runMany`
 * batch, or a `submitMany` batch kept as columns): the task at `offset` of the run has the
 * id counter `first + offset`.
 */
export interface RunWaiter {
  /** Whether the task at `offset` is the one of `id` and this waiter still awaits it. */
  awaits(offset: number, id: string): boolean;
  /** The task at `offset` ended (called once per task, while `awaits` answers true). */
  endedAt(offset: number, record: TaskRecord): void;
  /** True once the waiter wants no more calls (every task ended, or one failed it). */
  readonly settled: boolean;
  reject(error: Error): void;
}

interface Run {
  readonly first: number;
  readonly count: number;
  readonly waiter: RunWaiter;
}

const LATENCY_SAMPLES = 1024;

/** True for `completed`, `dead` and `cancelled` (the hot path's test, without a set lookup). */
export function isTerminal(status: TaskStatus): boolean {
  return status === 'completed' || status === 'dead' || status === 'cancelled';
}
const THROUGHPUT_WINDOW_S = 10;

/** The error a caller awaiting a task's result gets when it ended without one. */
export function terminalError(record: TaskRecord): SwitchboardError {
  if (record.status === 'cancelled') {
    return new SwitchboardError('cancelled', `task ${record.id} was cancelled`, {
      details: { taskId: record.id },
    });
  }
  const last = record.error?.message ?? 'unknown error';
  return new SwitchboardError(
    'task_failed',
    `task ${record.id} failed after ${record.attempts} attempt(s): ${last}`,
    {
      retryable: false,
      details: { taskId: record.id, attempts: record.attempts, error: record.error },
    },
  );
}

/**
 * Who waits for which task to end, and the figures of ended tasks. Waiters exist only for
 * tasks someone awaits, so a task nobody awaits costs one map lookup when it ends.
 */
export class TaskTracker {
  readonly counters: TaskCounters = {
    submitted: 0,
    completed: 0,
    failed: 0,
    dead: 0,
    cancelled: 0,
  };
  // One waiter per task is the rule (its handle); a list only when several wait on one task.
  // Kept by the id's counter (see TaskIndex): a lookup stays cheap however deep the queue.
  readonly #waiters = new TaskIndex<Waiter | Waiter[]>();
  // Batches waited for as runs of id counters: no entry per task (see waitRun).
  /** Run waiters by `first`, ascending (runs never overlap: their ids are minted apart). */
  #runs: Run[] = [];
  readonly #latencies = new Float64Array(LATENCY_SAMPLES);
  #latencyCount = 0;
  readonly #buckets = new Float64Array(THROUGHPUT_WINDOW_S);
  readonly #bucketSecond = new Float64Array(THROUGHPUT_WINDOW_S);
  #startedAt: number;
  /** Set by {@link rejectAll}: a waiter that comes later is rejected with it at once. */
  #closed: Error | undefined;

  constructor(now: number) {
    this.#startedAt = now;
  }

  /** Calls back once the task of `id` is terminal (or rejects at shutdown). */
  wait(id: string, waiter: Waiter): void {
    if (this.#closed !== undefined) {
      waiter.reject(this.#closed);
      return;
    }
    if (this.#waiters.add(id, waiter)) return;
    const current = this.#waiters.get(id);
    if (Array.isArray(current)) current.push(waiter);
    else this.#waiters.set(id, [current as Waiter, waiter]);
  }

  /**
   * Calls `waiter.endedAt(offset, record)` as each task of a run ends: the tasks whose ids
   * have the counters `first` to `first + count - 1` (ids minted one after the other, see
   * `idCounter`), for as long as `waiter.awaits(offset, id)`. A batch is then waited for
   * without an index entry per task.
   */
  waitRun(first: number, count: number, waiter: RunWaiter): void {
    if (this.#closed !== undefined) {
      waiter.reject(this.#closed);
      return;
    }
    const runs = this.#runs;
    // Nearly always the newest run: appended; an older one (an await let a newer one in
    // first) is put in its place.
    let at = runs.length;
    while (at > 0 && (runs[at - 1] as Run).first > first) at--;
    runs.splice(at, 0, { first, count, waiter });
  }

  /**
   * True when someone here awaits the task of `id` (so a task ended by another process, of
   * which a cluster notice carries only the id, costs a read of its record only then).
   */
  awaits(id: string): boolean {
    return this.#waiters.has(id) || (this.#runs.length > 0 && this.#runOf(id) !== undefined);
  }

  /**
   * The run whose waiter awaits the task of `id` (its counter `seq`), if any. Runs whose
   * waiter settled otherwise (rejected through a task it waited for by id, or by its own
   * caller) are dropped on the way.
   */
  #runOf(id: string, seq = idCounter(id)): Run | undefined {
    if (seq < 0) return undefined;
    // The last run that starts at or before `seq` (a binary search: runs may be many).
    const runs = this.#runs;
    let lo = 0;
    let hi = runs.length - 1;
    let at = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if ((runs[mid] as Run).first <= seq) {
        at = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (at < 0) return undefined;
    const run = runs[at] as Run;
    if (run.waiter.settled) {
      runs.splice(at, 1);
      return undefined;
    }
    const offset = seq - run.first;
    return offset < run.count && run.waiter.awaits(offset, id) ? run : undefined;
  }

  /** Tells the run waiting for `record`'s task, if any; forgets it once it settled. */
  #endRun(record: TaskRecord): void {
    const seq = idCounter(record.id);
    const run = this.#runOf(record.id, seq);
    if (run === undefined) return;
    run.waiter.endedAt(seq - run.first, record);
    if (run.waiter.settled) {
      const at = this.#runs.indexOf(run);
      if (at >= 0) this.#runs.splice(at, 1);
    }
  }

  /** Forgets a waiter added by {@link wait} (harmless when it was already called back). */
  unwait(id: string, waiter: Waiter): void {
    const now = this.#waiters.get(id);
    if (now === waiter) this.#waiters.delete(id);
    else if (Array.isArray(now)) {
      const rest = now.filter((w) => w !== waiter);
      if (rest.length === 0) this.#waiters.delete(id);
      else this.#waiters.set(id, rest);
    }
  }

  /** Tells the waiters of a record that is terminal. */
  ended(record: TaskRecord): void {
    if (!isTerminal(record.status)) return;
    if (this.#runs.length > 0) this.#endRun(record);
    if (this.#waiters.size === 0) return;
    const waiting = this.#waiters.take(record.id);
    if (waiting === undefined) return;
    if (Array.isArray(waiting)) for (const waiter of waiting) waiter.resolve(record);
    else waiting.resolve(record);
  }

  /** Rejects every waiter (shutdown: their tasks stay in the backend, unfinished). */
  rejectAll(error: Error): void {
    this.#closed = error;
    const all = [...this.#waiters.values()];
    this.#waiters.clear();
    const runs = this.#runs;
    this.#runs = [];
    for (const run of runs) run.waiter.reject(error);
    for (const waiting of all) {
      if (Array.isArray(waiting)) for (const waiter of waiting) waiter.reject(error);
      else waiting.reject(error);
    }
  }

  /** Counts a completion and its end-to-end latency. */
  completed(record: TaskRecord, now: number): void {
    this.counters.completed++;
    this.#latencies[this.#latencyCount++ % LATENCY_SAMPLES] = now - record.createdAt;
    const second = Math.floor(now / 1000);
    const slot = second % THROUGHPUT_WINDOW_S;
    if (this.#bucketSecond[slot] !== second) {
      this.#bucketSecond[slot] = second;
      this.#buckets[slot] = 0;
    }
    this.#buckets[slot] = (this.#buckets[slot] as number) + 1;
  }

  /** Completions per second over the last ten seconds (or since start, when shorter). */
  throughputPerSec(now: number): number {
    const second = Math.floor(now / 1000);
    let sum = 0;
    for (let i = 0; i < THROUGHPUT_WINDOW_S; i++) {
      const at = this.#bucketSecond[i] as number;
      if (at > second - THROUGHPUT_WINDOW_S && at <= second) sum += this.#buckets[i] as number;
    }
    const elapsed = Math.min(THROUGHPUT_WINDOW_S, Math.max(1, (now - this.#startedAt) / 1000));
    return sum / elapsed;
  }

  /** p50 and p99 of the latest completions' end-to-end latencies, in ms. */
  latency(): { p50: number; p99: number } {
    const n = Math.min(this.#latencyCount, LATENCY_SAMPLES);
    if (n === 0) return { p50: 0, p99: 0 };
    const sorted = this.#latencies.slice(0, n).sort();
    const at = (q: number) => sorted[Math.min(n - 1, Math.floor(q * n))] as number;
    return { p50: at(0.5), p99: at(0.99) };
  }
}

/** What `submit` returns: the task's id and its outcome. */
export interface TaskHandle<O = unknown> {
  readonly id: string;
  /** `false` when an idempotency key matched an earlier task: nothing was created. */
  readonly created: boolean;
  /**
   * The task's result. Rejects with `task_failed` (the last error in `details`) when the
   * task is dead, `cancelled` when cancelled, `unavailable` when Switchboard shut down first.
   * Created on first access, so that a task nobody awaits leaves no unhandled rejection.
   */
  readonly result: Promise<O>;
  /** Cancels the task; resolves with the cancelled record. */
  cancel(): Promise<TaskRecord>;
}
