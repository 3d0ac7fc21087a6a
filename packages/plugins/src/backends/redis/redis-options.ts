import { type Logger, resolveLogger, SwitchboardError } from '@switchboard/core';
import type { RedisOptions } from 'ioredis';

/** Options of {@link createRedisBackend}. */
export interface RedisBackendOptions {
  /** A `redis://[user:pass@]host:port[/db]` URL (or `rediss://` for TLS). Wins over host/port. */
  url?: string;
  /** Default `127.0.0.1`. */
  host?: string;
  /** Default 6379. */
  port?: number;
  /**
   * Namespaces every key and the pub/sub channel, so several Switchboard deployments can share
   * one server. Processes that share queues use the same prefix. It is wrapped in a hash tag
   * (`{prefix}:…`) so every key of one deployment lands in one slot. Default `switchboard`.
   */
  prefix?: string;
  /**
   * When > 0, this process also sweeps expired leases every `leaseSweepMs` (with
   * `Date.now()`). Off by default: a Switchboard sweeps through `expireLeases` itself.
   */
  leaseSweepMs?: number;
  /** A command with no answer after this many ms rejects `unavailable`. Default 5,000. */
  commandTimeoutMs?: number;
  /** How long `open()` waits for the server. Default 5,000. */
  connectTimeoutMs?: number;
  /** The longest pause between reconnection attempts (backoff doubles up to it). Default 2,000. */
  maxReconnectDelayMs?: number;
  /** Terminal tasks kept (with their idempotency keys), oldest evicted first. Default 100,000. */
  maxRetained?: number;
  /** Terminal tasks older than this (ms since they ended) are evicted. Default: no limit. */
  retainMs?: number;
  /** Further `ioredis` options (auth, TLS, db…); the settings this backend relies on win. */
  redis?: RedisOptions;
  /** Hears connection errors (the backend also answers `unavailable` while they last). */
  onError?: (error: Error) => void;
  /**
   * Hears one line when the connection to the server is lost and one when it is back.
   * Registered through `redisBackendPlugin`, it is the Switchboard's `logger`. Default: silent.
   */
  logger?: Logger;
}

/** The options with defaults applied. */
export interface ResolvedRedisOptions {
  url: string | undefined;
  host: string;
  port: number;
  /** The key prefix, hash tag included: `{switchboard}:`. */
  keyPrefix: string;
  leaseSweepMs: number;
  commandTimeoutMs: number;
  connectTimeoutMs: number;
  maxReconnectDelayMs: number;
  maxRetained: number;
  /** `-1` for no limit (the form the scripts take). */
  retainMs: number;
  redis: RedisOptions;
  onError: ((error: Error) => void) | undefined;
  logger: Logger;
  /** The server's address for messages: the URL without its credentials, or host:port. */
  address: string;
}

function invalid(name: string, rule: string, value: unknown): SwitchboardError {
  return new SwitchboardError('invalid_config', `[redis] ${name} must be ${rule}, got ${value}`, {
    details: { [name]: value },
  });
}

function positive(name: string, value: number, min: number): number {
  if (!Number.isFinite(value) || value < min) throw invalid(name, `a number ≥ ${min}`, value);
  return value;
}

/** Applies defaults and fails fast (`invalid_config`) on a value that cannot work. */
export function resolveRedisOptions(options: RedisBackendOptions): ResolvedRedisOptions {
  const { prefix = 'switchboard', maxRetained = 100_000, retainMs } = options;
  if (prefix.length === 0 || /[{}\s]/.test(prefix)) {
    throw invalid('prefix', 'non-empty, without braces or spaces', JSON.stringify(prefix));
  }
  if (!Number.isInteger(maxRetained) || maxRetained < 0) {
    throw invalid('maxRetained', 'an integer ≥ 0', maxRetained);
  }
  if (retainMs !== undefined && !(retainMs >= 0)) throw invalid('retainMs', '≥ 0', retainMs);
  if (options.url !== undefined && !/^rediss?:\/\//.test(options.url)) {
    throw invalid('url', 'a redis:// or rediss:// URL', options.url);
  }
  const port = options.port ?? 6379;
  if (!Number.isInteger(port) || port < 1 || port > 65_535) throw invalid('port', '1..65535', port);
  return {
    url: options.url,
    host: options.host ?? '127.0.0.1',
    port,
    keyPrefix: `{${prefix}}:`,
    leaseSweepMs: positive('leaseSweepMs', options.leaseSweepMs ?? 0, 0),
    commandTimeoutMs: positive('commandTimeoutMs', options.commandTimeoutMs ?? 5_000, 1),
    connectTimeoutMs: positive('connectTimeoutMs', options.connectTimeoutMs ?? 5_000, 1),
    maxReconnectDelayMs: positive('maxReconnectDelayMs', options.maxReconnectDelayMs ?? 2_000, 1),
    maxRetained,
    retainMs: retainMs === undefined || retainMs === Number.POSITIVE_INFINITY ? -1 : retainMs,
    redis: options.redis ?? {},
    onError: options.onError,
    logger: resolveLogger(options.logger, '[redis] logger'),
    address: address(options.url, options.host ?? '127.0.0.1', port),
  };
}

/** `redis://host:port` as a message may show it: a password in the URL is left out. */
function address(url: string | undefined, host: string, port: number): string {
  if (url === undefined) return `redis://${host}:${port}`;
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    return parsed.href.replace(/\/$/, '');
  } catch {
    // An unparsable URL fails when ioredis reads it; its scheme alone is safe to show.
    return `${url.split('://')[0]}://…`;
  }
}
