import type { SwitchboardError } from '../errors.js';
import type { Priority } from '../model/priority.js';
import type { TaskProgress } from '../model/progress.js';
import type { TaskError, TaskRecord } from '../model/task.js';
import type { TaskColumns } from '../model/task-columns.js';
import type { TaskListQuery, TaskPage } from '../model/task-list.js';
import type { AgentDirectory } from './agent-directory.js';
import type { ClusterChannel } from './cluster-channel.js';
import type { BackendFairness } from './fairness.js';
import type { RateDecision, TokenBucketOptions } from './rate-limiter.js';
import type { ScheduleStore } from './schedule-store.js';
import type { SharedStreamBounds, StreamStore } from './stream-store.js';

/** The result of enqueueing one task: the stored task, and whether it is new. */
export interface EnqueueResult {
  task: TaskRecord;
  /** `false` when an `idempotencyKey` matched a task already stored: nothing was created. */
  created: boolean;
}

/** A request to lease queued tasks of one capability for one agent. */
export interface LeaseRequest {
  capability: string;
  /** The agent that will hold the leases. */
  agentId: string;
  /** At most this many tasks (≥ 1). */
  max: number;
  /** The current time (epoch ms); tasks with `availableAt > now` are not leased. */
  now: number;
  /**
   * A lease token for every task of this lease, made unguessable by the caller
   * (`createLeaseToken()`) and kept within its process (it hands the tasks to in-process
   * agents only). A backend may use it instead of minting one per task (the memory and
   * journal backends do: a token a task was the largest cost left in a lease there). Tasks
   * sharing it are told apart by their ids, and each lease of a task still has a token no
   * earlier lease of it had. Remote agents must never get such a token: it would open the
   * other tasks of the lease too. A durable backend may take such a lease as one of this
   * process's own handlers' (it dies with the process, its attempt counted), and a lease
   * taken without one as one a remote agent may get (see {@link Backend.handOff}).
   */
  token?: string;
}

/** One lease to complete in a {@link Backend.completeMany} batch. */
export interface Completion {
  readonly id: string;
  readonly leaseToken: string;
  readonly result: unknown;
}

/** How a failed attempt ends: another attempt later, or the dead-letter queue. */
export interface FailOutcome {
  /** Requeue when `true` and attempts remain; else the task is dead. */
  retry: boolean;
  /** When requeued: not leased again before this instant (backoff). */
  availableAt: number;
}

/** A rate limiter whose buckets live in a shared backend (see {@link Backend.sharedRateLimiter}). */
export interface SharedRateLimiter {
  /** Takes `cost` tokens from `key`'s bucket when it has them, atomically across processes. */
  acquire(key: string, cost: number, now: number): Promise<RateDecision>;
}

/** Queue figures of a backend. */
export interface QueueStats {
  depth: number;
  byPriority: Record<Priority, number>;
  leased: number;
  delayed: number;
  dead: number;
}

/**
 * The state Switchboard must not lose: queues, leases, the task store, dead letters and
 * idempotency keys. In-memory is core's default; the journal and Redis backends live in
 * `@switchboard/plugins`. Every implementation passes the shared `testBackend(make)` suite.
 *
 * Rules every method follows:
 * - Lease transitions are atomic: a stale or foreign `leaseToken` throws a
 *   `SwitchboardError` `conflict`, and so does any transition of a terminal task.
 * - An unknown id throws `not_found`.
 * - Methods are batch-first where the hot path calls them (`enqueue`, `lease`, and
 *   `completeMany` where a backend offers it).
 */
