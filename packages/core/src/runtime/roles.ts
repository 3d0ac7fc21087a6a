import type { AgentDefinition, TaskToCheck } from '../agent/definition.js';
import type { AgentRecord } from '../contracts/agent-directory.js';
import type { AgentNotice, LeaseNotice } from '../contracts/cluster-channel.js';
import type { AgentFailure } from '../contracts/recovery.js';
import type { SwitchboardError } from '../errors.js';
import type { HealthFailure } from '../health/health-monitor.js';
import type { HealthMetrics } from '../model/agent.js';
import type { Priority } from '../model/priority.js';
import type { TaskError, TaskLease, TaskRecord } from '../model/task.js';
import type { TaskIndex } from '../structures/task-index.js';
import type { ScaleReason } from './pool/autoscale-options.js';
import type { FailoverRecord, FailoverStats } from './pool/failover-types.js';
import type { PoolDefinition } from './pool/pool-entry.js';
import type { InFlight, LeaseStage, PoolMember } from './pool/pool-member.js';
import type {
  AgentView,
  LeaseOptions,
  RemoteAgentInput,
  RemoteMemberInit,
} from './remote/remote-types.js';

/*
 * The roles the parts of the runtime play for each other. A part is given the engine typed
 * by the roles it uses (a `Pick` of `Engine`), never another part's class, so that each part
 * can be built and tested against small fakes, and so that the imports between the parts'
 * files form a tree: only create-engine.ts imports the classes.
 *
 * Several roles call each other both ways (the dispatcher hands leases to the lease book,
 * and the book wakes the dispatcher when a slot frees): that is why the parts reach each
 * other through the engine, late-bound, rather than through their constructors' arguments.
 */

/** The dispatcher: takes leases from the backend and places them on agents. */
export interface Dispatch {
  /** The agent id leases are taken under until the balancer picks the actual agent. */
  readonly holderId: string;
  /** Dispatch rounds started so far (remote long-polls wait for one that began after them). */
  readonly pumps: number;
  /** Follows the backend's "tasks available" signal from now on. */
  start(): void;
  /** Dispatches what is ready now, and arms the wake-up for the backend's next delayed task. */
  catchUp(): Promise<void>;
  /** Asks for a dispatch round soon; calls made meanwhile merge into it. */
  wake(): void;
  /** Runs a dispatch round no earlier than `at` (a delayed task or a retry's backoff). */
  wakeAt(at: number): void;
  /** A slot of `member` was freed: its waiting leases go first, then a round runs. */
  freed(member: PoolMember): void;
  /** Forgets a lease that waited for a slot (it ended elsewhere). */
  dropPending(entry: InFlight): void;
  /** Tasks held for want of an eligible agent, per priority (they count as queued). */
  heldByPriority(): Record<Priority, number>;
  /** Renews the leases of held tasks that expire before `horizon`. */
  renewHeld(horizon: number): Promise<void>;
  /** Stops dispatching, stops following the backend, and gives back the held leases. */
  stop(): InFlight[];
}

/** The lease book: every lease this process holds, and how each one ends. */
export interface Leases {
  readonly inflight: TaskIndex<InFlight>;
  add(task: TaskRecord, stage: LeaseStage): InFlight;
  /** True while `entry` is still the lease the book holds for its task. */
  current(entry: InFlight): boolean;
  /** Takes `entry` off its agent and out of the book (the lease ended or was lost). */
  detach(entry: InFlight, reason?: SwitchboardError): void;
  complete(entry: InFlight, result: unknown): void;
  completed(record: TaskRecord, entry: InFlight | undefined, now?: number): void;
  fail(entry: InFlight, error: TaskError): Promise<TaskRecord>;
  failed(record: TaskRecord, entry: InFlight | undefined, error: TaskError): void;
  dead(record: TaskRecord): void;
  release(entries: readonly InFlight[], error: TaskError): Promise<TaskRecord[]>;
  start(): void;
  stop(): void;
}

/** The in-process runner: runs a leased task on an in-process agent's handler. */
export interface Runner {
  run(member: PoolMember, entry: InFlight): void;
  /** Queues `entry` for a batch-handling agent, to run with the next batch. */
  stage(member: PoolMember, entry: InFlight): void;
  /** Runs the batch staged for `member` now. */
  flushBatch(member: PoolMember): void;
}

