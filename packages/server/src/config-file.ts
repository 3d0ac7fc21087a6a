import {
  checkKnownKeys,
  checkSwitchboardOptions,
  SwitchboardError,
  safeValidate,
  scheduleSpecSchema,
} from '@switchboard/core';
import { oneOf, type ServerConfig } from './config.js';
import { LOG_FORMATS, LOG_LEVELS } from './log.js';

/**
 * Every key of a config file. A record rather than a list, so that the type checker fails
 * here when a key is added to or removed from {@link ServerConfig}.
 */
const CONFIG_KEYS: Readonly<Record<keyof ServerConfig, true>> = {
  port: true,
  host: true,
  backend: true,
  heartbeatTimeoutMs: true,
  tokens: true,
  maxBodyBytes: true,
  rateLimits: true,
  events: true,
  drainTimeoutMs: true,
  plugins: true,
  agents: true,
  switchboard: true,
  schedules: true,
  allowUnauthenticated: true,
  log: true,
};

const TOKEN_KEYS = ['admin', 'client', 'agent'];
const LOG_KEYS = ['level', 'format'];
const RATE_LIMIT_KEYS = ['perIp', 'perToken'];
const BUCKET_KEYS = ['capacity', 'refillPerSec', 'maxKeys'];
// The bounds of each key of `events`: the replay buffer may be turned off with 0 events.
const EVENT_BOUNDS: Readonly<Record<string, readonly [number, number]>> = {
  maxBufferedEvents: [1, 1_000_000],
  pingIntervalMs: [1, 86_400_000],
  replayEvents: [0, 1_000_000],
  replayBytes: [0, 1024 ** 3],
  replayRetentionMs: [0, 86_400_000],
};

const bad = (key: string, message: string) =>
  new SwitchboardError('invalid_config', `${key} ${message}`, { details: { key } });

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function object(key: string, value: unknown, known: readonly string[]): Record<string, unknown> {
  if (!isObject(value)) throw bad(key, `must be an object with ${known.join(', ')}`);
  checkKnownKeys(value, known, key, 'config key');
  return value;
}

function integer(key: string, value: unknown, min: number, max: number): void {
  if (value === undefined) return;
  if (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max) return;
  throw bad(key, `must be an integer in ${min}..${max}, got ${JSON.stringify(value)}`);
}

function nonEmptyString(key: string, value: unknown): void {
  if (value !== undefined && (typeof value !== 'string' || value === '')) {
    throw bad(key, `must be a non-empty string, got ${JSON.stringify(value)}`);
  }
}

/**
 * Each schedule as `sb.schedules.upsert` checks it, failing at start with the first issue's
 * path under `schedules.N` (`schedules.0.cron: not a cron expression: …`), and no id twice.
 */
function checkSchedules(value: unknown): void {
  if (!Array.isArray(value)) throw bad('schedules', 'must be an array of schedules');
  const ids = new Set<unknown>();
  value.forEach((spec: unknown, i) => {
    const checked = safeValidate(scheduleSpecSchema, spec);
    if (!checked.ok) {
      const issue = checked.issues[0];
      const key =
        issue === undefined || issue.path === ''
          ? `schedules.${i}`
          : `schedules.${i}.${issue.path}`;
      throw bad(key, `is not valid: ${issue?.message ?? 'not a schedule'}`);
    }
    if (ids.has(checked.value.id)) throw bad(`schedules.${i}.id`, `repeats "${checked.value.id}"`);
    ids.add(checked.value.id);
  });
}

/**
 * Checks what a config file holds: every key known at every level (top level, `tokens`,
 * `rateLimits` and its buckets, `switchboard` with `createSwitchboard`'s own checks), and
 * the type and range of each value, so that a typo (`prot`, `perIP`, `loadBalancr`) fails at
 * start, naming the key with its path, rather than being silently ignored.
 *
 * @throws SwitchboardError `invalid_config` naming the key (with its path), the known keys
 * and, when one is close, the key probably meant.
 */
export function checkServerConfig(value: unknown): ServerConfig {
  if (!isObject(value)) throw bad('the config', 'must be an object');
  checkKnownKeys(value, Object.keys(CONFIG_KEYS), '', 'config key');
  integer('port', value.port, 0, 65535);
  nonEmptyString('host', value.host);
  nonEmptyString('backend', value.backend);
  integer('heartbeatTimeoutMs', value.heartbeatTimeoutMs, 1, 86_400_000);
  integer('maxBodyBytes', value.maxBodyBytes, 1, 1024 ** 3);
  integer('drainTimeoutMs', value.drainTimeoutMs, 0, 86_400_000);
  if (value.tokens !== undefined) {
    const tokens = object('tokens', value.tokens, TOKEN_KEYS);
    for (const scope of TOKEN_KEYS) nonEmptyString(`tokens.${scope}`, tokens[scope]);
  }
  if (value.rateLimits !== undefined) {
    const limits = object('rateLimits', value.rateLimits, RATE_LIMIT_KEYS);
    for (const name of RATE_LIMIT_KEYS) {
      if (limits[name] !== undefined) object(`rateLimits.${name}`, limits[name], BUCKET_KEYS);
    }
  }
  if (value.events !== undefined) {
    const events = object('events', value.events, Object.keys(EVENT_BOUNDS));
    for (const [name, [min, max]] of Object.entries(EVENT_BOUNDS)) {
      integer(`events.${name}`, events[name], min, max);
    }
  }
  for (const key of ['plugins', 'agents'] as const) {
    if (value[key] !== undefined && !Array.isArray(value[key])) throw bad(key, 'must be an array');
  }
  if (value.switchboard !== undefined) checkSwitchboardOptions(value.switchboard, 'switchboard');
  if (value.schedules !== undefined) checkSchedules(value.schedules);
  if (value.log !== undefined) {
    const log = object('log', value.log, LOG_KEYS);
    if (log.level !== undefined) oneOf(log.level, 'log.level', LOG_LEVELS);
    if (log.format !== undefined) oneOf(log.format, 'log.format', LOG_FORMATS);
  }
  if (value.allowUnauthenticated !== undefined && typeof value.allowUnauthenticated !== 'boolean') {
    throw bad('allowUnauthenticated', 'must be true or false');
  }
  return value as ServerConfig;
}