export interface Backend {
  readonly name: string;
  /** Whether acknowledged state survives a crash of this process. */
  readonly durable: boolean;
  /**
   * Optional: `true` when every record this backend returns is its live stored object,
   * which later transitions update in place (an in-memory backend). Switchboard then reads
   * a task's status from the record `enqueue` returned instead of calling `get`.
   */
  readonly liveRecords?: boolean;
  /**
   * Optional: the remote-agent registry shared by every process on this backend. With it, an
   * agent registered through one process can heartbeat, lease and leave through any other,
   * and every process lists every agent. A single-process backend leaves it out.
   */
  readonly agents?: AgentDirectory;
  /**
   * Optional: a broadcast channel to every process on this backend. With it, events reach
   * subscribers on every process, a submitter awaiting a task on one process hears it end on
   * another, and a lease answered through another process is settled where it is held.
   */
  readonly cluster?: ClusterChannel;
  /**
   * Optional: a token bucket kept in the backend, which every process on it draws from
   * atomically. With it, a Switchboard's submit rate limits given as bucket options
   * (`rateLimits.perSubmitter`, `perCapability`) hold across processes; `name` keeps the
   * limits apart.
   */
  sharedRateLimiter?(name: string, options: TokenBucketOptions): SharedRateLimiter;
  /**
   * Optional: the streams of partial output (`ctx.stream`) kept in the backend, so that every
   * process reads a task's stream whichever process its chunks reached. Without it, each
   * process keeps the streams of the chunks it received in its own memory.
   */
  streams?(bounds: SharedStreamBounds): StreamStore;
  /**
   * Optional: the schedules, kept by the backend with where each one's ticks stand, so they
   * survive a restart (on a durable backend) and every process sharing the backend fires
   * each tick once (see {@link ScheduleStore.claimTick}). Without it, Switchboard keeps the
   * schedules in its own memory.
   */
  readonly schedules?: ScheduleStore;
  /**
   * Optional: fair dispatch among the tasks' fairness keys, by weight, with per-key caps
   * (docs/fairness.md). Without it, a task's `fairnessKey` is stored and nothing more: tasks
   * are leased by priority, then in order.
   */
  readonly fairness?: BackendFairness;

  /** Opens connections / replays the journal. Idempotent. */
  open(): Promise<void>;
  /** Flushes and releases resources. */
  close(): Promise<void>;

