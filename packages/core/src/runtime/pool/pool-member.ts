import type { Agent } from '../../agent/agent.js';
import type { AgentDefinition } from '../../agent/definition.js';
import type { AgentCandidate } from '../../contracts/load-balancer.js';
import type { TaskSpan } from '../../contracts/telemetry.js';
import {
  type AgentRole,
  type AgentState,
  type Capability,
  emptyMetrics,
  type HealthMetrics,
} from '../../model/agent.js';
import type { TaskRecord } from '../../model/task.js';

/**
 * Where a leased task is while Switchboard holds it. A lease moves through these stages
 * only by the methods of {@link PoolMember}, which keep the member's slot counts with them:
 *
 * - `pending`: leased from the backend, not yet on an agent (the lease book's `add`; the
 *   dispatcher holds it, for a long-poll or for a free slot);
 * - `parked`: pinned by the load balancer to a busy member, in its backlog
 *   ({@link PoolMember.park}), until a slot frees ({@link PoolMember.unpark});
 * - `running` (an in-process handler) or `remote` (out to a remote agent's long-poll):
 *   in one of the member's slots ({@link PoolMember.take});
 * - then it is let go ({@link PoolMember.drop}) when the lease ends or is lost. A running
 *   handler keeps its slot, marked abandoned, until it returns
 *   ({@link PoolMember.settle}).
 */
export type LeaseStage = 'pending' | 'parked' | 'running' | 'remote';

/**
 * One lease Switchboard holds: the leased record and who has it. An abandoned in-process
 * attempt keeps its slot taken until its handler settles.
 */
export interface InFlight {
  /** The record as leased. A backend may hand out its live object, so what identifies
   * this lease is copied below and never read back from `task`. */
  task: TaskRecord;
  readonly token: string;
  readonly attempt: number;
  expiresAt: number;
  member: PoolMember | undefined;
  stage: LeaseStage;
  controller: AbortController | undefined;
  /** Timed out or cancelled while its handler still ran: its outcome is ignored. */
  abandoned: boolean;
  /** Its handler has returned or thrown. */
  settled: boolean;
  startedAt: number;
  /** True while it is the live lease of its task in the lease book (set and cleared there). */
  held: boolean;
  /**
   * Its token is shared by the other tasks of its lease batch (`LeaseRequest.token`): it may
   * go to in-process agents only.
   */
  shared: boolean;
  /** The span of its in-process run, while a `telemetry` traces it. */
  span: TaskSpan | undefined;
  /** The {@link LeaseList} it is in, and its neighbours there (managed by the list). */
  list: LeaseList | undefined;
  prev: InFlight | undefined;
  next: InFlight | undefined;
}

/**
 * A fresh lease of the leased `task`, at `stage`, on no agent yet, expiring at `expiresAt`.
 * The lease book makes every entry through this.
 */
export function newLease(task: TaskRecord, stage: LeaseStage, expiresAt: number): InFlight {
  return {
    task,
    token: task.leaseToken ?? '',
    attempt: task.attempts,
    expiresAt,
    member: undefined,
    stage,
    controller: undefined,
    abandoned: false,
    settled: false,
    startedAt: 0,
    held: true,
    shared: false,
    span: undefined,
    list: undefined,
    prev: undefined,
    next: undefined,
  };
}

/**
 * The leases an agent holds, in the order it got them: a list threaded through the entries
 * themselves, so adding and removing one allocates nothing and hashes nothing (a `Set`
 * grows and rehashes as a thousand leases a second come and go). An entry is in one list
 * at most.
 */
export class LeaseList implements Iterable<InFlight> {
  #head: InFlight | undefined;
  #tail: InFlight | undefined;
  #size = 0;

  /** The number of leases. */
  get size(): number {
    return this.#size;
  }

