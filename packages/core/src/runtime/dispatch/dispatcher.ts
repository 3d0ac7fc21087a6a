import type { LeaseRequest } from '../../contracts/backend.js';
import { createLeaseToken } from '../../model/lease-token.js';
import type { Priority } from '../../model/priority.js';
import type { Engine } from '../engine.js';
import { CLUSTER_SWEEP_MS } from '../leases/lease-book.js';
import { type InFlight, PoolMember } from '../pool/pool-member.js';
import type { Dispatch } from '../roles.js';
import type { PlacementRoles } from './placement.js';
import { allInProcess, eligible, freeSlots, openToAll } from './placement.js';

/** The roles the dispatcher uses, so that it can be built and tested with just these. */
export type DispatcherRoles = Pick<
  Engine,
  | 'backend'
  | 'balancer'
  | 'book'
  | 'events'
  | 'listens'
  | 'now'
  | 'onError'
  | 'pool'
  | 'remotes'
  | 'runner'
> &
  PlacementRoles;

/** At most this many tasks per backend lease call. */
const MAX_LEASE_BATCH = 1000;
/** At most this many leased tasks per capability held for want of an eligible agent. */
const MAX_HELD = 1000;
/** `setTimeout` fires at once for delays above 2^31 - 1 ms; longer waits are armed in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * The dispatcher: matches queued tasks to agents with free slots. Woken by the backend
 * (tasks available), by agents freeing slots, and by timers (delays, backoffs); wake-ups
 * coalesce in a microtask and one pump runs at a time.
 *
 * Per ready capability it leases a batch no larger than the candidates' free slots, then
 * lets the load balancer pick an agent per task. A busy agent picked by a pinning balancer
 * gets the task in its small backlog. A task no agent may take now (the balancer declined,
 * its priority is shed by a degraded agent, no coordinator is free) stays held here, still
 * leased: it is offered first at every pump, and its lease is renewed rather than left to
 * expire, since releasing it would count an attempt it never made. Held tasks are bounded
 * per capability.
 */
