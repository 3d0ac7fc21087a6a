import { SwitchboardError } from '../errors.js';

/** How a resource is defined. */
export interface ResourceDefinition {
  /** Slots in a pool, or the bucket size of a rate quota. */
  readonly capacity: number;
  /**
   * Makes it a rate quota: units come back by time at this rate (e.g. 90_000 tokens a minute
   * is `90_000 / 60_000`), not on release. Without it the resource is a pool of slots that
   * a lease gives back when released.
   */
  readonly refillPerMs?: number;
  /**
   * FIFO fairness (default: the negotiator's `fair`, itself `true`): a request waiting for
   * this resource keeps later requests from taking what it asked for, so a large request is
   * never starved by a stream of small ones. `false` lets any request that fits go first.
   */
  readonly fair?: boolean;
}

/** What `stats()` tells of one resource. */
export interface ResourceStats {
  readonly kind: 'pool' | 'rate';
  readonly capacity: number;
  /** Units free now (a rate quota's refill counted, floored). */
  readonly available: number;
  /** `capacity − available`: slots leased, or quota spent and not yet refilled. */
  readonly inUse: number;
  /** Waiting requests that ask for this resource. */
  readonly waiting: number;
}

// Rate quotas refill in floating point: a request for exactly the refilled amount must not
// miss by a rounding error and wait for one more timer.
const EPSILON = 1e-9;

/** The live state of one named resource: a pool of slots or a refilling rate quota. */
export class ResourceQuota {
  readonly name: string;
  readonly kind: 'pool' | 'rate';
  readonly capacity: number;
  readonly refillPerMs: number;
  readonly fair: boolean;
  #free: number;
  #refilledAt: number;

  /** @throws SwitchboardError `invalid_config` naming the resource and the bad field. */
  constructor(name: string, definition: ResourceDefinition, fairByDefault: boolean, now: number) {
    const fail = (why: string) =>
      new SwitchboardError('invalid_config', `resource ${JSON.stringify(name)}: ${why}`, {
        details: { resource: name },
      });
    if (typeof name !== 'string' || name === '') throw fail('name must be a non-empty string');
    if (definition === null || typeof definition !== 'object') throw fail('definition missing');
    const { capacity, refillPerMs, fair } = definition;
    if (typeof capacity !== 'number' || !Number.isFinite(capacity) || capacity <= 0) {
      throw fail(`capacity must be a positive number, got ${String(capacity)}`);
    }
    if (
      refillPerMs !== undefined &&
      (typeof refillPerMs !== 'number' || !Number.isFinite(refillPerMs) || refillPerMs <= 0)
    ) {
      throw fail(`refillPerMs must be a positive number, got ${String(refillPerMs)}`);
    }
    if (fair !== undefined && typeof fair !== 'boolean') throw fail('fair must be a boolean');
    this.name = name;
    this.kind = refillPerMs === undefined ? 'pool' : 'rate';
    this.capacity = capacity;
    this.refillPerMs = refillPerMs ?? 0;
    this.fair = fair ?? fairByDefault;
    this.#free = capacity;
    this.#refilledAt = now;
  }

  /** Units free at `now` (a rate quota refilled up to then). */
  available(now: number): number {
    if (this.kind === 'rate') {
      // A clock stepping back refills nothing, and restarts the count from there.
      const elapsed = Math.max(0, now - this.#refilledAt);
      this.#free = Math.min(this.capacity, this.#free + elapsed * this.refillPerMs);
      this.#refilledAt = now;
    }
    return this.#free;
  }

  /** Whether `amount` fits in what is free beyond `earmarked` units promised to earlier waiters. */
  fits(amount: number, earmarked: number, now: number): boolean {
    return this.available(now) - earmarked + EPSILON * this.capacity >= amount;
  }

  /** Takes `amount` units; the caller checked that they fit. */
  take(amount: number, now: number): void {
    this.#free = Math.max(0, this.available(now) - amount);
  }

  /** Gives slots back to a pool; a rate quota refills by time instead. */
  give(amount: number): void {
    if (this.kind === 'pool') this.#free = Math.min(this.capacity, this.#free + amount);
  }

  /** Milliseconds until `amount` beyond `earmarked` is free (0 when it is; ∞ for a pool). */
  msUntil(amount: number, earmarked: number, now: number): number {
    const missing = amount + earmarked - this.available(now);
    if (missing <= EPSILON * this.capacity) return 0;
    return this.kind === 'rate' ? missing / this.refillPerMs : Number.POSITIVE_INFINITY;
  }

  /** Why `amount` does not fit now, for a timeout message; `undefined` when it fits. */
  shortage(amount: number, earmarked: number, now: number): string | undefined {
    if (this.fits(amount, earmarked, now)) return undefined;
    if (this.fits(amount, 0, now))
      return `${this.name} (${amount} wanted; queued behind earlier requests)`;
    const free = Math.floor(this.available(now) + EPSILON * this.capacity);
    return `${this.name} (${amount} wanted, ${free} of ${this.capacity} free)`;
  }

  /** A snapshot for `stats()`, with `waiting` requests asking for it. */
  stats(now: number, waiting: number): ResourceStats {
    const free = this.available(now);
    const available = this.kind === 'rate' ? Math.floor(free + EPSILON * this.capacity) : free;
    return {
      kind: this.kind,
      capacity: this.capacity,
      available,
      inUse: this.capacity - available,
      waiting,
    };
  }
}

/**
 * Checks that every requested resource exists and that no amount exceeds its capacity
 * (such a request could never be granted).
 *
 * @throws SwitchboardError `invalid_request` naming the resource.
 */
export function checkNeeds(
  needs: ReadonlyMap<string, number>,
  quotas: ReadonlyMap<string, ResourceQuota>,
): void {
  for (const [name, amount] of needs) {
    const quota = quotas.get(name);
    if (quota === undefined) {
      const known = [...quotas.keys()].join(', ') || 'none';
      throw new SwitchboardError(
        'invalid_request',
        `unknown resource ${JSON.stringify(name)} (defined: ${known})`,
        { details: { resource: name } },
      );
    }
    if (amount > quota.capacity) {
      throw new SwitchboardError(
        'invalid_request',
        `${amount} of ${name} can never be granted: its capacity is ${quota.capacity}`,
        { details: { resource: name, amount, capacity: quota.capacity } },
      );
    }
  }
}