  /** Appends `entry` (nothing happens when it is in this list already). */
  add(entry: InFlight): void {
    if (entry.list === this) return;
    if (entry.list !== undefined) entry.list.delete(entry);
    entry.list = this;
    entry.prev = this.#tail;
    entry.next = undefined;
    if (this.#tail === undefined) this.#head = entry;
    else this.#tail.next = entry;
    this.#tail = entry;
    this.#size++;
  }

  /** Removes `entry`; `false` when it was not in this list. */
  delete(entry: InFlight): boolean {
    if (entry.list !== this) return false;
    const { prev, next } = entry;
    if (prev === undefined) this.#head = next;
    else prev.next = next;
    if (next === undefined) this.#tail = prev;
    else next.prev = prev;
    entry.list = undefined;
    entry.prev = undefined;
    entry.next = undefined;
    this.#size--;
    return true;
  }

  *[Symbol.iterator](): IterableIterator<InFlight> {
    for (let entry = this.#head; entry !== undefined; ) {
      // Read ahead: the caller may remove the entry it is given.
      const next = entry.next;
      yield entry;
      entry = next;
    }
  }
}

/** A remote agent's pending long-poll. */
export interface LongPoll {
  readonly max: number;
  readonly tasks: InFlight[];
  readonly resolve: (tasks: InFlight[]) => void;
  /** A poll without wait answers (even empty) after this pump number has run. */
  readonly answerAfterPump: number;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/**
 * Decides whether a member may take work now, pick by pick: a canary's traffic split closes
 * the members of the version whose turn it is not.
 */
export interface SlotGate {
  admits(member: PoolMember): boolean;
}

/** What a pool member is made from. */
export interface PoolMemberInit {
  readonly id: string;
  readonly name: string;
  readonly role: AgentRole;
  readonly version: string;
  readonly capabilities: readonly Capability[];
  readonly maxConcurrency: number;
  readonly weight: number;
  readonly registeredAt: number;
  /** An in-process agent; absent for a remote one. */
  readonly agent?: Agent;
  /** Tasks handed to one handler call (consolidated policy); 1 unless the agent opts in. */
  readonly batchMax?: number;
  /** Where the health figures come from (the health monitor). */
  readonly metrics?: () => HealthMetrics | undefined;
  readonly metadata?: Record<string, unknown>;
}

/**
 * An agent as the pool and the dispatcher see it: in-process or remote, with the leases it
 * holds and its free slots. It is its own load-balancer candidate (the getters stay current
 * while a batch is being placed, and no candidate object is allocated per task).
 */
export class PoolMember implements AgentCandidate {
  readonly id: string;
  readonly name: string;
  readonly role: AgentRole;
  readonly version: string;
  readonly capabilities: readonly Capability[];
  readonly remote: boolean;
  readonly agent: Agent | undefined;
  readonly baseConcurrency: number;
  readonly registeredAt: number;
  readonly batchMax: number;
  readonly metadata: Record<string, unknown>;
  weight: number;
  /** Effective concurrency (lowered by a degrade action). */
  maxConcurrency: number;
  /** Only tasks at this level or more urgent (0 = critical) are dispatched to it. */
  minPriorityLevel = 3;
  /** Tasks held: running handlers (abandoned ones included) or leases out to the remote. */
  running = 0;
  abandoned = 0;
  /** Tasks pinned to it by the load balancer while it was busy. */
  readonly backlog: InFlight[] = [];
  /** Every lease it holds, whatever the stage, in the order it got them. */
  readonly leases = new LeaseList();
  waiter: LongPoll | undefined;
  draining = false;
  /** A warm standby: takes no work until promoted by a failover. */
  standby = false;
  /** Removed from the pool (failed, left or drained). */
  gone = false;
  /** While set, the member shows free slots only when the gate admits it (canary split). */
  gate: SlotGate | undefined = undefined;
  lastHeartbeatAt: number;
  remoteState: AgentState = 'ready';
  readonly #metrics: (() => HealthMetrics | undefined) | undefined;
  #idle: (() => void)[] = [];

  constructor(init: PoolMemberInit) {
    this.id = init.id;
    this.name = init.name;
    this.role = init.role;
    this.version = init.version;
    this.capabilities = init.capabilities;
    this.agent = init.agent;
    this.remote = init.agent === undefined;
    this.baseConcurrency = init.maxConcurrency;
    this.maxConcurrency = init.maxConcurrency;
    this.weight = init.weight;
    this.registeredAt = init.registeredAt;
    this.lastHeartbeatAt = init.registeredAt;
    this.batchMax = init.batchMax ?? 1;
    this.metadata = init.metadata ?? {};
    this.#metrics = init.metrics;
  }

