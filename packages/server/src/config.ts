import { SwitchboardError } from '@switchboard/core';
import type { TokenConfig } from './auth.js';
import { LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel, type LogSettings } from './log.js';
import type { HttpRateLimits } from './rate-limit.js';
import type { EventStreamOptions } from './sse.js';

/**
 * A config file (`--config`): JSON, or an ES module whose default export is this object (or
 * a function returning it, possibly async). Only an ES module can define in-process agents
 * or pass plugin objects; JSON names plugins by package.
 *
 * @example
 * ```js
 * // switchboard.config.mjs
 * import { defineAgent } from '@switchboard/core'
 * export default {
 *   port: 8787,
 *   plugins: ['switchboard-plugin-acme'],
 *   switchboard: { loadBalancer: 'least-busy' },
 *   agents: [defineAgent({ name: 'echo', capabilities: ['echo'], handle: (payload) => payload })],
 * }
 * ```
 */
export interface ServerConfig {
  port?: number;
  host?: string;
  /** `memory` (default), `journal:<dir>` or `redis://host:port`. */
  backend?: string;
  heartbeatTimeoutMs?: number;
  tokens?: TokenConfig;
  maxBodyBytes?: number;
  rateLimits?: HttpRateLimits;
  /** Bounds of the event streams and their replay buffer (`createApp`'s `events`). */
  events?: EventStreamOptions;
  /** How long a drain waits for in-flight requests before closing; default 10 s. */
  drainTimeoutMs?: number;
  /** Plugin objects, or package names whose default export (or `plugin` export) is one. */
  plugins?: unknown[];
  /** In-process agents, as `createSwitchboard({ agents })` takes them. */
  agents?: unknown[];
  /** Any other option of `createSwitchboard()`, passed as is. */
  switchboard?: Record<string, unknown>;
  /**
   * Schedules written at every start (`sb.schedules.upsert` each, after the engine started),
   * as `PUT /v1/schedules/{id}` takes them with their `id`. One written again with the same
   * timing keeps its place, so it catches up on what was missed while the server was down.
   */
  schedules?: unknown[];
  /**
   * Serve on a non-loopback address with no token configured (`--allow-unauthenticated`):
   * refused unless set, since anyone who reaches the port could then submit, lease, complete
   * and replay tasks.
   */
  allowUnauthenticated?: boolean;
  /** What the server logs and how (`--log-level`, `--log-format`): default info, pretty. */
  log?: { level?: LogLevel; format?: LogFormat };
}

/** The settings the CLI runs with, every default filled. */
export interface ResolvedConfig extends ServerConfig {
  port: number;
  host: string;
  backend: string;
  tokens: TokenConfig;
  drainTimeoutMs: number;
  log: LogSettings;
}

const bad = (message: string) => new SwitchboardError('invalid_config', message);

function int(value: string, what: string, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw bad(`${what} must be an integer in ${min}..${max}, got ${JSON.stringify(value)}`);
  }
  return n;
}

