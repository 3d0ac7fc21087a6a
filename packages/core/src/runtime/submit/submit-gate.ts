import { LRUCache } from 'lru-cache';
import type { SharedRateLimiter } from '../../contracts/backend.js';
import type { RateLimiter, TokenBucketOptions } from '../../contracts/rate-limiter.js';
import { SwitchboardError } from '../../errors.js';
import { checkKnownKeys } from '../../known-keys.js';
import { createTokenBucket, resolveTokenBucketOptions } from '../../structures/token-bucket.js';

/** Rate limits of submits: per submitter and per capability. */
export interface RateLimitOptions {
  /** Per `submitter` (tasks without one share the key `anonymous`). */
  readonly perSubmitter?: TokenBucketOptions | RateLimiter;
  readonly perCapability?: TokenBucketOptions | RateLimiter;
}

/** Makes the limiter of a rate limit given as bucket options (see `createRateLimiter`). */
export type RateLimiterFactory = (options: TokenBucketOptions) => RateLimiter;

/** A shared backend's limiters (see `Backend.sharedRateLimiter`), by name. */
export type SharedLimiterFactory = (name: string, options: TokenBucketOptions) => SharedRateLimiter;

/** The idempotency window kept in front of the backend. */
export interface IdempotencyOptions {
  /** Keys kept (default 100 000). */
  readonly max?: number;
  /** How long a key is kept, in ms (default 24 h). */
  readonly ttlMs?: number;
}

const BUCKET_KEYS: readonly (keyof TokenBucketOptions)[] = ['capacity', 'refillPerSec', 'maxKeys'];

function isLimiter(value: unknown): value is RateLimiter {
  return typeof (value as Partial<RateLimiter> | null | undefined)?.tryAcquire === 'function';
}

/** Refuses a bucket option that a token bucket does not know (a typo would be ignored). */
function checkBucketKeys(name: string, spec: TokenBucketOptions): void {
  if (typeof spec !== 'object' || spec === null) {
    throw new SwitchboardError(
      'invalid_config',
      `rateLimits.${name} must be a RateLimiter or { capacity, refillPerSec, maxKeys? }`,
      { details: { field: `rateLimits.${name}` } },
    );
  }
  checkKnownKeys(spec, BUCKET_KEYS, `rateLimits.${name}`);
}

/** The limiter of one rate limit: as given, or made by `create` from bucket options. */
function limiter(
  name: string,
  spec: TokenBucketOptions | RateLimiter | undefined,
  create: RateLimiterFactory,
): RateLimiter | undefined {
  if (spec === undefined) return undefined;
  if (isLimiter(spec)) return spec;
  checkBucketKeys(name, spec);
  const made: unknown = create(spec);
  if (!isLimiter(made)) {
    throw new SwitchboardError(
      'invalid_config',
      `createRateLimiter returned no RateLimiter for rateLimits.${name}`,
      { details: { field: `rateLimits.${name}` } },
    );
  }
  return made;
}

/**
 * What stands between a submit and the backend: the idempotency window (key → first task
 * id, an `lru-cache`; the backend dedupes as well, this only saves it the trip) and the
 * token buckets per submitter and per capability.
 */
export class SubmitGate {
  // The cache is made on the first key: an LRUCache allocates its arrays for `max` keys up
  // front, a large block at the default (see bench/RESULTS.md, In-process engine, second
  // pass), and a Switchboard that never sees an idempotency key need not pay for it.
  #keys: LRUCache<string, string> | undefined;
  readonly #max: number;
  readonly #ttl: number;
  readonly #now: () => number;
  readonly #perSubmitter: RateLimiter | undefined;
  readonly #perCapability: RateLimiter | undefined;
  readonly #sharedSubmitter: SharedRateLimiter | undefined;
  readonly #sharedCapability: SharedRateLimiter | undefined;

