import type { Backend } from '../../contracts/backend.js';
import {
  checkFairnessCap,
  checkFairnessKeySettings,
  checkFairnessWeight,
  type FairnessKeySettings,
  type FairnessPolicy,
} from '../../contracts/fairness.js';
import { SwitchboardError } from '../../errors.js';
import { checkKnownKeys } from '../../known-keys.js';

/**
 * The `fairness` option of `createSwitchboard`: weights and concurrency caps of the
 * fairness keys tasks carry (docs/fairness.md).
 *
 * @example
 * ```ts
 * createSwitchboard({
 *   fairness: {
 *     weights: { enterprise: 4 },
 *     maxConcurrency: { default: 8, byKey: { enterprise: 32 }, byCapability: { browser: 2 } },
 *   },
 * })
 * ```
 */
export interface FairnessOptions {
  /** The weight of a key not listed in `weights`, and of the tasks without a key (default 1). */
  readonly defaultWeight?: number;
  /** Weights by key, integers 1 … 10,000: a key of weight 2 gets twice the share of one of 1. */
  readonly weights?: Readonly<Record<string, number>>;
  readonly maxConcurrency?: {
    /** At most this many of any one key's tasks leased at once, across capabilities. */
    readonly default?: number;
    /** The same cap for one key, overriding `default`. */
    readonly byKey?: Readonly<Record<string, number>>;
    /** At most this many of any one key's tasks of the capability leased at once. */
    readonly byCapability?: Readonly<Record<string, number>>;
  };
}

/** The policy in force as `sb.fairness.describe` shows it. */
export interface FairnessView {
  readonly backend: string;
  /** Whether the backend dispatches by weights and caps (see {@link Fairness.enforced}). */
  readonly enforced: boolean;
  readonly defaultWeight: number;
  /** The cap of a key without one of its own, across capabilities; absent when none. */
  readonly maxConcurrency?: number;
  readonly maxConcurrencyByCapability: Readonly<Record<string, number>>;
  /** The keys with settings of their own, by key. */
  readonly keys: readonly FairnessKeyView[];
}

/** One key of `/v1/stats`'s `fairness.keys`: its tasks queued and leased, and its lease rate. */
export interface FairnessKeyStats {
  readonly key: string;
  readonly queued: number;
  readonly leased: number;
  /**
   * Its leases a second since the previous reading of the figures; absent at the first
   * reading that shows the key.
   */
  readonly leasesPerSec?: number;
}

/** One key as `sb.fairness.get` shows it. */
export interface FairnessKeyView {
  readonly key: string;
  /** Its weight: its own, else the default. */
  readonly weight: number;
  /** Its cap across capabilities, its own or the default; absent when it has none. */
  readonly maxConcurrency?: number;
  /** Its tasks leased now; absent when the backend does not enforce fairness. */
  readonly leased?: number;
  /** Whether the backend dispatches by these settings (see {@link Fairness.enforced}). */
  readonly enforced: boolean;
}

const at = (path: string, name: string) => (path === '' ? name : `${path}.${name}`);

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function objectOf(value: unknown, field: string, what: string): Record<string, unknown> {
  if (isPlainObject(value)) return value;
  throw new SwitchboardError(
    'invalid_config',
    `${field} must be an object of ${what}, got ${String(value)}`,
    {
      details: { field },
    },
  );
}

/** A map of `record`'s entries, each checked by `check`. */
function checkedMap(
  record: unknown,
  field: string,
  what: string,
  check: (value: unknown, field: string, code: 'invalid_config') => number,
): Map<string, number> {
  const map = new Map<string, number>();
  if (record === undefined) return map;
  for (const [key, value] of Object.entries(objectOf(record, field, what))) {
    map.set(key, check(value, `${field}.${key}`, 'invalid_config'));
  }
  return map;
}

/**
 * Checks the `fairness` option and makes the policy a backend dispatches by.
 *
 * @param path where the option sits, for the messages (`fairness`, or `switchboard.fairness`
 * in a server config file).
 * @throws SwitchboardError `invalid_config` naming the setting; an unknown key names the known ones.
 */
export function resolveFairness(options: unknown, path = 'fairness'): FairnessPolicy {
  const o = options === undefined ? {} : objectOf(options, path, 'settings');
  checkKnownKeys(o, ['defaultWeight', 'weights', 'maxConcurrency'], path);
  const caps =
    o.maxConcurrency === undefined
      ? {}
      : objectOf(o.maxConcurrency, at(path, 'maxConcurrency'), 'caps');
  checkKnownKeys(caps, ['default', 'byKey', 'byCapability'], at(path, 'maxConcurrency'));
  const capsPath = at(path, 'maxConcurrency');
  const policy: {
    -readonly [K in keyof FairnessPolicy]: FairnessPolicy[K];
  } = {
    defaultWeight:
      o.defaultWeight === undefined
        ? 1
        : checkFairnessWeight(o.defaultWeight, at(path, 'defaultWeight'), 'invalid_config'),
    weights: checkedMap(o.weights, at(path, 'weights'), 'key → weight', checkFairnessWeight),
    maxConcurrencyByKey: checkedMap(
      caps.byKey,
      at(capsPath, 'byKey'),
      'key → cap',
      checkFairnessCap,
    ),
    maxConcurrencyByCapability: checkedMap(
      caps.byCapability,
      at(capsPath, 'byCapability'),
      'capability → cap',
      checkFairnessCap,
    ),
  };
  if (caps.default !== undefined) {
    policy.maxConcurrency = checkFairnessCap(
      caps.default,
      at(capsPath, 'default'),
      'invalid_config',
    );
  }
  return policy;
}