/** `value` when it is one of `allowed`, else `invalid_config` naming `what` and the choices. */
export function oneOf<T extends string>(value: unknown, what: string, allowed: readonly T[]): T {
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value))
    return value as T;
  throw bad(`${what} must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
}

/** Flags of `switchboard serve`. */
export interface CliFlags {
  port?: number;
  host?: string;
  backend?: string;
  config?: string;
  allowUnauthenticated?: boolean;
  logLevel?: LogLevel;
  logFormat?: LogFormat;
  help?: boolean;
}

/**
 * Parses `serve [--port N] [--host H] [--backend B] [--config FILE] [--allow-unauthenticated]`
 * (also `--flag=value`).
 *
 * @throws SwitchboardError `invalid_config` naming the unknown flag or bad value.
 */
export function parseArgs(argv: readonly string[]): CliFlags {
  const flags: CliFlags = {};
  const args = [...argv];
  if (args[0] === 'serve') args.shift();
  while (args.length > 0) {
    const arg = args.shift() as string;
    if (arg === '--help' || arg === '-h') {
      flags.help = true;
      continue;
    }
    if (arg === '--allow-unauthenticated') {
      flags.allowUnauthenticated = true;
      continue;
    }
    const m = /^--(port|host|backend|config|log-level|log-format)(?:=(.*))?$/.exec(arg);
    if (m === null) throw bad(`unknown argument ${JSON.stringify(arg)} (see --help)`);
    const value = m[2] ?? args.shift();
    if (value === undefined || value === '') throw bad(`--${m[1]} needs a value`);
    if (m[1] === 'port') flags.port = int(value, '--port', 0, 65535);
    else if (m[1] === 'log-level') flags.logLevel = oneOf(value, '--log-level', LOG_LEVELS);
    else if (m[1] === 'log-format') flags.logFormat = oneOf(value, '--log-format', LOG_FORMATS);
    else flags[m[1] as 'host' | 'backend' | 'config'] = value;
  }
  return flags;
}

/**
 * Merges, highest first: flags, environment (`PORT`, `HOST`, `SWITCHBOARD_BACKEND`,
 * `SWITCHBOARD_HEARTBEAT_TIMEOUT_MS`, `SWITCHBOARD_{ADMIN,CLIENT,AGENT}_TOKEN`,
 * `SWITCHBOARD_MAX_BODY_BYTES`, `SWITCHBOARD_LOG_LEVEL`, `SWITCHBOARD_LOG_FORMAT`), the
 * config file, defaults (127.0.0.1:8787, memory, logs at info in the pretty format).
 */
export function resolveConfig(
  flags: CliFlags,
  env: Record<string, string | undefined>,
  file: ServerConfig = {},
): ResolvedConfig {
  const tokens: TokenConfig = { ...file.tokens };
  for (const scope of ['admin', 'client', 'agent'] as const) {
    const value = env[`SWITCHBOARD_${scope.toUpperCase()}_TOKEN`];
    if (value !== undefined && value !== '') tokens[scope] = value;
  }
  const envPort =
    env.PORT === undefined || env.PORT === '' ? undefined : int(env.PORT, 'PORT', 0, 65535);
  const timeout = env.SWITCHBOARD_HEARTBEAT_TIMEOUT_MS;
  const maxBody = env.SWITCHBOARD_MAX_BODY_BYTES;
  const config: ResolvedConfig = {
    ...file,
    port: flags.port ?? envPort ?? file.port ?? 8787,
    host: flags.host ?? (env.HOST || undefined) ?? file.host ?? '127.0.0.1',
    backend: flags.backend ?? (env.SWITCHBOARD_BACKEND || undefined) ?? file.backend ?? 'memory',
    tokens,
    drainTimeoutMs: file.drainTimeoutMs ?? 10_000,
    log: logSettings(flags, env, file),
  };
  if (flags.allowUnauthenticated === true) config.allowUnauthenticated = true;
  if (timeout !== undefined && timeout !== '') {
    config.heartbeatTimeoutMs = int(timeout, 'SWITCHBOARD_HEARTBEAT_TIMEOUT_MS', 1, 86_400_000);
  }
  if (maxBody !== undefined && maxBody !== '') {
    config.maxBodyBytes = int(maxBody, 'SWITCHBOARD_MAX_BODY_BYTES', 1, 1024 ** 3);
  }
  return config;
}

/** The log settings: flags, then environment, then the config file's `log`, then info, pretty. */
export function logSettings(
  flags: CliFlags,
  env: Record<string, string | undefined>,
  file: ServerConfig = {},
): LogSettings {
  const level = env.SWITCHBOARD_LOG_LEVEL || undefined;
  const format = env.SWITCHBOARD_LOG_FORMAT || undefined;
  return {
    level:
      flags.logLevel ??
      (level === undefined ? undefined : oneOf(level, 'SWITCHBOARD_LOG_LEVEL', LOG_LEVELS)) ??
      file.log?.level ??
      'info',
    format:
      flags.logFormat ??
      (format === undefined ? undefined : oneOf(format, 'SWITCHBOARD_LOG_FORMAT', LOG_FORMATS)) ??
      file.log?.format ??
      'pretty',
  };
}

/**
 * The backend option of `createSwitchboard()` for a `--backend` value: `memory` is the
 * default (undefined), `journal:<dir>` and `redis://…` name the plugin backends.
 *
 * @throws SwitchboardError `invalid_config` for anything else.
 */
export function backendSpec(
  backend: string,
): { name: string; options: Record<string, string> } | undefined {
  if (backend === 'memory') return undefined;
  if (backend.startsWith('journal:') && backend.length > 'journal:'.length) {
    return { name: 'journal', options: { dir: backend.slice('journal:'.length) } };
  }
  if (/^rediss?:\/\//.test(backend)) return { name: 'redis', options: { url: backend } };
  throw bad(
    `unknown backend ${JSON.stringify(backend)}: expected memory, journal:<dir> or redis://host:port`,
  );
}
