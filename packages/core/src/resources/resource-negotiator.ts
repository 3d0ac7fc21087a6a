import { SwitchboardError } from '../errors.js';
import { describeCycle, findWaitCycle, type QuotaView } from './resource-deadlock.js';
import {
  type AcquireOptions,
  checkOptions,
  createLease,
  type HeldLease,
  type Lease,
  normalizeRequest,
  type ResourceRequest,
} from './resource-lease.js';
import {
  checkNeeds,
  type ResourceDefinition,
  ResourceQuota,
  type ResourceStats,
} from './resource-quota.js';

/** Options of a {@link ResourceNegotiator}. */
export interface ResourceNegotiatorOptions {
  /** FIFO fairness for resources that do not say (default `true`; see `ResourceDefinition`). */
  readonly fair?: boolean;
  /** The wait limit of requests that give none, in ms (default 30 000). */
  readonly defaultTimeoutMs?: number;
  /** The clock, ms (default `Date.now`). */
  readonly now?: () => number;
}

interface Waiter {
  readonly owner: string;
  readonly needs: ReadonlyMap<string, number>;
  /** The lease an `extend` adds to; a fresh lease otherwise. */
  readonly held: HeldLease | undefined;
  readonly resolve: (lease: Lease) => void;
  readonly reject: (error: SwitchboardError) => void;
  cleanup: () => void;
}

/**
 * Named resource quotas shared by tasks: pools of slots (4 browsers) and rate quotas
 * (90 000 LLM tokens a minute). A request takes everything it asks for at once or nothing,
 * and holds nothing while it waits, so requests made in one step can never deadlock.
 * Waiting is FIFO-fair per resource. Callers that hold a lease and ask for more (`extend`,
 * or a nested `acquire` with the same `owner`) can still wait on each other: a wait that
 * would close a wait-for cycle is refused with `deadlock`, naming the cycle.
 *
 * @example
 * ```ts
 * const resources = new ResourceNegotiator()
 * resources.define('browser', { capacity: 4 })
 * resources.define('llm-tokens', { capacity: 90_000, refillPerMs: 90_000 / 60_000 })
 * const lease = await resources.acquire({ browser: 1, 'llm-tokens': 2_000 }, { timeoutMs: 5_000 })
 * try { await work() } finally { lease.release() }
 * ```
 */
export class ResourceNegotiator {
  readonly #quotas = new Map<string, ResourceQuota>();
  readonly #leases = new Set<HeldLease>();
  #queue: Waiter[] = [];
  readonly #fair: boolean;
  readonly #defaultTimeoutMs: number;
  readonly #now: () => number;
  #refillTimer: ReturnType<typeof setTimeout> | undefined;
  #leaseSeq = 0;
  #ownerSeq = 0;
  #closed = false;

  /** @throws SwitchboardError `invalid_config` on a bad default timeout. */
  constructor(options: ResourceNegotiatorOptions = {}) {
    const timeout = options.defaultTimeoutMs ?? 30_000;
    if (typeof timeout !== 'number' || Number.isNaN(timeout) || timeout < 0) {
      throw new SwitchboardError(
        'invalid_config',
        `resource negotiator: defaultTimeoutMs must be a number ≥ 0, got ${String(timeout)}`,
      );
    }
    this.#fair = options.fair ?? true;
    this.#defaultTimeoutMs = timeout;
    this.#now = options.now ?? Date.now;
  }

  /**
   * Defines a resource: a pool of `capacity` slots, or with `refillPerMs` a rate quota.
   *
   * @throws SwitchboardError `invalid_config` when the name is taken or a field is bad.
   */
  define(name: string, definition: ResourceDefinition): void {
    if (this.#quotas.has(name)) {
      throw new SwitchboardError(
        'invalid_config',
        `resource ${JSON.stringify(name)} is already defined`,
        {
          details: { resource: name },
        },
      );
    }
    this.#quotas.set(name, new ResourceQuota(name, definition, this.#fair, this.#now()));
  }