  /**
   * @param createRateLimiter makes the limiters of limits given as bucket options (default:
   * core's token bucket).
   * @throws SwitchboardError `invalid_config` naming the bad option.
   */
  constructor(
    idempotency: IdempotencyOptions = {},
    limits: RateLimitOptions = {},
    now: () => number = Date.now,
    createRateLimiter: RateLimiterFactory = createTokenBucket,
    shared?: SharedLimiterFactory,
  ) {
    const max = idempotency.max ?? 100_000;
    const ttl = idempotency.ttlMs ?? 86_400_000;
    // The window is an lru-cache, which takes only whole numbers (and throws on the first key).
    if (!Number.isSafeInteger(max) || max < 1 || !Number.isSafeInteger(ttl) || ttl < 1) {
      throw new SwitchboardError(
        'invalid_config',
        `idempotency: max and ttlMs must be integers ≥ 1, got max ${String(max)}, ttlMs ${String(ttl)}`,
        { details: { max, ttlMs: ttl } },
      );
    }
    this.#max = max;
    this.#ttl = ttl;
    this.#now = now;
    if (typeof createRateLimiter !== 'function') {
      throw new SwitchboardError('invalid_config', 'createRateLimiter must be a function', {
        details: { field: 'createRateLimiter', type: typeof createRateLimiter },
      });
    }
    // Bucket options on a shared backend make buckets every process draws from; a limiter
    // object given as is stays this process's own.
    const sharedOf = (name: string, spec: TokenBucketOptions | RateLimiter | undefined) => {
      if (spec === undefined || isLimiter(spec) || shared === undefined) return undefined;
      checkBucketKeys(name, spec);
      return shared(`submit:${name}`, resolveTokenBucketOptions(spec));
    };
    this.#sharedSubmitter = sharedOf('perSubmitter', limits.perSubmitter);
    this.#sharedCapability = sharedOf('perCapability', limits.perCapability);
    if (this.#sharedSubmitter === undefined) {
      this.#perSubmitter = limiter('perSubmitter', limits.perSubmitter, createRateLimiter);
    }
    if (this.#sharedCapability === undefined) {
      this.#perCapability = limiter('perCapability', limits.perCapability, createRateLimiter);
    }
  }

  /** The id of the task first submitted with `key`, within the window. */
  known(key: string): string | undefined {
    return this.#keys?.get(key);
  }

  remember(key: string, id: string): void {
    this.#keys ??= new LRUCache({
      max: this.#max,
      ttl: this.#ttl,
      ttlAutopurge: false,
      perf: { now: this.#now },
    });
    this.#keys.set(key, id);
  }

  /**
   * Takes the tokens of `count` tasks by `submitter` of each capability.
   *
   * @throws SwitchboardError `rate_limited` with `details.retryAfterMs` and the limit hit.
   */
  admit(
    submitter: string | undefined,
    capabilities: ReadonlyMap<string, number>,
    now: number,
  ): undefined | Promise<void> {
    if (this.#sharedSubmitter !== undefined || this.#sharedCapability !== undefined) {
      return this.#admitShared(submitter, capabilities, now);
    }
    let total = 0;
    for (const n of capabilities.values()) total += n;
    const bySubmitter = this.#perSubmitter;
    if (bySubmitter !== undefined) {
      const key = submitter ?? 'anonymous';
      const decision = bySubmitter.tryAcquire(key, total, now);
      if (!decision.allowed) throw limited('submitter', key, decision.retryAfterMs);
    }
    const byCapability = this.#perCapability;
    if (byCapability !== undefined) {
      for (const [capability, n] of capabilities) {
        const decision = byCapability.tryAcquire(capability, n, now);
        if (!decision.allowed) throw limited('capability', capability, decision.retryAfterMs);
      }
    }
    return undefined;
  }

  /** `admit` with buckets in a shared backend (one round trip per bucket). */
  async #admitShared(
    submitter: string | undefined,
    capabilities: ReadonlyMap<string, number>,
    now: number,
  ): Promise<void> {
    let total = 0;
    for (const n of capabilities.values()) total += n;
    const key = submitter ?? 'anonymous';
    const check = async (
      scope: string,
      id: string,
      cost: number,
      local: RateLimiter | undefined,
      shared: SharedRateLimiter | undefined,
    ) => {
      const decision =
        shared !== undefined
          ? await shared.acquire(id, cost, now)
          : local?.tryAcquire(id, cost, now);
      if (decision !== undefined && !decision.allowed)
        throw limited(scope, id, decision.retryAfterMs);
    };
    await check('submitter', key, total, this.#perSubmitter, this.#sharedSubmitter);
    for (const [capability, n] of capabilities) {
      await check('capability', capability, n, this.#perCapability, this.#sharedCapability);
    }
  }

  /** True when a rate limit is configured (the hot path skips `admit` otherwise). */
  get limited(): boolean {
    return (
      this.#perSubmitter !== undefined ||
      this.#perCapability !== undefined ||
      this.#sharedSubmitter !== undefined ||
      this.#sharedCapability !== undefined
    );
  }
}

function limited(scope: string, key: string, retryAfterMs: number): SwitchboardError {
  return new SwitchboardError(
    'rate_limited',
    `rate limit of ${scope} "${key}" reached; retry in ${Math.ceil(retryAfterMs)} ms`,
    { details: { scope, key, retryAfterMs: Math.ceil(retryAfterMs) } },
  );
}
