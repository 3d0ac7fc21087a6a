import { Agent } from '../../src/agent/agent.js';
import { defineAgent } from '../../src/agent/definition.js';
import { createMemoryBackend } from '../../src/backends/memory/index.js';
import type { Backend } from '../../src/contracts/backend.js';
import type { LoadBalancer } from '../../src/contracts/load-balancer.js';
import type { RecoveryStrategy } from '../../src/contracts/recovery.js';
import { SwitchboardError } from '../../src/errors.js';
import { EventBus } from '../../src/events/event-bus.js';
import { type HealthFailure, HealthMonitor } from '../../src/health/health-monitor.js';
import {
  type AgentRole,
  type CapabilityInput,
  normalizeCapability,
  type TaskContext,
} from '../../src/model/agent.js';
import type { Priority } from '../../src/model/priority.js';
import { newTaskRecord, type TaskRecord } from '../../src/model/task.js';
import { nextTaskId } from '../../src/model/task-id.js';
import { restartWithBackoff } from '../../src/plugin/builtin/restart.js';
import { roundRobin } from '../../src/plugin/builtin/round-robin.js';
import { agentRecord, agentView } from '../../src/runtime/cluster/directory-records.js';
import type { Engine } from '../../src/runtime/engine.js';
import { resolveBackoff } from '../../src/runtime/leases/backoff.js';
import type { FailoverRecord } from '../../src/runtime/pool/failover-types.js';
import { type InFlight, newLease, PoolMember } from '../../src/runtime/pool/pool-member.js';
import type { AgentView } from '../../src/runtime/remote/remote-types.js';
import type {
  Backups,
  Dispatch,
  Failover,
  Failures,
  Leases,
  Pool,
  Remotes,
  Runner,
} from '../../src/runtime/roles.js';
import { TaskStreams } from '../../src/runtime/streams/task-streams.js';
import type { SubmitInput } from '../../src/runtime/submit/task-input.js';
import { TaskTracker } from '../../src/runtime/submit/task-tracker.js';
import { TaskIndex } from '../../src/structures/task-index.js';

/*
 * Fakes of the runtime's roles (roles.ts), for unit tests of one part at a time. Each fake
 * implements its role's interface, so that a change of a role breaks the fake at compile
 * time, records every call it gets (`calls.<method>`: the arguments of each call, in order),
 * and does the least its role promises, so that the part under test can go on. The parts
 * that are cheap and real (the memory backend, the event bus, the health monitor, the task
 * tracker, the built-in balancer and recovery) are real.
 */

/** The names of a role's methods. */
type MethodOf<Role> = {
  [K in keyof Role]-?: Role[K] extends (...args: never[]) => unknown ? K : never;
}[keyof Role];

/** The arguments of one call of `Role[K]`. */
type Args<Role, K extends MethodOf<Role>> = Role[K] extends (...args: infer A) => unknown
  ? A
  : never;

/** The calls a fake received, per method of its role: the arguments of each call, in order. */
export type Calls<Role> = { readonly [K in MethodOf<Role>]: Args<Role, K>[] };

/** An empty call log, whose list for a method is made when it is first read. */
function callLog<Role>(): Calls<Role> {
  const lists: Record<string, unknown[]> = {};
  return new Proxy(lists, {
    get: (target, key) => {
      if (typeof key !== 'string') return undefined;
      target[key] ??= [];
      return target[key];
    },
  }) as unknown as Calls<Role>;
}

/** An engine whose parts a test may set: the part under test takes its place among the fakes. */
export type TestEngine = { -readonly [K in keyof Engine]: Engine[K] };

/**
 * The lease book: it keeps the entries it made in `inflight`, and forgets an entry that ends
 * (detach, complete, fail, release) by taking it out of the book and off its agent's lease
 * list. It frees no slot and talks to no backend.
 */
export class FakeLeases implements Leases {
  readonly inflight = new TaskIndex<InFlight>();
  readonly calls = callLog<Leases>();
  /** What `release` answers once it has forgotten the entries (by default their records). */
  releaseAnswer: (entries: readonly InFlight[]) => Promise<TaskRecord[]> = (entries) =>
    Promise.resolve(entries.map((e) => e.task));
  readonly #engine: Pick<Engine, 'now'>;

