import { SwitchboardError } from '../errors.js';
import { exponentialDelay } from '../model/backoff.js';

/** How a failed task is retried. */
export interface RetryPolicy {
  /** Attempts in all, the first included: 1..100 (1 = never retry). */
  readonly maxAttempts: number;
  /** `fixed` waits `initialDelayMs` each time; `exponential` doubles it each attempt. */
  readonly backoff: 'fixed' | 'exponential';
  /** The wait before the first retry, in ms (≥ 0). */
  readonly initialDelayMs: number;
  /** The longest wait between attempts, in ms (≥ `initialDelayMs`). */
  readonly maxDelayMs: number;
  /**
   * The share of each delay that is randomized, 0..1: 0.2 spreads a 1000 ms delay over
   * 800..1000 ms, so that tasks failed together do not all retry at the same instant.
   */
  readonly jitter: number;
}

/** Resources an agent may use or offers, by name (e.g. `memoryMb`, `cpu`, `gpu`): each ≥ 0. */
export interface ResourceLimits {
  readonly memoryMb?: number;
  readonly cpu?: number;
  readonly [name: string]: number | undefined;
}

/** The runtime settings of an agent. */
export interface AgentConfig {
  /** Tasks it runs at once: an integer ≥ 1. */
  readonly maxConcurrency: number;
  /** How long one task may run, in ms (> 0). */
  readonly timeoutMs: number;
  readonly retry: RetryPolicy;
  readonly resources?: ResourceLimits;
  /** How often the agent reports it is alive, in ms (> 0). */
  readonly heartbeatIntervalMs: number;
  /** Silence after which the agent is taken as failed, in ms (≥ `heartbeatIntervalMs`). */
  readonly heartbeatTimeoutMs: number;
}

/** An {@link AgentConfig} as users write it: every field optional, `retry` merged field by field. */
export type AgentConfigInput = Partial<Omit<AgentConfig, 'retry'>> & {
  readonly retry?: Partial<RetryPolicy>;
};

/**
 * The defaults: one task at a time, 30 s per task (the HTTP API's default lease),
 * 3 attempts with exponential backoff from 100 ms up to 30 s and 20 % jitter, a heartbeat
 * every 5 s and failure after 15 s (three missed heartbeats) of silence.
 */
export const DEFAULT_AGENT_CONFIG: AgentConfig = Object.freeze({
  maxConcurrency: 1,
  timeoutMs: 30_000,
  retry: Object.freeze({
    maxAttempts: 3,
    backoff: 'exponential',
    initialDelayMs: 100,
    maxDelayMs: 30_000,
    jitter: 0.2,
  } as const),
  heartbeatIntervalMs: 5_000,
  heartbeatTimeoutMs: 15_000,
});

/** The settings of an agent's `config`. */
export const CONFIG_KEYS: ReadonlySet<string> = new Set([
  'maxConcurrency',
  'timeoutMs',
  'retry',
  'resources',
  'heartbeatIntervalMs',
  'heartbeatTimeoutMs',
]);
const RETRY_KEYS = new Set(['maxAttempts', 'backoff', 'initialDelayMs', 'maxDelayMs', 'jitter']);

