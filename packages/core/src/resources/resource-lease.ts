import { SwitchboardError } from '../errors.js';

/** Amounts to acquire: `{ browser: 1, 'llm-tokens': 2_000 }` or `[{ name, amount }]`. */
export type ResourceRequest =
  | Readonly<Record<string, number>>
  | ReadonlyArray<{ readonly name: string; readonly amount: number }>;

/** Options of `acquire` and `Lease.extend`. */
export interface AcquireOptions {
  /** Give up after this long, with `timeout` (default: the negotiator's, 30 s). 0: no wait. */
  readonly timeoutMs?: number;
  /** Aborting gives up with `cancelled`. */
  readonly signal?: AbortSignal;
  /**
   * Who holds the lease: a task or agent id. Waits of one owner on leases of another form
   * the wait-for graph in which deadlocks are found. Default: a fresh owner per lease.
   */
  readonly owner?: string;
}

/**
 * Resources held together. Released as a whole, at most once; pool slots go back to the
 * pool, spent rate quota does not (it refills by time).
 */
export interface Lease {
  readonly id: string;
  readonly owner: string;
  /** What the lease holds now, by resource. */
  readonly amounts: Readonly<Record<string, number>>;
  readonly released: boolean;
  /** Gives everything back and wakes waiters. A second call does nothing. */
  release(): void;
  /**
   * Acquires more into this lease, all or nothing, while keeping what it holds; `owner` is
   * the lease's. Holding while waiting can deadlock: a wait that would close a wait-for
   * cycle is refused with `deadlock`. Releasing the lease cancels a pending extension.
   */
  extend(more: ResourceRequest, options?: Omit<AcquireOptions, 'owner'>): Promise<Lease>;
}

/**
 * Turns a request into amounts by name, summing repeated names and dropping zeros.
 *
 * @throws SwitchboardError `invalid_request` on a malformed request or a bad amount.
 */
export function normalizeRequest(request: ResourceRequest): Map<string, number> {
  const fail = (why: string) => new SwitchboardError('invalid_request', `resource request: ${why}`);
  if (request === null || typeof request !== 'object') {
    throw fail('expected an object of amounts or an array of { name, amount }');
  }
  const entries: Array<[unknown, unknown]> = Array.isArray(request)
    ? request.map((item: unknown) => {
        if (item === null || typeof item !== 'object')
          throw fail('array items must be { name, amount }');
        const { name, amount } = item as { name?: unknown; amount?: unknown };
        return [name, amount];
      })
    : Object.entries(request);
  const needs = new Map<string, number>();
  for (const [name, amount] of entries) {
    if (typeof name !== 'string' || name === '')
      throw fail('a resource name must be a non-empty string');
    if (typeof amount !== 'number' || !Number.isFinite(amount) || amount < 0) {
      throw fail(`amount of ${name} must be a finite number ≥ 0, got ${String(amount)}`);
    }
    if (amount > 0) needs.set(name, (needs.get(name) ?? 0) + amount);
  }
  return needs;
}

/**
 * Checks the options of a request (and that an extended lease is still held); returns the
 * wait limit.
 *
 * @throws SwitchboardError `invalid_request` on bad options, `conflict` for a released lease,
 * `cancelled` when the signal has already aborted.
 */
export function checkOptions(
  options: AcquireOptions,
  defaultTimeoutMs: number,
  held: HeldLease | undefined,
): number {
  const timeoutMs = options.timeoutMs ?? defaultTimeoutMs;
  if (typeof timeoutMs !== 'number' || Number.isNaN(timeoutMs) || timeoutMs < 0) {
    throw new SwitchboardError(
      'invalid_request',
      `timeoutMs must be a number ≥ 0, got ${String(timeoutMs)}`,
    );
  }
  const { owner, signal } = options;
  if (owner !== undefined && (typeof owner !== 'string' || owner === '')) {
    throw new SwitchboardError('invalid_request', 'owner must be a non-empty string');
  }
  if (held?.released) {
    throw new SwitchboardError(
      'conflict',
      `lease of ${held.owner} was released: it cannot be extended`,
    );
  }
  if (signal?.aborted) {
    throw new SwitchboardError('cancelled', 'resource request aborted before it started', {
      cause: signal.reason,
    });
  }
  return timeoutMs;
}

/** A lease as the negotiator keeps it: the public {@link Lease} and what it holds. */
export interface HeldLease {
  readonly owner: string;
  readonly amounts: Map<string, number>;
  released: boolean;
  readonly lease: Lease;
}

/** Makes a lease that holds nothing yet; `release` and `extend` go back to the negotiator. */
export function createLease(
  id: string,
  owner: string,
  release: (held: HeldLease) => void,
  extend: (held: HeldLease, more: ResourceRequest, options: AcquireOptions) => Promise<Lease>,
): HeldLease {
  const amounts = new Map<string, number>();
  const held: HeldLease = {
    owner,
    amounts,
    released: false,
    lease: {
      id,
      owner,
      get amounts() {
        return Object.fromEntries(amounts);
      },
      get released() {
        return held.released;
      },
      release: () => release(held),
      extend: (more, options = {}) => extend(held, more, options),
    },
  };
  return held;
}