  constructor(engine: Pick<Engine, 'now'>) {
    this.#engine = engine;
  }

  add(...args: Args<Leases, 'add'>): InFlight {
    this.calls.add.push(args);
    const [task, stage] = args;
    const entry = newLease(task, stage, task.leaseExpiresAt ?? this.#engine.now() + task.timeoutMs);
    const previous = this.inflight.swap(task.id, entry);
    if (previous !== undefined) previous.held = false;
    return entry;
  }

  current(...args: Args<Leases, 'current'>): boolean {
    this.calls.current.push(args);
    return args[0].held;
  }

  detach(...args: Args<Leases, 'detach'>): void {
    this.calls.detach.push(args);
    this.#forget(args[0]);
  }

  complete(...args: Args<Leases, 'complete'>): void {
    this.calls.complete.push(args);
    this.#forget(args[0]);
  }

  completed(...args: Args<Leases, 'completed'>): void {
    this.calls.completed.push(args);
  }

  fail(...args: Args<Leases, 'fail'>): Promise<TaskRecord> {
    this.calls.fail.push(args);
    this.#forget(args[0]);
    return Promise.resolve(args[0].task);
  }

  failed(...args: Args<Leases, 'failed'>): void {
    this.calls.failed.push(args);
  }

  dead(...args: Args<Leases, 'dead'>): void {
    this.calls.dead.push(args);
  }

  release(...args: Args<Leases, 'release'>): Promise<TaskRecord[]> {
    this.calls.release.push(args);
    for (const entry of args[0]) this.#forget(entry);
    return this.releaseAnswer(args[0]);
  }

  start(): void {
    this.calls.start.push([]);
  }

  stop(): void {
    this.calls.stop.push([]);
  }

  #forget(entry: InFlight): void {
    if (entry.held) {
      entry.held = false;
      this.inflight.delete(entry.task.id);
    }
    entry.member?.leases.delete(entry);
  }
}

/**
 * The dispatcher. It holds the entries a test puts in `held` (counted by `heldByPriority`,
 * handed back by `stop`). With `onPump` set, `wake` runs a round in a microtask as the
 * dispatcher does: wake-ups coalesce, `pumps` counts the round, `onPump` places what the
 * test wants placed, then the remote agents' long-polls are answered (`remotes.flush`).
 */
export class FakeDispatch implements Dispatch {
  readonly holderId = 'fake-dispatcher';
  readonly calls = callLog<Dispatch>();
  pumps = 0;
  readonly held: InFlight[] = [];
  onPump: (() => void) | undefined;
  #scheduled = false;
  readonly #engine: Pick<Engine, 'remotes'>;

  constructor(engine: Pick<Engine, 'remotes'>) {
    this.#engine = engine;
  }

  start(): void {
    this.calls.start.push([]);
  }

  catchUp(): Promise<void> {
    this.calls.catchUp.push([]);
    this.wake();
    return Promise.resolve();
  }

  wake(): void {
    this.calls.wake.push([]);
    if (this.onPump === undefined || this.#scheduled) return;
    this.#scheduled = true;
    queueMicrotask(() => {
      this.#scheduled = false;
      this.pumps++;
      this.onPump?.();
      this.#engine.remotes.flush();
    });
  }

  wakeAt(...args: Args<Dispatch, 'wakeAt'>): void {
    this.calls.wakeAt.push(args);
  }

  freed(...args: Args<Dispatch, 'freed'>): void {
    this.calls.freed.push(args);
  }

  dropPending(...args: Args<Dispatch, 'dropPending'>): void {
    this.calls.dropPending.push(args);
    const at = this.held.indexOf(args[0]);
    if (at >= 0) this.held.splice(at, 1);
  }

  heldByPriority(): Record<Priority, number> {
    this.calls.heldByPriority.push([]);
    const counts: Record<Priority, number> = { critical: 0, high: 0, normal: 0, low: 0 };
    for (const entry of this.held) counts[entry.task.priority]++;
    return counts;
  }

  renewHeld(...args: Args<Dispatch, 'renewHeld'>): Promise<void> {
    this.calls.renewHeld.push(args);
    return Promise.resolve();
  }

  stop(): InFlight[] {
    this.calls.stop.push([]);
    return this.held.splice(0);
  }
}

/** The in-process runner: it records what it is given and runs nothing. */
export class FakeRunner implements Runner {
  readonly calls = callLog<Runner>();
  /** Told of each `run`, as it is called (a test's clock reads it). */
  onRun: ((member: PoolMember, entry: InFlight) => void) | undefined;

