import { resolveLogger } from '../contracts/logger.js';
import { resolveTelemetry } from '../contracts/telemetry.js';
import { SwitchboardError } from '../errors.js';
import { checkKnownKeys } from '../known-keys.js';
import { MAX_ATTEMPTS, MAX_TIMEOUT_MS } from '../protocol/schemas/task-schema.js';
import { resolveFairness } from './dispatch/fairness.js';
import type { SwitchboardOptions } from './options.js';

/**
 * Every option of {@link SwitchboardOptions}. A record rather than a list, so that the type
 * checker fails here when an option is added to or removed from the interface.
 */
const OPTION_KEYS: Readonly<Record<keyof SwitchboardOptions, true>> = {
  backend: true,
  loadBalancer: true,
  recovery: true,
  plugins: true,
  agents: true,
  policies: true,
  fairness: true,
  heartbeatIntervalMs: true,
  heartbeatTimeoutMs: true,
  retry: true,
  rateLimits: true,
  createRateLimiter: true,
  idempotency: true,
  maxPayloadBytes: true,
  defaultTimeoutMs: true,
  defaultMaxAttempts: true,
  failureWindowMs: true,
  hungGraceMs: true,
  errorRate: true,
  streams: true,
  healthSweepIntervalMs: true,
  now: true,
  random: true,
  onError: true,
  logger: true,
  telemetry: true,
};

/** The known keys of the options that are plain objects of settings. */
const NESTED_KEYS = {
  retry: ['initialDelayMs', 'maxDelayMs', 'factor', 'jitter'],
  rateLimits: ['perSubmitter', 'perCapability'],
  idempotency: ['max', 'ttlMs'],
  errorRate: ['threshold', 'minSamples'],
} as const;

const FUNCTIONS = ['now', 'random', 'onError', 'createRateLimiter'] as const;

const show = (value: unknown) =>
  typeof value === 'string'
    ? JSON.stringify(value)
    : typeof value === 'bigint'
      ? `${value}n`
      : String(value);

/** An integer option within `min..max`, or absent. */
function integerIn(name: string, value: unknown, min: number, max: number, why: string): void {
  if (value === undefined) return;
  if (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max) return;
  throw new SwitchboardError(
    'invalid_config',
    `${name} must be an integer in ${min}..${max}${why}, got ${show(value)}`,
    { details: { field: name, value, min, max } },
  );
}

function isPlainObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Checks the options that no part of the engine checks on its own: unknown keys (at the top
 * level and in the plain settings objects), the task defaults with the bounds a task's own
 * `timeoutMs` and `maxAttempts` have, `maxPayloadBytes`, the callbacks and the shape of
 * `agents`. Strategies, plugins, agent entries and the remaining numbers are checked where
 * they are resolved (see `createEngine`).
 *
 * @param path where the options sit, for the messages (`switchboard` in a server config file).
 * @throws SwitchboardError `invalid_config` naming the option, the value and what is allowed.
 */
export function checkSwitchboardOptions(
  options: unknown,
  path = '',
): asserts options is SwitchboardOptions {
  const at = (name: string) => (path === '' ? name : `${path}.${name}`);
  if (!isPlainObject(options)) {
    throw new SwitchboardError(
      'invalid_config',
      `${path === '' ? 'options' : path} must be an object, got ${show(options)}`,
    );
  }
  checkKnownKeys(options, Object.keys(OPTION_KEYS), path);
  const o = options as Record<string, unknown>;
  integerIn(
    at('defaultTimeoutMs'),
    o.defaultTimeoutMs,
    1,
    MAX_TIMEOUT_MS,
    ' (as a task timeoutMs)',
  );
  integerIn(
    'defaultMaxAttempts',
    o.defaultMaxAttempts,
    1,
    MAX_ATTEMPTS,
    ' (as a task maxAttempts)',
  );
  // 0 is refused rather than read as "no limit": leaving the option out means no limit.
  integerIn(
    'maxPayloadBytes',
    o.maxPayloadBytes,
    1,
    Number.MAX_SAFE_INTEGER,
    ' (omit it for no limit)',
  );
  for (const name of FUNCTIONS) {
    const value = o[name];
    if (value !== undefined && typeof value !== 'function') {
      throw new SwitchboardError(
        'invalid_config',
        `${at(name)} must be a function, got ${show(value)}`,
        { details: { field: at(name) } },
      );
    }
  }
  resolveLogger(o.logger, at('logger'));
  if (o.fairness !== undefined) resolveFairness(o.fairness, at('fairness'));
  resolveTelemetry(o.telemetry, at('telemetry'));
  for (const [name, known] of Object.entries(NESTED_KEYS)) {
    const value = o[name];
    if (value === undefined) continue;
    if (!isPlainObject(value)) {
      throw new SwitchboardError(
        'invalid_config',
        `${at(name)} must be an object with ${known.join(', ')}, got ${show(value)}`,
        { details: { field: at(name) } },
      );
    }
    checkKnownKeys(value, known, at(name));
  }
  if (o.policies !== undefined && !isPlainObject(o.policies)) {
    throw new SwitchboardError(
      'invalid_config',
      `${at('policies')} must be an object of capability → policy, got ${show(o.policies)}`,
      { details: { field: at('policies') } },
    );
  }
  if (o.agents !== undefined) {
    if (!Array.isArray(o.agents)) {
      throw new SwitchboardError(
        'invalid_config',
        `${at('agents')} must be an array, got ${show(o.agents)}`,
        {
          details: { field: at('agents') },
        },
      );
    }
    o.agents.forEach((entry: unknown, i: number) => {
      if (!isPlainObject(entry)) {
        throw new SwitchboardError(
          'invalid_config',
          `${at(`agents.${i}`)} must be an agent definition or { definition, ...pool settings }, got ${show(entry)}`,
          { details: { field: at(`agents.${i}`) } },
        );
      }
    });
  }
}