/**
 * `sb.fairness`: the weights and caps of fairness keys, read and changed at run time. On a
 * backend with fair dispatch (memory, journal, Durable Object) a change applies from the
 * next lease on; on one without it (Redis, for now) tasks keep their key but are leased in
 * plain priority and FIFO order, and {@link enforced} says so.
 */
export class Fairness {
  /**
   * Whether the backend dispatches by weights and caps. `false` means a task's fairness key
   * is stored and shown, and changes nothing of the order in which tasks are leased.
   */
  readonly enforced: boolean;
  /** The name of the backend this refers to. */
  readonly backend: string;
  readonly #policy: FairnessPolicy;
  readonly #weights: Map<string, number>;
  readonly #caps: Map<string, number>;
  readonly #target: Backend;
  /** Whether the backend has the policy (from the start on); settings before it wait here. */
  #configured = false;
  /** The leases counted of each key shown at the previous reading of `top`, and when. */
  #seen = new Map<string, number>();
  #seenAt = 0;

  constructor(backend: Backend, policy: FairnessPolicy) {
    this.#target = backend;
    this.backend = backend.name;
    this.enforced = backend.fairness !== undefined;
    this.#policy = policy;
    this.#weights = new Map(policy.weights);
    this.#caps = new Map(policy.maxConcurrencyByKey);
  }

  /**
   * Hands the policy, with the keys set so far, to the backend. The Switchboard calls it when
   * it starts, once the backend is open; later changes reach the backend as they are made.
   */
  async configureBackend(): Promise<void> {
    const fair = this.#target.fairness;
    if (fair === undefined) return;
    await fair.configure({
      ...this.#policy,
      weights: new Map(this.#weights),
      maxConcurrencyByKey: new Map(this.#caps),
    });
    this.#configured = true;
  }

  /**
   * Replaces one key's own settings: those given override the defaults, those left out
   * return to them (`set(key, {})` clears the key's settings).
   *
   * @throws SwitchboardError `invalid_request` for a bad key, an unknown setting or a value
   * out of range.
   * @example
   * ```ts
   * await sb.fairness.set('tenant-7', { weight: 2, maxConcurrency: 4 })
   * ```
   */
  async set(key: string, settings: FairnessKeySettings): Promise<void> {
    const checked = checkFairnessKeySettings(key, settings, 'invalid_request');
    if (checked.weight === undefined) this.#weights.delete(key);
    else this.#weights.set(key, checked.weight);
    if (checked.maxConcurrency === undefined) this.#caps.delete(key);
    else this.#caps.set(key, checked.maxConcurrency);
    if (this.#configured) await this.#target.fairness?.setKey(key, checked);
  }

  /**
   * One key's settings as they apply, and its tasks leased now where the backend counts
   * them.
   *
   * @throws SwitchboardError `invalid_request` for a bad key.
   */
  async get(key: string): Promise<FairnessKeyView> {
    checkFairnessKeySettings(key, {}, 'invalid_request');
    const cap = this.#caps.get(key) ?? this.#policy.maxConcurrency;
    const fair = this.#target.fairness;
    const view = {
      key,
      weight: this.#weights.get(key) ?? this.#policy.defaultWeight,
      ...(cap === undefined ? {} : { maxConcurrency: cap }),
      enforced: fair !== undefined,
    };
    if (fair === undefined) return view;
    return { ...view, leased: this.#configured ? await fair.leased(key) : 0 };
  }

  /**
   * The policy in force: the defaults, the caps by capability, and each key with settings of
   * its own (as `get` shows it, its leases counted where the backend counts them).
   */
  async describe(): Promise<FairnessView> {
    const keys = [...new Set([...this.#weights.keys(), ...this.#caps.keys()])].sort();
    const cap = this.#policy.maxConcurrency;
    return {
      backend: this.backend,
      enforced: this.enforced,
      defaultWeight: this.#policy.defaultWeight,
      ...(cap === undefined ? {} : { maxConcurrency: cap }),
      maxConcurrencyByCapability: Object.fromEntries(this.#policy.maxConcurrencyByCapability),
      keys: await Promise.all(keys.map((key) => this.get(key))),
    };
  }

  /**
   * The keys with the most tasks queued and leased, at most `limit`, most first, each with
   * its leases a second since the previous call (`/v1/stats` calls it); `undefined` where the
   * backend does not enforce fairness or keeps no such figures.
   */
  async top(limit: number, now: number): Promise<FairnessKeyStats[] | undefined> {
    const fair = this.#target.fairness;
    if (fair?.top === undefined || !this.#configured) return undefined;
    const figures = await fair.top(limit);
    const since = now - this.#seenAt;
    const seen = new Map<string, number>();
    const out = figures.map(({ key, queued, leased, served }) => {
      seen.set(key, served);
      const before = this.#seen.get(key);
      // A key that drained in between counts again from 0: no rate for it this time.
      if (before === undefined || served < before || since <= 0) return { key, queued, leased };
      return { key, queued, leased, leasesPerSec: ((served - before) * 1000) / since };
    });
    this.#seen = seen;
    this.#seenAt = now;
    return out;
  }
}