  run(...args: Args<Runner, 'run'>): void {
    this.calls.run.push(args);
    this.onRun?.(...args);
  }

  stage(...args: Args<Runner, 'stage'>): void {
    this.calls.stage.push(args);
  }

  flushBatch(...args: Args<Runner, 'flushBatch'>): void {
    this.calls.flushBatch.push(args);
  }
}

/** The warm standbys: there are none; calls are recorded. */
export class FakeBackups implements Backups {
  readonly calls = callLog<Backups>();

  reserve(...args: Args<Backups, 'reserve'>): void {
    this.calls.reserve.push(args);
  }

  standbys(...args: Args<Backups, 'standbys'>): PoolMember[] {
    this.calls.standbys.push(args);
    return [];
  }

  promote(...args: Args<Backups, 'promote'>): PoolMember | undefined {
    this.calls.promote.push(args);
    return undefined;
  }

  replenish(...args: Args<Backups, 'replenish'>): void {
    this.calls.replenish.push(args);
  }

  reconcile(): Promise<PoolMember[]> {
    this.calls.reconcile.push([]);
    return Promise.resolve([]);
  }

  stop(): void {
    this.calls.stop.push([]);
  }
}

/** The failover manager: `begin` answers a record naming `standbyId` as the promoted standby. */
export class FakeFailover implements Failover {
  readonly calls = callLog<Failover>();
  standbyId: string | undefined;

  begin(...args: Args<Failover, 'begin'>): FailoverRecord {
    this.calls.begin.push(args);
    const [member, reason, detectedAt] = args;
    return {
      agentId: member.id,
      name: member.name,
      reason,
      detectedAt,
      standbyId: this.standbyId,
      tasks: 0,
      firstLeaseAt: undefined,
      durationMs: undefined,
    };
  }

  released(...args: Args<Failover, 'released'>): void {
    this.calls.released.push(args);
  }

  stats(): ReturnType<Failover['stats']> {
    this.calls.stats.push([]);
    return {
      failovers: 0,
      promotions: 0,
      pending: 0,
      durationsMs: [],
      lastMs: undefined,
      p50Ms: undefined,
      p99Ms: undefined,
      maxMs: undefined,
    };
  }

  stop(): void {
    this.calls.stop.push([]);
  }
}

/**
 * The agent pool: the members a test seats (`add`) or that register, in that order. Its
 * candidates are the live members with the capability; it counts failures per definition
 * within the engine's failure window. It spawns nothing: `spawnAnswer` says what a spawn
 * resolves to.
 */
export class FakePool implements Pool {
  readonly calls = callLog<Pool>();
  readonly backups = new FakeBackups();
  readonly failover = new FakeFailover();
  readonly members = new Map<string, PoolMember>();
  /** Definitions a rolling update is replacing (`converging`). */
  readonly convergingNames = new Set<string>();
  /** Definitions a rolling update runs for (`updating`). */
  readonly updatingNames = new Set<string>();
  spawnAnswer: () => Promise<PoolMember[]> = () => Promise.resolve([]);
  readonly #failures = new Map<string, number[]>();
  readonly #engine: Pick<Engine, 'failureWindowMs'>;

  constructor(engine: Pick<Engine, 'failureWindowMs'>) {
    this.#engine = engine;
  }

  /** Seats a member, as a test's setup: no call is recorded. */
  add(member: PoolMember): PoolMember {
    this.members.set(member.id, member);
    return member;
  }

  definitions(): ReturnType<Pool['definitions']> {
    this.calls.definitions.push([]);
    return [];
  }

  agents(name?: string): PoolMember[] {
    return [...this.members.values()].filter((m) => name === undefined || m.name === name);
  }

  get(id: string): PoolMember | undefined {
    return this.members.get(id);
  }