/** The warm standbys of the pool (see StandbyReserve). */
export interface Backups {
  reserve(capability: string, count: number, options?: { definition?: string }): void;
  standbys(capability?: string): PoolMember[];
  promote(failed: PoolMember): PoolMember | undefined;
  replenish(delayMs?: number): void;
  reconcile(): Promise<PoolMember[]>;
  stop(): void;
}

/** Failovers in progress and their timings (see FailoverManager). */
export interface Failover {
  begin(member: PoolMember, reason: AgentFailure['reason'], detectedAt: number): FailoverRecord;
  released(record: FailoverRecord, records: readonly TaskRecord[]): void;
  stats(): FailoverStats;
  stop(): void;
}

/** The agent pool: every agent this process knows, in-process and remote. */
export interface Pool {
  readonly backups: Backups;
  readonly failover: Failover;
  definitions(): PoolDefinition[];
  agents(name?: string): PoolMember[];
  get(id: string): PoolMember | undefined;
  candidates(capability: string): PoolMember[];
  hasLive(capability: string): boolean;
  /** True when some definition checks the tasks submitted to it. */
  readonly checksTasks: boolean;
  /** Runs the definitions' `checkTask` hooks for the task's capability; throws to refuse it. */
  checkTask(task: TaskToCheck): void;
  spawn(
    name: string,
    count: number,
    standby?: boolean,
    definition?: AgentDefinition,
  ): Promise<PoolMember[]>;
  /** True while a rolling update of `name` runs (the autoscaler leaves it alone). */
  updating(name: string): boolean;
  /** True while a rolling update replaces `name`'s agents: it refills failed slots itself. */
  converging(name: string): boolean;
  /** A rolling update ended. */
  finishUpdate(update: { readonly name: string }): void;
  scale(name: string, count: number, reason?: ScaleReason): Promise<void>;
  degrade(name: string, level: number, factor: number): void;
  setDefinition(name: string, definition: AgentDefinition): void;
  remove(id: string, options?: { drain?: boolean }): Promise<void>;
  register(member: PoolMember): void;
  detach(member: PoolMember): void;
  recordFailure(name: string, now: number): number;
}

/** What happens to an agent that failed: its leases go back, recovery decides the rest. */
export interface Failures {
  fail(member: PoolMember, reason: AgentFailure['reason'], error?: Error): Promise<void>;
  stop(): void;
}

/** Agents that work over HTTP: registration, heartbeats and long-polled leases. */
export interface Remotes {
  register(input: RemoteAgentInput): AgentView;
  add(init: RemoteMemberInit): PoolMember;
  heartbeat(id: string, metrics?: Partial<HealthMetrics>): AgentView;
  lease(id: string, options?: LeaseOptions): Promise<TaskLease[]>;
  leave(id: string): Promise<void>;
  dismiss(member: PoolMember): void;
  /** Answers the long-polls that can be answered now. */
  flush(): void;
  view(member: PoolMember): AgentView;
  stop(): void;
}

/** This process's end of the cluster channel, on a backend shared by several processes. */
export interface Link {
  /** This process's id on the channel. */
  readonly origin: string;
  /** Tells the others that a lease was answered here. */
  lease(notice: LeaseNotice): void;
  /** Tells the others that an agent joined, left or was lost here. */
  agent(notice: AgentNotice): void;
  start(): void;
  stop(): void;
}

/** The cluster's remote agents, kept in the backend's agent directory. */
export interface ClusterDirectory {
  start(): Promise<void>;
  stop(): void;
  leave(): Promise<void>;
  known(id: string): AgentRecord | undefined;
  adoptKnown(id: string): PoolMember | undefined;
  adopt(id: string): Promise<PoolMember | undefined>;
  registered(member: PoolMember): void;
  heard(member: PoolMember): void;
  left(id: string): void;
  timedOut(member: PoolMember, failure: HealthFailure): Promise<void>;
  view(id: string): AgentView | undefined;
  /** The cluster's agents that live in other processes. */
  views(): AgentView[];
  /** Applies the agent notices another process sent. */
  receive(notices: readonly AgentNotice[]): void;
}
