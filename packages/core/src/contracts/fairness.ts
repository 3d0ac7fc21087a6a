import { SwitchboardError } from '../errors.js';
import { MAX_FAIRNESS_WEIGHT } from '../model/fairness-limits.js';

/**
 * One fairness key's own settings, overriding the policy's defaults. A field left out
 * follows the default.
 */
export interface FairnessKeySettings {
  /** Its share relative to the other keys with work: an integer 1 … 10,000. */
  readonly weight?: number;
  /** At most this many of its tasks leased at once, across every capability: an integer ≥ 1. */
  readonly maxConcurrency?: number;
}

/**
 * How a backend shares dispatch among fairness keys (docs/fairness.md). Within one
 * capability and one priority level, keys with work are served by weighted deficit round
 * robin: each turn of a key leases up to its weight of its tasks. Tasks without a key form
 * one key of their own, of weight `defaultWeight` and never capped.
 */
export interface FairnessPolicy {
  /** The weight of a key without one of its own (an integer 1 … 10,000). */
  readonly defaultWeight: number;
  /** Weights by key. */
  readonly weights: ReadonlyMap<string, number>;
  /** At most this many of one key's tasks leased at once, across capabilities; none when absent. */
  readonly maxConcurrency?: number;
  /** The cap of one key, across capabilities, overriding `maxConcurrency`. */
  readonly maxConcurrencyByKey: ReadonlyMap<string, number>;
  /** At most this many of one key's tasks of a capability leased at once. */
  readonly maxConcurrencyByCapability: ReadonlyMap<string, number>;
}

/**
 * The optional part of a `Backend` that dispatches fairly among keys. A backend without it
 * still stores a task's `fairnessKey` and serves it in plain priority and FIFO order. The
 * methods answer promises so that a backend shared by several processes may keep the counts
 * where they all see them; Switchboard calls `configure` once the backend is open.
 */
export interface BackendFairness {
  /** Dispatches by `policy` from the next lease on. The backend keeps its own copy. */
  configure(policy: FairnessPolicy): Promise<void>;
  /**
   * Replaces the settings of one key (an empty object returns it to the defaults).
   *
   * @throws SwitchboardError `invalid_request` for a bad key, setting or value.
   */
  setKey(key: string, settings: FairnessKeySettings): Promise<void>;
  /** How many tasks of `key` are leased now, across capabilities. */
  leased(key: string): Promise<number>;
  /**
   * Optional: the keys with the most tasks queued and leased, at most `limit` of them, most
   * first (for `/v1/stats` and `/metrics`).
   */
  top?(limit: number): Promise<FairnessKeyFigures[]>;
}

/** One key's figures as {@link BackendFairness.top} answers them. */
export interface FairnessKeyFigures {
  readonly key: string;
  /** Its tasks ready to lease now, across capabilities. */
  readonly queued: number;
  /** Its tasks leased now, across capabilities. */
  readonly leased: number;
  /**
   * Its leases since it last had neither work nor leases (a key that drained is forgotten,
   * and counts from 0 when it comes back).
   */
  readonly served: number;
}

export { MAX_FAIRNESS_WEIGHT } from '../model/fairness-limits.js';

/** The policy with nothing configured: every key of weight 1, no cap. */
export const DEFAULT_FAIRNESS_POLICY: FairnessPolicy = Object.freeze({
  defaultWeight: 1,
  weights: new Map<string, number>(),
  maxConcurrencyByKey: new Map<string, number>(),
  maxConcurrencyByCapability: new Map<string, number>(),
});

const show = (value: unknown) =>
  typeof value === 'string' ? JSON.stringify(value) : String(value);

/**
 * Checks a weight (an integer 1 … {@link MAX_FAIRNESS_WEIGHT}: integers keep every turn of a
 * key at one task or more, so a lease's cost stays bounded whatever the weights).
 *
 * @throws SwitchboardError `code` (`invalid_config` for options, `invalid_request` at run
 * time) naming `field`.
 */
export function checkFairnessWeight(
  value: unknown,
  field: string,
  code: 'invalid_config' | 'invalid_request',
): number {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 1) {
    if (value <= MAX_FAIRNESS_WEIGHT) return value;
  }
  throw new SwitchboardError(
    code,
    `${field} must be an integer in 1..${MAX_FAIRNESS_WEIGHT}, got ${show(value)}`,
    { details: { field, value } },
  );
}

/** Checks a concurrency cap: an integer ≥ 1. Same errors as {@link checkFairnessWeight}. */
export function checkFairnessCap(
  value: unknown,
  field: string,
  code: 'invalid_config' | 'invalid_request',
): number {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 1) return value;
  throw new SwitchboardError(code, `${field} must be an integer ≥ 1, got ${show(value)}`, {
    details: { field, value },
  });
}

/** Checks one key's settings (see {@link BackendFairness.setKey}); unknown fields are refused. */
export function checkFairnessKeySettings(
  key: unknown,
  settings: unknown,
  code: 'invalid_config' | 'invalid_request',
): FairnessKeySettings {
  if (typeof key !== 'string' || key.length === 0 || key.length > 256) {
    throw new SwitchboardError(
      code,
      `a fairness key must be a non-empty string of at most 256 characters, got ${show(key)}`,
      { details: { key } },
    );
  }
  if (typeof settings !== 'object' || settings === null || Array.isArray(settings)) {
    throw new SwitchboardError(
      code,
      `the settings of fairness key ${show(key)} must be an object with weight, maxConcurrency`,
      { details: { key } },
    );
  }
  for (const name of Object.keys(settings)) {
    if (name !== 'weight' && name !== 'maxConcurrency') {
      throw new SwitchboardError(
        code,
        `unknown fairness setting "${name}" of key ${show(key)}; known: weight, maxConcurrency`,
        { details: { key, setting: name, known: ['weight', 'maxConcurrency'] } },
      );
    }
  }
  const { weight, maxConcurrency } = settings as FairnessKeySettings;
  const out: { weight?: number; maxConcurrency?: number } = {};
  if (weight !== undefined) out.weight = checkFairnessWeight(weight, 'weight', code);
  if (maxConcurrency !== undefined) {
    out.maxConcurrency = checkFairnessCap(maxConcurrency, 'maxConcurrency', code);
  }
  return out;
}