  /** Whether a resource of that name is defined. */
  has(name: string): boolean {
    return this.#quotas.has(name);
  }

  /**
   * Acquires every requested amount at once, or waits holding nothing.
   *
   * Rejects with `invalid_request` at once for an unknown resource, a bad amount or one above
   * the capacity; `timeout` after `timeoutMs`, naming what it still waited for; `cancelled`
   * when `signal` aborts; `deadlock` when this owner's wait would close a wait-for cycle;
   * `unavailable` after {@link close}.
   */
  acquire(request: ResourceRequest, options: AcquireOptions = {}): Promise<Lease> {
    return this.#request(request, options, undefined);
  }

  /** Per resource: kind, capacity, available, inUse, and how many requests wait for it. */
  stats(): Record<string, ResourceStats> {
    const now = this.#now();
    const out: Record<string, ResourceStats> = {};
    for (const [name, quota] of this.#quotas) {
      const waiting = this.#queue.filter((w) => w.needs.has(name)).length;
      out[name] = quota.stats(now, waiting);
    }
    return out;
  }

  /**
   * Refuses new requests and rejects every waiting one with `unavailable` (shutdown).
   * Leases already held stay valid until released.
   */
  close(): void {
    this.#closed = true;
    const waiting = this.#queue;
    this.#queue = [];
    clearTimeout(this.#refillTimer);
    this.#refillTimer = undefined;
    for (const w of waiting) {
      w.cleanup();
      w.reject(new SwitchboardError('unavailable', 'resource negotiator closed'));
    }
  }

  #request(
    request: ResourceRequest,
    options: AcquireOptions,
    held: HeldLease | undefined,
  ): Promise<Lease> {
    let needs: Map<string, number>;
    let owner: string;
    let timeoutMs: number;
    try {
      ({ needs, owner, timeoutMs } = this.#check(request, options, held));
    } catch (err) {
      return Promise.reject(err);
    }
    let resolve!: (lease: Lease) => void;
    let reject!: (error: SwitchboardError) => void;
    const promise = new Promise<Lease>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const waiter: Waiter = { owner, needs, held, resolve, reject, cleanup: () => {} };
    this.#queue.push(waiter);
    this.#pump();
    if (!this.#queue.includes(waiter)) return promise;

    if (timeoutMs === 0) {
      this.#giveUp(waiter, this.#timeoutError(waiter, 0));
      return promise;
    }
    const cycle = findWaitCycle(this.#quotaViews(), [...this.#leases], this.#queue, owner);
    if (cycle !== undefined) {
      const error = new SwitchboardError('deadlock', `deadlock: ${describeCycle(cycle)}`, {
        details: { cycle: cycle.owners, edges: cycle.edges },
      });
      this.#giveUp(waiter, error);
      return promise;
    }
    const timer = Number.isFinite(timeoutMs)
      ? setTimeout(() => this.#giveUp(waiter, this.#timeoutError(waiter, timeoutMs)), timeoutMs)
      : undefined;
    const signal = options.signal;
    const onAbort = () => {
      const error = new SwitchboardError('cancelled', `resource request of ${owner} aborted`, {
        cause: signal?.reason,
      });
      this.#giveUp(waiter, error);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    waiter.cleanup = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    return promise;
  }

  #check(request: ResourceRequest, options: AcquireOptions, held: HeldLease | undefined) {
    if (this.#closed) throw new SwitchboardError('unavailable', 'resource negotiator closed');
    const needs = normalizeRequest(request);
    checkNeeds(needs, this.#quotas);
    const timeoutMs = checkOptions(options, this.#defaultTimeoutMs, held);
    // An anonymous request gets an owner of its own: nobody else can wait on it in a cycle.
    const owner = held?.owner ?? options.owner ?? `anonymous-${++this.#ownerSeq}`;
    return { needs, owner, timeoutMs };
  }

  /** Grants waiting requests in order while they fit; schedules a wake-up for rate refills. */
  #pump(): void {
    const now = this.#now();
    const earmarked = new Map<string, number>();
    const left: Waiter[] = [];
    let wakeInMs = Number.POSITIVE_INFINITY;
    for (const w of this.#queue) {
      const ahead = (quota: ResourceQuota, name: string) =>
        quota.fair ? (earmarked.get(name) ?? 0) : 0;
      let fits = true;
      for (const [name, n] of w.needs) {
        const quota = this.#quotas.get(name) as ResourceQuota;
        if (quota.fits(n, ahead(quota, name), now)) continue;
        fits = false;
        if (quota.kind === 'rate') {
          wakeInMs = Math.min(wakeInMs, quota.msUntil(n, ahead(quota, name), now));
        }
      }
      if (fits) {
        this.#grant(w, now);
        continue;
      }
      left.push(w);
      for (const [name, n] of w.needs) earmarked.set(name, (earmarked.get(name) ?? 0) + n);
    }
    this.#queue = left;
    clearTimeout(this.#refillTimer);
    this.#refillTimer = undefined;
    if (wakeInMs !== Number.POSITIVE_INFINITY) {
      this.#refillTimer = setTimeout(() => this.#pump(), Math.max(1, Math.ceil(wakeInMs)));
    }
  }

  #grant(w: Waiter, now: number): void {
    w.cleanup();
    const held = w.held ?? this.#newLease(w.owner);
    for (const [name, n] of w.needs) {
      (this.#quotas.get(name) as ResourceQuota).take(n, now);
      held.amounts.set(name, (held.amounts.get(name) ?? 0) + n);
    }
    w.resolve(held.lease);
  }

  #giveUp(w: Waiter, error: SwitchboardError): void {
    const at = this.#queue.indexOf(w);
    if (at < 0) return;
    this.#queue.splice(at, 1);
    w.cleanup();
    w.reject(error);
    // Its earmarks are gone: requests behind it may fit now.
    this.#pump();
  }

  #newLease(owner: string): HeldLease {
    const held = createLease(
      `lease-${++this.#leaseSeq}`,
      owner,
      (h) => this.#release(h),
      (h, more, options) => this.#request(more, options, h),
    );
    this.#leases.add(held);
    return held;
  }

  #release(held: HeldLease): void {
    if (held.released) return;
    held.released = true;
    this.#leases.delete(held);
    for (const w of this.#queue.filter((x) => x.held === held)) {
      const at = this.#queue.indexOf(w);
      this.#queue.splice(at, 1);
      w.cleanup();
      w.reject(
        new SwitchboardError('cancelled', `lease of ${held.owner} released while extending`),
      );
    }
    for (const [name, n] of held.amounts) this.#quotas.get(name)?.give(n);
    held.amounts.clear();
    this.#pump();
  }

  #quotaViews(): Map<string, QuotaView> {
    const now = this.#now();
    const views = new Map<string, QuotaView>();
    for (const [name, q] of this.#quotas) {
      views.set(name, {
        kind: q.kind,
        capacity: q.capacity,
        available: q.available(now),
        fair: q.fair,
      });
    }
    return views;
  }

  #timeoutError(w: Waiter, timeoutMs: number): SwitchboardError {
    const now = this.#now();
    const earmarked = new Map<string, number>();
    for (const other of this.#queue) {
      if (other === w) break;
      for (const [name, n] of other.needs) earmarked.set(name, (earmarked.get(name) ?? 0) + n);
    }
    const short: string[] = [];
    for (const [name, n] of w.needs) {
      const quota = this.#quotas.get(name) as ResourceQuota;
      const why = quota.shortage(n, quota.fair ? (earmarked.get(name) ?? 0) : 0, now);
      if (why !== undefined) short.push(why);
    }
    return new SwitchboardError(
      'timeout',
      `${w.owner} timed out after ${timeoutMs} ms waiting for ${short.join(', ')}`,
      { details: { owner: w.owner, resources: [...w.needs.keys()], timeoutMs } },
    );
  }
}