  /** The in-process agent's definition. */
  get definition(): AgentDefinition | undefined {
    return this.agent?.definition;
  }

  get state(): AgentState {
    return this.agent === undefined ? this.remoteState : this.agent.state;
  }

  /** Ready or working, in the pool, not draining and not a standby. */
  get live(): boolean {
    if (this.gone || this.draining || this.standby) return false;
    const state = this.state;
    return state === 'ready' || state === 'working';
  }

  get activeTasks(): number {
    return this.running;
  }

  /** Tasks it may take now (a batching agent takes `batchMax` per slot). */
  get freeSlots(): number {
    if (this.gate !== undefined && !this.gate.admits(this)) return 0;
    const free = this.maxConcurrency * this.batchMax - this.running - this.backlog.length;
    if (!this.remote) return Math.max(free, 0);
    // A remote agent takes work only while it long-polls, and no more than it asked for.
    const waiter = this.waiter;
    if (waiter === undefined) return 0;
    const wanted = waiter.max - waiter.tasks.length;
    const n = Math.min(wanted, free);
    return Math.max(n, 0);
  }

  get metrics(): Readonly<HealthMetrics> {
    return this.#metrics?.() ?? emptyMetrics();
  }

  /** True when it holds nothing: no running task, no parked one. */
  get idle(): boolean {
    return this.running === 0 && this.backlog.length === 0;
  }

  /** Resolves when {@link idle} (at once if it is). */
  whenIdle(): Promise<void> {
    if (this.idle) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /**
   * Takes `entry` into one of this member's slots, started at `now`: `remote` for a remote
   * agent, else `running`.
   */
  take(entry: InFlight, now: number): void {
    entry.member = this;
    entry.startedAt = now;
    entry.stage = this.remote ? 'remote' : 'running';
    this.leases.add(entry);
    this.running++;
  }

  /** Parks `entry` in this member's backlog, to start when one of its slots frees. */
  park(entry: InFlight): void {
    entry.stage = 'parked';
    entry.member = this;
    this.leases.add(entry);
    this.backlog.push(entry);
  }

  /**
   * Takes the oldest parked entry out of the backlog when a slot is free for it (and, for a
   * remote agent, a long-poll to take it); `undefined` otherwise. The caller starts it.
   */
  unpark(): InFlight | undefined {
    if (this.backlog.length === 0 || this.gone) return undefined;
    if (this.running >= this.maxConcurrency * this.batchMax) return undefined;
    if (this.remote && this.waiter === undefined) return undefined;
    return this.backlog.shift();
  }

  /**
   * Lets go of `entry`, whose lease ended or was lost: frees its backlog place or its remote
   * slot. A running handler keeps its slot, marked abandoned, until it settles; `true` then,
   * so that the caller aborts it.
   */
  drop(entry: InFlight): boolean {
    // A lease may be let go twice (a release racing a cancel or an expiry): only the first
    // frees what it held.
    if (!this.leases.delete(entry)) return false;
    let abort = false;
    if (entry.stage === 'parked') {
      const at = this.backlog.indexOf(entry);
      if (at >= 0) this.backlog.splice(at, 1);
    } else if (entry.stage === 'remote') {
      this.running--;
      const waiter = this.waiter;
      if (waiter !== undefined) {
        const at = waiter.tasks.indexOf(entry);
        if (at >= 0) waiter.tasks.splice(at, 1);
      }
    } else if (entry.stage === 'running' && !entry.settled && !entry.abandoned) {
      entry.abandoned = true;
      this.abandoned++;
      abort = true;
    }
    this.notifyIdle();
    return abort;
  }

  /** The handler of `entry` returned or threw: its slot is free again. */
  settle(entry: InFlight): void {
    this.running--;
    entry.settled = true;
    if (entry.abandoned) this.abandoned--;
  }

  /** Wakes {@link whenIdle} callers when idle now. */
  notifyIdle(): void {
    if (!this.idle || this.#idle.length === 0) return;
    const waiting = this.#idle;
    this.#idle = [];
    for (const resolve of waiting) resolve();
  }
}