  candidates(capability: string): PoolMember[] {
    return [...this.members.values()].filter(
      (m) => m.live && m.capabilities.some((c) => c.name === capability),
    );
  }

  hasLive(capability: string): boolean {
    return this.candidates(capability).length > 0;
  }

  // The fake runs no definitions, so none checks a task at submit.
  readonly checksTasks = false;

  checkTask(): void {}

  spawn(...args: Args<Pool, 'spawn'>): Promise<PoolMember[]> {
    this.calls.spawn.push(args);
    return this.spawnAnswer();
  }

  updating(name: string): boolean {
    return this.updatingNames.has(name);
  }

  converging(name: string): boolean {
    return this.convergingNames.has(name);
  }

  finishUpdate(...args: Args<Pool, 'finishUpdate'>): void {
    this.calls.finishUpdate.push(args);
  }

  scale(...args: Args<Pool, 'scale'>): Promise<void> {
    this.calls.scale.push(args);
    return Promise.resolve();
  }

  degrade(...args: Args<Pool, 'degrade'>): void {
    this.calls.degrade.push(args);
  }

  setDefinition(...args: Args<Pool, 'setDefinition'>): void {
    this.calls.setDefinition.push(args);
  }

  remove(...args: Args<Pool, 'remove'>): Promise<void> {
    this.calls.remove.push(args);
    return Promise.resolve();
  }

  register(...args: Args<Pool, 'register'>): void {
    this.calls.register.push(args);
    this.add(args[0]);
  }

  detach(...args: Args<Pool, 'detach'>): void {
    this.calls.detach.push(args);
    const [member] = args;
    if (member.gone) return;
    member.gone = true;
    this.members.delete(member.id);
  }

  recordFailure(...args: Args<Pool, 'recordFailure'>): number {
    this.calls.recordFailure.push(args);
    const [name, now] = args;
    const since = now - this.#engine.failureWindowMs;
    const recent = (this.#failures.get(name) ?? []).filter((at) => at > since);
    recent.push(now);
    this.#failures.set(name, recent);
    return recent.length;
  }
}

/**
 * The remote agents: `add` and `register` seat a remote member in the pool (without the
 * validation of the real one), `heartbeat` notes the time, a lease poll answers `[]`, and
 * `dismiss` ends a member's poll with `[]`.
 */
export class FakeRemotes implements Remotes {
  readonly calls = callLog<Remotes>();
  readonly #engine: Pick<Engine, 'heartbeatIntervalMs' | 'heartbeatTimeoutMs' | 'now' | 'pool'>;

  constructor(engine: Pick<Engine, 'heartbeatIntervalMs' | 'heartbeatTimeoutMs' | 'now' | 'pool'>) {
    this.#engine = engine;
  }

  register(...args: Args<Remotes, 'register'>): AgentView {
    this.calls.register.push(args);
    const [input] = args;
    const id = input.id ?? crypto.randomUUID();
    const member = this.add({
      id,
      name: input.name ?? id,
      role: input.role ?? 'worker',
      version: '1',
      capabilities: input.capabilities.map((c) => normalizeCapability(c)),
      maxConcurrency: input.maxConcurrency ?? 1,
      registeredAt: this.#engine.now(),
    });
    return this.view(member);
  }

  add(...args: Args<Remotes, 'add'>): PoolMember {
    this.calls.add.push(args);
    const member = new PoolMember({ ...args[0], weight: 1 });
    this.#engine.pool.register(member);
    return member;
  }

  heartbeat(...args: Args<Remotes, 'heartbeat'>): AgentView {
    this.calls.heartbeat.push(args);
    const member = this.#engine.pool.get(args[0]);
    if (member === undefined) throw new SwitchboardError('not_found', `no agent ${args[0]}`);
    member.lastHeartbeatAt = this.#engine.now();
    return this.view(member);
  }

  lease(...args: Args<Remotes, 'lease'>): ReturnType<Remotes['lease']> {
    this.calls.lease.push(args);
    return Promise.resolve([]);
  }

  leave(...args: Args<Remotes, 'leave'>): Promise<void> {
    this.calls.leave.push(args);
    return Promise.resolve();
  }