function invalid(field: string, why: string, value: unknown): SwitchboardError {
  let shown: string;
  try {
    shown = JSON.stringify(value) ?? String(value);
  } catch {
    // BigInt or circular values: String() is enough to name them in a message.
    shown = String(value);
  }
  return new SwitchboardError('invalid_config', `agent config: ${field} ${why} (got ${shown})`, {
    details: { field, value },
  });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function number(field: string, value: unknown, min: number, integer = false, max = Infinity) {
  const ok =
    typeof value === 'number' &&
    Number.isFinite(value) &&
    value >= min &&
    value <= max &&
    (!integer || Number.isInteger(value));
  if (!ok) {
    const bounds = max === Infinity ? `≥ ${min}` : `in ${min}..${max}`;
    throw invalid(field, `must be ${integer ? 'an integer' : 'a number'} ${bounds}`, value);
  }
  return value as number;
}

function unknownKeys(
  input: Record<string, unknown>,
  known: ReadonlySet<string>,
  prefix: string,
): void {
  for (const key of Object.keys(input)) {
    if (!known.has(key)) throw invalid(prefix + key, 'is not a known setting', input[key]);
  }
}

/**
 * Merges `input` over `base` (the defaults unless given) and validates every field, so a
 * bad setting fails at configuration time, not at the first task.
 *
 * @throws SwitchboardError `invalid_config` whose message and `details.field` name the field.
 * @example
 * ```ts
 * resolveAgentConfig({ maxConcurrency: 4, retry: { maxAttempts: 5 } })
 * resolveAgentConfig({ maxConcurrency: 0 }) // throws: agent config: maxConcurrency must be…
 * ```
 */
export function resolveAgentConfig(
  input: AgentConfigInput = {},
  base: AgentConfig = DEFAULT_AGENT_CONFIG,
): AgentConfig {
  if (!isObject(input)) throw invalid('config', 'must be an object', input);
  unknownKeys(input, CONFIG_KEYS, '');
  const retryInput: unknown = input.retry ?? {};
  if (!isObject(retryInput)) throw invalid('retry', 'must be an object', retryInput);
  unknownKeys(retryInput, RETRY_KEYS, 'retry.');
  const merged = { ...base.retry, ...retryInput };
  if (merged.backoff !== 'fixed' && merged.backoff !== 'exponential') {
    throw invalid('retry.backoff', 'must be "fixed" or "exponential"', merged.backoff);
  }
  const initialDelayMs = number('retry.initialDelayMs', merged.initialDelayMs, 0);
  const retry: RetryPolicy = Object.freeze({
    maxAttempts: number('retry.maxAttempts', merged.maxAttempts, 1, true, 100),
    backoff: merged.backoff,
    initialDelayMs,
    maxDelayMs: number('retry.maxDelayMs', merged.maxDelayMs, initialDelayMs),
    jitter: number('retry.jitter', merged.jitter, 0, false, 1),
  });
  const heartbeatIntervalMs = number(
    'heartbeatIntervalMs',
    input.heartbeatIntervalMs ?? base.heartbeatIntervalMs,
    1,
  );
  const config = {
    maxConcurrency: number('maxConcurrency', input.maxConcurrency ?? base.maxConcurrency, 1, true),
    timeoutMs: number('timeoutMs', input.timeoutMs ?? base.timeoutMs, 1),
    retry,
    heartbeatIntervalMs,
    heartbeatTimeoutMs: number(
      'heartbeatTimeoutMs',
      input.heartbeatTimeoutMs ?? base.heartbeatTimeoutMs,
      heartbeatIntervalMs,
    ),
  };
  const resources: unknown = input.resources ?? base.resources;
  if (resources === undefined) return Object.freeze(config);
  if (!isObject(resources)) throw invalid('resources', 'must be an object', resources);
  const limits: Record<string, number> = {};
  for (const [name, value] of Object.entries(resources)) {
    if (value !== undefined) limits[name] = number(`resources.${name}`, value, 0);
  }
  return Object.freeze({ ...config, resources: Object.freeze(limits) });
}

/**
 * The wait before the next attempt after `attempt` failed (1 = the first try), or
 * `undefined` when no attempt is left. `random` (0..1) is injectable for tests.
 *
 * @example
 * ```ts
 * retryDelay(DEFAULT_AGENT_CONFIG.retry, 1) // 80..100 ms
 * retryDelay(DEFAULT_AGENT_CONFIG.retry, 3) // undefined: 3 attempts made
 * ```
 */
export function retryDelay(
  policy: RetryPolicy,
  attempt: number,
  random: () => number = Math.random,
): number | undefined {
  if (attempt >= policy.maxAttempts) return undefined;
  // A fixed backoff is the exponential one with a factor of 1.
  const factor = policy.backoff === 'fixed' ? 1 : 2;
  const capped = exponentialDelay(policy.initialDelayMs, factor, policy.maxDelayMs, attempt);
  return capped - capped * policy.jitter * random();
}