export class Dispatcher implements Dispatch {
  /** The agent id leases are taken under until the balancer picks the actual agent. */
  readonly holderId: string;
  readonly #engine: DispatcherRoles;
  readonly #pending = new Map<string, InFlight[]>();
  #scheduled = false;
  #pumping = false;
  #again = false;
  #stopped = false;
  #pumps = 0;
  #rotation = 0;
  #wakeTimer: ReturnType<typeof setTimeout> | undefined;
  #wakeAt = Number.POSITIVE_INFINITY;
  #asking = false;
  #askAgain = false;
  #idle: (() => void)[] = [];
  #unsubscribe: (() => void) | undefined;
  readonly #run = () => {
    this.#scheduled = false;
    this.#pumping = true;
    this.#loop().then(
      () => this.#settle(),
      (error: unknown) => {
        this.#engine.onError(error);
        this.#settle();
      },
    );
  };

  constructor(engine: DispatcherRoles, holderId: string) {
    this.#engine = engine;
    this.holderId = holderId;
  }

  /** Pumps started so far (remote long-polls wait for one that began after them). */
  get pumps(): number {
    return this.#pumps;
  }

  /**
   * Follows the backend's signal that tasks became available. The dispatcher owns this link
   * from enqueue to dispatch, so whoever enqueues (a submit, a retry, another process on a
   * shared backend) needs to know nothing of it.
   */
  start(): void {
    this.#unsubscribe ??= this.#engine.backend.onAvailable(() => this.wake());
  }

  /**
   * Dispatches what is ready now and arms the wake-up for the backend's next delayed task:
   * the last step of a start, once the agents run.
   */
  async catchUp(): Promise<void> {
    this.wake();
    const next = await this.#engine.backend.nextAvailableAt();
    if (next !== undefined) this.wakeAt(next);
  }

  /** Tasks held for want of an eligible agent, per priority (they count as queued). */
  heldByPriority(): Record<Priority, number> {
    const counts: Record<Priority, number> = { critical: 0, high: 0, normal: 0, low: 0 };
    for (const list of this.#pending.values()) for (const e of list) counts[e.task.priority]++;
    return counts;
  }

  /** Asks for a pump soon; calls made meanwhile merge into it. */
  wake(): void {
    if (this.#stopped) return;
    if (this.#pumping) {
      this.#again = true;
      return;
    }
    if (this.#scheduled) return;
    this.#scheduled = true;
    queueMicrotask(this.#run);
  }

  /**
   * Wakes at `at` (a delayed task, a backoff); one timer, at the earliest time asked. Later
   * times asked meanwhile are not kept here: every pump ends by asking the backend for its
   * next due time (see {@link #armNext}), which holds them all, other processes' included.
   */
  wakeAt(at: number): void {
    if (this.#stopped || at >= this.#wakeAt) return;
    if (this.#wakeTimer !== undefined) clearTimeout(this.#wakeTimer);
    this.#wakeAt = at;
    this.#wakeTimer = setTimeout(
      this.#onWakeTimer,
      Math.min(MAX_TIMER_MS, Math.max(0, at - this.#engine.now())),
    );
  }

  readonly #onWakeTimer = () => {
    this.#wakeTimer = undefined;
    const at = this.#wakeAt;
    this.#wakeAt = Number.POSITIVE_INFINITY;
    // Node's timers run on the event loop's cached clock, so one may fire before the
    // Switchboard clock reaches `at` (and a long delay is armed in steps): a pump now would
    // find nothing due, so the timer is armed again for what is left.
    if (this.#engine.now() < at) this.wakeAt(at);
    else this.wake();
  };

  /** Resolves when no pump runs or is scheduled. */
  whenIdle(): Promise<void> {
    if (!this.#pumping && !this.#scheduled) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /** Stops pumping and hands back the tasks held here. */
  stop(): InFlight[] {
    this.#stopped = true;
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    if (this.#wakeTimer !== undefined) clearTimeout(this.#wakeTimer);
    this.#wakeTimer = undefined;
    const held = [...this.#pending.values()].flat();
    this.#pending.clear();
    return held;
  }

  /** Forgets a held task (its lease ended). */
  dropPending(entry: InFlight): void {
    const list = this.#pending.get(entry.task.capability);
    const at = list?.indexOf(entry) ?? -1;
    if (list !== undefined && at >= 0) list.splice(at, 1);
    if (list?.length === 0) this.#pending.delete(entry.task.capability);
  }

  /**
   * An agent freed a slot: its parked tasks go first, then a pump is asked for. Parked tasks
   * get their lease renewed, since their attempt starts only now.
   */
  freed(member: PoolMember): void {
    const engine = this.#engine;
    if (member.backlog.length > 0) {
      const now = engine.now();
      for (let entry = member.unpark(); entry !== undefined; entry = member.unpark()) {
        void this.#renew(entry);
        this.#start(member, entry, now);
      }
    }
    if (member.remote) engine.remotes.flush();
    member.notifyIdle();
    this.wake();
  }

  #settle(): void {
    this.#pumping = false;
    const idle = this.#idle;
    this.#idle = [];
    for (const resolve of idle) resolve();
    if (this.#again) this.wake();
  }

  async #loop(): Promise<void> {
    do {
      this.#again = false;
      this.#pumps++;
      await this.#pump();
      this.#engine.remotes.flush();
    } while (this.#again && !this.#stopped);
    this.#armNext();
  }

  /**
   * Arms the wake-up for the backend's next due task (a delay, a backoff). Asked after every
   * pump rather than only when a task is queued, so that no due time is forgotten: not one
   * asked while an earlier timer was armed, not one of a task queued by another process.
   * The pump does not wait for the answer (on a remote backend it is a round trip); one
   * question is out at a time, and pumps that end meanwhile ask once more after it.
   */
  #armNext(): void {
    if (this.#stopped) return;
    if (this.#asking) {
      this.#askAgain = true;
      return;
    }
    this.#asking = true;
    this.#engine.backend.nextAvailableAt().then(
      (next) => {
        this.#asking = false;
        let at = next ?? Number.POSITIVE_INFINITY;
        // On a backend several processes share, a task delayed through a process that died
        // becomes due with no one's timer armed for it: look again at least this often.
        if (this.#engine.backend.cluster !== undefined) {
          at = Math.min(at, this.#engine.now() + CLUSTER_SWEEP_MS);
        }
        if (at !== Number.POSITIVE_INFINITY && !this.#stopped) this.wakeAt(at);
        if (this.#askAgain) {
          this.#askAgain = false;
          this.#armNext();
        }
      },
      (error: unknown) => {
        // The backend is failing (an outage); the next pump asks again.
        this.#asking = false;
        this.#askAgain = false;
        this.#engine.onError(error);
      },
    );
  }

  async #pump(): Promise<void> {
    const engine = this.#engine;
    const ready = await engine.backend.readyCapabilities(engine.now());
    for (const capability of this.#pending.keys()) {
      if (!ready.includes(capability)) ready.push(capability);
    }
    const n = ready.length;
    // Rotating the starting capability keeps one busy capability from starving the others.
    const start = n > 0 ? this.#rotation++ % n : 0;
    for (let i = 0; i < n && !this.#stopped; i++) {
      await this.#fill(ready[(start + i) % n] as string);
    }
  }

  async #fill(capability: string): Promise<void> {
    const engine = this.#engine;
    let candidates = engine.pool.candidates(capability);
    if (candidates.length === 0) return;
    const pending = this.#pending.get(capability);
    if (pending !== undefined) {
      this.#pending.delete(capability);
      this.#placeAll(pending, candidates);
      // Placing may have failed an agent (a synchronous crash): count only who is still live.
      candidates = engine.pool.candidates(capability);
      this.#handBackShared(capability, candidates);
    }
    let free = freeSlots(candidates);
    while (free > 0 && !this.#stopped) {
      const room = MAX_HELD - (this.#pending.get(capability)?.length ?? 0);
      if (room <= 0) return;
      const max = Math.min(free, MAX_LEASE_BATCH, room);
      const request: LeaseRequest = { capability, agentId: this.holderId, max, now: engine.now() };
      // Tasks that can only go to in-process agents share one token (see LeaseRequest.token).
      if (allInProcess(candidates)) request.token = createLeaseToken();
      const tasks = await engine.backend.lease(request);
      if (tasks.length === 0) return;
      candidates = engine.pool.candidates(capability);
      const token = request.token;
      const entries = tasks.map((task) => {
        const entry = engine.book.add(task, 'pending');
        if (token !== undefined && entry.token === token) entry.shared = true;
        return entry;
      });
      this.#placeAll(entries, candidates);
      if (tasks.length < max) return;
      // Re-read: an agent that failed while its batch was placed must not be leased more for.
      free = freeSlots(engine.pool.candidates(capability));
    }
  }

  /**
   * Held tasks with a shared token that no in-process agent of their capability is left to
   * run (only remote ones, which must not see such a token) go back to the queue, to be
   * leased again with tokens of their own (the attempt counts, as for any lease handed back).
   */
  #handBackShared(capability: string, candidates: readonly PoolMember[]): void {
    const held = this.#pending.get(capability);
    if (held === undefined || candidates.length === 0 || !candidates.every((m) => m.remote)) {
      return;
    }
    const stuck = held.filter((entry) => entry.shared);
    if (stuck.length === 0) return;
    for (const entry of stuck) this.dropPending(entry);
    const engine = this.#engine;
    const error = {
      message: 'lease handed back: no in-process agent is left to run it',
      code: 'released',
      retryable: true,
    };
    engine.book.release(stuck, error).then(
      () => this.wake(),
      (e: unknown) => engine.onError(e),
    );
  }

  /**
   * Renews the leases of held tasks that expire before `horizon`, so that waiting for an
   * eligible agent never costs them an attempt.
   */
  async renewHeld(horizon: number): Promise<void> {
    const renewals: Promise<void>[] = [];
    for (const list of this.#pending.values()) {
      for (const entry of list) if (entry.expiresAt <= horizon) renewals.push(this.#renew(entry));
    }
    await Promise.all(renewals);
  }

  /** Places each entry; those no agent took are held. */
  #placeAll(entries: InFlight[], candidates: readonly PoolMember[]): void {
    const batching: PoolMember[] = [];
    // One clock read serves the whole batch: the balancer weighs recent history, not
    // microseconds, and the reading is also the batch's start time. A clock read is a large
    // share of a dispatch (see bench/RESULTS.md, In-process engine, fourth pass).
    const now = this.#engine.now();
    const open = openToAll(this.#engine, candidates, entries[0]?.task.capability);
    for (const entry of entries) {
      const member = this.#place(
        entry,
        open ? candidates : eligible(this.#engine, entry, candidates),
        now,
      );
      if (member === undefined) {
        const list = this.#pending.get(entry.task.capability);
        if (list === undefined) this.#pending.set(entry.task.capability, [entry]);
        else list.push(entry);
      } else if (member.batchMax > 1 && !member.remote && !batching.includes(member)) {
        batching.push(member);
      }
    }
    for (const member of batching) this.#engine.runner.flushBatch(member);
  }

  /** Places a task with one of `candidates` (those it is eligible for). */
  #place(entry: InFlight, candidates: readonly PoolMember[], now: number): PoolMember | undefined {
    const engine = this.#engine;
    const task = entry.task;
    if (candidates.length === 0) return undefined;
    const pick = engine.balancer.select(candidates, { task, now });
    // Balancers return one of the candidates (members are their own candidates); anything
    // else (a wrapper, a stale pick) is looked up by id and must still be a candidate.
    const member =
      pick instanceof PoolMember ? pick : pick === undefined ? undefined : engine.pool.get(pick.id);
    if (member === undefined || !member.live || !candidates.includes(member)) return undefined;
    if (member.freeSlots > 0) {
      this.#start(member, entry, now);
      return member;
    }
    // A pinning balancer chose a busy agent: the task waits for it, in a bounded backlog.
    if (member.backlog.length >= member.maxConcurrency * member.batchMax) return undefined;
    member.park(entry);
    return member;
  }

  /**
   * Hands a task to an agent: a remote's long-poll, a batch, or an in-process handler.
   * `now` is when its dispatch batch started: a task's latency (its agent's health figure)
   * runs from its dispatch, so it includes the synchronous work of handlers started before
   * it in the same batch, as the task's submitter sees it.
   */
  #start(member: PoolMember, entry: InFlight, now: number): void {
    const engine = this.#engine;
    member.take(entry, now);
    // The balancer picked the agent after the lease was taken under the dispatcher's id.
    entry.task.agentId = member.id;
    if (engine.listens('task.leased')) {
      engine.events.publish('task.leased', {
        taskId: entry.task.id,
        capability: entry.task.capability,
        agentId: member.id,
        attempt: entry.attempt,
      });
    }
    if (member.remote) member.waiter?.tasks.push(entry);
    else if (member.batchMax > 1) engine.runner.stage(member, entry);
    else engine.runner.run(member, entry);
  }

  #renew(entry: InFlight): Promise<void> {
    const engine = this.#engine;
    const task = entry.task;
    return engine.backend.extend(task.id, entry.token, task.timeoutMs, engine.now()).then(
      (record) => {
        entry.expiresAt = record.leaseExpiresAt ?? entry.expiresAt;
      },
      // The lease ended meanwhile (cancelled, expired): that path has handled the task.
      () => undefined,
    );
  }
}