  dismiss(...args: Args<Remotes, 'dismiss'>): void {
    this.calls.dismiss.push(args);
    const [member] = args;
    const waiter = member.waiter;
    member.waiter = undefined;
    waiter?.resolve([]);
  }

  flush(): void {
    this.calls.flush.push([]);
  }

  /** The view the cluster directory gives of a remote member, with its slots as they are. */
  view(member: PoolMember): AgentView {
    return {
      ...agentView(agentRecord(this.#engine, member, 'fake')),
      maxConcurrency: member.maxConcurrency,
      activeTasks: member.running,
      remote: member.remote,
    };
  }

  stop(): void {
    this.calls.stop.push([]);
  }
}

/** Agent failures: recorded, nothing more. */
export class FakeFailures implements Failures {
  readonly calls = callLog<Failures>();

  fail(...args: Args<Failures, 'fail'>): Promise<void> {
    this.calls.fail.push(args);
    return Promise.resolve();
  }

  stop(): void {
    this.calls.stop.push([]);
  }
}

/** Options of {@link fakeEngine}; each has the default createEngine gives it. */
export interface FakeEngineOptions {
  readonly backend?: Backend;
  readonly now?: () => number;
  readonly balancer?: LoadBalancer;
  readonly recovery?: RecoveryStrategy;
  readonly heartbeatIntervalMs?: number;
  readonly heartbeatTimeoutMs?: number;
  readonly failureWindowMs?: number;
  readonly hungGraceMs?: number;
}

/** An engine of real cheap parts and fake roles, and a handle on each. */
export interface Fakes {
  readonly engine: TestEngine;
  readonly backend: Backend;
  readonly events: EventBus;
  readonly monitor: HealthMonitor;
  readonly tracker: TaskTracker;
  readonly book: FakeLeases;
  readonly pool: FakePool;
  readonly dispatcher: FakeDispatch;
  readonly runner: FakeRunner;
  readonly remotes: FakeRemotes;
  readonly failures: FakeFailures;
  /** What the engine's `onError` was given. */
  readonly errors: unknown[];
  /** What the health monitor reported (it fails no agent by itself here). */
  readonly healthFailures: HealthFailure[];
  /** What the engine's `submit` was given (it rejects: no intake here). */
  readonly submitted: SubmitInput[];
}

/**
 * Builds an engine as createEngine does, but with a fake for every runtime part. The part
 * under test is made with `fakes.engine` and set in its place, e.g.
 * `f.engine.dispatcher = new Dispatcher(f.engine, 'holder')`. The health monitor is not
 * started; the backend is the memory backend unless given.
 */
export function fakeEngine(options: FakeEngineOptions = {}): Fakes {
  const now = options.now ?? Date.now;
  const errors: unknown[] = [];
  const healthFailures: HealthFailure[] = [];
  const submitted: SubmitInput[] = [];
  const events = new EventBus({ now });
  const onError = (error: unknown) => {
    errors.push(error);
  };
  const engine = {
    backend: options.backend ?? createMemoryBackend(),
    events,
    now,
    random: Math.random,
    balancer: options.balancer ?? roundRobin(),
    recovery: options.recovery ?? restartWithBackoff(),
    monitor: new HealthMonitor({ onFailure: (f) => healthFailures.push(f), now, onError }),
    backoff: resolveBackoff(),
    policies: new Map(),
    taskPolicies: new Map(),
    heartbeatIntervalMs: options.heartbeatIntervalMs ?? 5_000,
    heartbeatTimeoutMs: options.heartbeatTimeoutMs ?? 15_000,
    failureWindowMs: options.failureWindowMs ?? 60_000,
    hungGraceMs: options.hungGraceMs ?? 1_000,
    errorRate: {},
    tracker: new TaskTracker(now()),
    running: true,
    emit: (topic: string, data: () => object) => {
      if (events.hasSubscribers(topic)) events.publish(topic, data());
    },
    listens: (topic: string) => events.hasSubscribers(topic),
    onError,
    streams: new TaskStreams(),
    submit: (input: SubmitInput) => {
      submitted.push(input);
      return Promise.reject(new SwitchboardError('unavailable', 'no intake in a unit test'));
    },
  } as Omit<TestEngine, 'book' | 'pool' | 'dispatcher' | 'runner' | 'remotes' | 'failures'> &
    Partial<TestEngine>;
  const book = new FakeLeases(engine);
  const pool = new FakePool(engine);
  const withPool = Object.assign(engine, { book, pool });
  const remotes = new FakeRemotes(withPool);
  const dispatcher = new FakeDispatch(Object.assign(withPool, { remotes }));
  const runner = new FakeRunner();
  const failures = new FakeFailures();
  const full: TestEngine = Object.assign(withPool, { remotes, dispatcher, runner, failures });
  return {
    engine: full,
    backend: full.backend,
    events,
    monitor: full.monitor,
    tracker: full.tracker,
    book,
    pool,
    dispatcher,
    runner,
    remotes,
    failures,
    errors,
    healthFailures,
    submitted,
  };
}

/** Options of {@link queuedTask}. */
export interface QueuedTaskOptions {
  readonly priority?: Priority;
  readonly maxAttempts?: number;
  readonly timeoutMs?: number;
  /** Not leased before this instant (default: at once). */
  readonly availableAt?: number;
  readonly payload?: unknown;
}

/** A new queued record of `capability`, to enqueue in a backend. */
export function queuedTask(
  capability: string,
  now: number,
  options: QueuedTaskOptions = {},
): TaskRecord {
  return newTaskRecord(
    nextTaskId(),
    capability,
    options.payload,
    options.priority ?? 'normal',
    options.maxAttempts ?? 3,
    options.timeoutMs ?? 30_000,
    options.availableAt ?? now,
    now,
  );
}

/**
 * Queues `count` new tasks of `capability` on `backend` and leases them under
 * `fake-dispatcher`, as the dispatcher does: the leased records, attempt 1.
 */
export async function leasedTasks(
  backend: Backend,
  capability: string,
  count: number,
  now: number,
  options: QueuedTaskOptions = {},
): Promise<TaskRecord[]> {
  const tasks = Array.from({ length: count }, () => queuedTask(capability, now, options));
  await backend.enqueue(tasks);
  return backend.lease({ capability, agentId: 'fake-dispatcher', max: count, now });
}

/** Options of {@link inProcessMember} and {@link remoteMember}. */
export interface MemberOptions {
  readonly name?: string;
  readonly id?: string;
  readonly role?: AgentRole;
  readonly capabilities?: readonly CapabilityInput[];
  readonly maxConcurrency?: number;
  /** Tasks handed to one handler call (in-process only). */
  readonly batchMax?: number;
  readonly registeredAt?: number;
  /** The in-process agent's handler (default: one that returns nothing). */
  readonly handle?: (payload: unknown, ctx: TaskContext) => unknown;
}

/**
 * A pool member of a real, started in-process agent, whose handler returns nothing unless
 * given (a fake runner never calls it). It is not seated in any pool.
 */
export async function inProcessMember(options: MemberOptions = {}): Promise<PoolMember> {
  const definition = defineAgent({
    name: options.name ?? 'worker',
    role: options.role ?? 'worker',
    capabilities: [...(options.capabilities ?? ['work'])],
    config: { maxConcurrency: options.maxConcurrency ?? 1 },
    handle: options.handle ?? (() => undefined),
  });
  const agent = new Agent(definition, options.id === undefined ? {} : { id: options.id });
  await agent.start();
  return new PoolMember({
    id: agent.id,
    name: agent.name,
    role: agent.role,
    version: agent.version,
    capabilities: agent.capabilities,
    maxConcurrency: agent.config.maxConcurrency,
    weight: 1,
    registeredAt: options.registeredAt ?? 0,
    agent: agent as Agent,
    batchMax: options.batchMax ?? 1,
  });
}

/** A pool member of a remote agent (it takes work only while it long-polls). */
export function remoteMember(options: MemberOptions = {}): PoolMember {
  const id = options.id ?? crypto.randomUUID();
  return new PoolMember({
    id,
    name: options.name ?? id,
    role: options.role ?? 'worker',
    version: '1',
    capabilities: (options.capabilities ?? ['work']).map((c) => normalizeCapability(c)),
    maxConcurrency: options.maxConcurrency ?? 1,
    weight: 1,
    registeredAt: options.registeredAt ?? 0,
  });
}