  /** Stores and queues tasks, in order; a known `idempotencyKey` returns the first task. */
  enqueue(tasks: readonly TaskRecord[]): Promise<EnqueueResult[]>;
  /**
   * Stores and queues tasks none of which carries an `idempotencyKey`, in order, all or
   * none: what `enqueue` does, without a result per task (each is new, or the call
   * rejects: an id that exists is `conflict`, a record with an idempotency key or an
   * unknown priority `invalid_request`, and nothing is stored). Optional: Switchboard calls
   * `enqueue` when a backend lacks it.
   */
  enqueueNew?(tasks: readonly TaskRecord[]): Promise<void>;
  /**
   * Optional: stores and queues a batch given as columns (see {@link TaskColumns}), all
   * new, as `enqueueNew` would their records, without holding an object per task until one
   * is needed (read, leased, cancelled). Switchboard's `runMany` and `submitMany` send
   * plain batches (one capability, no per-task options) this way when a backend has it.
   */
  enqueueColumns?(columns: TaskColumns): Promise<void>;
  /**
   * Leases up to `max` available tasks of a capability: strict priority, FIFO within one.
   * Each leased task gets a fresh unguessable `leaseToken`, `leaseExpiresAt = now +
   * timeoutMs`, `agentId`, and `attempts + 1`.
   */
  lease(request: LeaseRequest): Promise<TaskRecord[]>;
  /** Completes a leased task with its result. */
  complete(id: string, leaseToken: string, result: unknown, now: number): Promise<TaskRecord>;
  /**
   * Completes many leases in one call, as `complete` would one by one, in order. Optional:
   * Switchboard falls back to `complete` per task when a backend lacks it. One lease that
   * fails (a stale token: `conflict`; an unknown id: `not_found`) fails alone: its slot in
   * the answer holds that error, and the others still complete. The promise itself rejects
   * only when the backend cannot answer at all (closed, connection lost).
   */
  completeMany?(
    completions: readonly Completion[],
    now: number,
  ): Promise<(TaskRecord | SwitchboardError)[]>;
  /** Ends a leased attempt with an error: requeued (backoff) or dead, as `outcome` says. */
  fail(
    id: string,
    leaseToken: string,
    error: TaskError,
    outcome: FailOutcome,
    now: number,
  ): Promise<TaskRecord>;
  /** Moves a lease's expiry to `now + ms`. */
  extend(id: string, leaseToken: string, ms: number, now: number): Promise<TaskRecord>;
  /**
   * Optional: a report of the lease's holder, applied at once. The lease's expiry moves to
   * `now + ms` as `extend` would (`ms` absent: the task's own `timeoutMs`, a heartbeat), and
   * `progress`, when given, becomes the record's `progress`, which stays when the task ends.
   * A stale or foreign token is `conflict`, as for `extend`. Without it, Switchboard renews
   * the lease with `extend` and the last progress is only in the `task.progress` events.
   */
  progress?(
    id: string,
    leaseToken: string,
    progress: TaskProgress | undefined,
    ms: number | undefined,
    now: number,
  ): Promise<TaskRecord>;
  /**
   * Puts leased tasks back to the queue at once (agent failure, graceful leave, drain).
   * The attempt stays counted; a task out of attempts goes dead with `error`.
   * Tokens that are stale are skipped. Returns the tasks as they now stand.
   */
  release(
    leases: readonly { id: string; leaseToken: string }[],
    error: TaskError,
    now: number,
  ): Promise<TaskRecord[]>;
  /**
   * Optional: records that live leases, taken by this process, are now held by the remote
   * agent `agentId` (Switchboard calls it before a lease poll answers, so the agent never
   * holds a lease the backend does not know it holds). Stale tokens are skipped. A durable
   * single-process backend keeps such a lease across a restart of its process (a lease of
   * this process's own handlers dies with the process); a shared one lets any process find
   * it with {@link agentLeases} and fail it over.
   */
  handOff?(
    leases: readonly { id: string; leaseToken: string }[],
    agentId: string,
    now: number,
  ): Promise<void>;
  /**
   * Optional, with {@link handOff}: the live leases held in the name of `agentId`, as records
   * with their tokens and expiries: those handed off to the remote agent `agentId` (by any
   * process) and, on a backend several processes share, those taken under `agentId`
   * ({@link LeaseRequest.agentId}) and not handed off since. Switchboard reads them to fail
   * over an agent whose leases another process, or an earlier run, handed out, and a process
   * that died (it leases under a holder id of its own, which it keeps alive in the agent
   * directory): its in-process handlers' leases are among the second kind.
   */
  agentLeases?(agentId: string): Promise<TaskRecord[]>;
  /** Cancels a task that is not terminal; its lease (if any) answers `conflict` afterwards. */
  cancel(id: string, now: number): Promise<TaskRecord>;
  /** The stored task, or `undefined`. */
  get(id: string): Promise<TaskRecord | undefined>;
  /** Leases whose expiry has passed are released (as `release` does); returns those tasks. */
  expireLeases(now: number): Promise<TaskRecord[]>;
  /** The capabilities that have tasks available at `now`. */
  readyCapabilities(now: number): Promise<string[]>;
  /** The earliest `availableAt` of a delayed task, if any (to schedule a wake-up). */
  nextAvailableAt(): Promise<number | undefined>;

  /**
   * One page of the stored tasks that match `query`, newest first (see {@link TaskPage} for
   * the order and the cursor). An `idempotencyKey` finds the one task submitted with it while
   * the key is retained. Each backend documents what one call costs; none reads more than a
   * bounded number of tasks into memory for it (a page, or the top of a scan). Bad input
   * (`limit` outside 1 … 1000, a cursor it did not make) throws `invalid_request` naming the
   * field (`checkTaskListQuery` does the checks).
   */
  listTasks(query: TaskListQuery): Promise<TaskPage>;

  /** Dead tasks, oldest first. */
  deadLetters(limit?: number): Promise<TaskRecord[]>;
  /** Queues a dead task again, attempts starting over. */
  replay(id: string, now: number): Promise<TaskRecord>;
  /** Deletes a dead task for good. */
  deleteDeadLetter(id: string): Promise<void>;

  /** Queue figures. */
  stats(): Promise<QueueStats>;

  /**
   * Calls `listener` when tasks of a capability become available (enqueued, requeued,
   * replayed), possibly from another process. Returns an unsubscribe function.
   */
  onAvailable(listener: (capability: string) => void): () => void;
}
